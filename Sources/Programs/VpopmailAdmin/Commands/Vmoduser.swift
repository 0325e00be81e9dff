import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Vmoduser: AdminCommand {
    static let name = "vmoduser"
    static let usage = [
        "vmoduser: usage: [options] email_addr or domain (for each user in domain)",
        "options: -v ( display the vpopmail version number )",
        "         -n ( don't rebuild the vpasswd.cdb file )",
        "         -q quota ( set quota )",
        "         -c comment (set the comment/gecos field )",
        "         -e encrypted_passwd (set the password field )",
        "         -C clear_text_passwd (set the password field )",
        "         -D dir (set the home directory field; no files are moved )",
        "the following options are bit flags in the gid int field",
        "         -x ( clear all flags )",
        "         -d ( don't allow user to change password )",
        "         -p ( disable POP access )",
        "         -s ( disable SMTP AUTH access )",
        "         -w ( disable webmail [IMAP from localhost*] access )",
        "         -i ( disable non-webmail IMAP access )",
        "         -b ( bounce all mail )",
        "         -o ( user is not subject to domain limits )",
        "         -r ( disable roaming user/pop-before-smtp )",
        "         -a ( grant qmailadmin administrator privileges )",
        "         -S ( grant system administrator privileges - access all domains )",
        "         -E ( grant system expert privileges )",
        "         -f ( disable spamassassin )",
        "         -F ( delete spam )",
        "         -m ( disable maildrop )",
        "         -u ( set no dialup flag )",
        "         -0 ( set V_USER0 flag )",
        "         -1 ( set V_USER1 flag )",
        "         -2 ( set V_USER2 flag )",
        "         -3 ( set V_USER3 flag )",
    ]

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        var g = GetOpt(args, "avxc:q:dpswibo0123he:C:D:nSEfFmru")
        var gecos: String? = nil, quota: String? = nil, hash: String? = nil, clear: String? = nil, dir: String? = nil
        var noRebuild = false, clearFlags = false
        var add: AccountFlags = []
        let letterFlags: [Character: AccountFlags] = [
            "d": .noPasswordChange, "p": .noPOP, "s": .noSMTP, "w": .noWebmail, "i": .noIMAP, "b": .bounceMail,
            "o": .overrideDomainLimits, "r": .noRelay, "u": .noDialup, "0": .user0, "1": .user1, "2": .user2,
            "3": .user3, "a": .qmailAdmin, "f": .noSpamassassin, "F": .deleteSpam, "m": .noMaildrop,
        ]
        while let c = g.next() {
            switch c {
            case "v": say(versionString)
            case "h": printUsage(); return 0
            case "c": gecos = g.optarg
            case "q": quota = g.optarg
            case "e": hash = g.optarg
            case "C": clear = g.optarg
            case "D": dir = g.optarg
            case "n": noRebuild = true
            case "x": clearFlags = true
            case "S": if getuid() == 0 { add.insert(.systemAdmin) }
            case "E": if getuid() == 0 { add.insert(.systemExpert) }
            default:
                if let f = letterFlags[c] { add.insert(f) } else { printUsage(); return 255 }
            }
        }
        guard let target = g.rest.first else { printUsage(); return 255 }
        let v = try context.open()
        let q: Quota?, newClear: ClearPassword?
        do throws(VpopmailError) {
            q = try quota.map { (s) throws(VpopmailError) in try Quota.parse(s) }
            if let d = dir, !d.hasPrefix("/") { throw VpopmailError(.badDir, "the home directory must be an absolute path") }
            if let g = gecos, g.contains(":") || Validate.breaksLine(g) { throw VpopmailError(.badChar, "bad character in gecos") }
            newClear = try clear.map { (c) throws(VpopmailError) in try v.clearPassword(c) }
        } catch { throw fail(error) }
        let newHash: String?
        do { newHash = try newClear.map { (c) throws(VpopmailError) in try Password.hash(c.text, scheme: v.config.passwordScheme) } } catch { throw fail(error) }
        func apply(_ user: String, _ domain: String) throws(VpopmailError) {
            let a = try v.modifyUser(user, domain: domain, rebuildIndex: !noRebuild) { (a) throws(VpopmailError) in
                if let g = gecos { a.gecos = g }
                if let q { a.quota = q }
                if let h = hash { a.passwordHash = Password.storedForm(h) }
                if let h = newHash {
                    a.passwordHash = h
                    if v.config.clearPasswd { a.clearPassword = newClear?.text }
                }
                if let d = dir { a.home = d }
                if clearFlags { a.flags = [] }
                a.flags.formUnion(add)
            }
            if quota != nil { try v.rebuildMaildirsize(a, domain: try v.requireDomain(domain)) }
        }
        if target.contains("@") {
            let (user, domain) = splitEmail(v, target)
            do { try apply(user, domain) } catch {
                if error.code == .userDoesNotExist { say("no such user \(user)@\(domain)"); return 255 }
                throw fail(error)
            }
        } else {
            do {
                let (accounts, d) = try v.users(domain: target)
                for a in accounts { try apply(a.name, d.realDomain) }
            } catch { throw fail(error) }
        }
        return 0
    }
}
