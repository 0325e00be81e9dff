import ProgramSupport
import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// `vconvert <from> <to> [domain ...]`: copies the accounts of the named (default: all real)
/// domains from one store to another (`StoreConverter`).
///
/// Stores: `-c` cdb, `-m`/`-s` the SQL store (`auth-module` when it is an SQL one, else mysql),
/// `-e` `/etc/passwd`+`/etc/shadow` (source only), `-p FILE` a `user:crypted` file (source
/// only), or by name: `--from cdb|mysql|pgsql|sqlite|passwd --to cdb|mysql|pgsql|sqlite`.
enum Vconvert: AdminCommand {
    static let name = "vconvert"
    static let usage = [
        "vconvert: usage",
        "  The first option sets which format to convert FROM,",
        "  the second option sets which format to convert TO.",
        "  -e = etc format",
        "  -c = cdb format",
        "  -m = sql format (-s: the same)",
        "  -p file = user:crypted password file (from only)",
        "  --from NAME --to NAME: cdb, mysql, pgsql, sqlite, passwd (from only)",
        "  -q = no progress lines",
        "  --upgrade [-n] = the SQL store's tables: MyISAM to InnoDB, valias's primary key,",
        "                   the tables without one (-n: only say what would change)",
        "  -v = version",
    ]

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        if args.dropFirst().contains("--upgrade") { return try upgrade(args, context) }
        // Long options first (GetOpt knows only letters).
        var from: String? = nil, to: String? = nil, passFile: String? = nil
        var rest = [args[0]]
        var i = 1
        while i < args.count {
            let a = args[i]
            if a == "--from" || a == "--to", i + 1 < args.count {
                if a == "--from" { from = args[i + 1] } else { to = args[i + 1] }
                i += 2
                continue
            }
            if a.hasPrefix("--from=") { from = String(a.dropFirst(7)); i += 1; continue }
            if a.hasPrefix("--to=") { to = String(a.dropFirst(5)); i += 1; continue }
            rest.append(a)
            i += 1
        }
        let location: Installation.Location
        do { location = try Installation.locate() } catch {
            warn("Error - \(error.message)")
            throw Exit(error.code)
        }
        let sql = ["mysql", "pgsql", "sqlite"].contains(location.config.authModule.text) ? location.config.authModule.text : "mysql"
        var quiet = false
        var g = GetOpt(rest, "cemsp:dvqS")
        func set(_ name: String) {
            if from == nil { from = name } else if to == nil { to = name }
        }
        while let c = g.next() {
            switch c {
            case "c": set("cdb")
            case "e": set("passwd")
            case "m", "s": set(sql)
            case "p": passFile = g.optarg; set("file")
            case "q": quiet = true
            case "d": break
            case "v": say(versionString); return 0
            case "S": warn("vconvert: -S (sqwebmail-pass files) is not supported"); return 255
            default: printUsage(); return 255
            }
        }
        // A password file reads as the cdb layout's domains with accounts from the file.
        guard let src = from.flatMap({ StoreName($0 == "file" ? "cdb" : $0) }), let dst = to.flatMap(StoreName.init),
              dst != .passwd else {
            printUsage()
            return 255
        }
        if src == dst && from != "file" { warn("vconvert: the source and the target are the same store (\(dst))"); return 255 }
        // Both stores in one process: vpopmail-sql has every SQL store.
        guard let sourceDriver = context.driver(src), let targetDriver = context.driver(dst) else {
            do {
                try Handover.exec(program: "vpopmail", store: context.driver(src) == nil ? src : dst, home: location.home,
                                  twin: "vpopmail-sql")
            } catch {
                if Handover.handedOver { printUsage(); return 255 }
                throw fail(error)
            }
        }
        Handover.arrived()
        func open(_ driver: any StoreDriver.Type, _ name: StoreName) throws(Exit) -> Installation {
            do { return try location.open(driver, authModule: name) } catch {
                warn("Error - \(error.message). Initial open.")
                throw Exit(error.code)
            }
        }
        let source = try open(sourceDriver, src)
        let target = try open(targetDriver, dst)
        var converter = StoreConverter(from: source, to: target)
        // `  n/total accounts` on stderr after each batch of a long run.
        converter.progress = { done, total in if !quiet && total >= 20_000 { warn("  \(done)/\(total) accounts") } }
        var extra: [Account]? = nil
        if from == "file" {
            guard let path = passFile, let text = try? FS.readText(path) else {
                warn("vconvert: cannot read \(passFile ?? "")")
                return 255
            }
            extra = Bytes.textLines(text).compactMap { l in
                let f = l.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                guard f.count >= 2, !f[0].isEmpty else { return nil }
                return Account(name: String(f[0]).lowercased(), passwordHash: String(f[1]), gecos: String(f[0]), home: "", quota: Quota(stored: ""))
            }
        }
        let system = src == .passwd || extra != nil

        var domains = Array(g.rest.map { $0.lowercased() })
        do {
            if domains.isEmpty { domains = try source.qmail.domainEntries().map(\.name) }
        } catch { throw fail(error) }
        var status: Int32 = 0
        var seen = Set<String>()
        for name in domains where seen.insert(name).inserted {
            do throws(VpopmailError) {
                guard let d = try source.domain(name) else {
                    say("\(name): domain does not exist")
                    status = 255
                    continue
                }
                if d.isAlias {
                    say("\(d.name) is an alias of \(d.realDomain).")
                    try converter.convertAliasDomain(d)
                    continue
                }
                let n: Int
                if system {
                    n = try converter.importSystem(extra != nil ? extra! : try source.stores.accounts.accounts(in: d), into: d)
                } else {
                    n = try converter.convert(d)
                }
                say("converting \(d.name)...    done (\(n) accounts)")
            } catch {
                say("converting \(name)...    domain conversion failed: \(error.message)")
                status = error.code.exitStatus
            }
        }
        // The IP map is one table for the whole installation.
        if g.rest.isEmpty && !system {
            do { try converter.convertIPMap() } catch {
                say("ip map conversion failed: \(error.message)")
                status = error.code.exitStatus
            }
        }
        return status
    }
}

extension Vconvert {
    /// `vconvert --upgrade [-n]`: the store's tables made ready for several hosts
    /// (`Installation.upgradeSchema`), one line per change and per table still without a key.
    static func upgrade(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        let rest = args.dropFirst().filter { $0 != "--upgrade" }
        let dry = rest == ["-n"]
        guard rest.isEmpty || dry else {
            printUsage()
            return 255
        }
        let v = try context.open()
        let changes: [Installation.SchemaChange]
        do { changes = try v.upgradeSchema(dryRun: dry) } catch { throw fail(error) }
        for c in changes {
            switch c {
            case .madeTransactional(let t, let from):
                say(dry ? "\(t): \(from), would become InnoDB" : "\(t): \(from) -> InnoDB")
            case .addedPrimaryKey(let t):
                say(dry ? "\(t): no primary key, would get id" : "\(t): primary key id added")
            case .lacksPrimaryKey(let t):
                say("\(t): no primary key (a Galera cluster replicates its deletes unsafely: add one)")
            }
        }
        if changes.isEmpty { say("nothing to upgrade: every table is InnoDB and has a primary key") }
        return 0
    }
}
