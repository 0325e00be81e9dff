"""What the web tests share: a throw-away vpopmail tree with the built programs, vpopmail-web
started on it (on a free loopback port), the commands, vchkpw and vdelivermail run as
processes, HTTP calls, and TOTP codes computed here from the secret a page shows."""
import base64, hashlib, hmac, json, os, shutil, socket, struct, subprocess, tempfile, time, urllib.request, urllib.error

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, ".build", "release")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def totp(secret_b32, at=None, step=30, digits=6):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = mac[-1] & 15
    return str((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 10 ** digits).zfill(digits)


def next_step_code(secret_b32):
    """A code of the next 30-second step (waits for it): a code is accepted once only."""
    now = time.time()
    time.sleep(30 - now % 30 + 0.2)
    return totp(secret_b32)


class Site:
    def __init__(self, config=""):
        self.root = tempfile.mkdtemp(prefix="vpop-web-")
        # The domains' owner (the vpopmail user) walks down to its files.
        os.chmod(self.root, 0o755)
        self.home = self.root + "/home"
        self.qmail = self.root + "/qmail"
        for d in ["/bin", "/etc", "/domains"]:
            os.makedirs(self.home + d)
        for d in ["/users", "/control", "/bin"]:
            os.makedirs(self.qmail + d)
        names = subprocess.run([BUILD + "/vpopmail", "--commands"], capture_output=True, text=True, check=True).stdout.split()
        for n in names:
            os.symlink(BUILD + "/vpopmail", self.home + "/bin/" + n)
        for p in ["vchkpw", "vdelivermail"]:
            shutil.copy(BUILD + "/" + p, self.home + "/bin/" + p)
        shutil.copy(ROOT + "/etc/vlimits.default", self.home + "/etc/vlimits.default")
        # The queue vacation replies go to: qmail-queue's interface (message on fd 0, envelope
        # on fd 1), kept as files here (qmail itself is not on this machine).
        self.queue_dir = self.root + "/queued"
        os.makedirs(self.queue_dir)
        os.chmod(self.queue_dir, 0o1777)
        q = self.root + "/qmail-queue"
        with open(q, "w") as f:
            f.write("#!/bin/sh\nn=$(date +%%s%%N)\ncat > %s/$n.msg\ncat <&1 > %s/$n.env\n" % (self.queue_dir, self.queue_dir))
        os.chmod(q, 0o755)
        # The store: the cdb files, or another (VPOP_WEB_STORE=sqlite) for the same tests.
        store = os.environ.get("VPOP_WEB_STORE", "cdb")
        with open(self.home + "/etc/vpopmail.conf", "w") as f:
            f.write(("" if store == "cdb" else "auth-module = %s\n" % store)
                    + ("" if "throttle" in config else "throttle = n\n") + "vacation-queue = %s\n" % q + config)
        # As install.sh makes it: root's, writable by the vchkpw group (vdelivermail runs as the
        # vpopmail user).
        with open(self.home + "/etc/counters", "wb") as f:
            f.write(b"\0" * 4096)
        os.chown(self.home + "/etc/counters", 0, 89)
        os.chmod(self.home + "/etc/counters", 0o660)
        self.env = {"VPOPMAIL_HOME": self.home, "QMAILDIR": self.qmail, "PATH": "/usr/bin:/bin", "TZ": "UTC"}
        self.server = None
        self.port = None

    def run(self, *args, input=None, env=None, check=True):
        e = dict(self.env)
        e.update(env or {})
        cmd = list(args)
        if not cmd[0].startswith("/"):
            cmd[0] = self.home + "/bin/" + cmd[0]
        r = subprocess.run(cmd, input=input, capture_output=True, env=e)
        if check and r.returncode != 0:
            raise AssertionError("%s exited %d: %s %s" % (args, r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")))
        return r

    def vchkpw(self, login, password, port="110"):
        """vchkpw's exit status for a login on `port` (110 POP, 143 IMAP, 25 SMTP)."""
        data = login.encode() + b"\0" + password.encode() + b"\0\0"
        # checkpassword's input is on fd 3.
        r = subprocess.run(["/bin/sh", "-c", 'exec "$0" /bin/true 3<&0', self.home + "/bin/vchkpw"], input=data, capture_output=True,
                           env=dict(self.env, TCPLOCALPORT=port, TCPREMOTEIP="127.0.0.9"))
        return r.returncode

    def deliver(self, user, domain, message, sender):
        """vdelivermail's exit status for one message (as qmail-local runs it)."""
        r = subprocess.run([self.home + "/bin/vdelivermail", "", "bounce-no-mailbox"], input=message.encode(), capture_output=True,
                           env=dict(self.env, EXT=user, HOST=domain, SENDER=sender, RPLINE="Return-Path: <%s>\n" % sender,
                                    DTLINE="Delivered-To: %s-%s@%s\n" % (domain, user, domain)))
        return r.returncode, r.stdout.decode(errors="replace")

    def start(self, *extra):
        self.port = free_port()
        self.log = open(self.root + "/web.log", "w")
        self.server = subprocess.Popen([BUILD + "/vpopmail-web", "--listen", "127.0.0.1:%d" % self.port] + list(extra),
                                       env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                urllib.request.urlopen(self.url("/health"), timeout=1).read()
                return
            except Exception:
                if self.server.poll() is not None:
                    raise AssertionError("vpopmail-web ended: " + open(self.root + "/web.log").read())
                time.sleep(0.1)
        raise AssertionError("vpopmail-web did not start")

    def url(self, path, host="127.0.0.1"):
        return "http://%s:%d%s" % (host, self.port, path)

    def call(self, method, path, key=None, body=None, raw=None, headers=None):
        """(status, parsed JSON or text) of one request."""
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        if key:
            h["Authorization"] = "Bearer " + key
        req = urllib.request.Request(self.url(path), data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def key(self, *flags):
        return self.run("vapikey", "-a", *flags).stdout.decode().strip()

    def audit(self, *args):
        return [json.loads(l) for l in self.run("vaudit", "-j", "-n", "0", *args).stdout.decode().splitlines()]

    def stop(self):
        if self.server:
            self.server.terminate()
            try:
                code = self.server.wait(timeout=15)
            finally:
                self.server = None
                self.log.close()
            return code

    def close(self):
        if self.server:
            self.server.kill()
            self.server.wait()
            self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


def read(path, binary=False):
    with open(path, "rb" if binary else "r") as f:
        return f.read()
