"""vpopmail-web under load (issue 16): wrk reads random accounts through the REST API
(GET /api/v1/domains/big.example.com/users/<user>, an API key on each request) in a domain of
100,000 accounts on the cdb files, and prints requests per second and the latency percentiles
(target: at least 2,000 requests/s with p99 under 20 ms). BENCH_WEB_USERS, BENCH_WEB_SECONDS,
BENCH_WEB_CONNECTIONS change the size, the time and the connections."""
import os, re, shutil, subprocess, sys, tempfile, time, urllib.request
from common import big_domain_site, cleanup, REL

USERS = int(os.environ.get("BENCH_WEB_USERS", "100000"))
SECONDS = int(os.environ.get("BENCH_WEB_SECONDS", "15"))
CONNECTIONS = int(os.environ.get("BENCH_WEB_CONNECTIONS", "16"))


def main():
    if not shutil.which("wrk"):
        sys.exit("bench/web.py needs wrk (apt-get install wrk)")
    base, home, qmail, ddir = big_domain_site("vpop-bench-web-", USERS, [])
    env = {"VPOPMAIL_HOME": home, "QMAILDIR": qmail, "PATH": "/usr/bin:/bin"}
    with open(os.path.join(home, "etc", "vpopmail.conf"), "w") as f:
        f.write("throttle = n\n")
    key = subprocess.run([os.path.join(REL, "vpopmail"), "vapikey", "-a", "-l", "bench"], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    port = 18090
    server = subprocess.Popen([os.path.join(REL, "vpopmail-web"), "--listen", "127.0.0.1:%d" % port], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=1).read()
                break
            except Exception:
                time.sleep(0.1)
        # Every account the script asks for exists (the vpasswd lines u000000 ...).
        script = os.path.join(base, "users.lua")
        with open(script, "w") as f:
            f.write('math.randomseed(16)\nrequest = function()\n'
                    '  return wrk.format("GET", string.format("/api/v1/domains/big.example.com/users/u%%06d", math.random(0, %d)))\n'
                    'end\n' % (USERS - 3))
        check = urllib.request.Request("http://127.0.0.1:%d/api/v1/domains/big.example.com/users/u000001" % port,
                                       headers={"Authorization": "Bearer " + key})
        assert b'"address":"u000001@big.example.com"' in urllib.request.urlopen(check).read()
        # Warm up, then measure.
        subprocess.run(["wrk", "-t2", "-c%d" % CONNECTIONS, "-d3s", "-s", script, "-H", "Authorization: Bearer " + key,
                        "http://127.0.0.1:%d" % port], check=True, capture_output=True)
        out = subprocess.run(["wrk", "-t2", "-c%d" % CONNECTIONS, "-d%ds" % SECONDS, "--latency", "-s", script,
                              "-H", "Authorization: Bearer " + key, "http://127.0.0.1:%d" % port],
                             check=True, capture_output=True, text=True).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        pct = {m.group(1): m.group(2) for m in re.finditer(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M)}
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        socket_errors = re.search(r"Socket errors: (.*)", out)

        def ms(v):
            n = float(re.match(r"[\d.]+", v).group(0))
            return n / 1000 if v.endswith("us") else n * 1000 if v.endswith("s") and not v.endswith("ms") else n
        p99 = ms(pct["99"])
        print(f"web user read  {USERS:,} accounts (cdb), {CONNECTIONS} connections, {SECONDS} s: {rps:,.0f} requests/s, "
              f"p50 {ms(pct['50']):.2f} ms, p90 {ms(pct['90']):.2f} ms, p99 {p99:.2f} ms "
              f"(target >= 2,000/s and p99 < 20 ms: {'met' if rps >= 2000 and p99 < 20 else 'NOT met'})"
              + (f"; non-2xx: {errors.group(1)}" if errors else "") + (f"; socket errors: {socket_errors.group(1)}" if socket_errors else ""))
    finally:
        server.terminate()
        server.wait()
        cleanup(base)


if __name__ == "__main__":
    main()
