#!/bin/sh
# Reproductions of the hardening issue's classes against one build, run as root:
#   scripts/hardening-demo.sh <directory with vpopmail, vchkpw, vdelivermail>   (e.g. .build/release)
# Each line says what happened; docs/threat-model.md says what should.
B=$1
t=$(mktemp -d /tmp/demo.XXXX); chmod 755 $t
H=$t/home Q=$t/qmail
mkdir -p $H/bin $H/etc $H/domains $Q/users $Q/control
for c in $($B/vpopmail --commands); do ln -s $B/vpopmail $H/bin/$c; done
cp $B/vchkpw $B/vdelivermail $H/bin/
: > $H/etc/vpopmail.conf
export VPOPMAIL_HOME=$H QMAILDIR=$Q
$H/bin/vadddomain example.com pw; $H/bin/vadduser joe@example.com Secret-pw1; $H/bin/vadduser ann@example.com Secret-pw2
D=$H/domains/example.com
mkdir -p $t/victim; echo precious > $t/victim/precious
$H/bin/vmoduser -D $D/ann joe@example.com >/dev/null 2>&1; echo "1 vmoduser -D <another user's home>: exit $?"
$H/bin/vmoduser -D $D/joe joe@example.com >/dev/null 2>&1
echo 0 > $D/.dir_control_free; ln -s $t/victim $D/0
$H/bin/vadduser new@example.com Secret-pw3 >/dev/null 2>&1; echo "2 vadduser through a bucket symlink: exit $?, victim has: $(ls $t/victim | tr '\n' ' ')"
rm -f $D/joe/lastauth; ln $t/victim/precious $D/joe/lastauth
printf 'joe@example.com\0Secret-pw1\0\0' | TCPLOCALPORT=110 TCPREMOTEIP=192.0.2.9 $H/bin/vchkpw /bin/true 3<&0
echo "3 login with lastauth hard-linked to a root file: victim reads '$(cat $t/victim/precious)'"
rm -f $D/joe/lastauth
$H/bin/valias -i "$(printf 'x@y.test\r\n|/bin/touch /tmp/pwned')" team@example.com >/dev/null 2>&1; echo "4 valias line with CR LF: exit $?"
cp $Q/users/assign $t/assign.bak; sed 's/$/\r/' $t/assign.bak > $Q/users/assign; rm -f $Q/users/cdb
$H/bin/vuserinfo -n joe@example.com >/dev/null 2>&1; echo "5 vuserinfo with a CR LF users/assign: exit $?"
cp $t/assign.bak $Q/users/assign
printf '#!/bin/sh\ntouch %s/hook-ran\n' $t > $H/etc/onchange; chmod 0777 $H/etc/onchange; echo 'onchange-script = y' > $H/etc/vpopmail.conf
$H/bin/vadduser hook@example.com Secret-pw4 >/dev/null 2>&1; echo "6 a world-writable onchange hook: ran=$( [ -e $t/hook-ran ] && echo yes || echo no)"
: > $H/etc/vpopmail.conf
(cd $D && EXT=joe HOST=example.com RPLINE= DTLINE= $H/bin/vdelivermail '' delete </dev/null >/dev/null); echo "7 vdelivermail with an empty stdin: exit $?"
printf 'joe@example.com\0wrong\0\0' | TCPLOCALPORT=110 AUTHORIZED=1 $H/bin/vchkpw /bin/true 3<&0; echo "8 qmail-popup login, wrong password, AUTHORIZED=1: exit $?"
printf '10000S\n-90000 -9\n' > $D/joe/Maildir/maildirsize; chown 89:89 $D/joe/Maildir/maildirsize; $H/bin/vsetuserquota joe@example.com 10000S >/dev/null 2>&1
head -c 20000 /dev/zero | tr '\0' x > $D/joe/Maildir/cur/1.x,S=20000; printf '10000S\n-90000 -9\n' > $D/joe/Maildir/maildirsize; chown 89:89 $D/joe/Maildir/maildirsize
(printf 'Subject: x\n\n'; head -c 3000 /dev/zero | tr '\0' y) > $t/msg
(cd $D && EXT=joe HOST=example.com RPLINE= DTLINE= $H/bin/vdelivermail '' delete <$t/msg >/dev/null); echo "9 delivery over quota with a negative maildirsize: exit $?"
rm -rf $t
