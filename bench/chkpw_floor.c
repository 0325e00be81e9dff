/* A minimal checkpassword with the same work as vchkpw's POP path and nothing else: read fd 3,
 * split user@domain, look the domain up in users/cdb and the user in vpasswd.cdb (mmap), one
 * crypt_r, setgid/setuid to the domain ids, chdir to the home, set USER/HOME/SHELL/VPOPUSER,
 * exec. The floor vchkpw is measured against (bench/vchkpw.py). */
#include <crypt.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static uint32_t u32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

/* Returns a malloc'd copy of the data of key, or NULL. */
static char *cdb_get(const char *path, const char *key, size_t klen, size_t *dlen) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) || st.st_size < 2048) { close(fd); return NULL; }
    unsigned char *m = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return NULL;
    uint32_t h = 5381;
    for (size_t i = 0; i < klen; i++) h = ((h << 5) + h) ^ (unsigned char)key[i];
    uint32_t tpos = u32(m + (h & 255) * 8), tlen = u32(m + (h & 255) * 8 + 4);
    char *out = NULL;
    for (uint32_t i = 0, s = (h >> 8) % (tlen ? tlen : 1); i < tlen; i++, s = (s + 1) % tlen) {
        uint32_t sh = u32(m + tpos + s * 8), rp = u32(m + tpos + s * 8 + 4);
        if (!rp) break;
        if (sh == h && u32(m + rp) == klen && !memcmp(m + rp + 8, key, klen)) {
            *dlen = u32(m + rp + 4);
            out = malloc(*dlen + 1);
            memcpy(out, m + rp + 8 + klen, *dlen);
            out[*dlen] = 0;
            break;
        }
    }
    munmap(m, st.st_size);
    return out;
}

int main(int argc, char **argv) {
    char buf[513];
    ssize_t n = 0, r;
    while (n < 512 && (r = read(3, buf + n, 512 - n)) > 0) n += r;
    if (r < 0) return 11;
    buf[n] = 0;
    close(3);
    char *login = buf, *pass = buf + strlen(buf) + 1;
    if (!*login) return 12;
    if (pass >= buf + n || !*pass) return 13;
    char *at = strchr(login, '@');
    if (!at) return 3;
    *at = 0;
    char *user = login, *domain = at + 1;
    const char *qmail = getenv("QMAILDIR"), *vhome = getenv("VPOPMAIL_HOME");
    (void)vhome;
    char path[512], key[256];
    snprintf(path, sizeof path, "%s/users/cdb", qmail);
    int kl = snprintf(key, sizeof key, "!%s-", domain);
    size_t dl;
    char *as = cdb_get(path, key, kl, &dl);
    if (!as) return 3;
    /* realdomain \0 uid \0 gid \0 dir \0 ... */
    char *uid = as + strlen(as) + 1, *gid = uid + strlen(uid) + 1, *dir = gid + strlen(gid) + 1;
    snprintf(path, sizeof path, "%s/vpasswd.cdb", dir);
    char *pw = cdb_get(path, user, strlen(user), &dl);
    if (!pw) return 3;
    /* passwd:uid:gid:gecos:dir:quota */
    char *f[7];
    f[0] = pw;
    for (int i = 1; i < 6; i++) { f[i] = strchr(f[i - 1], ':'); if (!f[i]) return 3; *f[i]++ = 0; }
    char *home = f[4];
    struct crypt_data cd;
    memset(&cd, 0, sizeof cd);
    char *c = crypt_r(pass, f[0], &cd);
    if (!c || strcmp(c, f[0])) return 3;
    gid_t g = atoi(gid);
    setgroups(1, &g);
    if (setgid(g)) return 4;
    if (setuid(atoi(uid))) return 5;
    if (chdir(home)) return 6;
    setenv("USER", user, 1);
    setenv("HOME", home, 1);
    setenv("SHELL", "NOLOGIN", 1);
    *at = '@';
    setenv("VPOPUSER", login, 1);
    execvp(argv[1], argv + 1);
    return 111;
}
