/* The file-system floor of a bulk import: for each of N users, the inodes vadduser -f creates
 * (home, Maildir, new, cur, tmp, maildirsize), 100 homes per bucket, nothing else:
 * no accounts, no hashing, no vpasswd. bench.py runs it beside the real import. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: floor DIR N\n"); return 2; }
    int n = atoi(argv[2]);
    char p[512];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    const char *sub[] = {"", "/Maildir", "/Maildir/new", "/Maildir/cur", "/Maildir/tmp"};
    for (int i = 0; i < n; i++) {
        if (i % 100 == 0) { snprintf(p, sizeof p, "%s/b%d", argv[1], i / 100); if (mkdir(p, 0700)) { perror(p); return 1; } }
        for (int k = 0; k < 5; k++) {
            snprintf(p, sizeof p, "%s/b%d/u%d%s", argv[1], i / 100, i, sub[k]);
            if (mkdir(p, 0700)) { perror(p); return 1; }
        }
        snprintf(p, sizeof p, "%s/b%d/u%d/Maildir/maildirsize", argv[1], i / 100, i);
        int fd = open(p, O_CREAT | O_WRONLY | O_EXCL, 0600);
        if (fd < 0 || write(fd, "52428800S\n0 0\n", 14) != 14) { perror(p); return 1; }
        close(fd);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.3f\n", (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
    return 0;
}
