import CDB
import Foundation
import Testing
import VpopmailCore

@Suite struct DirectoryHashing {
    /// Bucket of allocation `n` (1-based) from a fresh state.
    func buckets(_ n: Int) -> [String] {
        var d = DirControl()
        return (0..<n).map { _ in d.next() }
    }

    @Test func firstBucketsFollowUpstreamSequence() {
        let b = buckets(25_100)
        #expect(b[0] == "")          // #1, the postmaster
        #expect(b[98] == "")         // #99
        #expect(b[99] == "0")        // #100
        #expect(b[198] == "0")       // #199
        #expect(b[199] == "1")       // #200
        #expect(b[6298] == "z")      // #6299
        #expect(b[6299] == "0/0")    // #6300
        #expect(b[12399] == "0/z")   // #12400
        #expect(b[12499] == "1/0")   // #12500
        #expect(b[24899] == "3/0")   // #24900
        #expect(b[25099] == "3/2")
    }

    @Test func snapshotsMatchReferenceTable() {
        var d = DirControl()
        func advance(to n: UInt64) { while d.curUsers < n { _ = d.next() } }
        advance(to: 1)
        #expect(d.fileText == "1\n0\n3\n0 0 0\n61 61 61\n0 2 4\n0 0 0\n\n")
        advance(to: 200)
        #expect(d.fileText.hasSuffix("1 0 0\n1\n"))
        advance(to: 6300)
        #expect(d.levelCur == 1 && d.levelIndex == [0, 1, 0] && d.bucket == "0/0")
        advance(to: 12400)
        #expect(d.levelIndex == [0, 62, 0] && d.bucket == "0/z")
        advance(to: 12500)
        #expect(d.levelIndex == [1, 0, 0] && d.bucket == "1/0")
        advance(to: 390600)
        #expect(d.levelIndex == [61, 61, 0] && d.bucket == "z/z")
        advance(to: 390700)
        #expect(d.levelCur == 2 && d.levelIndex == [0, 0, 1] && d.bucket == "0/0/0")
    }

    @Test func everyBucketHoldsAtMostOneHundred() {
        var count: [String: Int] = [:]
        for b in buckets(50_000) { count[b, default: 0] += 1 }
        #expect(count[""] == 99)
        #expect(count.values.allSatisfy { $0 <= 100 })
    }

    @Test func parserAcceptsUpstreamQuirkAndNinthLine() throws {
        let text = "251\n0\n3\n0 0 0\n61 61 61\n0 2 2\n1 0 0\n1\n"
        let d = try DirControl.parse(text, file: "x")
        #expect(d.curUsers == 251 && d.bucket == "1" && d.levelIndex == [1, 0, 0])
        let nine = try DirControl.parse(text + "2\n", file: "x")
        #expect(nine.bucket == "2")
        #expect(throws: VpopmailError.self) { _ = try DirControl.parse("abc\n", file: "x") }
        #expect(throws: VpopmailError.self) { _ = try DirControl.parse("1\n0\n3\n0 0 0\n61 61 61\n0 2 4\n0 0 0\n../x\n", file: "x") }
    }

    @Test func roundTripsThroughText() throws {
        var d = DirControl()
        for _ in 0..<7000 { _ = d.next() }
        #expect(try DirControl.parse(d.fileText, file: "x") == d)
    }
}

@Suite struct QuotaStrings {
    @Test(arguments: [
        ("1M", "1048576S"), ("1024KB", "1048576S"), ("5000000", "5000000S"),
        ("1mbs,1000C", "1048576S,1000C"), ("1000C,10MBS", "10485760S,1000C"),
        ("NOQUOTA", "NOQUOTA"), ("noquota", "NOQUOTA"), ("50M", "52428800S"), ("1000C", "1000C"),
    ])
    func normalises(_ input: String, _ expected: String) throws {
        #expect(try Quota.parse(input).description == expected)
    }

