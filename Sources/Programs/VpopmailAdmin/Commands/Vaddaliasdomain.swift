import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Vaddaliasdomain: AdminCommand {
    static let name = "vaddaliasdomain"
    static let usage = [
        "vaddaliasdomain: usage: vaddaliasdomain [options] real_domain alias_domain",
        "options: -v (print version number)",
    ]

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        guard let r = versionOnlyOperands(args) else { return 255 }
        guard r.count >= 2 else { printUsage(); return 255 }
        let a = r[0].lowercased(), b = r[1].lowercased()
        if a == b {
            say("Error: real domain and alias domain are the same!")
            printUsage()
            return 255
        }
        let v = try context.open()
        do {
            let da = try v.domain(a), db = try v.domain(b)
            if da != nil && db != nil { say("Error: Both domains already exist, unable to create alias."); return 255 }
            if da == nil && db == nil { say("Error: Neither '\(a)' or '\(b)'  exist, unable to create alias."); return 255 }
            let (real, alias) = da != nil ? (a, b) : (b, a)
            for n in try v.addAliasDomain(alias: alias, real: real) { warn(n) }
        } catch { throw fail(error) }
        return 0
    }
}
