#!/bin/sh
# The test command: installs what the tests need (Debian packages), builds once in release mode,
# checks install.sh on a temporary tree, and runs every test (unit and end-to-end).
set -eu
cd "$(dirname "$0")"

. ./scripts/common.sh
. ./scripts/sqlservers.sh
ensure_packages libcrypt-dev libargon2-dev libssl-dev openssl gcc make binutils php-cli php-pear php-net-socket tinycdb ucspi-tcp util-linux procps passwd python3 strace e2fsprogs dovecot-core dovecot-pop3d dovecot-imapd dovecot-mysql \
  $sql_packages sqlite3 fail2ban chromium chromium-driver wrk
# The web admin's tests: Selenium drives chromium; schemathesis reads the OpenAPI document.
ensure_pip selenium=selenium schemathesis=schemathesis
ensure_vpopmail_user /home/vpopmail

swift build -c release --build-tests

# install.sh into a throw-away tree, then the README's example against it.
t=$(mktemp -d)
j=$(mktemp -d)
trap 'umount "$j" 2>/dev/null || true; rm -rf "$t" "$j"; sql_stop' EXIT
VPOPMAIL_HOME="$t/home" QMAILDIR="$t/qmail" ./install.sh >/dev/null
VPOPMAIL_HOME="$t/home" QMAILDIR="$t/qmail" ./install.sh >/dev/null   # idempotent
# Least privilege: ~vpopmail, bin/ and every program, etc/ and its files are root's and writable
# by nobody else (the throttling state is the vchkpw group's too); domains/ is the vpopmail user's.
bad=$(find "$t/home" -path "$t/home/domains" -prune -o \( ! -user root -o -perm /022 \) ! -name login-failures ! -name counters ! -name audit.log -print)
[ -z "$bad" ] || { echo "install.sh: not root's, or writable by others: $bad" >&2; exit 1; }
[ "$(stat -c %U:%a "$t/home/domains")" = vpopmail:700 ]
for f in login-failures counters audit.log; do [ "$(stat -c %U:%G:%a "$t/home/etc/$f")" = root:vchkpw:660 ]; done
[ "$(stat -c %s "$t/home/etc/counters")" = 4096 ]
env -u VPOPMAIL_HOME -u QMAILDIR "$t/home/bin/vadddomain" example.com 'postmaster-secret'
env -u VPOPMAIL_HOME -u QMAILDIR "$t/home/bin/vadduser" joe@example.com 'joe-secret'
env -u VPOPMAIL_HOME -u QMAILDIR "$t/home/bin/vuserinfo" -n -d joe@example.com | grep -qx "$t/home/domains/example.com/joe"
grep -qx "+example.com-:example.com:89:89:$t/home/domains/example.com:-::" "$t/qmail/users/assign"
printf 'joe@example.com\0joe-secret\0\0' | env -u VPOPMAIL_HOME -u QMAILDIR TCPLOCALPORT=25 "$t/home/bin/vchkpw" /bin/true 3<&0
[ -x "$t/home/bin/vdelivermail" ]
# The same tree on the SQLite store: the static programs hand over to their -sql twins.
printf 'auth-module = sqlite\n' >> "$t/home/etc/vpopmail.conf"
env -u VPOPMAIL_HOME -u QMAILDIR "$t/home/bin/vadddomain" example.org 'postmaster-secret'
env -u VPOPMAIL_HOME -u QMAILDIR "$t/home/bin/vadduser" ann@example.org 'ann-secret'
printf 'ann@example.org\0ann-secret\0\0' | env -u VPOPMAIL_HOME -u QMAILDIR TCPLOCALPORT=25 "$t/home/bin/vchkpw" /bin/true 3<&0
[ -s "$t/home/domains/_vpopmail.sqlite" ]
# vpopmail-web from the installed tree: it serves, and SIGTERM stops it cleanly.
env -u QMAILDIR VPOPMAIL_HOME="$t/home" "$t/home/bin/vpopmail-web" --listen 127.0.0.1:18089 > "$t/web.log" 2>&1 &
wp=$!
python3 -c 'import time, urllib.request
for _ in range(100):
    try: print(urllib.request.urlopen("http://127.0.0.1:18089/api/v1/openapi.json").read()[:20].decode()); break
    except Exception: time.sleep(0.1)
else: raise SystemExit("vpopmail-web did not answer")'
kill -TERM $wp
wait $wp
grep -q "@VPOPMAIL_HOME@" "$t/home/etc/systemd/vpopmail-web.service" && { echo "install.sh: unit not filled in" >&2; exit 1; }
echo "install.sh: ok"

# MariaDB (primary and replica) and PostgreSQL on loopback for the SQL store tests.
# The tests read the servers' addresses from $SQLDIR/env.
sql_start
export SQLDIR
# The in-process store suites include MySQL and PostgreSQL only when told the servers are up.
export VPOP_TEST_SERVERS=1
# Other people's programs the tests build and run (qmailadmin): ../shared/peers beside the checkout.
for d in ../shared/peers /work/shared/peers; do
  if [ -f "$d/qmailadmin.tar.gz" ]; then VPOP_PEERS=$(cd "$d" && pwd); export VPOP_PEERS; break; fi
done
# A journaled ext4 (what mkfs.ext4 makes by default) on a loop device, for the test of
# vdelivermail's delivery-sync = auto; where loop mounts are not allowed that test is skipped.
if truncate -s 64M "$t/ext4.img" && mkfs.ext4 -q -F "$t/ext4.img" && mount -o loop "$t/ext4.img" "$j" 2>/dev/null; then
  export VPOP_TEST_JOURNALED_DIR="$j"
else
  echo "run-tests.sh: no loop mount here; the journaled-ext4 delivery test is skipped" >&2
fi
swift test -c release --skip-build
# Every MySQL test again, against the three-node Galera cluster (scripts/galera.sh) instead of
# the single server; the replication test needs the primary/replica pair and the multi-host
# tests already run on the cluster.
VPOP_TEST_ONLY_STORE=mysql VPOP_TEST_MYSQL="$(sed -n 's/^VPOP_TEST_GALERA=//p' "$SQLDIR/env")" \
  swift test -c release --skip-build \
  --filter 'StoreTests.(Reconnect|StoreConformance)/|EndToEndTests.(Conformance|SQLStores|CAPI|QmailadminPages|VpopmaildClients|LoginHardening|DovecotLogin)/'
# vpopmail-web (docs/web.md): the REST API, the audit log, vacation replies, metrics (on the cdb
# files and on SQLite), the pages in a real browser, and schemathesis against the OpenAPI document.
(cd Tests/web && python3 -m unittest -v test_api test_browser test_schema)
(cd Tests/web && VPOP_WEB_STORE=sqlite python3 -m unittest -v test_api)
