/* bench/capi.py's C client of libvpopmail: `capi_getpw USER DOMAIN` looks one account up with
 * vauth_getpw (one process per look-up, like a vuserinfo run); `capi_getpw -n N DOMAIN USERS`
 * does N look-ups of u000000..u<USERS> in one process and prints the time per call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vpopmail.h>
#include <vauth.h>

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "-n") == 0) {
    int n = atoi(argv[2]), users = atoi(argv[4]);
    char user[32];
    struct timespec t0, t1;
    unsigned seed = 1;
    if (vauth_getpw("joe", argv[3]) == NULL) { fprintf(stderr, "joe missing\n"); return 1; }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
      snprintf(user, sizeof user, "u%06d", (int)(rand_r(&seed) % (unsigned)users));
      if (vauth_getpw(user, argv[3]) == NULL) { fprintf(stderr, "%s missing\n", user); return 1; }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.3f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n / 1000.0);
    vclose();
    return 0;
  }
  if (argc != 3) { fprintf(stderr, "usage: capi_getpw USER DOMAIN | -n N DOMAIN USERS\n"); return 2; }
  struct vqpasswd *pw = vauth_getpw(argv[1], argv[2]);
  if (pw == NULL) return 1;
  printf("%s\n", pw->pw_dir);
  vclose();
  return 0;
}
