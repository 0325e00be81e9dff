import Foundation
import Testing

@Suite struct Vdelivermail {
    let body = "Received: from remote.test\nSubject: hello\n\nThe body.\n"

    func site(_ config: String = "", under: String? = nil) throws -> (Site, String) {
        let s = try Site(config: config, under: under)
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "-q", "1M", "joe@example.com", "secret"])
        return (s, s.domainDir("example.com") + "/joe/Maildir")
    }

    @Test func deliversIntoMaildirWithHeadersAndSize() throws {
        let (s, md) = try site()
        let r = try s.deliver(body, to: "joe", at: "example.com")
        #expect(r.status == 0, "\(r.out)")
        let new = s.newMessages(md)
        #expect(new.count == 1)
        let expected = "Return-Path: <alice@remote.test>\nDelivered-To: joe@example.com\n" + body
        #expect(s.read(md + "/new/" + new[0]) == expected)
        #expect(new[0].hasSuffix(",S=\(expected.utf8.count)"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: md + "/tmp").isEmpty)
        #expect(s.read(md + "/maildirsize") == "1048576S\n0 0\n\(expected.utf8.count) 1\n")
        var st = stat()
        stat(md + "/new/" + new[0], &st)
        #expect(st.st_uid == 89 && st.st_gid == 89)
        #expect(st.st_mode & 0o777 == 0o600)
    }

    @Test func aliasDomainsAndCaseReachTheRealMailbox() throws {
        let (s, md) = try site()
        try s.ok(["vaddaliasdomain", "example.com", "alias.net"])
        #expect(try s.deliver(body, to: "JOE", at: "alias.net").status == 0)
        #expect(s.newMessages(md).count == 1)
    }

    @Test func unknownUsersFollowTheDefaultArgument() throws {
        let (s, _) = try site()
        let dir = s.domainDir("example.com")
        #expect(try s.deliver(body, to: "ghost", at: "example.com", default: "delete").status == 0)
        let b = try s.deliver(body, to: "ghost", at: "example.com", default: "bounce-no-mailbox")
        #expect(b.status == 100 && b.out == "Sorry, no mailbox here by that name. (#5.1.1)\n")
        try "No such person here.\n".write(toFile: s.home + "/domains/.no-user.msg", atomically: true, encoding: .utf8)
        #expect(try s.deliver(body, to: "ghost", at: "example.com", default: "bounce-no-mailbox").out == "No such person here.\n")
        try "Nobody by that name at example.com.\n".write(toFile: dir + "/.no-user.msg", atomically: true, encoding: .utf8)
        #expect(try s.deliver(body, to: "ghost", at: "example.com", default: "bounce-no-mailbox").out == "Nobody by that name at example.com.\n")
        // A mailbox directory catches everything.
        let c = try s.deliver(body, to: "ghost", at: "example.com", default: dir + "/postmaster")
        #expect(c.status == 0 && c.out.contains("user does not exist, but will deliver to"))
        #expect(s.newMessages(dir + "/postmaster/Maildir").count == 1)
        #expect(s.read(dir + "/postmaster/Maildir/new/" + s.newMessages(dir + "/postmaster/Maildir")[0])!.contains("Delivered-To: ghost@example.com\n"))
    }

    /// A qmail-inject stand-in that records its arguments and input.
    func installInject(_ s: Site, status: Int32 = 0) throws -> String {
        // Deliveries run as the domain owner (uid 89): the stand-in writes where that user can.
        try FileManager.default.createDirectory(atPath: s.root + "/out", withIntermediateDirectories: true)
        chown(s.root + "/out", 89, 89)
        let out = s.root + "/out/injected"
        try FileManager.default.createDirectory(atPath: s.qmail + "/bin", withIntermediateDirectories: true)
        let script = "#!/bin/sh\necho \"args: $*\" >> \(out)\ncat >> \(out)\nexit \(status)\n"
        try writeScript(script, to: s.qmail + "/bin/qmail-inject")
        return out
    }

    @Test func forwardsThroughQmailInject() throws {
        let (s, _) = try site()
        let out = try installInject(s)
        #expect(try s.deliver(body, to: "ghost", at: "example.com", default: "someone@elsewhere.test").status == 0)
        let got = try #require(s.read(out))
        #expect(got.hasPrefix("args: -- someone@elsewhere.test\nReturn-Path: <alice@remote.test>\nDelivered-To: ghost@example.com\nReceived:"))
        // qmail-inject's temporary failure passes through.
        _ = try installInject(s, status: 111)
        #expect(try s.deliver(body, to: "ghost", at: "example.com", default: "x@elsewhere.test").status == 111)
    }

    @Test func userDotQmailLinesAndPrograms() throws {
        let (s, md) = try site()
        let home = s.domainDir("example.com") + "/joe"
        let out = try installInject(s)
        let copy = s.root + "/out/program-copy"
        try "# keep a copy\n&copy@elsewhere.test\n| cat > \(copy)\n./Maildir/\n".write(toFile: home + "/.qmail", atomically: true, encoding: .utf8)
        #expect(try s.deliver(body, to: "joe", at: "example.com").status == 0)
        #expect(s.read(out)!.contains("args: -- copy@elsewhere.test"))
        // A Maildir line naming another mailbox delivers there with that mailbox's address.
        let pm = s.domainDir("example.com") + "/postmaster/Maildir"
        try "\(pm)/\n".write(toFile: home + "/.qmail", atomically: true, encoding: .utf8)
        #expect(try s.deliver(body, to: "joe", at: "example.com").status == 0)
        #expect(s.read(pm + "/new/" + s.newMessages(pm)[0])!.contains("Delivered-To: postmaster@example.com\n"))
        try "# keep a copy\n&copy@elsewhere.test\n| cat > \(copy)\n./Maildir/\n".write(toFile: home + "/.qmail", atomically: true, encoding: .utf8)
        #expect(s.read(copy) == body)
        #expect(s.newMessages(md).count == 1)
        for (status, expected) in [(99, 99), (100, 100), (1, 111), (64, 100)] as [(Int32, Int32)] {
            try "|exit \(status)\n./Maildir/\n".write(toFile: home + "/.qmail", atomically: true, encoding: .utf8)
            #expect(try s.deliver(body, to: "joe", at: "example.com").status == expected, "program exit \(status)")
        }
        #expect(s.newMessages(md).count == 1)
        try "./Maildir\n".write(toFile: home + "/.qmail", atomically: true, encoding: .utf8)
        let mbox = try s.deliver(body, to: "joe", at: "example.com")
        #expect(mbox.status == 111 && mbox.out.contains("can't handle mbox delivery"))
    }

    @Test func qmailExtensionsWhenEnabled() throws {
        let (s, md) = try site("qmail-ext = y\n")
        let home = s.domainDir("example.com") + "/joe"
        try FileManager.default.createDirectory(atPath: s.root + "/out", withIntermediateDirectories: true)
        chown(s.root + "/out", 89, 89)
        try "| cat > \(s.root)/out/lists\n".write(toFile: home + "/.qmail-lists", atomically: true, encoding: .utf8)
        try "| cat > \(s.root)/out/news-default\n".write(toFile: home + "/.qmail-news-default", atomically: true, encoding: .utf8)
        #expect(try s.deliver(body, to: "joe-lists", at: "example.com").status == 0)
        #expect(s.read(s.root + "/out/lists") == body)
        #expect(try s.deliver(body, to: "joe-news-sports", at: "example.com").status == 0)
        #expect(s.read(s.root + "/out/news-default") == body)
        // No matching .qmail-<ext>: the mailbox.
        #expect(try s.deliver(body, to: "joe-other", at: "example.com").status == 0)
        #expect(s.newMessages(md).count == 1)
        // Without the option, joe-lists is an unknown user.
        try "".write(toFile: s.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
        #expect(try s.deliver(body, to: "joe-lists", at: "example.com", default: "bounce-no-mailbox").status == 100)
    }

    @Test func spamassassinFiltersAndDeletesFlaggedSpamWhenAsked() throws {
        let (s, md) = try site()
        // A spamc stand-in: flags messages that mention SPAM, passes the rest through.
        let spamc = s.root + "/spamc"
        try writeScript("#!/bin/sh\nmsg=$(cat)\ncase \"$msg\" in *SPAM*) printf 'X-Spam-Flag: YES\\n%s\\n' \"$msg\";; *) printf 'X-Spam-Flag: NO\\n%s\\n' \"$msg\";; esac\n",
                        to: spamc)
        try "spamassassin = y\nspamc-prog = \(spamc)\n".write(toFile: s.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
        #expect(try s.deliver(body, to: "joe", at: "example.com").status == 0)
        #expect(try s.deliver("Subject: SPAM offer\n\nbuy\n", to: "joe", at: "example.com").status == 0)
        let texts = s.newMessages(md).map { s.read(md + "/new/" + $0)! }
        #expect(texts.count == 2 && texts.contains { $0.contains("X-Spam-Flag: NO\nReceived:") }
                && texts.contains { $0.contains("X-Spam-Flag: YES\nSubject: SPAM offer") })
        // With delete spam (user flag), flagged messages are dropped; others still arrive.
        try s.ok(["vmoduser", "-F", "joe@example.com"])
        #expect(try s.deliver("Subject: SPAM again\n\nbuy\n", to: "joe", at: "example.com").status == 0)
        #expect(try s.deliver(body, to: "joe", at: "example.com").status == 0)
        #expect(s.newMessages(md).count == 3)
        // NO_SPAMASSASSIN: no filtering at all.
        try s.ok(["vmoduser", "-x", "-f", "joe@example.com"])
        #expect(try s.deliver("Subject: SPAM\n\nx\n", to: "joe", at: "example.com").status == 0)
        #expect(s.newMessages(md).map { s.read(md + "/new/" + $0)! }.contains { $0.contains("Delivered-To: joe@example.com\nSubject: SPAM\n") })
        // A spamc that cannot run costs nothing: the message is delivered as it came.
        try "spamassassin = y\nspamc-prog = /nonexistent/spamc\n".write(toFile: s.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
        try s.ok(["vmoduser", "-x", "joe@example.com"])
        #expect(try s.deliver(body, to: "joe", at: "example.com").status == 0)
        #expect(s.newMessages(md).count == 5)
    }

    @Test func deliverToStdoutShowsTheMessageInsteadOfWritingIt() throws {
        let (s, md) = try site()
        let r = try s.deliver(body, to: "joe", at: "example.com", env: ["DELIVER_TO_STDOUT": "1"])
        #expect(r.status == 0 && r.out == "Return-Path: <alice@remote.test>\nDelivered-To: joe@example.com\n" + body)
        #expect(s.newMessages(md).isEmpty)
    }

    @Test func loopsBouncesAndLockedAccounts() throws {
        let (s, md) = try site()
        let looping = "Delivered-To: joe@example.com\n" + body
        let r = try s.deliver(looping, to: "joe", at: "example.com")
        #expect(r.status == 100 && r.out == "mail is looping\n")
        try s.ok(["vmoduser", "-b", "joe@example.com"])
        let l = try s.deliver(body, to: "joe", at: "example.com")
        #expect(l.status == 100 && l.out.contains("account is locked email bounced joe@example.com"))
        #expect(s.newMessages(md).isEmpty)
    }

    @Test func quotasBounceWarnAndSpareSmallMessages() throws {
        let (s, md) = try site()
        try s.ok(["vsetuserquota", "joe@example.com", "5000"])
        try "From: postmaster\nSubject: quota warning\n\nYour mailbox is almost full.\n".write(toFile: s.home + "/etc/quotawarn.msg", atomically: true, encoding: .utf8)
        let big = body + String(repeating: "x", count: 3000) + "\n"
        #expect(try s.deliver(big, to: "joe", at: "example.com").status == 0)
        // The next one would pass the quota: bounced with the over-quota text, after a warning.
        let over = try s.deliver(big, to: "joe", at: "example.com")
        #expect(over.status == 100 && over.out.hasPrefix("user is over quota"))
        let names = s.newMessages(md)
        #expect(names.count == 2)
        let warning = try #require(names.map { s.read(md + "/new/" + $0)! }.first { $0.contains("Subject: quota warning") })
        #expect(warning.hasPrefix("Delivered-To: joe@example.com\nDate: "))
        // Only one warning a day.
        _ = try s.deliver(big, to: "joe", at: "example.com")
        #expect(s.newMessages(md).count == 2)
        // A custom over-quota text, domain first.
        try "Mailbox full, try later.\n".write(toFile: s.domainDir("example.com") + "/.over-quota.msg", atomically: true, encoding: .utf8)
        #expect(try s.deliver(big, to: "joe", at: "example.com").out.hasPrefix("Mailbox full, try later."))
        // The admin guide's rule (small-message-bytes): even over quota, a message of 1 KB or less gets through.
        try s.ok(["vsetuserquota", "joe@example.com", "1000"])
        #expect(try s.deliver("Subject: small\n\nhi\n", to: "joe", at: "example.com").status == 0)
        #expect(s.newMessages(md).count == 3)
        // With the rule switched off, small messages bounce too.
        try "small-message-bytes = 0\n".write(toFile: s.home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
        #expect(try s.deliver("Subject: small\n\nhi\n", to: "joe", at: "example.com").status == 100)
    }

    @Test func missingHomeIsRecreated() throws {
        let (s, md) = try site()
        try FileManager.default.removeItem(atPath: s.domainDir("example.com") + "/joe")
        #expect(try s.deliver(body, to: "joe", at: "example.com").status == 0)
        #expect(s.newMessages(md).count == 1)
    }

    @Test func faultsAreTemporaryAndLeaveNothingHalfDone() throws {
        let (s, md) = try site()
        // A full disk while copying: 111, nothing in new/ or tmp/.
        let big = body + String(repeating: "y", count: 20000) + "\n"
        let r = try s.deliver(big, to: "joe", at: "example.com", shellPrefix: "ulimit -f 8; trap '' XFSZ;")
        #expect(r.status == 111, "\(r.out)")
        #expect(s.newMessages(md).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: md + "/tmp").isEmpty)
        // An unreadable account store: 111.
        try Data(repeating: 0xff, count: 4096).write(to: URL(fileURLWithPath: s.domainDir("example.com") + "/vpasswd.cdb"))
        #expect(try s.deliver(body, to: "joe", at: "example.com").status == 111)
        // Bad invocation.
        #expect(try s.run([s.home + "/bin/vdelivermail", "only-one"]).status == 111)
        let noExt = try s.run([s.home + "/bin/vdelivermail", "", "delete"], env: ["HOST": "example.com"], shellPrefix: "unset EXT;")
        #expect(noExt.status == 100)
    }

    @Test func killedBetweenWriteAndLinkLeavesNoMessageInNew() throws {
        let (s, md) = try site()
        // A message the size of which keeps the copy busy; the process is killed mid-way.
        let huge = body + String(repeating: "z", count: 40_000_000) + "\n"
        let file = s.root + "/huge"
        try huge.write(toFile: file, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "cd '\(s.domainDir("example.com"))' && exec '\(s.home)/bin/vdelivermail' '' delete < '\(file)'"]
        p.environment = s.environment.merging(["EXT": "joe", "HOST": "example.com", "RPLINE": "Return-Path: <a@b>\n"]) { $1 }
        try p.run()
        usleep(20_000)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        // Either it finished before the kill (a whole message) or nothing is in new/.
        for n in s.newMessages(md) {
            let size = Int(n.split(separator: "=").last!)!
            var st = stat()
            stat(md + "/new/" + n, &st)
            #expect(Int(st.st_size) == size)
        }
    }

    /// The syscalls that make one delivery durable, in order (strace), as tokens: open-tmp,
    /// write-out (sync_file_range), fsync-msg, link, unlink-tmp, open-new, fsync-new.
    func durabilitySteps(_ s: Site) throws -> [String] {
        let trace = s.root + "/trace-\(UUID().uuidString.prefix(6))"
        let r = try s.deliver(body, to: "joe", at: "example.com", shellPrefix:
            "exec strace -o '\(trace)' -e trace=openat,fsync,fdatasync,sync_file_range,link,rename,unlink \"$@\";")
        #expect(r.status == 0, "\(r.out)\(r.err)")
        var fds: [String: String] = [:]
        var steps: [String] = []
        for line in (s.read(trace) ?? "").split(separator: "\n").map(String.init) {
            let result = line.split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            if line.hasPrefix("openat("), line.contains("/Maildir/tmp/") {
                fds[result] = "msg"; steps.append("open-tmp")
            } else if line.hasPrefix("openat("), line.contains("/Maildir/new\"") {
                fds[result] = "new"; steps.append("open-new")
            } else if line.hasPrefix("sync_file_range(") {
                steps.append("write-out")
            } else if line.hasPrefix("fsync(") || line.hasPrefix("fdatasync(") {
                let fd = String(line.drop(while: { $0 != "(" }).dropFirst().prefix(while: { $0 != ")" }))
                steps.append("fsync-" + (fds[fd] ?? "other"))
            } else if line.hasPrefix("link("), line.contains("/Maildir/new/") {
                steps.append("link")
            } else if line.hasPrefix("unlink("), line.contains("/Maildir/tmp/") {
                steps.append("unlink-tmp")
            }
        }
        return steps
    }

    static let strictSteps = ["open-tmp", "fsync-msg", "link", "open-new", "fsync-new", "unlink-tmp"]
    static let orderedSteps = ["open-tmp", "write-out", "link", "unlink-tmp", "fsync-msg"]

    /// delivery-sync: strict fsyncs the message before the link and new/ after it, and removes
    /// the tmp name only then; ordered writes the message out, links, removes, and makes it all
    /// durable with one fsync. Both leave one whole message in new/ and nothing in tmp/.
    @Test func deliverySyncModesOrderTheirWrites() throws {
        for (mode, steps) in [("strict", Self.strictSteps), ("ordered", Self.orderedSteps)] {
            let (s, md) = try site("delivery-sync = \(mode)\n")
            #expect(try durabilitySteps(s) == steps, "\(mode)")
            #expect(s.newMessages(md).count == 1)
            #expect(try FileManager.default.contentsOfDirectory(atPath: md + "/tmp").isEmpty)
        }
        // auto on tmpfs (no journal): strict.
        let (shm, _) = try site("", under: "/dev/shm")
        defer { try? FileManager.default.removeItem(atPath: shm.root) }
        #expect(try durabilitySteps(shm) == Self.strictSteps)
        // A bad value is a configuration error: 111, nothing delivered.
        let (bad, md) = try site()
        let conf = FileHandle(forWritingAtPath: bad.home + "/etc/vpopmail.conf")!
        conf.seekToEndOfFile()
        conf.write(Data("delivery-sync = sometimes\n".utf8))
        try conf.close()
        let r = try bad.deliver(body, to: "joe", at: "example.com")
        #expect(r.status == 111)
        #expect(r.out.contains("delivery-sync"), "\(r.out)")
        #expect(bad.newMessages(md).isEmpty)
    }

    /// auto on a journaled ext4 (mkfs.ext4's default; run-tests.sh loop-mounts one and names it
    /// in VPOP_TEST_JOURNALED_DIR): ordered.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["VPOP_TEST_JOURNALED_DIR"] != nil,
                   "needs a loop-mounted journaled ext4 (run-tests.sh makes one when it can)"))
    func autoSyncIsOrderedOnAJournaledFileSystem() throws {
        let dir = ProcessInfo.processInfo.environment["VPOP_TEST_JOURNALED_DIR"]!
        let (s, md) = try site("", under: dir)
        defer { try? FileManager.default.removeItem(atPath: s.root) }
        #expect(try durabilitySteps(s) == Self.orderedSteps)
        #expect(s.newMessages(md).count == 1)
    }
}
