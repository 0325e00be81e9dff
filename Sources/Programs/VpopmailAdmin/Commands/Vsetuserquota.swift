import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Vsetuserquota: AdminCommand {
    static let name = "vsetuserquota"
    static let usage = [
        "vsetuserquota: usage: [options] email_address|domain quota_in_bytes",
        "options: -v (print version number)",
    ]

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        guard let rest = versionOnlyOperands(args) else { return 255 }
        guard rest.count >= 2 else { printUsage(); return 255 }
        let v = try context.open()
        do throws(VpopmailError) {
            let quota = try Quota.parse(rest[1].uppercased())
            if rest[0].contains("@") {
                let (user, domain) = splitEmail(v, rest[0])
                try v.setQuota(user, domain: domain, quota: quota)
            } else {
                let (accounts, d) = try v.users(domain: rest[0])
                for a in accounts { try v.setQuota(a.name, domain: d.realDomain, quota: quota) }
            }
        } catch { throw fail(error) }
        return 0
    }
}