    @Test(arguments: ["abc", "10X", "-5M", "", "1,2,", "99999999999999999999999M"])
    func refusesGarbage(_ input: String) {
        #expect(throws: VpopmailError.self) { _ = try Quota.parse(input) }
    }

    @Test func storedQuotaReadsLegacyFormsAndKeepsItsSpelling() {
        func limits(_ s: String) -> [UInt64] { let q = Quota(stored: s); return [q.bytes, q.count] }
        #expect(limits("10485760S,1000C") == [10485760, 1000])
        #expect(limits("5000000") == [5000000, 0])
        #expect(Quota(stored: "NOQUOTA").isNone && !Quota(stored: "NOQUOTA").keepsMaildirsize)
        #expect(Quota(stored: "").isNone && !Quota(stored: "").keepsMaildirsize)
        #expect(limits("1000C") == [0, 1000])
        #expect(limits("+5S,,7C") == [5, 7])
        #expect(limits("junkS,99999999999999999999C") == [0, 0])
        // Whatever is stored is written back byte for byte.
        for s in ["5000000", "+5S,,7C", "10485760S,1000C", "NOQUOTA", "NOQUOTA2", ""] { #expect(Quota(stored: s).spelling == s) }
        #expect(Quota(bytes: 100, count: 10).spelling == "100S,10C" && Quota(bytes: 0, count: 0).spelling == "")
    }

    @Test func maildirPathsNameTheirAddress() {
        #expect(Maildir.address(ofPath: "/home/vpopmail/domains/example.com/0/ann/Maildir/") == "ann@example.com")
        #expect(Maildir.address(ofPath: "/home/vpopmail/domains/example.com/joe/Maildir") == "joe@example.com")
        #expect(Maildir.address(ofPath: "./Maildir/") == nil)
        #expect(Maildir.address(ofPath: "/var/mail/Maildir/") == nil)
    }

    /// The byte-level sums against a plain reading of the rule, over random files made of valid
    /// lines, odd lines, signs, overflow, runs of spaces and a missing final newline.
    @Test func maildirsizeSumsMatchAPlainReading() {
        func reference(_ text: String) -> (Int64, Int64) {
            var b: Int64 = 0, c: Int64 = 0
            for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst() {
                let f = line.split(separator: " ")
                guard f.count >= 2, let x = Int64(f[0]), let y = Int64(f[1]) else { continue }
                b = b &+ x
                c = c &+ y
            }
            return (b, c)
        }
        let pieces = ["4110", "1", "-300", "-1", "+5", "12x", "x", "", " ", "  ", "-", "+", "9223372036854775807",
                      "99999999999999999999", "-9223372036854775808", "0", "007", "\t3", "1\u{0}", "\u{0}"]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var text = "100S"
            for _ in 0..<Int.random(in: 0...8, using: &rng) {
                text += "\n"
                for k in 0..<Int.random(in: 0...4, using: &rng) {
                    if k > 0 { text += String(repeating: " ", count: Int.random(in: 1...2, using: &rng)) }
                    text += pieces.randomElement(using: &rng)!
                }
            }
            if Bool.random(using: &rng) { text += "\n" }
            let got = Maildir.sizeSums(Array(text.utf8), quota: "100S")
            let want = reference(text)
            #expect(got?.bytes == want.0 && got?.count == want.1, "\(text.debugDescription)")
        }
    }

