"""Shared by the vchkpw and vdelivermail benchmarks: a site with one big domain, a C floor
built from bench/*.c, and alternating (paired) batches of runs."""
import os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(ROOT, ".build/release")


def big_domain_site(prefix, users, programs):
    """A temporary installation with big.example.com: joe (password s3cret-pass) and users - 2
    more accounts as vpasswd lines (their homes are never touched). Returns (base, home, qmail, ddir)."""
    base = tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("BENCH_DIR", "/var/tmp"))
    os.chmod(base, 0o755)
    home, qmail = os.path.join(base, "home"), os.path.join(base, "qmail")
    for d in ("home/bin", "home/etc", "home/domains", "qmail/users", "qmail/control"):
        os.makedirs(os.path.join(base, d))
    for p in programs:
        shutil.copy(os.path.join(REL, p), os.path.join(home, "bin", p))
    return base, home, qmail, add_domain(home, qmail, "big.example.com", users)


def add_domain(home, qmail, name, users):
    """Domain `name` with joe (password s3cret-pass) and users - 2 more accounts as vpasswd lines
    (their homes are never touched), in the cdb files. Returns its directory."""
    env = {"VPOPMAIL_HOME": home, "QMAILDIR": qmail, "PATH": "/usr/bin:/bin"}
    admin = os.path.join(REL, "vpopmail")
    run = lambda *a: subprocess.run([admin, *a], env=env, check=True, stdout=subprocess.DEVNULL)
    run("vadddomain", name, "pw")
    run("vadduser", f"joe@{name}", "s3cret-pass")
    ddir = os.path.join(home, "domains", name)
    existing = open(os.path.join(ddir, "vpasswd")).read().splitlines()
    hash_ = existing[0].split(":")[1]
    lines = set(existing)
    for i in range(users - len(existing)):
        lines.add(f"u{i:06d}:{hash_}:1:0:u{i}:{ddir}/x/u{i:06d}:NOQUOTA")
    with open(os.path.join(ddir, "vpasswd"), "w") as f:
        f.write("\n".join(sorted(lines, key=lambda l: l.split(":")[0].encode())) + "\n")
    run("vmkpasswd", name)
    return ddir


def build_floor(base, source, *libs, suffix="", defines=()):
    """Compiles bench/<source> statically; returns the binary's path."""
    out = os.path.join(base, os.path.splitext(source)[0] + suffix)
    subprocess.run(["cc", "-O2", "-static", *[f"-D{d}" for d in defines], "-o", out, os.path.join(ROOT, "bench", source), *libs],
                   check=True)
    return out


def paired(run_a, run_b, rounds, batch, warmup):
    """Alternating batches of A and B; returns (all A times, all B times, per-batch median ratios)."""
    for _ in range(warmup):
        run_a(); run_b()
    a_all, b_all, ratios = [], [], []
    for _ in range(rounds):
        a = [run_a() for _ in range(batch)]
        b = [run_b() for _ in range(batch)]
        a_all += a
        b_all += b
        ratios.append(statistics.median(a) / statistics.median(b))
    return a_all, b_all, ratios


def ms(xs):
    return f"{statistics.median(xs) * 1000:.3f} ms (min {min(xs) * 1000:.3f})"


def cleanup(base):
    shutil.rmtree(base, ignore_errors=True)


def spawn(argv, env):
    """Runs argv (argv[0] the program's path) with stdout to /dev/null; its time, spawn to exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
    _, status = os.waitpid(pid, 0)
    t1 = time.perf_counter()
    os.close(devnull)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {argv}")
    return t1 - t0


def sql_server(name, sqldir):
    """`host|port|user|password` of a server scripts/sqlservers.sh started ($SQLDIR/env)."""
    for line in open(os.path.join(sqldir, "env")):
        if line.startswith(name + "="):
            return line.strip().split("=", 1)[1]
    sys.exit(f"{name} missing from {sqldir}/env: start the servers (bench/run does)")


def timed_exec(argv, env, fd=None, path=None, owner_dir=None):
    """Runs argv with `path` open on descriptor `fd` (vchkpw's 3, vdelivermail's stdin), stdout
    to /dev/null, and (`owner_dir`) as that directory's owner inside it, as qmail-local runs a
    delivery; returns its time, fork to exit."""
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            if path:
                f = os.open(path, os.O_RDONLY)
                os.dup2(f, fd)
                os.set_inheritable(fd, True)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            if owner_dir:
                st = os.stat(owner_dir)
                os.chdir(owner_dir)
                os.setgid(st.st_gid)
                os.setuid(st.st_uid)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    _, status = os.waitpid(pid, 0)
    t = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv} failed: {os.waitstatus_to_exitcode(status)}")
    return t
