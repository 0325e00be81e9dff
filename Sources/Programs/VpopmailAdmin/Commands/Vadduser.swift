import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Vadduser: AdminCommand {
    static let name = "vadduser"
    static let usage = [
        "vadduser: usage: [options] email_address [passwd]",
        "options: -v (print the version)",
        "         -q quota_in_bytes (sets the users quota limit)",
        "         -s (obsolete: no longer used)",
        "         -c comment (sets the gecos comment field)",
        "         -e standard_encrypted_password",
        "         -n no_password",
        "         -r[len] (generate a len (default 12) char random password)",
        "         -f file (bulk import: lines of user@domain:password-or-hash[:quota[:gecos]])",
    ]

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        var g = GetOpt(args, "q:c:e:r::svf:")
        var quota: String? = nil, gecos: String? = nil, hash: String? = nil, randomLen: Int? = nil, file: String? = nil
        while let c = g.next() {
            switch c {
            case "q": quota = g.optarg
            case "c": gecos = g.optarg
            case "e": hash = g.optarg
            case "r": randomLen = Int(g.optarg ?? "") ?? 12
            case "s": warn("Warning: The -s option has been disabled.")
            case "v": say(versionString)
            case "f": file = g.optarg
            default: printUsage(); return 255
            }
        }
        if let f = file { return try bulkImport(f, context) }
        let rest = g.rest
        guard let email = rest.first else { printUsage(); return 255 }
        let v = try context.open()
        let (user, domain) = splitEmail(v, email)
        if domain.isEmpty {
            say("You did not use a full email address for the user name")
            say("Only full email addresses should be used")
            return 255
        }
        let q: Quota?
        do {
            if try v.domain(domain) == nil { say("Error: Domain does not exist"); return 255 }
            if try v.user(user, domain: domain) != nil { say("Error: User already exists"); return 255 }
            q = try quota.map { (s) throws(VpopmailError) in try Quota.parse(s) }
        } catch {
            throw failWithPolicy(v, error)
        }
        if let l = randomLen, l > LengthLimits.maxClearPassword || l < 1 { throw fail(VpopmailError(.passwdTooLong)) }
        var clear: String? = nil
        var random: String? = nil
        if hash != nil {
        } else if rest.count > 1 {
            clear = rest[1]
        } else if let l = randomLen {
            random = Password.random(length: l)
            clear = random
        } else {
            guard let p = readPasswordTwice(for: "\(user)@\(domain)"), !p.isEmpty else {
                say("Error: No password entered")
                printUsage()
                return 255
            }
            clear = p
        }
        do {
            let password: Installation.NewPassword = clear != nil ? .clear(try v.clearPassword(clear!)) : .hash(hash ?? "")
            try v.addUser(.init(name: try UserName(newAccount: user), password: password, gecos: gecos, quota: q), domain: domain)
        } catch {
            throw failWithPolicy(v, error)
        }
        if let r = random { say("Random password: \(r)") }
        return 0
    }

    /// `vadduser -f FILE`: lines of `user@domain:password-or-hash[:quota[:gecos]]`. A value that starts
    /// with `$` or `{SCHEME}` is a crypt(3) hash, anything else a clear password. Accounts are added
    /// per domain in one pass (one lock, one vpasswd rewrite, one cdb build per domain); a bad line
    /// is reported with its number and nothing of that domain is added.
    static func bulkImport(_ path: String, _ context: AdminContext) throws(Exit) -> Int32 {
        let v = try context.open()
        let text: String
        do {
            guard let t = try FS.readText(path == "-" ? "/dev/stdin" : path) else {
                say("Error: cannot read \(path)")
                return Exit(.ioError).status
            }
            text = t
        } catch {
            say("Error: cannot read \(path): \(error)")
            return Exit(.ioError).status
        }
        var byDomain: [String: [Installation.NewAccount]] = [:]
        var order: [String] = []
        var lineNo = 0
        for raw in Bytes.textLines(text) {
            lineNo += 1
            let entry: BulkImportLine
            do {
                guard let e = try BulkImportLine.parse(raw) else { continue }
                entry = e
            } catch {
                say("Error: \(path):\(lineNo): expected user@domain:password[:quota[:gecos]]")
                return Exit(.parseError).status
            }
            let (user, domain) = splitEmail(v, entry.address)
            guard !domain.isEmpty else {
                say("Error: \(path):\(lineNo): not a full email address: \(Validate.printable(entry.address))")
                return Exit(.parseError).status
            }
            let name: UserName, pw: Installation.NewPassword
            let quota: Quota?
            do {
                name = try UserName(newAccount: user)
                pw = entry.isHash ? .hash(entry.password) : .clear(try v.clearPassword(entry.password))
                quota = try entry.quota.map { (q) throws(VpopmailError) in try Quota.parse(q) }
            } catch {
                say("Error: \(path):\(lineNo): \(error.message)")
                return Exit(error.code).status
            }
            let gecos = entry.gecos
            if byDomain[domain] == nil { order.append(domain) }
            byDomain[domain, default: []].append(.init(name: name, password: pw, gecos: gecos, quota: quota))
        }
        var total = 0
        for domain in order {
            let list = byDomain[domain]!
            do {
                try v.addUsers(list, domain: domain)
                total += list.count
            } catch {
                say("Error: \(domain): \(error.message)")
                say("\(total) accounts added")
                return Exit(error.code).status
            }
        }
        say("\(total) accounts added")
        return 0
    }

}
