import CDB

/// tcprules (ucspi-tcp) source compiled to the cdb tcpserver reads, byte for byte as
/// `tcprules` writes it (checked against tcprules and tcprulescheck in the tests).
public enum TCPRules {
    /// The rule of an address open for relaying (roaming users).
    public static func relayRule(_ ip: String) -> String { "\(ip):allow,RELAYCLIENT=\"\",RBLSMTPD=\"\"" }

    /// Compiles tcprules source text the way ucspi-tcp's `tcprules` does: `address:allow|deny`
    /// followed by `,NAME="value"` instructions; data is `D\0` for deny and `+NAME=value\0` per
    /// variable; `a.b.c.d-e` ranges expand to one key per address.
    public static func compile(_ text: String) throws(VpopmailError) -> [UInt8] {
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
