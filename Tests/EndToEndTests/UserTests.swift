import Foundation
import Testing

let knownHash = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"

@Suite struct Users {
    func site() throws -> Site {
        let s = try Site()
        try s.ok(["vadddomain", "example.com", "pw"])
        return s
    }

    @Test func vadduserOptionsAndVuserinfo() throws {
        let s = try site()
        let dir = s.domainDir("example.com")
        try s.ok(["vadduser", "-q", "10M,1000C", "-c", "Joe Bloggs", "-e", knownHash, "Joe@Example.com"])
        #expect(s.read(dir + "/vpasswd")!.contains("joe:\(knownHash):1:0:Joe Bloggs:\(dir)/joe:10485760S,1000C\n"))
        #expect(s.read(dir + "/joe/Maildir/maildirsize") == "10485760S,1000C\n0 0\n")
        let info = try s.ok(["vuserinfo", "joe@example.com"]).out
        let expected = """
            name:   joe
            passwd: \(knownHash)
            clear passwd: 
            comment/gecos: Joe Bloggs
            uid:    1
            gid:    0
            flags:  0
            gecos: Joe Bloggs
            limits: No user limits set.
            dir:       \(dir)/joe
            quota:     10485760S,1000C
            usage:     0%

            """
        #expect(info.hasPrefix(expected))
        #expect(info.hasSuffix("last auth: Never logged in\n") && info.contains("account created: "))
        #expect(try s.ok(["vuserinfo", "-n", "-d", "-q", "joe@example.com"]).out == "joe\n\(dir)/joe\n10485760S,1000C\n")
        let r = try s.ok(["vadduser", "-r", "rnd@example.com"])
        #expect(r.out.hasPrefix("Random password: "))
        let all = try s.ok(["vuserinfo", "-n", "-D", "example.com"]).out
        let dash = String(repeating: "-", count: 42)
        #expect(all == "\(dash)\njoe\n\(dash)\npostmaster\n\(dash)\nrnd\n")
        try s.expectRefused(["vuserinfo", "nobody@example.com"], status: 255, message: "no such user nobody@example.com")
    }

    @Test func passwordsQuotasAndFlags() throws {
        let s = try site()
        let dir = s.domainDir("example.com")
        try s.ok(["vadduser", "joe@example.com", "first"])
        let h1 = try s.ok(["vuserinfo", "-p", "joe@example.com"]).out
        try s.ok(["vpasswd", "joe@example.com", "second"])
        let h2 = try s.ok(["vuserinfo", "-p", "joe@example.com"]).out
        #expect(h1 != h2 && h2.hasPrefix("$6$"))
        try s.ok(["vsetuserquota", "joe@example.com", "2m"])
        #expect(try s.ok(["vuserinfo", "-q", "joe@example.com"]).out == "2097152S\n")
        #expect(s.read(dir + "/joe/Maildir/maildirsize") == "2097152S\n0 0\n")
        try s.ok(["vsetuserquota", "example.com", "NOQUOTA"])
        #expect(!s.read(dir + "/vpasswd")!.contains("S\n"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/joe/Maildir/maildirsize"))
        try s.ok(["vmoduser", "-p", "-i", "-c", "New Name", "joe@example.com"])
        #expect(try s.ok(["vuserinfo", "-g", "-c", "joe@example.com"]).out == "10\nNew Name\n")
        try s.ok(["vmoduser", "-x", "-d", "joe@example.com"])
        #expect(try s.ok(["vuserinfo", "-g", "joe@example.com"]).out == "1\n")
        try s.expectRefused(["vpasswd", "joe@example.com", "third"], status: 255, message: "password changes are disabled")
        try s.ok(["vmoduser", "-C", "forced", "joe@example.com"])
        try s.expectRefused(["vmoduser", "-p", "ghost@example.com"], status: 255, message: "no such user ghost@example.com")
        try s.expectRefused(["vpasswd", "ghost@example.com", "x"], status: 246, message: "Error: User does not exist")
        // -n leaves the cdb stale; vmkpasswd rebuilds it.
        try s.ok(["vmoduser", "-n", "-c", "Stale", "joe@example.com"])
        #expect(try s.ok(["vuserinfo", "-c", "joe@example.com"]).out == "New Name\n")
        try s.ok(["vmkpasswd", "example.com"])
        #expect(try s.ok(["vuserinfo", "-c", "joe@example.com"]).out == "Stale\n")
        #expect(try tinycdbAgrees(dir + "/vpasswd.cdb"))
    }

