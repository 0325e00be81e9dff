import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Vpopbull: AdminCommand {
    static let name = "vpopbull"
    static let usage = [
        "vpopbull: usage: [options] -f emailfile [virtual_domain] [...]",
        "options: -v (print version number)",
        "         -V (verbose)",
        "         -f file (file containing the email message)",
        "         -e file (file containing emails to exclude)",
        "         -n (don't mail. Use with -V to list accounts)",
        "         -c (default, copy file)",
        "         -h (use hard links)",
        "         -s (use symbolic links)",
    ]

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        var g = GetOpt(args, "vVf:e:nchs")
        var file: String? = nil, exclude: String? = nil, noMail = false, verbose = false
        var method: Character = "c"
        while let c = g.next() {
            switch c {
            case "v": say(versionString)
            case "V": verbose = true
            case "f": file = g.optarg
            case "e": exclude = g.optarg
            case "n": noMail = true
            case "c", "h", "s": method = c
            default: printUsage(); return 255
            }
        }
        if file == nil && !noMail { printUsage(); return 255 }
        var bulletin: Bulletin? = nil
        if let f = file {
            do { bulletin = try Bulletin(path: f) } catch { say("Error: \(error.message)"); return 255 }
        }
        var excluded = Set<String>()
        if let e = exclude {
            guard let t = try? FS.readText(e) else { say("Error: could not read exclude file \(e)"); return 255 }
            for l in Bytes.textLines(t) { excluded.insert(l.trimmingSpaces().lowercased()) }
        }
        let v = try context.open()
        var domains = g.rest.map { $0.lowercased() }
        do {
            if domains.isEmpty {
                domains = try v.qmail.domainEntries().filter { !$0.isAlias }.map(\.name)
            }
        } catch { throw fail(error) }
        let how: Bulletin.Method = method == "h" ? .hardLink : (method == "s" ? .symbolicLink : .copy)
        var status: Int32 = 0
        for dom in domains {
            do {
                guard let d = try v.domain(dom) else { say("Error: Domain does not exist: \(dom)"); status = 255; continue }
                if d.isAlias { if verbose { say("skipping alias domain \(dom)") }; continue }
                for a in try v.users(domain: d.realDomain).accounts {
                    let addr = "\(a.name)@\(d.realDomain)"
                    if excluded.contains(addr) { continue }
                    if verbose || noMail { say(addr) }
                    guard let bulletin, !noMail else { continue }
                    do { try bulletin.deliver(to: a, in: d, method: how, installation: v) } catch {
                        say("\(addr): ERROR COPYING TO \(a.maildir)/new")
                        status = 255
                    }
                }
            } catch { say("Error: \(error.message)"); status = Exit(error.code).status }
        }
        return status
    }
}
