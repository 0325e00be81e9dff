/* bench/vpopmaild.py's floor: a server that greets, answers `slogin` with "+OK " and every other
 * line with a fixed user block of user_info's size, doing no work: what one connection's round
 * trips cost on this machine. `vpopmaild_floor PORT` serves one connection. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 8)) { perror("bind"); return 1; }
  char block[700];
  int bl = snprintf(block, sizeof block, "+OK+\r\nname u000001\r\ncomment u1\r\nquota NOQUOTA\r\nuser_dir /var/tmp/home/domains/big.example.com/x/u000001\r\n"
                    "encrypted_password $6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1\r\n"
                    "clear_text_password \r\ngidflags 0\r\n.\r\n");
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    write(c, "+OK \r\n", 6);
    char buf[4096];
    int have = 0, first = 1;
    for (;;) {
      int n = read(c, buf + have, sizeof buf - have);
      if (n <= 0) break;
      have += n;
      char *nl;
      while ((nl = memchr(buf, '\n', have)) != NULL) {
        int len = nl - buf + 1;
        if (first || strncmp(buf, "quit", 4) == 0) write(c, "+OK \r\n", 6); else write(c, block, bl);
        first = 0;
        memmove(buf, buf + len, have - len);
        have -= len;
      }
    }
    close(c);
  }
}
