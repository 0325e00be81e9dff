/* vpopmail.h: the vpopmail library (libvpopmail), upstream 5.6's public interface.
 *
 * Memory rules, as upstream: a returned structure or string (struct vqpasswd, domain_entry,
 * verror(), vget_assign(), format_maildirquota(), ...) lives in static storage of the library
 * that the next call of the same function overwrites; it is never freed by the caller and may
 * be written to (clients zero returned passwords). Functions return 0 (VA_SUCCESS) or a
 * negative VA_* code; verror() gives its text. The library is not thread-safe (as upstream).
 * docs/c-api.md lists every entry with the clients that use it. */
#ifndef VPOPMAIL_VPOPMAIL_H
#define VPOPMAIL_VPOPMAIL_H

#include <sys/types.h>
#include <time.h>
#include "vpopmail_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes (verror() texts in the comments' order of upstream's table). */
#define VA_SUCCESS                       0
#define VA_ILLEGAL_USERNAME             -1
#define VA_USERNAME_EXISTS              -2
#define VA_BAD_DIR                      -3
#define VA_BAD_U_DIR                    -4
#define VA_BAD_D_DIR                    -5
#define VA_BAD_V_DIR                    -6
#define VA_EXIST_U_DIR                  -7
#define VA_BAD_U_DIR2                   -8
#define VA_SUBDIR_CREATION              -9
#define VA_USER_DOES_NOT_EXIST         -10
#define VA_DOMAIN_DOES_NOT_EXIST       -11
#define VA_INVALID_DOMAIN_NAME         -12
#define VA_DOMAIN_ALREADY_EXISTS       -13
#define VA_COULD_NOT_MAKE_DOMAIN_DIR   -14
#define VA_COULD_NOT_OPEN_QMAIL_DEFAULT -15
#define VA_CAN_NOT_MAKE_DOMAINS_DIR    -16
#define VA_COULD_NOT_UPDATE_FILE       -17
#define VA_CRYPT_FAILED                -18
#define VA_COULD_NOT_OPEN_DOT_QMAIL    -19
#define VA_BAD_CHAR                    -20
#define VA_SQWEBMAIL_PASS_FAIL         -21
#define VA_BAD_UID                     -22
#define VA_NO_AUTH_CONNECTION          -23
#define VA_MEMORY_ALLOC_ERR            -24
#define VA_USER_NAME_TOO_LONG          -25
#define VA_DOMAIN_NAME_TOO_LONG        -26
#define VA_PASSWD_TOO_LONG             -27
#define VA_GECOS_TOO_LONG              -28
#define VA_QUOTA_TOO_LONG              -29
#define VA_DIR_TOO_LONG                -30
#define VA_CLEAR_PASSWD_TOO_LONG       -31
#define VA_ALIAS_LINE_TOO_LONG         -32
#define VA_NULL_POINTER                -33
#define VA_INVALID_EMAIL_CHAR          -34
#define VA_PARSE_ERROR                 -35
#define VA_CANNOT_READ_LIMITS          -36
#define VA_CANNOT_READ_ASSIGN          -37
#define VA_CANNOT_OPEN_DATABASE        -38
#define VA_INVALID_IP_ADDRESS          -39
#define VA_QUERY_FAILED                -40
#define VA_STORE_RESULT_FAILED         -41
#define VA_INVALID_OPEN_MODE           -42
#define VA_CANNOT_CREATE_DATABASE      -43
#define VA_CANNOT_CREATE_TABLE         -44
#define VA_PARSE_ERROR01               -45
#define VA_PARSE_ERROR02               -46
#define VA_PARSE_ERROR03               -47
#define VA_PARSE_ERROR04               -48
#define VA_PARSE_ERROR05               -49
#define VA_PARSE_ERROR06               -50
#define VA_PARSE_ERROR07               -51
#define VA_PARSE_ERROR08               -52
#define VA_PARSE_ERROR09               -53
#define VA_PARSE_ERROR10               -54
#define VA_CANNOT_DELETE_CATCHALL      -55
#define VA_PWSTR_EMPTY                 -69
#define VA_PWSTR_LENGTH                -70
#define VA_PWSTR_ALPHA                 -71
#define VA_PWSTR_NUMERIC               -72
#define VA_PWSTR_OTHER                 -73
#define VA_PWSTR_DELTA                 -74
/* This implementation's codes (verror() has a text for each). */
#define VA_CORRUPT_FILE                -80
#define VA_NO_SPACE                    -81
#define VA_IO_ERROR                    -82
#define VA_BAD_CONFIG                  -83
#define VA_LIMIT_REACHED               -84
#define VA_BAD_QUOTA                   -85
#define VA_ALIAS_EXISTS                -86
#define VA_NOT_SUPPORTED               -87
#define VA_OUTSIDE_TREE                -88
#define VA_ROOT_DOMAIN                 -89

