import VpopmailCore

/// `etc/open-smtp`: one tcprules line per open address with the time after a tab
/// (`<ip>:allow,RELAYCLIENT="",RBLSMTPD=""<TAB><time>`), edited under `open-smtp.lock`.
public final class FileRelay: RelayStore {
    let path: String
    let owner: () -> (uid: UInt32, gid: UInt32)
    let sync: Bool

    public init(etcDir: String, owner: @escaping () -> (uid: UInt32, gid: UInt32), sync: Bool) {
        path = etcDir + "/open-smtp"
        self.owner = owner
        self.sync = sync
    }

    public var storage: String { "files" }

    private func read() throws(VpopmailError) -> [String] {
        Bytes.textLines(try sys({ () throws(SystemError) in try FS.readText(path) }) ?? "")
    }

    private func write(_ lines: [String], sync: Bool) throws(VpopmailError) {
        let o = owner()
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            try FS.writeAtomic(path, lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n", mode: 0o644, owner: o, sync: sync)
        }
    }

    private static func entry(_ line: String) -> (ip: String, time: Int)? {
        guard let tab = line.lastIndex(of: "\t"), let t = Int(line[line.index(after: tab)...]) else { return nil }
        return (String(line.prefix(while: { $0 != ":" })), t)
    }

    public func open(ip: String, time: Int) throws(VpopmailError) -> Bool {
        let lock = try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(path + ".lock") }
        defer { lock.unlock() }
        var lines = try read()
        let before = lines.count
        lines.removeAll { $0.prefix(while: { $0 != ":" }) == ip }
        let known = lines.count != before
        lines.append(TCPRules.relayRule(ip) + "\t\(time)")
        // A login record, not worth a flush per login.
        try write(lines, sync: false)
        return !known
    }

    public func addresses() throws(VpopmailError) -> [(ip: String, time: Int)] {
        try read().map { l in FileRelay.entry(l) ?? (String(l.prefix(while: { $0 != ":" && $0 != "\t" })), 0) }
    }

    public func clear(openedBefore cutoff: Int) throws(VpopmailError) {
        let lock = try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(path + ".lock") }
        defer { lock.unlock() }
        try write(try read().filter { l in FileRelay.entry(l).map { $0.time > cutoff } ?? false }, sync: sync)
    }
}
