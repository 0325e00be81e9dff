/// The per-user flag word stored in `pw_gid` (reference §2.5). Raw values are part of the on-disk
/// and SQL formats: Dovecot recipes test `pw_gid & 2/4/8` directly.
public struct AccountFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let noPasswordChange = AccountFlags(rawValue: 0x00001)
    public static let noPOP = AccountFlags(rawValue: 0x00002)
    public static let noWebmail = AccountFlags(rawValue: 0x00004)
    public static let noIMAP = AccountFlags(rawValue: 0x00008)
    public static let bounceMail = AccountFlags(rawValue: 0x00010)
    public static let noRelay = AccountFlags(rawValue: 0x00020)
    public static let noDialup = AccountFlags(rawValue: 0x00040)
    public static let user0 = AccountFlags(rawValue: 0x00080)
    public static let user1 = AccountFlags(rawValue: 0x00100)
    public static let user2 = AccountFlags(rawValue: 0x00200)
    public static let user3 = AccountFlags(rawValue: 0x00400)
    public static let noSMTP = AccountFlags(rawValue: 0x00800)
    public static let qmailAdmin = AccountFlags(rawValue: 0x01000)
    public static let overrideDomainLimits = AccountFlags(rawValue: 0x02000)
    public static let noSpamassassin = AccountFlags(rawValue: 0x04000)
    public static let deleteSpam = AccountFlags(rawValue: 0x08000)
    public static let systemAdmin = AccountFlags(rawValue: 0x10000)
    public static let systemExpert = AccountFlags(rawValue: 0x20000)
    public static let noMaildrop = AccountFlags(rawValue: 0x40000)

    /// vuserinfo's limit texts, in its order.
    public static let descriptions: [(AccountFlags, String)] = [
        (.noPasswordChange, "password can not be changed by user"),
        (.noPOP, "pop access closed"),
        (.noWebmail, "webmail access closed"),
        (.noIMAP, "imap access closed"),
        (.noSMTP, "smtp access is closed"),
        (.noRelay, "user not allowed to relay mail"),
        (.noSpamassassin, "spamassassin processing disabled"),
        (.deleteSpam, "delete spam"),
        (.noMaildrop, "maildrop processing disabled"),
        (.noDialup, "no dialup flag has been set"),
        (.bounceMail, "mail will be bounced back to sender"),
        (.qmailAdmin, "has qmailadmin administrator access"),
        (.systemAdmin, "has system administrator access"),
        (.systemExpert, "has expert access"),
        (.user0, "user flag 0 is set"),
        (.user1, "user flag 1 is set"),
        (.user2, "user flag 2 is set"),
        (.user3, "user flag 3 is set"),
        (.overrideDomainLimits, "user is not subject to domain limits"),
    ]
}

/// One mailbox record (`struct vqpasswd`): the fields of a `vpasswd` line.
public struct Account: Sendable, Equatable {
    /// `pw_name`, lower case.
    public var name: String
    /// `pw_passwd`: a crypt(3) string, possibly empty.
    public var passwordHash: String
    /// `pw_uid`: the POP/APOP marker (cdb writes 1 for POP, 2 for APOP), not a Unix uid.
    public var apopMarker: UInt32
    /// `pw_gid`: the user's own flag word.
    public var flags: AccountFlags
    /// `pw_gecos`.
    public var gecos: String
    /// `pw_dir`: absolute home directory.
    public var home: String
    /// `pw_shell`: the quota string (`NOQUOTA`, `<bytes>S`, `<bytes>S,<count>C`, ...).
    public var quota: String
    /// `pw_clear_passwd`, nil when the store does not keep clear passwords.
    public var clearPassword: String?

    public init(name: String, passwordHash: String, apopMarker: UInt32 = 1, flags: AccountFlags = [],
                gecos: String, home: String, quota: String = "NOQUOTA", clearPassword: String? = nil) {
        self.name = name
        self.passwordHash = passwordHash
        self.apopMarker = apopMarker
        self.flags = flags
        self.gecos = gecos
        self.home = home
        self.quota = quota
        self.clearPassword = clearPassword
    }

