import Foundation
import Testing

@Suite struct Domains {
    @Test func vadddomainWritesQmailFilesAndPostmaster() throws {
        let s = try Site()
        try "localhost\nexample.com\n".write(toFile: s.qmail + "/control/locals", atomically: true, encoding: .utf8)
        let r = try s.ok(["vadddomain", "example.com", "secret"])
        #expect(r.out.isEmpty)
        let dir = s.domainDir("example.com")
        #expect(s.read(s.qmail + "/users/assign") == "+example.com-:example.com:89:89:\(dir):-::\n.\n")
        #expect(s.read(s.qmail + "/control/rcpthosts") == "example.com\n")
        #expect(s.read(s.qmail + "/control/virtualdomains") == "example.com:example.com\n")
        #expect(s.read(s.qmail + "/control/locals") == "localhost\n")
        #expect(s.read(dir + "/.qmail-default") == "| \(s.home)/bin/vdelivermail '' delete\n")
        #expect(try tinycdbAgrees(s.qmail + "/users/cdb"))
        let dump = try tool(["/usr/bin/cdb", "-d", s.qmail + "/users/cdb"]).out
        #expect(dump == "+13,\(dir.utf8.count + 21):!example.com-->example.com\u{0}89\u{0}89\u{0}\(dir)\u{0}-\u{0}\n+0,1:->-\n\n")
        let vpasswd = try #require(s.read(dir + "/vpasswd"))
        let f = vpasswd.split(separator: ":", omittingEmptySubsequences: false)
        #expect(f.count == 7 && f[0] == "postmaster" && f[1].hasPrefix("$6$") && f[1].count == 98)
        #expect(f[2] == "1" && f[3] == "0" && f[4] == "Postmaster" && f[5] == dir + "/postmaster" && f[6] == "52428800S\n")
        #expect(try tinycdbAgrees(dir + "/vpasswd.cdb"))
        let q = try tool(["/usr/bin/cdb", "-q", dir + "/vpasswd.cdb", "postmaster"])
        #expect(q.out == String(vpasswd.dropFirst("postmaster:".count).dropLast()))
        for sub in ["Maildir/new", "Maildir/cur", "Maildir/tmp"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/postmaster/" + sub))
        }
        #expect(s.read(dir + "/postmaster/Maildir/maildirsize") == "52428800S\n0 0\n")
        #expect(s.read(dir + "/postmaster/lastauth") == "0.0.0.0")
        #expect(s.read(dir + "/.dir-control") == "1\n0\n3\n0 0 0\n61 61 61\n0 2 4\n0 0 0\n\n")
        var st = stat()
        stat(dir, &st)
        #expect(st.st_uid == 89 && st.st_gid == 89 && st.st_mode & 0o777 == 0o700)
    }

    @Test func vadddomainOptions() throws {
        let s = try Site()
        let r = try s.ok(["vadddomain", "-r", "-q", "5M", "-e", "catchall", "-i", "1234", "-g", "1235", "example.org"])
        #expect(r.out.hasPrefix("Random password: ") && r.out.count == "Random password: ".count + 13)
        let dir = s.domainDir("example.org")
        #expect(s.read(dir + "/.qmail-default") == "| \(s.home)/bin/vdelivermail '' \(dir)/catchall\n")
        #expect(s.read(s.qmail + "/users/assign")!.contains(":1234:1235:"))
        #expect(s.read(dir + "/vpasswd")!.hasSuffix(":5242880S\n"))
        try s.ok(["vadddomain", "-e", "someone@else.net", "example.net", "pw"])
        #expect(s.read(s.domainDir("example.net") + "/.qmail-default")!.hasSuffix("'' someone@else.net\n"))
        let usage = try s.run(["vadddomain"])
        #expect(usage.status == 0 && usage.out.contains("usage"))
        try s.expectRefused(["vadddomain", "-r", "x.com", "pw"], status: 255, message: "Error: don't use -r option when giving password on command line")
    }

