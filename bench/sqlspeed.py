#!/usr/bin/env python3
"""SQL logins and deliveries against cdb: one installation, one domain of BENCH_USERS accounts
(default 10,000) in each store, the same account logging in (vchkpw, POP, SHA-512) and receiving
a 4 KiB message (vdelivermail, as the domain's owner, in the domain directory). Each store is
measured through bin/vchkpw and bin/vdelivermail as a site runs them (they hand over to the
store's twin) and through the twin named directly; stores alternate batch by batch so that the
machine's drift falls on all of them. Prints medians and each ratio to cdb against the issue's
targets: MariaDB and SQLite within 1.5x, PostgreSQL within 2x (directly, and through pgbouncer
when it is installed). MariaDB is reached on its Unix socket, as a mail host next to its database
(or a local Galera node) would; PostgreSQL on its socket directory."""
import os, shutil, statistics, subprocess, sys, time
from common import big_domain_site, cleanup, sql_server, timed_exec, REL

USERS = int(os.environ.get("BENCH_USERS", "10000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "12"))
BATCH = int(os.environ.get("BENCH_BATCH", "15"))
SQLDIR = os.environ.get("SQLDIR", "/tmp/vpop-sql")
TARGET = {"sqlite": 1.5, "mysql": 1.5, "pgsql": 2.0, "pgbouncer": 2.0}


def start_pgbouncer(base, pg, db):
    """pgbouncer in front of the PostgreSQL server, on its own socket directory; None when
    pgbouncer is not installed."""
    exe = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.path.exists(exe):
        return None
    d = os.path.join(base, "pgbouncer")
    os.makedirs(d)
    shutil.chown(d, "postgres", "postgres")
    ini = os.path.join(d, "pgbouncer.ini")
    with open(ini, "w") as f:
        f.write(f"""[databases]
{db} = host={pg[0]} port={pg[1]} dbname={db}
[pgbouncer]
listen_addr =
unix_socket_dir = {d}
listen_port = 16432
auth_type = trust
auth_file = {d}/users.txt
pool_mode = transaction
ignore_startup_parameters = options
max_client_conn = 200
default_pool_size = 4
logfile = {d}/pgbouncer.log
pidfile = {d}/pgbouncer.pid
""")
    with open(os.path.join(d, "users.txt"), "w") as f:
        f.write(f'"{pg[2]}" "{pg[3]}"\n')
    subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", f"{exe} -d {ini}"], check=True)
    for _ in range(50):
        if os.path.exists(os.path.join(d, ".s.PGSQL.16432")):
            return d
        time.sleep(0.1)
    sys.exit("pgbouncer did not start")


def main():
    programs = ["vchkpw", "vdelivermail"] + [f"{p}-{s}" for p in ("vchkpw", "vdelivermail", "vpopmail") for s in ("mysql", "pgsql", "sqlite")]
    base, home, qmail, ddir = big_domain_site("sqlspeed-", USERS, programs)
    bouncer = None
    try:
        env = {"VPOPMAIL_HOME": home, "QMAILDIR": qmail, "PATH": "/usr/bin:/bin"}
        conf = os.path.join(home, "etc/vpopmail.conf")
        db = f"vpspeed_{os.getpid()}"
        my = sql_server("VPOP_TEST_MYSQL", SQLDIR).split("|")
        pg = sql_server("VPOP_TEST_PGSQL", SQLDIR).split("|")
        mysock = os.path.join(SQLDIR, "primary/mysqld.sock")
        pgsock = os.path.join(SQLDIR, "pg")
        with open(os.path.join(home, "etc/vpopmail.mysql"), "w") as f:
            f.write(f"localhost|{mysock}|{my[2]}|{my[3]}|{db}\n")
        subprocess.run(["psql", "-q", "-h", pg[0], "-p", pg[1], "-U", pg[2], "-d", "postgres", "-c", f"CREATE DATABASE {db}"], check=True)
        bouncer = start_pgbouncer(base, pg, db)
        pglines = {"pgsql": f"{pgsock}|{pg[1]}|{pg[2]}|{pg[3]}|{db}\n"}
        if bouncer:
            pglines["pgbouncer"] = f"{bouncer}|16432|{pg[2]}|{pg[3]}|{db}\n"
        admin = os.path.join(REL, "vpopmail")
        for store in ("sqlite", "mysql", "pgsql"):
            with open(conf, "w") as f:
                f.write(f"auth-module = {store}\n")
            with open(os.path.join(home, "etc/vpopmail.pgsql"), "w") as f:
                f.write(pglines["pgsql"])
            subprocess.run([admin, "vconvert", "-q", "-c", "--to", store], env=env, check=True, stdout=subprocess.DEVNULL)

        inp = os.path.join(base, "login")
        with open(inp, "wb") as f:
            f.write(b"joe@big.example.com\0s3cret-pass\0\0")
        msg = os.path.join(base, "msg")
        with open(msg, "w") as f:
            f.write("Received: from remote.test\nSubject: bench\n\n" + ("x" * 76 + "\n") * 52)
        lenv = dict(env, TCPLOCALPORT="110", TCPREMOTEIP="192.0.2.1")
        denv = dict(env, EXT="joe", HOST="big.example.com", LOCAL="big.example.com-joe", SENDER="a@remote.test",
                    RPLINE="Return-Path: <a@remote.test>\n", DTLINE="Delivered-To: big.example.com-joe@big.example.com\n")
        def login(prog):
            return lambda: timed_exec([os.path.join(home, "bin", prog), "/bin/true"], lenv, 3, inp)

        def deliver(prog):
            return lambda: timed_exec([os.path.join(home, "bin", prog), "", "delete"], denv, 0, msg, ddir)

        cases = [("cdb", "cdb", "")]
        for s in ("sqlite", "mysql", "pgsql") + (("pgbouncer",) if bouncer else ()):
            module = "pgsql" if s == "pgbouncer" else s
            cases += [(s, module, ""), (s, module, "-" + module)]

        def configure(label, module):
            with open(conf, "w") as f:
                f.write(f"auth-module = {module}\nthrottle = n\n")
            if module == "pgsql":
                with open(os.path.join(home, "etc/vpopmail.pgsql"), "w") as f:
                    f.write(pglines[label])

        times = {}
        for kind, fn in (("login", login), ("delivery", deliver)):
            for label, module, suffix in cases:
                configure(label, module)
                prog = ("vchkpw" if kind == "login" else "vdelivermail") + suffix
                run = fn(prog)
                for _ in range(5):
                    run()
                times[(kind, label, suffix)] = []
            for _ in range(ROUNDS):
                for label, module, suffix in cases:
                    configure(label, module)
                    run = fn(("vchkpw" if kind == "login" else "vdelivermail") + suffix)
                    times[(kind, label, suffix)] += [run() for _ in range(BATCH)]
        print(f"SQL stores against cdb, {USERS} accounts in the domain, medians of {ROUNDS * BATCH} runs:")
        for kind in ("login", "delivery"):
            floor = statistics.median(times[(kind, "cdb", "")])
            print(f"  {kind:8} cdb {floor * 1000:.3f} ms")
            for label, module, suffix in cases[1:]:
                m = statistics.median(times[(kind, label, suffix)])
                r = m / floor
                how = (("vchkpw" if kind == "login" else "vdelivermail") + suffix) if suffix else ("bin/" + ("vchkpw" if kind == "login" else "vdelivermail"))
                verdict = "met" if r <= TARGET[label] else "NOT met"
                print(f"  {kind:8} {label:9} {m * 1000:7.3f} ms  {r:.2f}x cdb (target {TARGET[label]}x: {verdict})  via {how}")
        subprocess.run(["mariadb", "--no-defaults", "-S", mysock, "-u", my[2], f"-p{my[3]}", "-e", f"DROP DATABASE IF EXISTS {db}"], check=False)
    finally:
        if bouncer:
            subprocess.run(["sh", "-c", f"kill $(cat {bouncer}/pgbouncer.pid)"], check=False)
            time.sleep(0.3)
        subprocess.run(["psql", "-q", "-h", pg[0], "-p", pg[1], "-U", pg[2], "-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {db}"], check=False)
        cleanup(base)


if __name__ == "__main__":
    main()
