import CDB
#if canImport(Glibc)
import Glibc
#endif

/// qmail's files that vpopmail keeps (docs/formats.md, "qmail's files"): `users/assign` and its compiled
/// `users/cdb`, `control/virtualdomains`, `rcpthosts`, `morercpthosts(.cdb)`, `locals`.
/// qmail need not be installed: `users/cdb` and `morercpthosts.cdb` are compiled here, in the
/// formats qmail-newu and qmail-newmrh write.
public struct QmailControl: Sendable {
    public let qmailDir: String
    public let cdbName: String
    public let sync: Bool
    /// qmail-newu / qmail-newmrh to run instead of compiling the cdb ourselves ("" = ourselves).
    /// (Plain strings: copying an optional one costs vchkpw and vdelivermail a run-time metadata
    /// instantiation at every start.)
    public let newuProgram: String
    public let newmrhProgram: String

    public init(qmailDir: String, cdbName: String = "cdb", sync: Bool = true,
                newuProgram: String = "", newmrhProgram: String = "") {
        self.qmailDir = qmailDir
        self.cdbName = cdbName
        self.sync = sync
        self.newuProgram = newuProgram
        self.newmrhProgram = newmrhProgram
    }

    public var assignPath: String { qmailDir + "/users/assign" }
    public var usersCDBPath: String { qmailDir + "/users/" + cdbName }
    public func control(_ name: String) -> String { qmailDir + "/control/" + name }

    // MARK: sort order

    /// Upstream's sort key: the last two labels moved to the front (`mail.example.com` →
    /// `example.com.mail`).
    public static func sortKey(_ domain: Substring) -> [UInt8] {
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count <= 2 { return Array(domain.utf8) }
        let tail = labels.suffix(2).joined(separator: ".")
        let head = labels.dropLast(2).joined(separator: ".")
        return Array((tail + "." + head).utf8)
    }

    public enum Kind: Sendable {
        case assign, virtualdomains, plain
        /// The domain part of a line for the sort key.
        func domain(of line: Substring) -> Substring {
            switch self {
            case .assign:
                var s = line.hasPrefix("+") ? line.dropFirst() : line
                if let r = s.firstRange(of: "-:") { s = s[..<r.lowerBound] }
                return s
            case .virtualdomains:
                if let c = line.firstIndex(of: ":") { return line[..<c] }
                return line
            case .plain:
                return line
            }
        }
    }

    private static func lessThan(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.lexicographicallyPrecedes(b) }

    // MARK: editing a sorted file