    @Test func domainsAreSortedAndRcpthostsOverflowToMorercpthosts() throws {
        let s = try Site()
        let names = (0..<52).map { "d\($0).example.com" }
        for n in names { try s.ok(["vadddomain", "-O", n, "pw"]) }
        try s.ok(["vadddomain", "last.example.com", "pw"])
        let rcpt = s.read(s.qmail + "/control/rcpthosts")!.split(separator: "\n")
        #expect(rcpt.count == 50)
        let more = s.read(s.qmail + "/control/morercpthosts")!.split(separator: "\n")
        #expect(more.count == 3)
        #expect(try tinycdbAgrees(s.qmail + "/control/morercpthosts.cdb"))
        let lookup = try tool(["/usr/bin/cdb", "-q", s.qmail + "/control/morercpthosts.cdb", String(more[0])])
        #expect(lookup.status == 0)
        let assign = s.read(s.qmail + "/users/assign")!.split(separator: "\n").map(String.init)
        #expect(assign.last == ".")
        let keys = assign.dropLast().map { $0.dropFirst().split(separator: "-:")[0] }
        #expect(keys == keys.sorted())
        #expect(try tinycdbAgrees(s.qmail + "/users/cdb"))
    }

    @Test func aliasDomainsAndVdominfo() throws {
        let s = try Site()
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vaddaliasdomain", "alias.net", "example.com"])  // swapped order is accepted
        let dir = s.domainDir("example.com")
        #expect(s.read(s.qmail + "/users/assign")!.contains("+alias.net-:example.com:89:89:\(dir):-::\n"))
        let info = try s.ok(["vdominfo", "alias.net"]).out
        #expect(info == "domain: example.com\nuid:    89\ngid:    89\ndir:    \(dir)\nusers:  1\nalias: alias.net\n")
        let all = try s.ok(["vdominfo"]).out
        #expect(all.contains("domain: alias.net (alias of example.com)\nuid:    89\n"))
        #expect(try s.ok(["vdominfo", "-d", "example.com"]).out == dir + "\n")
        // Users of the real domain are found through the alias.
        #expect(try s.ok(["vuserinfo", "-n", "postmaster@alias.net"]).out == "postmaster\n")
        try s.expectRefused(["vaddaliasdomain", "example.com", "alias.net"], status: 255, message: "Both domains already exist")
        try s.expectRefused(["vaddaliasdomain", "a.org", "b.org"], status: 255, message: "Neither 'a.org' or 'b.org'  exist")
        // vdeldomain refuses without -f while aliases exist
        let w = try s.ok(["vdeldomain", "example.com"])
        #expect(w.out == "Warning: Alias domains exist:\n   alias.net\n   use -f to force delete of domain and all aliases\n")
        #expect(FileManager.default.fileExists(atPath: dir))
        let d = try s.ok(["vdeldomain", "-f", "example.com"])
        #expect(d.out == "Warning: Alias domains deleted:\n   alias.net\n")
        #expect(!FileManager.default.fileExists(atPath: dir))
        #expect(s.read(s.qmail + "/users/assign") == ".\n")
        #expect(s.read(s.qmail + "/control/rcpthosts") == "")
        #expect(s.read(s.qmail + "/control/virtualdomains") == "")
        #expect(s.read(s.home + "/domains/.dir-control")!.hasPrefix("0\n"))
        try s.expectRefused(["vdeldomain", "example.com"], status: 245, message: "Error: Domain does not exist")
    }

    @Test func deletingAnAliasLeavesTheRealDomain() throws {
        let s = try Site()
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vaddaliasdomain", "example.com", "alias.net"])
        try s.ok(["vdeldomain", "alias.net"])
        #expect(!s.read(s.qmail + "/users/assign")!.contains("alias.net"))
        #expect(try s.ok(["vuserinfo", "-n", "postmaster@example.com"]).out == "postmaster\n")
    }

    @Test func badDomainNamesAreRefused() throws {
        let s = try Site()
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.expectRefused(["vadddomain", "example.com", "pw"], status: 243, message: "Error: Domain already exists")
        for bad in ["bad_domain.com", "../etc.com", "nodot", "exa mple.com", "x\u{1}y.com", "-lead.com"] {
            try s.expectRefused(["vadddomain", "--", bad, "pw"], status: 244, message: "Error: Invalid domain name")
        }
        try s.expectRefused(["vadddomain", String(repeating: "a", count: 94) + ".com", "pw"], status: 230, message: "Error: domain name too long (max=96)")
    }

