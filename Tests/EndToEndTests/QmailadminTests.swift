import Foundation
import Testing

/// The other people's programs the tests build (`../shared/peers` beside the checkout, or
/// `$VPOP_PEERS`; run-tests.sh exports it when it finds them).
let peersDir: String? = {
    let candidates = [ProcessInfo.processInfo.environment["VPOP_PEERS"], packageRoot + "/../shared/peers", "/work/shared/peers"]
    return candidates.compactMap { $0 }.first { FileManager.default.fileExists(atPath: $0 + "/qmailadmin.tar.gz") }
}()

/// qmailadmin (../shared/peers/qmailadmin.tar.gz, unchanged), configured against a site's
/// installed tree and built by its own build system, run as the CGI a web server runs: setuid
/// vpopmail, started as `nobody` with only a web server's environment.
struct Qmailadmin {
    let site: Site
    let dir: String
    var cgi: String { dir + "/www/cgi-bin/qmailadmin" }

    init(_ site: Site) throws {
        self.site = site
        try site.layOutLibrary()
        dir = site.root + "/qmailadmin"
        let tarball = try #require(peersDir, "../shared/peers (the peer programs) not found; set VPOP_PEERS") + "/qmailadmin.tar.gz"
        try FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
        let steps = """
        set -e
        tar xzf '\(tarball)' -C '\(dir)/src'
        cd '\(dir)/src/qmailadmin'
        ./configure --enable-vpopmaildir='\(site.home)' --enable-qmaildir='\(site.qmail)' \
          --enable-cgibindir='\(dir)/www/cgi-bin' --enable-htmldir='\(dir)/www/html' \
          --enable-htmllibdir='\(dir)/www/qmailadmin' --enable-imagedir='\(dir)/www/html/images' \
          --enable-ezmlmdir=n --enable-autoresponder-path=/usr/bin --disable-ipauth --enable-modify-quota > ../configure.log 2>&1
        make > ../make.log 2>&1
        make install > ../install.log 2>&1
        """
        let r = try tool(["/bin/sh", "-c", steps])
        let logs = ["configure.log", "make.log", "install.log"].compactMap { try? String(contentsOfFile: dir + "/src/" + $0, encoding: .utf8) }
        try #require(r.status == 0, "building qmailadmin: \(r.err)\n\(logs.map { String($0.suffix(2000)) }.joined(separator: "\n"))")
        // Installed as upstream says: setuid and setgid vpopmail.
        let attrs = try FileManager.default.attributesOfItem(atPath: cgi)
        #expect((attrs[.posixPermissions] as? Int ?? 0) & 0o6000 == 0o6000)
        // Nothing of the build log is a missing prototype: every call qmailadmin makes is declared.
        let make = (try? String(contentsOfFile: dir + "/src/make.log", encoding: .utf8)) ?? ""
        #expect(!make.contains("implicit declaration"), "qmailadmin calls something the headers do not declare")
    }

    /// One request, as a web server runs the CGI. `body` makes it a POST.
    func request(_ pathInfo: String, query: String = "", body: String? = nil) throws -> String {
        var env = ["REQUEST_METHOD=\(body == nil ? "GET" : "POST")", "PATH_INFO=\(pathInfo)", "QUERY_STRING=\(query)",
                   "REMOTE_ADDR=192.0.2.10", "SCRIPT_NAME=/cgi-bin/qmailadmin", "HTTP_HOST=mail.example", "SERVER_SOFTWARE=test",
                   "GATEWAY_INTERFACE=CGI/1.1", "HTTP_COOKIE=lang=en"]
        if let body { env.append("CONTENT_LENGTH=\(body.utf8.count)") }
        let input = site.root + "/cgi-input"
        try (body ?? "").write(toFile: input, atomically: true, encoding: .utf8)
        let r = try tool(["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/env", "-i"] + env
                         + ["/bin/sh", "-c", "exec '\(cgi)' < '\(input)'"])
        #expect(r.status == 0, "qmailadmin \(pathInfo): status \(r.status) \(r.err)")
        #expect(r.out.hasPrefix("Content-Type: text/html"), "qmailadmin \(pathInfo): \(r.out.prefix(200))")
        return r.out
    }

    /// Logs in on the login form; the session query (`user=...&dom=...&time=...`).
    func login(_ user: String, _ domain: String, _ password: String) throws -> String? {
        let page = try request("", body: "username=\(user)&domain=\(domain)&password=\(password)")
        guard let r = page.range(of: "user=\(user)&dom=\(domain)&time=") else { return nil }
        let time = page[r.upperBound...].prefix { $0.isNumber }
        return "user=\(user)&dom=\(domain)&time=\(time)"
    }
}

