"""The REST API, the audit log, vacation replies, app passwords' place in vchkpw and /metrics,
through the built programs: vpopmail-web on a throw-away tree, the commands, vchkpw and
vdelivermail as processes."""
import glob, json, os, ssl, subprocess, time, unittest, urllib.error, urllib.request

from webtest import BUILD, Site, free_port, read


class API(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.site = Site()
        s = cls.site
        s.run("vadddomain", "example.com", "pm-secret-1")
        s.run("vadddomain", "other.org", "pm-secret-2")
        s.start()
        cls.rw = s.key("-w", "-l", "provisioning")
        cls.ro = s.key("-l", "reader")
        cls.one = s.key("-w", "-d", "other.org", "-l", "other only")

    @classmethod
    def tearDownClass(cls):
        cls.site.close()

    def test_keys_and_scopes(self):
        s = self.site
        st, b = s.call("GET", "/api/v1/domains")
        self.assertEqual(st, 401)
        self.assertEqual(b["error"]["code"], "unauthorized")
        self.assertEqual(s.call("GET", "/api/v1/domains", key="vpk_00000000_nope")[0], 401)
        # A revoked key is refused from the next request on.
        k = s.key("-l", "short-lived")
        self.assertEqual(s.call("GET", "/api/v1/domains", key=k)[0], 200)
        s.run("vapikey", "-r", k.split("_")[1])
        self.assertEqual(s.call("GET", "/api/v1/domains", key=k)[0], 401)
        # Read-only: no change.
        st, b = s.call("POST", "/api/v1/domains/example.com/users", key=self.ro, body={"name": "ro", "password": "x-secret-9"})
        self.assertEqual((st, b["error"]["code"]), (403, "read_only"))
        # A key for other.org sees it only, and can't make a system admin.
        st, b = s.call("GET", "/api/v1/domains", key=self.one)
        self.assertEqual([d["name"] for d in b["items"]], ["other.org"])
        self.assertEqual(s.call("GET", "/api/v1/domains/example.com/users", key=self.one)[0], 403)
        st, b = s.call("PATCH", "/api/v1/domains/other.org/users/postmaster", key=self.one, body={"flags": {"systemAdmin": True}})
        self.assertEqual(st, 403)
        self.assertEqual(s.call("POST", "/api/v1/domains", key=self.one, body={"name": "x.net", "postmasterPassword": "p-1-secret"})[0], 403)
        # A system admin's account in other.org: out of reach of the key for other.org.
        s.call("POST", "/api/v1/domains/other.org/users", key=self.rw, body={"name": "boss", "password": "boss-secret-1"})
        self.assertEqual(s.call("PATCH", "/api/v1/domains/other.org/users/boss", key=self.rw, body={"flags": {"systemAdmin": True}})[0], 200)
        for method, path, body in [("PUT", "/password", {"password": "taken-over-1"}), ("PATCH", "", {"gecos": "x"}), ("DELETE", "", None)]:
            st, b = s.call(method, "/api/v1/domains/other.org/users/boss" + path, key=self.one, body=body)
            self.assertEqual(st, 403, (method, path, b))
        self.assertEqual(s.vchkpw("boss@other.org", "boss-secret-1", "143"), 0)
        # Keys are kept hashed: the file never holds one.
        keys = read(s.home + "/etc/api-keys")
        self.assertNotIn(self.rw, keys)
        self.assertNotIn(self.rw.split("_")[2], keys)
        self.assertEqual(oct(os.stat(s.home + "/etc/api-keys").st_mode & 0o777), "0o600")

    def test_users(self):
        s, k = self.site, self.rw
        st, u = s.call("POST", "/api/v1/domains/example.com/users", key=k,
                       body={"name": "Alice", "password": "alice-pw-1", "gecos": "Alice A", "quota": "50M"})
        self.assertEqual(st, 201, u)
        self.assertEqual((u["name"], u["address"], u["quota"]["bytes"]), ("alice", "alice@example.com", 52428800))
        self.assertEqual(s.call("POST", "/api/v1/domains/example.com/users", key=k, body={"name": "alice", "password": "again-pw-1"})[0], 409)
        for i in range(12):
            s.call("POST", "/api/v1/domains/example.com/users", key=k, body={"name": "bulk%02d" % i, "password": "bulk-pw-%d" % i})
        st, page = s.call("GET", "/api/v1/domains/example.com/users?offset=2&limit=5&search=bulk", key=k)
        self.assertEqual((page["total"], [x["name"] for x in page["items"]]), (12, ["bulk02", "bulk03", "bulk04", "bulk05", "bulk06"]))
        # A message in the mailbox shows in the usage.
        self.assertEqual(s.deliver("alice", "example.com", "Subject: hi\n\n" + "x" * 1000 + "\n", "bob@remote.test")[0], 0)
        st, u = s.call("GET", "/api/v1/domains/example.com/users/alice", key=k)
        self.assertEqual(st, 200)
        self.assertEqual(u["usage"]["messages"], 1)
        self.assertGreater(u["usage"]["bytes"], 1000)
        st, u = s.call("PATCH", "/api/v1/domains/example.com/users/alice", key=k,
                       body={"gecos": "Alice B", "quota": "10M", "flags": {"noPop": True}})
        self.assertEqual((st, u["gecos"], u["quota"]["bytes"], u["flags"]["noPop"]), (200, "Alice B", 10485760, True))
        self.assertEqual(s.vchkpw("alice@example.com", "alice-pw-1", "110"), 1)   # POP closed
        self.assertEqual(s.vchkpw("alice@example.com", "alice-pw-1", "143"), 0)
        self.assertEqual(s.call("PUT", "/api/v1/domains/example.com/users/alice/password", key=k, body={"password": "alice-pw-2"})[0], 204)
        self.assertEqual(s.vchkpw("alice@example.com", "alice-pw-1", "143"), 3)
        self.assertEqual(s.vchkpw("alice@example.com", "alice-pw-2", "143"), 0)
        st, ll = s.call("GET", "/api/v1/domains/example.com/last-logins", key=k)
        self.assertEqual(st, 200)
        # Bad input: one line, a stable code, nothing changed.
        for body, code in [({"gecos": 5}, "invalid"), ({"quota": "lots"}, "invalid"), ({"colour": "red"}, "invalid"),
                           ({"flags": {"wings": True}}, "invalid"), ({"gecos": "a\nb"}, "invalid")]:
            st, b = s.call("PATCH", "/api/v1/domains/example.com/users/alice", key=k, body=body)
            self.assertEqual((st, b["error"]["code"]), (422, code), body)
        self.assertEqual(s.call("GET", "/api/v1/domains/example.com/users/alice", key=k)[1]["gecos"], "Alice B")
        st, b = s.call("POST", "/api/v1/domains/example.com/users", key=k, raw=b"name=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((st, b["error"]["code"]), (415, "unsupported_media_type"))
        st, b = s.call("POST", "/api/v1/domains/example.com/users", key=k, raw=b"{nope", headers={"Content-Type": "application/json"})
        self.assertEqual((st, b["error"]["code"]), (400, "invalid_json"))
        self.assertEqual(s.call("GET", "/api/v1/domains/example.com/users/nobody", key=k)[1]["error"]["code"], "user_not_found")
        self.assertEqual(s.call("GET", "/api/v1/domains/nowhere.test/users", key=k)[1]["error"]["code"], "domain_not_found")
        self.assertEqual(s.call("DELETE", "/api/v1/domains/example.com/users/bulk00", key=k)[0], 204)
        self.assertEqual(s.call("GET", "/api/v1/domains/example.com/users/bulk00", key=k)[0], 404)
        self.assertFalse(os.path.exists(s.home + "/domains/example.com/bulk00"))
        # What a command changes meanwhile, the long-running server sees at once.
        s.run("vmoduser", "-c", "Set By Command", "alice@example.com")
        s.run("vadduser", "late@example.com", "late-secret-1")
        self.assertEqual(s.call("GET", "/api/v1/domains/example.com/users/alice", key=k)[1]["gecos"], "Set By Command")
        self.assertEqual(s.call("GET", "/api/v1/domains/example.com/users/late", key=k)[0], 200)

    def test_domains_aliases_limits_ipmap(self):
        s, k = self.site, self.rw
        st, d = s.call("POST", "/api/v1/domains", key=k, body={"name": "New.Example", "postmasterPassword": "pm-new-1"})
        self.assertEqual((st, d["name"], d["users"]), (201, "new.example", 1))
        self.assertEqual(s.vchkpw("postmaster@new.example", "pm-new-1", "143"), 0)
        self.assertIn("+new.example-:new.example:", read(s.qmail + "/users/assign"))
        st, a = s.call("POST", "/api/v1/domains/new.example/alias-domains", key=k, body={"name": "alias.example"})
        self.assertEqual((st, a["items"]), (201, ["alias.example"]))
        self.assertEqual(s.call("GET", "/api/v1/domains/alias.example", key=k)[1]["aliasOf"], "new.example")
        self.assertEqual(s.call("DELETE", "/api/v1/domains/new.example/alias-domains/alias.example", key=k)[0], 204)
        st, al = s.call("PUT", "/api/v1/domains/new.example/aliases/sales", key=k, body={"lines": ["&a@remote.test", "&b@remote.test"]})
        self.assertEqual((st, al["lines"]), (200, ["&a@remote.test", "&b@remote.test"]))
        self.assertEqual(s.call("PUT", "/api/v1/domains/new.example/aliases/x", key=k, body={"lines": ["|/bin/sh -c evil"]})[0], 422)
        self.assertEqual(s.call("GET", "/api/v1/domains/new.example/aliases", key=k)[1]["items"][0]["name"], "sales")
        self.assertEqual(s.call("DELETE", "/api/v1/domains/new.example/aliases/sales", key=k)[0], 204)
        self.assertEqual(s.call("GET", "/api/v1/domains/new.example/aliases/sales", key=k)[0], 404)
        st, l = s.call("PUT", "/api/v1/domains/new.example/limits", key=k, body={"maxPopAccounts": 2, "disableImap": True})
        self.assertEqual((st, l["maxPopAccounts"], l["disableImap"]), (200, 2, True))
        self.assertEqual(s.call("POST", "/api/v1/domains/new.example/users", key=k, body={"name": "u1", "password": "u1-secret-pw"})[0], 201)
        st, b = s.call("POST", "/api/v1/domains/new.example/users", key=k, body={"name": "u2", "password": "u2-secret-pw"})
        self.assertEqual((st, b["error"]["code"]), (409, "limit_reached"))
        self.assertEqual(s.call("PUT", "/api/v1/domains/new.example/limits", key=self.one, body={"maxPopAccounts": 9})[0], 403)
        self.assertEqual(s.call("POST", "/api/v1/ip-map", key=k, body={"ip": "10.1.2.3", "domain": "new.example"})[0], 201)
        self.assertIn({"ip": "10.1.2.3", "domain": "new.example"}, s.call("GET", "/api/v1/ip-map", key=k)[1]["items"])
        self.assertEqual(s.call("DELETE", "/api/v1/ip-map/10.1.2.3", key=k)[0], 204)
        self.assertEqual(s.call("DELETE", "/api/v1/ip-map/10.1.2.3", key=k)[0], 404)
        self.assertEqual(s.call("DELETE", "/api/v1/domains/new.example", key=k)[0], 204)
        self.assertEqual(s.call("GET", "/api/v1/domains/new.example", key=k)[0], 404)

    def test_forwards_and_vacation(self):
        s, k = self.site, self.rw
        s.call("POST", "/api/v1/domains/example.com/users", key=k, body={"name": "carol", "password": "carol-pw-1"})
        st, f = s.call("PUT", "/api/v1/domains/example.com/users/carol/forwards", key=k,
                       body={"addresses": ["carol@elsewhere.test"], "keepCopy": True})
        self.assertEqual((st, f), (200, {"addresses": ["carol@elsewhere.test"], "keepCopy": True}))
        self.assertEqual(read(s.home + "/domains/example.com/carol/.qmail"), "&carol@elsewhere.test\n./Maildir/\n")
        self.assertEqual(s.call("PUT", "/api/v1/domains/example.com/users/carol/forwards", key=k, body={"addresses": ["|rm -rf /"]})[0], 422)
        self.assertEqual(s.call("PUT", "/api/v1/domains/example.com/users/carol/forwards", key=k, body={"addresses": []})[0], 200)
        self.assertFalse(os.path.exists(s.home + "/domains/example.com/carol/.qmail"))
        now = int(time.time())
        st, v = s.call("PUT", "/api/v1/domains/example.com/users/carol/vacation", key=k,
                       body={"subject": "Away", "body": "Back on Monday.\n", "start": now - 60, "end": now + 86400, "periodDays": 7})
        self.assertEqual((st, v["enabled"], v["active"]), (200, True, True))
        self.assertEqual(s.call("PUT", "/api/v1/domains/example.com/users/carol/vacation", key=k,
                                body={"subject": "a\r\nBcc: victim@x.test", "body": "x"})[0], 422)
        before = len(glob.glob(s.queue_dir + "/*.msg"))
        msg = "From: Dan <dan@remote.test>\nTo: carol@example.com\nSubject: lunch?\nMessage-ID: <m1@remote.test>\n\nhi\n"
        code, out = s.deliver("carol", "example.com", msg, "dan@remote.test")
        self.assertEqual(code, 0, out)
        replies = sorted(glob.glob(s.queue_dir + "/*.msg"))
        self.assertEqual(len(replies), before + 1, out)
        reply = read(replies[-1])
        env = read(replies[-1][:-4] + ".env", binary=True)
        self.assertEqual(env, b"F\0Tdan@remote.test\0\0")      # from the null sender
        self.assertIn("Auto-Submitted: auto-replied\n", reply)
        self.assertIn("In-Reply-To: <m1@remote.test>\n", reply)
        self.assertIn("Subject: Away\n", reply)
        self.assertIn("\n\nBack on Monday.\n", reply)
        # Once per sender per period; never to a list, bulk mail or another robot.
        s.deliver("carol", "example.com", msg, "dan@remote.test")
        s.deliver("carol", "example.com", msg.replace("Subject", "Precedence: bulk\nSubject"), "eve@remote.test")
        s.deliver("carol", "example.com", msg.replace("Subject", "List-Id: <l.remote.test>\nSubject"), "fay@remote.test")
        s.deliver("carol", "example.com", msg.replace("Subject", "Auto-Submitted: auto-replied\nSubject"), "gus@remote.test")
        s.deliver("carol", "example.com", msg, "")
        self.assertEqual(len(glob.glob(s.queue_dir + "/*.msg")), before + 1)
        # A second sender is answered.
        s.deliver("carol", "example.com", msg, "hal@remote.test")
        self.assertEqual(len(glob.glob(s.queue_dir + "/*.msg")), before + 2)
        # Outside its dates: no reply.
        s.call("PUT", "/api/v1/domains/example.com/users/carol/vacation", key=k,
               body={"subject": "Away", "body": "later", "start": now + 86400, "end": now + 2 * 86400})
        s.deliver("carol", "example.com", msg, "ivy@remote.test")
        self.assertEqual(len(glob.glob(s.queue_dir + "/*.msg")), before + 2)
        self.assertEqual(s.call("GET", "/api/v1/domains/example.com/users/carol/vacation", key=k)[1]["active"], False)
        # The command sets and shows the same thing.
        s.run("vvacation", "-s", "Gone fishing", "-m", "-", "carol@example.com", input=b"Fishing.\n")
        self.assertIn(b"subject: Gone fishing", s.run("vvacation", "-q", "carol@example.com").stdout)
        self.assertEqual(s.call("GET", "/api/v1/domains/example.com/users/carol/vacation", key=k)[1]["subject"], "Gone fishing")
        # The reply from a .qmail line (`| vvacation -r carol@example.com`), as qmail-local runs it.
        s.run("vvacation", "-r", "carol@example.com", input=msg.encode(), env={"SENDER": "jay@remote.test"})
        replies = sorted(glob.glob(s.queue_dir + "/*.msg"))
        self.assertEqual(len(replies), before + 3)
        self.assertIn("Subject: Gone fishing\n", read(replies[-1]))
        self.assertEqual(s.call("DELETE", "/api/v1/domains/example.com/users/carol/vacation", key=k)[0], 204)
        self.assertEqual(s.call("GET", "/api/v1/domains/example.com/users/carol/vacation", key=k)[1], {"enabled": False})

    def test_audit(self):
        s, k = self.site, self.rw
        s.call("POST", "/api/v1/domains/example.com/users", key=k, body={"name": "dave", "password": "dave-secret-1"})
        s.call("PATCH", "/api/v1/domains/example.com/users/dave", key=k, body={"quota": "20M"})
        s.call("PUT", "/api/v1/domains/example.com/users/dave/password", key=k, body={"password": "dave-secret-2"})
        s.run("vmoduser", "-c", "Dave D", "dave@example.com")
        keyid = k.split("_")[1]
        mine = [e for e in s.audit("-u", "dave@example.com")]
        self.assertEqual([e["action"] for e in mine], ["add_user", "mod_user", "mod_user", "mod_user"])
        self.assertEqual((mine[0]["who"], mine[0]["via"], mine[0]["from"]), ("api-key:" + keyid, "api", "127.0.0.1"))
        self.assertIn("quota=20971520S", mine[1]["after"])
        self.assertIn("quota=", mine[1]["before"])
        self.assertIn("password=changed", mine[2]["after"])
        self.assertEqual((mine[3]["who"], mine[3]["via"]), ("root", "command:vmoduser"))
        # Never a password or a hash.
        log = read(s.home + "/etc/audit.log")
        for secret in ["dave-secret-1", "dave-secret-2", "$6$", "$argon2", "$2"]:
            self.assertNotIn(secret, log)
        st, a = s.call("GET", "/api/v1/audit?user=dave@example.com", key=k)
        self.assertEqual((st, len(a["items"])), (200, 4))
        self.assertEqual(s.call("GET", "/api/v1/audit", key=self.one)[0], 403)
        # The text form of the reader.
        self.assertIn(b"via command:vmoduser from local: mod_user dave@example.com", s.run("vaudit", "-u", "dave@example.com").stdout)

    def test_openapi_and_metrics(self):
        s = self.site
        st, doc = s.call("GET", "/api/v1/openapi.json")
        self.assertEqual((st, doc["openapi"]), (200, "3.1.0"))
        self.assertIn("/api/v1/domains/{domain}/users/{user}", doc["paths"])
        self.assertEqual(set(doc["paths"]["/api/v1/domains/{domain}/users/{user}"]), {"get", "patch", "delete"})
        s.call("POST", "/api/v1/domains/example.com/users", key=self.rw, body={"name": "erin", "password": "erin-pw-1"})
        for pw in ["erin-pw-1", "wrong-1", "wrong-2"]:
            s.vchkpw("erin@example.com", pw, "143")
        s.deliver("erin", "example.com", "Subject: m\n\nx\n", "z@remote.test")
        s.deliver("nobody-here", "example.com", "Subject: m\n\nx\n", "z@remote.test")
        st, text = s.call("GET", "/metrics")
        self.assertEqual(st, 200)
        lines = dict(l.rsplit(" ", 1) for l in text.splitlines() if l and not l.startswith("#"))
        self.assertGreaterEqual(int(lines['vpopmail_logins_total{service="imap",result="ok"}']), 1)
        self.assertGreaterEqual(int(lines['vpopmail_logins_total{service="imap",result="failed"}']), 2)
        self.assertGreaterEqual(int(lines['vpopmail_deliveries_total{result="delivered"}']), 1)
        self.assertGreaterEqual(int(lines['vpopmail_deliveries_total{result="bounced"}']), 1)
        self.assertGreaterEqual(int(lines["vpopmail_bounces_total"]), 1)
        self.assertIn("vpopmail_throttled_keys", lines)
        self.assertTrue(any(k.startswith('vpopmail_http_requests_total{kind="api",method="POST",route="/api/v1/domains/{domain}/users",status="201"}') for k in lines))
        self.assertTrue(any(k.startswith("vpopmail_http_request_duration_seconds_bucket") for k in lines))

    def test_tls(self):
        # --tls-cert/--tls-key as for vpopmaild: HTTPS, TLS 1.2 or later.
        s = self.site
        cert, key = s.root + "/cert.pem", s.root + "/key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                        "-subj", "/CN=localhost"], check=True, capture_output=True)
        port = free_port()
        p = subprocess.Popen([BUILD + "/vpopmail-web", "--listen", "127.0.0.1:%d" % port, "--tls-cert", cert, "--tls-key", key],
                             env=s.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            ctx = ssl.create_default_context(cafile=cert)
            ctx.check_hostname = False
            for _ in range(100):
                try:
                    body = urllib.request.urlopen("https://127.0.0.1:%d/health" % port, context=ctx, timeout=2).read()
                    break
                except (urllib.error.URLError, ConnectionError):
                    time.sleep(0.1)
            self.assertEqual(body, b"ok\n")
            old = ssl.create_default_context(cafile=cert)
            old.check_hostname = False
            old.maximum_version = ssl.TLSVersion.TLSv1_1
            with self.assertRaises(Exception):
                urllib.request.urlopen("https://127.0.0.1:%d/health" % port, context=old, timeout=2).read()
        finally:
            p.terminate()
            self.assertEqual(p.wait(timeout=15), 0)
        # A half-given pair is refused at start.
        r = subprocess.run([BUILD + "/vpopmail-web", "--tls-cert", cert], env=s.env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 100)
        self.assertIn("--tls-cert and --tls-key go together", r.stderr)

    def test_zz_sigterm(self):
        # Last: the server stops cleanly (exit 0) on SIGTERM.
        self.assertEqual(self.site.stop(), 0)


if __name__ == "__main__":
    unittest.main()
