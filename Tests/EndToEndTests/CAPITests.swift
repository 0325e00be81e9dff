import Foundation
import Testing

/// The toolchain's root (`/opt/swift` for `/opt/swift/usr/bin/swiftc`), hidden from the C
/// client to show it needs none of it.
let swiftToolchainRoot: String? = {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
        let p = "\(dir)/swiftc"
        if FileManager.default.isExecutableFile(atPath: p) {
            return URL(fileURLWithPath: p).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().path
        }
    }
    return nil
}()

extension Site {
    /// libvpopmail laid out for this site, as install.sh does: lib/, include/, etc/inc_deps,
    /// etc/lib_deps.
    /// The library reads no environment (its clients run setuid): the qmail directory comes from
    /// vpopmail.conf, where install.sh writes one that is not /var/qmail.
    func layOutLibrary() throws {
        let conf = home + "/etc/vpopmail.conf"
        let text = (try? String(contentsOfFile: conf, encoding: .utf8)) ?? ""
        if !text.contains("qmaildir") { try (text + "qmaildir = \(qmail)\n").write(toFile: conf, atomically: true, encoding: .utf8) }
        let r = try tool([packageRoot + "/scripts/libvpopmail.sh", packageRoot + "/.build/release", home, qmail])
        #expect(r.status == 0, "libvpopmail.sh: \(r.err)")
    }

    /// Builds a C file the way the issue says a client is built:
    /// `gcc $(cat etc/inc_deps) client.c $(head -1 etc/lib_deps)`.
    func buildClient(_ source: String, output: String) throws -> Result {
        try tool(["/bin/sh", "-c", "gcc -Wall -o '\(output)' $(cat '\(home)/etc/inc_deps') '\(source)' $(head -1 '\(home)/etc/lib_deps')"])
    }
}

/// The test client (Tests/Fixtures/capi/client.c), built against a site.
struct CClient {
    let site: Site
    let binary: String

    init(_ site: Site) throws {
        self.site = site
        try site.layOutLibrary()
        binary = site.root + "/capi-client"
        let r = try site.buildClient(packageRoot + "/Tests/Fixtures/capi/client.c", output: binary)
        try #require(r.status == 0, "building the C client: \(r.err)")
    }

    /// One call; its output line(s).
    @discardableResult
    func call(_ args: String...) throws -> String {
        let r = try site.run([binary] + args)
        #expect(r.err.isEmpty || args[0] == "parse_email", "\(args): \(r.err)")
        return r.out.trimmingCharacters(in: .newlines)
    }
}