@Suite struct QmailadminPages {
    /// The pages a domain's postmaster and a user use, on cdb and on MySQL; every change seen by
    /// vuserinfo, valias and vchkpw.
    @Test(arguments: storesUnderTest(["cdb", "mysql"]))
    func pages(store: String) throws {
        let s = try Site(store: store)
        try s.ok(["vadddomain", "qa.example", "Pm-secret-1"])
        try s.ok(["vadduser", "ann@qa.example", "Ann-secret-1"])
        let qa = try Qmailadmin(s)

        // A wrong password: the login page again, no session.
        #expect(try qa.login("postmaster", "qa.example", "wrong") == nil)
        let pm = try #require(try qa.login("postmaster", "qa.example", "Pm-secret-1"))

        // The user list.
        let users = try qa.request("/com/showusers", query: pm)
        #expect(users.contains("ann") && users.contains("postmaster"))

        // Add a user.
        _ = try qa.request("/com/addusernow", query: pm,
                           body: pm + "&newu=bob&password1=Bob-secret-1&password2=Bob-secret-1&gecos=Bob+Smith&quota=")
        #expect(try s.ok(["vuserinfo", "-c", "bob@qa.example"]).out.contains("Bob Smith"))
        #expect(try s.vchkpw("bob@qa.example", "Bob-secret-1").status == 0)
        #expect(try qa.request("/com/showusers", query: pm).contains("bob"))

        // Change its password and set a quota (25 MB).
        _ = try qa.request("/com/modusernow", query: pm,
                           body: pm + "&modu=bob&password1=Bob-new-pw-2&password2=Bob-new-pw-2&gecos=Bob+Smith&quota=25")
        #expect(try s.vchkpw("bob@qa.example", "Bob-new-pw-2").status == 0)
        #expect(try s.vchkpw("bob@qa.example", "Bob-secret-1").status != 0)
        #expect(try s.ok(["vuserinfo", "-q", "bob@qa.example"]).out.trimmingCharacters(in: .newlines) == "26214400S")

        // A forward.
        _ = try qa.request("/com/adddotqmailnow", query: pm, body: pm + "&newu=bob@elsewhere.example&alias=sales")
        #expect(try s.ok(["valias", "-s", "sales@qa.example"]).out.contains("&bob@elsewhere.example"))
        #expect(try qa.request("/com/showforwards", query: pm).contains("sales"))

        // The quick-action box: a name is a mailbox, a forward, or nothing (isExistingUser,
        // isExistingAlias, isValidMailList, isExistingRobot, lowerit).
        let forward = try qa.request("/com/quick", query: pm + "&modu=SALES&MODIFY=Modify")
        #expect(forward.contains("bob@elsewhere.example"), "quick modify of a forward shows its lines")
        let mailbox = try qa.request("/com/quick", query: pm + "&modu=Bob&MODIFY=Modify")
        #expect(mailbox.contains("name=\"password1\"") && mailbox.contains("bob"), "quick modify of a mailbox shows its page")
        let nothing = try qa.request("/com/quick", query: pm + "&modu=nosuch&DELETE=Delete")
        #expect(nothing.contains("nosuch@qa.example") && !nothing.contains("name=\"password1\""))

        // Delete the user.
        _ = try qa.request("/com/delusernow", query: pm, body: pm + "&deluser=bob")
        #expect(try s.run(["vuserinfo", "bob@qa.example"]).status != 0)
        #expect(!FileManager.default.fileExists(atPath: s.domainDir("qa.example") + "/bob"))

        // A user logs in (the modify-user page of their own) and changes the password there,
        // then on the password page.
        let ann = try #require(try qa.login("ann", "qa.example", "Ann-secret-1"))
        _ = try qa.request("/com/modusernow", query: ann,
                           body: ann + "&modu=ann&password1=Ann-new-pw-2&password2=Ann-new-pw-2&gecos=Ann")
        #expect(try s.vchkpw("ann@qa.example", "Ann-new-pw-2").status == 0)
        // A user may not act on another account.
        _ = try qa.request("/com/modusernow", query: ann,
                           body: ann + "&modu=postmaster&password1=Stolen-pw-9&password2=Stolen-pw-9&gecos=x")
        #expect(try s.vchkpw("postmaster@qa.example", "Stolen-pw-9").status != 0)
        let changed = try qa.request("/passwd/", body: "address=ann@qa.example&oldpass=Ann-new-pw-2&newpass1=Ann-third-3&newpass2=Ann-third-3")
        #expect(changed.contains("success"))
        #expect(try s.vchkpw("ann@qa.example", "Ann-third-3").status == 0)
        #expect(try s.vchkpw("ann@qa.example", "Ann-new-pw-2").status != 0)
    }

    /// Password guessing on the login page meets vchkpw's throttle (the state file as install.sh
    /// lays it out: root's, writable by the vchkpw group qmailadmin runs as).
    @Test func loginPageIsThrottled() throws {
        let s = try Site(config: "throttle = y\nthrottle-address-refuse-after = 100\nthrottle-address-delay-after = 100\n"
                         + "throttle-login-delay-after = 100\nthrottle-login-refuse-after = 3\n")
        try s.ok(["vadddomain", "qa.example", "Pm-secret-1"])
        let state = s.home + "/etc/login-failures"
        #expect(FileManager.default.createFile(atPath: state, contents: nil))
        let group = try tool(["/usr/bin/getent", "group", "vchkpw"]).out.split(separator: ":")
        chown(state, 0, gid_t(group.count > 2 ? String(group[2]) : "89") ?? 89)
        chmod(state, 0o660)
        let qa = try Qmailadmin(s)
        for _ in 1...3 { #expect(try qa.login("postmaster", "qa.example", "guess") == nil) }
        #expect(try qa.login("postmaster", "qa.example", "Pm-secret-1") == nil, "the right password after 3 failures")
        #expect(try s.vchkpw("postmaster@qa.example", "Pm-secret-1", env: ["TCPLOCALPORT": "110"]).status == 16)
    }
}
