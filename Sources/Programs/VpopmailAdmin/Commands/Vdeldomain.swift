import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Vdeldomain: AdminCommand {
    static let name = "vdeldomain"
    static let usage: [String] = []

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        var g = GetOpt(args, "vf")
        var force = false
        while let c = g.next() {
            switch c {
            case "v": say(versionString)
            case "f": force = true
            default: say("vdeldomain: usage: vdeldomain [options] domain_name"); say("options: -v (print version number)"); say("         -f (force delete of domain and all aliases)"); return 255
            }
        }
        guard let name = g.rest.first else {
            say("vdeldomain: usage: vdeldomain [options] domain_name")
            say("options: -v (print version number)")
            say("         -f (force delete of domain and all aliases)")
            return 0
        }
        let v = try context.open()
        do {
            let d = try v.requireDomain(name)
            if !d.isAlias {
                let aliases = try v.aliasDomains(of: d.realDomain)
                if !aliases.isEmpty {
                    if !force {
                        say("Warning: Alias domains exist:")
                        for a in aliases { say("   \(a)") }
                        say("   use -f to force delete of domain and all aliases")
                        return 0
                    }
                    say("Warning: Alias domains deleted:")
                    for a in aliases { say("   \(a)") }
                }
            }
            try v.deleteDomain(name)
        } catch {
            if error.code == .cannotReadAssign { say("Error: Can't get domain entries - \(error.message)"); return Exit(error.code).status }
            throw fail(error)
        }
        return 0
    }
}
