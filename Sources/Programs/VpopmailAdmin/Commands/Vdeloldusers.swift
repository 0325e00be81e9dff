import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Vdeloldusers: AdminCommand {
    static let name = "vdeloldusers"
    static let usage = [
        "vdeloldusers: usage: [options]",
        "options: -a age_in_days (will delete accounts older than this date)",
        "                        (default 6 months or 180 days)",
        "         -d domain (only delete users in this domain)",
        "         -e (delete users in all domains)",
        "         -D (actually delete users. no users are deleted without this option)",
        "         -V (verbose -- print old users that will be deleted)",
        "         -v (print version number)",
    ]

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        var g = GetOpt(args, "a:d:eDVv")
        var days = 180, domain: String? = nil, everything = false, doDelete = false, verbose = false
        while let c = g.next() {
            switch c {
            case "a":
                guard let n = Int(g.optarg ?? ""), n >= 0 else { printUsage(); return 255 }
                days = n
            case "d": domain = g.optarg
            case "e": everything = true
            case "D": doDelete = true
            case "V": verbose = true
            case "v": say(versionString); return 255
            default: printUsage(); return 255
            }
        }
        if domain == nil && !everything { printUsage(); return 255 }
        let v = try context.open()
        if !v.config.authLogging {
            say("vdeloldusers needs auth-logging = y in vpopmail.conf (last-login times are not recorded)")
            return 255
        }
        let cutoff = Int(time(nil)) - days * 86400
        var found = 0
        do throws(VpopmailError) {
            var domains: [String]
            if let dm = domain { domains = [dm.lowercased()] } else { domains = try v.qmail.domainEntries().filter { !$0.isAlias }.map(\.name) }
            for dom in domains {
                let (accounts, d) = try v.users(domain: dom)
                let bulk = try v.lastAuths(d)
                for a in accounts where a.name != "postmaster" {
                    let t = bulk.map { $0[a.name]?.time ?? 0 } ?? v.lastAuth(a, domain: d)?.time ?? 0
                    guard t != 0 && t < cutoff else { continue }
                    found += 1
                    if verbose { say("\(a.name)@\(d.realDomain)") }
                    if doDelete { try v.deleteUser(a.name, domain: d.realDomain) }
                }
            }
        } catch { throw fail(error) }
        if found == 0 { say("no old users found") }
        else if !doDelete { say(" ** no users were deleted  **"); say(" ** use -D to delete users **") }
        return 0
    }
}
