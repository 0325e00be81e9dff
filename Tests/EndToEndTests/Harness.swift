import Foundation
import Testing

/// The package root (two levels above this file's folder).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The release build of the multi-call executable.
let vpopmailBinary = packageRoot + "/.build/release/vpopmail"
/// The release build of vchkpw.
let vchkpwBinary = packageRoot + "/.build/release/vchkpw"
/// The release build of vdelivermail.
let vdelivermailBinary = packageRoot + "/.build/release/vdelivermail"

/// The administration commands, as the multi-call executable lists them (`vpopmail --commands`).
let commandNames: [String] = {
    guard let r = try? tool([vpopmailBinary, "--commands"]), r.status == 0 else { return [] }
    return r.out.split(separator: "\n").map(String.init)
}()

/// The programs built with a store's client library (`vchkpw-pgsql`, `vpopmail-sql`, ...), as
/// install.sh finds them.
let storePrograms: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: packageRoot + "/.build/release")) ?? []).filter { n in
    guard let dash = n.firstIndex(of: "-") else { return false }
    return ["vpopmail", "vchkpw", "vdelivermail", "vpopmaild"].contains(String(n[..<dash]))
        && n[n.index(after: dash)...].allSatisfy { $0.isLowercase || $0.isNumber } && !n.hasSuffix("-")
}

struct Result {
    var status: Int32
    var out: String
    var err: String
}

/// The SQL servers run-tests.sh started (scripts/sqlservers.sh): from the environment, else
/// from the file it writes. `host|port|user|password` (replica: `...|datadir`).
func sqlServer(_ name: String) -> String? {
    if let v = ProcessInfo.processInfo.environment[name], !v.isEmpty { return v }
    let file = (ProcessInfo.processInfo.environment["SQLDIR"] ?? "/tmp/vpop-sql") + "/env"
    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(name + "=") {
        return String(line.dropFirst(name.count + 1))
    }
    return nil
}

/// The stores a parameterised test runs on: all of `list`, or only those of the store
/// `VPOP_TEST_ONLY_STORE` names (run-tests.sh's second pass, with `VPOP_TEST_MYSQL` pointed at
/// the Galera cluster, runs the MySQL cases alone).
func storesUnderTest(_ list: [String]) -> [String] {
    guard let only = ProcessInfo.processInfo.environment["VPOP_TEST_ONLY_STORE"], !only.isEmpty else { return list }
    return list.filter { $0.hasPrefix(only) }
}

struct MissingServer: Error, CustomStringConvertible {
    let name: String
    var description: String { "\(name) is not set: run the tests with ./run-tests.sh (it starts MariaDB and PostgreSQL)" }
}

/// A temporary vpopmail installation: `home` (bin, etc, domains) and a qmail directory.
final class Site: @unchecked Sendable {
    let root: String
    let home: String
    let qmail: String
    /// `cdb`, `sqlite`, `mysql` or `pgsql`; `<sql store>-large` is the one-table-per-domain layout.
    let store: String
    /// The database of an SQL store (dropped with the site).
    var database: String? = nil

    /// A site on `store`; SQL stores keep aliases and limits in their tables too.
    convenience init(store: String, config: String = "") throws {
        try self.init(config: config, store: store)
    }

