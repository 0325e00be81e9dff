#!/usr/bin/env python3
"""vchkpw benchmark: one POP login (exec to exit of the exec'd program, SHA-512 hash) into a
domain of 100,000 users, beside bench/chkpw_floor.c (a minimal C checkpassword doing the same
look-ups, crypt call, uid switch and exec), in alternating batches; median, ratio, peak memory."""
import os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(ROOT, ".build/release")
USERS = int(os.environ.get("BENCH_USERS", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
BATCH = int(os.environ.get("BENCH_BATCH", "40"))
PROG = "/bin/true"


def main():
    base = tempfile.mkdtemp(prefix="vchkpwbench-", dir=os.environ.get("BENCH_DIR", "/var/tmp"))
    os.chmod(base, 0o755)
    try:
        home, qmail = os.path.join(base, "home"), os.path.join(base, "qmail")
        for d in ("home/bin", "home/etc", "home/domains", "qmail/users", "qmail/control"):
            os.makedirs(os.path.join(base, d))
        env = {"VPOPMAIL_HOME": home, "QMAILDIR": qmail, "PATH": "/usr/bin:/bin", "TCPLOCALPORT": "110",
               "TCPREMOTEIP": "192.0.2.1"}
        shutil.copy(os.path.join(REL, "vchkpw"), os.path.join(home, "bin/vchkpw"))
        admin = os.path.join(REL, "vpopmail")
        run = lambda *a: subprocess.run([admin, *a], env=env, check=True, stdout=subprocess.DEVNULL)
        run("vadddomain", "big.example.com", "pw")
        run("vadduser", "joe@big.example.com", "s3cret-pass")
        ddir = os.path.join(home, "domains/big.example.com")
        # The other 99,999 accounts as vpasswd lines (their homes are never touched by a login).
        joe = open(os.path.join(ddir, "vpasswd")).read().splitlines()
        hash_ = joe[1].split(":")[1]
        lines = set(joe)
        for i in range(USERS - len(joe)):
            lines.add(f"u{i:06d}:{hash_}:1:0:u{i}:{ddir}/x/u{i:06d}:NOQUOTA")
        with open(os.path.join(ddir, "vpasswd"), "w") as f:
            f.write("\n".join(sorted(lines, key=lambda l: l.split(":")[0].encode())) + "\n")
        run("vmkpasswd", "big.example.com")
        floor = os.path.join(base, "chkpw_floor")
        subprocess.run(["cc", "-O2", "-static", "-o", floor, os.path.join(ROOT, "bench/chkpw_floor.c"), "-lcrypt"], check=True)
        inp = os.path.join(base, "input")
        with open(inp, "wb") as f:
            f.write(b"joe@big.example.com\0s3cret-pass\0<1.2@bench>\0")

        def once(binary):
            t0 = time.perf_counter()
            pid = os.posix_spawn(binary, [binary, PROG], env, file_actions=[(os.POSIX_SPAWN_OPEN, 3, inp, os.O_RDONLY, 0)])
            _, st = os.waitpid(pid, 0)
            t = time.perf_counter() - t0
            if os.waitstatus_to_exitcode(st) != 0:
                sys.exit(f"{binary} failed: {os.waitstatus_to_exitcode(st)}")
            return t

        ours_bin = os.path.join(home, "bin/vchkpw")
        for _ in range(20):
            once(ours_bin); once(floor)
        ours, theirs, ratios = [], [], []
        for _ in range(ROUNDS):
            a = [once(ours_bin) for _ in range(BATCH)]
            b = [once(floor) for _ in range(BATCH)]
            ours += a
            theirs += b
            ratios.append(statistics.median(a) / statistics.median(b))
        rss = subprocess.run(["/usr/bin/time", "-f", "%M", "sh", "-c", f"exec 3<{inp}; exec {ours_bin} {PROG}"],
                             env=env, capture_output=True, text=True).stderr.strip().splitlines()[-1]
        frss = subprocess.run(["/usr/bin/time", "-f", "%M", "sh", "-c", f"exec 3<{inp}; exec {floor} {PROG}"],
                              env=env, capture_output=True, text=True).stderr.strip().splitlines()[-1]
        m = lambda xs: f"{statistics.median(xs) * 1000:.3f} ms (min {min(xs) * 1000:.3f})"
        print(f"vchkpw POP login, SHA-512, domain of {USERS} users: median {m(ours)}, peak RSS {rss} KB")
        print(f"minimal C checkpassword (static, same work):       median {m(theirs)}, peak RSS {frss} KB")
        r = statistics.median(ratios)
        print(f"ratio vchkpw / C floor: median of {ROUNDS} paired batches {r:.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}); target <= 1.10: {'met' if r <= 1.10 else 'NOT met'}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
