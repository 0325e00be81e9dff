/// A quota as vpopmail stores it (docs/formats.md, "Quotas"): `NOQUOTA`, `<bytes>S`,
/// `<count>C`, `<bytes>S,<count>C`, or a legacy plain number. The stored spelling is kept byte
/// for byte, since `vpasswd`, the `pw_shell` column and the first line of `maildirsize` are
/// read by other programs (Courier, Dovecot, qmailadmin); the limits are read from it once.
public struct Quota: Sendable, Equatable, CustomStringConvertible {
    /// The spelling as stored.
    public let spelling: String
    /// The size limit in bytes (0: none).
    public let bytes: UInt64
    /// The message-count limit (0: none).
    public let count: UInt64

    /// No limit: `NOQUOTA` (vdelivermail takes any spelling starting with `NO`).
    public static let none = Quota(stored: "NOQUOTA")

    /// A stored quota as it is (any spelling is kept; the limits are what vdelivermail reads
    /// from it).
    public init(stored s: String) {
        spelling = s
        let b = Array(s.utf8)
        var bytes: UInt64 = 0, count: UInt64 = 0
        if !(b.count >= 2 && b[0] == UInt8(ascii: "N") && b[1] == UInt8(ascii: "O")) {
            var start = 0
            while start <= b.count {
                var end = start
                while end < b.count && b[end] != UInt8(ascii: ",") { end += 1 }
                if end > start {
                    switch b[end - 1] {
                    case UInt8(ascii: "C"): count = Bytes.uint64(b[start..<(end - 1)]) ?? 0
                    case UInt8(ascii: "S"): bytes = Bytes.uint64(b[start..<(end - 1)]) ?? 0
                    default: bytes = Bytes.uint64(b[start..<end]) ?? 0
                    }
                }
                start = end + 1
            }
        }
        self.bytes = bytes
        self.count = count
    }

    /// True for `NOQUOTA` and for a quota with neither a size nor a count.
    public var isNone: Bool { bytes == 0 && count == 0 }

    /// Whether `maildirsize` is kept for this quota (not for `NOQUOTA` or an empty one).
    public var keepsMaildirsize: Bool { !spelling.isEmpty && !spelling.hasPrefix("NO") }

    public var description: String { spelling }

    /// The stored spelling of a size and count: `<bytes>S`, `<count>C` or `<bytes>S,<count>C`;
    /// empty when both are zero.
    public init(bytes: UInt64, count: UInt64) {
        switch (bytes, count) {
        case (0, 0): self.init(stored: "")
        case (_, 0): self.init(stored: "\(bytes)S")
        case (0, _): self.init(stored: "\(count)C")
        default: self.init(stored: "\(bytes)S,\(count)C")
        }
    }

    /// A quota as an administrator writes it, the way upstream's `format_maildirquota` reads it
    /// (`1M`, `1024KB`, `5000000`, `1mbs,1000C`, `NOQUOTA`), stored in the normal spelling;
    /// garbage is refused instead of stored as an empty quota.
    public static func parse(_ s: String) throws(VpopmailError) -> Quota {
        if s.utf8.count > LengthLimits.maxQuota { throw VpopmailError(.quotaTooLong) }
        let t = s.trimmingSpaces()
        if t.uppercased() == "NOQUOTA" { return .none }
        if t.isEmpty { throw VpopmailError(.badQuota, "invalid quota: empty") }
        var bytes: UInt64 = 0, count: UInt64 = 0
        for part in t.split(separator: ",", omittingEmptySubsequences: false) {
            var p = Substring(part)
            if p.last == "C" {
                guard let n = UInt64(p.dropLast()) else { throw VpopmailError(.badQuota, "invalid quota: \(Validate.printable(s))") }
                count = n
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
            bytes = n * mult
        }
        return Quota(bytes: bytes, count: count)
    }
}
