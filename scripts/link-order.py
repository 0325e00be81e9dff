#!/usr/bin/env python3
"""Regenerates layout/<program>.order, the link order of vchkpw and vdelivermail.

Both programs run once per login and once per message, and most of their start-up time beyond
the work itself is page faults: every 64 KiB window of the 6 MB static binary that the run
touches costs one, and so does every page of data. lld's --symbol-ordering-file puts the
functions and variables a run uses next to each other (Package.swift passes the file), so a
run touches a handful of windows instead of about fifty.

This script runs the built program under valgrind's lackey (every instruction and data address
of one run) on its normal path, maps the addresses to symbols of the binary, and writes them in
this order: functions that have their own section (our code, the C++ runtime, libc), then
variables that have their own section, then functions of the standard library's one big .text
section (they cannot move, listing them only places that section after the hot ones).

    swift build -c release --product vchkpw && swift build -c release --product vdelivermail
    python3 scripts/link-order.py            # needs valgrind; run as root (vpopmail user)
    rm .build/release/vchkpw .build/release/vdelivermail   # SwiftPM does not see the .order
    swift build -c release --product vchkpw && swift build -c release --product vdelivermail

A stale file only costs speed: lld skips names it does not find (--no-warn-symbol-ordering).
"""
import bisect, os, re, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from common import big_domain_site, cleanup  # noqa: E402

SWIFT_CORE = "/opt/swift/usr/lib/swift_static/linux/libswiftCore.a"
# Sections whose order means something (constructor lists, metadata tables, TLS): never moved.
KEEP = re.compile(r"^(\.init_array|\.fini_array|\.preinit_array|\.tdata|\.tbss|\.got|\.got\.plt|swift5_|\.eh_frame|\.gcc_except)")