    /// Maildir of this account.
    public var maildir: String { Path.join(home, "Maildir") }
}

/// A domain as qmail's `users/assign` records it.
public struct DomainInfo: Sendable, Equatable {
    /// The name asked for (a real domain or an alias domain).
    public var name: String
    /// The real domain (equal to `name` unless `name` is an alias).
    public var realDomain: String
    public var uid: UInt32
    public var gid: UInt32
    /// The real domain's directory.
    public var dir: String

    public init(name: String, realDomain: String, uid: UInt32, gid: UInt32, dir: String) {
        self.name = name
        self.realDomain = realDomain
        self.uid = uid
        self.gid = gid
        self.dir = dir
    }

    public var isAlias: Bool { name != realDomain }
    public var owner: (uid: UInt32, gid: UInt32) { (uid, gid) }
}

/// Name rules (reference §1.3), with upstream's path-traversal hole closed: `/` and a leading `.`
/// are refused in user names.
public enum Validate {
    /// Whether every byte of a (lower-cased) user name is allowed: letters, digits and
    /// `!#$&'*+-.=?^_`{|}~`, not starting with a dot.
    public static func isUsernameValid(_ name: String) -> Bool {
        var first = true
        for b in name.utf8 {
            if first && b == UInt8(ascii: ".") { return false }
            first = false
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"),
                 UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "="),
                 UInt8(ascii: "?"), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "{"),
                 UInt8(ascii: "|"), UInt8(ascii: "}"), UInt8(ascii: "~"):
                continue
            default:
                return false
            }
        }
        return !first
    }

    /// Domain characters only: `-`, `.`, digits, letters.
    public static func isDomainValid(_ d: String) -> Bool {
        if d.isEmpty { return false }
        for b in d.utf8 {
            switch b {
            case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): continue
            default: return false
            }
        }
        return true
    }

    /// The rules `vadddomain` adds: 3...96 characters, a dot, a TLD of 2...63 characters, no
    /// leading or trailing `-` or `.`, no `..`.
    public static func checkNewDomain(_ d: String) throws(VpopmailError) {
        if d.utf8.count > LengthLimits.maxDomain { throw VpopmailError(.domainNameTooLong) }
        guard isDomainValid(d), d.utf8.count >= 3, d.contains("."), !d.contains(".."),
              !d.hasPrefix("-"), !d.hasSuffix("-"), !d.hasPrefix("."), !d.hasSuffix(".") else {
            throw VpopmailError(.invalidDomainName, "Invalid domain name: \(Validate.printable(d))")
        }
        let tld = d.split(separator: ".").last ?? ""
        guard (2...63).contains(tld.count) else {
            throw VpopmailError(.invalidDomainName, "Invalid domain name: \(Validate.printable(d))")
        }
    }

    /// Checks a user name for a new account. One-character names are allowed (upstream and
    /// existing trees have them); their homes are named so that they cannot meet a hash bucket
    /// (`DirControl.homeName`).
    public static func checkUser(_ u: String) throws(VpopmailError) {
        if u.utf8.count > LengthLimits.maxUserName { throw VpopmailError(.userNameTooLong) }
        if u.isEmpty { throw VpopmailError(.illegalUsername, "Illegal username: empty") }
        guard isUsernameValid(u), u != "vpasswd" else {
            throw VpopmailError(.illegalUsername, "Illegal username: \(printable(u))")
        }
    }

    /// `s` with control characters shown as `?`, for error messages.
    public static func printable(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value < 32 || $0.value == 127 ? "?" : $0 }))
    }

    /// Splits an address at the first `@`, else the first `%`, else the first `/`, lower-cased
    /// (upstream's `parse_email`). The domain is empty when there is no separator.
    public static func splitAddress(_ email: String) -> (user: String, domain: String) {
        let e = email.lowercased()
        for sep in ["@", "%", "/"] as [Character] {
            if let i = e.firstIndex(of: sep) {
                return (String(e[..<i]), String(e[e.index(after: i)...]))
            }
        }
        return (e, "")
    }
}

