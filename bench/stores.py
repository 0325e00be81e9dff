#!/usr/bin/env python3
"""Account stores benchmark: a domain of 100,000 users in each store (cdb, SQLite, MariaDB,
PostgreSQL). Prints the rate of `vconvert` from cdb into each SQL store, then per store the
median time of one vchkpw POP login (exec to exit of the exec'd program, SHA-512) and of one
`vuserinfo`. The SQL servers are the ones scripts/sqlservers.sh starts (bench/run starts them)."""
import os, statistics, subprocess, sys, time
from common import big_domain_site, ms, cleanup, sql_server, REL

USERS = int(os.environ.get("BENCH_USERS", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "200"))
SQLDIR = os.environ.get("SQLDIR", "/tmp/vpop-sql")


def main():
    base, home, qmail, _ = big_domain_site("storesbench-", USERS, ["vchkpw", "vchkpw-mysql", "vchkpw-pgsql", "vchkpw-sqlite"])
    try:
        env = {"VPOPMAIL_HOME": home, "QMAILDIR": qmail, "PATH": "/usr/bin:/bin"}
        conf = os.path.join(home, "etc/vpopmail.conf")
        db = f"vpbench_{os.getpid()}"
        my = sql_server("VPOP_TEST_MYSQL", SQLDIR).split("|")
        pg = sql_server("VPOP_TEST_PGSQL", SQLDIR).split("|")
        with open(os.path.join(home, "etc/vpopmail.mysql"), "w") as f:
            f.write("|".join(my) + f"|{db}\n")
        with open(os.path.join(home, "etc/vpopmail.pgsql"), "w") as f:
            f.write("|".join(pg) + f"|{db}\n")
        subprocess.run(["psql", "-q", "-h", pg[0], "-p", pg[1], "-U", pg[2], "-d", "postgres", "-c", f"CREATE DATABASE {db}"], check=True)
        admin = os.path.join(REL, "vpopmail")
        inp = os.path.join(base, "input")
        with open(inp, "wb") as f:
            f.write(b"joe@big.example.com\0s3cret-pass\0\0")
        vchkpw = os.path.join(home, "bin/vchkpw")
        lenv = dict(env, TCPLOCALPORT="110", TCPREMOTEIP="192.0.2.1")

        def login():
            t0 = time.perf_counter()
            pid = os.posix_spawn(vchkpw, [vchkpw, "/bin/true"], lenv, file_actions=[(os.POSIX_SPAWN_OPEN, 3, inp, os.O_RDONLY, 0)])
            _, st = os.waitpid(pid, 0)
            t = time.perf_counter() - t0
            if os.waitstatus_to_exitcode(st) != 0:
                sys.exit(f"vchkpw failed: {os.waitstatus_to_exitcode(st)}")
            return t

        def userinfo():
            t0 = time.perf_counter()
            subprocess.run([admin, "vuserinfo", "joe@big.example.com"], env=env, check=True, stdout=subprocess.DEVNULL)
            return time.perf_counter() - t0

        results = []
        for store in ["cdb", "sqlite", "mysql", "pgsql"]:
            with open(conf, "w") as f:
                f.write(f"auth-module = {store}\n")
            if store != "cdb":
                t0 = time.perf_counter()
                subprocess.run([admin, "vconvert", "-q", "-c", "--to", store], env=env, check=True, stdout=subprocess.DEVNULL)
                t = time.perf_counter() - t0
                print(f"vconvert cdb -> {store:6}: {USERS} accounts in {t:.2f} s = {USERS / t:,.0f} accounts/s")
            for _ in range(20):
                login(); userinfo()
            a = [login() for _ in range(RUNS)]
            b = [userinfo() for _ in range(RUNS // 2)]
            results.append((store, a, b))
        for store, a, b in results:
            print(f"{store:6} {USERS} users: vchkpw login median {ms(a)}; vuserinfo median {ms(b)}")
        mysql_drop = ["mariadb", "--no-defaults", "-h", my[0], "-P", my[1], "-u", my[2], f"-p{my[3]}", "-e", f"DROP DATABASE IF EXISTS {db}"]
        subprocess.run(mysql_drop, check=False)
        subprocess.run(["psql", "-q", "-h", pg[0], "-p", pg[1], "-U", pg[2], "-d", "postgres", "-c", f"DROP DATABASE {db}"], check=False)
    finally:
        cleanup(base)


if __name__ == "__main__":
    main()