@Suite struct CAPI {
    /// The seed's list and the vauth calls, through the archive, on cdb and the SQL stores;
    /// every change seen by the commands and vchkpw.
    @Test(arguments: storesUnderTest(["cdb", "sqlite", "mysql", "pgsql"]))
    func clientOnEveryStore(store: String) throws {
        let s = try Site(store: store)
        let c = try CClient(s)
        #expect(try c.call("vauth_open") == "0 Success")
        #expect(try c.call("vadddomain", "capi.example") == "0 Success")
        #expect(try c.call("vadddomain", "capi.example") == "-13 Domain already exists")
        #expect(try s.ok(["vdominfo", "-n", "capi.example"]).out.contains("capi.example"))
        #expect(try c.call("vadduser", "postmaster", "capi.example", "Pm-secret-1", "Postmaster") == "0 Success")
        #expect(try c.call("vadduser", "ann", "capi.example", "Ann-secret-1", "Ann Example") == "0 Success")
        #expect(try s.vchkpw("ann@capi.example", "Ann-secret-1").status == 0)
        #expect(try s.ok(["vuserinfo", "-c", "ann@capi.example"]).out.contains("Ann Example"))
        // Bad input: the VA_* code, nothing changed.
        let before = s.snapshot()
        #expect(try c.call("vadduser", "ann", "capi.example", "x-secret-9", "") == "-2 Username exists")
        #expect(try c.call("vadduser", "bad:name", "capi.example", "x-secret-9", "") == "-1 Illegal username")
        #expect(try c.call("vadduser", "../../etc", "capi.example", "x-secret-9", "") == "-1 Illegal username")
        #expect(try c.call("vadduser", "zed", "capi.example", "x-secret-9", "a:b") == "-20 bad character")
        #expect(try c.call("vadduser", "zed", "nowhere.example", "x-secret-9", "") == "-11 Domain does not exist")
        #expect(try c.call("vadduser", String(repeating: "u", count: 65), "capi.example", "x", "").hasPrefix("-25 "))
        #expect(try c.call("setpw", "ann", "capi.example", "dir", "/etc") == "-88 path outside its tree")
        #expect(try c.call("setpw", "ann", "capi.example", "gecos", "a\nb") == "-20 bad character")
        #expect(try c.call("valias_insert", "info", "capi.example", "&x@y\n|/bin/sh") == "-20 bad character")
        #expect(try c.call("vsetuserquota", "ann", "capi.example", "lots") == "-85 invalid quota")
        #expect(try c.call("vpasswd", "nobody", "capi.example", "New-pw-1") == "-1 Illegal username")
        #expect(s.snapshot() == before, "a refused call changed files")

        // vauth_getpw: the record, in static storage, writable by the client.
        let pw = try c.call("vauth_getpw", "ANN", "capi.example").split(separator: "|", omittingEmptySubsequences: false)
        #expect(pw.count == 9 && pw[0] == "ann" && pw[5] == "Ann Example" && pw[6].hasSuffix("/capi.example/ann"))
        #expect(try c.call("vauth_getpw", "nobody", "capi.example") == "NULL")
        #expect(try c.call("static", "ann", "postmaster", "capi.example") == "same postmaster postmaster")
        let zeroed = try c.call("zero", "ann", "capi.example").split(separator: "|", omittingEmptySubsequences: false)
        #expect(zeroed.count == 9 && zeroed[1].hasPrefix("$"), "a client's write into the returned record reached the store")
        #expect(try c.call("vauth_user", "ann", "capi.example", "Ann-secret-1").hasPrefix("ann|"))
        #expect(try c.call("vauth_user", "ann", "capi.example", "wrong") == "NULL")
        #expect(try c.call("vauth_crypt", "ann", "capi.example", "Ann-secret-1") == "0")

        // Changes through the API, seen by the commands and vchkpw.
        #expect(try c.call("vpasswd", "ann", "capi.example", "Ann-new-pw-2") == "0 Success")
        #expect(try s.vchkpw("ann@capi.example", "Ann-new-pw-2").status == 0)
        #expect(try s.vchkpw("ann@capi.example", "Ann-secret-1").status != 0)
        #expect(try c.call("vsetuserquota", "ann", "capi.example", "10M") == "0 Success")
        #expect(try s.ok(["vuserinfo", "-q", "ann@capi.example"]).out.trimmingCharacters(in: .newlines) == "10485760S")
        #expect(try c.call("setpw", "ann", "capi.example", "gid", "0x1000") == "0 Success")
        #expect(try s.ok(["vuserinfo", "ann@capi.example"]).out.contains("4096"))
        #expect(try c.call("vauth_getall", "capi.example") == "ann postmaster (2)")
        #expect(try c.call("valias_insert", "info", "capi.example", "&ann@capi.example") == "0 Success")
        #expect(try c.call("valias_insert", "info", "capi.example", "&bob@remote.example") == "0 Success")
        #expect(try s.ok(["valias", "-s", "info@capi.example"]).out.contains("&bob@remote.example"))
        #expect(try c.call("valias_select", "info", "capi.example") == "&ann@capi.example;&bob@remote.example;")
        #expect(try c.call("valias_select_all", "capi.example") == "info=&ann@capi.example;info=&bob@remote.example;")
        #expect(try c.call("valias_remove", "info", "capi.example", "&ann@capi.example") == "0 Success")
        #expect(try c.call("valias_select", "info", "capi.example") == "&bob@remote.example;")
        #expect(try c.call("valias_delete", "info", "capi.example") == "0 Success")
        #expect(try s.run(["valias", "-s", "info@capi.example"]).out.contains("&bob") == false)
        #expect(try c.call("vset_limits", "capi.example", "7") == "0 Success")
        #expect(try c.call("vget_limits", "capi.example").hasPrefix("0 7 "))
        #expect(try s.ok(["vmoddomlimits", "-S", "capi.example"]).out.contains("7"))
        #expect(try c.call("vdel_limits", "capi.example") == "0 Success")
        #expect(try c.call("lastauth", "ann", "capi.example", "192.0.2.7") == "0 Success\n192.0.2.7 1")

        // users/assign, aliases of a domain, the helpers.
        #expect(try c.call("vaddaliasdomain", "alias.example", "capi.example") == "0 Success")
        let assign = try c.call("vget_assign", "alias.example").split(separator: "\n")
        let fields = assign.first?.split(separator: " ") ?? []
        #expect(assign.count == 2 && fields.count == 5 && fields[1] == "capi.example" && fields[0].hasSuffix("/capi.example")
                && assign[1] == fields[0], "vget_assign rewrites an alias to its real domain: \(assign)")
        #expect(try c.call("vget_assign", "nowhere.example").hasPrefix("NULL nowhere.example"))
        #expect(try c.call("get_domain_entries", "alias.example").contains("alias.example>capi.example"))
        #expect(try c.call("parse_email", "Ann@Capi.Example") == "0 ann capi.example")
        #expect(try c.call("parse_email", "a b@capi.example").hasPrefix("-1 "))
        #expect(try c.call("format_maildirquota", "1mbs,1000C") == "[1048576S,1000C]")
        #expect(try c.call("verror", "-10") == "User does not exist")
        #expect(try s.run([c.binary, "vexit", "7"]).status == 7)