/// A quota as vpopmail stores it (reference §2.6).
public struct Quota: Sendable, Equatable, CustomStringConvertible {
    public var bytes: UInt64
    public var count: UInt64
    public var noQuota: Bool

    public static let none = Quota(bytes: 0, count: 0, noQuota: true)

    public init(bytes: UInt64, count: UInt64, noQuota: Bool = false) {
        self.bytes = bytes
        self.count = count
        self.noQuota = noQuota
    }

    /// True for `NOQUOTA` and for a quota with neither a size nor a count.
    public var isNone: Bool { noQuota || (bytes == 0 && count == 0) }

    /// `NOQUOTA`, `<bytes>S`, `<count>C` or `<bytes>S,<count>C`; empty when both are zero.
    public var description: String {
        if noQuota { return "NOQUOTA" }
        switch (bytes, count) {
        case (0, 0): return ""
        case (_, 0): return "\(bytes)S"
        case (0, _): return "\(count)C"
        default: return "\(bytes)S,\(count)C"
        }
    }

    /// Parses a quota the way upstream's `format_maildirquota` does (`1M`, `1024KB`, `5000000`,
    /// `1mbs,1000C`, `NOQUOTA`), but refuses garbage instead of storing an empty quota.
    public static func parse(_ s: String) throws(VpopmailError) -> Quota {
        let t = s.trimmingSpaces()
        if t.uppercased() == "NOQUOTA" { return .none }
        if t.utf8.count > LengthLimits.maxQuota { throw VpopmailError(.quotaTooLong) }
        var q = Quota(bytes: 0, count: 0)
        if t.isEmpty { throw VpopmailError(.badQuota, "invalid quota: empty") }
        for part in t.split(separator: ",", omittingEmptySubsequences: false) {
            var p = Substring(part)
            if p.last == "C" {
                guard let n = UInt64(p.dropLast()) else { throw VpopmailError(.badQuota, "invalid quota: \(Validate.printable(s))") }
                q.count = n
                continue
            }
            if let l = p.last, l == "S" || l == "s" { p = p.dropLast() }
            if let l = p.last, l == "B" || l == "b" { p = p.dropLast() }
            var mult: UInt64 = 1
            switch p.last {
            case "K", "k": mult = 1024; p = p.dropLast()
            case "M", "m": mult = 1024 * 1024; p = p.dropLast()
            case "G", "g": mult = 1024 * 1024 * 1024; p = p.dropLast()
            default: break
            }
            guard let n = UInt64(p), n <= UInt64.max / mult else {
                throw VpopmailError(.badQuota, "invalid quota: \(Validate.printable(s))")
            }
            q.bytes = n * mult
        }
        return q
    }

    /// Reads a stored quota string (`10485760S,1000C`, `NOQUOTA`, legacy plain numbers).
    /// vdelivermail treats any quota starting with `NO` as none.
    public static func stored(_ s: String) -> Quota {
        let b = Array(s.utf8)
        if b.isEmpty || (b.count >= 2 && b[0] == UInt8(ascii: "N") && b[1] == UInt8(ascii: "O")) { return .none }
        var q = Quota(bytes: 0, count: 0)
        var start = 0
        while start <= b.count {
            var end = start
            while end < b.count && b[end] != UInt8(ascii: ",") { end += 1 }
            if end > start {
                switch b[end - 1] {
                case UInt8(ascii: "C"): q.count = Bytes.uint64(b[start..<(end - 1)]) ?? 0
                case UInt8(ascii: "S"): q.bytes = Bytes.uint64(b[start..<(end - 1)]) ?? 0
                default: q.bytes = Bytes.uint64(b[start..<end]) ?? 0
                }
            }
            start = end + 1
        }
        return q
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs, CR and LF.
    public func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
