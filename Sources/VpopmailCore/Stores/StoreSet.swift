/// The stores of one installation, one per concern, as a driver opened them.
public struct StoreSet {
    public var accounts: any AccountStore
    public var aliases: any AliasStore
    public var limits: any LimitsStore
    public var lastAuth: any LastAuthStore
    public var dirControl: any DirControlStore
    public var ipMap: any IPMapStore
    public var relay: any RelayStore
    /// Authentication events besides syslog (`sql-logging = y`), nil when not kept.
    public var authLog: (any AuthLog)?
    /// The tables of an SQL store, for `vconvert --upgrade`; nil for the files.
    public var schema: (any SchemaStore)?

    public init(accounts: any AccountStore, aliases: any AliasStore, limits: any LimitsStore, lastAuth: any LastAuthStore,
                dirControl: any DirControlStore, ipMap: any IPMapStore, relay: any RelayStore, authLog: (any AuthLog)? = nil,
                schema: (any SchemaStore)? = nil) {
        self.schema = schema
        self.accounts = accounts
        self.aliases = aliases
        self.limits = limits
        self.lastAuth = lastAuth
        self.dirControl = dirControl
        self.ipMap = ipMap
        self.relay = relay
        self.authLog = authLog
    }
}

/// What a driver needs to open its stores.
public struct StoreContext {
    /// `~vpopmail`.
    public let home: String
    public let config: Config
    /// The vpopmail user's uid and gid, asked only by a store that creates a file of its own
    /// (vchkpw and vdelivermail never read /etc/passwd for them).
    public let owner: () -> (uid: UInt32, gid: UInt32)

    public init(home: String, config: Config, owner: @escaping () -> (uid: UInt32, gid: UInt32)) {
        self.home = home
        self.config = config
        self.owner = owner
    }

    public var etcDir: String { home + "/etc" }
    /// The directory that holds the domains (`<home>/<domains-dir>`).
    public var domainsRoot: String { home + "/" + config.domainsDir }
}

/// A kind of account store, named by `auth-module` in vpopmail.conf. Each driver lives in its
/// own folder under `Sources/Stores/`; an executable links the drivers it passes to its
/// program (`Sources/Stores/README.md` says how to add one).
public protocol StoreDriver {
    /// The `auth-module` value.
    static var name: StoreName { get }
    /// Opens the stores of an installation.
    static func open(_ context: StoreContext) throws(VpopmailError) -> StoreSet
}

/// A store's name as `auth-module` gives it: lower-case letters and digits, at most 16.
public struct StoreName: Hashable, Sendable, CustomStringConvertible {
    public let text: String

    /// Nil when `s` is not a well-formed store name.
    public init?(_ s: String) {
        let t = s.lowercased()
        guard !t.isEmpty, t.utf8.count <= 16, t.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) }),
              let first = t.utf8.first, first >= 97 else { return nil }
        text = t
    }

    private init(known: String) { text = known }

    /// The classic cdb files (`vpasswd`, `vpasswd.cdb`), the embedded default.
    public static let cdb = StoreName(known: "cdb")
    /// The system's own accounts (`/etc/passwd`, `/etc/shadow`).
    public static let passwd = StoreName(known: "passwd")

    public var description: String { text }
}

/// One table of an SQL store as the server describes it.
public struct TableState: Sendable, Equatable {
    public var name: String
    /// The storage engine (MySQL: `InnoDB`, `MyISAM`, `Aria`, ...); nil where there is no choice.
    public var engine: String?
    public var hasPrimaryKey: Bool
    /// Whether the server replicates and locks its rows transactionally: what many hosts on one
    /// database (Galera, row locks) need.
    public var transactional: Bool { engine.map { $0.lowercased() == "innodb" } ?? true }

    public init(name: String, engine: String?, hasPrimaryKey: Bool) {
        self.name = name
        self.engine = engine
        self.hasPrimaryKey = hasPrimaryKey
    }
}

/// The tables of an SQL store (`vconvert --upgrade`).
public protocol SchemaStore: AnyObject {
    /// vpopmail's tables in the database: upstream's and ours, and the user tables.
    func tables() throws(VpopmailError) -> [TableState]
    /// Makes the table transactional (MySQL: `ENGINE=InnoDB`).
    func makeTransactional(_ table: String) throws(VpopmailError)
    /// Gives the table the primary key of this project's layout, when it has one that no
    /// reader depends on (`valias.id`); false when the table has none to give. `dryRun`: only
    /// whether it would.
    func addPrimaryKey(_ table: String, dryRun: Bool) throws(VpopmailError) -> Bool
}