    @Test func deleteFreesTheBucketForBackFill() throws {
        let s = try site()
        let dir = s.domainDir("example.com")
        let lines = (1...120).map { "u\($0)@example.com:\(knownHash)" }.joined(separator: "\n")
        try lines.write(toFile: s.root + "/bulk.txt", atomically: true, encoding: .utf8)
        #expect(try s.ok(["vadduser", "-f", s.root + "/bulk.txt"]).out == "120 accounts added\n")
        #expect(s.read(dir + "/.dir-control")!.hasPrefix("121\n"))
        let home = try s.ok(["vuserinfo", "-d", "u110@example.com"]).out
        #expect(home == "\(dir)/0/u110\n")
        try s.ok(["vdeluser", "u110@example.com"])
        #expect(!FileManager.default.fileExists(atPath: dir + "/0/u110"))
        #expect(s.read(dir + "/.dir_control_free") == "0\n")
        #expect(s.read(dir + "/.dir-control")!.hasPrefix("120\n"))
        try s.ok(["vadduser", "back@example.com", "pw"])
        #expect(try s.ok(["vuserinfo", "-d", "back@example.com"]).out == "\(dir)/0/back\n")
        #expect(!FileManager.default.fileExists(atPath: dir + "/.dir_control_free"))
        try s.expectRefused(["vdeluser", "u110@example.com"], status: 246, message: "Error: User does not exist")
        try s.expectRefused(["vdeluser", "x@nowhere.com"], status: 245, message: "Error: Domain does not exist")
    }

    @Test func oneCharacterNamesGetHomesThatNoBucketMeets() throws {
        let s = try site()
        let dir = s.domainDir("example.com")
        try s.ok(["vadduser", "j@example.com", "j-secret"])
        #expect(try s.ok(["vuserinfo", "-d", "j@example.com"]).out == "\(dir)/.j\n")
        // Enough users for the hashing to reach bucket `j` (allocations 4600-4699).
        let lines = (1...4700).map { "u\($0)@example.com:\(knownHash)" }.joined(separator: "\n")
        try lines.write(toFile: s.root + "/bulk.txt", atomically: true, encoding: .utf8)
        #expect(try s.ok(["vadduser", "-f", s.root + "/bulk.txt"]).out == "4700 accounts added\n")
        #expect(try s.ok(["vuserinfo", "-d", "u4600@example.com"]).out == "\(dir)/j/u4600\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/.j").sorted() == ["Maildir", "lastauth"])
        // A one-character user placed inside the bucket of its own name.
        try s.ok(["vadduser", "k@example.com", "k-secret"])
        #expect(try s.ok(["vuserinfo", "-d", "k@example.com"]).out == "\(dir)/k/.k\n")
        let login = try s.vchkpw("j@example.com", "j-secret", env: ["TCPLOCALPORT": "110"])
        #expect(login.status == 0, "\(login.out) \(login.err)")
        #expect(login.out.contains("HOME=\(dir)/.j\n"))
        #expect(try s.deliver("Subject: hi\n\nhello\n", to: "j", at: "example.com").status == 0)
        #expect(s.newMessages(dir + "/.j/Maildir").count == 1)
        #expect(s.newMessages(dir + "/j/u4600/Maildir").isEmpty)
        try s.ok(["vdeluser", "j@example.com"])
        #expect(!FileManager.default.fileExists(atPath: dir + "/.j"))
        #expect(FileManager.default.fileExists(atPath: dir + "/j/u4600/Maildir/new"))
        #expect(try s.vchkpw("u4600@example.com", "x", env: ["TCPLOCALPORT": "110"]).status == 3)
    }

    @Test func catchAllAccountCannotBeDeleted() throws {
        let s = try Site()
        try s.ok(["vadddomain", "-e", "postmaster", "example.com", "pw"])
        try s.expectRefused(["vdeluser", "postmaster@example.com"], status: 201, message: "can't delete catchall account")
    }

