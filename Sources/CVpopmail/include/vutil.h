/* vutil.h: what an address of a domain is (qmailadmin asks before it modifies or deletes one),
 * and the default domain. */
#ifndef VPOPMAIL_VUTIL_H
#define VPOPMAIL_VUTIL_H

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when Name is a mailing list (ezmlm) of the domain directory path, else 0. */
int isValidMailList(char *path, char *Name);
/* 1 when Name is a forward of Domain (a .qmail file or a valias row that is neither a list nor
 * an autoresponder), else 0. */
int isExistingAlias(char *path, char *Name, char *Domain);
/* 1 when Name is an autoresponder of the domain directory path, else 0. */
int isExistingRobot(char *path, char *Name);
/* 1 when Name is a mailbox of Domain, else 0. */
int isExistingUser(char *Name, char *Domain);
/* 1 when Name is any of the above, else 0. */
int isExistingAddress(char *Domain, char *Name, char *Path);
/* 1 when qmail's alias user has Name ($QMAILDIR/alias/.qmail-Name), else 0. */
int isQmailAlias(char *Name);
/* isExistingAddress or isQmailAlias. */
int isExistingAnyAddress(char *Domain, char *Name, char *Path);

/* The default domain, in static storage. */
char *vget_default_domain(void);

#ifdef __cplusplus
}
#endif

#endif
