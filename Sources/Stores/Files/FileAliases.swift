import VpopmailCore

/// Aliases as qmail-local reads them: `<domaindir>/.qmail-<alias>`, one `.qmail` line per line
/// (a `.` in the name is `:` in the file name), mode 0600, owned by the domain.
public final class FileAliases: AliasStore {
    let sync: Bool

    public init(sync: Bool) { self.sync = sync }

    public var storage: String { "files" }
    public var needsLookupAtDelivery: Bool { false }

    public static func path(_ alias: String, _ d: DomainInfo) -> String {
        d.dir + "/.qmail-" + String(alias.map { $0 == "." ? ":" : $0 })
    }

    public func names(in d: DomainInfo) throws(VpopmailError) -> [String] {
        var out: [String] = []
        for n in try sys({ () throws(SystemError) in try FS.list(d.dir) }) where n.hasPrefix(".qmail-") && n != ".qmail-default" {
            if n.hasSuffix(".lock") || n.contains(".tmp.") { continue }
            if FS.isSymlink(d.dir + "/" + n) && (n.contains("-default") || n.contains("-owner")) { continue }
            out.append(String(n.dropFirst(7).map { $0 == ":" ? "." : $0 }))
        }
        return out.sorted { $0.lowercased() < $1.lowercased() }
    }

    public func lines(of alias: String, in d: DomainInfo) throws(VpopmailError) -> [String] {
        guard let t = try sys({ () throws(SystemError) in try FS.readText(FileAliases.path(alias, d)) }) else { return [] }
        return Bytes.textLines(t)
    }

    private func write(_ lines: [String], _ alias: String, _ d: DomainInfo) throws(VpopmailError) {
        let p = FileAliases.path(alias, d)
        if let bad = lines.first(where: { $0.isEmpty || Validate.breaksLine($0) }) {
            throw VpopmailError(.badChar, "refusing to write an alias line with NUL, CR or LF into \(p): \(Validate.printable(bad))")
        }
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            if lines.isEmpty { try FS.unlink(p) }
            else { try FS.writeAtomic(p, lines.joined(separator: "\n") + "\n", mode: 0o600, owner: d.owner, sync: sync) }
        }
    }

    public func addLine(_ line: String, to alias: String, in d: DomainInfo) throws(VpopmailError) {
        try write(try lines(of: alias, in: d) + [line], alias, d)
    }

    public func removeLines(_ remove: [String], from alias: String, in d: DomainInfo) throws(VpopmailError) {
        try write(try lines(of: alias, in: d).filter { !remove.contains($0) }, alias, d)
    }

    public func delete(_ alias: String, in d: DomainInfo) throws(VpopmailError) {
        try sys(.couldNotUpdateFile) { () throws(SystemError) in try FS.unlink(FileAliases.path(alias, d)) }
    }

    public func domainDeleted(_ d: DomainInfo) throws(VpopmailError) {}
}
