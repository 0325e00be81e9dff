/// Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), the second factor of the web
/// admin and of API key creation (issue 16), with the otpauth:// URI authenticator apps read and
/// recovery codes. The secret travels as base32 (RFC 4648).
public struct TOTP: Sendable, Equatable {
    public enum Algorithm: String, Sendable {
        case sha1 = "SHA1", sha256 = "SHA256", sha512 = "SHA512"

        var blockSize: Int { self == .sha512 ? 128 : 64 }
        func digest(_ m: [UInt8]) -> [UInt8] {
            switch self {
            case .sha1: return SHA.sha1(m)
            case .sha256: return SHA.sha256(m)
            case .sha512: return SHA.sha512(m)
            }
        }
    }

    public var secret: [UInt8]
    public var algorithm: Algorithm
    public var digits: Int
    public var period: Int

    /// `digits` 6 to 8 (RFC 4226 allows no fewer than 6), `period` 1 s or more.
    public init?(secret: [UInt8], algorithm: Algorithm = .sha1, digits: Int = 6, period: Int = 30) {
        guard !secret.isEmpty, (6...8).contains(digits), period >= 1 else { return nil }
        self.secret = secret
        self.algorithm = algorithm
        self.digits = digits
        self.period = period
    }

    /// A new secret of 20 random bytes (160 bits, RFC 4226's recommendation).
    public static func generate(algorithm: Algorithm = .sha1) -> TOTP {
        var g = SystemRandomNumberGenerator()
        return TOTP(secret: (0..<20).map { _ in UInt8.random(in: 0...255, using: &g) }, algorithm: algorithm)!
    }

    /// HMAC (RFC 2104) with the algorithm's hash.
    public static func hmac(_ algorithm: Algorithm, key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        HMAC.mac(blockSize: algorithm.blockSize, algorithm.digest, key: key, message)
    }

    /// The time step of `time` (seconds since the epoch).
    public func counter(at time: Int) -> UInt64 { UInt64(max(0, time) / period) }

    /// RFC 4226's HOTP value for `counter`, zero-padded to `digits`.
    public func code(counter: UInt64) -> String {
        let msg = (0..<8).map { UInt8(truncatingIfNeeded: counter >> (8 * (7 - UInt64($0)))) }
        let h = TOTP.hmac(algorithm, key: secret, msg)
        let o = Int(h[h.count - 1] & 0x0f)
        let bin = (UInt32(h[o] & 0x7f) << 24) | (UInt32(h[o + 1]) << 16) | (UInt32(h[o + 2]) << 8) | UInt32(h[o + 3])
        var mod: UInt32 = 1
        for _ in 0..<digits { mod *= 10 }
        let s = String(bin % mod)
        return String(repeating: "0", count: digits - s.count) + s
    }

    public func code(at time: Int) -> String { code(counter: counter(at: time)) }

    /// The time step `code` belongs to, within `window` steps either side of `time` (clocks
    /// drift), and only after `usedUpTo`: a code is accepted once (the caller stores the step it
    /// returns, RFC 6238 section 5.2). Nil when it matches none. Compares in constant time.
    public func verify(_ code: String, at time: Int, window: Int = 1, after usedUpTo: UInt64? = nil) -> UInt64? {
        let given = Array(code.utf8)
        guard given.count == digits, given.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let now = counter(at: time)
        var found: UInt64? = nil
        let w = max(0, window)
        for d in -w...w {
            let c = Int64(now) + Int64(d)
            if c < 0 { continue }
            let expected = Array(self.code(counter: UInt64(c)).utf8)
            var diff: UInt8 = 0
            for i in 0..<digits { diff |= expected[i] ^ given[i] }
            if diff == 0, usedUpTo.map({ UInt64(c) > $0 }) ?? true, found == nil { found = UInt64(c) }
        }
        return found
    }

    /// The `otpauth://totp/` URI an authenticator app scans: label `issuer:account`, the secret
    /// in base32 without padding, and the parameters that differ from the apps' defaults.
    public func uri(account: String, issuer: String) -> String {
        var q = "secret=\(Base32.encode(secret))&issuer=\(TOTP.percent(issuer))"
        if algorithm != .sha1 { q += "&algorithm=\(algorithm.rawValue)" }
        if digits != 6 { q += "&digits=\(digits)" }
        if period != 30 { q += "&period=\(period)" }
        return "otpauth://totp/\(TOTP.percent(issuer)):\(TOTP.percent(account))?\(q)"
    }

    /// Percent-encodes all but RFC 3986's unreserved characters (and `@`, which labels keep).
    static func percent(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            let c = Character(Unicode.Scalar(b))
            if (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || "-._~@".utf8.contains(b) {
                out.append(c)
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(b >> 4)], hex[Int(b & 15)]], as: UTF8.self)
            }
        }
        return out
    }

    /// `count` recovery codes of 10 characters from an alphabet without look-alikes (no 0/O,
    /// 1/l/I), shown once as `xxxxx-xxxxx`; stored hashed like passwords.
    public static func recoveryCodes(_ count: Int = 10) -> [String] {
        let alphabet = Array("23456789abcdefghjkmnpqrstuvwxyz".utf8)
        var g = SystemRandomNumberGenerator()
        return (0..<count).map { _ in
            let c = (0..<10).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &g)] }
            return String(decoding: c[0..<5], as: UTF8.self) + "-" + String(decoding: c[5...], as: UTF8.self)
        }
    }
}

/// RFC 4648 base32 (the alphabet A-Z 2-7), as otpauth URIs carry TOTP secrets.
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    /// Without `=` padding (what authenticator apps expect).
    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var buffer: UInt32 = 0, bits = 0
        for b in bytes {
            buffer = (buffer << 8) | UInt32(b)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Case-insensitive; spaces, dashes and `=` padding ignored (secrets are typed in groups);
    /// nil for any other character or leftover bits that are not zero.
    public static func decode(_ s: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0, bits = 0
        for var c in s.utf8 {
            if c == 32 || c == 45 || c == 61 { continue }
            if c >= 97 && c <= 122 { c -= 32 }
            guard let v = alphabet.firstIndex(of: c) else { return nil }
            buffer = (buffer << 5) | UInt32(v)
            bits += 5
            if bits >= 8 {
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits - 8)))
                bits -= 8
            }
            buffer &= (1 << UInt32(bits)) - 1
        }
        guard buffer == 0 else { return nil }
        return out
    }
}
