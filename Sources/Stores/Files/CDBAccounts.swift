import CDB
import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// The classic store: `<domaindir>/vpasswd` (the source of truth, sorted) and `vpasswd.cdb`
/// (what lookups read), both replaced atomically under `.vpasswd.lock`.
public final class CDBAccounts: AccountStore {
    public let sync: Bool
    public let storeClear: Bool

    public init(sync: Bool = true, storeClear: Bool = false) {
        self.sync = sync
        self.storeClear = storeClear
    }

    public var storage: String { "files" }
    public var colonSeparated: Bool { true }
    /// Each insert rewrites `vpasswd`: a bulk copy goes in one.
    public var bulkBatch: Int { Int.max }

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
            try FS.writeAtomic(vpasswdPath(d), f.bytes, mode: 0o600, owner: d.owner, sync: sync, syncDirectory: false)
            if let image { try FS.writeAtomic(cdbPath(d), image, mode: 0o600, owner: d.owner, sync: sync, syncDirectory: false) }
            if sync { FS.syncDirectory(of: vpasswdPath(d)) }
        }
    }

    public func account(_ user: UserName, in d: DomainInfo) throws(VpopmailError) -> Account? {
        let name = user.text
        let path = cdbPath(d)
        do {
            guard let data = try CDBReader.lookup(path: path, key: Array(name.utf8)) else { return nil }
            return VpasswdFile.account(from: (Array((name + ":").utf8) + data)[...])
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
            f.insert(try VpasswdFile.line(for: a, withClear: storeClear))
        } else {
            var names = Set<ArraySlice<UInt8>>()
            for l in f.lines { names.insert(l.prefix(while: { $0 != UInt8(ascii: ":") })) }
            for a in accounts {
                let n = Array(a.name.utf8)[...]
                if names.contains(n) { throw VpopmailError(.usernameExists, "Username exists: \(a.name)") }
                names.insert(n)
            }
            var lines: [[UInt8]] = []
            lines.reserveCapacity(accounts.count)
            for a in accounts { lines.append(try VpasswdFile.line(for: a, withClear: storeClear)) }
            f.insertMany(lines)
        }
        try save(f, d)
    }

    public func update(_ a: Account, in d: DomainInfo, rebuildIndex: Bool = true) throws(VpopmailError) {
        var f = try load(d)
        guard let i = f.index(of: Array(a.name.utf8)) else { throw VpopmailError(.userDoesNotExist) }
        f.replace(at: i, with: try VpasswdFile.line(for: a, withClear: storeClear))
        try save(f, d, rebuildIndex: rebuildIndex)
    }

    public func remove(_ name: UserName, in d: DomainInfo) throws(VpopmailError) -> Bool {
        var f = try load(d)
        guard let i = f.index(of: Array(name.text.utf8)) else { return false }
        f.remove(at: i)
        try save(f, d)
        return true
    }

    public var keepsIndex: Bool { true }

    public func rebuildIndex(in d: DomainInfo) throws(VpopmailError) {
        let image = try load(d).cdbImage()
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            try FS.writeAtomic(cdbPath(d), image, mode: 0o600, owner: d.owner, sync: sync)
        }
    }
}
