#if canImport(Glibc)
import Glibc
#endif

/// One vpopmail installation: its home (`~vpopmail`), configuration, qmail directory and the
/// stores its driver opened. The operations the programs call are extensions in this folder
/// (domains, mailboxes, aliases, limits, IP map, relay, domain resolution); each validates
/// everything before it changes anything, takes the lock that serialises it, and writes every
/// file atomically.
public final class Installation {
    public let home: String
    public let config: Config
    public let qmail: QmailControl
    public let stores: StoreSet
    /// The vpopmail user's uid and primary gid (`vpopuser`), owners of new domains by default.
    /// Resolved on first use (vchkpw and vdelivermail never need them).
    public lazy var vpopIDs: (uid: UInt32, gid: UInt32) = Installation.vpopIDs(config)

    static func vpopIDs(_ config: Config) -> (uid: UInt32, gid: UInt32) {
        if let u = SystemUsers.user(config.vpopUser) { return (u.uid, u.gid) }
        return (89, SystemUsers.groupID(config.vpopGroup) ?? 89)
    }
    public var vpopUID: UInt32 { vpopIDs.uid }
    public var vpopGID: UInt32 { vpopIDs.gid }

    public var etcDir: String { home + "/etc" }
    public var binDir: String { home + "/bin" }
    /// The directory that holds the domains (`<home>/<domains-dir>`).
    public var domainsRoot: String { home + "/" + config.domainsDir }
    /// Who the audit log says makes this installation's changes (Audit.swift).
    public lazy var auditActor: AuditActor = AuditActor.process()
    /// Set while a change is part of another (vadddomain's postmaster): no onchange events.
    public var suppressChangeHooks = false
    public var sync: Bool { config.fileSync }
    /// The delivery's sync mode (`off` when `file-sync = n`).
    public var deliverySync: DeliverySync { config.fileSync ? config.deliverySync : .off }

    /// An installation on `stores` (tests pass in-memory stores).
    public init(home: String, config: Config, qmailDir: String? = nil, stores: StoreSet) {
        self.home = home
        self.config = config
        qmail = QmailControl(qmailDir: qmailDir ?? config.qmailDir, cdbName: config.qmailCdbName, sync: config.fileSync,
                             newuProgram: config.qmailNewu ?? "", newmrhProgram: config.qmailNewmrh ?? "")
        self.stores = stores
    }

    /// An installation on the stores `driver` opens.
    public convenience init(home: String, config: Config, qmailDir: String? = nil, driver: any StoreDriver.Type) throws(VpopmailError) {
        let context = StoreContext(home: home, config: config) { Installation.vpopIDs(config) }
        self.init(home: home, config: config, qmailDir: qmailDir, stores: try driver.open(context))
    }

    /// The installation the running program belongs to (`locateHome`), its configuration
    /// read, and `$QMAILDIR` when set.
    public struct Location {
        public let home: String
        public let config: Config
        public let qmailDir: String?

        /// The driver of `auth-module` among `drivers`, nil when this executable lacks it.
        public func driver(among drivers: [any StoreDriver.Type]) -> (any StoreDriver.Type)? {
            drivers.first { $0.name == config.authModule }
        }

        public func open(_ driver: any StoreDriver.Type, authModule: StoreName? = nil) throws(VpopmailError) -> Installation {
            var c = config
            if let authModule { c.authModule = authModule }
            return try Installation(home: home, config: c, qmailDir: qmailDir, driver: driver)
        }
    }

    /// `$VPOPMAIL_HOME`, else the directory above the executable's `bin/`, else
    /// `/home/vpopmail`; `<home>/etc/vpopmail.conf` parsed (missing: the defaults).
    public static func locate() throws(VpopmailError) -> Location {
        try locate(home: locateHome(), qmailDir: Proc.env("QMAILDIR").flatMap { $0.isEmpty ? nil : $0 })
    }

    /// The installation at `home`, without looking at the environment (libvpopmail: its clients
    /// run setuid with a web server's environment, and use the directory they were built for).
    public static func locate(home: String, qmailDir: String?) throws(VpopmailError) -> Location {
        let confPath = home + "/etc/vpopmail.conf"
        var config = Config()
        if let bytes = try sys({ () throws(SystemError) in try FS.readIfExists(confPath) }) {
            config = try Config.parse(bytes: bytes, file: confPath)
        }
        return Location(home: home, config: config, qmailDir: qmailDir)
    }

    public static func locateHome() -> String {
        if let h = Proc.env("VPOPMAIL_HOME"), !h.isEmpty { return h }
        // <home>/bin/<program>, on the bytes of /proc/self/exe (every vchkpw and vdelivermail run
        // comes here).
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        if n > 0 {
            var slash = n - 1
            while slash > 0 && buf[slash] != UInt8(ascii: "/") { slash -= 1 }  // before <program>
            var start = slash
            while start > 0 && buf[start - 1] != UInt8(ascii: "/") { start -= 1 }  // start of bin
            if slash - start == 3 && buf[start] == UInt8(ascii: "b") && buf[start + 1] == UInt8(ascii: "i")
                && buf[start + 2] == UInt8(ascii: "n") && start > 0 {
                return start == 1 ? "/" : String(decoding: buf[0..<(start - 1)], as: UTF8.self)
            }
        }
        return "/home/vpopmail"
    }
}
