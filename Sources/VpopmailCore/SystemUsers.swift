/// `/etc/passwd`, `/etc/shadow` and `/etc/group` read as files. vchkpw is a static executable,
/// where glibc's NSS would load shared modules into a static process; vpopmail's system accounts
/// are the files' accounts (the seed's `--enable-passwd`) in any case.
public enum SystemUsers {
    public struct Entry: Sendable {
        public var name: String
        public var passwordHash: String
        public var uid: UInt32
        public var gid: UInt32
        public var home: String
    }

    static func fields(_ path: String, _ name: String) -> [Substring]? {
        guard let text = try? FS.readText(path) else { return nil }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            if f.first.map(String.init) == name { return f }
        }
        return nil
    }

    /// The `/etc/passwd` entry of `name`, or nil.
    public static func user(_ name: String, passwdFile: String = "/etc/passwd") -> Entry? {
        guard !name.isEmpty, let f = fields(passwdFile, name), f.count >= 7,
              let uid = UInt32(f[2]), let gid = UInt32(f[3]) else { return nil }
        return Entry(name: name, passwordHash: String(f[1]), uid: uid, gid: gid, home: String(f[5]))
    }

    /// The hash in `/etc/shadow` for `name`, or nil when there is no entry.
    public static func shadowHash(_ name: String, shadowFile: String = "/etc/shadow") -> String? {
        guard let f = fields(shadowFile, name), f.count >= 2 else { return nil }
        return String(f[1])
    }

    /// The gid of a group in `/etc/group`, or nil.
    public static func groupID(_ name: String, groupFile: String = "/etc/group") -> UInt32? {
        guard let f = fields(groupFile, name), f.count >= 3 else { return nil }
        return UInt32(f[2])
    }
}

extension SystemUsers {
    /// Every `/etc/passwd` entry, in file order.
    public static func all(passwdFile: String = "/etc/passwd") -> [Entry] {
        guard let text = try? FS.readText(passwdFile) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 7, let uid = UInt32(f[2]), let gid = UInt32(f[3]) else { return nil }
            return Entry(name: String(f[0]), passwordHash: String(f[1]), uid: uid, gid: gid, home: String(f[5]))
        }
    }
}

/// The system's own accounts as a read-only store (`auth-module = passwd`, and the source of
/// `vconvert -e`): the login accounts of `/etc/passwd` (uid 1000 up to but not 65534), with their
/// hash from `/etc/shadow`, gecos and home; the domain argument is ignored.
public final class PasswdStore: AccountStore {
    public let passwdFile: String
    public let shadowFile: String

    public init(passwdFile: String = "/etc/passwd", shadowFile: String = "/etc/shadow") {
        self.passwdFile = passwdFile
        self.shadowFile = shadowFile
    }

    func account(from e: SystemUsers.Entry, gecos: String) -> Account {
        var hash = e.passwordHash
        if hash == "x" || hash == "*" { hash = SystemUsers.shadowHash(e.name, shadowFile: shadowFile) ?? "" }
        return Account(name: e.name.lowercased(), passwordHash: hash, apopMarker: 1, flags: [], gecos: gecos,
                       home: e.home, quota: "NOQUOTA", clearPassword: nil)
    }

    func entries() -> [(SystemUsers.Entry, String)] {
        guard let text = try? FS.readText(passwdFile) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 7, let uid = UInt32(f[2]), let gid = UInt32(f[3]), uid >= 1000, uid != 65534 else { return nil }
            let gecos = String(f[4].prefix(while: { $0 != "," }))
            return (SystemUsers.Entry(name: String(f[0]), passwordHash: String(f[1]), uid: uid, gid: gid, home: String(f[5])), gecos)
        }
    }

    public func lock(domain d: DomainInfo) throws(VpopmailError) -> FileLock {
        try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(d.dir + "/.vpasswd.lock", owner: d.owner) }
    }

    public func account(_ name: String, in d: DomainInfo) throws(VpopmailError) -> Account? {
        entries().first { $0.0.name.lowercased() == name }.map { account(from: $0.0, gecos: $0.1) }
    }

    public func accounts(in d: DomainInfo) throws(VpopmailError) -> [Account] {
        entries().map { account(from: $0.0, gecos: $0.1) }.sorted { $0.name < $1.name }
    }

    static let readOnly = VpopmailError(.notSupported, "/etc/passwd accounts are read-only: change them with the system's tools")
    public func insert(_ accounts: [Account], in d: DomainInfo) throws(VpopmailError) { throw PasswdStore.readOnly }
    public func update(_ a: Account, in d: DomainInfo, rebuildIndex: Bool) throws(VpopmailError) { throw PasswdStore.readOnly }
    public func remove(_ name: String, in d: DomainInfo) throws(VpopmailError) -> Bool { throw PasswdStore.readOnly }
    public func rebuildIndex(in d: DomainInfo) throws(VpopmailError) {}
}
