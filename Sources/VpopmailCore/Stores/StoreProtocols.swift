/// Where vpopmail keeps its state, one protocol per concern. A store driver (`StoreDriver`)
/// opens a `StoreSet` holding one of each: the file-backed driver keeps everything in the tree
/// (`vpasswd`/`vpasswd.cdb`, `.qmail-<alias>`, `.qmailadmin-limits`, `lastauth`,
/// `.dir-control`, `etc/ip_alias_map`, `etc/open-smtp`), an SQL driver keeps what its
/// configuration puts in tables and the rest in the same files. The services
/// (`Installation`, `Authenticator`, `Deliverer`) ask the set and never branch on the driver.
///
/// A read-modify-write that spans several calls runs inside `AccountStore.locked(domain:)`:
/// serialised against every writer of the domain on this host and, on the SQL stores, on every
/// host that shares the database (a row lock in the same transaction).

/// One run of a `locked(domain:)` body. What the body does outside the store (the homes it
/// makes) it registers with `onRollback`, so that a transaction the server aborts or that
/// fails to commit leaves nothing behind; the store may then run the body again from its start.
public final class StoreTransaction {
    private var undo: [() -> Void] = []

    public init() {}

    public func onRollback(_ f: @escaping () -> Void) { undo.append(f) }

    /// Runs the undo actions, newest first, once.
    public func rolledBack() {
        let u = undo
        undo = []
        for f in u.reversed() { f() }
    }
}

/// What every part of a store can say about itself.
public protocol StoreComponent: AnyObject {
    /// Where this part keeps its data: `files` for the tree, else the driver's name. Two parts
    /// with the same storage need no copying between them (vconvert).
    var storage: String { get }
}

/// The accounts of each domain (`struct vqpasswd` rows).
public protocol AccountStore: StoreComponent {
    /// This host's lock of one domain (held until released): for work that is not one
    /// transaction (a bulk copy, an index rebuild).
    func lock(domain: DomainInfo) throws(VpopmailError) -> FileLock
    /// Runs `body` as one read-modify-write of the domain, serialised against every other
    /// writer of it: by this host's lock (files), by a row lock in one transaction that spans
    /// the body (SQL, so that other mail hosts on the same database wait too). A body the
    /// server aborts (deadlock, a cluster's certification failure) is rolled back and run
    /// again, a bounded number of times.
    func locked<T>(domain: DomainInfo, _ body: (StoreTransaction) throws(VpopmailError) -> T) throws(VpopmailError) -> T
    /// One account, or nil.
    func account(_ name: UserName, in domain: DomainInfo) throws(VpopmailError) -> Account?
    /// All accounts of the domain, sorted by the bytes of their names.
    func accounts(in domain: DomainInfo) throws(VpopmailError) -> [Account]
    /// Adds accounts; throws `.usernameExists` (and adds none) when one is present.
    func insert(_ accounts: [Account], in domain: DomainInfo) throws(VpopmailError)
    /// Replaces the account with the same name; `.userDoesNotExist` when missing.
    func update(_ account: Account, in domain: DomainInfo, rebuildIndex: Bool) throws(VpopmailError)
    /// Removes an account; false when it was not there.
    func remove(_ name: UserName, in domain: DomainInfo) throws(VpopmailError) -> Bool
    /// Whether the store keeps a derived index (`vpasswd.cdb`) that `rebuildIndex` rebuilds.
    var keepsIndex: Bool { get }
    /// Rebuilds derived indexes (`vpasswd.cdb` from `vpasswd`).
    func rebuildIndex(in domain: DomainInfo) throws(VpopmailError)
    /// A real domain was added: create what the layout needs (a per-domain table).
    func domainAdded(_ domain: String) throws(VpopmailError)
    /// A real domain is being deleted: its accounts (its directory goes separately).
    func domainDeleted(_ domain: String) throws(VpopmailError)
    /// An alias domain was added or deleted (MySQL's `aliasdomains` table).
    func aliasDomainAdded(alias: String, real: String) throws(VpopmailError)
    func aliasDomainDeleted(alias: String) throws(VpopmailError)
    /// True when fields are stored between colons (`vpasswd`): a clear password may then not
    /// contain one.
    var colonSeparated: Bool { get }
    /// How many accounts one `insert` should carry in a bulk copy (vconvert's progress).
    var bulkBatch: Int { get }
}

extension AccountStore {
    public func locked<T>(domain d: DomainInfo, _ body: (StoreTransaction) throws(VpopmailError) -> T) throws(VpopmailError) -> T {
        let l = try lock(domain: d)
        defer { l.unlock() }
        let tx = StoreTransaction()
        do throws(VpopmailError) { return try body(tx) } catch {
            tx.rolledBack()
            throw error
        }
    }

    public func domainAdded(_ domain: String) throws(VpopmailError) {}
    public func domainDeleted(_ domain: String) throws(VpopmailError) {}
    public func aliasDomainAdded(alias: String, real: String) throws(VpopmailError) {}
    public func aliasDomainDeleted(alias: String) throws(VpopmailError) {}
    public var colonSeparated: Bool { false }
    public var keepsIndex: Bool { false }
    public func rebuildIndex(in domain: DomainInfo) throws(VpopmailError) {}
    public var bulkBatch: Int { 10_000 }
}

