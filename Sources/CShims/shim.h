#include <sys/fsuid.h>

#include <sys/syscall.h>
#include <unistd.h>
/* copy_file_range(2) without _GNU_SOURCE in Swift's Glibc module. */
static inline long vpop_copy_file_range(int in, long long *off, int out, unsigned long len) {
    return syscall(SYS_copy_file_range, in, off, out, (void *)0, len, 0);
}
/* O_TMPFILE (Linux): an unnamed file in a directory. */
static inline int vpop_o_tmpfile(void) { return 020000000 | 0200000; }
