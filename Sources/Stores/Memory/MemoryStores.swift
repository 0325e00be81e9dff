import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// Every store kept in memory, for tests in one process: the store conformance suite runs
/// against it beside the real drivers, and the login and delivery outcomes are tested on it.
/// Homes, Maildirs and the qmail control files stay on disk as with every driver. The stores of
/// one installation home live as long as the process (`MemoryDriver` opens the same ones again).
public final class MemoryStores: AccountStore, AliasStore, LimitsStore, LastAuthStore, DirControlStore, IPMapStore, RelayStore, AuthLog {
    public var storage: String { "memory" }

    var accountRows: [String: [String: Account]] = [:]
    var aliasRows: [String: [(alias: String, line: String)]] = [:]
    var limitRows: [String: DomainLimits] = [:]
    var lastAuthRows: [String: [String: LastAuth]] = [:]
    var dirControlRows: [String: DirControl] = [:]
    var ipMapRows: [(ip: String, domain: String)] = []
    var relayRows: [(ip: String, time: Int)] = []
    /// The authentication events recorded, in order.
    public private(set) var events: [AuthEvent] = []
    public init() {}

    /// The set of these stores.
    public var set: StoreSet {
        StoreSet(accounts: self, aliases: self, limits: self, lastAuth: self, dirControl: self, ipMap: self, relay: self, authLog: self)
    }

    // MARK: AccountStore

    public func lock(domain d: DomainInfo) throws(VpopmailError) -> FileLock {
        try sys(.couldNotUpdateFile) { () throws(SystemError) in try FileLock(d.dir + "/.vpasswd.lock") }
    }

    public func account(_ name: UserName, in d: DomainInfo) throws(VpopmailError) -> Account? { accountRows[d.realDomain]?[name.text] }

    public func accounts(in d: DomainInfo) throws(VpopmailError) -> [Account] {
        (accountRows[d.realDomain] ?? [:]).values.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
    }

    public func insert(_ accounts: [Account], in d: DomainInfo) throws(VpopmailError) {
        var rows = accountRows[d.realDomain] ?? [:]
        for a in accounts {
            if rows[a.name] != nil { throw VpopmailError(.usernameExists, "Username exists: \(a.name)") }
            rows[a.name] = a
        }
        accountRows[d.realDomain] = rows
    }

    public func update(_ a: Account, in d: DomainInfo, rebuildIndex: Bool) throws(VpopmailError) {
        guard accountRows[d.realDomain]?[a.name] != nil else { throw VpopmailError(.userDoesNotExist) }
        accountRows[d.realDomain]![a.name] = a
    }

    public func remove(_ name: UserName, in d: DomainInfo) throws(VpopmailError) -> Bool {
        accountRows[d.realDomain]?.removeValue(forKey: name.text) != nil
    }

    public func domainDeleted(_ domain: String) throws(VpopmailError) { accountRows[domain] = nil }

    // MARK: AliasStore

    public var needsLookupAtDelivery: Bool { true }

    public func names(in d: DomainInfo) throws(VpopmailError) -> [String] {
        var seen = Set<String>()
        return (aliasRows[d.realDomain] ?? []).map(\.alias).filter { seen.insert($0).inserted }.sorted { $0.lowercased() < $1.lowercased() }
    }

    public func lines(of alias: String, in d: DomainInfo) throws(VpopmailError) -> [String] {
        (aliasRows[d.realDomain] ?? []).filter { $0.alias == alias }.map(\.line)
    }

    public func addLine(_ line: String, to alias: String, in d: DomainInfo) throws(VpopmailError) {
        aliasRows[d.realDomain, default: []].append((alias, line))
    }

    public func removeLines(_ lines: [String], from alias: String, in d: DomainInfo) throws(VpopmailError) {
        aliasRows[d.realDomain]?.removeAll { $0.alias == alias && lines.contains($0.line) }
    }

    public func delete(_ alias: String, in d: DomainInfo) throws(VpopmailError) {
        aliasRows[d.realDomain]?.removeAll { $0.alias == alias }
    }

    // MARK: LimitsStore