    /// Inserts `line` into `path` in sorted position (upstream's `update_file`), under
    /// `<path>.lock`, written atomically with mode 0644. Returns a notice when the file was out of
    /// order and had to be re-sorted.
    @discardableResult
    public func insertLine(_ line: String, into path: String, kind: Kind) throws(VpopmailError) -> String? {
        let lock = try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(path + ".lock") }
        defer { lock.unlock() }
        var lines = try readLines(path)
        var terminator = false
        if kind == .assign {
            if let dot = lines.firstIndex(of: ".") { lines.removeSubrange(dot...) }
            terminator = true
        }
        let keys = lines.map { QmailControl.sortKey(kind.domain(of: Substring($0))) }
        let newKey = QmailControl.sortKey(kind.domain(of: Substring(line)))
        var outOfOrder = false
        for i in keys.indices.dropFirst() where QmailControl.lessThan(keys[i], keys[i - 1]) { outOfOrder = true; break }
        var notice: String? = nil
        if outOfOrder {
            lines.append(line)
            lines.sort { QmailControl.lessThan(QmailControl.sortKey(kind.domain(of: Substring($0))),
                                                QmailControl.sortKey(kind.domain(of: Substring($1)))) }
            notice = "NOTICE: Out of order entries found in \(path)"
        } else {
            let at = keys.firstIndex(where: { QmailControl.lessThan(newKey, $0) }) ?? lines.count
            lines.insert(line, at: at)
        }
        if terminator { lines.append(".") }
        try write(lines, to: path)
        return notice
    }

    /// Removes every line equal to `line`. Returns whether one was found.
    @discardableResult
    public func removeLine(_ line: String, from path: String) throws(VpopmailError) -> Bool {
        guard FS.exists(path) else { return false }
        let lock = try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(path + ".lock") }
        defer { lock.unlock() }
        var lines = try readLines(path)
        let before = lines.count
        lines.removeAll { $0 == line }
        if lines.count == before { return false }
        try write(lines, to: path)
        return true
    }

    public func readLines(_ path: String) throws(VpopmailError) -> [String] {
        guard let text = try sys(.couldNotUpdateFile, { () throws(SystemError) in try FS.readText(path) }) else { return [] }
        return Bytes.textLines(text)
    }

    private func write(_ lines: [String], to path: String) throws(VpopmailError) {
        // No line may carry another (a NUL, CR or LF in a field would add one).
        if let bad = lines.first(where: Validate.breaksLine) {
            throw VpopmailError(.badChar, "refusing to write a line with NUL, CR or LF into \(path): \(Validate.printable(bad))")
        }
        let text = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            try FS.writeAtomic(path, text, mode: 0o644, sync: sync)
        }
    }

    // MARK: users/assign and users/cdb

    /// The assign line for a domain or alias domain.
    public static func assignLine(name: String, realDomain: String, uid: UInt32, gid: UInt32, dir: String) -> String {
        "+\(name)-:\(realDomain):\(uid):\(gid):\(dir):-::"
    }

    /// Compiles `users/cdb` from `users/assign` exactly as qmail-newu does (or runs the configured
    /// qmail-newu).
    public func compileAssign() throws(VpopmailError) {
        if case let prog = newuProgram, !prog.isEmpty {
            if let why = FS.untrustedProgram(prog) { throw VpopmailError(.badConfig, "refusing to run qmail-newu \(prog): \(why)") }
            guard Proc.run([prog], umask: 0o022) == 0 else {
                throw VpopmailError(.couldNotUpdateFile, "\(prog) failed")
            }
            return
        }
        let lines = try readLines(assignPath)
        var w = CDBWriter(reservingCapacity: lines.count * 80, records: lines.count + 1)
        var wild: [UInt8] = []
        do {
            for line in lines {
                if line == "." { break }
                let b = Array(line.utf8)
                guard let first = b.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "=") else { continue }
                guard let colon = b.firstIndex(of: UInt8(ascii: ":")) else { continue }
                let name = b[1..<colon].map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
                var value: [UInt8] = []
                var colons = 0
                for c in b[(colon + 1)...] {
                    if c == UInt8(ascii: ":") {
                        colons += 1
                        if colons == 6 { break }
                        value.append(0)
                    } else {
                        value.append(c)
                    }
                }
                if colons < 6 { continue }
                if first == UInt8(ascii: "+") {
                    try w.add(key: [UInt8(ascii: "!")] + name, data: value)
                    if let last = name.last, !wild.contains(last) { wild.append(last) }
                } else {
                    try w.add(key: [UInt8(ascii: "!")] + name + [0], data: value)
                }
            }
            try w.add(key: [], data: wild)
            let image = try w.finish()
            try sys(.couldNotUpdateFile) { () throws(SystemError) in
                try FS.writeAtomic(usersCDBPath, image, mode: 0o644, sync: sync)
            }
        } catch let e as CDBError {
            throw VpopmailError(.couldNotUpdateFile, e.description)
        } catch let e as VpopmailError {
            throw e
        } catch {
            throw VpopmailError(.couldNotUpdateFile, "\(error)")
        }
    }

    /// Looks a domain up the way qmail and upstream's `vget_assign` do: key `!<domain>-` in
    /// `users/cdb` (falling back to parsing `users/assign` when the cdb is missing).
    public func lookup(_ domain: String) throws(VpopmailError) -> DomainInfo? {
        let d = domain.lowercased()
        do {
            guard let v = try CDBReader.lookup(path: usersCDBPath, key: Array(("!" + d + "-").utf8)) else { return nil }
            return QmailControl.parseAssignValue(name: d, value: v[...])
        } catch .system(_, _, let e) where e == ENOENT {
            for line in try readLines(assignPath) {
                guard line.hasPrefix("+") else { continue }
                let fields = line.dropFirst().split(separator: ":", omittingEmptySubsequences: false)
                guard fields.count >= 5, fields[0].lowercased() == d + "-" else { continue }
                let value = fields[1...].joined(separator: "\0")
                return QmailControl.parseAssignValue(name: d, value: Array(value.utf8)[...])
            }
            return nil
        } catch {
            throw VpopmailError(.cannotReadAssign, "\(error)")
        }
    }

    /// `realdomain\0uid\0gid\0dir\0...` (a users/cdb value) as a DomainInfo; nil when malformed.
    /// On the bytes, without splitting: vchkpw and vdelivermail read one per run.
    public static func parseAssignValue(name: String, value v: ArraySlice<UInt8>) -> DomainInfo? {
        var ends: (Int, Int, Int, Int) = (0, 0, 0, 0)
        var found = 0
        var i = v.startIndex
        while found < 4 {
            while i < v.endIndex && v[i] != 0 { i += 1 }
            switch found {
            case 0: ends.0 = i
            case 1: ends.1 = i
            case 2: ends.2 = i
            default: ends.3 = i
            }
            found += 1
            if i == v.endIndex { break }
            i += 1
        }
        guard found == 4, let uid = Bytes.uint32(v[(ends.0 + 1)..<ends.1]), let gid = Bytes.uint32(v[(ends.1 + 1)..<ends.2]) else {
            return nil
        }
        return DomainInfo(name: name, realDomain: String(decoding: v[v.startIndex..<ends.0], as: UTF8.self), uid: uid, gid: gid,
                          dir: String(decoding: v[(ends.2 + 1)..<ends.3], as: UTF8.self))
    }

    /// Every domain line of `users/assign` (real and alias domains), in file order.
    public func domainEntries() throws(VpopmailError) -> [DomainInfo] {
        guard FS.exists(assignPath) else {
            throw VpopmailError(.cannotReadAssign, "can't read users/assign file: \(assignPath)")
        }
        return QmailControl.domainEntries(ofAssign: try readLines(assignPath))
    }

    /// The domain lines of `users/assign`'s lines (others, and malformed ones, skipped).
    public static func domainEntries(ofAssign lines: [String]) -> [DomainInfo] {
        var out: [DomainInfo] = []
        for line in lines {
            guard line.hasPrefix("+") else { continue }
            let fields = line.dropFirst().split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 5, fields[0].hasSuffix("-"), fields[0].contains("."),
                  let uid = UInt32(fields[2]), let gid = UInt32(fields[3]) else { continue }
            out.append(DomainInfo(name: String(fields[0].dropLast()), realDomain: String(fields[1]),
                                  uid: uid, gid: gid, dir: String(fields[4])))
        }
        return out
    }

    // MARK: rcpthosts, morercpthosts, virtualdomains, locals

    /// Adds a domain (real or alias) to assign, rcpthosts or morercpthosts, virtualdomains, and
    /// removes it from locals. Returns notices to print.
    public func addDomain(name: String, realDomain: String, uid: UInt32, gid: UInt32, dir: String,
                          optimize: Bool) throws(VpopmailError) -> [String] {
        var notices: [String] = []
        // assign is colon-separated: no field may hold a ':' (or start a line).
        for f in [name, realDomain, dir] where f.contains(":") || Validate.breaksLine(f) || f.isEmpty {
            throw VpopmailError(.badChar, "bad character in a users/assign field (':', NUL, CR or LF): \(Validate.printable(f))")
        }
        if !FS.exists(assignPath) {
            try sys(.couldNotUpdateFile) { () throws(SystemError) in try FS.mkdirs(qmailDir + "/users", mode: 0o755) }
        }
        if let n = try insertLine(QmailControl.assignLine(name: name, realDomain: realDomain, uid: uid, gid: gid, dir: dir),
                                  into: assignPath, kind: .assign) { notices.append(n) }
        try compileAssign()
        try sys(.couldNotUpdateFile) { () throws(SystemError) in try FS.mkdirs(qmailDir + "/control", mode: 0o755) }
        let rcpt = control("rcpthosts")
        if try readLines(rcpt).count >= 50 {
            if let n = try insertLine(name, into: control("morercpthosts"), kind: .plain) { notices.append(n) }
            if !optimize { try compileMoreRcptHosts() }
        } else {
            if let n = try insertLine(name, into: rcpt, kind: .plain) { notices.append(n) }
        }
        if let n = try insertLine("\(name):\(name)", into: control("virtualdomains"), kind: .virtualdomains) { notices.append(n) }
        try removeLine(name, from: control("locals"))
        return notices
    }

    /// Removes a domain (real or alias) from every control file and from assign.
    public func removeDomain(name: String, realDomain: String, uid: UInt32, gid: UInt32, dir: String) throws(VpopmailError) {
        if try !removeLine(name, from: control("rcpthosts")) {
            let more = control("morercpthosts")
            if try removeLine(name, from: more) {
                if try readLines(more).isEmpty {
                    try sys(.couldNotUpdateFile) { () throws(SystemError) in
                        try FS.unlink(more)
                        try FS.unlink(more + ".cdb")
                    }
                } else {
                    try compileMoreRcptHosts()
                }
            }
        }
        try removeLine("\(name):\(name)", from: control("virtualdomains"))
        try removeLine(QmailControl.assignLine(name: name, realDomain: realDomain, uid: uid, gid: gid, dir: dir), from: assignPath)
        try compileAssign()
    }

    /// Compiles `morercpthosts.cdb` as qmail-newmrh does (or runs the configured qmail-newmrh).
    public func compileMoreRcptHosts() throws(VpopmailError) {
        if case let prog = newmrhProgram, !prog.isEmpty {
            if let why = FS.untrustedProgram(prog) { throw VpopmailError(.badConfig, "refusing to run qmail-newmrh \(prog): \(why)") }
            guard Proc.run([prog], umask: 0o022) == 0 else { throw VpopmailError(.couldNotUpdateFile, "\(prog) failed") }
            return
        }
        let lines = try readLines(control("morercpthosts"))
        var w = CDBWriter(records: lines.count)
        do {
            for line in lines where !line.hasPrefix("#") {
                var b = Array(line.utf8)
                while let l = b.last, l == 32 || l == 9 || l == 10 { b.removeLast() }
                try w.add(key: b.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, data: [UInt8]())
            }
            let image = try w.finish()
            try sys(.couldNotUpdateFile) { () throws(SystemError) in
                try FS.writeAtomic(control("morercpthosts.cdb"), image, mode: 0o644, sync: sync)
            }
        } catch let e as VpopmailError {
            throw e
        } catch {
            throw VpopmailError(.couldNotUpdateFile, "\(error)")
        }
    }

    /// Asks a running qmail-send to re-read its control files (SIGHUP).
    public func signalQmailSend() {
        Proc.signalProcesses(named: "qmail-send", signal: SIGHUP)
    }
}
