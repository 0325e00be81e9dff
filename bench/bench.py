#!/usr/bin/env python3
"""Benchmarks for the core issue: vadduser at 100 and 10,000 users, bulk import of 100,000
pre-hashed accounts, vuserinfo at 10,000 users. Each timed run is one process, from spawn to exit."""
import os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build/release/vpopmail")
HASH = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"
RUNS = int(os.environ.get("BENCH_RUNS", "31"))
BULK = int(os.environ.get("BENCH_BULK", "100000"))


def site(base):
    home, qmail = os.path.join(base, "home"), os.path.join(base, "qmail")
    for d in ("bin", "etc", "domains"):
        os.makedirs(os.path.join(home, d))
    for d in ("users", "control"):
        os.makedirs(os.path.join(qmail, d))
    shutil.copy(os.path.join(ROOT, "etc/vlimits.default"), os.path.join(home, "etc"))
    env = {"VPOPMAIL_HOME": home, "QMAILDIR": qmail, "PATH": "/usr/bin:/bin"}
    return env


def spawn(env, *args):
    devnull = os.open(os.devnull, os.O_WRONLY)
    t0 = time.perf_counter()
    pid = os.posix_spawn(BIN, [BIN, *args], env, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)] if not os.environ.get("BENCH_VERBOSE") else [])
    _, status = os.waitpid(pid, 0)
    t1 = time.perf_counter()
    os.close(devnull)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {args}")
    return t1 - t0


def bulk(env, base, domain, n, prefix):
    path = os.path.join(base, f"{prefix}.txt")
    with open(path, "w") as f:
        for i in range(n):
            f.write(f"{prefix}{i}@{domain}:{HASH}\n")
    return spawn(env, "vadduser", "-f", path)


def ms(xs):
    return f"{statistics.median(xs) * 1000:.2f} ms (min {min(xs) * 1000:.2f}, max {max(xs) * 1000:.2f}, {len(xs)} runs)"


def main():
    base = tempfile.mkdtemp(prefix="vpopbench-", dir=os.environ.get("BENCH_DIR", "/var/tmp"))
    os.chmod(base, 0o755)
    try:
        env = site(base)
        results = {}
        for size in (100, 10000):
            dom = f"d{size}.example.com"
            spawn(env, "vadddomain", dom, "pw")
            bulk(env, base, dom, size - 1, f"pre{size}-")
            # warm-up
            spawn(env, "vadduser", f"warm@{dom}", "secret-pw")
            t = [spawn(env, "vadduser", f"new{i}@{dom}", "secret-pw") for i in range(RUNS)]
            results[size] = t
            print(f"vadduser into a domain of {size:>6} users: median {ms(t)}")
        spawn(env, "vuserinfo", "pre10000-5000@d10000.example.com")
        t = [spawn(env, "vuserinfo", f"pre10000-{i * 300}@d10000.example.com") for i in range(RUNS)]
        print(f"vuserinfo in a domain of  10000 users: median {ms(t)}")
        spawn(env, "vadddomain", "bulk.example.com", "pw")
        secs = bulk(env, base, "bulk.example.com", BULK, "b")
        print(f"bulk import of {BULK} pre-hashed accounts: {secs:.2f} s ({BULK / secs:,.0f} accounts/s)")
        floor_bin = os.path.join(base, "floor")
        if subprocess.run(["cc", "-O2", "-o", floor_bin, os.path.join(ROOT, "bench/floor.c")]).returncode == 0:
            fdir = os.path.join(base, "floor-tree")
            os.mkdir(fdir)
            floor = float(subprocess.run([floor_bin, fdir, str(BULK)], capture_output=True, text=True, check=True).stdout)
            print(f"  file-system floor, the same {BULK * 6} inodes from C, one thread: {floor:.2f} s; ratio {secs / floor:.2f}")
        m10k = statistics.median(results[10000]) * 1000
        print(f"ratio to upstream 5.6 at 10,000 users (228 ms): {m10k / 228:.3f}  (target <= 23 ms: {'met' if m10k <= 23 else 'NOT met'})")
        print(f"bulk target (< 10 s for 100,000): {'met' if secs < 10 or BULK != 100000 else 'NOT met'}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
