#!/bin/sh
# Installs vpopmail for Swift on a Debian machine: build dependencies, a release build, the
# vpopmail user and group, the ~vpopmail tree and the qmail directories. Idempotent.
#   VPOPMAIL_HOME  where vpopmail lives (default /home/vpopmail)
#   QMAILDIR       the qmail directory (default /var/qmail)
set -eu
VPOPMAIL_HOME=${VPOPMAIL_HOME:-/home/vpopmail}
QMAILDIR=${QMAILDIR:-/var/qmail}
cd "$(dirname "$0")"

. ./scripts/common.sh
# libxcrypt; the SQL client libraries (MariaDB/MySQL, PostgreSQL, SQLite), shared and archives.
ensure_packages libcrypt-dev libargon2-dev libmariadb-dev libpq-dev libsqlite3-dev libssl-dev pkg-config gcc binutils \
  postgresql-server-dev-15 zlib1g-dev   # libpgcommon.a, libpgport.a and libz.a: the static vchkpw and vdelivermail

swift build -c release
swift build -c release --product vpopmail-c
bindir=$(swift build -c release --show-bin-path)
bin=$bindir/vpopmail

ensure_vpopmail_user "$VPOPMAIL_HOME"

# Least privilege (docs/threat-model.md): everything root runs or reads is root's and nobody
# else can write it: ~vpopmail, bin/ and its programs, etc/. Only domains/ is the vpopmail user's.
install -d -m 0755 -o root -g root "$VPOPMAIL_HOME" "$VPOPMAIL_HOME/bin" "$VPOPMAIL_HOME/etc"
install -d -m 0700 -o vpopmail -g vchkpw "$VPOPMAIL_HOME/domains"
install -m 0711 -o root -g root "$bin" "$VPOPMAIL_HOME/bin/vpopmail.new"
mv -f "$VPOPMAIL_HOME/bin/vpopmail.new" "$VPOPMAIL_HOME/bin/vpopmail"
for c in $("$bin" --commands); do
  ln -f "$VPOPMAIL_HOME/bin/vpopmail" "$VPOPMAIL_HOME/bin/$c.new"
  mv -f "$VPOPMAIL_HOME/bin/$c.new" "$VPOPMAIL_HOME/bin/$c"
done

# vchkpw and vdelivermail: their own static executables (run per login, per message); vpopmaild
# (one process per connection, under tcpserver). The SQL
# programs are the same with the SQL stores (vpopmail-<store>, vchkpw-<store>,
# vdelivermail-<store>: one client library each; vpopmail-sql: all, for vconvert); the others
# hand over to them when auth-module names an SQL store.
for p in vchkpw vdelivermail vpopmaild $(ls "$bindir" | grep -E '^(vpopmail|vchkpw|vdelivermail|vpopmaild)-[a-z0-9]+$'); do
  install -m 0711 -o root -g root "$bindir/$p" "$VPOPMAIL_HOME/bin/$p.new"
  mv -f "$VPOPMAIL_HOME/bin/$p.new" "$VPOPMAIL_HOME/bin/$p"
done

# vpopmail-web (docs/web.md): a server of its own (SwiftNIO, Hummingbird), stripped.
install -s -m 0711 -o root -g root "$bindir/vpopmail-web" "$VPOPMAIL_HOME/bin/vpopmail-web.new"
mv -f "$VPOPMAIL_HOME/bin/vpopmail-web.new" "$VPOPMAIL_HOME/bin/vpopmail-web"

conf="$VPOPMAIL_HOME/etc/vpopmail.conf"
if [ ! -e "$conf" ]; then
  cp etc/vpopmail.conf "$conf"
  if [ "$QMAILDIR" != /var/qmail ]; then printf '\nqmaildir = %s\n' "$QMAILDIR" >> "$conf"; fi
  chmod 0644 "$conf"
fi
[ -e "$VPOPMAIL_HOME/etc/vlimits.default" ] || install -m 0644 etc/vlimits.default "$VPOPMAIL_HOME/etc/vlimits.default"
# The static relay rules roaming users are merged into (upstream's configure default).
[ -e "$VPOPMAIL_HOME/etc/tcp.smtp" ] || printf '127.:allow,RELAYCLIENT=""\n' > "$VPOPMAIL_HOME/etc/tcp.smtp"
# vchkpw's throttling state: root's, writable by the vchkpw group for a vchkpw run as vpopmail.
[ -e "$VPOPMAIL_HOME/etc/login-failures" ] || install -m 0660 -o root -g vchkpw /dev/null "$VPOPMAIL_HOME/etc/login-failures"
# The event counters every program adds to (/metrics) and the audit log: root's, writable by
# the vchkpw group (vchkpw and vdelivermail as the vpopmail user, qmailadmin on libvpopmail).
if [ ! -e "$VPOPMAIL_HOME/etc/counters" ]; then
  head -c 4096 /dev/zero > "$VPOPMAIL_HOME/etc/counters.new"
  chown root:vchkpw "$VPOPMAIL_HOME/etc/counters.new"
  chmod 0660 "$VPOPMAIL_HOME/etc/counters.new"
  mv "$VPOPMAIL_HOME/etc/counters.new" "$VPOPMAIL_HOME/etc/counters"
fi
[ -e "$VPOPMAIL_HOME/etc/audit.log" ] || install -m 0660 -o root -g vchkpw /dev/null "$VPOPMAIL_HOME/etc/audit.log"
# The systemd unit of vpopmail-web (copy it to /etc/systemd/system/).
install -d -m 0755 -o root -g root "$VPOPMAIL_HOME/etc/systemd"
sed "s|@VPOPMAIL_HOME@|$VPOPMAIL_HOME|g" etc/vpopmail-web.service > "$VPOPMAIL_HOME/etc/systemd/vpopmail-web.service"
chmod 0644 "$VPOPMAIL_HOME/etc/systemd/vpopmail-web.service"
# A fail2ban filter and jail for the login failures (copy them to /etc/fail2ban/).
install -d -m 0755 -o root -g root "$VPOPMAIL_HOME/etc/fail2ban" "$VPOPMAIL_HOME/etc/fail2ban/filter.d" "$VPOPMAIL_HOME/etc/fail2ban/jail.d"
install -m 0644 -o root -g root etc/fail2ban/filter.d/vpopmail.conf "$VPOPMAIL_HOME/etc/fail2ban/filter.d/vpopmail.conf"
install -m 0644 -o root -g root etc/fail2ban/jail.d/vpopmail.conf "$VPOPMAIL_HOME/etc/fail2ban/jail.d/vpopmail.conf"
chown root:root "$VPOPMAIL_HOME/etc/vpopmail.conf" "$VPOPMAIL_HOME/etc/vlimits.default" "$VPOPMAIL_HOME/etc/tcp.smtp"
chmod go-w "$VPOPMAIL_HOME/etc/vpopmail.conf" "$VPOPMAIL_HOME/etc/vlimits.default" "$VPOPMAIL_HOME/etc/tcp.smtp"

install -d -m 0755 "$QMAILDIR" "$QMAILDIR/users" "$QMAILDIR/control"
# libvpopmail for C clients (qmailadmin, ...): lib/libvpopmail.a, include/, etc/inc_deps, etc/lib_deps.
./scripts/libvpopmail.sh "$bindir" "$VPOPMAIL_HOME" "$QMAILDIR"
echo "vpopmail installed in $VPOPMAIL_HOME (qmail directory $QMAILDIR)"
