import CCrypt
#if canImport(Glibc)
import Glibc
#endif

/// Password hash schemes new passwords can be written with. Every scheme libxcrypt knows verifies.
public enum PasswordScheme: String, Sendable, CaseIterable {
    case sha512 = "sha512-crypt"
    case sha256 = "sha256-crypt"
    case md5 = "md5-crypt"
    case bcrypt = "bcrypt"
    case yescrypt = "yescrypt"
    case des = "des"

    /// The canonical names, as an error message lists them.
    public static var names: String {
        let all = allCases.map(\.rawValue)
        return all.dropLast().joined(separator: ", ") + " or " + all.last!
    }

    /// Accepts the canonical names and common short forms (`sha512`, `SHA512-CRYPT`, `$6$`, ...).
    public init?(name: String) {
        switch name.lowercased() {
        case "sha512-crypt", "sha512", "sha-512", "$6$": self = .sha512
        case "sha256-crypt", "sha256", "sha-256", "$5$": self = .sha256
        case "md5-crypt", "md5", "$1$": self = .md5
        case "bcrypt", "blf-crypt", "$2b$", "$2y$": self = .bcrypt
        case "yescrypt", "$y$": self = .yescrypt
        case "des", "crypt", "des-crypt": self = .des
        default: return nil
        }
    }
}

/// Password hashing and verification through libxcrypt (docs/configuration.md, "Passwords").
public enum Password {
    static let saltAlphabet: [UInt8] = Array("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    static let randomAlphabet: [UInt8] = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.@!#%*".utf8)

