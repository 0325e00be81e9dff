import Testing
import VpopmailCore

/// The second factor's arithmetic against the RFCs' own test vectors.
@Suite struct OneTimePasswords {
    /// RFC 4226 appendix D: HOTP of the ASCII secret "12345678901234567890", counters 0-9.
    @Test func hotpVectors() {
        let t = TOTP(secret: Array("12345678901234567890".utf8))!
        let want = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
        #expect((0..<10).map { t.code(counter: UInt64($0)) } == want)
    }

    /// RFC 6238 appendix B: 8 digits, 30 s steps, SHA-1, SHA-256 and SHA-512.
    @Test(arguments: [
        (59, "94287082", "46119246", "90693936"),
        (1111111109, "07081804", "68084774", "25091201"),
        (1111111111, "14050471", "67062674", "99943326"),
        (1234567890, "89005924", "91819424", "93441116"),
        (2000000000, "69279037", "90698825", "38618901"),
        (20000000000, "65353130", "77737706", "47863826"),
    ])
    func totpVectors(time: Int, sha1: String, sha256: String, sha512: String) {
        let s1 = TOTP(secret: Array("12345678901234567890".utf8), algorithm: .sha1, digits: 8)!
        let s256 = TOTP(secret: Array("12345678901234567890123456789012".utf8), algorithm: .sha256, digits: 8)!
        let s512 = TOTP(secret: Array("1234567890123456789012345678901234567890123456789012345678901234".utf8), algorithm: .sha512, digits: 8)!
        #expect(s1.code(at: time) == sha1)
        #expect(s256.code(at: time) == sha256)
        #expect(s512.code(at: time) == sha512)
    }

    /// One step of drift either side is accepted, two are not; a step is accepted once; only
    /// digits of the right length.
    @Test func verifyWindowAndReplay() {
        let t = TOTP(secret: Array("12345678901234567890".utf8))!
        let now = 1_800_000_000
        let step = t.counter(at: now)
        #expect(t.verify(t.code(at: now), at: now) == step)
        #expect(t.verify(t.code(at: now - 30), at: now) == step - 1)
        #expect(t.verify(t.code(at: now + 30), at: now) == step + 1)
        #expect(t.verify(t.code(at: now - 60), at: now) == nil)
        #expect(t.verify(t.code(at: now), at: now, after: step) == nil, "a code used once is refused")
        #expect(t.verify(t.code(at: now + 30), at: now, after: step) == step + 1)
        for bad in ["", "12345", "1234567", "12345a", " 12345", "１２３４５６"] { #expect(t.verify(bad, at: now) == nil) }
        #expect(TOTP(secret: [], digits: 6) == nil)
        #expect(TOTP(secret: [1], digits: 5) == nil)
        #expect(TOTP(secret: [1], period: 0) == nil)
    }

    /// RFC 4648 section 10, and what people type.
    @Test func base32() {
        let pairs = [("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI")]
        for (plain, enc) in pairs {
            #expect(Base32.encode(Array(plain.utf8)) == enc)
            #expect(Base32.decode(enc) == Array(plain.utf8))
            #expect(Base32.decode(enc.lowercased()) == Array(plain.utf8))
        }
        #expect(Base32.decode("MZXW 6YTB-OI======") == Array("foobar".utf8))
        #expect(Base32.decode("MZXW1") == nil)   // 1 is not in the alphabet
        #expect(Base32.decode("MZ") == nil)      // leftover bits not zero
        let g = TOTP.generate()
        #expect(g.secret.count == 20 && Base32.decode(Base32.encode(g.secret)) == g.secret)
    }

    @Test func otpauthURIAndRecoveryCodes() {
        let t = TOTP(secret: Array("12345678901234567890".utf8))!
        #expect(t.uri(account: "joe@example.com", issuer: "Mail Host") ==
                "otpauth://totp/Mail%20Host:joe@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Mail%20Host")
        let t8 = TOTP(secret: [1, 2, 3], algorithm: .sha256, digits: 8, period: 60)!
        #expect(t8.uri(account: "a&b", issuer: "x").hasSuffix("&issuer=x&algorithm=SHA256&digits=8&period=60"))
        #expect(t8.uri(account: "a&b", issuer: "x").contains(":a%26b?"))
        let codes = TOTP.recoveryCodes()
        #expect(codes.count == 10 && Set(codes).count == 10)
        for c in codes {
            #expect(c.count == 11 && Array(c)[5] == "-")
            #expect(c.allSatisfy { "23456789abcdefghjkmnpqrstuvwxyz-".contains($0) })
        }
    }
}