    /// The byte-level reading of Maildir file names against the plain one: size after the first
    /// `,S=`, flag T after `:2,`, dot files skipped; and a whole scan of new/ and cur/.
    @Test func maildirNamesAreReadLikeTheirStrings() throws {
        func reference(_ n: String) -> UInt64? {
            guard let r = n.firstRange(of: ",S=") else { return nil }
            return UInt64(n[r.upperBound...].prefix(while: { $0 >= "0" && $0 <= "9" }))
        }
        let parts = ["1795645500.M907753P31360Q1.vm", ",S=", "4110", ":2,", "S", "T", "RS", ",W=4200", "x",
                     "99999999999999999999", ",S", "=", ":2", ","]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            let name = (0..<Int.random(in: 1...6, using: &rng)).map { _ in parts.randomElement(using: &rng)! }.joined()
            #expect(Maildir.sizeFromName(name) == reference(name), "\(name)")
        }
        #expect(Maildir.sizeFromName("") == nil)
        let md = NSTemporaryDirectory() + "scan-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: md) }
        for d in ["new", "cur", ".Sent/cur", ".Trash/cur"] {
            try FileManager.default.createDirectory(atPath: md + "/" + d, withIntermediateDirectories: true)
        }
        let files = ["new/1.a,S=100": 5, "cur/2.a,S=200:2,S": 5, "cur/3.a,S=300:2,ST": 5, "cur/.hidden,S=7": 5,
                     "cur/4.a:2,S": 42, ".Sent/cur/5.a,S=50:2,": 5, ".Trash/cur/6.a,S=600:2,": 5]
        for (f, size) in files { try Data(count: size).write(to: URL(fileURLWithPath: md + "/" + f)) }
        let u = Maildir.scan(md)
        #expect(u.bytes == 100 + 200 + 42 + 50 && u.count == 4)
    }

    @Test func maildirsizeLinesAddUpAndOddLinesAreSkipped() throws {
        let file = Array("10485760S,1000C\n  4110 1\n-300 -1\n+5 1 extra\n12x 1\n7\n\n99999999999999999999 1\n 10   2 \n".utf8)
        #expect(Maildir.quotaLine(file)?.spelling == "10485760S,1000C")
        let sums = try #require(Maildir.sizeSums(file, quota: "10485760S,1000C"))
        #expect(sums.bytes == Int64(4110 - 300 + 5 + 10))
        #expect(sums.count == Int64(1 - 1 + 1 + 2))
        #expect(Maildir.sizeSums(file, quota: "5000S") == nil)
        #expect(Maildir.sizeSums(Array("5000S".utf8), quota: "5000S")! == (0, 0))
        #expect(Maildir.quotaLine([]) == nil)
        #expect(Bytes.int64(ArraySlice("-9223372036854775808".utf8)) == Int64.min)
        #expect(Bytes.int64(ArraySlice("9223372036854775808".utf8)) == nil)
        #expect(Bytes.int64(ArraySlice("-".utf8)) == nil)
    }

    @Test func percentIsTheLargerOfSizeAndCount() {
        #expect(Maildir.percent(bytes: 50, count: 9, quota: Quota(bytes: 100, count: 10)) == 90)
        #expect(Maildir.percent(bytes: 50, count: 1, quota: Quota(bytes: 100, count: 10)) == 50)
    }
}

@Suite struct Names {
    @Test func userNameRules() throws {
        #expect(UserName("joe.bloggs+tag")?.text == "joe.bloggs+tag")
        #expect(UserName("Joe")?.text == "joe")
        for bad in ["../x", "a/b", ".hidden", "jo e", "a:b", "a@b", "x\u{1}", "é", "", String(repeating: "a", count: 65)] {
            #expect(UserName(bad) == nil, "\(bad)")
        }
        _ = try UserName(newAccount: "x")
        #expect(throws: VpopmailError.self) { try UserName(newAccount: String(repeating: "a", count: 65)) }
        _ = try UserName(newAccount: String(repeating: "a", count: 64))
        #expect(throws: VpopmailError.self) { try UserName(newAccount: "vpasswd") }
        #expect(throws: VpopmailError.self) { try UserName(newAccount: "") }
        // A lookup of a name too long is an error; of a name no account can have, nothing.
        #expect(throws: VpopmailError.self) { try UserName.lookup(String(repeating: "a", count: 65)) }
        #expect(try UserName.lookup("a/b") == nil)
    }

