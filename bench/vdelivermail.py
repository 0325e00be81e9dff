#!/usr/bin/env python3
"""vdelivermail benchmark: one delivery of a 4 KiB message (qmail-local's environment, a seekable
stdin) into a domain of 100,000 users, beside bench/deliver_floor.c (two header lines, copy to
tmp/, fsync, link into new/), in alternating batches; median and ratio."""
import os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(ROOT, ".build/release")
USERS = int(os.environ.get("BENCH_USERS", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
BATCH = int(os.environ.get("BENCH_BATCH", "20"))


def main():
    base = tempfile.mkdtemp(prefix="vdelbench-", dir=os.environ.get("BENCH_DIR", "/var/tmp"))
    os.chmod(base, 0o755)
    try:
        home, qmail = os.path.join(base, "home"), os.path.join(base, "qmail")
        for d in ("home/bin", "home/etc", "home/domains", "qmail/users", "qmail/control"):
            os.makedirs(os.path.join(base, d))
        env = {"VPOPMAIL_HOME": home, "QMAILDIR": qmail, "PATH": "/usr/bin:/bin"}
        shutil.copy(os.path.join(REL, "vdelivermail"), os.path.join(home, "bin/vdelivermail"))
        admin = os.path.join(REL, "vpopmail")
        run = lambda *a: subprocess.run([admin, *a], env=env, check=True, stdout=subprocess.DEVNULL)
        run("vadddomain", "big.example.com", "pw")
        run("vadduser", "joe@big.example.com", "s3cret-pass")
        ddir = os.path.join(home, "domains/big.example.com")
        joe = open(os.path.join(ddir, "vpasswd")).read().splitlines()
        hash_ = joe[0].split(":")[1]
        lines = set(joe)
        for i in range(USERS - len(joe)):
            lines.add(f"u{i:06d}:{hash_}:1:0:u{i}:{ddir}/x/u{i:06d}:NOQUOTA")
        with open(os.path.join(ddir, "vpasswd"), "w") as f:
            f.write("\n".join(sorted(lines, key=lambda l: l.split(":")[0].encode())) + "\n")
        run("vmkpasswd", "big.example.com")
        maildir = os.path.join(ddir, "joe/Maildir/")
        floor = os.path.join(base, "deliver_floor")
        subprocess.run(["cc", "-O2", "-static", "-o", floor, os.path.join(ROOT, "bench/deliver_floor.c")], check=True)
        msg = os.path.join(base, "msg")
        with open(msg, "w") as f:
            f.write("Received: from remote.test\nSubject: bench\n\n" + ("x" * 76 + "\n") * 52)
        denv = {"EXT": "joe", "HOST": "big.example.com", "LOCAL": "big.example.com-joe", "SENDER": "a@remote.test",
                "RPLINE": "Return-Path: <a@remote.test>\n", "DTLINE": "Delivered-To: big.example.com-joe@big.example.com\n",
                "PATH": "/usr/bin:/bin", "QMAILDIR": qmail}
        ours = os.path.join(home, "bin/vdelivermail")

        def once(argv):
            t0 = time.perf_counter()
            pid = os.posix_spawn(argv[0], argv, denv, file_actions=[(os.POSIX_SPAWN_OPEN, 0, msg, os.O_RDONLY, 0)])
            _, st = os.waitpid(pid, 0)
            t = time.perf_counter() - t0
            if os.waitstatus_to_exitcode(st) != 0:
                sys.exit(f"{argv[0]} failed: {os.waitstatus_to_exitcode(st)}")
            return t

        a_argv, b_argv = [ours, "", "delete"], [floor, maildir]
        for _ in range(10):
            once(a_argv); once(b_argv)
        a_all, b_all, ratios = [], [], []
        for _ in range(ROUNDS):
            a = [once(a_argv) for _ in range(BATCH)]
            b = [once(b_argv) for _ in range(BATCH)]
            a_all += a
            b_all += b
            ratios.append(statistics.median(a) / statistics.median(b))
        m = lambda xs: f"{statistics.median(xs) * 1000:.3f} ms (min {min(xs) * 1000:.3f})"
        print(f"vdelivermail, 4 KiB message, domain of {USERS} users: median {m(a_all)}")
        print(f"C floor (headers, copy to tmp/, fsync, link into new/): median {m(b_all)}")
        r = statistics.median(ratios)
        print(f"ratio vdelivermail / C floor: median of {ROUNDS} paired batches {r:.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}); target <= 1.2: {'met' if r <= 1.2 else 'NOT met'}")
        n = len(os.listdir(maildir + "new"))
        if n != 2 * (10 + ROUNDS * BATCH):
            sys.exit(f"expected {2 * (10 + ROUNDS * BATCH)} messages in new/, found {n}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
