import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Vdominfo: AdminCommand {
    static let name = "vdominfo"
    static let usage: [String] = []

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        var g = GetOpt(args, "nugdtrav")
        var sel: Set<Character> = []
        while let c = g.next() {
            switch c {
            case "v": say(versionString)
            case "a": sel = []
            case "n", "u", "g", "d", "t", "r": sel.insert(c)
            default:
                say("vdominfo: usage: [options] [domain]")
                say("options: -v (print version number)")
                say("         -a (display all fields, this is the default)")
                say("         -n (display domain name)")
                say("         -u (display uid field)")
                say("         -g (display gid field)")
                say("         -d (display domain directory)")
                say("         -t (display total users)")
                say("         -r (display real domain)")
                return 255
            }
        }
        let all = sel.isEmpty
        let v = try context.open()
        func block(_ e: DomainInfo) {
            let users = (try? v.userCounter(DomainInfo(name: e.realDomain, realDomain: e.realDomain, uid: e.uid, gid: e.gid, dir: e.dir))) ?? 0
            if all {
                say(e.isAlias ? "domain: \(e.name) (alias of \(e.realDomain))" : "domain: \(e.name)")
                say("uid:    \(e.uid)")
                say("gid:    \(e.gid)")
                say("dir:    \(e.dir)")
                say("users:  \(users)")
                return
            }
            if sel.contains("n") { say(e.name) }
            if sel.contains("r") { say(e.realDomain) }
            if sel.contains("u") { say("\(e.uid)") }
            if sel.contains("g") { say("\(e.gid)") }
            if sel.contains("d") { say(e.dir) }
            if sel.contains("t") { say("\(users)") }
        }
        do {
            if let name = g.rest.first {
                guard let d = try v.domain(name) else { say("Invalid domain name"); return VACode.domainDoesNotExist.exitStatus }
                let real = try v.requireDomain(d.realDomain)
                block(real)
                if all { for a in try v.aliasDomains(of: real.realDomain) { say("alias: \(a)") } }
            } else {
                for e in try v.qmail.domainEntries() {
                    block(e)
                    say("")
                }
            }
        } catch {
            if error.code == .cannotReadAssign { say("Can't get domain entries - \(error.message)"); return Exit(error.code).status }
            throw fail(error)
        }
        return 0
    }
}