        // vauth_adduser/vauth_deluser: the record only, in a bucket of the domain.
        #expect(try c.call("vauth_adduser", "rec", "capi.example", "Rec-secret-1", "Record", "") == "0 Success")
        #expect(try c.call("vauth_getpw", "rec", "capi.example").contains("/capi.example/rec|"))
        #expect(try c.call("vauth_adduser", "rec2", "capi.example", "Rec-secret-1", "Record", "../..") == "-88 path outside its tree")
        #expect(try c.call("vauth_deluser", "rec", "capi.example") == "0 Success")
        #expect(try c.call("vdeluser", "ann", "capi.example") == "0 Success")
        #expect(try s.run(["vuserinfo", "ann@capi.example"]).status != 0)
        #expect(!FileManager.default.fileExists(atPath: s.domainDir("capi.example") + "/ann"))
        #expect(try c.call("vdeldomain", "capi.example") == "0 Success")
        #expect(try s.run(["vdominfo", "capi.example"]).status != 0)
        // Every change is in the audit log, named as the C program's (docs/audit.md).
        let audit = (try? String(contentsOfFile: s.home + "/etc/audit.log", encoding: .utf8)) ?? ""
        let mine = audit.split(separator: "\n").filter { $0.contains("\"via\":\"capi:capi-client\"") }
        for action in ["add_domain", "add_user", "del_user", "del_domain"] {
            #expect(mine.contains { $0.contains("\"action\":\"\(action)\"") }, "no \(action) by the C client in the audit log")
        }
        #expect(!audit.contains("Ann-secret-1") && !audit.contains("Pm-secret-1"))
    }

    /// vauth_user counts failures in vchkpw's throttling state: after three wrong passwords the
    /// right one is refused, through the API and through vchkpw alike.
    @Test func vauthUserIsThrottledLikeVchkpw() throws {
        let s = try Site.withJoe("throttle = y\nthrottle-address-refuse-after = 100\nthrottle-address-delay-after = 100\n"
                                 + "throttle-login-delay-after = 100\nthrottle-login-refuse-after = 3\n")
        let c = try CClient(s)
        #expect(try c.call("vauth_user", "joe", "example.com", "Secret-pw1").hasPrefix("joe|"))
        for _ in 1...3 { #expect(try c.call("vauth_user", "joe", "example.com", "Wrong-pw") == "NULL") }
        #expect(try c.call("vauth_user", "joe", "example.com", "Secret-pw1") == "NULL")
        #expect(try s.vchkpw("joe@example.com", "Secret-pw1", env: ["TCPLOCALPORT": "110"]).status == 16)
    }

    /// The archive: one object, position-independent (a shared object links it), exporting
    /// exactly the names the headers declare and upstream's globals, needing no Swift library at
    /// run time, and a client built and run where the Swift toolchain is hidden.
    @Test func archiveIsSelfContained() throws {
        let s = try Site()
        try s.layOutLibrary()
        let archive = s.home + "/lib/libvpopmail.a"
        let exported = Set(try tool(["/usr/bin/nm", "-g", "--defined-only", "--format=posix", archive]).out
            .split(separator: "\n").compactMap { l -> String? in
                let f = l.split(separator: " ")
                return f.count >= 2 ? String(f[0]) : nil
            }.filter { !$0.hasSuffix(":") && !$0.hasSuffix("]") })
        // Every prototype of the installed headers.
        var declared = Set<String>()
        let proto = try NSRegularExpression(pattern: #"^[a-z][a-z_ ]*[ *]+\**([A-Za-z_][A-Za-z0-9_]*)\s*\([^;]*\);"#, options: [.anchorsMatchLines])
        for h in try FileManager.default.contentsOfDirectory(atPath: s.home + "/include") {
            let text = try String(contentsOfFile: s.home + "/include/" + h, encoding: .utf8)
            for m in proto.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                declared.insert((text as NSString).substring(with: m.range(at: 1)))
            }
        }
        #expect(declared.count > 70)
        #expect(exported == declared.union(["verrori", "OptimizeAddDomain", "NoMakeIndex"]),
                "exported but not declared: \(exported.subtracting(declared)); declared but missing: \(declared.subtracting(exported))")
        for own in ["str_replace", "file_exists", "sort_init", "swift_retain", "main"] { #expect(!exported.contains(own)) }
        // Position-independent: linked whole into a shared object.
        let so = s.root + "/libtest.so"
        let shared = try tool(["/bin/sh", "-c", "gcc -shared -o '\(so)' -Wl,--whole-archive '\(archive)' -Wl,--no-whole-archive $(head -1 '\(s.home)/etc/lib_deps' | sed 's/-lvpopmail//')"])
        #expect(shared.status == 0, "shared object: \(shared.err)")
        // A client: no Swift library needed, and it builds and runs with the toolchain hidden.
        let src = s.root + "/hello.c"
        try """
        #include <stdio.h>
        #include <vpopmail.h>
        #include <vauth.h>
        int main(void) {
          int r = vadddomain("hidden.example", VPOPMAILDIR, VPOPMAILUID, VPOPMAILGID);
          r = r ? r : vadduser("joe", "hidden.example", "Joe-secret-1", "Joe", USE_POP);
          struct vqpasswd *pw = vauth_getpw("joe", "hidden.example");
          printf("%d %s %s\\n", r, verror(r), pw ? pw->pw_name : "NULL");
          vclose();
          return r != 0;
        }
        """.write(toFile: src, atomically: true, encoding: .utf8)
        let bin = s.root + "/hello"
        let build = "gcc -o '\(bin)' $(cat '\(s.home)/etc/inc_deps') '\(src)' $(head -1 '\(s.home)/etc/lib_deps')"
        if let toolchain = swiftToolchainRoot, try tool(["/usr/bin/unshare", "-m", "/bin/true"]).status == 0 {
            let r = try tool(["/usr/bin/unshare", "-m", "/bin/sh", "-c",
                              "mount -t tmpfs none '\(toolchain)' && ! command -v swiftc && \(build) && VPOPMAIL_HOME=/nonexistent '\(bin)'"])
            #expect(r.status == 0 && r.out.contains("0 Success joe"), "with \(toolchain) hidden: \(r.out) \(r.err)")
        } else {
            let r = try tool(["/bin/sh", "-c", "\(build) && '\(bin)'"])
            #expect(r.status == 0 && r.out.contains("0 Success joe"), "\(r.out) \(r.err)")
        }
        let needed = try tool(["/usr/bin/readelf", "-d", bin]).out
        #expect(!needed.lowercased().contains("swift"), "the client needs a Swift library: \(needed)")
        #expect(try s.ok(["vuserinfo", "-n", "joe@hidden.example"]).out.contains("joe"))
        // Linked for cdb only (lib_deps of a cdb installation names no SQL client library): a
        // configuration switched to an SQL store is refused with the VA code, not a crash.
        #expect(try !String(contentsOfFile: s.home + "/etc/lib_deps", encoding: .utf8).contains("-lpq"))
        let conf = s.home + "/etc/vpopmail.conf"
        try (try String(contentsOfFile: conf, encoding: .utf8) + "auth-module = pgsql\n").write(toFile: conf, atomically: true, encoding: .utf8)
        let refused = try tool([bin])
        #expect(refused.status == 1 && refused.out.hasPrefix("-23 no authentication database connection"), "\(refused.out) \(refused.err)")
    }
}
