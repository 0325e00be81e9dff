import CDB
#if canImport(Glibc)
import Glibc
#endif

/// Where accounts live. The cdb files are the embedded default; SQL stores implement the same
/// protocol. Mutating calls expect the caller to hold `lock(domain:)`.
public protocol AccountStore: AnyObject {
    /// Serialises writers of one domain (held until released).
    func lock(domain: DomainInfo) throws(VpopmailError) -> FileLock
    /// One account, or nil.
    func account(_ name: String, in domain: DomainInfo) throws(VpopmailError) -> Account?
    /// All accounts of the domain, sorted by name.
    func accounts(in domain: DomainInfo) throws(VpopmailError) -> [Account]
    /// Adds accounts; throws `.usernameExists` (and adds none) when one is present.
    func insert(_ accounts: [Account], in domain: DomainInfo) throws(VpopmailError)
    /// Replaces the account with the same name; `.userDoesNotExist` when missing.
    func update(_ account: Account, in domain: DomainInfo, rebuildIndex: Bool) throws(VpopmailError)
    /// Removes an account; false when it was not there.
    func remove(_ name: String, in domain: DomainInfo) throws(VpopmailError) -> Bool
    /// Rebuilds derived indexes (cdb: `vpasswd.cdb` from `vpasswd`).
    func rebuildIndex(in domain: DomainInfo) throws(VpopmailError)
}

/// The `vpasswd` text file of a domain: one line per user, sorted by name (reference §2.3.2).
public struct VpasswdFile {
    public private(set) var lines: [ArraySlice<UInt8>]
    public let path: String

    /// Parses `bytes`; a line with fewer than six colons or an empty name is reported with the
    /// file and line number.
    public init(bytes: [UInt8], path: String) throws(VpopmailError) {
        self.path = path
        lines = Bytes.lines(bytes)
        for (i, l) in lines.enumerated() {
            var colons = 0
            for c in l where c == UInt8(ascii: ":") { colons += 1; if colons == 6 { break } }
            if colons < 6 || l.first == UInt8(ascii: ":") {
                throw VpopmailError(.corruptFile, "\(path):\(i + 1): corrupt vpasswd line")
            }
        }
    }

    public init(path: String) { self.path = path; lines = [] }

    @inline(__always)
    static func name(of line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let c = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        return line[line.startIndex..<c]
    }

    public func index(of name: [UInt8]) -> Int? {
        lines.firstIndex { VpasswdFile.name(of: $0).elementsEqual(name) }
    }

    /// Inserts before the first line whose name compares greater (upstream's order).
    public mutating func insert(_ line: [UInt8]) {
        let n = VpasswdFile.name(of: line[...])
        let at = lines.firstIndex { n.lexicographicallyPrecedes(VpasswdFile.name(of: $0)) } ?? lines.count
        lines.insert(line[...], at: at)
    }

    /// Adds many lines at once, keeping the file sorted (one merge instead of n inserts).
    public mutating func insertMany(_ new: [[UInt8]]) {
        var add = new.map { $0[...] }
        add.sort { VpasswdFile.name(of: $0).lexicographicallyPrecedes(VpasswdFile.name(of: $1)) }
        var out: [ArraySlice<UInt8>] = []
        out.reserveCapacity(lines.count + add.count)
        var i = 0, j = 0
        while i < lines.count || j < add.count {
            if j == add.count || (i < lines.count &&
                !VpasswdFile.name(of: add[j]).lexicographicallyPrecedes(VpasswdFile.name(of: lines[i]))) {
                out.append(lines[i]); i += 1
            } else {
                out.append(add[j]); j += 1
            }
        }
        lines = out
    }

    public mutating func replace(at i: Int, with line: [UInt8]) { lines[i] = line[...] }
    public mutating func remove(at i: Int) { lines.remove(at: i) }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(lines.reduce(0) { $0 + $1.count + 1 })
        for l in lines { out.append(contentsOf: l); out.append(10) }
        return out
    }

    /// `vpasswd.cdb`: key = name, data = the rest of the line.
    public func cdbImage() throws(VpopmailError) -> [UInt8] {
        var w = CDBWriter(reservingCapacity: lines.reduce(0) { $0 + $1.count }, records: lines.count)
        do {
            for l in lines {
                let n = VpasswdFile.name(of: l)
                try w.add(key: n, data: l[(n.endIndex + 1)...])
            }
            return try w.finish()
        } catch {
            throw VpopmailError(.couldNotUpdateFile, error.description)
        }
    }

    /// The text line of an account.
    public static func line(for a: Account, withClear: Bool) -> [UInt8] {
        var s = "\(a.name):\(a.passwordHash):\(a.apopMarker):\(a.flags.rawValue):"
        s += a.gecos.filter { $0 != ":" && $0 != "\n" }
        s += ":\(a.home):\(a.quota)"
        if withClear || a.clearPassword != nil { s += ":" + (a.clearPassword ?? "") }
        return Array(s.utf8)
    }

    /// Parses one line (`name:passwd:uid:gid:gecos:dir:quota[:clear]`).
    public static func account(from line: ArraySlice<UInt8>) -> Account? {
        var fields: [ArraySlice<UInt8>] = []
        var start = line.startIndex
        var i = line.startIndex
        while i < line.endIndex && fields.count < 7 {
            if line[i] == UInt8(ascii: ":") {
                fields.append(line[start..<i])
                start = i + 1
            }
            i += 1
        }
        var clear: String? = nil
        if fields.count == 7 {
            clear = String(decoding: line[start...], as: UTF8.self)
        } else {
            fields.append(line[start...])
        }
        guard fields.count >= 7 else { return nil }
        func s(_ f: ArraySlice<UInt8>) -> String { String(decoding: f, as: UTF8.self) }
        return Account(name: s(fields[0]), passwordHash: s(fields[1]), apopMarker: UInt32(s(fields[2])) ?? 0,
                       flags: AccountFlags(rawValue: UInt32(s(fields[3])) ?? 0), gecos: s(fields[4]),
                       home: s(fields[5]), quota: s(fields[6]), clearPassword: clear)
    }
}

