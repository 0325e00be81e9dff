import Foundation
import Testing

/// Every store must behave the same through the commands, vchkpw and vdelivermail: one suite,
/// run against each (docs/sql-stores.md). SQL sites keep aliases and
/// limits in their tables (`valias = y`, `mysql-limits = y`).
let allStores = storesUnderTest(["cdb", "sqlite", "sqlite-large", "mysql", "mysql-large", "pgsql", "pgsql-large"])

/// Names and passwords full of quotes, backslashes and `%`: they must reach the server as bound
/// values and come back unchanged.
let nastyPassword = #"p'a"s\s%_*--;"#
let nastyUser = "o'neil_x+y"

/// `vuserinfo -<field> -D domain` without its separator lines.
func listing(_ s: Site, _ field: String, _ domain: String) throws -> [String] {
    try s.ok(["vuserinfo", field, "-D", domain]).out.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("----") }
}

@Suite struct Conformance {
    func login(_ s: Site, _ who: String, _ pw: String, port: String = "110", env: [String: String] = [:]) throws -> Result {
        try s.vchkpw(who, pw, env: ["TCPLOCALPORT": port, "TCPREMOTEIP": "192.0.2.7"].merging(env) { $1 })
    }

    @Test(arguments: allStores)
    func domainsAndUsers(store: String) throws {
        let s = try Site(store: store)
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.expectRefused(["vadddomain", "example.com", "pw"], status: 243, message: "Domain already exists")
        try s.ok(["vadduser", "-q", "10M", "-c", "Joe Bloggs", "joe@example.com", nastyPassword])
        try s.ok(["vadduser", nastyUser + "@example.com", nastyPassword])
        try s.expectRefused(["vadduser", "joe@example.com", "x"], status: 255, message: "exists")

        let info = try s.ok(["vuserinfo", "-n", "-c", "-d", "-q", "joe@example.com"]).out
        #expect(info == "joe\nJoe Bloggs\n\(s.domainDir("example.com"))/joe\n10485760S\n")
        #expect(try login(s, "joe@example.com", nastyPassword).status == 0)
        #expect(try login(s, "JOE@example.com", nastyPassword).status == 0)
        #expect(try login(s, nastyUser + "@example.com", nastyPassword).status == 0)
        #expect(try login(s, "joe@example.com", "p'a").status == 3)
        #expect(try login(s, "nobody@example.com", nastyPassword).status == 3)

        // Listing order: byte order of the names, whatever the server's collation.
        for n in ["zed", "Abe", "a_b", "a-b", "ab", "mid", "a.b"] { try s.ok(["vadduser", "-e", knownHash, n + "@example.com"]) }
        let names = try listing(s, "-n", "example.com")
        #expect(names == ["a-b", "a.b", "a_b", "abe", "ab", "joe", "mid", nastyUser, "postmaster", "zed"].sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })

        // Passwords, quotas, flags.
        try s.ok(["vpasswd", "joe@example.com", "n3w%'pw"])
        #expect(try login(s, "joe@example.com", nastyPassword).status == 3)
        #expect(try login(s, "joe@example.com", "n3w%'pw").status == 0)
        try s.ok(["vsetuserquota", "joe@example.com", "5M,100C"])
        #expect(try s.ok(["vuserinfo", "-q", "joe@example.com"]).out == "5242880S,100C\n")
        try s.ok(["vmoduser", "-p", "joe@example.com"])
        #expect(try login(s, "joe@example.com", "n3w%'pw").status == 1)
        #expect(try login(s, "joe@example.com", "n3w%'pw", port: "143").status == 0)
        try s.ok(["vmoduser", "-x", "joe@example.com"])
        #expect(try login(s, "joe@example.com", "n3w%'pw").status == 0)
        try s.ok(["vmoduser", "-c", "It's \"Joe\" \\ 100%", "joe@example.com"])
        #expect(try s.ok(["vuserinfo", "-c", "joe@example.com"]).out == "It's \"Joe\" \\ 100%\n")

        // lastauth: the login above, with its address.
        let last = try s.ok(["vuserinfo", "-l", "joe@example.com"]).out
        #expect(last.contains("last auth ip: 192.0.2.7"), "\(last)")
        #expect(try s.ok(["vuserinfo", "-l", "zed@example.com"]).out.contains("Never logged in"))

        // dir_control: the user counter of vdominfo.
        #expect(try s.ok(["vdominfo", "example.com"]).out.contains("users:  10\n"))

        // Deleting a user: no login, the home is gone, the counter goes down.
        let home = s.domainDir("example.com") + "/" + nastyUser
        #expect(FileManager.default.fileExists(atPath: home + "/Maildir/new"))
        try s.ok(["vdeluser", nastyUser + "@example.com"])
        #expect(!FileManager.default.fileExists(atPath: home))
        #expect(try login(s, nastyUser + "@example.com", nastyPassword).status == 3)
        #expect(try s.ok(["vdominfo", "example.com"]).out.contains("users:  9\n"))
        try s.expectRefused(["vdeluser", nastyUser + "@example.com"], status: 246, message: "does not exist")

        // Delivery through vdelivermail reads the same store.
        let r = try s.deliver("Subject: hi\n\nhello\n", to: "joe", at: "example.com")
        #expect(r.status == 0, "\(r.out) \(r.err)")
        #expect(s.newMessages(s.domainDir("example.com") + "/joe/Maildir").count == 1)
        #expect(try s.deliver("Subject: hi\n\nhello\n", to: "nobody", at: "example.com", default: "bounce-no-mailbox").status == 100)

        // Deleting the domain removes its accounts from the store: a new domain of the same
        // name starts empty.
        try s.ok(["vdeldomain", "example.com"])
        #expect(try login(s, "joe@example.com", "n3w%'pw").status == 3)
        try s.ok(["vadddomain", "example.com", "pw"])
        #expect(try listing(s, "-n", "example.com") == ["postmaster"])
        #expect(try login(s, "joe@example.com", "n3w%'pw").status == 3)
    }