/* Length limits (5.6). */
#define MAX_PW_NAME          64
#define MAX_PW_DOMAIN        96
#define MAX_PW_PASS         128
#define MAX_PW_GECOS         64
#define MAX_PW_CLEAR_PASSWD 128
#define MAX_PW_DIR          160
#define MAX_PW_QUOTA         20
#define MAX_ALIAS_LINE      160
#define MAX_BUFF            300
#define MAX_DIR_NAME        300
#define MAX_DOMAINNAME      100
#define MIN_PW_CLEAR_PASSWD   0

/* vadduser()/vpasswd() apop argument. */
#define USE_POP  0x00
#define USE_APOP 0x01

/* The gid flag word (pw_gid; pw_flags = pw_gid | the domain's limits unless V_OVERRIDE). */
#define NO_PASSWD_CHNG  0x00001
#define NO_POP          0x00002
#define NO_WEBMAIL      0x00004
#define NO_IMAP         0x00008
#define BOUNCE_MAIL     0x00010
#define NO_RELAY        0x00020
#define NO_DIALUP       0x00040
#define V_USER0         0x00080
#define V_USER1         0x00100
#define V_USER2         0x00200
#define V_USER3         0x00400
#define NO_SMTP         0x00800
#define QA_ADMIN        0x01000
#define V_OVERRIDE      0x02000
#define NO_SPAMASSASSIN 0x04000
#define DELETE_SPAM     0x08000
#define SA_ADMIN        0x10000
#define SA_EXPERT       0x20000
#define NO_MAILDROP     0x40000

#define VPOPMAIL_UMASK        0077
#define VPOPMAIL_TCPRULES_UMASK 0022
#define VPOPMAIL_DIR_MODE     0750
#define VQPASSWD_HAS_PW_FLAGS 1
#define MAILDIR "Maildir"
#define BOUNCE_ALL "bounce-no-mailbox"
#define DELETE_ALL "delete"
#define NOQUOTA "NOQUOTA"
#define ATCHARS "@%/"

/* One mailbox: a vpasswd line, a row of the vpopmail table. */
struct vqpasswd {
  char *pw_name;          /* user name, lower case */
  char *pw_passwd;        /* crypted password */
  uid_t pw_uid;           /* POP/APOP marker, not a Unix uid */
  gid_t pw_gid;           /* the user's own flag word */
  gid_t pw_flags;         /* pw_gid | domain limits (computed on read) */
  char *pw_gecos;
  char *pw_dir;           /* home directory */
  char *pw_shell;         /* quota */
  char *pw_clear_passwd;  /* clear password ("" when not kept) */
};

/* One users/assign entry (get_domain_entries()). */
typedef struct domain_entry {
  char *domain;      /* the name as listed (an alias domain or the real one) */
  char *realdomain;
  uid_t uid;
  gid_t gid;
  char *path;
} domain_entry;

extern int verrori;            /* last error of the iterators (get_domain_entries) */
extern int OptimizeAddDomain;  /* vadddomain -O: no qmail-newmrh, no HUP */
extern int NoMakeIndex;        /* vauth_setpw without the vpasswd.cdb rebuild (vmoduser -n) */

/* Domains. */
int vadddomain(char *domain, char *dir, uid_t uid, gid_t gid);
int vdeldomain(char *domain);
int vaddaliasdomain(char *alias_domain, char *real_domain);
char *vget_assign(char *domain, char *dir, int dir_len, uid_t *uid, gid_t *gid);
domain_entry *get_domain_entries(const char *match_real);
int vset_default_domain(char *domain);

/* Users. */
int vadduser(char *username, char *domain, char *password, char *gecos, int apop);
int vdeluser(char *user, char *domain);
int vpasswd(char *username, char *domain, char *password, int apop);
int vsetuserquota(char *username, char *domain, char *quota);
struct vqpasswd *vauth_user(char *user, char *domain, char *password, char *apop);
char *make_user_dir(char *username, char *domain, uid_t uid, gid_t gid);
int vmake_maildir(char *domain, char *dir);
int vsqwebmail_pass(char *dir, char *crypted, uid_t uid, gid_t gid);
int vcheck_vqpw(struct vqpasswd *inpw, char *domain);

/* Helpers. */
int parse_email(char *email, char *user, char *domain, int buff_size);
void lowerit(char *str);
char *verror(int va_err);
int vexit(int err);
char *format_maildirquota(const char *q);
char *vrandom_pass(char *buffer, int len);
char *vgetpasswd(char *user);
int mkpasswd3(char *clearpass, char *crypted, int ssize);
char *maildir_to_email(const char *maildir);
int vdelfiles(char *dir);
int r_mkdir(char *path, uid_t uid, gid_t gid);
int update_newu(void);
int signal_process(char *name, int sig);
char *get_remote_ip(void);

#ifdef __cplusplus
}
#endif

#include "vauth.h"
#include "vlimits.h"
#include "maildirquota.h"

#endif
