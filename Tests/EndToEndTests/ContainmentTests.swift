import Foundation
import Testing

/// Paths stay inside their tree (docs/threat-model.md): what root removes or writes is only ever
/// the account's own directory inside its domain, reached by descriptors; a symlink the domain
/// owner planted is never followed; homes outside the domain are refused with nothing changed.
@Suite struct Containment {
    let fm = FileManager.default

    func site() throws -> Site {
        let s = try Site()
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "joe@example.com", "joe-secret"])
        try s.ok(["vadduser", "ann@example.com", "ann-secret"])
        return s
    }

    /// A directory of root's outside the vpopmail tree with one file in it: what an attacker
    /// would point a symlink or a home at.
    func victim(_ s: Site) throws -> String {
        let v = s.root + "/victim"
        try fm.createDirectory(atPath: v + "/joe/Maildir/new", withIntermediateDirectories: true)
        try "precious\n".write(toFile: v + "/precious", atomically: false, encoding: .utf8)
        try "precious\n".write(toFile: v + "/joe/precious", atomically: false, encoding: .utf8)
        return v
    }

    func victimIntact(_ v: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(fm.fileExists(atPath: v + "/precious") && fm.fileExists(atPath: v + "/joe/precious"), sourceLocation: sourceLocation)
        let names = ((try? fm.subpathsOfDirectory(atPath: v)) ?? []).sorted()
        #expect(names == ["joe", "joe/Maildir", "joe/Maildir/new", "joe/precious", "precious"], "\(names)", sourceLocation: sourceLocation)
        var st = stat()
        #expect(lstat(v + "/precious", &st) == 0 && st.st_uid == 0 && st.st_nlink == 1, sourceLocation: sourceLocation)
    }

    func home(_ s: Site, _ user: String) throws -> String {
        try s.ok(["vuserinfo", "-n", "-d", user]).out.split(separator: "\n").last.map(String.init) ?? ""
    }

    @Test func vmoduserRefusesAHomeOutsideTheDomain() throws {
        let s = try site()
        let dir = s.domainDir("example.com")
        let v = try victim(s)
        for bad in ["\(dir)/../example.com/joe", "\(dir)/./joe", "\(dir)//joe", "\(dir)/ann", "\(dir)", "\(dir)/",
                    "\(dir)/0", "\(dir)/xy/joe", "\(dir)/0/1/2/3/joe", v + "/joe", "/", "\(dir)/joe/../ann"] {
            try s.expectRefused(["vmoduser", "-D", bad, "joe@example.com"], status: 168, message: "is not a mailbox directory of its domain")
        }
        for bad in ["joe", ""] {
            try s.expectRefused(["vmoduser", "-D", bad, "joe@example.com"], status: 253, message: "must be an absolute path")
        }
        #expect(try home(s, "joe@example.com") == dir + "/joe")
        // Its own directory in a bucket is a mailbox directory of the domain.
        try s.ok(["vmoduser", "-D", dir + "/0/joe", "joe@example.com"])
        #expect(try home(s, "joe@example.com") == dir + "/0/joe")
        victimIntact(v)
    }

    @Test func vdeluserRefusesAHomeOutsideTheDomain() throws {
        let s = try site()
        let dir = s.domainDir("example.com")
        let v = try victim(s)
        // The domain owner can edit vpasswd (it is theirs) and rebuild the index.
        for bad in [v + "/joe", dir + "/ann", dir + "/../../victim/joe", dir + "/joe/.."] {
            let pw = s.read(dir + "/vpasswd")!
            let line = pw.split(separator: "\n").first { $0.hasPrefix("joe:") }!
            var f = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            f[5] = bad
            try pw.replacingOccurrences(of: line, with: f.joined(separator: ":")).write(toFile: dir + "/vpasswd", atomically: true, encoding: .utf8)
            try s.ok(["vmoduser", "-c", "rebuilt", "ann@example.com"])
            try s.expectRefused(["vdeluser", "joe@example.com"], status: 168, message: "is not a mailbox directory of its domain")
            try s.ok(["vuserinfo", "joe@example.com"])
            #expect(fm.fileExists(atPath: dir + "/ann/Maildir/new"))
            victimIntact(v)
        }
    }

    /// An SQL row whose home is another user's: vconvert copies nothing of the domain.
    @Test func vconvertRefusesAHomeOutsideTheDomain() throws {
        let s = try Site(store: "sqlite")
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "joe@example.com", "joe-secret"])
        try s.ok(["vadduser", "ann@example.com", "ann-secret"])
        let ann = s.domainDir("example.com") + "/ann"
        #expect(try s.sql("UPDATE vpopmail SET pw_dir = '\(ann)' WHERE pw_name = 'joe'").status == 0)
        try s.expectRefused(["vconvert", "--from", "sqlite", "--to", "cdb"], status: 168, message: "is not a mailbox directory of its domain")
        #expect(!fm.fileExists(atPath: s.domainDir("example.com") + "/vpasswd"))
        try s.expectRefused(["vdeluser", "joe@example.com"], status: 168, message: "is not a mailbox directory of its domain")
        #expect(fm.fileExists(atPath: ann + "/Maildir/new"))
    }

    /// The owner replaces a hash bucket with a symlink: root neither follows it to remove nor to
    /// create.
    @Test func aBucketSymlinkIsNeverFollowed() throws {
        let s = try site()
        let dir = s.domainDir("example.com")
        let v = try victim(s)
        try s.ok(["vmoduser", "-D", dir + "/0/joe", "joe@example.com"])
        try fm.createSymbolicLink(atPath: dir + "/0", withDestinationPath: v)
        // vdeluser: refused before anything changes.
        try s.expectRefused(["vdeluser", "joe@example.com"], status: 168, message: "cannot be reached safely")
        victimIntact(v)
        // vchkpw re-creates a missing home: not through the symlink (exit 14, nothing made).
        try fm.removeItem(atPath: v + "/joe")
        let r = try s.vchkpw("joe@example.com", "joe-secret", env: ["TCPLOCALPORT": "110"])
        #expect(r.status == 14, "\(r)")
        #expect(!fm.fileExists(atPath: v + "/joe"))
        try fm.createDirectory(atPath: v + "/joe/Maildir/new", withIntermediateDirectories: true)
        try "precious\n".write(toFile: v + "/joe/precious", atomically: false, encoding: .utf8)
        victimIntact(v)
        // vadduser taking bucket 0 from the back-fill list: refused, nothing created in the victim.
        try "0\n".write(toFile: dir + "/.dir_control_free", atomically: true, encoding: .utf8)
        let add = try s.run(["vadduser", "new@example.com", "new-secret"])
        #expect(add.status != 0, "\(add)")
        #expect(!fm.fileExists(atPath: v + "/new"))
        victimIntact(v)
    }

    /// A home (or its Maildir) that is a symlink: vdeluser removes the link, not what it points at.
    @Test func vdeluserRemovesSymlinksNotTheirTargets() throws {
        let s = try site()
        let dir = s.domainDir("example.com")
        let v = try victim(s)
        try fm.removeItem(atPath: dir + "/ann/Maildir")
        try fm.createSymbolicLink(atPath: dir + "/ann/Maildir", withDestinationPath: v)
        try s.ok(["vdeluser", "ann@example.com"])
        #expect(!fm.fileExists(atPath: dir + "/ann"))
        try fm.removeItem(atPath: dir + "/joe")
        try fm.createSymbolicLink(atPath: dir + "/joe", withDestinationPath: v)
        try s.ok(["vdeluser", "joe@example.com"])
        var st = stat()
        #expect(lstat(dir + "/joe", &st) != 0)
        victimIntact(v)
    }

    /// vdeldomain: a domain directory that is a symlink is unlinked, not emptied; a directory not
    /// named after the domain is refused with nothing changed; a domain owned by root is refused.
    @Test func vdeldomainStaysInTheDomainsDirectory() throws {
        let s = try site()
        let v = try victim(s)
        try s.ok(["vadddomain", "example.org", "pw"])
        let org = s.domainDir("example.org")
        try fm.removeItem(atPath: org)
        try fm.createSymbolicLink(atPath: org, withDestinationPath: v)
        try s.ok(["vdeldomain", "example.org"])
        victimIntact(v)
        // users/assign pointing example.com at another directory (an edit by hand).
        let assign = s.qmail + "/users/assign"
        let text = s.read(assign)!
        try text.replacingOccurrences(of: s.domainDir("example.com") + ":", with: s.root + "/victim:")
            .write(toFile: assign, atomically: true, encoding: .utf8)
        try? fm.removeItem(atPath: s.qmail + "/users/cdb")
        try s.expectRefused(["vdeldomain", "example.com"], status: 168, message: "is not named after the domain")
        victimIntact(v)
        try text.write(toFile: assign, atomically: true, encoding: .utf8)
        try s.expectRefused(["vadddomain", "-i", "0", "root.test", "pw"], status: 167, message: "owned by uid 0")
        try text.replacingOccurrences(of: ":89:89:", with: ":0:0:").write(toFile: assign, atomically: true, encoding: .utf8)
        try s.expectRefused(["vadduser", "x@example.com", "pw-secret"], status: 167, message: "owned by uid 0")
        let r = try s.deliver("Subject: x\n\nx\n", to: "joe", at: "example.com")
        #expect(r.status == 111, "\(r)")
    }

    /// Root writes into a home only as the domain owner: a `lastauth` hard-linked to a file of
    /// root's, or a `Maildir` pointing elsewhere, gets nothing.
    @Test func rootWritesIntoAHomeAsItsOwner() throws {
        let s = try site()
        let dir = s.domainDir("example.com")
        let v = try victim(s)
        try fm.removeItem(atPath: dir + "/joe/lastauth")
        #expect(link(v + "/precious", dir + "/joe/lastauth") == 0)
        let r = try s.vchkpw("joe@example.com", "joe-secret", env: ["TCPLOCALPORT": "110", "TCPREMOTEIP": "192.0.2.9"])
        #expect(r.status == 0, "\(r)")
        #expect(s.read(v + "/precious") == "precious\n")
        unlink(dir + "/joe/lastauth")
        // vsetuserquota rewrites maildirsize: not into a Maildir that is the victim.
        try fm.removeItem(atPath: dir + "/ann/Maildir")
        try fm.createSymbolicLink(atPath: dir + "/ann/Maildir", withDestinationPath: v + "/joe/Maildir")
        _ = try s.run(["vsetuserquota", "ann@example.com", "5M"])
        #expect(!fm.fileExists(atPath: v + "/joe/Maildir/maildirsize"))
        // vpopbull: not into a new/ that is the victim's.
        try s.ok(["vadduser", "bob@example.com", "bob-secret"])
        try fm.removeItem(atPath: dir + "/bob/Maildir/new")
        try fm.createSymbolicLink(atPath: dir + "/bob/Maildir/new", withDestinationPath: v + "/joe/Maildir/new")
        try "Subject: news\n\nhello\n".write(toFile: s.root + "/bulletin", atomically: true, encoding: .utf8)
        for method in ["-c", "-h"] { _ = try s.run(["vpopbull", method, "-f", s.root + "/bulletin", "example.com"]) }
        #expect(((try? fm.contentsOfDirectory(atPath: v + "/joe/Maildir/new")) ?? []).isEmpty)
        victimIntact(v)
    }

    /// What root makes for an account is the owner's, and made as the owner.
    @Test func homesAreMadeAsTheOwner() throws {
        let s = try site()
        let dir = s.domainDir("example.com")
        for p in ["/joe", "/joe/Maildir", "/joe/Maildir/new", "/joe/Maildir/cur", "/joe/Maildir/tmp", "/joe/lastauth", "/vpasswd", "/vpasswd.cdb", "/.qmail-default"] {
            var st = stat()
            #expect(lstat(dir + p, &st) == 0 && st.st_uid == 89 && st.st_gid == 89, "\(p): \(st.st_uid):\(st.st_gid)")
        }
        try fm.removeItem(atPath: dir + "/joe")
        let r = try s.vchkpw("joe@example.com", "joe-secret", env: ["TCPLOCALPORT": "110"])
        #expect(r.status == 0, "\(r)")
        var st = stat()
        #expect(lstat(dir + "/joe/Maildir/new", &st) == 0 && st.st_uid == 89)
    }
}
