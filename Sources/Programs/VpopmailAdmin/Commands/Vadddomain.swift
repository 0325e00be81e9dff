import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Vadddomain: AdminCommand {
    static let name = "vadddomain"
    static let usage = [
        "vadddomain: usage: vadddomain [options] virtual_domain [postmaster password]",
        "options: -v prints the version",
        "         -q quota_in_bytes (sets the postmaster quota)",
        "         -b (unknown users bounce: .qmail-default ends in bounce-no-mailbox)",
        "         -e email_address (forwards unknown users to this address or mailbox)",
        "         -u user (sets the uid/gid/home from this /etc/passwd user)",
        "         -d dir (base directory; domains go in dir/domains)",
        "         -i uid (sets the uid for this domain)",
        "         -g gid (sets the gid for this domain)",
        "         -O (optimize for bulk adds: no HUP of qmail-send, no qmail-newmrh)",
        "         -r[len] (generate a len (default 12) char random postmaster password)",
    ]

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        var g = GetOpt(args, "q:be:u:d:i:g:Or::v")
        var quota: String? = nil, catchAll: String? = nil, unixUser: String? = nil, baseDir: String? = nil
        var uid: UInt32? = nil, gid: UInt32? = nil, optimize = false, randomLen: Int? = nil, bounce = false
        while let c = g.next() {
            switch c {
            case "q": quota = g.optarg
            case "b": bounce = true
            case "e": catchAll = g.optarg
            case "u": unixUser = g.optarg
            case "d": baseDir = g.optarg
            case "i":
                guard let n = UInt32(g.optarg ?? "") else { say("Error: invalid uid \(g.optarg ?? "")"); return 255 }
                uid = n
            case "g":
                guard let n = UInt32(g.optarg ?? "") else { say("Error: invalid gid \(g.optarg ?? "")"); return 255 }
                gid = n
            case "O": optimize = true
            case "r": randomLen = Int(g.optarg ?? "") ?? 12
            case "v": say(versionString)
            default: printUsage(); return 255
            }
        }
        let rest = g.rest
        guard let domainArg = rest.first else { printUsage(); return 0 }
        var password = rest.count > 1 ? rest[1] : nil
        if password != nil && randomLen != nil {
            say("Error: don't use -r option when giving password on command line")
            return 255
        }
        if let l = randomLen, l > LengthLimits.maxClearPassword || l < 1 { throw fail(VpopmailError(.passwdTooLong)) }
        if let u = unixUser {
            guard let pw = getpwnam(u) else { say("Error: user \(u) not found in /etc/passwd"); return 255 }
            uid = pw.pointee.pw_uid
            gid = pw.pointee.pw_gid
            if baseDir == nil { baseDir = String(cString: pw.pointee.pw_dir) }
        }
        if let b = baseDir, !b.hasPrefix("/") { say("Error: -d needs an absolute path"); return 255 }
        if let e = catchAll {
            do { try Installation.checkCatchAll(e) } catch {
                say("Error: \(error.message)")
                return error.code.exitStatus
            }
        }
        let v = try context.open()
        let domain = domainArg.lowercased()
        let q: Quota?
        do throws(VpopmailError) {
            _ = try DomainName(newDomain: domain)
            if try v.domain(domain) != nil { throw VpopmailError(.domainAlreadyExists) }
            q = try quota.map { (s) throws(VpopmailError) in try Quota.parse(s) }
        } catch { throw fail(error) }
        if let l = randomLen {
            password = Password.random(length: l)
        } else if password == nil {
            guard let p = readPasswordTwice(for: "postmaster"), !p.isEmpty else {
                say("Error: No password entered")
                return 255
            }
            password = p
        }
        let clear: ClearPassword
        do { clear = try v.clearPassword(password!) } catch { throw fail(error) }
        let d: DomainInfo
        do {
            // Upstream exits 0 when the postmaster can't be made (bug); we report the failure,
            // and the library has rolled the domain back.
            let r = try v.addDomain(domain, postmasterPassword: clear, postmasterQuota: q, baseDir: baseDir,
                                    uid: uid, gid: gid, optimize: optimize)
            for n in r.notices { warn(n) }
            d = r.domain
        } catch { throw fail(error) }
        if bounce || catchAll != nil {
            var delivery = "bounce-no-mailbox"
            if let e = catchAll {
                delivery = e.contains("@") ? e : d.dir + "/" + (UserName(e)?.homeName ?? e)
            }
            do {
                try sys(.couldNotUpdateFile) { () throws(SystemError) in
                    try FS.writeAtomic(d.dir + "/.qmail-default", v.qmailDefaultLine(delivery), mode: 0o600,
                                       owner: d.owner, sync: v.sync)
                }
            } catch { throw fail(error) }
        }
        if randomLen != nil { say("Random password: \(password!)") }
        return 0
    }
}
