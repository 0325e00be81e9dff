"""The web admin in a real browser: Debian's chromium (headless) driven by Selenium through
chromium-driver. A super admin logs in, sets up a second factor and logs in again with it, adds
an account; the account's user sets a vacation message and makes an app password, which then
logs in through vchkpw (and the main password, once kept off POP/IMAP, no longer does); a
domain admin is refused another domain; what users typed is shown escaped. Screenshots of the
main pages go to $VPOP_SCREENSHOTS (docs/screenshots when refreshing the committed ones)."""
import os, re, subprocess, tempfile, time, unittest

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from webtest import BUILD, Site, next_step_code, read, totp


def browser(width=1100, height=900, phone=False):
    o = webdriver.ChromeOptions()
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=%d,%d" % (width, height)]:
        o.add_argument(a)
    if phone:
        # A phone's screen (a desktop window has a minimum width).
        o.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2}})
    o.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


def submit(b, element):
    """Clicks `element` and waits until the next page has loaded (a mark left on this page is
    gone; chromium-driver's staleness check fails on its own at times)."""
    b.execute_script("window.vpopOldPage = true")
    element.click()

    def loaded(d):
        try:
            return d.execute_script("return !window.vpopOldPage && document.readyState === 'complete'")
        except Exception:
            return False
    WebDriverWait(b, 20).until(loaded)


