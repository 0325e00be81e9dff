#if canImport(Glibc)
import Glibc
#endif

/// The tables an SQL store keeps besides the accounts (reference §9): last logins, the user
/// hashing state, roaming-user relay addresses, the IP map, and (when configured) aliases,
/// limits and the alias-domain list. With the cdb store these live in files instead; the
/// `Vpopmail` API asks `store.tables` and uses the files when it is nil, or when a `keeps...`
/// property says the store leaves that part to the files.
public protocol StoreTables: AnyObject {
    /// A real domain was added: create what the layout needs (per-domain table).
    func domainAdded(_ domain: String) throws(VpopmailError)
    /// A real domain was deleted: its accounts and every row that names it.
    func domainDeleted(_ domain: String) throws(VpopmailError)
    func aliasDomainAdded(alias: String, real: String) throws(VpopmailError)
    func aliasDomainDeleted(alias: String) throws(VpopmailError)

    func lastAuth(user: String, domain: String) throws(VpopmailError) -> (time: Int, ip: String)?
    func setLastAuth(user: String, domain: String, ip: String, time: Int) throws(VpopmailError)
    /// Every last login of a domain in one query (vdeloldusers, vconvert), by user.
    func lastAuths(domain: String) throws(VpopmailError) -> [String: (time: Int, ip: String)]
    /// Many last logins in one transaction (vconvert).
    func setLastAuths(_ entries: [(user: String, ip: String, time: Int)], domain: String) throws(VpopmailError)

    /// `domain` is a domain name for user hashing, `dom_<uid>` for domain hashing.
    func dirControl(_ key: String) throws(VpopmailError) -> DirControl?
    func setDirControl(_ key: String, _ dc: DirControl) throws(VpopmailError)
    func deleteDirControl(_ key: String) throws(VpopmailError)

    /// Records a login address; true when it was not open before.
    func openRelay(ip: String, time: Int) throws(VpopmailError) -> Bool
    func relayAddresses() throws(VpopmailError) -> [(ip: String, time: Int)]
    func clearRelay(olderThan: Int) throws(VpopmailError)

    func ipMap() throws(VpopmailError) -> [(ip: String, domain: String)]
    func addIPMap(ip: String, domain: String) throws(VpopmailError)
    func deleteIPMap(ip: String, domain: String) throws(VpopmailError)

    /// True when aliases live in the `valias` table (`valias = y`).
    var keepsAliases: Bool { get }
    func aliasNames(domain: String) throws(VpopmailError) -> [String]
    func aliasLines(_ alias: String, domain: String) throws(VpopmailError) -> [String]
    func addAliasLine(_ alias: String, domain: String, line: String) throws(VpopmailError)
    func removeAliasLine(_ alias: String, domain: String, line: String) throws(VpopmailError)
    func deleteAlias(_ alias: String, domain: String) throws(VpopmailError)

    /// True when limits live in the `limits` table (`mysql-limits = y`).
    var keepsLimits: Bool { get }
    func limits(domain: String) throws(VpopmailError) -> DomainLimits?
    func setLimits(_ l: DomainLimits, domain: String) throws(VpopmailError)
    func deleteLimits(domain: String) throws(VpopmailError)

    /// Writes one authentication event (`sql-logging = y`); never a password.
    func log(user: String, domain: String, logon: String, remoteIP: String, message: String, error: Bool) throws(VpopmailError)
}

/// The owner of files a store creates (the vpopmail user), asked only when one is created.
public typealias OwnerLookup = () -> (uid: UInt32, gid: UInt32)

/// Builds the store named by `auth-module` when it is not built into this executable.
public typealias StoreFactory = (_ home: String, _ config: Config, _ owner: @escaping OwnerLookup) throws(VpopmailError) -> AccountStore

/// The store factory of the SQL build (`vpopmail-sql`, `vchkpw-sql`, `vdelivermail-sql`); nil in
/// the cdb-only executables, which exec their SQL twin instead (`Vpopmail.open`).
nonisolated(unsafe) public var sqlStoreFactory: StoreFactory? = nil

/// The SQL stores this executable can open (`mysql`, `pgsql`, `sqlite`), filled in by the
/// drivers' `register()`; a program without the one `auth-module` names hands over to one that
/// has it (`Vpopmail.open`).
nonisolated(unsafe) public var sqlModulesAvailable: Set<String> = []

/// Called just before an executable hands over to its SQL twin (vchkpw puts fd 3 back,
/// vdelivermail rewinds stdin).
nonisolated(unsafe) public var beforeSQLHandover: (() -> Void)? = nil
