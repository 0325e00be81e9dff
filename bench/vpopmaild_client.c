/* bench/vpopmaild.py's client: `vpopmaild_client PORT N USERS` logs in as joe@big.example.com
 * and sends N user_info requests one at a time (each after the previous reply), printing the
 * requests per second. A C client, so that the figure is the daemon's and the loopback's. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char buf[1 << 16];
static int have = 0;

/* Reads until the buffer ends with `end` (a reply's last line); returns 0 when it starts with +OK. */
static int reply(int fd, const char *end) {
  have = 0;
  size_t el = strlen(end);
  for (;;) {
    int n = read(fd, buf + have, sizeof buf - have - 1);
    if (n <= 0) { fprintf(stderr, "connection closed\n"); exit(1); }
    have += n;
    buf[have] = 0;
    if ((size_t)have >= el && memcmp(buf + have - el, end, el) == 0) return strncmp(buf, "+OK", 3);
    if (strncmp(buf, "-ERR", 4) == 0 && buf[have - 1] == '\n') return 1;
  }
}

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  int n = atoi(argv[2]), users = atoi(argv[3]);
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return 1; }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  reply(fd, "\r\n");
  const char *login = "slogin joe@big.example.com s3cret-pass\n";
  write(fd, login, strlen(login));
  if (reply(fd, "\r\n")) { fprintf(stderr, "login failed\n"); return 1; }
  unsigned seed = 7;
  char line[128];
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < n; i++) {
    int len = snprintf(line, sizeof line, "user_info u%06d@big.example.com\n", (int)(rand_r(&seed) % (unsigned)users));
    write(fd, line, len);
    if (reply(fd, "\r\n.\r\n")) { fprintf(stderr, "user_info failed: %s\n", buf); return 1; }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%.0f\n", n / ((t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9));
  write(fd, "quit\n", 5);
  close(fd);
  return 0;
}