    @Test func oneCharacterHomesCannotBeBuckets() {
        #expect(DirControl.homeName(for: "j") == ".j")
        #expect(DirControl.homeName(for: "jo") == "jo")
        #expect(DirControl.user(ofHomeName: ".j") == "j")
        #expect(DirControl.user(ofHomeName: "jo") == "jo")
        // No home name is a bucket name, nor another user's name.
        for c in DirControl.alphabet {
            let name = DirControl.homeName(for: String(decoding: [c | 0x20], as: UTF8.self))
            #expect(name.utf8.count == 2 && UserName(name) == nil)
        }
    }

    @Test func domainRules() throws {
        #expect(try DomainName(newDomain: "Example.COM").text == "example.com")
        for bad in ["example", "a.b", "-x.com", "x.com-", "x..com", "exa mple.com", "ex/ample.com", "x.c", ".x.com",
                    String(repeating: "a", count: 94) + ".com"] {
            #expect(throws: VpopmailError.self, "\(bad)") { try DomainName(newDomain: bad) }
        }
        #expect(DomainName("localhost")?.text == "localhost")
        #expect(DomainName("exa$mple.com") == nil)
        #expect(throws: VpopmailError.self) { try DomainName.lookup(String(repeating: "a", count: 97)) }
    }

    @Test func addressSplitting() {
        #expect(Validate.splitAddress("Joe@Example.COM") == ("joe", "example.com"))
        #expect(Validate.splitAddress("joe%example.com") == ("joe", "example.com"))
        #expect(Validate.splitAddress("joe") == ("joe", ""))
    }
}

@Suite struct QmailFiles {
    @Test func sortKeyMovesLastTwoLabelsFirst() {
        #expect(QmailControl.sortKey("mail.example.com") == Array("example.com.mail".utf8))
        #expect(QmailControl.sortKey("a.b.example.co.uk") == Array("co.uk.a.b.example".utf8))
        #expect(QmailControl.sortKey("test.com") == Array("test.com".utf8))
    }

    @Test func assignIsSortedAndCompiledLikeQmailNewu() throws {
        let dir = NSTemporaryDirectory() + "qm-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/users", withIntermediateDirectories: true)
        let q = QmailControl(qmailDir: dir, sync: false)
        for d in ["zeta.org", "mail.alpha.com", "beta.net", "alpha.com"] {
            _ = try q.insertLine(QmailControl.assignLine(name: d, realDomain: d, uid: 89, gid: 89, dir: "/v/\(d)"),
                                 into: q.assignPath, kind: .assign)
        }
        let text = try String(contentsOfFile: q.assignPath, encoding: .utf8)
        #expect(text == """
            +alpha.com-:alpha.com:89:89:/v/alpha.com:-::
            +mail.alpha.com-:mail.alpha.com:89:89:/v/mail.alpha.com:-::
            +beta.net-:beta.net:89:89:/v/beta.net:-::
            +zeta.org-:zeta.org:89:89:/v/zeta.org:-::
            .

