import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// A program built without the store `auth-module` names runs its twin that has it, with the
/// same arguments: `vchkpw-<store>`, `vdelivermail-<store>`, `vpopmail-<store>`, or
/// `vpopmail-sql` (every SQL store, for vconvert). The cdb programs stay small this way: they
/// never load a client library (libpq alone brings 24 shared libraries to every start).
public enum Handover {
    /// The twin's path: beside the running program, else in `<home>/bin`; nil when neither
    /// has it.
    public static func twin(_ name: String, home: String) -> String? {
        let exe = Proc.executablePath() ?? ""
        for dir in [Path.dirname(exe), home + "/bin"] where !exe.isEmpty || dir != "." {
            let p = dir + "/" + name
            if access(p, X_OK) == 0 { return p }
        }
        return nil
    }

    /// Set in the twin's environment: a twin that lacks the store too does not hand over again.
    static let marker = "VPOPMAIL_HANDED_OVER"

    /// Whether this process is a twin that another program handed over to.
    public static var handedOver: Bool { getenv(marker) != nil }

    /// The installation, on the driver `auth-module` names among `drivers`; when this
    /// executable lacks it, `prepare` puts the input back and `<program>-<store>` runs instead.
    /// (A parameter pack rather than an array: an array of metatypes costs vchkpw and
    /// vdelivermail a run-time type instantiation at every start.)
    public static func open<each D: StoreDriver>(_ program: String, drivers: repeat (each D).Type,
                                                 prepare: () -> Void = {}) throws(VpopmailError) -> Installation {
        let location = try Installation.locate()
        var found: (any StoreDriver.Type)? = nil
        for d in repeat each drivers { if found == nil && d.name == location.config.authModule { found = d } }
        return try open(program, location, found, prepare)
    }

    /// The same with the drivers in an array (the administration commands).
    public static func open(_ program: String, drivers: [any StoreDriver.Type]) throws(VpopmailError) -> Installation {
        let location = try Installation.locate()
        return try open(program, location, location.driver(among: drivers), {})
    }

    static func open(_ program: String, _ location: Installation.Location, _ driver: (any StoreDriver.Type)?,
                     _ prepare: () -> Void) throws(VpopmailError) -> Installation {
        guard let driver else { try exec(program: program, store: location.config.authModule, home: location.home, prepare: prepare) }
        arrived()
        return try location.open(driver)
    }

    /// This program has what it was handed over for: the programs it runs may hand over again.
    public static func arrived() {
        if handedOver { unsetenv(marker) }
    }

    /// Execs `<program>-<store>` (or `twin` when given) with this process's arguments after
    /// `prepare` (which puts the input back where the twin reads it). Returns only by throwing:
    /// `.badConfig` when no program has the store.
    public static func exec(program: String, store: StoreName, home: String, twin given: String? = nil,
                            prepare: () -> Void = {}) throws(VpopmailError) -> Never {
        let name = given ?? "\(program)-\(store)"
        guard !handedOver, let path = twin(name, home: home) else {
            throw VpopmailError(.badConfig, "\(home)/etc/vpopmail.conf: auth-module \(store): no such store here (\(name) is not installed or lacks it)")
        }
        if let why = FS.untrustedProgram(path) {
            throw VpopmailError(.badConfig, "refusing to run \(path) as root: \(why)")
        }
        prepare()
        setenv(marker, "1", 1)
        execv(path, CommandLine.unsafeArgv)  // this process's own argv, NULL-terminated
        throw VpopmailError(.notSupported, "cannot run \(path): errno \(errno)")
    }

    /// Writes a line to a file descriptor (no Foundation, no buffering).
    public static func write(_ fd: Int32, _ s: String) {
        let line = s + "\n"
        _ = line.withCString { Glibc.write(fd, $0, strlen($0)) }
    }
}
