#!/bin/sh
# Lays out libvpopmail for an installation: $VPOPMAIL_HOME/lib/libvpopmail.a, the headers in
# $VPOPMAIL_HOME/include, etc/inc_deps and etc/lib_deps (docs/c-api.md).
#   scripts/libvpopmail.sh BUILD_BIN_DIR VPOPMAIL_HOME QMAILDIR
# The archive is one relocatable object: the library's Swift code (the product vpopmail-c), the
# parts of the Swift runtime it uses (linked in from the toolchain's static libraries, so that a
# client builds and runs where no Swift is installed), and the installation's directory compiled
# in. Every name but upstream's public ones is made local, so the archive exports nothing a
# client could collide with. Position-independent throughout (a client may be a shared object).
set -eu
bindir=$1
home=$2
qmaildir=$3
src=$(cd "$(dirname "$0")/.." && pwd)
swiftc=$(command -v swiftc)
toolchain=$(dirname "$(dirname "$(readlink -f "$swiftc")")")
static=$toolchain/lib/swift_static/linux
[ -f "$static/libswiftCore.a" ] || { echo "libvpopmail.sh: no static Swift runtime in $static" >&2; exit 1; }
[ -f "$bindir/libvpopmail-c.a" ] || { echo "libvpopmail.sh: $bindir/libvpopmail-c.a is not built (swift build --product vpopmail-c)" >&2; exit 1; }
case $home in *[\"\\]*) echo "libvpopmail.sh: the home directory may not hold \" or \\: $home" >&2; exit 1 ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '/* the installation libvpopmail was laid out for */\nconst char vpopmail_lib_home[] = "%s";\n' "$home" > "$tmp/home.c"
cc -fPIC -O2 -c "$tmp/home.c" -o "$tmp/home.o"
ld -r -o "$tmp/all.o" --whole-archive "$bindir/libvpopmail-c.a" --no-whole-archive "$tmp/home.o" "$static/x86_64/swiftrt.o" \
  "$static/libswiftGlibc.a" "$static/libswiftSynchronization.a" "$static/libswift_StringProcessing.a" \
  "$static/libswift_RegexParser.a" "$static/libswiftCore.a"
# The public names: the entry points (@_cdecl) and upstream's three globals.
{ grep -ho '@_cdecl("[A-Za-z_0-9]*")' "$src"/Sources/libvpopmail/*.swift | sed 's/@_cdecl("\(.*\)")/\1/'
  printf 'verrori\nOptimizeAddDomain\nNoMakeIndex\n'; } | sort -u > "$tmp/api.syms"
# The SQL client libraries' functions are weak: a client links only its store's library
# (etc/lib_deps), and the library refuses a store whose client library is not linked in.
nm -u "$tmp/all.o" | awk '$2 ~ /^(mysql_|PQ|sqlite3_)/ { print $2 }' | sort -u > "$tmp/weak.syms"
objcopy --keep-global-symbols="$tmp/api.syms" --weaken-symbols="$tmp/weak.syms" "$tmp/all.o" "$tmp/libvpopmail.o"
rm -f "$tmp/libvpopmail.a"
ar rcs "$tmp/libvpopmail.a" "$tmp/libvpopmail.o"

install -d -m 0755 -o root -g root "$home/lib" "$home/include"
install -m 0644 -o root -g root "$tmp/libvpopmail.a" "$home/lib/libvpopmail.a.new"
mv -f "$home/lib/libvpopmail.a.new" "$home/lib/libvpopmail.a"

# The headers; vpopmail_config.h with this installation's directory, ids and switches.
conf=$home/etc/vpopmail.conf
setting() {  # the value of a vpopmail.conf key, else the default
  v=$(sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\\([^#]*\\).*/\\1/p" "$conf" 2>/dev/null | tail -1 | sed 's/[[:space:]]*$//')
  printf '%s' "${v:-$2}"
}
yes() { case $1 in y|Y|yes|true|1|on) return 0 ;; *) return 1 ;; esac; }
uid=$(id -u vpopmail 2>/dev/null || echo 89)
gid=$(getent group vchkpw | cut -d: -f3)
gid=${gid:-89}
authmodule=$(setting auth-module cdb)
domainsdir=$(setting domains-dir domains)
cfg=$tmp/vpopmail_config.h
sed -e "s|^#define VPOPMAILDIR .*|#define VPOPMAILDIR \"$home\"|" \
    -e "s|^#define VPOPMAILUID .*|#define VPOPMAILUID $uid|" \
    -e "s|^#define VPOPMAILGID .*|#define VPOPMAILGID $gid|" \
    -e "s|^#define QMAILDIR .*|#define QMAILDIR \"$qmaildir\"|" \
    -e "s|^#define DOMAINS_DIR .*|#define DOMAINS_DIR \"$domainsdir\"|" \
    -e "s|^#define TCP_FILE .*|#define TCP_FILE \"$home/etc/tcp.smtp\"|" \
    -e "s|^#define OPEN_SMTP_CUR_FILE .*|#define OPEN_SMTP_CUR_FILE \"$home/etc/open-smtp\"|" \
    -e "s|^#define OPEN_SMTP_TMP_FILE .*|#define OPEN_SMTP_TMP_FILE \"$home/etc/open-smtp.tmp\"|" \
    "$src/Sources/CVpopmail/include/vpopmail_config.h" > "$cfg"