/// Forwarding aliases (`valias`): lines of `.qmail` syntax under a name of a domain.
public protocol AliasStore: StoreComponent {
    /// The alias names of a domain, sorted case-insensitively.
    func names(in domain: DomainInfo) throws(VpopmailError) -> [String]
    /// The lines of one alias, in order; empty when there is no such alias.
    func lines(of alias: String, in domain: DomainInfo) throws(VpopmailError) -> [String]
    /// Appends one line.
    func addLine(_ line: String, to alias: String, in domain: DomainInfo) throws(VpopmailError)
    /// Removes every line equal to one of `lines`.
    func removeLines(_ lines: [String], from alias: String, in domain: DomainInfo) throws(VpopmailError)
    /// Deletes the alias and its lines.
    func delete(_ alias: String, in domain: DomainInfo) throws(VpopmailError)
    /// Whether vdelivermail must look aliases up itself: qmail-local finds `.qmail-<alias>`
    /// files on its own, but not rows in a table.
    var needsLookupAtDelivery: Bool { get }
    /// Forgets every alias of a domain that is being deleted.
    func domainDeleted(_ domain: DomainInfo) throws(VpopmailError)
}

/// A domain's own limits (`.qmailadmin-limits` or a `limits` row); the defaults
/// (`etc/vlimits.default`) are a file in every layout.
public protocol LimitsStore: StoreComponent {
    /// The domain's own limits, nil when it has none.
    func limits(of domain: DomainInfo) throws(VpopmailError) -> DomainLimits?
    func setLimits(_ limits: DomainLimits, of domain: DomainInfo) throws(VpopmailError)
    func deleteLimits(of domain: DomainInfo) throws(VpopmailError)
    func domainDeleted(_ domain: DomainInfo) throws(VpopmailError)
}

/// When and from where each account last logged in. An account's creation is recorded as a
/// login from `0.0.0.0` ("never logged in").
public protocol LastAuthStore: StoreComponent {
    /// Time and address of the last login, nil when none is recorded.
    func lastAuth(of account: Account, in domain: DomainInfo) throws(VpopmailError) -> LastAuth?
    /// Records a login (`time` nil: now).
    func setLastAuth(of account: Account, in domain: DomainInfo, ip: String, time: Int?) throws(VpopmailError)
    /// Every last login of a domain at once when the store can answer in one query, else nil
    /// (ask per account).
    func lastAuths(in domain: DomainInfo) throws(VpopmailError) -> [String: LastAuth]?
    /// Many logins at once (vconvert).
    func setLastAuths(_ entries: [(account: Account, auth: LastAuth)], in domain: DomainInfo) throws(VpopmailError)
    /// Forgets the last login of a deleted account.
    func forget(_ account: Account, in domain: DomainInfo) throws(VpopmailError)
    func domainDeleted(_ domain: DomainInfo) throws(VpopmailError)
}

/// A recorded login.
public struct LastAuth: Sendable, Equatable {
    public var time: Int
    public var ip: String
    public init(time: Int, ip: String) {
        self.time = time
        self.ip = ip
    }
    /// `0.0.0.0` or no address: the account never logged in (the time is its creation).
    public var neverLoggedIn: Bool { ip.isEmpty || ip == "0.0.0.0" }
}

/// Which hashing state (`.dir-control`).
public enum DirControlKey: Sendable, Equatable {
    /// The user buckets of a domain.
    case users(DomainInfo)
    /// The domain buckets under a domains directory (`root`) for the domains of `uid`.
    case domains(root: String, uid: UInt32)
}

/// The state of the adaptive directory hashing (`DirControl`).
public protocol DirControlStore: StoreComponent {
    /// The state, the initial one when none is stored.
    func load(_ key: DirControlKey) throws(VpopmailError) -> DirControl
    func save(_ state: DirControl, _ key: DirControlKey, owner: (uid: UInt32, gid: UInt32)) throws(VpopmailError)
    /// Whether the state of `key` is stored (a missing `.dir-control` file means none).
    func exists(_ key: DirControlKey) -> Bool
    func domainDeleted(_ domain: DomainInfo) throws(VpopmailError)
}

/// `vipmap`: server addresses mapped to domains (logins without a domain).
public protocol IPMapStore: StoreComponent {
    func entries() throws(VpopmailError) -> [(ip: String, domain: String)]
    func add(ip: String, domain: String) throws(VpopmailError)
    func delete(ip: String, domain: String) throws(VpopmailError)
}

/// Roaming users: client addresses open for relaying after a login, with the time.
public protocol RelayStore: StoreComponent {
    /// Records a login address at `time`; true when it was not open before.
    func open(ip: String, time: Int) throws(VpopmailError) -> Bool
    /// The open addresses, in the order the rules list them.
    func addresses() throws(VpopmailError) -> [(ip: String, time: Int)]
    /// Drops addresses opened before `time` (and entries without a time).
    func clear(openedBefore time: Int) throws(VpopmailError)
}

/// One authentication event for a log table (`sql-logging = y`). Never carries a password.
public struct AuthEvent: Sendable {
    public var user: String
    public var domain: String
    public var login: String
    public var remoteIP: String
    public var message: String
    public var isError: Bool
    public init(user: String, domain: String, login: String, remoteIP: String, message: String, isError: Bool) {
        self.user = user
        self.domain = domain
        self.login = login
        self.remoteIP = remoteIP
        self.message = message
        self.isError = isError
    }
}

/// Where authentication events are recorded besides syslog.
public protocol AuthLog: StoreComponent {
    func record(_ event: AuthEvent) throws(VpopmailError)
}
