/* vlimits.h: domain limits (.qmailadmin-limits, vlimits.default, the limits table). */
#ifndef VPOPMAIL_VLIMITS_H
#define VPOPMAIL_VLIMITS_H

#include "storage.h"
#include "vpopmail.h"

#ifdef __cplusplus
extern "C" {
#endif

/* perm_* bits: what a domain admin may not do. */
#define VLIMIT_DISABLE_CREATE 0x01
#define VLIMIT_DISABLE_MODIFY 0x02
#define VLIMIT_DISABLE_DELETE 0x04
#define VLIMIT_DISABLE_ALL (VLIMIT_DISABLE_CREATE | VLIMIT_DISABLE_MODIFY | VLIMIT_DISABLE_DELETE)
#define VLIMIT_DISABLE_BITS 3

#define VLIMITS_FILE ".qmailadmin-limits"
#define VLIMITS_DEFAULT_FILE "vlimits.default"

struct vlimits {
  /* -1: unlimited */
  int maxpopaccounts;
  int maxaliases;
  int maxforwards;
  int maxautoresponders;
  int maxmailinglists;
  /* whole-domain quota (MB) and message count; new users' quota (bytes) and count */
  storage_t diskquota;
  storage_t maxmsgcount;
  storage_t defaultquota;
  storage_t defaultmaxmsgcount;
  /* 0 or 1 */
  short disable_pop;
  short disable_imap;
  short disable_dialup;
  short disable_passwordchanging;
  short disable_webmail;
  short disable_relay;
  short disable_smtp;
  short disable_spamassassin;
  short delete_spam;
  short disable_maildrop;
  /* VLIMIT_DISABLE_* bits */
  short perm_account;
  short perm_alias;
  short perm_forward;
  short perm_autoresponder;
  short perm_maillist;
  short perm_maillist_users;
  short perm_maillist_moderators;
  short perm_quota;
  short perm_defaultquota;
};

int vget_limits(const char *domain, struct vlimits *limits);
int vset_limits(const char *domain, const struct vlimits *limits);
int vdel_limits(const char *domain);
int vdefault_limits(struct vlimits *limits);
int vlimits_read_limits_file(const char *dir, struct vlimits *limits);
int vlimits_write_limits_file(const char *dir, const struct vlimits *limits);
int vlimits_get_flag_mask(struct vlimits *limits);
int vlimits_setflags(struct vqpasswd *qp, char *domain);

#ifdef __cplusplus
}
#endif

#endif
