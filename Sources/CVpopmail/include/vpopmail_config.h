/* vpopmail_config.h: what this vpopmail installation was configured with. Clients compile
 * these in (the home directory, the ids, the feature switches), so install.sh writes this file
 * into $VPOPMAIL_HOME/include with the values of that installation; the values below are the
 * defaults the library itself is built with. */
#ifndef VPOPMAIL_CONFIG_H
#define VPOPMAIL_CONFIG_H

#undef PACKAGE
#undef VERSION
#define PACKAGE "vpopmail"
#define VERSION "5.6.11"
#define PACKAGE_NAME "vpopmail"
#define PACKAGE_TARNAME "vpopmail"
#define PACKAGE_VERSION "5.6.11"
#define PACKAGE_STRING "vpopmail 5.6.11"

/* The installation (written by install.sh). */
#define VPOPMAILDIR "/home/vpopmail"
#define VPOPMAILUID 89
#define VPOPMAILGID 89
#define VPOPUSER "vpopmail"
#define VPOPGROUP "vchkpw"
#define QMAILDIR "/var/qmail"
#define DOMAINS_DIR "domains"
#define TCPRULES_PROG "/usr/bin/tcprules"
#define TCP_FILE "/home/vpopmail/etc/tcp.smtp"
#define OPEN_SMTP_CUR_FILE "/home/vpopmail/etc/open-smtp"
#define OPEN_SMTP_TMP_FILE "/home/vpopmail/etc/open-smtp.tmp"
#define RELAY_CLEAR_MINUTES 180

/* Feature switches, as upstream's configure sets them (install.sh follows etc/vpopmail.conf:
 * clear-passwd, valias, auth-logging, ip-alias-domains, users-big-dir). */
#define USE_CDB_AUTH 1
#define ENABLE_AUTH_LOGGING 1
#define CLEAR_PASS 1
#define USERS_BIG_DIR 1
#define IP_ALIAS_DOMAINS 1
#define ROAMING_USERS 1
#define MD5_PASSWORDS 1
#define SHA512_PASSWORDS 1
#define USE_MAILDIRQUOTA 1
#define HAVE_VLIMITS 1
#define ENABLE_DOMAIN_LIMITS 1
#define ONCHANGE_SCRIPT_IN_LIBRARY 1
#define HAVE_STDINT_H 1
#define HAVE_INTTYPES_H 1
#define HAVE_UNISTD_H 1
#define HAVE_CRYPT_H 1
#define HAVE_SHADOW_H 1
#define STDC_HEADERS 1
/* #undef VALIAS */

#endif