    @Test func limitsShowAndEdit() throws {
        let s = try Site()
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vmoddomlimits", "-P", "3", "-g", "pi", "-q", "1M", "-p", "cd", "example.com"])
        let text = s.read(s.domainDir("example.com") + "/.qmailadmin-limits")!
        #expect(text.contains("maxpopaccounts: 3\n") && text.contains("default_quota: 1048576\n"))
        #expect(text.contains("disable_pop\ndisable_imap\n") && text.contains("perm_account: 5\n"))
        let show = try s.ok(["vmoddomlimits", "-S", "example.com"]).out
        #expect(show.hasPrefix("Domain: example.com\n--\nMax Pop Accounts: 3\n"))
        #expect(show.contains("GID Flags:\n  NO_IMAP\n  NO_POP\nFlags (for commandline): ip\n"))
        #expect(show.contains("  pop account:            DENY_CREATE  ALLOW_MODIFY DENY_DELETE\n"))
        #expect(show.contains("Default User Quota: 1048576 bytes\n"))
        // Domain flags show up in vuserinfo with (*)
        let info = try s.ok(["vuserinfo", "postmaster@example.com"]).out
        #expect(info.contains("flags:  10\n"))
        #expect(info.contains("limits: \n        pop access closed (*)\n        imap access closed (*)\n        * = set by domain-wide limits\n"))
        // New users get the domain's default quota; the limit of 3 mailboxes is enforced.
        try s.ok(["vadduser", "a1@example.com", "pw"])
        #expect(s.read(s.domainDir("example.com") + "/vpasswd")!.contains(":a1:\(s.domainDir("example.com"))/a1:1048576S\n"))
        try s.ok(["vadduser", "a2@example.com", "pw"])
        try s.expectRefused(["vadduser", "a3@example.com", "pw"], status: 172, message: "domain limit reached")
        try s.ok(["vmoddomlimits", "-D", "example.com"])
        try s.ok(["vadduser", "a3@example.com", "pw"])
    }

    @Test func onchangeHookSeesEveryChange() throws {
        let s = try Site(config: "onchange-script = y\n")
        let log = s.root + "/onchange.log"
        try writeScript("#!/bin/sh\nprintf '%s|%s|%s|%s\\n' \"$1\" \"$2\" \"$3\" \"$4\" >> \(log)\n", to: s.home + "/etc/onchange")
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "joe@example.com", "pw"])
        try s.ok(["vpasswd", "joe@example.com", "pw2"])
        try s.ok(["valias", "-i", "x@y.test", "info@example.com"])
        try s.ok(["valias", "-d", "info@example.com"])
        try s.ok(["vaddaliasdomain", "example.com", "alias.net"])
        try s.ok(["vdeluser", "joe@example.com"])
        try s.ok(["vdeldomain", "alias.net"])
        #expect(s.read(log) == """
            add_domain|example.com|-|
            add_user|joe@example.com|-|
            mod_user|joe@example.com|-|
            valias_insert|info@example.com|x@y.test|
            valias_delete|info@example.com|-|
            add_alias_domain|alias.net|example.com|
            del_user|joe@example.com|-|
            del_domain|alias.net alias of example.com|-|

            """)
        // Before-and-after mode.
        try "onchange-script-before-and-after = y\n".write(toFile: s.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: log)
        try s.ok(["vadduser", "ann@example.com", "pw"])
        #expect(s.read(log) == "add_user|ann@example.com|-|before\nadd_user|ann@example.com|-|after\n")
    }

    @Test func ipMap() throws {
        let s = try Site()
        try s.ok(["vipmap", "-a", "10.0.0.1", "example.com"])
        try s.ok(["vipmap", "-a", "10.0.0.2", "example.org"])
        try s.ok(["vipmap", "-a", "10.0.0.1", "example.com"])
        #expect(try s.ok(["vipmap", "-p"]).out == "10.0.0.2 example.org\n10.0.0.1 example.com\n")
        try s.ok(["vipmap", "-d", "10.0.0.2", "example.org"])
        #expect(s.read(s.home + "/etc/ip_alias_map") == "10.0.0.1 example.com\n")
        try s.expectRefused(["vipmap", "-a", "10.0.0.1;rm", "example.com"], status: 255, message: "invalid IP address")
        #expect(try s.run(["vipmap"]).status == 255)
    }
}
