import CDB
#if canImport(Glibc)
import Glibc
#endif

/// Roaming users (POP-before-SMTP, reference §2.7): `etc/open-smtp` lists recently authenticated
/// client addresses; `tcp.smtp.cdb` is rebuilt from the static rules of `tcp.smtp` plus one
/// `ip:allow,RELAYCLIENT="",RBLSMTPD=""` rule per open address, in the format `tcprules` writes.
public struct Relay {
    public let openSMTPPath: String
    public let rulesPath: String
    public let owner: (uid: UInt32, gid: UInt32)
    public let clearMinutes: Int
    public let sync: Bool
    /// The SQL store's `relay` table, when the store keeps one (else `etc/open-smtp`).
    let tables: StoreTables?

    public init(_ v: Vpopmail) {
        tables = v.tables
        openSMTPPath = v.etcDir + "/open-smtp"
        rulesPath = v.config.tcpserverFile ?? v.etcDir + "/tcp.smtp"
        owner = v.vpopIDs
        clearMinutes = v.config.relayClearMinutes
        sync = v.sync
    }

    /// The client address as upstream derives it: `$TCPREMOTEIP`, else `$REMOTE_HOST`; an
    /// IPv4-mapped `::ffff:` prefix removed; anything outside `[A-Za-z0-9_.@-]` replaced by `_`
    /// (always: upstream left values over 30 characters raw).
    public static func clientIP() -> String {
        var ip = Array((Proc.env("TCPREMOTEIP") ?? Proc.env("REMOTE_HOST") ?? "").utf8)
        let mapped = Array("::ffff:".utf8)
        if ip.count > 7 && ip[0..<7].map({ $0 | 0x20 }) == mapped.map({ $0 | 0x20 }) && ip.contains(UInt8(ascii: ".")) {
            ip.removeFirst(7)
        }
        return sanitize(ip)
    }

    /// Every byte outside `[A-Za-z0-9_.@-]` becomes `_` (at most 64 bytes are kept).
    public static func sanitize(_ s: String) -> String { sanitize(Array(s.utf8)) }

