import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Valias: AdminCommand {
    static let name = "valias"
    static let usage = [
        "valias: usage: [options] email_address ",
        "options: -v ( display the vpopmail version number )",
        "         -n ( show alias names, email_address is domain )",
        "         -s ( show aliases, can use just domain )",
        "         -d ( delete alias )",
        "         -i alias_line (insert alias line)",
    ]

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        var g = GetOpt(args, "vsndi:")
        var mode: Character = "s"
        var insertLine = ""
        while let c = g.next() {
            switch c {
            case "v": say(versionString)
            case "s", "n", "d": mode = c
            case "i": mode = "i"; insertLine = g.optarg ?? ""
            default: printUsage(); return 254
            }
        }
        guard let target = g.rest.first else { printUsage(); return 254 }
        let v = try context.open()
        let hasAt = target.contains("@")
        let (alias, domain) = hasAt ? Validate.splitAddress(target) : ("", target.lowercased())
        do throws(VpopmailError) {
            guard let d = try v.domain(domain) else { say("invalid domain, not in qmail assign file"); return 255 }
            switch mode {
            case "n":
                if hasAt { warn("Please enter domain name only."); return 255 }
                for n in try v.aliasNames(d) { say(n) }
            case "s":
                if hasAt {
                    guard let lines = try v.aliasLines(alias, d), !lines.isEmpty else {
                        say("No aliases \(alias)@\(domain) found")
                        return 255
                    }
                    for l in lines { say("\(alias)@\(domain) -> \(l)") }
                } else {
                    let names = try v.aliasNames(d)
                    var any = false
                    for n in names {
                        for l in try v.aliasLines(n, d) ?? [] { say("\(n)@\(domain) -> \(l)"); any = true }
                    }
                    if !any { say("No aliases found for domain \(domain)"); return 255 }
                }
            case "i":
                guard hasAt else { printUsage(); return 254 }
                do { try v.addAliasLine(alias, insertLine, domain: domain) } catch {
                    if error.code == .aliasExists { warn("Error: \(error.message)"); return 255 }
                    throw error
                }
            case "d":
                guard hasAt else { printUsage(); return 254 }
                try v.deleteAlias(alias, domain: domain)
            default: break
            }
        } catch { throw fail(error) }
        return 0
    }
}