class Browser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.shots = os.environ.get("VPOP_SCREENSHOTS") or tempfile.mkdtemp(prefix="vpop-shots-")
        cls.keep_shots = bool(os.environ.get("VPOP_SCREENSHOTS"))
        os.makedirs(cls.shots, exist_ok=True)
        s = cls.site = Site()
        s.run("vadddomain", "example.com", "pm-secret-1")
        s.run("vadddomain", "other.org", "pm-secret-2")
        s.run("vadduser", "admin@example.com", "admin-secret-1")
        s.run("vmoduser", "-S", "admin@example.com")
        s.start()
        cls.b = browser()

    @classmethod
    def tearDownClass(cls):
        cls.b.quit()
        cls.site.close()
        if not cls.keep_shots:
            for f in os.listdir(cls.shots):
                os.unlink(os.path.join(cls.shots, f))
            os.rmdir(cls.shots)

    def go(self, path):
        self.b.get(self.site.url(path, host="localhost"))

    def shot(self, name):
        path = os.path.join(self.shots, name + ".png")
        self.assertTrue(self.b.save_screenshot(path))
        self.assertGreater(os.path.getsize(path), 5000)

    def fill(self, **fields):
        for k, v in fields.items():
            e = self.b.find_element(By.ID, k.replace("_", "-"))
            e.clear()
            e.send_keys(v)

    def click(self, id=None, element=None):
        """Clicks a button and waits for the page its form leads to."""
        submit(self.b, element or self.b.find_element(By.ID, id))

    def text(self):
        return self.b.find_element(By.TAG_NAME, "body").text

    def login(self, address, password, code=None):
        self.b.delete_all_cookies()
        self.go("/login")
        self.fill(address=address, password=password)
        self.click("login")
        if code is not None:
            self.assertIn("/login/code", self.b.current_url)
            self.fill(code=code)
            self.click("verify")

    def logout(self):
        self.click(element=self.b.find_element(By.CSS_SELECTOR, "header form button"))
        self.assertIn("/login", self.b.current_url)

    def test_1_super_admin_second_factor_and_user(self):
        s = self.site
        self.go("/login")
        self.shot("login")
        # The session cookie: HttpOnly, SameSite=Strict, Secure.
        self.login("admin@example.com", "admin-secret-1")
        self.assertTrue(self.b.current_url.endswith("/domains"), self.b.current_url)
        c = self.b.get_cookie("vpopmail_session")
        self.assertEqual((c["httpOnly"], c["secure"], c["sameSite"]), (True, True, "Strict"))
        # A second factor: the key shown, a code from it confirms it, recovery codes are shown once.
        self.go("/me")
        self.click("start-2fa")
        secret = self.b.find_element(By.ID, "shown-secret").text.strip()
        self.assertRegex(secret, "^[A-Z2-7]{32}$")
        self.assertIn("otpauth://totp/", self.b.find_element(By.ID, "otpauth-uri").text)
        self.fill(confirm_code=totp(secret))
        self.click("confirm-2fa")
        codes = [e.text for e in self.b.find_elements(By.CSS_SELECTOR, "#recovery-codes li")]
        self.assertEqual(len(codes), 10)
        self.shot("second-factor")
        self.__class__.admin_secret = secret
        # Again: the password alone is not enough; a wrong code is refused; a recovery code works once.
        self.logout()
        self.login("admin@example.com", "admin-secret-1")
        self.assertIn("/login/code", self.b.current_url)
        self.shot("login-code")
        self.go("/domains")
        self.assertIn("/login", self.b.current_url)          # no session before the code
        self.go("/login/code")
        self.fill(code="000000")
        self.click("verify")
        self.assertIn("not right", self.text())
        self.fill(code=codes[0])
        self.click("verify")
        self.assertTrue(self.b.current_url.endswith("/domains"), self.b.current_url)
        self.logout()
        self.login("admin@example.com", "admin-secret-1", code=codes[0])
        self.assertIn("not right", self.text())
        # With a TOTP code of a later step.
        self.login("admin@example.com", "admin-secret-1", code=next_step_code(secret))
        self.assertTrue(self.b.current_url.endswith("/domains"))
        self.shot("domains")
        # Add an account in example.com; the full name is shown escaped.
        self.go("/domains/example.com")
        self.fill(user="frank", gecos="<script>alert('x')</script> Frank", password="frank-secret-1", quota="200M")
        self.click("add-user")
        self.assertTrue(self.b.current_url.endswith("/domains/example.com/users/frank"), self.b.current_url)
        self.assertIn("<script>alert('x')</script> Frank", self.text())
        self.assertIn("&lt;script&gt;", self.b.page_source)
        self.assertEqual(len(self.b.find_elements(By.TAG_NAME, "script")), 0)
        self.shot("user")
        self.go("/domains/example.com")
        self.assertIn("frank", self.text())
        self.shot("domain")
        self.assertEqual(s.vchkpw("frank@example.com", "frank-secret-1", "143"), 0)
        # An alias from the page (addresses only), seen by valias; then deleted.
        self.fill(alias="sales", alias_to="frank@example.com\nboss@remote.test")
        self.click("add-alias")
        self.assertIn("&frank@example.com, &boss@remote.test", self.text())
        self.assertIn(b"&boss@remote.test", s.run("valias", "-s", "sales@example.com").stdout)
        self.fill(alias="evil", alias_to="|/bin/sh -c id")
        self.click("add-alias")
        self.assertIn("not a forwarding address", self.text())
        self.go("/domains/example.com")
        self.click("delete-alias-sales")
        self.assertNotEqual(s.run("valias", "-s", "sales@example.com", check=False).stdout.count(b"&boss"), 1)
        # An API key needs a fresh second-factor code.
        self.go("/api-keys")
        self.fill(k_label="billing", k_code="123456")
        self.click("add-key")
        self.assertIn("not right", self.text())
        self.go("/api-keys")
        self.fill(k_label="billing", k_code=next_step_code(secret))
        self.b.find_element(By.CSS_SELECTOR, "#k-scope option[value=write]").click()
        self.click("add-key")
        key = self.b.find_element(By.ID, "new-key").text.strip()
        self.assertRegex(key, "^vpk_[0-9a-f]{8}_[a-z2-7]{32}$")
        self.assertEqual(s.call("GET", "/api/v1/domains/example.com/users/frank", key=key)[0], 200)
        self.go("/audit")
        self.assertIn("add_user frank@example.com", self.text())
        self.shot("audit")
        self.logout()

    def test_2_user_vacation_and_app_password(self):
        s = self.site
        if s.run("vuserinfo", "frank@example.com", check=False).returncode != 0:
            s.run("vadduser", "frank@example.com", "frank-secret-1")
        self.login("frank@example.com", "frank-secret-1")
        self.assertTrue(self.b.current_url.endswith("/me"), self.b.current_url)
        # Vacation from the page; vdelivermail answers once.
        self.fill(v_subject="On holiday", v_body="I'm away until Monday.")
        self.click("set-vacation")
        self.assertIn("vacation message is on", self.text())
        msg = "From: Gina <gina@remote.test>\nTo: frank@example.com\nSubject: hello\n\nhi\n"
        self.assertEqual(s.deliver("frank", "example.com", msg, "gina@remote.test")[0], 0)
        self.assertEqual(s.deliver("frank", "example.com", msg, "gina@remote.test")[0], 0)
        replies = [f for f in os.listdir(s.queue_dir) if f.endswith(".msg")]
        self.assertEqual(len(replies), 1)
        self.assertIn("Subject: On holiday", read(os.path.join(s.queue_dir, replies[0])))
        # Forwards, one address per line, a copy kept: the .qmail vdelivermail runs.
        self.fill(forwards="frank@elsewhere.test\nfrank2@elsewhere.test")
        self.click("set-forwards")
        self.assertIn("forwards are saved", self.text())
        self.assertEqual(read(s.home + "/domains/example.com/frank/.qmail"), "&frank@elsewhere.test\n&frank2@elsewhere.test\n./Maildir/\n")
        self.fill(forwards="")
        self.click("set-forwards")
        self.assertFalse(os.path.exists(s.home + "/domains/example.com/frank/.qmail"))
        # An app password for IMAP and SMTP, shown once; vchkpw takes it for those only.
        self.fill(app_label="Phone <b>mail</b>")
        self.click("add-app-password")
        app = self.b.find_element(By.ID, "shown-secret").text.strip()
        self.assertRegex(app, "^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$")
        self.assertIn("Phone <b>mail</b>", self.text())
        self.shot("me")
        self.assertEqual(s.vchkpw("frank@example.com", app, "143"), 0)
        self.assertEqual(s.vchkpw("frank@example.com", app, "25"), 0)
        self.assertEqual(s.vchkpw("frank@example.com", app, "110"), 3)       # not for POP
        secrets = read(s.home + "/domains/example.com/frank/.vpopmail-secrets")
        self.assertNotIn(app, secrets)
        # A second factor, then the main password kept off POP and IMAP.
        self.click("start-2fa")
        secret = self.b.find_element(By.ID, "shown-secret").text.strip()
        self.fill(confirm_code=totp(secret))
        self.click("confirm-2fa")
        self.b.find_element(By.ID, "mail-lock").click()   # a checkbox: no page
        self.click("set-mail-lock")
        self.assertIn("no longer opens POP and IMAP", self.text())
        self.assertEqual(s.vchkpw("frank@example.com", "frank-secret-1", "143"), 3)
        self.assertEqual(s.vchkpw("frank@example.com", "frank-secret-1", "25"), 0)
        self.assertEqual(s.vchkpw("frank@example.com", app, "143"), 0)
        # vpopmaild takes the app password too, as the user only.
        r = subprocess.run([BUILD + "/vpopmaild"], input=("login frank@example.com %s\r\nquit\r\n" % app).encode(), capture_output=True,
                           env=dict(s.env, TCPREMOTEIP="127.0.0.9", TCPLOCALIP="127.0.0.1"))
        self.assertIn(b"+OK", r.stdout.split(b"\r\n", 1)[1])
        # Revoked: the app password no longer logs in.
        self.click(element=self.b.find_element(By.CSS_SELECTOR, "button[id^=revoke-]"))
        self.assertIn("revoked", self.text())
        self.assertEqual(s.vchkpw("frank@example.com", app, "143"), 3)
        entries = [e["action"] for e in s.audit("-u", "frank@example.com")]
        for a in ["vacation_set", "add_app_password", "second_factor_on", "revoke_app_password"]:
            self.assertIn(a, entries)

    def test_3_domain_admin_refused_other_domain(self):
        self.login("postmaster@other.org", "pm-secret-2")
        self.assertTrue(self.b.current_url.endswith("/domains/other.org"), self.b.current_url)
        self.go("/domains/example.com")
        self.assertIn("You administer other.org only", self.text())
        self.go("/domains/example.com/users/frank")
        self.assertIn("You administer other.org only", self.text())
        self.go("/domains")
        self.assertIn("for administrators", self.text())
        self.shot("refused")
        # A form posted without the session's CSRF token changes nothing (the pages run no
        # script of their own; the test changes the hidden field).
        self.go("/domains/other.org")
        form = self.b.find_element(By.CSS_SELECTOR, "form[action='/domains/other.org/users']")
        csrf = form.find_element(By.NAME, "csrf")
        self.b.execute_script("arguments[0].value = 'forged'", csrf)
        self.fill(user="mallory", password="mallory-pw-1")
        self.click("add-user")
        self.assertIn("CSRF", self.text())
        self.assertNotEqual(self.site.run("vuserinfo", "mallory@other.org", check=False).returncode, 0)

    def test_4_domain_admin_not_over_a_system_admin(self):
        # postmaster@example.com administers example.com, where admin@ is a system admin.
        self.login("postmaster@example.com", "pm-secret-1")
        self.go("/domains/example.com/users/admin")
        self.fill(password="taken-over-1")
        self.click("set-password")
        self.assertIn("Only a super admin", self.text())
        self.assertEqual(self.site.vchkpw("admin@example.com", "admin-secret-1", "143"), 0)

    def test_5_phone(self):
        b = browser(390, 844, phone=True)
        try:
            b.get(self.site.url("/login", host="localhost"))
            b.find_element(By.ID, "address").send_keys("postmaster@other.org")
            b.find_element(By.ID, "password").send_keys("pm-secret-2")
            submit(b, b.find_element(By.ID, "login"))
            b.get(self.site.url("/me", host="localhost"))
            WebDriverWait(b, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")
            # Nothing wider than the screen.
            self.assertEqual(b.execute_script("return window.innerWidth"), 390)
            self.assertLessEqual(b.execute_script("return document.documentElement.scrollWidth"), 390)
            path = os.path.join(self.shots, "phone.png")
            self.assertTrue(b.save_screenshot(path))
        finally:
            b.quit()


if __name__ == "__main__":
    unittest.main()