    public func limits(of d: DomainInfo) throws(VpopmailError) -> DomainLimits? { limitRows[d.realDomain] }
    public func setLimits(_ l: DomainLimits, of d: DomainInfo) throws(VpopmailError) { limitRows[d.realDomain] = l }
    public func deleteLimits(of d: DomainInfo) throws(VpopmailError) { limitRows[d.realDomain] = nil }

    // MARK: LastAuthStore

    public func lastAuth(of a: Account, in d: DomainInfo) throws(VpopmailError) -> LastAuth? { lastAuthRows[d.realDomain]?[a.name] }

    public func setLastAuth(of a: Account, in d: DomainInfo, ip: String, time when: Int?) throws(VpopmailError) {
        lastAuthRows[d.realDomain, default: [:]][a.name] = LastAuth(time: when ?? Int(time(nil)), ip: ip)
    }

    public func lastAuths(in d: DomainInfo) throws(VpopmailError) -> [String: LastAuth]? { lastAuthRows[d.realDomain] ?? [:] }

    public func setLastAuths(_ entries: [(account: Account, auth: LastAuth)], in d: DomainInfo) throws(VpopmailError) {
        for e in entries { lastAuthRows[d.realDomain, default: [:]][e.account.name] = e.auth }
    }

    public func forget(_ a: Account, in d: DomainInfo) throws(VpopmailError) { lastAuthRows[d.realDomain]?[a.name] = nil }

    // MARK: DirControlStore

    static func key(_ k: DirControlKey) -> String {
        switch k {
        case .users(let d): return d.realDomain
        case .domains(let root, let uid): return "dom_\(uid)@\(root)"
        }
    }

    public func load(_ k: DirControlKey) throws(VpopmailError) -> DirControl { dirControlRows[MemoryStores.key(k)] ?? DirControl() }
    public func save(_ s: DirControl, _ k: DirControlKey, owner: (uid: UInt32, gid: UInt32)) throws(VpopmailError) {
        dirControlRows[MemoryStores.key(k)] = s
    }
    public func exists(_ k: DirControlKey) -> Bool { dirControlRows[MemoryStores.key(k)] != nil }

    /// Everything of a deleted domain (each part of the set asks once).
    public func domainDeleted(_ d: DomainInfo) throws(VpopmailError) {
        aliasRows[d.realDomain] = nil
        limitRows[d.realDomain] = nil
        lastAuthRows[d.realDomain] = nil
        dirControlRows[d.realDomain] = nil
    }

    // MARK: IPMapStore

    public func entries() throws(VpopmailError) -> [(ip: String, domain: String)] { ipMapRows.sorted { $0.ip < $1.ip } }
    public func add(ip: String, domain: String) throws(VpopmailError) {
        ipMapRows.removeAll { $0.ip == ip }
        ipMapRows.append((ip, domain))
    }
    public func delete(ip: String, domain: String) throws(VpopmailError) { ipMapRows.removeAll { $0.ip == ip && $0.domain == domain } }

    // MARK: RelayStore

    public func open(ip: String, time: Int) throws(VpopmailError) -> Bool {
        let known = relayRows.contains { $0.ip == ip }
        relayRows.removeAll { $0.ip == ip }
        relayRows.append((ip, time))
        return !known
    }

    public func addresses() throws(VpopmailError) -> [(ip: String, time: Int)] { relayRows.sorted { $0.ip < $1.ip } }
    public func clear(openedBefore cutoff: Int) throws(VpopmailError) { relayRows.removeAll { $0.time <= cutoff } }

    // MARK: AuthLog

    public func record(_ e: AuthEvent) throws(VpopmailError) { events.append(e) }
}

/// `auth-module = memory`: the in-memory stores of the installation's home, kept for the life
/// of the process (tests only).
public enum MemoryDriver: StoreDriver {
    public static var name: StoreName { StoreName("memory")! }

    nonisolated(unsafe) static var opened: [String: MemoryStores] = [:]
    nonisolated(unsafe) static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()

    public static func open(_ c: StoreContext) throws(VpopmailError) -> StoreSet {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        if let s = opened[c.home] { return s.set }
        let s = MemoryStores()
        opened[c.home] = s
        return s.set
    }
}