/// The classic store: `<domaindir>/vpasswd` (the source of truth, sorted) and `vpasswd.cdb`
/// (what lookups read), both replaced atomically under `.vpasswd.lock`.
public final class CDBStore: AccountStore {
    public let sync: Bool
    public let storeClear: Bool

    public init(sync: Bool = true, storeClear: Bool = false) {
        self.sync = sync
        self.storeClear = storeClear
    }

    public func vpasswdPath(_ d: DomainInfo) -> String { d.dir + "/vpasswd" }
    public func cdbPath(_ d: DomainInfo) -> String { d.dir + "/vpasswd.cdb" }

    public func lock(domain d: DomainInfo) throws(VpopmailError) -> FileLock {
        try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(d.dir + "/.vpasswd.lock", owner: d.owner) }
    }

    public func load(_ d: DomainInfo) throws(VpopmailError) -> VpasswdFile {
        let path = vpasswdPath(d)
        guard let bytes = try sys({ () throws(SystemError) in try FS.readIfExists(path) }) else { return VpasswdFile(path: path) }
        return try VpasswdFile(bytes: bytes, path: path)
    }

    /// Writes `vpasswd`, then `vpasswd.cdb` (each atomically).
    public func save(_ f: VpasswdFile, _ d: DomainInfo, rebuildIndex: Bool = true) throws(VpopmailError) {
        let image = rebuildIndex ? try f.cdbImage() : nil
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            try FS.writeAtomic(vpasswdPath(d), f.bytes, mode: 0o600, owner: d.owner, sync: sync)
            if let image { try FS.writeAtomic(cdbPath(d), image, mode: 0o600, owner: d.owner, sync: sync) }
        }
    }

    public func account(_ name: String, in d: DomainInfo) throws(VpopmailError) -> Account? {
        let path = cdbPath(d)
        do {
            let r = try CDBReader(path: path)
            guard let range = try r.find(Array(name.utf8)) else { return nil }
            return VpasswdFile.account(from: (Array((name + ":").utf8) + range)[...])
        } catch .system(_, _, let e) where e == ENOENT {
            // No cdb yet: rebuild it from vpasswd when there is one.
            guard FS.exists(vpasswdPath(d)) else { return nil }
            let l = try lock(domain: d)
            defer { l.unlock() }
            let f = try load(d)
            let image = try f.cdbImage()
            try sys(.couldNotUpdateFile) { () throws(SystemError) in
                try FS.writeAtomic(path, image, mode: 0o600, owner: d.owner, sync: sync)
            }
            guard let i = f.index(of: Array(name.utf8)) else { return nil }
            return VpasswdFile.account(from: f.lines[i])
        } catch {
            throw VpopmailError(.corruptFile, error.description, cause: error)
        }
    }

    public func accounts(in d: DomainInfo) throws(VpopmailError) -> [Account] {
        let f = try load(d)
        return f.lines.compactMap { VpasswdFile.account(from: $0) }
    }

    public func insert(_ accounts: [Account], in d: DomainInfo) throws(VpopmailError) {
        var f = try load(d)
        if accounts.count == 1 {
            let a = accounts[0]
            if f.index(of: Array(a.name.utf8)) != nil { throw VpopmailError(.usernameExists, "Username exists: \(a.name)") }
            f.insert(VpasswdFile.line(for: a, withClear: storeClear))
        } else {
            var names = Set<ArraySlice<UInt8>>()
            for l in f.lines { names.insert(VpasswdFile.name(of: l)) }
            for a in accounts {
                let n = Array(a.name.utf8)[...]
                if names.contains(n) { throw VpopmailError(.usernameExists, "Username exists: \(a.name)") }
                names.insert(n)
            }
            f.insertMany(accounts.map { VpasswdFile.line(for: $0, withClear: storeClear) })
        }
        try save(f, d)
    }

    public func update(_ a: Account, in d: DomainInfo, rebuildIndex: Bool = true) throws(VpopmailError) {
        var f = try load(d)
        guard let i = f.index(of: Array(a.name.utf8)) else { throw VpopmailError(.userDoesNotExist) }
        f.replace(at: i, with: VpasswdFile.line(for: a, withClear: storeClear))
        try save(f, d, rebuildIndex: rebuildIndex)
    }

    public func remove(_ name: String, in d: DomainInfo) throws(VpopmailError) -> Bool {
        var f = try load(d)
        guard let i = f.index(of: Array(name.utf8)) else { return false }
        f.remove(at: i)
        try save(f, d)
        return true
    }

    public func rebuildIndex(in d: DomainInfo) throws(VpopmailError) {
        let image = try load(d).cdbImage()
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            try FS.writeAtomic(cdbPath(d), image, mode: 0o600, owner: d.owner, sync: sync)
        }
    }
}