    @Test func badUserInputChangesNothing() throws {
        let s = try site()
        try s.ok(["vadduser", "joe@example.com", "pw"])
        for bad in ["../x", "a/b", ".hidden", "a:b", "a b", "x\u{1}y"] {
            try s.expectRefused(["vadduser", bad + "@example.com", "pw"], status: 255, message: "Error: Illegal username")
        }
        try s.expectRefused(["vadduser", String(repeating: "a", count: 65) + "@example.com", "pw"], status: 231,
                            message: "Error: user name too long (max=64)")
        try s.expectRefused(["vadduser", "joe@example.com", "pw"], status: 255, message: "Error: User already exists")
        try s.expectRefused(["vadduser", "ann@missing.com", "pw"], status: 255, message: "Error: Domain does not exist")
        try s.expectRefused(["vadduser", "-q", "lots", "ann@example.com", "pw"], status: 171, message: "Error: invalid quota")
        try s.expectRefused(["vadduser", "-c", "a:b", "ann@example.com", "pw"], status: 236, message: "Error: bad character")
        try s.expectRefused(["vadduser", "ann", "pw"], status: 255, message: "You did not use a full email address")
        try s.expectRefused(["vadduser", "ann@example.com", String(repeating: "p", count: 129)], status: 229, message: "password too long")
        try s.expectRefused(["vsetuserquota", "joe@example.com", "10Q"], status: 171, message: "Error: invalid quota")
        try s.expectRefused(["vadduser"], status: 255, message: "usage")
        // A newline in a password would be a second vpasswd line: every way in refuses it.
        try s.expectRefused(["vadduser", "ann@example.com", "x\nevil:$1$x$y:1:0:e:/tmp:NOQUOTA"], status: 236, message: "bad character in password")
        try s.expectRefused(["vpasswd", "joe@example.com", "x\ny"], status: 236, message: "bad character in password")
        try s.expectRefused(["vmoduser", "-C", "x\ry", "joe@example.com"], status: 236, message: "bad character in password")
    }

    @Test func corruptFilesAreReportedWithFileAndLine() throws {
        let s = try site()
        let dir = s.domainDir("example.com")
        try s.ok(["vadduser", "joe@example.com", "pw"])
        let good = s.read(dir + "/vpasswd")!
        try (good + "this is not a vpasswd line\n").write(toFile: dir + "/vpasswd", atomically: true, encoding: .utf8)
        try s.expectRefused(["vadduser", "ann@example.com", "pw"], status: 176, message: "\(dir)/vpasswd:3: corrupt vpasswd line")
        try good.write(toFile: dir + "/vpasswd", atomically: true, encoding: .utf8)
        // A truncated vpasswd.cdb: lookups fail cleanly, vmkpasswd repairs it.
        let cdb = try Data(contentsOf: URL(fileURLWithPath: dir + "/vpasswd.cdb"))
        try cdb.prefix(2100).write(to: URL(fileURLWithPath: dir + "/vpasswd.cdb"))
        try s.expectRefused(["vuserinfo", "joe@example.com"], status: 176, message: "corrupt cdb file")
        try s.ok(["vmkpasswd", "example.com"])
        #expect(try s.ok(["vuserinfo", "-n", "joe@example.com"]).out == "joe\n")
        // A corrupt .dir-control
        try "garbage\n".write(toFile: dir + "/.dir-control", atomically: true, encoding: .utf8)
        try s.expectRefused(["vadduser", "ann@example.com", "pw"], status: 176, message: ".dir-control")
    }

    @Test func fullDiskChangesNothing() throws {
        let s = try site()
        let lines = (1...40).map { "u\($0)@example.com:\(knownHash)" }.joined(separator: "\n")
        try lines.write(toFile: s.root + "/bulk.txt", atomically: true, encoding: .utf8)
        try s.ok(["vadduser", "-f", s.root + "/bulk.txt"])
        // The file-size limit makes every write past 4 KiB fail as on a full disk (EFBIG).
        try s.expectRefused(["vadduser", "ann@example.com", "pw"], status: 175, message: "no space left on device",
                            shellPrefix: "ulimit -f 4; trap '' XFSZ;")
        try s.expectRefused(["vadddomain", "other.com", "pw"], status: 175, message: "no space left on device",
                            shellPrefix: "ulimit -f 0; trap '' XFSZ;")
    }

    @Test func unwritableDomainDirectoryChangesNothing() throws {
        let s = try site()
        let dir = s.domainDir("example.com")
        chmod(dir, 0o500)
        defer { chmod(dir, 0o700) }
        // As the vpopmail user (root ignores permissions).
        try s.expectRefused(["/usr/bin/setpriv", "--reuid=89", "--regid=89", "--clear-groups", s.home + "/bin/vadduser", "ann@example.com", "pw"],
                            status: 252, message: "Permission denied")
    }

    @Test func badConfigurationNamesFileAndLine() throws {
        let s = try Site(config: "roaming-users = y\nno-such-key = 1\n")
        let r = try s.run(["vadduser", "a@example.com", "pw"])
        #expect(r.status == 173)
        #expect(r.err == "Error - \(s.home)/etc/vpopmail.conf:2: unknown key 'no-such-key'. Initial open.\n")
    }

