import VpopmailCore

/// vpopmaild's wire format (docs/vpopmaild.md): replies, error texts, the user block.
enum Wire {
    static let ok = "+OK \r\n"
    static let okData = "+OK+\r\n"
    static let end = ".\r\n"

    /// Upstream's message table, by major number.
    static let messages: [Int: String] = [
        1: "Can't open authentication database", 2: "Too many actions before login", 3: "Read Timeout",
        4: "Invalid Command", 5: "Too many invalid login attempts", 6: "Email Address Required",
        7: "Password Required", 8: "Invalid Login", 9: "Not Authorized", 10: "Invalid Email Address",
        11: "Not Authorized for domain", 12: "User does not exist", 13: "Domain Required",
        14: "Alias Name Required", 15: "Invalid Alias Name Supplied", 16: "Alias Line Required",
        17: "Alias Insertion Failed", 18: "Alias Removal Failed", 19: "Alias Deletion Failed",
        20: "Invalid Directory.  .. not allowed in path", 21: "Invalid Directory.  % not allowed in path",
        22: "Invalid Directory.  Do you need a trailing '/'?", 23: "Invalid Directory. Found / before @",
        24: "Invalid Directory. Can't parse email address", 25: "Invalid Directory. Unknown email address",
        26: "Unauthorized Directory.", 27: "Directory Required.", 28: "Source File Name Required",
        29: "Destination File Name Required", 30: "Filename Required", 31: "Could not open assign file",
        32: "IP Required", 33: "Not Available", 34: "Could not get limits", 35: "Could not set limits",
        36: "Not Implemented yet.", 37: "IP Required", 38: "Invalid Domain",
    ]

    /// `-ERR <major>.<minor> <text of major>`.
    static func err(_ major: Int, _ minor: Int) -> String {
        "-ERR \(major).\(pad(minor)) \(messages[major] ?? "Unknown error")\r\n"
    }

    /// `-ERR 0.<minor> <text>`: the paths that report a library error.
    static func err0(_ minor: Int, _ text: String) -> String { "-ERR 0.\(pad(minor)) \(oneLine(text))\r\n" }

    static func pad(_ n: Int) -> String { n < 10 ? "00\(n)" : n < 100 ? "0\(n)" : "\(n)" }

    /// A value sent on one line: CR and LF never reach the client from a field.
    static func oneLine(_ s: String) -> String {
        if !s.utf8.contains(where: { $0 == 13 || $0 == 10 }) { return s }
        return String(String.UnicodeScalarView(s.unicodeScalars.map { $0 == "\r" || $0 == "\n" ? " " : $0 }))
    }

    /// The flag lines of the expanded user block, in upstream's order.
    static let flagNames: [(String, UInt32)] = [
        ("no_password_change", 0x1), ("no_pop", 0x2), ("no_webmail", 0x4), ("no_imap", 0x8), ("bounce_mail", 0x10),
        ("no_relay", 0x20), ("no_dialup", 0x40), ("user_flag_0", 0x80), ("user_flag_1", 0x100), ("user_flag_2", 0x200),
        ("user_flag_3", 0x400), ("no_smtp", 0x800), ("domain_admin_privileges", 0x1000), ("override_domain_limits", 0x2000),
        ("no_spamassassin", 0x4000), ("delete_spam", 0x8000), ("no_maildrop", 0x40000), ("system_admin_privileges", 0x10000),
    ]

    /// The user block (without `+OK+` and `.`): `compact` is one `gidflags` line.
    static func userBlock(_ a: Account, flags: UInt32, compact: Bool) -> String {
        var s = "name \(oneLine(a.name))\r\ncomment \(oneLine(a.gecos))\r\nquota \(oneLine(a.quota.spelling))\r\n"
        s += "user_dir \(oneLine(a.home))\r\nencrypted_password \(oneLine(a.passwordHash))\r\n"
        s += "clear_text_password \(oneLine(a.clearPassword ?? ""))\r\n"
        if compact {
            s += "gidflags \(flags)\r\n"
        } else {
            for (n, bit) in flagNames { s += "\(n) \(flags & bit != 0 ? 1 : 0)\r\n" }
        }
        return s
    }
}

/// A command line split into tokens at space, TAB, CR and LF.
struct CommandLine_ {
    let bytes: [UInt8]
    let tokens: [(start: Int, end: Int)]

    static func isSep(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 13 || b == 10 }

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var t: [(Int, Int)] = []
        var i = 0
        while i < bytes.count {
            while i < bytes.count && CommandLine_.isSep(bytes[i]) { i += 1 }
            let s = i
            while i < bytes.count && !CommandLine_.isSep(bytes[i]) { i += 1 }
            if i > s { t.append((s, i)) }
        }
        tokens = t
    }

    var isBlank: Bool { tokens.isEmpty }
    var command: String { tokens.isEmpty ? "" : token(0).lowercased() }

    func token(_ n: Int) -> String {
        guard n < tokens.count else { return "" }
        return String(decoding: bytes[tokens[n].start..<tokens[n].end], as: UTF8.self)
    }

    /// Everything after token `n` and the one separator that follows it, to the end of the line
    /// without its CR/LF (a password with spaces).
    func rest(after n: Int) -> String {
        guard n < tokens.count else { return "" }
        var s = tokens[n].end + 1
        if s > bytes.count { s = bytes.count }
        var e = bytes.count
        while e > s && (bytes[e - 1] == 13 || bytes[e - 1] == 10) { e -= 1 }
        return String(decoding: bytes[min(s, e)..<e], as: UTF8.self)
    }
}
