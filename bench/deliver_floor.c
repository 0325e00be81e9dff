/* The floor of one Maildir delivery: the two header lines and the message (stdin) written to
 * a new file in tmp/, fsync, link into new/ with ,S=<size>, unlink tmp. No look-ups, no quota.
 * Built with -DSYNC_DIR it also fsyncs new/ after the link.
 * usage: deliver_floor <maildir/> (RPLINE from the environment). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) return 111;
    char tmp[1024], new[1100], host[256], buf[65536];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    gethostname(host, sizeof host);
    snprintf(tmp, sizeof tmp, "%stmp/%ld.M%ldP%d.%s", argv[1], (long)tv.tv_sec, (long)tv.tv_usec, getpid(), host);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return 111;
    const char *rp = getenv("RPLINE");
    char hdr[1024];
    int hl = snprintf(hdr, sizeof hdr, "%sDelivered-To: joe@big.example.com\n", rp ? rp : "");
    if (write(fd, hdr, hl) != hl) return 111;
    long size = hl;
    ssize_t r;
    while ((r = read(0, buf, sizeof buf)) > 0) {
        if (write(fd, buf, r) != r) return 111;
        size += r;
    }
    if (r < 0 || fsync(fd) || close(fd)) return 111;
    snprintf(new, sizeof new, "%snew/%ld.M%ldP%d.%s,S=%ld", argv[1], (long)tv.tv_sec, (long)tv.tv_usec, getpid(), host, size);
    if (link(tmp, new)) return 111;
    unlink(tmp);
#ifdef SYNC_DIR
    /* The variant that also makes the link durable (what vdelivermail does). */
    char dir[1100];
    snprintf(dir, sizeof dir, "%snew", argv[1]);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd < 0 || fsync(dfd) || close(dfd)) return 111;
#endif
    return 0;
}
