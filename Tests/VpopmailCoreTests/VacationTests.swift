import Testing
import VpopmailCore

/// When the vacation autoresponder must stay quiet (RFC 3834 section 2).
@Suite struct VacationRules {
    let own = ["joe@example.com", "j.doe@example.com"]
    func header(_ extra: String = "", to: String = "Joe <joe@example.com>") -> [String] {
        ("From: Ann <ann@remote.test>\nTo: \(to)\nSubject: hello\n" + extra).split(separator: "\n", omittingEmptySubsequences: false)
            .map(String.init).filter { !$0.isEmpty }
    }

    @Test func answersAPersonWritingToTheUser() {
        #expect(Vacation.skip(sender: "ann@remote.test", own: own, header: header()) == nil)
        #expect(Vacation.skip(sender: "Ann@Remote.Test", own: own, header: header(to: "JOE@EXAMPLE.COM")) == nil)
        #expect(Vacation.skip(sender: "ann@remote.test", own: own, header: ["From: ann@remote.test", "To: a@b.c,\r", "\tj.doe@example.com", "Subject: x"]) == nil,
                "a folded To: line")
        #expect(Vacation.skip(sender: "ann@remote.test", own: own, header: ["From: ann@remote.test", "To: a@b.c", "Subject: x", "\tj.doe@example.com"]) == .notAddressed,
                "the address folded into the Subject")
        #expect(Vacation.skip(sender: "ann@remote.test", own: own, header: header("Cc: joe@example.com\n", to: "x@y.z")) == nil)
        #expect(Vacation.skip(sender: "ann@remote.test", own: own, header: header("Auto-Submitted: no\n")) == nil)
        #expect(Vacation.skip(sender: "ann@remote.test", own: own, header: header("Auto-Submitted: No (a person)\n")) == nil)
    }

    @Test(arguments: [
        ("", Vacation.Skip.noSender), ("<>", .noSender), ("#@[]", .noSender), ("nobody", .noSender),
        ("joe@example.com", .fromSelf), ("J.Doe@example.com", .fromSelf),
        ("MAILER-DAEMON@remote.test", .robotSender), ("owner-list@remote.test", .robotSender),
        ("list-request@remote.test", .robotSender), ("noreply@remote.test", .robotSender),
        ("bounces+123@remote.test", .robotSender), ("majordomo@remote.test", .robotSender),
    ])
    func quietForTheseSenders(sender: String, why: Vacation.Skip) {
        #expect(Vacation.skip(sender: sender, own: own, header: header()) == why)
    }

    @Test(arguments: [
        ("Auto-Submitted: auto-replied\n", Vacation.Skip.autoSubmitted),
        ("Auto-Submitted: auto-generated\n", .autoSubmitted),
        ("auto-submitted:auto-notified; owner-email=\"x@y\"\n", .autoSubmitted),
        ("Precedence: bulk\n", .bulk), ("Precedence: LIST\n", .bulk), ("Precedence: junk\n", .bulk),
        ("List-Id: <l.remote.test>\n", .list), ("List-Unsubscribe: <mailto:u@remote.test>\n", .list),
        ("Mailing-List: contact l@remote.test\n", .list),
        ("X-Auto-Response-Suppress: DR, OOF\n", .suppressed), ("X-Auto-Response-Suppress: All\n", .suppressed),
    ])
    func quietForTheseHeaders(extra: String, why: Vacation.Skip) {
        #expect(Vacation.skip(sender: "ann@remote.test", own: own, header: header(extra)) == why)
    }

    /// Only the whole address counts: not inside a longer one, not a Bcc.
    @Test func notAddressedToTheUser() {
        for to in ["bigjoe@example.com", "joe@example.com.evil.test", "list@remote.test", "xjoe@example.com"] {
            #expect(Vacation.skip(sender: "ann@remote.test", own: own, header: header(to: to)) == .notAddressed, "\(to)")
        }
        #expect(Vacation.skip(sender: "ann@remote.test", own: own, header: ["From: ann@remote.test", "Subject: x"]) == .notAddressed)
    }

    @Test func unfoldsFields() {
        let f = Vacation.fields(["Subject: a\r", " b", "\tc", "X-Y:z", "no colon", "To: joe@example.com"])
        #expect(f.map(\.name) == ["subject", "x-y", "to"])
        #expect(f[0].value == "a b c" && f[1].value == "z")
    }
}
