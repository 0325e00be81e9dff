/// Name rules (docs/formats.md, "Names and lengths"), with upstream's path-traversal hole closed: `/` and a leading `.`
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

extension StringProtocol {
    /// Without leading and trailing spaces, tabs, CR and LF.
    public func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
