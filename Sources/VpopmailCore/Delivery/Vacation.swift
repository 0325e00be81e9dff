/// The vacation autoresponder's rules for when not to answer (issue 16): RFC 3834 section 2 and
/// what Dovecot's Sieve vacation extension does. An autoresponder that answers a list, a bounce,
/// another robot or itself makes mail loops; these rules decide from the envelope sender, the
/// user's own addresses and the message's header, before anything is sent. The once-per-sender
/// memory and the reply itself are separate.
public enum Vacation {
    /// Why a message gets no reply.
    public enum Skip: String, Sendable, Equatable {
        /// No envelope sender (a bounce: `<>`, qmail's `#@[]`).
        case noSender = "no envelope sender"
        /// From one of the user's own addresses.
        case fromSelf = "from the user's own address"
        /// A robot's address: MAILER-DAEMON, LISTSERV, majordomo, owner-*, *-request, ...
        case robotSender = "sender is a robot"
        /// `Auto-Submitted:` other than `no` (autoreplies, our own included, and generated mail).
        case autoSubmitted = "Auto-Submitted"
        /// `Precedence: bulk`, `list` or `junk`.
        case bulk = "Precedence bulk, list or junk"
        /// A mailing list's header (`List-Id:`, `List-Unsubscribe:`, ...).
        case list = "mailing list"
        /// `X-Auto-Response-Suppress:` asking for none (Microsoft's `OOF` or `All`).
        case suppressed = "X-Auto-Response-Suppress"
        /// None of the user's addresses in To, Cc or their Resent- forms (a Bcc, or a list
        /// the user is on through an alias).
        case notAddressed = "not addressed to the user"
    }

    /// The header block's lines (as `Message.headerLines` gives them) as fields: names lower
    /// case, continuation lines joined, CR dropped.
    public static func fields(_ lines: [String]) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        for raw in lines {
            let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : raw
            if let f = line.first, f == " " || f == "\t" {
                if !out.isEmpty { out[out.count - 1].value += " " + line.trimmingSpaces() }
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            out.append((String(line[..<colon]).trimmingSpaces().lowercased(), String(line[line.index(after: colon)...]).trimmingSpaces()))
        }
        return out
    }

    static let robots: Set<String> = ["mailer-daemon", "mailer", "listserv", "majordomo", "mdaemon", "noreply", "no-reply",
                                      "do-not-reply", "donotreply", "bounce", "bounces"]

    /// Nil when the message may be answered; else why not. `sender` is the envelope sender
    /// (qmail's `SENDER`), `own` the user's addresses (the account, its aliases).
    public static func skip(sender: String, own: [String], header lines: [String]) -> Skip? {
        let s = sender.lowercased()
        if s.isEmpty || s == "<>" || s == "#@[]" || !s.contains("@") { return .noSender }
        let mine = Set(own.map { $0.lowercased() })
        if mine.contains(s) { return .fromSelf }
        let local = String(s[..<s.lastIndex(of: "@")!])
        if robots.contains(local) || local.hasPrefix("owner-") || local.hasSuffix("-request") || local.hasSuffix("-owner")
            || local.hasPrefix("bounce-") || local.hasPrefix("bounces+") {
            return .robotSender
        }
        let f = fields(lines)
        func values(_ name: String) -> [String] { f.filter { $0.name == name }.map(\.value) }
        // `Auto-Submitted: no` (a human's) and nothing else: the first token before `;`, a
        // space or a comment.
        if values("auto-submitted").contains(where: { v in
            v.lowercased().split(whereSeparator: { $0 == ";" || $0 == " " || $0 == "(" }).first.map(String.init) != "no"
        }) {
            return .autoSubmitted
        }
        if values("precedence").contains(where: { ["bulk", "list", "junk"].contains($0.lowercased()) }) { return .bulk }
        for name in ["list-id", "list-unsubscribe", "list-post", "list-help", "list-owner", "mailing-list", "x-mailing-list"]
            where !values(name).isEmpty {
            return .list
        }
        if values("x-auto-response-suppress").contains(where: { v in
            v.lowercased().split(whereSeparator: { $0 == "," || $0 == " " }).contains { $0 == "oof" || $0 == "all" }
        }) {
            return .suppressed
        }
        let to = ["to", "cc", "resent-to", "resent-cc"].flatMap(values).joined(separator: ",").lowercased()
        if !mine.contains(where: { addressed(to, $0) }) { return .notAddressed }
        return nil
    }

    /// Whether `address` appears in `header` as a whole address (not inside a longer one:
    /// `joe@example.com` is not in `bigjoe@example.com` or `joe@example.com.evil`).
    static func addressed(_ header: String, _ address: String) -> Bool {
        let h = Array(header.utf8), a = Array(address.utf8)
        guard !a.isEmpty, h.count >= a.count else { return false }
        func part(_ c: UInt8) -> Bool {
            (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || "._%+-=".utf8.contains(c)
        }
        var i = 0
        while i + a.count <= h.count {
            if Array(h[i..<(i + a.count)]) == a {
                let before = i == 0 ? nil : h[i - 1]
                let after = i + a.count == h.count ? nil : h[i + a.count]
                if !(before.map(part) ?? false) && !(after.map(part) ?? false) { return true }
            }
            i += 1
        }
        return false
    }
}
