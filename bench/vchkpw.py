#!/usr/bin/env python3
"""vchkpw benchmark: one POP login (exec to exit of the exec'd program, SHA-512 hash) into a
domain of 100,000 users, beside bench/chkpw_floor.c (a minimal C checkpassword doing the same
look-ups, crypt call, uid switch and exec), in alternating batches; median, ratio, peak memory."""
import os, statistics, subprocess, sys, time
from common import big_domain_site, build_floor, paired, ms, cleanup

USERS = int(os.environ.get("BENCH_USERS", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
BATCH = int(os.environ.get("BENCH_BATCH", "40"))
PROG = "/bin/true"


def main():
    base, home, qmail, _ = big_domain_site("vchkpwbench-", USERS, ["vchkpw"])
    try:
        # BENCH_CONF: lines added to vpopmail.conf (say "throttle = n" to see what throttling costs).
        if os.environ.get("BENCH_CONF"):
            with open(os.path.join(home, "etc/vpopmail.conf"), "a") as f:
                f.write(os.environ["BENCH_CONF"].replace("\\n", "\n") + "\n")
        env = {"VPOPMAIL_HOME": home, "QMAILDIR": qmail, "PATH": "/usr/bin:/bin", "TCPLOCALPORT": "110",
               "TCPREMOTEIP": "192.0.2.1"}
        floor = build_floor(base, "chkpw_floor.c", "-lcrypt")
        inp = os.path.join(base, "input")
        with open(inp, "wb") as f:
            f.write(b"joe@big.example.com\0s3cret-pass\0<1.2@bench>\0")
        ours = os.path.join(home, "bin/vchkpw")

        def once(binary):
            t0 = time.perf_counter()
            pid = os.posix_spawn(binary, [binary, PROG], env, file_actions=[(os.POSIX_SPAWN_OPEN, 3, inp, os.O_RDONLY, 0)])
            _, st = os.waitpid(pid, 0)
            t = time.perf_counter() - t0
            if os.waitstatus_to_exitcode(st) != 0:
                sys.exit(f"{binary} failed: {os.waitstatus_to_exitcode(st)}")
            return t

        a, b, ratios = paired(lambda: once(ours), lambda: once(floor), ROUNDS, BATCH, 20)
        rss = lambda binary: subprocess.run(["/usr/bin/time", "-f", "%M", "sh", "-c", f"exec 3<{inp}; exec {binary} {PROG}"],
                                            env=env, capture_output=True, text=True).stderr.strip().splitlines()[-1]
        print(f"vchkpw POP login, SHA-512, domain of {USERS} users: median {ms(a)}, peak RSS {rss(ours)} KB")
        print(f"minimal C checkpassword (static, same work):       median {ms(b)}, peak RSS {rss(floor)} KB")
        r = statistics.median(ratios)
        print(f"ratio vchkpw / C floor: median of {ROUNDS} paired batches {r:.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}); target <= 1.10: {'met' if r <= 1.10 else 'NOT met'}")
    finally:
        cleanup(base)


if __name__ == "__main__":
    main()
