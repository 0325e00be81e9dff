import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

enum Vmoddomlimits: AdminCommand {
    static let name = "vmoddomlimits"
    static let usage = [
        "vmoddomlimits: usage: [options] domain",
        "options: -v ( display the vpopmail version number )",
        "         -d ( use the vlimits.default file, instead of domain )",
        "         -S ( show current settings )",
        "         -D ( delete limits for this domain, i.e. switch to default limits)",
        "         -Q quota-in-megabytes ( set domain disk quota, '-1' for unlimited )",
        "         -q quota-in-bytes ( set default user quota, K/M suffixes allowed )",
        "         -M count ( set domain max msg count )",
        "         -m count ( set default user max msg count )",
        "         -P count ( set max amount of pop accounts )",
        "         -A count ( set max amount of aliases )",
        "         -F count ( set max amount of forwards )",
        "         -R count ( set max amount of autoresponders )",
        "         -L count ( set max amount of mailing lists )",
        "the following options are bit flags in the gid int field",
        "         -g \"flags\"  (set flags, see below)",
        "         gid flags:",
        "            u ( set no dialup flag )",
        "            d ( set no password changing flag )",
        "            p ( set no pop access flag )",
        "            s ( set no smtp access flag )",
        "            w ( set no web mail access flag )",
        "            i ( set no imap access flag )",
        "            r ( set no external relay flag )",
        "            c ( set no spamassasssin flag )",
        "            x ( set delete spam flag )",
        "            m ( set no maildrop flag )",
        "the following options are bit flags for non postmaster admins",
        "         -p \"flags\"  (set pop account flags)",
        "         -a \"flags\"  (set alias flags)",
        "         -f \"flags\"  (set forward flags)",
        "         -r \"flags\"  (set autoresponder flags)",
        "         -l \"flags\"  (set mailinglist flags)",
        "         -u \"flags\"  (set mailinglist users flags)",
        "         -o \"flags\"  (set mailinglist moderators flags)",
        "         -x \"flags\"  (set quota flags)",
        "         -z \"flags\"  (set default quota flags)",
        "         perm flags:",
        "            a ( set deny all flag )",
        "            c ( set deny create flag )",
        "            m ( set deny modify flag )",
        "            d ( set deny delete flag )",
    ]

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        var g = GetOpt(args, "vdSDQ:q:M:m:P:A:F:R:L:g:p:a:f:r:l:u:o:x:z:h")
        var useDefault = false, show = false, delete = false
        var edits: [(Character, String)] = []
        while let c = g.next() {
            switch c {
            case "v": say(versionString)
            case "d": useDefault = true
            case "S": show = true
            case "D": delete = true
            case "h": printUsage(); return 0
            case "?": printUsage(); return 255
            default: edits.append((c, g.optarg ?? ""))
            }
        }
        let v = try context.open()
        var d: DomainInfo? = nil
        if !useDefault {
            guard let name = g.rest.first else { printUsage(); return 255 }
            do {
                guard let found = try v.domain(name) else { return 0 }
                d = found
            } catch { throw fail(error) }
        }
        var l: DomainLimits
        do {
            if let d { l = try v.limits(d) } else {
                guard let dl = try v.defaultLimits() else { say("Failed to read the vlimits.default file."); return 255 }
                l = dl
            }
        } catch { say("Failed to vget_limits"); return 255 }
        if delete {
            guard let d else { say("Failed to delete limits"); return 255 }
            do { try v.deleteLimits(d); say("Limits deleted") } catch { say("Failed to delete limits"); return 255 }
            return 0
        }
        func perm(_ s: String) -> Int {
            var p = 0
            for ch in s {
                switch ch {
                case "a", "A": p |= 7
                case "c", "C": p |= 1
                case "m", "M": p |= 2
                case "d", "D": p |= 4
                default: break
                }
            }
            return p
        }
        for (c, a) in edits {
            func int() throws(Exit) -> Int {
                guard let n = Int(a) else { say("Error: invalid number '\(a)' for -\(c)"); throw Exit(255) }
                return n
            }
            func u64() throws(Exit) -> UInt64 {
                if a == "-1" { return 0 }
                guard let n = UInt64(a) else { say("Error: invalid number '\(a)' for -\(c)"); throw Exit(255) }
                return n
            }
            switch c {
            case "Q": l.diskQuota = try u64()
            case "q":
                if a == "-1" || a.uppercased() == "NOQUOTA" { l.defaultQuota = 0; break }
                do { l.defaultQuota = try Quota.parse(a).bytes } catch { throw fail(error) }
            case "M": l.maxMsgCount = try u64()
            case "m": l.defaultMaxMsgCount = try u64()
            case "P": l.maxPopAccounts = try int()
            case "A": l.maxAliases = try int()
            case "F": l.maxForwards = try int()
            case "R": l.maxAutoresponders = try int()
            case "L": l.maxMailingLists = try int()
            case "g":
                l.disableDialup = a.contains("u"); l.disablePasswordChanging = a.contains("d")
                l.disablePOP = a.contains("p"); l.disableSMTP = a.contains("s"); l.disableWebmail = a.contains("w")
                l.disableIMAP = a.contains("i"); l.disableRelay = a.contains("r"); l.disableSpamassassin = a.contains("c")
                l.deleteSpam = a.contains("x"); l.disableMaildrop = a.contains("m")
            case "p": l.permAccount = perm(a)
            case "a": l.permAlias = perm(a)
            case "f": l.permForward = perm(a)
            case "r": l.permAutoresponder = perm(a)
            case "l": l.permMaillist = perm(a)
            case "u": l.permMaillistUsers = perm(a)
            case "o": l.permMaillistModerators = perm(a)
            case "x": l.permQuota = perm(a)
            case "z": l.permDefaultQuota = perm(a)
            default: break
            }
        }
        if show {
            say(d.map { "Domain: \($0.realDomain)" } ?? "Default limits: \(v.defaultLimitsPath)")
            say("--")
            say("Max Pop Accounts: \(l.maxPopAccounts)")
            say("Max Aliases: \(l.maxAliases)")
            say("Max Forwards: \(l.maxForwards)")
            say("Max Autoresponders: \(l.maxAutoresponders)")
            say("Max Mailinglists: \(l.maxMailingLists)")
            say("GID Flags:")
            let flags: [(Bool, String, String)] = [
                (l.disableIMAP, "NO_IMAP", "i"), (l.disableSMTP, "NO_SMTP", "s"), (l.disablePOP, "NO_POP", "p"),
                (l.disableWebmail, "NO_WEBMAIL", "w"), (l.disablePasswordChanging, "NO_PASSWD_CHNG", "d"),
                (l.disableRelay, "NO_RELAY", "r"), (l.disableDialup, "NO_DIALUP", "u"),
                (l.disableSpamassassin, "NO_SPAMASSASSIN", "c"), (l.deleteSpam, "DEL_SPAM", "x"),
                (l.disableMaildrop, "NO_MAILDROP", "m"),
            ]
            for f in flags where f.0 { say("  \(f.1)") }
            say("Flags (for commandline): " + flags.filter(\.0).map(\.2).joined())
            say("Flags for non postmaster accounts:")
            func permLine(_ label: String, _ p: Int) {
                var s = "  " + label
                while s.count < 26 { s += " " }
                s += (p & 1 != 0 ? "DENY_CREATE  " : "ALLOW_CREATE ")
                s += (p & 2 != 0 ? "DENY_MODIFY  " : "ALLOW_MODIFY ")
                s += (p & 4 != 0 ? "DENY_DELETE" : "ALLOW_DELETE")
                say(s)
            }
            permLine("pop account:", l.permAccount)
            permLine("alias:", l.permAlias)
            permLine("forward:", l.permForward)
            permLine("autoresponder:", l.permAutoresponder)
            permLine("mailinglist:", l.permMaillist)
            permLine("mailinglist users:", l.permMaillistUsers)
            permLine("mailinglist moderators:", l.permMaillistModerators)
            permLine("quota:", l.permQuota)
            permLine("default quota:", l.permDefaultQuota)
            say("Domain Quota: \(l.diskQuota) MB")
            say("Default User Quota: \(l.defaultQuota) bytes")
            say("Max Domain Messages: \(l.maxMsgCount)")
            say("Default Max Messages per User: \(l.defaultMaxMsgCount)")
            if edits.isEmpty { return 0 }
        }
        if !edits.isEmpty {
            do { try v.setLimits(l, for: d) } catch { say("Failed to vset_limits"); return 255 }
        }
        return 0
    }
}