    /// `under`: the directory the site is made in (default: the temporary directory), for tests
    /// that need a particular file system.
    init(config: String = "", store: String = "cdb", under: String? = nil) throws {
        self.store = store
        root = (under.map { $0.hasSuffix("/") ? $0 : $0 + "/" } ?? NSTemporaryDirectory()) + "vpop-e2e-\(UUID().uuidString.prefix(8))"
        home = root + "/home"
        qmail = root + "/qmail"
        let fm = FileManager.default
        // A site that cannot be made (no server to connect to, say) leaves nothing behind.
        var made = false
        defer { if !made { try? fm.removeItem(atPath: root) } }
        for d in [home + "/bin", home + "/etc", home + "/domains", qmail + "/users", qmail + "/control"] {
            try fm.createDirectory(atPath: d, withIntermediateDirectories: true)
        }
        for c in commandNames { try fm.createSymbolicLink(atPath: home + "/bin/" + c, withDestinationPath: vpopmailBinary) }
        try fm.copyItem(atPath: vchkpwBinary, toPath: home + "/bin/vchkpw")
        try fm.copyItem(atPath: vdelivermailBinary, toPath: home + "/bin/vdelivermail")
        try fm.createSymbolicLink(atPath: home + "/bin/vpopmaild", withDestinationPath: packageRoot + "/.build/release/vpopmaild")
        for p in storePrograms {
            try fm.createSymbolicLink(atPath: home + "/bin/" + p, withDestinationPath: packageRoot + "/.build/release/" + p)
        }
        try fm.copyItem(atPath: packageRoot + "/etc/vlimits.default", toPath: home + "/etc/vlimits.default")
        // Throttling is on by default; only the tests that are about it (or name it) have it.
        var conf = config.contains("throttle") ? config : config + "throttle = n\n"
        if store != "cdb" {
            let large = store.hasSuffix("-large")
            let module = large ? String(store.dropLast(6)) : store
            conf = "auth-module = \(module)\nvalias = y\nmysql-limits = y\n" + (large ? "many-domains = n\n" : "") + conf
            try connect(module)
        }
        try conf.write(toFile: home + "/etc/vpopmail.conf", atomically: true, encoding: .utf8)
        chown(root, 0, 0)
        made = true
    }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
        for (module, db) in databases { Site.dropDatabase(module, db) }
    }

    /// Databases made for this site, by module.
    var databases: [String: String] = [:]

    /// Writes the connection file of `module` (mysql, pgsql) with a new database of this site's.
    func connect(_ module: String) throws {
        let db = "vpt_" + UUID().uuidString.prefix(8).lowercased()
        switch module {
        case "mysql":
            guard let srv = sqlServer("VPOP_TEST_MYSQL") else { throw MissingServer(name: "VPOP_TEST_MYSQL") }
            try "\(srv)|\(db)\n".write(toFile: home + "/etc/vpopmail.mysql", atomically: true, encoding: .utf8)
        case "pgsql":
            guard let srv = sqlServer("VPOP_TEST_PGSQL") else { throw MissingServer(name: "VPOP_TEST_PGSQL") }
            let f = srv.split(separator: "|").map(String.init)
            let r = try tool(["/usr/bin/psql", "-q", "-h", f[0], "-p", f[1], "-U", f[2], "-d", "postgres", "-c", "CREATE DATABASE \(db)"])
            if r.status != 0 { throw MissingServer(name: "PostgreSQL (\(r.err))") }
            try "\(srv)|\(db)\n".write(toFile: home + "/etc/vpopmail.pgsql", atomically: true, encoding: .utf8)
        default: return
        }
        databases[module] = db
        if database == nil { database = db }
    }

    static func dropDatabase(_ module: String, _ db: String) {
        if module == "mysql", let srv = sqlServer("VPOP_TEST_MYSQL") {
            let f = srv.split(separator: "|").map(String.init)
            _ = try? tool(["/usr/bin/mariadb", "--no-defaults", "-h", f[0], "-P", f[1], "-u", f[2], "-p" + f[3], "-e", "DROP DATABASE IF EXISTS \(db)"])
        } else if module == "pgsql", let srv = sqlServer("VPOP_TEST_PGSQL") {
            let f = srv.split(separator: "|").map(String.init)
            _ = try? tool(["/usr/bin/psql", "-q", "-h", f[0], "-p", f[1], "-U", f[2], "-d", "postgres", "-c", "DROP DATABASE IF EXISTS \(db)"])
        }
    }

    /// Runs SQL in the site's database with the server's own client; the output rows
    /// tab-separated.
    func sql(_ statement: String, module: String? = nil) throws -> Result {
        let m = module ?? (store.hasSuffix("-large") ? String(store.dropLast(6)) : store)
        if m == "mysql-server" {
            let f = sqlServer("VPOP_TEST_MYSQL")!.split(separator: "|").map(String.init)
            return try tool(["/usr/bin/mariadb", "--no-defaults", "-N", "-B", "-h", f[0], "-P", f[1], "-u", f[2], "-p" + f[3], "-e", statement])
        }
        if m == "mysql" {
            let f = sqlServer("VPOP_TEST_MYSQL")!.split(separator: "|").map(String.init)
            return try tool(["/usr/bin/mariadb", "--no-defaults", "-N", "-B", "-h", f[0], "-P", f[1], "-u", f[2], "-p" + f[3], "-e", statement]
                            + (databases["mysql"].map { [$0] } ?? []))
        } else if m == "pgsql" {
            let f = sqlServer("VPOP_TEST_PGSQL")!.split(separator: "|").map(String.init)
            return try tool(["/usr/bin/psql", "-q", "-A", "-t", "-F", "\t", "-h", f[0], "-p", f[1], "-U", f[2], "-d", databases["pgsql"]!, "-c", statement])
        }
        return try tool(["/usr/bin/sqlite3", "-separator", "\t", home + "/domains/_vpopmail.sqlite", statement])
    }

    var environment: [String: String] {
        ["VPOPMAIL_HOME": home, "QMAILDIR": qmail, "PATH": "/usr/bin:/bin", "TZ": "UTC"]
    }

    /// Runs a command by its classic name (or any absolute program) and waits.
    @discardableResult
    func run(_ argv: [String], stdin: String? = nil, env: [String: String] = [:], shellPrefix: String? = nil) throws -> Result {
        let p = Process()
        var args = argv
        if !args[0].hasPrefix("/") { args[0] = home + "/bin/" + args[0] }
        if let prefix = shellPrefix {
            // e.g. "ulimit -f 1; trap '' XFSZ;" run before exec'ing the command
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", prefix + " exec \"$@\"", "sh"] + args
        } else {
            p.executableURL = URL(fileURLWithPath: args[0])
            p.arguments = Array(args.dropFirst())
        }
        p.environment = environment.merging(env) { $1 }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)) }
        try inp.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }

    /// Runs vchkpw with `login\0password\0challenge\0` on fd 3 and `program` as what it execs.
    func vchkpw(_ login: String, _ password: String, challenge: String = "", program: [String] = ["/usr/bin/env"],
                env: [String: String] = [:]) throws -> Result {
        try run([home + "/bin/vchkpw"] + program, stdin: "\(login)\0\(password)\0\(challenge)\0", env: env,
                shellPrefix: "exec 3<&0 </dev/null;")
    }

    /// Runs vdelivermail the way qmail-local does: cwd the domain directory, `EXT`, `HOST`,
    /// `RPLINE`, `DTLINE` in the environment, the message as a seekable file on stdin.
    func deliver(_ message: String, to ext: String, at host: String, default arg: String = "delete",
                 sender: String = "alice@remote.test", env: [String: String] = [:], shellPrefix: String = "") throws -> Result {
        let file = root + "/msg-\(UUID().uuidString)"
        try message.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let dir = FileManager.default.fileExists(atPath: domainDir(host)) ? domainDir(host) : root
        var e = ["EXT": ext, "HOST": host, "LOCAL": "\(host)-\(ext)", "SENDER": sender,
                 "RPLINE": "Return-Path: <\(sender)>\n", "DTLINE": "Delivered-To: \(host)-\(ext)@\(host)\n"]
        e.merge(env) { $1 }
        return try run([home + "/bin/vdelivermail", "", arg], env: e,
                       shellPrefix: "cd '\(dir)' || exit 99; exec <'\(file)'; \(shellPrefix)")
    }

    /// Names of the messages in a Maildir's new/.
    func newMessages(_ maildir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: maildir + "/new")) ?? []).sorted()
    }

    /// Runs and expects exit 0.
    @discardableResult
    func ok(_ argv: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> Result {
        let r = try run(argv)
        #expect(r.status == 0, "\(argv) -> \(r.status) \(r.out) \(r.err)", sourceLocation: sourceLocation)
        return r
    }

    func read(_ path: String) -> String? {
        try? String(contentsOfFile: path.hasPrefix("/") ? path : root + "/" + path, encoding: .utf8)
    }

    func domainDir(_ d: String) -> String { home + "/domains/" + d }

    /// Every file and directory under the site with its mode and content: "nothing changed" checks.
    func snapshot() -> [String: String] {
        var out: [String: String] = [:]
        let fm = FileManager.default
        guard let e = fm.enumerator(atPath: root) else { return out }
        while let rel = e.nextObject() as? String {
            if rel.hasPrefix("home/bin") || rel.hasSuffix(".lock") { continue }
            let path = root + "/" + rel
            var st = stat()
            lstat(path, &st)
            var v = "mode=\(st.st_mode) uid=\(st.st_uid)"
            if (st.st_mode & S_IFMT) == S_IFREG { v += " " + ((try? Data(contentsOf: URL(fileURLWithPath: path)))?.base64EncodedString() ?? "?") }
            out[rel] = v
        }
        return out
    }

    /// Runs `argv` and checks that it failed with `status`, printed a line containing `message`
    /// (stdout or stderr), and changed nothing on disk.
    func expectRefused(_ argv: [String], status: Int32, message: String, shellPrefix: String? = nil, env: [String: String] = [:],
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = snapshot()
        let r = try run(argv, env: env, shellPrefix: shellPrefix)
        #expect(r.status == status, "\(argv): status \(r.status), out \(r.out) err \(r.err)", sourceLocation: sourceLocation)
        #expect((r.out + r.err).contains(message), "\(argv): \(r.out) \(r.err)", sourceLocation: sourceLocation)
        let after = snapshot()
        #expect(before == after, "\(argv) changed: \(Set(after.keys).symmetricDifference(before.keys)) \(after.filter { before[$0.key] != $0.value }.keys)", sourceLocation: sourceLocation)
    }
}

