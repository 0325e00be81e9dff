#!/bin/sh
# Runs Net_Vpopmaild's own .phpt suite (../shared/peers/Net_Vpopmaild.tar.gz, with PEAR Log)
# against vpopmaild under tcpserver on 127.0.0.1:89, the port the suite connects to.
#   scripts/net-vpopmaild-tests.sh VPOPMAIL_HOME QMAILDIR PEERS_DIR WORK_DIR
# The site gets what the suite's tests-config.php.dist asks for: test.com (sysadmin test@test.com,
# password test) and test2.com, clear passwords kept. The client predates PHP 8: its removed
# functions come from Tests/Fixtures/php/compat.php, the one removed syntax (`$line{0}`) is
# rewritten in the copy, and so are two typed parameters of PEAR Log (below); nothing it sends
# or expects changes. Prints pear's summary.
set -eu
home=$1 qmail=$2 peers=$3 work=$4
src=$(cd "$(dirname "$0")/.." && pwd)
export VPOPMAIL_HOME="$home" QMAILDIR="$qmail"
"$home/bin/vadddomain" test.com 'Pm-secret-1' >/dev/null
"$home/bin/vadddomain" test2.com 'Pm-secret-1' >/dev/null
"$home/bin/vadduser" test@test.com test >/dev/null
"$home/bin/vmoduser" -S test@test.com >/dev/null
mkdir -p "$work/src" "$work/inc/Net"
tar xzf "$peers/Net_Vpopmaild.tar.gz" -C "$work/src"
tar xzf "$peers/pear-Log.tar.gz" -C "$work/src"
client=$work/src/Net_Vpopmaild/trunk
sed 's/\$line{0}/$line[0]/' "$client/Vpopmaild.php" > "$work/inc/Net/Vpopmaild.php"
cp -r "$client/Vpopmaild" "$work/inc/Net/"
cp -r "$work/src/Log/Log" "$work/inc/"
# setDebug() without a file passes a null log name, which the Log of the client's time took and
# PEAR Log 1.14's typed parameters refuse: the copy's two parameters take null again.
sed 's/^        string \$name = '"''"',$/        ?string $name = '"''"',/' "$work/src/Log/Log.php" > "$work/inc/Log.php"
sed -e 's/^        string \$name,$/        ?string $name,/' -e 's/^        \$this->filename = \$name;$/        $this->filename = $name ?? $this->filename;/' \
  "$work/src/Log/Log/file.php" > "$work/inc/Log/file.php"
t=$work/tests
cp -r "$client/tests" "$t"
printf "<?php\nini_set('include_path', '.:%s:/usr/share/php');\nerror_reporting(E_ALL & ~E_DEPRECATED);\nrequire_once '%s';\n?>\n" \
  "$work/inc" "$src/Tests/Fixtures/php/compat.php" > "$t/tests-setpath.php"
domains=$(grep -c '^+' "$qmail/users/assign")
sed -e "s/^\$domainCount = .*/\$domainCount = $domains;/" -e "s|^\$logFile = .*|\$logFile = '$work/vpopmaild.log';|" \
  "$t/tests-config.php.dist" > "$t/tests-config.php"
tcpserver -HRl0 127.0.0.1 89 env VPOPMAIL_HOME="$home" QMAILDIR="$qmail" "$home/bin/vpopmaild" 2>"$work/tcpserver.err" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
# Listening once php can connect.
for _ in 1 2 3 4 5 6 7 8 9 10; do
  php -r 'exit(@fsockopen("127.0.0.1", 89) ? 0 : 1);' && break
  sleep 0.2
done
cd "$t"
pear run-tests . 2>&1 | sed -n '/PASSED TESTS/,$p'
