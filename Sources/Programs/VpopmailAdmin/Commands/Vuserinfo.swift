import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Vuserinfo: AdminCommand {
    static let name = "vuserinfo"
    static let usage = [
        "vuserinfo: usage: [options] email_address",
        "options: -v (print version number)",
        "         -a (display all fields, this is the default)",
        "         -n (display name field)",
        "         -p (display crypted password)",
        "         -u (display uid field)",
        "         -g (display gid field)",
        "         -c (display comment field)",
        "         -d (display directory)",
        "         -q (display quota field)",
        "         -Q (display quota usage)",
        "         -C (display clear text password)",
        "         -l (display last authentication time)",
        "         -D domain (display all users in this domain)",
    ]

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        var g = GetOpt(args, "vanpugcdqQClD:")
        var sel: Set<Character> = []
        var domainAll: String? = nil
        while let c = g.next() {
            switch c {
            case "v": say(versionString)
            case "a": sel = []
            case "D": domainAll = g.optarg
            case "n", "p", "u", "g", "c", "d", "q", "Q", "C", "l": sel.insert(c)
            default: printUsage(); return 255
            }
        }
        let v = try context.open()
        let all = sel.isEmpty
        var limitsOfDomain: (dir: String, limits: DomainLimits)? = nil
        func display(_ a: Account, _ d: DomainInfo) throws(VpopmailError) {
            // One read of the domain's limits, also for a -D listing of every user.
            if limitsOfDomain?.dir != d.dir { limitsOfDomain = (d.dir, try v.limits(d)) }
            let limits = limitsOfDomain!.limits
            let flags = v.effectiveFlags(a, limits: limits)
            let quota = a.quota
            func usageText() -> String {
                if quota.isNone { return "NOQUOTA" }
                let u = Maildir.usage(maildir: a.maildir, quota: a.quota, owner: d.owner, sync: v.sync)
                return "\(Maildir.percent(bytes: u.bytes, count: u.count, quota: quota))%"
            }
            if all {
                say("name:   \(a.name)")
                say("passwd: \(a.passwordHash)")
                say("clear passwd: \(a.clearPassword ?? "")")
                say("comment/gecos: \(a.gecos)")
                say("uid:    \(a.apopMarker)")
                say("gid:    \(a.flags.rawValue)")
                say("flags:  \(flags.rawValue)")
                say("gecos: \(a.gecos)")
                if flags.isEmpty {
                    say("limits: No user limits set.")
                } else {
                    say("limits: ")
                    for (f, text) in AccountFlags.descriptions where flags.contains(f) {
                        say("        \(text)" + (a.flags.contains(f) ? "" : " (*)"))
                    }
                    if flags != a.flags { say("        * = set by domain-wide limits") }
                }
                say("dir:       \(a.home)")
                say("quota:     \(a.quota)")
                say("usage:     \(usageText())")
                if v.config.authLogging { printLastAuth(a, d) }
                return
            }
            if sel.contains("n") { say(a.name) }
            if sel.contains("p") { say(a.passwordHash) }
            if sel.contains("C") { say(a.clearPassword ?? "") }
            if sel.contains("u") { say("\(a.apopMarker)") }
            if sel.contains("g") { say("\(a.flags.rawValue)") }
            if sel.contains("c") { say(a.gecos) }
            if sel.contains("d") { say(a.home) }
            if sel.contains("q") { say(a.quota.spelling) }
            if sel.contains("Q") { say(usageText()) }
            if sel.contains("l") { printLastAuth(a, d) }
        }
        func printLastAuth(_ a: Account, _ d: DomainInfo) {
            let last = v.lastAuth(a, domain: d)
            let t = last?.time ?? 0
            if t == 0 || last!.neverLoggedIn {
                if t != 0 { print("account created: \(asctimeString(t))", terminator: "") }
                say("last auth: Never logged in")
            } else {
                print("last auth: \(asctimeString(t))", terminator: "")
                say("last auth ip: \(last!.ip)")
            }
        }
        do {
            if let dom = domainAll {
                let (accounts, d) = try v.users(domain: dom)
                for a in accounts {
                    say(String(repeating: "-", count: 42))
                    try display(a, d)
                }
                return 0
            }
            guard let email = g.rest.first else { printUsage(); return 255 }
            let (user, domain) = splitEmail(v, email)
            guard let (a, d) = try v.user(user, domain: domain) else {
                say("no such user \(user)@\(domain)")
                return 255
            }
            try display(a, d)
        } catch { throw fail(error) }
        return 0
    }

    static func asctimeString(_ t: Int) -> String {
        var tt = time_t(t)
        var tmv = tm()
        localtime_r(&tt, &tmv)
        var buf = [UInt8](repeating: 0, count: 64)
        buf.withUnsafeMutableBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: 64) { _ = asctime_r(&tmv, $0) }
        }
        return String(decoding: buf.prefix(while: { $0 != 0 }), as: UTF8.self)  // ends in a newline, like asctime(3)
    }
}
