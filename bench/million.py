#!/usr/bin/env python3
"""A million accounts in one SQL domain. Fills big.example.com with BENCH_MILLION accounts
(default 1,000,000) in MariaDB (vconvert from cdb: batched multi-row inserts, one transaction per
batch) and prints the import rate (target: at least 20,000 accounts/s), then the medians of
vadduser (a new account), vchkpw (a POP login) and vdelivermail (a 4 KiB message) in that domain
against the same in a domain of 1,000 (target: within 1.2x). On cdb the same at BENCH_CDB users
(default 100,000), where vadduser rewrites vpasswd and its cdb and so grows with the domain."""
import os, statistics, subprocess, sys, time
from common import add_domain, big_domain_site, cleanup, sql_server, timed_exec, REL

MILLION = int(os.environ.get("BENCH_MILLION", "1000000"))
CDB_USERS = int(os.environ.get("BENCH_CDB", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "60"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "6"))
SQLDIR = os.environ.get("SQLDIR", "/tmp/vpop-sql")


def measure(label, base, home, qmail, module, domains):
    env = {"VPOPMAIL_HOME": home, "QMAILDIR": qmail, "PATH": "/usr/bin:/bin"}
    with open(os.path.join(home, "etc/vpopmail.conf"), "w") as f:
        f.write(f"auth-module = {module}\nthrottle = n\n")
    msg = os.path.join(base, "msg")
    with open(msg, "w") as f:
        f.write("Received: from remote.test\nSubject: bench\n\n" + ("x" * 76 + "\n") * 52)
    admin = os.path.join(REL, "vpopmail")

    runs = {}
    for name, ddir, size in domains:
        login = os.path.join(base, f"login-{name}")
        with open(login, "wb") as f:
            f.write(f"joe@{name}\0s3cret-pass\0\0".encode())
        lenv = dict(env, TCPLOCALPORT="110", TCPREMOTEIP="192.0.2.1")
        denv = dict(env, EXT="joe", HOST=name, LOCAL=f"{name}-joe", SENDER="a@remote.test", RPLINE="Return-Path: <a@remote.test>\n",
                    DTLINE=f"Delivered-To: {name}-joe@{name}\n")
        vchkpw = [os.path.join(home, "bin/vchkpw"), "/bin/true"]
        deliver = [os.path.join(home, "bin/vdelivermail"), "", "delete"]
        added = iter(range(10**6))
        runs[(name, "vadduser")] = lambda name=name, added=added: timed_exec([admin, "vadduser", "-e", "x$1$abc", f"new{next(added):06d}@{name}"], env)
        runs[(name, "vchkpw")] = lambda vchkpw=vchkpw, lenv=lenv, login=login: timed_exec(vchkpw, lenv, 3, login)
        runs[(name, "vdelivermail")] = lambda deliver=deliver, denv=denv, ddir=ddir: timed_exec(deliver, denv, 0, msg, ddir)
    for run in runs.values():
        for _ in range(3):
            run()
    # Alternating batches, small domain and big, so that the machine's drift falls on both.
    res = {k: [] for k in runs}
    for _ in range(ROUNDS):
        for k, run in runs.items():
            res[k] += [run() for _ in range(max(1, RUNS // ROUNDS))]
    (small, _, n_small), (big, _, n_big) = domains
    for what in ("vadduser", "vchkpw", "vdelivermail"):
        a = statistics.median(res[(small, what)])
        b = statistics.median(res[(big, what)])
        r = b / a
        print(f"{label:8} {what:12} {n_small:>9,} users {a * 1000:8.3f} ms   {n_big:>9,} users {b * 1000:8.3f} ms   "
              f"{r:.2f}x (target 1.2x: {'met' if r <= 1.2 else 'NOT met'})")


def main():
    programs = ["vchkpw", "vdelivermail", "vpopmail-mysql"]
    # MariaDB, a million accounts.
    base, home, qmail, ddir = big_domain_site("million-", MILLION, programs)
    db = f"vpmillion_{os.getpid()}"
    my = sql_server("VPOP_TEST_MYSQL", SQLDIR).split("|")
    mysock = os.path.join(SQLDIR, "primary/mysqld.sock")
    try:
        small = add_domain(home, qmail, "small.example.com", 1000)
        with open(os.path.join(home, "etc/vpopmail.mysql"), "w") as f:
            f.write(f"localhost|{mysock}|{my[2]}|{my[3]}|{db}\n")
        env = {"VPOPMAIL_HOME": home, "QMAILDIR": qmail, "PATH": "/usr/bin:/bin"}
        with open(os.path.join(home, "etc/vpopmail.conf"), "w") as f:
            f.write("auth-module = mysql\n")
        t0 = time.perf_counter()
        subprocess.run([os.path.join(REL, "vpopmail"), "vconvert", "-q", "-c", "--to", "mysql", "big.example.com"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        t = time.perf_counter() - t0
        rate = MILLION / t
        print(f"import   {MILLION:,} accounts into MariaDB (vconvert, one domain) in {t:.1f} s = {rate:,.0f} accounts/s "
              f"(target 20,000: {'met' if rate >= 20000 else 'NOT met'})")
        subprocess.run([os.path.join(REL, "vpopmail"), "vconvert", "-q", "-c", "--to", "mysql", "small.example.com"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        # The server writes the imported pages out in the background: measure once it is done.
        settle = ["mariadb", "--no-defaults", "-S", mysock, "-u", my[2], f"-p{my[3]}", "-N", "-B", "-e",
                  "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'"]
        for _ in range(120):
            out = subprocess.run(settle, capture_output=True, text=True).stdout.split()
            if len(out) == 2 and int(out[1]) < 100:
                break
            time.sleep(1)
        measure("mariadb", base, home, qmail, "mysql", [("small.example.com", small, 1000), ("big.example.com", ddir, MILLION)])
        subprocess.run(["mariadb", "--no-defaults", "-S", mysock, "-u", my[2], f"-p{my[3]}", "-e", f"DROP DATABASE IF EXISTS {db}"], check=False)
    finally:
        cleanup(base)
    # cdb, CDB_USERS accounts.
    base, home, qmail, ddir = big_domain_site("million-cdb-", CDB_USERS, programs)
    try:
        small = add_domain(home, qmail, "small.example.com", 1000)
        measure("cdb", base, home, qmail, "cdb", [("small.example.com", small, 1000), ("big.example.com", ddir, CDB_USERS)])
    finally:
        cleanup(base)


if __name__ == "__main__":
    main()