    /// Bytes from the kernel's CSPRNG.
    public static func randomBytes(_ n: Int) -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            let chunk = min(256, n - got)
            let r = buf.withUnsafeMutableBytes { getentropy($0.baseAddress! + got, chunk) }
            if r != 0 { break }
            got += chunk
        }
        if got < n {
            let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
            if fd >= 0 {
                _ = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + got, n - got) }
                close(fd)
            }
        }
        return buf
    }

    /// `n` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
    static func randomString(_ n: Int, from alphabet: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(n)
        let limit = 256 - (256 % alphabet.count)
        while out.count < n {
            for b in randomBytes(n * 2) where Int(b) < limit && out.count < n {
                out.append(alphabet[Int(b) % alphabet.count])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A random password (`-r`): `a-zA-Z0-9.@!#%*`, default 12 characters.
    public static func random(length: Int = 12) -> String { randomString(length, from: randomAlphabet) }

    /// The crypt(3) setting for a new hash: `$6$` + 8 salt characters like upstream (98-character
    /// result), or libxcrypt's own setting for bcrypt and yescrypt.
    public static func setting(for scheme: PasswordScheme) throws(VpopmailError) -> String {
        switch scheme {
        case .sha512: return "$6$" + randomString(8, from: saltAlphabet) + "$"
        case .sha256: return "$5$" + randomString(8, from: saltAlphabet) + "$"
        case .md5: return "$1$" + randomString(8, from: saltAlphabet) + "$"
        case .des: return randomString(2, from: saltAlphabet)
        case .bcrypt, .yescrypt:
            let prefix = scheme == .bcrypt ? "$2b$" : "$y$"
            var out = [CChar](repeating: 0, count: 256)
            let entropy = randomBytes(32)
            let r = entropy.withUnsafeBufferPointer { e in
                e.withMemoryRebound(to: CChar.self) { ec in
                    crypt_gensalt_rn(prefix, 0, ec.baseAddress, Int32(ec.count), &out, Int32(out.count))
                }
            }
            guard r != nil else { throw VpopmailError(.cryptFailed) }
            return String(cString: out)
        }
    }

    /// crypt(3) of `clear` with `setting`, or nil when libxcrypt refuses the setting.
    public static func crypt(_ clear: String, setting: String) -> String? {
        // libxcrypt's 32 KB work area in its own mapping: it starts zeroed without a memset and
        // leaves with munmap, so no hash state outlives the call in this process. libxcrypt
        // clears the whole area when it is done, so every page is written: MAP_POPULATE maps
        // them in this one call instead of eight page faults.
        let size = Int(ccrypt_data_size())
        guard let data = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0),
              data != MAP_FAILED else { return nil }
        defer { munmap(data, size) }
        guard let p = crypt_rn(clear, setting, data, Int32(size)) else { return nil }
        let s = String(cString: p)
        if s.hasPrefix("*") { return nil }
        return s
    }

    /// A new hash of `clear` in `scheme`.
    public static func hash(_ clear: String, scheme: PasswordScheme) throws(VpopmailError) -> String {
        let s = try setting(for: scheme)
        guard let h = crypt(clear, setting: s) else { throw VpopmailError(.cryptFailed) }
        return h
    }

    /// Whether `clear` matches `stored` (any scheme libxcrypt knows; a leading `{SCHEME}` is
    /// stripped). An empty stored hash matches nothing.
    public static func verify(_ clear: String, against stored: String) -> Bool {
        var h = Substring(stored)
        if h.hasPrefix("{"), let close = h.firstIndex(of: "}") { h = h[h.index(after: close)...] }
        if h.isEmpty { return false }
        guard let c = crypt(clear, setting: String(h)) else { return false }
        return constantTimeEqual(Array(c.utf8), Array(h.utf8))
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        if a.count != b.count { return false }
        var d: UInt8 = 0
        for i in 0..<a.count { d |= a[i] ^ b[i] }
        return d == 0
    }
}

/// The password policy of `~vpopmail/etc/password_strength.conf` (docs/configuration.md,
/// "Passwords"): `policy <text>` and `<test> <op> <value>` lines.
public struct PasswordPolicy: Sendable {
    public struct Rule: Sendable {
        public var name: String
        public var test: String
        public var value: Double
    }
    public var policy = ""
    public var rules: [Rule] = []

    public init() {}

    public static func parse(_ text: String) -> PasswordPolicy {
        var p = PasswordPolicy()
        for raw in Bytes.textLines(text) {
            var line = Substring(raw)
            if let h = line.firstIndex(of: "#") { line = line[..<h] }
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = parts.first else { continue }
            if first.lowercased() == "policy" {
                p.policy = parts.dropFirst().joined(separator: " ")
                continue
            }
            guard parts.count >= 3, let v = Double(parts[2]) else { continue }
            p.rules.append(Rule(name: first.lowercased(), test: String(parts[1]), value: v))
        }
        return p
    }

    /// Checks `password`; throws the -69...-74 codes.
    public func check(_ password: String) throws(VpopmailError) {
        let b = Array(password.utf8)
        if b.isEmpty && !rules.isEmpty { throw VpopmailError(.pwstrEmpty) }
        let len = Double(b.count)
        var upper = 0.0, lower = 0.0, digit = 0.0, other = 0.0
        for c in b {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): upper += 1
            case UInt8(ascii: "a")...UInt8(ascii: "z"): lower += 1
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit += 1
            default: other += 1
            }
        }
        let alpha = upper + lower
        func holds(_ x: Double, _ r: Rule) -> Bool {
            switch r.test {
            case "<": return x < r.value
            case "<=": return x <= r.value
            case "=", "==": return x == r.value
            case ">": return x > r.value
            case ">=": return x >= r.value
            default: return true
            }
        }
        let order: [(String, VACode, Double)] = [
            ("length", .pwstrLength, len),
            ("alphabet", .pwstrAlpha, len > 0 ? alpha / len : 0),
            ("numeric", .pwstrNumeric, len > 0 ? digit / len : 0),
            ("other", .pwstrOther, len > 0 ? other / len : 0),
            ("upperlower", .pwstrDelta, alpha > 0 ? abs(upper - lower) / alpha : 0),
        ]
        for (name, code, x) in order {
            for r in rules where r.name == name && !holds(x, r) { throw VpopmailError(code) }
        }
    }
}