            """)
        try q.compileAssign()
        let r = try CDBReader(path: q.usersCDBPath)
        #expect(try r.find(Array("!beta.net-".utf8)) == Array("beta.net\u{0}89\u{0}89\u{0}/v/beta.net\u{0}-\u{0}".utf8))
        #expect(try r.find([]) == Array("-".utf8))
        #expect(try q.lookup("BETA.net")?.dir == "/v/beta.net")
        #expect(try q.lookup("nope.net") == nil)
    }
}

@Suite struct Passwords {
    @Test func knownHashesVerify() {
        #expect(Password.verify("secret", against: "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"))
        #expect(Password.verify("secret", against: "$1$saltsalt$9xy1btjgzLYfb7hivXtC//"))
        #expect(Password.verify("secret", against: "abNANd1rDfiNc"))
        #expect(Password.verify("secret", against: "{SHA512-CRYPT}$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"))
        #expect(!Password.verify("Secret", against: "abNANd1rDfiNc"))
        #expect(!Password.verify("", against: ""))
        #expect(!Password.verify("x", against: ""))
    }

    @Test(arguments: PasswordScheme.allCases)
    func everySchemeHashesAndVerifies(_ s: PasswordScheme) throws {
        let h = try Password.hash("correct horse", scheme: s)
        #expect(Password.verify("correct horse", against: h))
        #expect(!Password.verify("wrong horse", against: h))
        if s == .sha512 { #expect(h.hasPrefix("$6$") && h.count == 98) }
    }

    @Test func randomPasswordsUseUpstreamAlphabet() {
        let p = Password.random(length: 40)
        #expect(p.count == 40)
        #expect(p.allSatisfy { $0.isLetter || $0.isNumber || ".@!#%*".contains($0) })
        #expect(Password.random() != Password.random())
    }

    @Test func policyRulesInUpstreamOrder() throws {
        let p = PasswordPolicy.parse("Policy at least 8 chars and a digit\nLength >= 8\nNumeric > 0\n")
        #expect(throws: VpopmailError.self) { try p.check("short1") }
        do { try p.check("longenough") } catch { #expect(error.code == .pwstrNumeric) }
        try p.check("longenough1")
    }
}

@Suite struct ConfigFile {
    @Test func parsesKeysAndLegacyNames() throws {
        let c = try Config.parse("""
            # comment
            roaming-users = y
            relay-clear-minutes = 360
            hardquota = NOQUOTA
            --enable-default-domain = Example.COM
            large-site = y
            password-scheme = bcrypt
            qmaildir = /opt/qmail
            """, file: "vpopmail.conf")
        #expect(c.roamingUsers && c.relayClearMinutes == 360 && c.hardQuota == .none)
        #expect(c.defaultDomain?.text == "example.com" && !c.manyDomains && c.passwordScheme == .bcrypt && c.qmailDir == "/opt/qmail")
    }

    @Test func shippedSampleParses() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../etc/vpopmail.conf")
        let c = try Config.parse(try String(contentsOf: url, encoding: .utf8), file: "etc/vpopmail.conf")
        #expect(c.hardQuota.spelling == "52428800S" && c.passwordScheme == .sha512 && c.domainDefaultDelivery == "delete")
    }

    @Test func errorsNameFileAndLine() {
        do {
            _ = try Config.parse("roaming-users = y\nbogus-key = 1\n", file: "/e/vpopmail.conf")
            Issue.record("no error")
        } catch {
            #expect(error.message == "/e/vpopmail.conf:2: unknown key 'bogus-key'")
            #expect(error.code == .badConfig)
        }
        #expect(throws: VpopmailError.self) { _ = try Config.parse("roaming-users = maybe", file: "f") }
        #expect(throws: VpopmailError.self) { _ = try Config.parse("hardquota = lots", file: "f") }
        #expect(throws: VpopmailError.self) { _ = try Config.parse("qmaildir = relative/path", file: "f") }
        #expect(throws: VpopmailError.self) { _ = try Config.parse("logging = x", file: "f") }
        #expect(throws: VpopmailError.self) { _ = try Config.parse("just words", file: "f") }
    }
}

@Suite struct VpasswdLines {
    @Test func parsesSevenAndEightFields() throws {
        let a = try #require(VpasswdFile.account(from: Array("joe:$6$x$y:1:0:Joe Bloggs:/h/joe:10485760S,1000C".utf8)[...]))
        #expect(a.name == "joe" && a.flags.rawValue == 0 && a.quota.spelling == "10485760S,1000C" && a.clearPassword == nil)
        let b = try #require(VpasswdFile.account(from: Array("ann:h:2:2048:Ann:/h/ann:NOQUOTA:clear:with:colons".utf8)[...]))
        #expect(b.apopMarker == 2 && b.flags == .noSMTP && b.clearPassword == "clear:with:colons")
        #expect(try VpasswdFile.line(for: a, withClear: false) == Array("joe:$6$x$y:1:0:Joe Bloggs:/h/joe:10485760S,1000C".utf8))
    }

    @Test func lineWriterRefusesWhatWouldBreakTheFile() throws {
        let a = Account(name: "joe", passwordHash: "$6$x$y", gecos: "Joe: the first", home: "/h/joe",
                        quota: Quota(stored: "NOQUOTA"), clearPassword: "p:w")
        // The gecos loses its colons (upstream's writer does so); a clear password, the last
        // field, may hold one.
        #expect(try VpasswdFile.line(for: a, withClear: true) == Array("joe:$6$x$y:1:0:Joe the first:/h/joe:NOQUOTA:p:w".utf8))
        var bad = [a, a, a, a, a, a, a]
        bad[0].clearPassword = "p\nevil:x:1:0:e:/h/e:NOQUOTA"
        bad[1].gecos = "Joe\nevil"
        bad[2].home = "/h/joe:x"
        bad[3].passwordHash = "$6$x:y"
        bad[4].quota = Quota(stored: "5M\r")
        bad[5].name = "jo:e"
        bad[6].clearPassword = "p\0w"
        for b in bad {
            #expect(throws: VpopmailError.self) { _ = try VpasswdFile.line(for: b, withClear: true) }
        }
    }

    @Test func corruptLineIsReportedWithItsNumber() {
        do {
            _ = try VpasswdFile(bytes: Array("a:x:1:0:a:/h/a:NOQUOTA\nbroken line\n".utf8), path: "/d/vpasswd")
            Issue.record("no error")
        } catch {
            #expect(error.message == "/d/vpasswd:2: corrupt vpasswd line")
        }
    }

    @Test func insertKeepsNameOrder() throws {
        var f = try VpasswdFile(bytes: Array("b:x:1:0:b:/b:NOQUOTA\nd:x:1:0:d:/d:NOQUOTA\n".utf8), path: "v")
        f.insert(Array("c:x:1:0:c:/c:NOQUOTA".utf8))
        f.insertMany([Array("a:x:1:0:a:/a:NOQUOTA".utf8), Array("e:x:1:0:e:/e:NOQUOTA".utf8)])
        #expect(String(decoding: f.bytes, as: UTF8.self).split(separator: "\n").map { $0.prefix(1) } == ["a", "b", "c", "d", "e"])
    }
}

@Suite struct Limits {
    @Test func roundTripIncludingMaillistBits() {
        var l = DomainLimits()
        l.maxPopAccounts = 10
        l.defaultQuota = 1048576
        l.disableIMAP = true
        l.permMaillist = 1
        l.permMaillistUsers = 2
        l.permMaillistModerators = 4
        l.permQuota = 7
        #expect(DomainLimits.parse(l.fileText) == l)
        #expect(l.flagMask == .noIMAP)
        #expect(l.defaultUserQuota?.spelling == "1048576S")
    }

    @Test func readsUpstreamShippedFile() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../etc/vlimits.default")
        let l = DomainLimits.parse(try String(contentsOf: url, encoding: .utf8))
        #expect(l == DomainLimits())
        #expect(DomainLimits.parse("maxpopaccounts: 5\ndisable_pop\n#disable_imap\n").maxPopAccounts == 5)
    }
}

@Suite struct FlagBits {
    @Test func rawValuesAreUpstreams() {
        #expect(AccountFlags.noPOP.rawValue == 2 && AccountFlags.noWebmail.rawValue == 4 && AccountFlags.noIMAP.rawValue == 8)
        #expect(AccountFlags.bounceMail.rawValue == 0x10 && AccountFlags.noSMTP.rawValue == 0x800)
        #expect(AccountFlags.overrideDomainLimits.rawValue == 0x2000 && AccountFlags.noMaildrop.rawValue == 0x40000)
    }
}

@Suite struct ClearPasswords {
    func code(_ text: String, _ rules: ClearPassword.Rules = .init()) -> VACode? {
        do { _ = try ClearPassword(text, rules: rules); return nil } catch { return error.code }
    }

    @Test func everyRuleInOnePlace() {
        #expect(code("secret") == nil)
        #expect(code(String(repeating: "p", count: 128)) == nil)
        #expect(code(String(repeating: "p", count: 129)) == .passwdTooLong)
        for bad in ["a\nb", "a\rb", "a\0b"] { #expect(code(bad) == .badChar) }
        #expect(code("a:b") == nil)
        #expect(code("a:b", .init(forbidsColon: true)) == .badChar)
        #expect(code("short", .init(minLength: 8)) == .pwstrLength)
        #expect(code("longenough", .init(minLength: 8)) == nil)
        let policy = PasswordPolicy.parse("policy at least 2 digits\nnumeric >= 0.2\n")
        #expect(code("abcdefgh", .init(policy: policy)) == .pwstrNumeric)
        #expect(code("abcdef12", .init(policy: policy)) == nil)
    }
}

@Suite struct Digests {
    func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

    /// FIPS 180-4's examples, and a message longer than one block.
    @Test func shaKnownAnswers() {
        #expect(hex(SHA.sha1(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(hex(SHA.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex(SHA.sha512(Array("abc".utf8))) == "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(hex(SHA.sha1(long)) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(hex(SHA.sha256(long)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(hex(SHA.sha256([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func base64RoundTrips() {
        for s in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            let e = Base64.encode(Array(s.utf8))
            #expect(Base64.decode(Substring(e)) == Array(s.utf8))
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy" && Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.decode("Zm9v!") == nil)
    }

    /// Hashes upstream vpopmail writes (crypt(3): DES, MD5, SHA-256, SHA-512) and the stored
    /// forms of `{SCHEME}` prefixes; the strength order `rehash-on-login` uses.
    @Test func upstreamHashesVerifyAndRank() {
        let table: [(String, String)] = [
            ("8Ct0Jm1T5Sm0Q", "vpopmail-dummy-password"),
            ("$1$8CJ2y0Ht$UUnBxTz8M4LRPCbIfqEhl/", "vpopmail-dummy-password"),
            ("$5$8CJ2y0Ht$UzeEBEx0iTncafcq7k6CA7wGUaAqj5UNEk43RtOWpj5", "vpopmail-dummy-password"),
            ("$6$8CJ2y0Ht$fkTY30to/QX2Go0jp/FVAEmvqdHJEt/fDoCOhklrdBSTk4dxHhYW2o7/j5broRynyldwCJYMVlwkZQ/DLU43s.", "vpopmail-dummy-password"),
            ("{MD5-CRYPT}$1$8CJ2y0Ht$UUnBxTz8M4LRPCbIfqEhl/", "vpopmail-dummy-password"),
            ("{PLAIN}vpopmail-dummy-password", "vpopmail-dummy-password"),
        ]
        for (h, p) in table {
            #expect(Password.verify(p, against: h), "\(h)")
            #expect(!Password.verify("x" + p, against: h), "\(h)")
        }
        #expect(!Password.verify("", against: ""))
        #expect(!Password.verify("x", against: "{UNKNOWN}x"))
        #expect(Password.storedForm("{SHA512-CRYPT}$6$ab$cd") == "$6$ab$cd" && Password.storedForm("{SSHA}abc=") == "{SSHA}abc=")
        #expect(Password.storedForm("{CRYPT}8Ct0Jm1T5Sm0Q") == "8Ct0Jm1T5Sm0Q")
        let ranked = ["{PLAIN}x", "8Ct0Jm1T5Sm0Q", "$1$a$b", "$5$a$b", "$6$a$b", "$2b$05$x", "$y$j9T$a$b"]
        let ranks = ranked.map { Password.strength(of: $0) ?? -1 }
        #expect(ranks == ranks.sorted() && Set(ranks).count == ranks.count, "\(ranks)")
        #expect(Password.isWeaker("$1$a$b", than: .sha512) && !Password.isWeaker("$6$a$b", than: .sha512))
        #expect(!Password.isWeaker("$6$a$b", than: .sha256) && Password.isWeaker("$6$a$b", than: .argon2id))
    }
}
