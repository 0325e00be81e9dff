/* vauth.h: the account store ("vauth") interface of libvpopmail. Every store (cdb, MySQL,
 * PostgreSQL, SQLite, /etc/passwd) answers these; etc/vpopmail.conf's auth-module says which. */
#ifndef VPOPMAIL_VAUTH_H
#define VPOPMAIL_VAUTH_H

#include "vpopmail.h"

#ifdef __cplusplus
extern "C" {
#endif

int vauth_open(int will_update);
void vclose(void);
int vauth_adddomain(char *domain);
int vauth_deldomain(char *domain);
int vauth_adduser(char *user, char *domain, char *pass, char *gecos, char *dir, int apop);
int vauth_deluser(char *user, char *domain);
int vauth_crypt(char *user, char *domain, char *clear_pass, struct vqpasswd *vpw);
struct vqpasswd *vauth_getpw(char *user, char *domain);
int vauth_setpw(struct vqpasswd *inpw, char *domain);
int vauth_setquota(char *username, char *domain, char *quota);
struct vqpasswd *vauth_getall(char *domain, int first, int sortit);
void vauth_end_getall(void);
int vmkpasswd(char *domain);
int vauth_vpasswd(char *user, char *domain, char *crypted, int apop);

int vset_lastauth(char *user, char *domain, char *remoteip);
time_t vget_lastauth(struct vqpasswd *pw, char *domain);
char *vget_lastauthip(struct vqpasswd *pw, char *domain);

char *valias_select(char *alias, char *domain);
char *valias_select_next(void);
char *valias_select_all(char *alias, char *domain);
char *valias_select_all_next(char *alias);
char *valias_select_names(char *domain);
char *valias_select_names_next(void);
void valias_select_names_end(void);
int valias_insert(char *alias, char *domain, char *alias_line);
int valias_remove(char *alias, char *domain, char *alias_line);
int valias_delete(char *alias, char *domain);
int valias_delete_domain(char *domain);

int vget_ip_map(char *ip, char *domain, int domain_size);
int vadd_ip_map(char *ip, char *domain);
int vdel_ip_map(char *ip, char *domain);
int vshow_ip_map(int first, char *ip, char *domain);

int vopen_smtp_relay(void);
void vclear_open_smtp(time_t clear_minutes, time_t mytime);

#ifdef __cplusplus
}
#endif

#endif
