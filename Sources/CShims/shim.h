#include <sys/fsuid.h>

#include <sys/syscall.h>
#include <unistd.h>
/* copy_file_range(2) without _GNU_SOURCE in Swift's Glibc module. */
static inline long vpop_copy_file_range(int in, long long *off, int out, unsigned long len) {
    return syscall(SYS_copy_file_range, in, off, out, (void *)0, len, 0);
}
/* O_TMPFILE (Linux): an unnamed file in a directory. */
static inline int vpop_o_tmpfile(void) { return 020000000 | 0200000; }

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
/* sync_file_range(fd, 0, 0, WAIT_BEFORE | WRITE | WAIT_AFTER): writes fd's dirty pages to the
 * device and waits for them (no metadata, no cache flush). The argument order of x86-64 and
 * arm64 (not sync_file_range2's). */
static inline int vpop_write_out(int fd) {
    return (int)syscall(SYS_sync_file_range, fd, (long long)0, (long long)0, 1U | 2U | 4U);
}
/* 1 when fd's file system commits metadata in order through a journal, so that a later fsync
 * also commits the allocation and size of data written out before any directory entry made
 * after it: XFS (always logged), ext4 with an internal journal (the journal is listed as
 * /proc/fs/jbd2/<device>-8). 0 for everything else (ext4 without a journal, ext2, btrfs, NFS,
 * tmpfs, ...) and when it cannot tell. */
static inline int vpop_ordered_journal(int fd) {
    struct statfs sf;
    if (fstatfs(fd, &sf) != 0) return 0;
    if (sf.f_type == 0x58465342) return 1;  /* XFS_SUPER_MAGIC */
    if (sf.f_type != 0xEF53) return 0;      /* EXT4_SUPER_MAGIC (also ext2 and ext3) */
    struct stat st;
    if (fstat(fd, &st) != 0) return 0;
    char link[64], target[512], jbd[600];
    snprintf(link, sizeof link, "/sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0) return 0;
    target[n] = 0;
    const char *name = strrchr(target, '/');
    name = name ? name + 1 : target;
    snprintf(jbd, sizeof jbd, "/proc/fs/jbd2/%s-8", name);
    return access(jbd, F_OK) == 0;
}

#include <stdint.h>
/* One of the shared event counters (etc/counters, mapped by every process that counts). */
static inline void vpop_counter_add(uint64_t *p, uint64_t v) { __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
static inline uint64_t vpop_counter_load(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
