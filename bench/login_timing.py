#!/usr/bin/env python3
"""Does a login's time tell whether the account exists? vchkpw with a wrong password for an
existing account against the same for an unknown user (and an unknown domain, and an account
without a password), in alternating batches, in a domain of BENCH_USERS accounts hashed with the
configured scheme (SHA-512). Prints the medians and their ratios; target 0.95-1.05."""
import os, statistics, sys, time
from common import big_domain_site, paired, ms, cleanup

USERS = int(os.environ.get("BENCH_USERS", "10000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
BATCH = int(os.environ.get("BENCH_BATCH", "30"))


def main():
    base, home, qmail, ddir = big_domain_site("logintiming-", USERS, ["vchkpw"])
    try:
        # Throttling would slow the repeated failures down: off for the measurement.
        with open(os.path.join(home, "etc/vpopmail.conf"), "a") as f:
            f.write("throttle = n\n")
        # An account without a password (hash field empty).
        with open(os.path.join(ddir, "vpasswd")) as f:
            lines = f.read().splitlines()
        lines.append(f"nopass::1:0:nopass:{ddir}/nopass:NOQUOTA")
        with open(os.path.join(ddir, "vpasswd"), "w") as f:
            f.write("\n".join(sorted(lines, key=lambda l: l.split(":")[0].encode())) + "\n")
        import subprocess
        subprocess.run([os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".build/release/vpopmail"),
                        "vmkpasswd", "big.example.com"], env={"VPOPMAIL_HOME": home, "QMAILDIR": qmail}, check=True)
        env = {"VPOPMAIL_HOME": home, "QMAILDIR": qmail, "PATH": "/usr/bin:/bin", "TCPLOCALPORT": "110",
               "TCPREMOTEIP": "192.0.2.1"}
        ours = os.path.join(home, "bin/vchkpw")

        def runner(login):
            inp = os.path.join(base, "in-" + login.replace("@", "_"))
            with open(inp, "wb") as f:
                f.write(login.encode() + b"\0wrong-password\0\0")

            def once():
                t0 = time.perf_counter()
                pid = os.posix_spawn(ours, [ours, "/bin/true"], env, file_actions=[(os.POSIX_SPAWN_OPEN, 3, inp, os.O_RDONLY, 0)])
                _, st = os.waitpid(pid, 0)
                t = time.perf_counter() - t0
                if os.waitstatus_to_exitcode(st) not in (3, 15):
                    sys.exit(f"{login}: unexpected exit {os.waitstatus_to_exitcode(st)}")
                return t
            return once

        wrong = runner("joe@big.example.com")
        print(f"vchkpw, wrong password, domain of {USERS} users (SHA-512 hashes), {ROUNDS} paired batches of {BATCH}:")
        results = []
        for name, login in [("unknown user", "nobody@big.example.com"), ("unknown domain", "joe@nowhere.example"),
                            ("account without a password", "nopass@big.example.com")]:
            a, b, ratios = paired(runner(login), wrong, ROUNDS, BATCH, 10)
            r = statistics.median(ratios)
            results.append(r)
            print(f"  {name:28s} median {ms(a)}; existing account {ms(b)}; ratio {r:.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")
        ok = all(0.95 <= r <= 1.05 for r in results)
        print(f"target: every ratio within 0.95-1.05: {'met' if ok else 'NOT met'}")
    finally:
        cleanup(base)


if __name__ == "__main__":
    main()
