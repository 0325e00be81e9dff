/// A user name as vpopmail keeps it (docs/formats.md, "Names and lengths"): lower case, 1 to
/// 64 bytes of letters, digits and `!#$&'*+-.=?^_`{|}~`, not starting with a dot. Upstream also
/// allows `/` and a leading `.`, which make paths out of names (`../x`); we do not. The rules
/// are here and nowhere else: every name from a flag, an fd, the environment or a file becomes
/// a `UserName` (or is refused) once, and travels typed after that.
public struct UserName: Hashable, Sendable, CustomStringConvertible {
    public let text: String

    /// The name of an account to look up, lower-cased; nil when no account can have it.
    public init?(_ s: String) {
        guard UserName.accepts(s) else { return nil }
        self.init(checked: s)
    }

    /// Whether an account can have the name `s` (in either case).
    public static func accepts(_ s: String) -> Bool { s.utf8.count <= LengthLimits.maxUserName && isValid(s) }

    /// A name `accepts` said yes to. (vchkpw and vdelivermail check and build in two steps: an
    /// optional of a type of ours is built at run time, at every start.)
    init(checked s: String) { text = s.lowercasedASCII }

    /// The name of a new account: also not `vpasswd`. One-character names are allowed
    /// (upstream and existing trees have them); their homes cannot meet a hash bucket
    /// (`homeName`).
    public init(newAccount s: String) throws(VpopmailError) {
        let u = s.lowercased()
        if u.utf8.count > LengthLimits.maxUserName { throw VpopmailError(.userNameTooLong) }
        if u.isEmpty { throw VpopmailError(.illegalUsername, "Illegal username: empty") }
        guard UserName.isValid(u), u != "vpasswd" else {
            throw VpopmailError(.illegalUsername, "Illegal username: \(Validate.printable(u))")
        }
        text = u
    }

    /// A name to look up that is too long is an error (`.userNameTooLong`); one no account can
    /// have is nil.
    public static func lookup(_ s: String) throws(VpopmailError) -> UserName? {
        if s.utf8.count > LengthLimits.maxUserName { throw VpopmailError(.userNameTooLong) }
        return UserName(s)
    }

    /// The name of the account's home directory inside its bucket (`DirControl.homeName`).
    public var homeName: String { DirControl.homeName(for: text) }

    public var description: String { text }

    /// Every byte in the alphabet, not starting with a dot, not empty (either case).
    static func isValid(_ name: String) -> Bool {
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
}

/// A domain name (docs/formats.md, "Names and lengths"): lower case, 1 to 96 bytes of letters,
/// digits, `-` and `.`; a new domain follows vadddomain's stricter rules.
public struct DomainName: Hashable, Sendable, CustomStringConvertible {
    public let text: String

    /// A domain to look up, lower-cased; nil when no domain can have the name.
    public init?(_ s: String) {
        guard DomainName.accepts(s) else { return nil }
        self.init(checked: s)
    }

    /// Whether a domain can have the name `s` (in either case).
    public static func accepts(_ s: String) -> Bool { s.utf8.count <= LengthLimits.maxDomain && isValid(s) }

    /// A name `accepts` said yes to (see `UserName.init(checked:)`).
    init(checked s: String) { text = s.lowercasedASCII }

    /// A new domain: 3 to 96 characters, a `.`, a last label of 2 to 63 characters, no leading
    /// or trailing `-` or `.`, no `..`.
    public init(newDomain s: String) throws(VpopmailError) {
        let d = s.lowercased()
        if d.utf8.count > LengthLimits.maxDomain { throw VpopmailError(.domainNameTooLong) }
        guard DomainName.isValid(d), d.utf8.count >= 3, d.contains("."), !d.contains(".."),
              !d.hasPrefix("-"), !d.hasSuffix("-"), !d.hasPrefix("."), !d.hasSuffix("."),
              (2...63).contains(d.split(separator: ".").last?.count ?? 0) else {
            throw VpopmailError(.invalidDomainName, "Invalid domain name: \(Validate.printable(d))")
        }
        text = d
    }

    /// A domain to look up that is too long is an error (`.domainNameTooLong`); one no domain
    /// can have is nil.
    public static func lookup(_ s: String) throws(VpopmailError) -> DomainName? {
        if s.utf8.count > LengthLimits.maxDomain { throw VpopmailError(.domainNameTooLong) }
        return DomainName(s)
    }

    public var description: String { text }

    /// Domain characters only: `-`, `.`, digits, letters; not empty.
    static func isValid(_ d: String) -> Bool {
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
}

/// Text helpers of the name rules.
public enum Validate {
    /// Whether `s` holds a NUL, CR or LF: what no field of a line-oriented file may hold.
    public static func breaksLine(_ s: String) -> Bool {
        s.utf8.contains { $0 == 0 || $0 == 10 || $0 == 13 }
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

extension String {
    /// Lower-cased, without a copy when there is nothing to lower (names are ASCII).
    var lowercasedASCII: String { utf8.contains(where: { $0 >= 65 && $0 <= 90 }) ? lowercased() : self }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs, CR and LF.
    public func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f.isNewline { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l.isNewline { s = s.dropLast() }
        return String(s)
    }
}
