import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// The audit log's reader (docs/audit.md): every change by every path, oldest first.
enum Vaudit: AdminCommand {
    static let name = "vaudit"
    static let usage = [
        "vaudit: usage: [options]",
        "options: -n count (the last count entries; default 50, 0 for all)",
        "         -d domain (changes to the domain and its accounts)",
        "         -u user@domain (changes to one account)",
        "         -a action (add_user, mod_user, del_domain, vacation_set, ...)",
        "         -w who (changes made by this login, key or user)",
        "         -j (the log's own JSON lines)",
    ]

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        var g = GetOpt(args, "n:d:u:a:w:jv")
        var count = 50, domain: String? = nil, user: String? = nil, action: String? = nil, who: String? = nil, json = false
        while let c = g.next() {
            switch c {
            case "n":
                guard let n = Int(g.optarg ?? ""), n >= 0 else { warn("vaudit: -n needs a count"); return 255 }
                count = n
            case "d": domain = g.optarg?.lowercased()
            case "u": user = g.optarg?.lowercased()
            case "a": action = g.optarg
            case "w": who = g.optarg
            case "j": json = true
            case "v": say(versionString)
            default: printUsage(); return 255
            }
        }
        guard g.rest.isEmpty else { printUsage(); return 255 }
        let v = try context.open()
        let entries: [AuditEntry]
        do {
            entries = try v.auditEntries(limit: count == 0 ? Int.max : count) { e in
                AuditFilter(domain: domain, user: user, action: action, who: who).accepts(e)
            }
        } catch { throw fail(error) }
        for e in entries {
            if json { print(e.jsonLine, terminator: ""); continue }
            var line = "\(formatTime(time_t(e.time), "%Y-%m-%d %H:%M:%S", utc: true)) \(e.who) via \(e.via) from \(e.from): \(e.action) \(e.object)"
            if let b = e.before { line += " before: \(b)" }
            if let a = e.after { line += " after: \(a)" }
            say(Validate.printable(line))
        }
        return 0
    }
}
