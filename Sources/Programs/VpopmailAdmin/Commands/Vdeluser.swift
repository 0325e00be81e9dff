import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Vdeluser: AdminCommand {
    static let name = "vdeluser"
    static let usage = [
        "vdeluser: usage: [options] email_address",
        "options: -v (print version number)",
    ]

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        var g = GetOpt(args, "v")
        while let c = g.next() {
            if c == "v" { say(versionString) } else { printUsage(); return 255 }
        }
        guard let email = g.rest.first else { printUsage(); return 255 }
        let v = try context.open()
        let (user, domain) = splitEmail(v, email)
        do { try v.deleteUser(user, domain: domain) } catch { throw fail(error) }
        return 0
    }
}
