#!/usr/bin/env python3
"""vdelivermail benchmark: one delivery of a 4 KiB message (qmail-local's environment, a seekable
stdin, the domain owner's uid, the domain directory as cwd) into a domain of 100,000 users, beside bench/deliver_floor.c (two header lines, copy to
tmp/, fsync, link into new/), in alternating batches; median and ratio."""
import os, statistics, sys, time
from common import big_domain_site, build_floor, paired, ms, cleanup

USERS = int(os.environ.get("BENCH_USERS", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
BATCH = int(os.environ.get("BENCH_BATCH", "20"))
WARMUP = 10


def main():
    base, home, qmail, ddir = big_domain_site("vdelbench-", USERS, ["vdelivermail"])
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
            # Informative: the same floor with the fsync of new/ that vdelivermail also does.
            a2, c, ratios2 = paired(lambda: once(ours), lambda: once([floor_dirsync, maildir]), ROUNDS, BATCH, WARMUP)
        finally:
            os.setresuid(0, 0, 0)
            os.setresgid(0, 0, 0)
            os.chdir("/")
        print(f"vdelivermail, 4 KiB message, domain of {USERS} users: median {ms(a)}")
        print(f"C floor (headers, copy to tmp/, fsync, link into new/): median {ms(b)}")
        r = statistics.median(ratios)
        print(f"ratio vdelivermail / C floor: median of {ROUNDS} paired batches {r:.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}); target <= 1.2: {'met' if r <= 1.2 else 'NOT met'}")
        r2 = statistics.median(ratios2)
        # vdelivermail also fsyncs new/ after the link (an acknowledged message must survive a
        # crash); this floor does the same two fsyncs, so the ratio compares the same disk work.
        print(f"C floor that also fsyncs new/ after the link (the same fsyncs as vdelivermail): median {ms(c)}")
        print(f"ratio vdelivermail / that floor: median of {ROUNDS} paired batches {r2:.3f} (min {min(ratios2):.3f}, max {max(ratios2):.3f}); target <= 1.2: {'met' if r2 <= 1.2 else 'NOT met'}")
        n = len(os.listdir(maildir + "new"))
        if n != 4 * (WARMUP + ROUNDS * BATCH):
            sys.exit(f"expected {4 * (WARMUP + ROUNDS * BATCH)} messages in new/, found {n}")
    finally:
        cleanup(base)


if __name__ == "__main__":
    main()
