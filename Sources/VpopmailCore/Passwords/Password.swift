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
    case argon2id = "argon2id"
    case des = "des"

    /// The canonical names, as an error message lists them.
    public static var names: String {
        let all = allCases.map(\.rawValue)
        return all.dropLast().joined(separator: ", ") + " or " + all.last!
    }

    /// How strong the scheme is, for `rehash-on-login` (higher is stronger).
    public var strength: Int {
        switch self {
        case .des: return 1
        case .md5: return 2
        case .sha256: return 3
        case .sha512: return 4
        case .bcrypt: return 5
        case .yescrypt, .argon2id: return 6
        }
    }

    /// Accepts the canonical names and common short forms (`sha512`, `SHA512-CRYPT`, `$6$`, ...).
    public init?(name: String) {
        switch name.lowercased() {
        case "sha512-crypt", "sha512", "sha-512", "$6$": self = .sha512
        case "sha256-crypt", "sha256", "sha-256", "$5$": self = .sha256
        case "md5-crypt", "md5", "$1$": self = .md5
        case "bcrypt", "blf-crypt", "$2b$", "$2y$": self = .bcrypt
        case "yescrypt", "$y$": self = .yescrypt
        case "argon2id", "argon2", "$argon2id$": self = .argon2id
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
        case .argon2id: return "$argon2id$"
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

    /// Argon2id's cost (RFC 9106's second recommendation with one lane): 3 passes over 64 MiB.
    public static let argon2Time: UInt32 = 3
    public static let argon2MemoryKiB: UInt32 = 65536

    /// A new hash of `clear` in `scheme`.
    public static func hash(_ clear: String, scheme: PasswordScheme) throws(VpopmailError) -> String {
        if scheme == .argon2id { return try argon2id(clear, salt: randomBytes(16)) }
        let s = try setting(for: scheme)
        guard let h = crypt(clear, setting: s) else { throw VpopmailError(.cryptFailed) }
        return h
    }

    /// `$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>` (the encoding Dovecot, PHP and libargon2 use).
    static func argon2id(_ clear: String, salt: [UInt8], time: UInt32 = argon2Time,
                         memory: UInt32 = argon2MemoryKiB) throws(VpopmailError) -> String {
        let pwd = Array(clear.utf8)
        let len = argon2_encodedlen(time, memory, 1, UInt32(salt.count), 32, Argon2_id)
        var out = [CChar](repeating: 0, count: len + 1)
        let r = argon2id_hash_encoded(time, memory, 1, pwd, pwd.count, salt, salt.count, 32, &out, out.count)
        guard r == ARGON2_OK.rawValue else {
            throw VpopmailError(.cryptFailed, "argon2id: \(String(cString: argon2_error_message(r)))")
        }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A stored password: its `{SCHEME}` prefix (without the braces; empty when there is none)
    /// and the rest.
    static func split(_ stored: String) -> (scheme: Substring, body: Substring) {
        let h = Substring(stored)
        if h.hasPrefix("{"), let close = h.firstIndex(of: "}") {
            return (h[h.index(after: h.startIndex)..<close], h[h.index(after: close)...])
        }
        return ("", h)
    }

    /// Whether `clear` matches `stored`: every crypt(3) scheme libxcrypt knows (DES, `$1$`,
    /// `$5$`, `$6$`, `$2b$`, `$y$`, ...), Argon2 (`$argon2id$`, `$argon2i$`, `$argon2d$`), and the
    /// `{SCHEME}` forms Dovecot and LDAP write (`{CRYPT}`, `{MD5-CRYPT}`, `{SHA512-CRYPT}`,
    /// `{BLF-CRYPT}`, `{ARGON2ID}`, `{PLAIN}`, `{PLAIN-MD5}`, `{LDAP-MD5}`, `{SMD5}`, `{SHA}`,
    /// `{SSHA}`, `{SHA256}`, `{SSHA256}`, `{SHA512}`, `{SSHA512}`, with `.HEX`/`.B64`).
    /// An empty or unknown stored password matches nothing. Compared in constant time.
    public static func verify(_ clear: String, against stored: String) -> Bool {
        let (scheme, body) = split(stored)
        if body.isEmpty { return false }
        var name = scheme.uppercased()
        var encoding = ""
        if let dot = name.lastIndex(of: ".") {
            encoding = String(name[name.index(after: dot)...])
            name = String(name[..<dot])
        }
        let pwd = Array(clear.utf8)
        switch name {
        case "", "CRYPT", "DES-CRYPT", "MD5-CRYPT", "MD5", "SHA256-CRYPT", "SHA512-CRYPT", "BLF-CRYPT", "BCRYPT",
             "YESCRYPT", "ARGON2I", "ARGON2ID", "ARGON2D":
            if body.hasPrefix("$argon2") {
                let type: argon2_type = body.hasPrefix("$argon2id$") ? Argon2_id : body.hasPrefix("$argon2i$") ? Argon2_i : Argon2_d
                return argon2_verify(String(body), pwd, pwd.count, type) == ARGON2_OK.rawValue
            }
            guard let c = crypt(clear, setting: String(body)) else { return false }
            return constantTimeEqual(Array(c.utf8), Array(body.utf8))
        case "PLAIN", "CLEAR", "CLEARTEXT":
            return constantTimeEqual(pwd, Array(body.utf8))
        default:
            let digest: ([UInt8]) -> [UInt8]
            let size: Int
            var salted = name.hasPrefix("S") && name != "SHA" && !name.hasPrefix("SHA")
            switch name {
            case "PLAIN-MD5", "LDAP-MD5", "SMD5": digest = MD5.digest; size = 16; salted = name == "SMD5"
            case "SHA", "SHA1", "SSHA": digest = SHA.sha1; size = 20
            case "SHA256", "SSHA256": digest = SHA.sha256; size = 32
            case "SHA512", "SSHA512": digest = SHA.sha512; size = 64
            default: return false
            }
            // PLAIN-MD5 is hex unless told; the others base64, or hex when told or when it is
            // exactly a digest's worth of hex.
            let isHex = encoding == "HEX" || (encoding.isEmpty && (name == "PLAIN-MD5" || (!salted && body.utf8.count == size * 2)))
            guard let raw = isHex ? hexBytes(body) : Base64.decode(body), raw.count >= size, salted || raw.count == size else {
                return false
            }
            let salt = Array(raw[size...])
            return constantTimeEqual(digest(pwd + salt), Array(raw[..<size]))
        }
    }

    static func hexBytes(_ s: Substring) -> [UInt8]? {
        let b = Array(s.utf8)
        guard b.count % 2 == 0 else { return nil }
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - 48
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - 87
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - 55
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(b.count / 2)
        var i = 0
        while i < b.count {
            guard let hi = v(b[i]), let lo = v(b[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    /// How strong a stored hash is, on `PasswordScheme.strength`'s scale (0: clear text and
    /// digests; nil: unknown, never replaced).
    public static func strength(of stored: String) -> Int? {
        let (scheme, body) = split(stored)
        if let s = self.scheme(ofCrypt: body) { return s.strength }
        let name = scheme.uppercased()
        if name.isEmpty || name == "CRYPT" || name == "DES-CRYPT" {
            return body.utf8.count == 13 ? PasswordScheme.des.strength : nil
        }
        return 0
    }

    /// A hash as it is stored: a `{SCHEME}` prefix in front of a crypt(3) string (`$...`, or DES
    /// under `{CRYPT}`/`{DES-CRYPT}`) is dropped, any other prefix kept.
    public static func storedForm(_ hash: String) -> String {
        let (scheme, body) = split(hash)
        if scheme.isEmpty { return hash }
        let name = scheme.uppercased()
        if body.hasPrefix("$") || ((name == "CRYPT" || name == "DES-CRYPT") && body.utf8.count == 13) { return String(body) }
        return hash
    }

    /// The scheme of a stored hash, as the logs name it.
    public static func schemeName(of stored: String) -> String {
        let (scheme, body) = split(stored)
        if let s = self.scheme(ofCrypt: body) { return s.rawValue }
        if !scheme.isEmpty { return "{" + scheme.uppercased() + "}" }
        return body.utf8.count == 13 ? PasswordScheme.des.rawValue : "unknown"
    }

    /// The scheme a crypt(3) or Argon2 string names by its prefix (DES has none: nil).
    static func scheme(ofCrypt body: Substring) -> PasswordScheme? {
        if body.hasPrefix("$argon2") { return .argon2id }
        if body.hasPrefix("$y$") || body.hasPrefix("$gy$") || body.hasPrefix("$7$") { return .yescrypt }
        if body.hasPrefix("$2") { return .bcrypt }
        if body.hasPrefix("$6$") { return .sha512 }
        if body.hasPrefix("$5$") { return .sha256 }
        if body.hasPrefix("$1$") { return .md5 }
        return nil
    }

    /// A stored hash weaker than `scheme` (what `rehash-on-login` replaces).
    public static func isWeaker(_ stored: String, than scheme: PasswordScheme) -> Bool {
        guard let s = strength(of: stored) else { return false }
        return s < scheme.strength
    }

    /// The work of checking a password against a hash of `scheme`, for a login that has no hash
    /// to check (unknown user or domain, an account without a password or home): the answer
    /// costs what a wrong password costs, so its time tells nothing about the account.
    public static func dummyVerify(_ clear: String, scheme: PasswordScheme) {
        _ = verify(clear, against: dummyHash(scheme))
    }

    /// One fixed hash per scheme (of "vpopmail-dummy-password"), at the cost new hashes get.
    static func dummyHash(_ scheme: PasswordScheme) -> String {
        switch scheme {
        case .sha512: return "$6$8CJ2y0Ht$fkTY30to/QX2Go0jp/FVAEmvqdHJEt/fDoCOhklrdBSTk4dxHhYW2o7/j5broRynyldwCJYMVlwkZQ/DLU43s."
        case .sha256: return "$5$8CJ2y0Ht$UzeEBEx0iTncafcq7k6CA7wGUaAqj5UNEk43RtOWpj5"
        case .md5: return "$1$8CJ2y0Ht$UUnBxTz8M4LRPCbIfqEhl/"
        case .des: return "8Ct0Jm1T5Sm0Q"
        case .bcrypt: return "$2b$05$Ziye5tjOtzBCnPVYpIaRu.bPk3KKbVJ2yQcM1g1t8eybAsRE4QVF6"
        case .yescrypt: return "$y$j9T$038Tk0MIma.c2TLmTg52m/$lWzVN7uXujTUbtxNGZ8zje1snOgDLJ626H9vNbarm.8"
        case .argon2id: return "$argon2id$v=19$m=65536,t=3,p=1$OENKMnkwSHRqcVVOa3lqUA$4trRuu5oire9XUol8sCryLvuLOXfyU/x4jozU00HSC4"
        }
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
