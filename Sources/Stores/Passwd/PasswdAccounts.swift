import StoreFiles
import VpopmailCore

/// The system's own accounts as a read-only store (`auth-module = passwd`, and the source of
/// `vconvert -e`): the login accounts of `/etc/passwd` (uid 1000 up to but not 65534), with their
/// hash from `/etc/shadow`, gecos and home; the domain argument is ignored.
public final class PasswdAccounts: AccountStore {
    public let passwdFile: String
    public let shadowFile: String

    public init(passwdFile: String = "/etc/passwd", shadowFile: String = "/etc/shadow") {
        self.passwdFile = passwdFile
        self.shadowFile = shadowFile
    }

    public var storage: String { "passwd" }

    func account(from e: SystemUsers.Entry, gecos: String) -> Account {
        var hash = e.passwordHash
        if hash == "x" || hash == "*" { hash = SystemUsers.shadowHash(e.name, shadowFile: shadowFile) ?? "" }
        return Account(name: e.name.lowercased(), passwordHash: hash, apopMarker: 1, flags: [], gecos: gecos,
                       home: e.home, quota: .none, clearPassword: nil)
    }

    func entries() -> [(SystemUsers.Entry, String)] {
        guard let text = try? FS.readText(passwdFile) else { return [] }
        return Bytes.textLines(text).compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 7, let uid = UInt32(f[2]), let gid = UInt32(f[3]), uid >= 1000, uid != 65534 else { return nil }
            let gecos = String(f[4].prefix(while: { $0 != "," }))
            return (SystemUsers.Entry(name: String(f[0]), passwordHash: String(f[1]), uid: uid, gid: gid, home: String(f[5])), gecos)
        }
    }

    public func lock(domain d: DomainInfo) throws(VpopmailError) -> FileLock {
        try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(d.dir + "/.vpasswd.lock", owner: d.owner) }
    }

    public func account(_ name: UserName, in d: DomainInfo) throws(VpopmailError) -> Account? {
        entries().first { $0.0.name.lowercased() == name.text }.map { account(from: $0.0, gecos: $0.1) }
    }

    public func accounts(in d: DomainInfo) throws(VpopmailError) -> [Account] {
        entries().map { account(from: $0.0, gecos: $0.1) }.sorted { $0.name < $1.name }
    }

    static let readOnly = VpopmailError(.notSupported, "/etc/passwd accounts are read-only: change them with the system's tools")
    public func insert(_ accounts: [Account], in d: DomainInfo) throws(VpopmailError) { throw PasswdAccounts.readOnly }
    public func update(_ a: Account, in d: DomainInfo, rebuildIndex: Bool) throws(VpopmailError) { throw PasswdAccounts.readOnly }
    public func remove(_ name: UserName, in d: DomainInfo) throws(VpopmailError) -> Bool { throw PasswdAccounts.readOnly }
}

/// `auth-module = passwd`: the system's accounts are the only ones (read-only); everything
/// else is in the files of the tree.
public enum PasswdDriver: StoreDriver {
    public static var name: StoreName { .passwd }

    public static func open(_ c: StoreContext) throws(VpopmailError) -> StoreSet {
        FilesDriver.stores(c, accounts: PasswdAccounts())
    }
}