def lackey_addresses(argv, env, fds, cwd=None, ids=None):
    """Instruction and data addresses of one run (the log pipe survives the uid switch)."""
    r, w = os.pipe()
    cmd = ["valgrind", "--tool=lackey", "--trace-mem=yes", f"--log-fd={w}", *argv]
    pre = None
    if ids:
        def pre():
            os.setgid(ids[1]); os.setuid(ids[0])
    p = subprocess.Popen(cmd, env=env, cwd=cwd, pass_fds=(w, *fds.keys()), preexec_fn=pre,
                         stdin=fds.get(0, subprocess.DEVNULL), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    code, data = set(), set()
    with os.fdopen(r, "rb", buffering=1 << 20) as f:
        for line in f:
            if line[:1] == b"I":
                code.add(int(line[3:].split(b",")[0], 16))
            elif line[:1] == b" ":
                data.add(int(line[3:].split(b",")[0], 16))
    p.wait()
    return code, data


def symbols(binary):
    out = subprocess.run(["nm", "-n", "-S", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    syms = []
    for l in out.splitlines():
        p = l.split()
        if len(p) == 4 and int(p[1], 16) > 0:
            syms.append((int(p[0], 16), int(p[1], 16), p[3], p[2]))
    syms.sort()
    return syms


def sections(binary):
    out = subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True, check=True).stdout
    secs = []
    for m in re.finditer(r"\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", out):
        addr, size = int(m.group(2), 16), int(m.group(3), 16)
        if addr:
            secs.append((addr, size, m.group(1)))
    return secs


def big_text_symbols():
    """Functions in the standard library's single .text section (Swift.o, section 2)."""
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["ar", "x", SWIFT_CORE, "Swift.o"], cwd=d, check=True)
        out = subprocess.run(["readelf", "-sW", os.path.join(d, "Swift.o")], capture_output=True, text=True, check=True).stdout
    return {p[7] for p in (l.split() for l in out.splitlines()) if len(p) >= 8 and p[6] == "2"}


def order(binary, runs):
    syms, secs = symbols(binary), sections(binary)
    starts = [s[0] for s in syms]
    names = {s[2] for s in syms}

    def section_of(a):
        for addr, size, name in secs:
            if addr <= a < addr + size:
                return name
        return None

    def hit(addresses):
        found = {}
        for a in addresses:
            i = bisect.bisect_right(starts, a) - 1
            if i >= 0 and syms[i][0] <= a < syms[i][0] + syms[i][1]:
                found.setdefault(syms[i][2], syms[i])
        return found

    code, data = set(), set()
    for c, d in runs:
        code |= c
        data |= d
    funcs = hit(code)
    # valgrind's CPU has no AVX-512: add the variants glibc picks on the real machine.
    for n in list(funcs):
        for a, b in (("_avx2", "_evex"), ("_avx2", "_avx512"), ("_avx", "_avx512"), ("_avx", "_evex")):
            v = n.replace(a, b, 1)
            if v != n and v in names:
                funcs.setdefault(v, None)
    big = big_text_symbols()
    variables = {n: s for n, s in hit(data).items() if s[3].lower() in "bdrgv"}
    at = lambda n: funcs[n][0] if funcs[n] else 0
    first = sorted((n for n in funcs if n not in big), key=lambda n: (at(n), n))
    last = sorted((n for n in funcs if n in big), key=lambda n: (at(n), n))
    vars_ = [n for n, s in sorted(variables.items(), key=lambda kv: kv[1][0])
             if (sec := section_of(s[0])) and not KEEP.match(sec)]
    return first + vars_ + last


def vchkpw_runs(home, qmail, base):
    binary = os.path.join(home, "bin/vchkpw")
    env = {"VPOPMAIL_HOME": home, "QMAILDIR": qmail, "PATH": "/usr/bin:/bin", "TCPREMOTEIP": "192.0.2.1"}
    runs = []
    for port, password in (("110", b"s3cret-pass"), ("143", b"s3cret-pass"), ("110", b"wrong")):
        inp = os.path.join(base, "input")
        with open(inp, "wb") as f:
            f.write(b"joe@big.example.com\0" + password + b"\0<1.2@bench>\0")
        fd = os.open(inp, os.O_RDONLY)
        os.dup2(fd, 3)
        # A program that cannot be exec'd: the run ends in vchkpw, so lackey sees all of it.
        runs.append(lackey_addresses([binary, "/nonexistent"], dict(env, TCPLOCALPORT=port), {3: 3}))
        os.close(fd)
    return binary, runs


def vdelivermail_runs(home, qmail, base, ddir):
    binary = os.path.join(home, "bin/vdelivermail")
    msg = os.path.join(base, "msg")
    with open(msg, "w") as f:
        f.write("Received: from remote.test\nSubject: bench\n\n" + ("x" * 76 + "\n") * 52)
    st = os.stat(ddir)
    runs = []
    for ext in ("joe", "nobody"):
        env = {"EXT": ext, "HOST": "big.example.com", "LOCAL": "big.example.com-" + ext, "SENDER": "a@remote.test",
               "RPLINE": "Return-Path: <a@remote.test>\n",
               "DTLINE": f"Delivered-To: big.example.com-{ext}@big.example.com\n",
               "PATH": "/usr/bin:/bin", "QMAILDIR": qmail}
        fd = os.open(msg, os.O_RDONLY)
        runs.append(lackey_addresses([binary, "", "bounce-no-mailbox"], env, {0: fd}, cwd=ddir, ids=(st.st_uid, st.st_gid)))
        os.close(fd)
    return binary, runs


def main():
    programs = sys.argv[1:] or ["vchkpw", "vdelivermail"]
    base, home, qmail, ddir = big_domain_site("linkorder-", 1000, programs)
    try:
        for p in programs:  # valgrind cannot read the DWARF of these binaries; symbols stay
            subprocess.run(["strip", "--strip-debug", os.path.join(home, "bin", p)], check=True)
        os.makedirs(os.path.join(ROOT, "layout"), exist_ok=True)
        for p in programs:
            binary, runs = vchkpw_runs(home, qmail, base) if p == "vchkpw" else vdelivermail_runs(home, qmail, base, ddir)
            names = order(binary, runs)
            with open(os.path.join(ROOT, "layout", p + ".order"), "w") as f:
                f.write("\n".join(names) + "\n")
            print(f"layout/{p}.order: {len(names)} symbols")
    finally:
        cleanup(base)


if __name__ == "__main__":
    main()
