import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// A user's vacation message (docs/vacation.md): set, shown, turned off; and `-r`, the reply
/// itself, for a `.qmail` line (`| ~vpopmail/bin/vvacation -r user@domain`): vdelivermail runs
/// it for users without a `.qmail` on its own.
enum Vvacation: AdminCommand {
    static let name = "vvacation"
    static let usage = [
        "vvacation: usage: [options] user@domain",
        "options: -s subject -m file|- (set: the message's subject and its text, - for stdin)",
        "         -f YYYY-MM-DD (with -s: answer from this day, UTC)",
        "         -t YYYY-MM-DD (with -s: answer until this day, inclusive)",
        "         -p days (with -s: answer each sender once in this many days; default 7)",
        "         -o (turn it off)",
        "         -q (show it)",
        "         -r (reply to the message on stdin, from a .qmail line)",
    ]

    static func day(_ s: String) -> Int? {
        let p = s.split(separator: "-")
        guard p.count == 3, let y = Int(p[0]), let m = Int(p[1]), let d = Int(p[2]), (1...12).contains(m), (1...31).contains(d) else { return nil }
        var tm = Glibc.tm()
        tm.tm_year = Int32(y - 1900)
        tm.tm_mon = Int32(m - 1)
        tm.tm_mday = Int32(d)
        return Int(timegm(&tm))
    }

    static func run(_ args: [String], _ context: AdminContext) throws(Exit) -> Int32 {
        var g = GetOpt(args, "s:m:f:t:p:oqrv")
        var mode: Character? = nil, subject = "", file: String? = nil, from: Int? = nil, until: Int? = nil, days = 7
        while let c = g.next() {
            switch c {
            case "s": mode = "s"; subject = g.optarg ?? ""
            case "m": file = g.optarg
            case "f", "t":
                guard let t = day(g.optarg ?? "") else { warn("vvacation: -\(c) needs a date YYYY-MM-DD"); return 255 }
                if c == "f" { from = t } else { until = t + 86400 }
            case "p":
                guard let n = Int(g.optarg ?? ""), n >= 1, n <= 365 else { warn("vvacation: -p needs 1 to 365 days"); return 255 }
                days = n
            case "o", "q", "r": mode = c
            case "v": say(versionString)
            default: printUsage(); return 255
            }
        }
        guard let m = mode, g.rest.count == 1 else { printUsage(); return 255 }
        let (user, domain) = Validate.splitAddress(g.rest[0])
        let v = try context.open()
        do throws(VpopmailError) {
            switch m {
            case "s":
                guard let file else { warn("vvacation: -s needs -m with the message's text"); return 255 }
                let body: String
                if file == "-" {
                    var lines: [String] = []
                    while let l = readLine(strippingNewline: false) { lines.append(l) }
                    body = lines.joined()
                } else {
                    guard let t = try? FS.readText(file) else { warn("vvacation: can't read \(file)"); return 1 }
                    body = t
                }
                try v.setVacation(user, domain: domain, VacationSettings(subject: subject, body: body, start: from, end: until, period: days * 86400))
            case "o":
                try v.setVacation(user, domain: domain, nil)
            case "q":
                guard let (a, _) = try v.user(user, domain: domain) else { throw VpopmailError(.userDoesNotExist) }
                guard let s = v.vacation(of: a) else { say("vacation: off"); return 0 }
                say("vacation: \(s.active(at: Int(time(nil))) ? "on" : "set, outside its dates")")
                say("subject: \(Validate.printable(s.subject))")
                if let f = s.start { say("from: \(formatTime(time_t(f), "%Y-%m-%d", utc: true))") }
                if let t = s.end { say("until: \(formatTime(time_t(t - 1), "%Y-%m-%d", utc: true))") }
                say("once per sender in: \(s.period / 86400) days")
                say("")
                print(s.body, terminator: "")
            default:
                guard let (a, d) = try v.user(user, domain: domain) else { throw VpopmailError(.userDoesNotExist) }
                guard let s = v.vacation(of: a) else { return 0 }
                let message = try sys { () throws(SystemError) in try Message.fromStandardInput() }
                var own = ["\(a.name)@\(d.realDomain)"]
                for alias in (try? v.aliasDomains(of: d.realDomain)) ?? [] { own.append("\(a.name)@\(alias)") }
                let sender = Proc.env("SENDER") ?? ""
                switch VacationResponder(v).respond(account: a, settings: s, own: own, sender: sender, header: message.headerLines(), now: Int(time(nil))) {
                case .replied: Counters.add([.vacationReplies], home: v.home)
                case .skipped: break
                // A reply that can't go never costs the message its delivery.
                case .failed(let why): warn(why)
                }
            }
        } catch { throw fail(error) }
        return 0
    }
}