    @Test(arguments: allStores)
    func aliasDomainsAliasesAndLimits(store: String) throws {
        let s = try Site(store: store, config: "ip-alias-domains = y\n")
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "joe@example.com", "secret"])

        // Alias domains log in as their real domain.
        try s.ok(["vaddaliasdomain", "alias.test", "example.com"])
        let env = try login(s, "joe@alias.test", "secret").out
        #expect(env.contains("VPOPUSER=joe@alias.test"))
        #expect(try s.ok(["vdominfo", "example.com"]).out.contains("alias: alias.test\n"))
        try s.ok(["vdeldomain", "alias.test"])
        #expect(try login(s, "joe@alias.test", "secret").status == 3)
        #expect(try login(s, "joe@example.com", "secret").status == 0)

        // Aliases (valias): insert, show, deliver through, remove.
        try s.ok(["valias", "-i", "joe@example.com", "team@example.com"])
        try s.ok(["valias", "-i", s.domainDir("example.com") + "/joe/Maildir/", "team@example.com"])
        try s.ok(["valias", "-i", "x'y%z@remote.test", "other@example.com"])
        try s.expectRefused(["valias", "-i", "joe@example.com", "team@example.com"], status: 255, message: "already exists")
        #expect(try s.ok(["valias", "-n", "example.com"]).out == "other\nteam\n")
        #expect(try s.ok(["valias", "-s", "team@example.com"]).out
                == "team@example.com -> joe@example.com\nteam@example.com -> \(s.domainDir("example.com"))/joe/Maildir/\n")
        #expect(try s.ok(["valias", "-s", "other@example.com"]).out == "other@example.com -> x'y%z@remote.test\n")
        try s.ok(["valias", "-d", "other@example.com"])
        #expect(try s.run(["valias", "-s", "other@example.com"]).status == 255)
        if store != "cdb" {
            #expect(!FileManager.default.fileExists(atPath: s.domainDir("example.com") + "/.qmail-team"))
        }

        // Limits.
        try s.ok(["vmoddomlimits", "-P", "3", "-g", "p", "example.com"])
        #expect(try s.ok(["vmoddomlimits", "-S", "example.com"]).out.contains("Max Pop Accounts: 3"))
        #expect(try login(s, "joe@example.com", "secret").status == 1)
        try s.ok(["vadduser", "-e", knownHash, "ann@example.com"])
        try s.expectRefused(["vadduser", "-e", knownHash, "bob@example.com"], status: 172, message: "limit")
        try s.ok(["vmoddomlimits", "-D", "example.com"])
        #expect(try login(s, "joe@example.com", "secret").status == 0)
        try s.ok(["vadduser", "-e", knownHash, "bob@example.com"])

        // IP map: a bare user name on a mapped server address finds the domain.
        try s.ok(["vipmap", "-a", "10.1.1.1", "example.com"])
        try s.ok(["vipmap", "-a", "10.1.1.2", "other.test"])
        #expect(try s.ok(["vipmap", "-p"]).out == "10.1.1.1 example.com\n10.1.1.2 other.test\n")
        #expect(try login(s, "joe", "secret", env: ["TCPLOCALIP": "10.1.1.1"]).status == 0)
        try s.ok(["vipmap", "-d", "10.1.1.1", "example.com"])
        #expect(try s.ok(["vipmap", "-p"]).out == "10.1.1.2 other.test\n")
        #expect(try login(s, "joe", "secret", env: ["TCPLOCALIP": "10.1.1.1"]).status == 3)
    }

    @Test(arguments: allStores)
    func roamingRelay(store: String) throws {
        let s = try Site(store: store, config: "roaming-users = y\n")
        try "127.:allow,RELAYCLIENT=\"\"\n:allow\n".write(toFile: s.home + "/etc/tcp.smtp", atomically: true, encoding: .utf8)
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "joe@example.com", "secret"])
        #expect(try login(s, "joe@example.com", "secret", env: ["TCPREMOTEIP": "198.51.100.9"]).status == 0)
        let cdb = s.home + "/etc/tcp.smtp.cdb"
        #expect(try tool(["/usr/bin/cdb", "-q", cdb, "198.51.100.9"]).status == 0)
        let check = try tool(["/usr/bin/env", "TCPREMOTEIP=198.51.100.9", "/usr/bin/tcprulescheck", cdb])
        #expect(check.out.contains("RELAYCLIENT"), "\(check.out)")
        // clearopensmtp keeps a fresh address and rebuilds the rules.
        try s.ok(["clearopensmtp"])
        #expect(try tool(["/usr/bin/cdb", "-q", cdb, "198.51.100.9"]).status == 0)
        #expect(try tool(["/usr/bin/cdb", "-q", cdb, "127."]).status == 0)
    }

    @Test(arguments: allStores)
    func concurrentAddsAllSucceed(store: String) throws {
        let s = try Site(store: store)
        try s.ok(["vadddomain", "example.com", "pw"])
        let procs = 5, each = 12
        DispatchQueue.concurrentPerform(iterations: procs) { p in
            for i in 0..<each {
                let r = try? s.run(["vadduser", "-e", knownHash, "p\(p)u\(i)@example.com"])
                #expect(r?.status == 0, "p\(p)u\(i): \(r?.out ?? "") \(r?.err ?? "")")
            }
        }
        let names = try listing(s, "-n", "example.com")
        #expect(names.count == procs * each + 1)
        #expect(try s.ok(["vdominfo", "example.com"]).out.contains("users:  \(procs * each + 1)\n"))
        // Every home is distinct and exists.
        let homes = try listing(s, "-d", "example.com")
        #expect(Set(homes).count == homes.count)
        for h in homes { #expect(FileManager.default.fileExists(atPath: h + "/Maildir/new")) }
    }

    /// vdeloldusers on every store: an account whose last login (or creation) is old goes.
    @Test(arguments: allStores)
    func vdeloldusersUsesLastLogins(store: String) throws {
        let s = try Site(store: store)
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "old@example.com", "pw"])
        try s.ok(["vadduser", "new@example.com", "pw"])
        #expect(try s.vchkpw("new@example.com", "pw", env: ["TCPLOCALPORT": "110", "TCPREMOTEIP": "192.0.2.3"]).status == 0)
        if store == "cdb" {
            var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
            for u in ["old", "postmaster"] { utimensat(AT_FDCWD, s.domainDir("example.com") + "/\(u)/lastauth", &times, 0) }
        } else {
            let col = store.hasPrefix("pgsql") ? "userid" : "user"
            let r = try s.sql("UPDATE lastauth SET timestamp = 1000000000 WHERE \(col) IN ('old', 'postmaster')")
            #expect(r.status == 0, "\(r.err)")
        }
        #expect(try s.ok(["vdeloldusers", "-V", "-d", "example.com"]).out == "old@example.com\n ** no users were deleted  **\n ** use -D to delete users **\n")
        try s.ok(["vdeloldusers", "-D", "-e"])
        #expect(try listing(s, "-n", "example.com") == ["new", "postmaster"])
        #expect(try s.ok(["vdeloldusers", "-e"]).out == "no old users found\n")
    }
}
