#!/usr/bin/env python3
"""vdelivermail benchmark: one delivery of a 4 KiB message (qmail-local's environment, a seekable
stdin, the domain owner's uid, the domain directory as cwd) into a domain of 100,000 users, beside
bench/deliver_floor.c (two header lines, copy to tmp/, fsync, link into new/), in alternating
batches; median and ratio.

Durability is the file system's business as much as ours, so the figures come for two:
- BENCH_DIR (default /var/tmp), whatever this machine has there;
- a journaled ext4 (what mkfs.ext4 makes by default, and what mail servers run) in a loop-mounted
  image, when this machine allows loop mounts (root; BENCH_JOURNALED=n skips it).
vdelivermail runs with its default `delivery-sync = auto`: on a journal that commits in order
(ext4 with a journal, XFS) one fsync makes the message and its name in new/ durable together;
elsewhere (no journal: ext2, ext4 without one, tmpfs, ...) it fsyncs the message, links, then
fsyncs new/. The issue's floor fsyncs once and leaves the link to chance; the second floor also
fsyncs new/, the same disk work as vdelivermail's strict way."""
import os, statistics, subprocess, sys, tempfile, time
from common import big_domain_site, build_floor, paired, ms, cleanup

USERS = int(os.environ.get("BENCH_USERS", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
BATCH = int(os.environ.get("BENCH_BATCH", "20"))
WARMUP = 10


def file_system(path):
    """(description, the delivery-sync mode auto picks there), by the rules of
    Sources/CShims/shim.h (vpop_ordered_journal)."""
    magic = int(subprocess.run(["stat", "-f", "-c", "%t", path], capture_output=True, text=True, check=True).stdout, 16)
    if magic == 0x58465342:
        return "XFS", "ordered"
    if magic == 0xEF53:
        st = os.stat(path)
        try:
            dev = os.path.basename(os.readlink(f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}"))
        except OSError:
            dev = None
        if dev and os.path.exists(f"/proc/fs/jbd2/{dev}-8"):
            return f"ext4 with a journal ({dev})", "ordered"
        return f"ext2/3/4 without a journal ({dev})", "strict"
    return f"file system type 0x{magic:x}", "strict"


def target(r):
    return "met" if r <= 1.2 else "NOT met"


def measure(bench_dir):
    desc, mode = file_system(bench_dir)
    saved = os.environ.get("BENCH_DIR")
    os.environ["BENCH_DIR"] = bench_dir  # where big_domain_site makes the site
    try:
        base, home, qmail, ddir = big_domain_site("vdelbench-", USERS, ["vdelivermail"])
    finally:
        if saved is None:
            del os.environ["BENCH_DIR"]
        else:
            os.environ["BENCH_DIR"] = saved
    try:
        maildir = os.path.join(ddir, "joe/Maildir/")
        floor = build_floor(base, "deliver_floor.c")
        floor_dirsync = build_floor(base, "deliver_floor.c", suffix="_dirsync", defines=("SYNC_DIR",))
        msg = os.path.join(base, "msg")
        with open(msg, "w") as f:
            f.write("Received: from remote.test\nSubject: bench\n\n" + ("x" * 76 + "\n") * 52)
        denv = {"EXT": "joe", "HOST": "big.example.com", "LOCAL": "big.example.com-joe", "SENDER": "a@remote.test",
                "RPLINE": "Return-Path: <a@remote.test>\n", "DTLINE": "Delivered-To: big.example.com-joe@big.example.com\n",
                "PATH": "/usr/bin:/bin", "QMAILDIR": qmail}

        def once(argv):
            t0 = time.perf_counter()
            pid = os.posix_spawn(argv[0], argv, denv, file_actions=[(os.POSIX_SPAWN_OPEN, 0, msg, os.O_RDONLY, 0)])
            _, st = os.waitpid(pid, 0)
            t = time.perf_counter() - t0
            if os.waitstatus_to_exitcode(st) != 0:
                sys.exit(f"{argv[0]} failed: {os.waitstatus_to_exitcode(st)}")
            return t

        ours = [os.path.join(home, "bin/vdelivermail"), "", "delete"]
        # As qmail-local runs it: as the domain's owner, in the domain directory (both programs).
        st = os.stat(ddir)
        os.chdir(ddir)
        os.setresgid(st.st_gid, st.st_gid, 0)
        os.setresuid(st.st_uid, st.st_uid, 0)
        try:
            a, b, ratios = paired(lambda: once(ours), lambda: once([floor, maildir]), ROUNDS, BATCH, WARMUP)
            a2, c, ratios2 = paired(lambda: once(ours), lambda: once([floor_dirsync, maildir]), ROUNDS, BATCH, WARMUP)
        finally:
            os.setresuid(0, 0, 0)
            os.setresgid(0, 0, 0)
            os.chdir("/")
        print(f"-- {bench_dir}: {desc}; vdelivermail's delivery-sync = auto is {mode} there")
        print(f"vdelivermail, 4 KiB message, domain of {USERS} users: median {ms(a)}")
        print(f"C floor (headers, copy to tmp/, fsync, link into new/): median {ms(b)}")
        r = statistics.median(ratios)
        print(f"ratio vdelivermail / C floor: median of {ROUNDS} paired batches {r:.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}); target <= 1.2: {target(r)}")
        r2 = statistics.median(ratios2)
        print(f"C floor that also fsyncs new/ after the link (an acknowledged message survives a crash): median {ms(c)}")
        print(f"ratio vdelivermail / that floor: median of {ROUNDS} paired batches {r2:.3f} (min {min(ratios2):.3f}, max {max(ratios2):.3f}); target <= 1.2: {target(r2)}")
        n = len(os.listdir(maildir + "new"))
        if n != 4 * (WARMUP + ROUNDS * BATCH):
            sys.exit(f"expected {4 * (WARMUP + ROUNDS * BATCH)} messages in new/, found {n}")
    finally:
        cleanup(base)


def journaled_ext4():
    """Mounts a fresh journaled ext4 image; returns (mount point, image) or None."""
    if os.geteuid() != 0 or os.environ.get("BENCH_JOURNALED", "y") == "n":
        return None
    work = tempfile.mkdtemp(prefix="vdelbench-ext4-", dir=os.environ.get("BENCH_DIR", "/var/tmp"))
    os.chmod(work, 0o755)  # the domain owner runs the programs in there
    img, mnt = os.path.join(work, "ext4.img"), os.path.join(work, "mnt")
    os.mkdir(mnt)
    try:
        with open(img, "wb") as f:
            f.truncate(1 << 30)
        subprocess.run(["mkfs.ext4", "-q", "-F", img], check=True)
        subprocess.run(["mount", "-o", "loop", img, mnt], check=True, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError):
        cleanup(work)
        print("-- no journaled ext4 image: loop mounts are not allowed here")
        return None
    return mnt, work


def main():
    measure(os.environ.get("BENCH_DIR", "/var/tmp"))
    j = journaled_ext4()
    if j:
        mnt, work = j
        try:
            measure(mnt)
        finally:
            subprocess.run(["umount", mnt])
            cleanup(work)


if __name__ == "__main__":
    main()