switch() {  # switch NAME on|off
  if [ "$2" = on ]; then sed -i "s|^/\\* #undef $1 \\*/|#define $1 1|" "$cfg"
  else sed -i "s|^#define $1 1|/* #undef $1 */|" "$cfg"; fi
}
case $authmodule in
  cdb) ;;
  *) switch USE_CDB_AUTH off
     up=$(printf '%s' "$authmodule" | tr a-z A-Z)
     printf '#define USE_%s 1\n#define USE_SQL 1\n' "$up" > "$tmp/sql.h"
     sed -i "/^#define ENABLE_AUTH_LOGGING/r $tmp/sql.h" "$cfg" ;;
esac
if yes "$(setting valias n)"; then sed -i "s|^/\\* #undef VALIAS \\*/|#define VALIAS 1|" "$cfg"; fi
yes "$(setting clear-passwd n)" || switch CLEAR_PASS off
yes "$(setting auth-logging y)" || switch ENABLE_AUTH_LOGGING off
yes "$(setting users-big-dir y)" || switch USERS_BIG_DIR off
yes "$(setting ip-alias-domains n)" || switch IP_ALIAS_DOMAINS off
for h in vpopmail.h vauth.h vlimits.h storage.h config.h maildirquota.h pwstr.h vutil.h; do
  install -m 0644 -o root -g root "$src/Sources/CVpopmail/include/$h" "$home/include/$h"
done
install -m 0644 -o root -g root "$cfg" "$home/include/vpopmail_config.h"

# Compiler and linker flags, as upstream writes them (clients read etc/lib_deps' first line).
printf -- '-I%s/include\n' "$home" > "$tmp/inc_deps"
case $authmodule in
  mysql) storelib=-lmariadb ;;
  pgsql) storelib=-lpq ;;
  sqlite) storelib=-lsqlite3 ;;
  *) storelib= ;;
esac
# --no-as-needed: the store's functions are weak references, which alone would not keep the
# library on a linker that drops unneeded ones (Debian's default).
if [ -n "$storelib" ]; then storelib="-Wl,--no-as-needed $storelib -Wl,--as-needed"; fi
printf -- '-L%s/lib -lvpopmail %s-largon2 -lcrypt -lstdc++ -lm -ldl -lpthread\n' "$home" "${storelib:+$storelib }" > "$tmp/lib_deps"
install -m 0644 -o root -g root "$tmp/inc_deps" "$home/etc/inc_deps"
install -m 0644 -o root -g root "$tmp/lib_deps" "$home/etc/lib_deps"
