import Testing
import VpopmailCore

/// The files of issue 16 read back what they wrote, and refuse what they should.
@Suite struct UserSecretsFile {
    func sample() -> UserSecrets {
        var s = UserSecrets()
        s.totp = TOTP(secret: Array("12345678901234567890".utf8))
        s.totpUsed = 41
        s.recovery = [UserSecrets.hashHex("abcde-fghjk")]
        s.appPasswords = [AppPassword(id: "0a1b2c3d", label: "Phone mail 100%", services: [.imap, .smtp],
                                      hash: UserSecrets.hashHex("aaaa-bbbb-cccc-dddd"), created: 1_800_000_000)]
        return s
    }

    @Test func roundTrip() {
        let s = sample()
        #expect(UserSecrets.parse(s.text()) == s)
        // A label's spaces and % are escaped: one line per entry, whatever the label.
        #expect(s.text().contains(" Phone%20mail%20100%25\n"))
    }

    @Test func damagedLinesAreDropped() {
        let t = sample().text() + "app short\ntotp !!! sha1 6 30 0\nnonsense line\nrecovery 123\n"
        #expect(UserSecrets.parse(t) == sample())
    }

    @Test func appPasswordForItsServicesOnly() {
        let s = sample()
        #expect(s.appPassword(matching: "aaaa-bbbb-cccc-dddd", for: .imap)?.id == "0a1b2c3d")
        #expect(s.appPassword(matching: "aaaa-bbbb-cccc-dddd", for: .smtp) != nil)
        #expect(s.appPassword(matching: "aaaa-bbbb-cccc-dddd", for: .pop) == nil)
        #expect(s.appPassword(matching: "aaaa-bbbb-cccc-ddde", for: .imap) == nil)
        #expect(AppService(.webmail) == .imap)
    }

    @Test func codesAreAcceptedOnce() {
        var s = sample()
        let t = s.totp!
        let now = 1_800_000_000
        let code = t.code(at: now)
        var ok = s.acceptCode(code, now: now)
        #expect(ok)
        ok = s.acceptCode(code, now: now)
        #expect(!ok)                                    // replayed
        // A recovery code, any case: once.
        ok = s.acceptCode("ABCDE-FGHJK", now: now)
        #expect(ok)
        #expect(s.recovery.isEmpty)
        ok = s.acceptCode("abcde-fghjk", now: now)
        #expect(!ok)
        var none = UserSecrets()
        ok = none.acceptCode(code, now: now)
        #expect(!ok)
    }
}

@Suite struct AuditLines {
    @Test func roundTripWithAwkwardText() {
        let e = AuditEntry(time: 1_800_000_000, who: "jo\"e@example.com", via: "web", from: "::1", action: "mod_user",
                           object: "joe@example.com", before: "gecos=a\\b\nc\u{1}", after: nil)
        let line = e.jsonLine
        #expect(line.hasSuffix("}\n"))
        #expect(!line.dropLast().contains("\n"))
        #expect(AuditEntry.parse(Substring(line.dropLast())) == e)
        #expect(line.hasPrefix("{\"time\":\"2027-01-15T08:00:00Z\""))
    }

    @Test func notJSONIsNoEntry() {
        #expect(AuditEntry.parse("{\"time\":\"x\"}") == nil)
        #expect(AuditEntry.parse("not json") == nil)
        #expect(JSON.flatObject("{\"a\":\"b\",}") == nil)
        #expect(JSON.flatObject("{\"a\":\"\\u00e9\"}") == ["a": "é"])
    }

    @Test func filters() {
        let e = AuditEntry(time: 0, who: "root", via: "command:vadduser", from: "local", action: "add_user", object: "joe@example.com", before: nil, after: nil)
        #expect(AuditFilter(domain: "example.com").accepts(e))
        #expect(!AuditFilter(domain: "example.org").accepts(e))
        #expect(AuditFilter(user: "JOE@example.com").accepts(e))
        #expect(!AuditFilter(action: "del_user").accepts(e))
        let d = AuditEntry(time: 0, who: "root", via: "x", from: "local", action: "add_domain", object: "example.com", before: nil, after: nil)
        #expect(AuditFilter(domain: "example.com").accepts(d))
    }
}

@Suite struct VacationFile {
    @Test func roundTripAndChecks() throws {
        let v = try VacationSettings(subject: "  Away ", body: "Back soon.\r\nBye\r\n", start: 100, end: 200, period: 86400).validated()
        #expect(v.subject == "Away")
        #expect(v.body == "Back soon.\nBye\n")
        #expect(VacationSettings.parse(v.text) == v)
        #expect(v.active(at: 100) && v.active(at: 199) && !v.active(at: 200) && !v.active(at: 99))
        #expect(throws: VpopmailError.self) { try VacationSettings(subject: "a\nBcc: x@y", body: "").validated() }
        #expect(throws: VpopmailError.self) { try VacationSettings(subject: "a", body: "", start: 5, end: 5).validated() }
        #expect(throws: VpopmailError.self) { try VacationSettings(subject: "a", body: "", period: 60).validated() }
        #expect(throws: VpopmailError.self) { try VacationSettings(subject: "a", body: String(repeating: "x", count: 20000)).validated() }
        #expect(try VacationSettings(subject: "", body: "x").validated().subject == "Out of the office")
    }

    @Test func forwardingAddresses() throws {
        #expect(try UserForwards.checkAddress(" joe@example.com ") == "joe@example.com")
        for bad in ["|/bin/sh", "joe", "a b@example.com", "joe@", "&joe@example.com", "/tmp/x@example.com", "joe@exa mple.com"] {
            #expect(throws: VpopmailError.self) { try UserForwards.checkAddress(bad) }
        }
    }

    @Test func escaping() {
        for s in ["plain", "with space", "100%", "tab\there", "é ü", ""] { #expect(Escape.unpercent(Escape.percent(s)) == s) }
        #expect(!Escape.percent("a b\nc").contains(" "))
    }
}
