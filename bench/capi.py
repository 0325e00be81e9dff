#!/usr/bin/env python3
"""libvpopmail: the cost of one vauth_getpw through the C API at 100,000 users (a C client, one
process per look-up) against the same look-up through `vuserinfo -n` (the command), and the
cost of a look-up inside one process (what qmailadmin pays per call after the first)."""
import os, random, statistics, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, REL, big_domain_site, cleanup, ms, paired, spawn

USERS = int(os.environ.get("BENCH_CAPI_USERS", "100000"))


def main():
    base, home, qmail, ddir = big_domain_site("vpopbench-capi-", USERS, [])
    try:
        with open(os.path.join(home, "etc/vpopmail.conf"), "a") as f:
            f.write(f"qmaildir = {qmail}\n")
        subprocess.run([os.path.join(ROOT, "scripts/libvpopmail.sh"), REL, home, qmail], check=True)
        client = os.path.join(base, "capi_getpw")
        inc = open(os.path.join(home, "etc/inc_deps")).read().split()
        lib = open(os.path.join(home, "etc/lib_deps")).readline().split()
        subprocess.run(["gcc", "-O2", *inc, "-o", client, os.path.join(ROOT, "bench/capi_getpw.c"), *lib], check=True)
        env = {"VPOPMAIL_HOME": home, "QMAILDIR": qmail, "PATH": "/usr/bin:/bin"}
        vuserinfo = os.path.join(REL, "vpopmail")
        rng = random.Random(7)
        pick = lambda: f"u{rng.randrange(USERS - 2):06d}"
        c_times, v_times, ratios = paired(
            lambda: spawn([client, pick(), "big.example.com"], env),
            lambda: spawn([vuserinfo, "vuserinfo", "-n", pick() + "@big.example.com"], env),
            rounds=10, batch=20, warmup=10)
        # vuserinfo is the multi-call binary: argv[0] picks the command.
        per_call = [float(subprocess.run([client, "-n", "20000", "big.example.com", str(USERS - 2)], env=env, check=True,
                                         capture_output=True, text=True).stdout) for _ in range(5)]
        print(f"libvpopmail vauth_getpw at {USERS} users (cdb)")
        print(f"  C client, one process per look-up: {ms(c_times)}")
        print(f"  vuserinfo -n, one process:          {ms(v_times)}")
        print(f"  ratio C client / vuserinfo (median of {len(ratios)} paired batches): {statistics.median(ratios):.3f}")
        print(f"  in one process, per call (20,000 random users): {statistics.median(per_call):.2f} us (min {min(per_call):.2f})")
    finally:
        cleanup(base)


main()
