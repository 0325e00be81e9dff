// libvpopmail: upstream 5.6's C interface on the library. Every entry point here is a thin
// client of VpopmailCore, like the commands: it converts C strings, calls the same library
// function a command calls (same checks, locks, hooks), and converts the answer back into
// upstream's return codes and static storage. docs/c-api.md lists the entries.
import CVpopmail
import StoreFiles
import StoreMySQL
import StorePasswd
import StorePostgres
import StoreSQLite
import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// The stores a C client reaches: every driver, `auth-module` picks one.
let drivers: [any StoreDriver.Type] = [FilesDriver.self, PasswdDriver.self, MySQLDriver.self, PostgresDriver.self, SQLiteDriver.self]

/// What the library keeps between calls (upstream's statics): the open installation and the
/// iterators. Clients call from one thread, as upstream requires.
final class LibState {
    var installation: Installation?
    var getall: (domain: String, accounts: [Account], next: Int, limits: DomainLimits)?
    var aliasLines: [String] = []
    var aliasNext = 0
    var allAliases: [(alias: String, line: String)] = []
    var allAliasesNext = 0
    var aliasNames: [String] = []
    var aliasNamesNext = 0
    var domainEntries: [DomainInfo] = []
    var domainEntriesNext = 0
    var ipMap: [(ip: String, domain: String)] = []
    var ipMapNext = 0
    var assignCache: (name: String, info: DomainInfo)?
}

nonisolated(unsafe) let lib = LibState()

/// The installation the archive was laid out for (install.sh compiles its directory in); its
/// stores are opened on first use and stay open until `vclose()`.
func installation() throws(VpopmailError) -> Installation {
    if let v = lib.installation { return v }
    let home = String(cString: vpopmail_lib_home_dir())
    let location = try Installation.locate(home: home, qmailDir: nil)
    guard let driver = location.driver(among: drivers) else {
        throw VpopmailError(.badConfig, "auth-module \(location.config.authModule) is not a store of libvpopmail")
    }
    // A program links the client library of its installation's store only (etc/lib_deps).
    let store = "\(location.config.authModule)"
    guard store.withCString({ vpopmail_lib_have_client($0) }) != 0 else {
        throw VpopmailError(.noAuthConnection, "auth-module \(store): this program was linked without its client library (relink with etc/lib_deps)")
    }
    let v = try location.open(driver)
    // The audit log names the C program (qmailadmin: a CGI, its client in REMOTE_ADDR).
    var actor = AuditActor.process()
    let comm = (try? FS.readText("/proc/self/comm")).map { $0.split(separator: "\n").first.map(String.init) ?? "" } ?? ""
    actor.via = "capi:\(comm.isEmpty ? "program" : comm)"
    if let ip = Proc.env("REMOTE_ADDR") { actor.from = ip }
    v.auditActor = actor
    lib.installation = v
    return v
}

/// Runs a library call and returns upstream's code: 0, or the `VA_*` code of the error.
func code(_ body: () throws(VpopmailError) -> Void) -> Int32 {
    do throws(VpopmailError) {
        try body()
        return 0
    } catch {
        return error.code.rawValue
    }
}

/// A C string argument; nil for NULL.
func str(_ p: UnsafePointer<CChar>?) -> String? {
    guard let p else { return nil }
    return String(cString: p)
}

func str(_ p: UnsafeMutablePointer<CChar>?) -> String? {
    guard let p else { return nil }
    return String(cString: p)
}

/// A C string argument that must be there (`VA_NULL_POINTER` otherwise).
func arg(_ p: UnsafeMutablePointer<CChar>?) throws(VpopmailError) -> String {
    guard let p else { throw VpopmailError(.nullPointer) }
    return String(cString: p)
}

func arg(_ p: UnsafePointer<CChar>?) throws(VpopmailError) -> String {
    guard let p else { throw VpopmailError(.nullPointer) }
    return String(cString: p)
}

/// Copies `s` into a caller's buffer of `size` bytes (truncated, always NUL-terminated).
func copy(_ s: String, into buf: UnsafeMutablePointer<CChar>?, size: Int) {
    guard let buf, size > 0 else { return }
    let bytes = Array(s.utf8.prefix(size - 1))
    for (i, b) in bytes.enumerated() { buf[i] = CChar(bitPattern: b) }
    buf[bytes.count] = 0
}

/// Static storage for one returned string: a fixed buffer the next call overwrites, writable
/// by the client (upstream's `static char buf[...]`).
final class StaticString {
    let capacity: Int
    let buffer: UnsafeMutablePointer<CChar>

    init(_ capacity: Int) {
        self.capacity = capacity
        buffer = .allocate(capacity: capacity)
        buffer.initialize(repeating: 0, count: capacity)
    }

    func set(_ s: String) -> UnsafeMutablePointer<CChar> {
        copy(s, into: buffer, size: capacity)
        return buffer
    }
}

/// A `struct vqpasswd` in static storage, its strings in buffers of their own.
final class StaticPasswd {
    let pw: UnsafeMutablePointer<vqpasswd>
    let name = StaticString(Int(MAX_BUFF))
    let passwd = StaticString(Int(MAX_BUFF))
    let gecos = StaticString(Int(MAX_BUFF))
    let dir = StaticString(Int(MAX_BUFF))
    let shell = StaticString(Int(MAX_BUFF))
    let clear = StaticString(Int(MAX_BUFF))

    init() {
        pw = .allocate(capacity: 1)
        pw.initialize(to: vqpasswd())
    }

    func fill(_ a: Account, flags: AccountFlags) -> UnsafeMutablePointer<vqpasswd> {
        pw.pointee.pw_name = name.set(a.name)
        pw.pointee.pw_passwd = passwd.set(a.passwordHash)
        pw.pointee.pw_uid = a.apopMarker
        pw.pointee.pw_gid = a.flags.rawValue
        pw.pointee.pw_flags = flags.rawValue
        pw.pointee.pw_gecos = gecos.set(a.gecos)
        pw.pointee.pw_dir = dir.set(a.home)
        pw.pointee.pw_shell = shell.set(a.quota.spelling)
        pw.pointee.pw_clear_passwd = clear.set(a.clearPassword ?? "")
        return pw
    }
}

nonisolated(unsafe) let getpwSlot = StaticPasswd()
nonisolated(unsafe) let getallSlot = StaticPasswd()

/// The account record of a C struct (every field read; NULL strings are empty).
func account(of p: UnsafeMutablePointer<vqpasswd>) -> Account {
    let q = p.pointee
    return Account(name: str(q.pw_name) ?? "", passwordHash: str(q.pw_passwd) ?? "", apopMarker: q.pw_uid,
                   flags: AccountFlags(rawValue: q.pw_gid), gecos: str(q.pw_gecos) ?? "", home: str(q.pw_dir) ?? "",
                   quota: Quota(stored: str(q.pw_shell) ?? ""), clearPassword: str(q.pw_clear_passwd))
}

/// The domain a call names: NULL or empty is the default domain.
func domainName(_ v: Installation, _ p: UnsafeMutablePointer<CChar>?) -> String {
    let d = (str(p) ?? "").lowercased()
    return d.isEmpty ? v.defaultDomain(localIP: Proc.env("TCPLOCALIP")) : d
}

/// Whether this process may read and change a domain's accounts: root, or the domain's owner
/// (upstream's euid check in vauth_getpw/vauth_setpw).
func mayAccess(_ d: DomainInfo) -> Bool {
    let e = geteuid()
    return e == 0 || e == d.uid
}