    @Test func unknownStoreIsAConfigurationErrorEverywhere() throws {
        let s = try Site(config: "auth-module = nosuchstore\n")
        let r = try s.run(["vadduser", "a@example.com", "pw"])
        #expect(r.status == 173 && r.err.contains("auth-module nosuchstore: no such store here"), "\(r.status) \(r.err)")
        #expect(try s.vchkpw("a@example.com", "pw", env: ["TCPLOCALPORT": "110"]).status == 111)
        let d = try s.deliver("Subject: x\n\nx\n", to: "a", at: "example.com")
        #expect(d.status == 111 && d.out.contains("configuration error"), "\(d.out)")
        // A twin serves the cdb files too (sites may name vchkpw-<store> directly).
        let c = try Site()
        try c.ok(["vadddomain", "example.com", "pw"])
        try c.ok(["vadduser", "joe@example.com", "secret"])
        let twin = try c.run([c.home + "/bin/vchkpw-sqlite", "/usr/bin/env"], stdin: "joe@example.com\0secret\0\0",
                             env: ["TCPLOCALPORT": "110"], shellPrefix: "exec 3<&0 </dev/null;")
        #expect(twin.status == 0 && twin.out.contains("USER=joe\n"), "\(twin.status) \(twin.err)")
    }

    @Test func configurationChangesBehaviour() throws {
        let s = try Site(config: "hardquota = NOQUOTA\npassword-scheme = md5-crypt\nclear-passwd = y\ndomain-default-delivery = bounce-no-mailbox\n")
        try s.ok(["vadddomain", "example.com", "pw"])
        let dir = s.domainDir("example.com")
        #expect(s.read(dir + "/.qmail-default")!.hasSuffix("'' bounce-no-mailbox\n"))
        let line = s.read(dir + "/vpasswd")!
        #expect(line.contains(":$1$") && line.hasSuffix(":NOQUOTA:pw\n"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/postmaster/Maildir/maildirsize"))
    }

    @Test func concurrentAddsLoseNothing() throws {
        let s = try site()
        let dir = s.domainDir("example.com")
        let procs = 6, each = 40
        DispatchQueue.concurrentPerform(iterations: procs) { p in
            for i in 0..<each {
                let r = try? s.run(["vadduser", "-e", knownHash, "p\(p)u\(i)@example.com"])
                #expect(r?.status == 0, "p\(p)u\(i): \(r?.out ?? "") \(r?.err ?? "")")
            }
        }
        let lines = s.read(dir + "/vpasswd")!.split(separator: "\n")
        #expect(lines.count == procs * each + 1)
        #expect(Set(lines.map { $0.split(separator: ":")[0] }).count == lines.count)
        var perBucket: [String: Int] = [:]
        for l in lines {
            let home = String(l.split(separator: ":", omittingEmptySubsequences: false)[5])
            #expect(FileManager.default.fileExists(atPath: home + "/Maildir/new"))
            perBucket[(home as NSString).deletingLastPathComponent, default: 0] += 1
        }
        #expect(perBucket.values.allSatisfy { $0 <= 100 })
        #expect(perBucket[dir] == 99)
        #expect(s.read(dir + "/.dir-control")!.hasPrefix("\(procs * each + 1)\n"))
        #expect(try tinycdbAgrees(dir + "/vpasswd.cdb"))
    }

    @Test func bulkImportAddsManyAndRefusesBadLines() throws {
        let s = try site()
        try s.ok(["vadddomain", "example.org", "pw"])
        var lines = (0..<300).map { "b\($0)@example.com:\(knownHash)" }
        lines.append("clear@example.org:plainpw:5M:Clear Text")
        try lines.joined(separator: "\n").write(toFile: s.root + "/bulk.txt", atomically: true, encoding: .utf8)
        #expect(try s.ok(["vadduser", "-f", s.root + "/bulk.txt"]).out == "301 accounts added\n")
        #expect(try tinycdbAgrees(s.domainDir("example.com") + "/vpasswd.cdb"))
        #expect(try s.ok(["vuserinfo", "-q", "-c", "clear@example.org"]).out == "Clear Text\n5242880S\n")
        try "x@example.com:h\nnot-an-address\n".write(toFile: s.root + "/bad.txt", atomically: true, encoding: .utf8)
        try s.expectRefused(["vadduser", "-f", s.root + "/bad.txt"], status: 221, message: "bad.txt:2")
        try "b5@example.com:\(knownHash)\n".write(toFile: s.root + "/dup.txt", atomically: true, encoding: .utf8)
        try s.expectRefused(["vadduser", "-f", s.root + "/dup.txt"], status: 254, message: "Username exists: b5")
    }
}

