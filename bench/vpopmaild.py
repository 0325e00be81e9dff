#!/usr/bin/env python3
"""vpopmaild at 100,000 users (cdb): user_info requests per second over one connection, and
logins per second over new connections (connect, greeting, slogin, quit), through
`vpopmaild --listen` and, when ucspi-tcp is installed, under tcpserver as upstream runs it.
Upstream's vpopmaild is not on this machine, so there are no upstream figures."""
import os, random, shutil, socket, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import REL, big_domain_site, cleanup

USERS = int(os.environ.get("BENCH_VPOPMAILD_USERS", "100000"))
REQUESTS = int(os.environ.get("BENCH_VPOPMAILD_REQUESTS", "20000"))
LOGINS = int(os.environ.get("BENCH_VPOPMAILD_LOGINS", "500"))


def read_reply(f):
    """One reply: a line, or a +OK+ block to its '.'."""
    first = f.readline()
    if first != b"+OK+\r\n":
        return first
    while f.readline() != b".\r\n":
        pass
    return first


def wait_port(port):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


def pipelined(port, rng, window=32):
    """The same requests, `window` of them in flight at a time (a client that does not wait for
    each reply before sending the next)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rwb")
    assert f.readline() == b"+OK \r\n"
    f.write(b"slogin joe@big.example.com s3cret-pass\n"); f.flush()
    assert f.readline() == b"+OK \r\n", "login"
    t0 = time.perf_counter()
    for _ in range(REQUESTS // window):
        f.write(b"".join(f"user_info u{rng.randrange(USERS - 2):06d}@big.example.com\n".encode() for _ in range(window))); f.flush()
        for _ in range(window):
            assert read_reply(f) == b"+OK+\r\n"
    t = time.perf_counter() - t0
    f.write(b"quit\n"); f.flush(); f.readline(); s.close()
    return (REQUESTS // window) * window / t


def logins(port):
    times = []
    for _ in range(LOGINS):
        t0 = time.perf_counter()
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = s.makefile("rwb")
        assert f.readline() == b"+OK \r\n"
        f.write(b"slogin joe@big.example.com s3cret-pass\n"); f.flush()
        assert f.readline() == b"+OK \r\n"
        f.write(b"quit\n"); f.flush(); f.readline()
        s.close()
        times.append(time.perf_counter() - t0)
    return len(times) / sum(times), statistics.median(times)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    base, home, qmail, ddir = big_domain_site("vpopbench-vpopmaild-", USERS, ["vpopmaild", "vpopmaild-listener"])
    env = {"VPOPMAIL_HOME": home, "QMAILDIR": qmail, "PATH": "/usr/bin:/bin"}
    servers = []
    try:
        with open(os.path.join(home, "etc/vpopmail.conf"), "a") as f:
            f.write("throttle = n\n")
        subprocess.run([os.path.join(REL, "vpopmail"), "vmoduser", "-S", "joe@big.example.com"], env=env, check=True)
        rng = random.Random(7)
        port = free_port()
        servers.append(subprocess.Popen([os.path.join(home, "bin/vpopmaild"), "--listen", f"127.0.0.1:{port}",
                                         "--max-connections", "40"], env=env))
        wait_port(port)
        print(f"vpopmaild at {USERS} users (cdb)")
        client = os.path.join(base, "vpopmaild_client")
        subprocess.run(["cc", "-O2", "-o", client, os.path.join(os.path.dirname(os.path.abspath(__file__)), "vpopmaild_client.c")], check=True)
        floor_bin = os.path.join(base, "vpopmaild_floor")
        subprocess.run(["cc", "-O2", "-o", floor_bin, os.path.join(os.path.dirname(os.path.abspath(__file__)), "vpopmaild_floor.c")], check=True)
        fport = free_port()
        servers.append(subprocess.Popen([floor_bin, str(fport)]))
        wait_port(fport)
        # Paired rounds: vpopmaild, then the same C client against a server that answers at once
        # doing no work (what one connection's round trips cost here: this VM's is noisy).
        run = lambda p: float(subprocess.run([client, str(p), str(REQUESTS // 4), str(USERS - 2)], check=True,
                                             capture_output=True, text=True).stdout)
        rates, floor, ratios = [], [], []
        for _ in range(8):
            rates.append(run(port)); floor.append(run(fport)); ratios.append(rates[-1] / floor[-1])
        print(f"  user_info over one connection, one at a time (C client): {statistics.median(rates):,.0f} requests/s (best {max(rates):,.0f}); target >= 5,000")
        print(f"  the same client against a server doing no work (loopback floor): {statistics.median(floor):,.0f} requests/s;"
              f" vpopmaild / floor, median of 8 paired rounds: {statistics.median(ratios):.2f}")
        rates = [pipelined(port, rng) for _ in range(3)]
        print(f"  user_info over one connection, 32 in flight (Python):  {statistics.median(rates):,.0f} requests/s (best {max(rates):,.0f})")
        rate, med = logins(port)
        print(f"  logins over new connections (vpopmaild --listen): {rate:,.0f}/s, median {med * 1000:.2f} ms per connection")
        tcpserver = shutil.which("tcpserver")
        if tcpserver:
            tport = free_port()
            servers.append(subprocess.Popen([tcpserver, "-HRl0", "127.0.0.1", str(tport), os.path.join(home, "bin/vpopmaild")], env=env))
            wait_port(tport)
            rate, med = logins(tport)
            print(f"  logins over new connections (tcpserver):          {rate:,.0f}/s, median {med * 1000:.2f} ms per connection")
    finally:
        for p in servers:
            p.terminate()
            p.wait()
        cleanup(base)


main()
