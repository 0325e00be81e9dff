/* A C client of libvpopmail for the end-to-end tests (Tests/EndToEndTests/CAPITests.swift):
 * each argument vector is one call of the API, its result printed on one line. Built with
 *   gcc $(cat etc/inc_deps) client.c $(head -1 etc/lib_deps)
 * as the issue says a client is built. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vpopmail.h>
#include <vauth.h>
#include <vlimits.h>

static void show(struct vqpasswd *pw) {
  if (pw == NULL) { printf("NULL\n"); return; }
  printf("%s|%s|%u|%u|%u|%s|%s|%s|%s\n", pw->pw_name, pw->pw_passwd, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid,
         (unsigned)pw->pw_flags, pw->pw_gecos, pw->pw_dir, pw->pw_shell, pw->pw_clear_passwd);
}

static int rc(int r) { printf("%d %s\n", r, verror(r)); return r; }

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: client call args...\n"); return 2; }
  char *c = argv[1];
  char **a = argv + 2;
  if (!strcmp(c, "vadddomain")) rc(vadddomain(a[0], VPOPMAILDIR, VPOPMAILUID, VPOPMAILGID));
  else if (!strcmp(c, "vdeldomain")) rc(vdeldomain(a[0]));
  else if (!strcmp(c, "vaddaliasdomain")) rc(vaddaliasdomain(a[0], a[1]));
  else if (!strcmp(c, "vadduser")) rc(vadduser(a[0], a[1], a[2], a[3], USE_POP));
  else if (!strcmp(c, "vdeluser")) rc(vdeluser(a[0], a[1]));
  else if (!strcmp(c, "vpasswd")) rc(vpasswd(a[0], a[1], a[2], USE_POP));
  else if (!strcmp(c, "vsetuserquota")) rc(vsetuserquota(a[0], a[1], a[2]));
  else if (!strcmp(c, "vauth_setquota")) rc(vauth_setquota(a[0], a[1], a[2]));
  else if (!strcmp(c, "vauth_getpw")) show(vauth_getpw(a[0], a[1]));
  else if (!strcmp(c, "vauth_user")) show(vauth_user(a[0], a[1], a[2], NULL));
  else if (!strcmp(c, "vauth_adduser")) rc(vauth_adduser(a[0], a[1], a[2], a[3], a[4], USE_POP));
  else if (!strcmp(c, "vauth_deluser")) rc(vauth_deluser(a[0], a[1]));
  else if (!strcmp(c, "vauth_crypt")) {
    struct vqpasswd *pw = vauth_getpw(a[0], a[1]);
    printf("%d\n", pw ? vauth_crypt(a[0], a[1], a[2], pw) : -99);
  } else if (!strcmp(c, "setpw")) {
    /* vauth_setpw with one field replaced: setpw user domain field value */
    struct vqpasswd *pw = vauth_getpw(a[0], a[1]);
    if (pw == NULL) { printf("NULL\n"); return 1; }
    if (!strcmp(a[2], "gecos")) pw->pw_gecos = a[3];
    else if (!strcmp(a[2], "dir")) pw->pw_dir = a[3];
    else if (!strcmp(a[2], "gid")) pw->pw_gid = (gid_t)strtoul(a[3], NULL, 0);
    else if (!strcmp(a[2], "shell")) pw->pw_shell = a[3];
    else if (!strcmp(a[2], "passwd")) pw->pw_passwd = a[3];
    rc(vauth_setpw(pw, a[1]));
  } else if (!strcmp(c, "zero")) {
    /* a client may overwrite the returned strings (Dovecot zeroes the password) */
    struct vqpasswd *pw = vauth_getpw(a[0], a[1]);
    memset(pw->pw_passwd, 0, strlen(pw->pw_passwd));
    memset(pw->pw_clear_passwd, 'x', strlen(pw->pw_clear_passwd));
    show(vauth_getpw(a[0], a[1]));
  } else if (!strcmp(c, "static")) {
    /* the record lives in static storage the next call overwrites */
    struct vqpasswd *p1 = vauth_getpw(a[0], a[2]);
    struct vqpasswd *p2 = vauth_getpw(a[1], a[2]);
    printf("%s %s %s\n", p1 == p2 ? "same" : "different", p1->pw_name, p2->pw_name);
  } else if (!strcmp(c, "vauth_getall")) {
    struct vqpasswd *pw;
    int n = 0;
    for (pw = vauth_getall(a[0], 1, 1); pw != NULL; pw = vauth_getall(a[0], 0, 0)) { printf("%s ", pw->pw_name); n++; }
    printf("(%d)\n", n);
  } else if (!strcmp(c, "vget_assign")) {
    char dom[MAX_BUFF], dir[MAX_BUFF];
    uid_t uid = 0; gid_t gid = 0;
    snprintf(dom, sizeof dom, "%s", a[0]);
    char *r = vget_assign(dom, dir, sizeof dir, &uid, &gid);
    printf("%s %s %s %u %u\n", r ? r : "NULL", dom, r ? dir : "-", (unsigned)uid, (unsigned)gid);
    r = vget_assign(dom, NULL, 0, NULL, NULL);
    printf("%s\n", r ? r : "NULL");
  } else if (!strcmp(c, "get_domain_entries")) {
    domain_entry *e;
    for (e = get_domain_entries(a[0]); e != NULL; e = get_domain_entries(NULL)) printf("%s>%s ", e->domain, e->realdomain);
    printf("\n");
  } else if (!strcmp(c, "parse_email")) {
    char u[MAX_BUFF], d[MAX_BUFF];
    int r = parse_email(a[0], u, d, sizeof u);
    printf("%d %s %s\n", r, u, d);
  } else if (!strcmp(c, "format_maildirquota")) printf("[%s]\n", format_maildirquota(a[0]));
  else if (!strcmp(c, "valias_insert")) rc(valias_insert(a[0], a[1], a[2]));
  else if (!strcmp(c, "valias_remove")) rc(valias_remove(a[0], a[1], a[2]));
  else if (!strcmp(c, "valias_delete")) rc(valias_delete(a[0], a[1]));
  else if (!strcmp(c, "valias_select")) {
    char *l;
    for (l = valias_select(a[0], a[1]); l != NULL; l = valias_select_next()) printf("%s;", l);
    printf("\n");
  } else if (!strcmp(c, "valias_select_all")) {
    char name[MAX_BUFF], *l;
    for (l = valias_select_all(name, a[0]); l != NULL; l = valias_select_all_next(name)) printf("%s=%s;", name, l);
    printf("\n");
  } else if (!strcmp(c, "vget_limits")) {
    struct vlimits l;
    int r = vget_limits(a[0], &l);
    printf("%d %d %d %llu %d %d\n", r, l.maxpopaccounts, l.maxaliases, (unsigned long long)l.defaultquota, l.disable_pop, l.perm_account);
  } else if (!strcmp(c, "vset_limits")) {
    struct vlimits l;
    vget_limits(a[0], &l);
    l.maxpopaccounts = atoi(a[1]);
    l.disable_imap = 1;
    rc(vset_limits(a[0], &l));
  } else if (!strcmp(c, "vdel_limits")) rc(vdel_limits(a[0]));
  else if (!strcmp(c, "lastauth")) {
    rc(vset_lastauth(a[0], a[1], a[2]));
    struct vqpasswd *pw = vauth_getpw(a[0], a[1]);
    char *ip = vget_lastauthip(pw, a[1]);
    printf("%s %d\n", ip ? ip : "NULL", vget_lastauth(pw, a[1]) > 0);
  } else if (!strcmp(c, "vauth_open")) rc(vauth_open(0));
  else if (!strcmp(c, "verror")) printf("%s\n", verror(atoi(a[0])));
  else if (!strcmp(c, "vexit")) { vexit(atoi(a[0])); printf("not reached\n"); }
  else { fprintf(stderr, "client: unknown call %s\n", c); return 2; }
  vclose();
  return 0;
}