@Suite struct AliasesAndTools {
    @Test func valiasFiles() throws {
        let s = try Site()
        try s.ok(["vadddomain", "example.com", "pw"])
        let dir = s.domainDir("example.com")
        try s.ok(["valias", "-i", "joe@other.net", "sales.team@example.com"])
        try s.ok(["valias", "-i", "&ann@other.net", "sales.team@example.com"])
        #expect(s.read(dir + "/.qmail-sales:team") == "joe@other.net\n&ann@other.net\n")
        try s.ok(["valias", "-i", "\(dir)/postmaster/Maildir/", "info@example.com"])
        #expect(try s.ok(["valias", "-n", "example.com"]).out == "info\nsales.team\n")
        #expect(try s.ok(["valias", "sales.team@example.com"]).out == "sales.team@example.com -> joe@other.net\nsales.team@example.com -> &ann@other.net\n")
        #expect(try s.ok(["valias", "-s", "example.com"]).out.split(separator: "\n").count == 3)
        try s.expectRefused(["valias", "-i", "joe@other.net", "sales.team@example.com"], status: 255, message: "already exists")
        try s.expectRefused(["valias", "-i", "x@y.z", "../evil@example.com"], status: 255, message: "Illegal alias name")
        try s.expectRefused(["valias", "nobody@example.com"], status: 255, message: "No aliases nobody@example.com found")
        try s.expectRefused(["valias", "-n", "info@example.com"], status: 255, message: "Please enter domain name only.")
        try s.expectRefused(["valias", "x@nowhere.com"], status: 255, message: "invalid domain, not in qmail assign file")
        try s.ok(["valias", "-d", "sales.team@example.com"])
        #expect(!FileManager.default.fileExists(atPath: dir + "/.qmail-sales:team"))
        #expect(try s.run(["valias", "-z", "a@example.com"]).status == 254)
        // maxaliases is enforced
        try s.ok(["vmoddomlimits", "-A", "1", "example.com"])
        try s.expectRefused(["valias", "-i", "x@y.z", "second@example.com"], status: 172, message: "domain limit reached")
    }

    @Test func vpopbullDeliversToEveryMailbox() throws {
        let s = try Site()
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "joe@example.com", "pw"])
        try s.ok(["vadduser", "ann@example.com", "pw"])
        try "Subject: News\n\nHello all\n".write(toFile: s.root + "/msg", atomically: true, encoding: .utf8)
        try "ann@example.com\n".write(toFile: s.root + "/exclude", atomically: true, encoding: .utf8)
        #expect(try s.ok(["vpopbull", "-n", "-f", s.root + "/msg", "example.com"]).out == "ann@example.com\njoe@example.com\npostmaster@example.com\n")
        try s.ok(["vpopbull", "-f", s.root + "/msg", "-e", s.root + "/exclude"])
        let joeNew = try FileManager.default.contentsOfDirectory(atPath: s.domainDir("example.com") + "/joe/Maildir/new")
        #expect(joeNew.count == 1)
        let msg = s.read(s.domainDir("example.com") + "/joe/Maildir/new/" + joeNew[0])!
        #expect(msg.hasPrefix("To: joe@example.com\nDate: ") && msg.hasSuffix("\nSubject: News\n\nHello all\n"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.domainDir("example.com") + "/ann/Maildir/new").isEmpty)
    }

    @Test func vdeloldusersUsesLastAuth() throws {
        let s = try Site()
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "old@example.com", "pw"])
        try s.ok(["vadduser", "new@example.com", "pw"])
        let dir = s.domainDir("example.com")
        try "192.0.2.1".write(toFile: dir + "/old/lastauth", atomically: false, encoding: .utf8)
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        utimensat(AT_FDCWD, dir + "/old/lastauth", &times, 0)
        utimensat(AT_FDCWD, dir + "/postmaster/lastauth", &times, 0)
        #expect(try s.ok(["vdeloldusers", "-V", "-d", "example.com"]).out == "old@example.com\n ** no users were deleted  **\n ** use -D to delete users **\n")
        try s.ok(["vdeloldusers", "-D", "-e"])
        #expect(try s.run(["vuserinfo", "old@example.com"]).status == 255)
        #expect(try s.run(["vuserinfo", "new@example.com"]).status == 0)
        #expect(try s.ok(["vdeloldusers", "-e"]).out == "no old users found\n")
    }
}
