import VpopmailCore

/// `etc/ip_alias_map`: `<ip> <domain>` lines, edited under `ip_alias_map.lock`.
public final class FileIPMap: IPMapStore {
    let path: String
    let sync: Bool

    public init(etcDir: String, sync: Bool) {
        path = etcDir + "/ip_alias_map"
        self.sync = sync
    }

    public var storage: String { "files" }

    public func entries() throws(VpopmailError) -> [(ip: String, domain: String)] {
        guard let t = try sys({ () throws(SystemError) in try FS.readText(path) }) else { return [] }
        return Bytes.textLines(t).compactMap { l in
            let p = l.split(whereSeparator: { $0 == " " || $0 == "\t" })
            return p.count >= 2 ? (String(p[0]), String(p[1])) : nil
        }
    }

    public func add(ip: String, domain: String) throws(VpopmailError) {
        try edit { $0.removeAll { $0.ip == ip && $0.domain == domain }; $0.append((ip, domain)) }
    }

    public func delete(ip: String, domain: String) throws(VpopmailError) {
        try edit { $0.removeAll { $0.ip == ip && $0.domain == domain } }
    }

    private func edit(_ change: (inout [(ip: String, domain: String)]) -> Void) throws(VpopmailError) {
        let lock = try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(path + ".lock") }
        defer { lock.unlock() }
        var m = try entries()
        change(&m)
        let text = m.map { "\($0.ip) \($0.domain)\n" }.joined()
        try sys(.couldNotUpdateFile) { () throws(SystemError) in try FS.writeAtomic(path, text, mode: 0o600, sync: sync) }
    }
}
