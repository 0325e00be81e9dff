import Foundation
import Testing
import VpopmailCore

/// Every store answers the store protocols the same way: one body per concern, run in process
/// against the in-memory stores, the cdb files and SQLite (and MySQL and PostgreSQL with the
/// servers). The end-to-end conformance suite runs the same kind of scenario through the
/// programs.
@Suite struct StoreConformance {
    @Test(arguments: storeKinds)
    func accountsKeepByteOrderAndRefuseDuplicates(kind: String) throws {
        let t = try Tree(kind)
        let s = try t.stores()
        let d = try t.domain("example.com")
        try s.accounts.domainAdded(d.realDomain)
        #expect(try s.accounts.accounts(in: d).isEmpty)
        #expect(try s.accounts.account("joe", in: d) == nil)
        let names = ["zed", "a-b", "a.b", "a_b", "ab", "joe", "o'neil"]
        try s.accounts.insert(try names.map { try t.account($0, in: d) }, in: d)
        #expect(try s.accounts.accounts(in: d).map(\.name) == names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        let joe = try #require(try s.accounts.account("joe", in: d))
        #expect(joe.gecos == "G joe" && joe.passwordHash == "$1$x$y" && joe.quota == .none && joe.apopMarker == 1)
        // A bulk insert with one name already there adds none of them.
        #expect(throws: VpopmailError.self) { try s.accounts.insert([try t.account("new", in: d), try t.account("joe", in: d)], in: d) }
        #expect(try s.accounts.account("new", in: d) == nil)
        #expect(throws: VpopmailError.self) { try s.accounts.insert([try t.account("joe", in: d)], in: d) }

        var changed = joe
        changed.flags = [.noPOP, .noIMAP]
        changed.quota = Quota(stored: "5242880S,100C")
        changed.clearPassword = #"p'a"s\s%_*"#
        try s.accounts.update(changed, in: d, rebuildIndex: true)
        #expect(try s.accounts.account("joe", in: d) == changed)
        var ghost = joe
        ghost.name = "ghost"
        #expect(throws: VpopmailError.self) { try s.accounts.update(ghost, in: d, rebuildIndex: true) }
        #expect(try s.accounts.remove("zed", in: d))
        #expect(try !s.accounts.remove("zed", in: d))
        #expect(try s.accounts.accounts(in: d).count == names.count - 1)
        try s.accounts.domainDeleted(d.realDomain)
        if s.accounts.storage != "files" { #expect(try s.accounts.accounts(in: d).isEmpty) }
    }

    @Test(arguments: storeKinds)
    func aliasesKeepLineOrder(kind: String) throws {
        let t = try Tree(kind)
        let s = try t.stores()
        let d = try t.domain("example.com")
        #expect(try s.aliases.names(in: d).isEmpty)
        #expect(try s.aliases.lines(of: "sales", in: d).isEmpty)
        try s.aliases.addLine("&joe@example.com", to: "sales", in: d)
        try s.aliases.addLine("|/usr/bin/true", to: "sales", in: d)
        try s.aliases.addLine("ann@elsewhere.test", to: "sales", in: d)
        try s.aliases.addLine("&joe@example.com", to: "Info", in: d)
        #expect(try s.aliases.lines(of: "sales", in: d) == ["&joe@example.com", "|/usr/bin/true", "ann@elsewhere.test"])
        #expect(try s.aliases.names(in: d) == ["Info", "sales"])
        try s.aliases.removeLines(["|/usr/bin/true"], from: "sales", in: d)
        #expect(try s.aliases.lines(of: "sales", in: d) == ["&joe@example.com", "ann@elsewhere.test"])
        try s.aliases.delete("sales", in: d)
        #expect(try s.aliases.lines(of: "sales", in: d).isEmpty)
        #expect(try s.aliases.names(in: d) == ["Info"])
    }

    @Test(arguments: storeKinds)
    func limitsRoundTrip(kind: String) throws {
        let t = try Tree(kind)
        let s = try t.stores()
        let d = try t.domain("example.com")
        #expect(try s.limits.limits(of: d) == nil)
        var l = DomainLimits()
        l.maxPopAccounts = 10
        l.maxAliases = 3
        l.diskQuota = 500
        l.defaultQuota = 1_048_576
        l.disablePOP = true
        l.deleteSpam = true
        l.permAccount = 5
        l.permMaillist = 1
        l.permMaillistUsers = 2
        l.permMaillistModerators = 4
        try s.limits.setLimits(l, of: d)
        #expect(try s.limits.limits(of: d) == l)
        try s.limits.deleteLimits(of: d)
        #expect(try s.limits.limits(of: d) == nil)
    }

    @Test(arguments: storeKinds)
    func lastLoginsAreRecordedAndForgotten(kind: String) throws {
        let t = try Tree(kind)
        let s = try t.stores()
        let d = try t.domain("example.com")
        let joe = try t.account("joe", in: d), ann = try t.account("ann", in: d)
        #expect(try s.lastAuth.lastAuth(of: joe, in: d) == nil)
        try s.lastAuth.setLastAuth(of: joe, in: d, ip: "192.0.2.7", time: 1_700_000_000)
        #expect(try s.lastAuth.lastAuth(of: joe, in: d) == LastAuth(time: 1_700_000_000, ip: "192.0.2.7"))
        // A shorter address replaces a longer one whole.
        try s.lastAuth.setLastAuth(of: joe, in: d, ip: "::1", time: 1_700_000_100)
        #expect(try s.lastAuth.lastAuth(of: joe, in: d) == LastAuth(time: 1_700_000_100, ip: "::1"))
        try s.lastAuth.setLastAuths([(ann, LastAuth(time: 1_600_000_000, ip: "0.0.0.0"))], in: d)
        #expect(try s.lastAuth.lastAuth(of: ann, in: d)?.neverLoggedIn == true)
        if let all = try s.lastAuth.lastAuths(in: d) {
            #expect(all["joe"] == LastAuth(time: 1_700_000_100, ip: "::1") && all["ann"]?.time == 1_600_000_000)
        }
        try s.lastAuth.forget(joe, in: d)
        if s.lastAuth.storage != "files" { #expect(try s.lastAuth.lastAuth(of: joe, in: d) == nil) }
    }

    @Test(arguments: storeKinds)
    func hashingStateRoundTrips(kind: String) throws {
        let t = try Tree(kind)
        let s = try t.stores()
        let d = try t.domain("example.com")
        #expect(try s.dirControl.load(.users(d)) == DirControl())
        var dc = DirControl()
        for _ in 0..<6_400 { _ = dc.next() }
        try s.dirControl.save(dc, .users(d), owner: d.owner)
        #expect(try s.dirControl.load(.users(d)) == dc)
        #expect(s.dirControl.exists(.users(d)))
        let root = DirControlKey.domains(root: t.home + "/domains", uid: t.uid)
        var domains = DirControl()
        _ = domains.next()
        try s.dirControl.save(domains, root, owner: d.owner)
        #expect(try s.dirControl.load(root) == domains)
        #expect(try s.dirControl.load(.users(d)) == dc)
    }

    @Test(arguments: storeKinds)
    func ipMapAndRelayAddresses(kind: String) throws {
        let t = try Tree(kind)
        let s = try t.stores()
        try s.ipMap.add(ip: "192.0.2.1", domain: "example.com")
        try s.ipMap.add(ip: "192.0.2.2", domain: "example.org")
        #expect(try s.ipMap.entries().map { "\($0.ip) \($0.domain)" }.sorted() == ["192.0.2.1 example.com", "192.0.2.2 example.org"])
        try s.ipMap.delete(ip: "192.0.2.1", domain: "example.com")
        #expect(try s.ipMap.entries().map(\.ip) == ["192.0.2.2"])

        #expect(try s.relay.open(ip: "192.0.2.7", time: 1000))
        #expect(try !s.relay.open(ip: "192.0.2.7", time: 2000))
        #expect(try s.relay.open(ip: "192.0.2.8", time: 1500))
        #expect(try s.relay.addresses().map(\.ip).sorted() == ["192.0.2.7", "192.0.2.8"])
        try s.relay.clear(openedBefore: 1600)
        #expect(try s.relay.addresses().map { "\($0.ip) \($0.time)" } == ["192.0.2.7 2000"])
    }

    @Test(arguments: storeKinds)
    func authLogWhereKept(kind: String) throws {
        let t = try Tree(kind)
        let s = try t.stores()
        guard let log = s.authLog else {
            #expect(kind == "cdb")
            return
        }
        try log.record(AuthEvent(user: "joe", domain: "example.com", login: "joe@example.com", remoteIP: "192.0.2.7",
                                 message: "password fail joe@example.com:192.0.2.7", isError: true))
    }
}
