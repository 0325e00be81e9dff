#if canImport(Glibc)
import Glibc
#endif

/// Roaming users (POP-before-SMTP, docs/vchkpw.md): after a POP or IMAP login the client
/// address is open for relaying (`RelayStore`), and `tcp.smtp.cdb` is rebuilt from the static
/// rules of `tcp.smtp` plus one `ip:allow,RELAYCLIENT="",RBLSMTPD=""` rule per open address.
public struct Relay {
    let store: any RelayStore
    public let rulesPath: String
    public let owner: (uid: UInt32, gid: UInt32)
    public let clearMinutes: Int
    public let sync: Bool

    public init(_ v: Installation) {
        store = v.stores.relay
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

    /// Records `ip` as open for relaying. Rebuilds `tcp.smtp.cdb` when the address is new.
    /// Returns whether it rebuilt.
    @discardableResult
    public func open(ip: String, now: Int) throws(VpopmailError) -> Bool {
        guard !ip.isEmpty else { return false }
        guard try store.open(ip: ip, time: now) else { return false }
        try rebuild()
        return true
    }

    /// `clearopensmtp`: drops addresses older than `relay-clear-minutes` (and entries without a
    /// time), then always rebuilds `tcp.smtp.cdb`.
    public func clear(now: Int) throws(VpopmailError) {
        try store.clear(openedBefore: now - clearMinutes * 60)
        try rebuild()
    }

    /// Writes `<rules>.cdb` from the static rules and the open addresses.
    public func rebuild() throws(VpopmailError) {
        var text = try sys({ () throws(SystemError) in try FS.readText(rulesPath) }) ?? ""
        if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
        for a in try store.addresses() { text += TCPRules.relayRule(a.ip) + "\n" }
        let image = try TCPRules.compile(text)
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            try FS.writeAtomic(rulesPath + ".cdb", image, mode: 0o644, owner: owner, sync: sync)
        }
    }
}