/// Writes an executable script. Through a close-on-exec descriptor: a process that another test
/// starts meanwhile must not inherit it open for writing, which would make running the script
/// fail with "Text file busy".
func writeScript(_ text: String, to path: String) throws {
    unlink(path)
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o755)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    guard write(fd, bytes, bytes.count) == bytes.count else { throw POSIXError(.EIO) }
    fchmod(fd, 0o755)
}

/// Runs a program outside any site (tinycdb's cdb etc.).
func tool(_ argv: [String]) throws -> Result {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: argv[0])
    p.arguments = Array(argv.dropFirst())
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Result(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
}

/// True when `cdb -d file | cdb -c` (tinycdb) rebuilds exactly the same bytes.
func tinycdbAgrees(_ file: String) throws -> Bool {
    let tmp = NSTemporaryDirectory() + "re-\(UUID().uuidString).cdb"
    defer { try? FileManager.default.removeItem(atPath: tmp) }
    let r = try tool(["/bin/sh", "-c", "/usr/bin/cdb -d '\(file)' | /usr/bin/cdb -c -t '\(tmp).t' '\(tmp)'"])
    guard r.status == 0 else { return false }
    return FileManager.default.contentsEqual(atPath: tmp, andPath: file)
}

extension Site {
    /// A site with example.com and joe@example.com (password `Secret-pw1`).
    static func withJoe(_ config: String = "", store: String = "cdb") throws -> Site {
        let s = try Site(config: config, store: store)
        try s.ok(["vadddomain", "example.com", "pw"])
        try s.ok(["vadduser", "joe@example.com", "Secret-pw1"])
        return s
    }
}