    static func sanitize(_ b: [UInt8]) -> String {
        String(decoding: b.prefix(64).map { c -> UInt8 in
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "@"),
                 UInt8(ascii: "-"): return c
            default: return UInt8(ascii: "_")
            }
        }, as: UTF8.self)
    }

    static func line(_ ip: String) -> String { "\(ip):allow,RELAYCLIENT=\"\",RBLSMTPD=\"\"" }

    /// Records `ip` as open for relaying. Rebuilds `tcp.smtp.cdb` when the address is new.
    /// Returns whether it rebuilt.
    @discardableResult
    public func open(ip: String, now: Int) throws(VpopmailError) -> Bool {
        guard !ip.isEmpty else { return false }
        if let t = tables {
            guard try t.openRelay(ip: ip, time: now) else { return false }
            try rebuild(openLines: try t.relayAddresses().map { Relay.line($0.ip) })
            return true
        }
        let lock = try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(openSMTPPath + ".lock") }
        defer { lock.unlock() }
        var lines = Bytes.textLines(try sys({ () throws(SystemError) in try FS.readText(openSMTPPath) }) ?? "")
        let before = lines.count
        lines.removeAll { $0.prefix(while: { $0 != ":" }) == ip }
        let known = lines.count != before
        lines.append(Relay.line(ip) + "\t\(now)")
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            try FS.writeAtomic(openSMTPPath, lines.joined(separator: "\n") + "\n", mode: 0o644, owner: owner, sync: false)
        }
        if !known { try rebuild(openLines: lines) }
        return !known
    }

    /// `clearopensmtp`: drops addresses older than `relay-clear-minutes` (and lines without a
    /// timestamp), then always rebuilds `tcp.smtp.cdb`.
    public func clear(now: Int) throws(VpopmailError) {
        if let t = tables {
            try t.clearRelay(olderThan: now - clearMinutes * 60)
            try rebuild(openLines: try t.relayAddresses().map { Relay.line($0.ip) })
            return
        }
        let lock = try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(openSMTPPath + ".lock") }
        defer { lock.unlock() }
        let lines = Bytes.textLines(try sys({ () throws(SystemError) in try FS.readText(openSMTPPath) }) ?? "")
        let keep = lines.filter { l in
            guard let tab = l.lastIndex(of: "\t"), let t = Int(l[l.index(after: tab)...]) else { return false }
            return t + clearMinutes * 60 > now
        }
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            try FS.writeAtomic(openSMTPPath, keep.isEmpty ? "" : keep.joined(separator: "\n") + "\n", mode: 0o644,
                               owner: owner, sync: sync)
        }
        try rebuild(openLines: keep)
    }

    /// Writes `<rules>.cdb` from the static rules and the open addresses.
    public func rebuild(openLines: [String]) throws(VpopmailError) {
        var text = try sys({ () throws(SystemError) in try FS.readText(rulesPath) }) ?? ""
        if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
        for l in openLines {
            text += String(l.prefix(while: { $0 != "\t" })) + "\n"
        }
        let image = try Relay.compileRules(text)
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            try FS.writeAtomic(rulesPath + ".cdb", image, mode: 0o644, owner: owner, sync: sync)
        }
    }

    /// Compiles tcprules source text the way ucspi-tcp's `tcprules` does: `address:allow|deny`
    /// followed by `,NAME="value"` instructions; data is `D\0` for deny and `+NAME=value\0` per
    /// variable; `a.b.c.d-e` ranges expand to one key per address.
    public static func compileRules(_ text: String) throws(VpopmailError) -> [UInt8] {
        var w = CDBWriter()
        do {
            for raw in Bytes.textLines(text) {
                var x = Array(raw.utf8)[...]
                if x.first == UInt8(ascii: "#") { continue }
                while let l = x.last, l == 32 || l == 9 || l == 13 { x = x.dropLast() }
                guard let colon = x.firstIndex(of: UInt8(ascii: ":")) else { continue }
                let address = Array(x[x.startIndex..<colon])
                var rest = x[(colon + 1)...]
                var data: [UInt8] = []
                if rest.starts(with: "deny".utf8) {
                    data += [UInt8(ascii: "D"), 0]
                    rest = rest.dropFirst(4)
                } else if rest.starts(with: "allow".utf8) {
                    rest = rest.dropFirst(5)
                } else {
                    continue
                }
                while let c = rest.first {
                    if c != UInt8(ascii: ",") { rest = rest.dropFirst(); continue }
                    guard let eq = rest.firstIndex(of: UInt8(ascii: "=")) else { break }
                    data.append(UInt8(ascii: "+"))
                    data += rest[(rest.startIndex + 1)...eq]
                    rest = rest[(eq + 1)...]
                    guard let delim = rest.first else { break }
                    rest = rest.dropFirst()
                    guard let end = rest.firstIndex(of: delim) else { break }
                    data += rest[rest.startIndex..<end]
                    data.append(0)
                    rest = rest[(end + 1)...]
                }
                for key in expand(address) { try w.add(key: key, data: data) }
            }
            return try w.finish()
        } catch {
            throw VpopmailError(.couldNotUpdateFile, "\(error)")
        }
    }

    /// `1.2.3.4-10` → `1.2.3.4` … `1.2.3.10`; anything else unchanged.
    static func expand(_ address: [UInt8]) -> [[UInt8]] {
        if address.contains(UInt8(ascii: "=")) || address.contains(UInt8(ascii: "@")) { return [address] }
        guard let dash = address.lastIndex(of: UInt8(ascii: "-")) else { return [address] }
        let dot = address[..<dash].lastIndex(of: UInt8(ascii: ".")).map { $0 + 1 } ?? 0
        guard let lo = Int(String(decoding: address[dot..<dash], as: UTF8.self)),
              let hi = Int(String(decoding: address[(dash + 1)...], as: UTF8.self)), lo <= hi, hi - lo < 256 else {
            return [address]
        }
        return (lo...hi).map { Array(address[..<dot]) + Array(String($0).utf8) }
    }
}
