"""schemathesis against the served OpenAPI document: every operation, the examples, coverage,
fuzzing and stateful phases; every check but negative_data_rejection (the document's patterns
say what is certainly accepted; the library is more lenient in places, such as domain names in
capitals, which it lower-cases), so a response that breaks its schema, an undocumented status,
a 5xx, a wrong content type or a 405 without Allow fails the test."""
import os, shutil, subprocess, unittest

from webtest import Site


class Schema(unittest.TestCase):
    def test_schemathesis(self):
        st = shutil.which("schemathesis") or shutil.which("st")
        self.assertIsNotNone(st, "schemathesis is not installed (pip install schemathesis)")
        s = Site()
        try:
            s.run("vadddomain", "example.com", "pm-secret-1")
            s.start()
            key = s.key("-w", "-l", "schemathesis")
            r = subprocess.run([st, "run", s.url("/api/v1/openapi.json"), "-H", "Authorization: Bearer " + key,
                                "--checks", "all", "--exclude-checks", "negative_data_rejection",
                                "--max-examples", os.environ.get("VPOP_SCHEMATHESIS_EXAMPLES", "30"), "-w", "1",
                                "--phases", "examples,coverage,fuzzing,stateful", "--continue-on-failure",
                                "--seed", "16", "--no-color"],
                               capture_output=True, text=True, timeout=900, cwd=s.root,  # its cache goes with the site
                               env=dict(os.environ, SCHEMATHESIS_HOOKS=""))
            summary = r.stdout[-3000:]
            self.assertEqual(r.returncode, 0, summary + r.stderr[-2000:])
            self.assertRegex(summary, r"\d+ generated, \d+ passed")
            # The server is still well and answers.
            self.assertEqual(s.call("GET", "/api/v1/domains", key=key)[0], 200)
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main()
