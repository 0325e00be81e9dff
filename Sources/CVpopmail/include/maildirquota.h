/* maildirquota.h: Maildir++ quota helpers of libvpopmail. */
#ifndef VPOPMAIL_MAILDIRQUOTA_H
#define VPOPMAIL_MAILDIRQUOTA_H

#include "storage.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Size and message count of the Maildir at dir (maildirsize, recalculated when missing). */
int readuserquota(const char *dir, storage_t *sizep, storage_t *cntp);
/* 1 when a message of `size` bytes would take the user at `dir` over `quota`. */
int user_over_maildirquota(const char *dir, const char *quota);
/* The user's usage in percent of the quota (the larger of size and count), -1 on error. */
int vmaildir_readquota(const char *dir, const char *quota);

#ifdef __cplusplus
}
#endif

#endif
