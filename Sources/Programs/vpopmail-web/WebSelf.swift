// Self-service (every user): password, second factor and recovery codes, app passwords, the
// flag that keeps the main password off POP/IMAP, forwards and the vacation message.
import Foundation
import Hummingbird
import VpopmailCore

extension Web {
    /// The logged-in account, fresh from the store.
    func me(_ s: Session, _ v: Installation) throws(PageExit) -> (Account, DomainInfo) {
        guard let found = try call(s, back: "/", { () throws(VpopmailError) in try v.user(s.user, domain: s.domain) }) else {
            sessions.drop(s.id)
            throw PageExit(Reply.redirect("/login"))
        }
        return found
    }

    /// The self-service page; `shown` is what is shown once (a new secret, app password, codes).
    func mePage(_ s: Session, _ v: Installation, shown: [String: Any]? = nil, notice: String? = nil) throws(PageExit) -> Response {
        let (a, d) = try me(s, v)
        let x = (try? v.secrets(of: a, domain: d)) ?? UserSecrets()
        let apps = x.appPasswords.map { p -> [String: Any] in
            ["id": p.id, "label": p.label, "services": p.services.map { $0.rawValue.uppercased() }.joined(separator: ", "), "created": Web.day(p.created)]
        }
        let f = v.forwards(of: a)
        let vac = v.vacation(of: a)
        var data: [String: Any] = [
            "address": "\(a.name)@\(d.realDomain)", "secondFactor": x.hasSecondFactor, "pending": x.pending != nil,
            "recoveryLeft": x.recovery.count, "mailLock": a.flags.contains(.appPasswordsOnly), "apps": apps,
            "forwardsEditable": v.forwardsEditable(a), "forwards": f?.addresses.joined(separator: "\n") ?? "", "keepCopy": f?.keepCopy ?? true,
            "vacationOn": vac != nil,
            "vacationState": vac.map { $0.active(at: Int(time(nil))) ? "On: mail is answered now." : "Set, but outside its dates." } ?? "Off.",
            "vacationSubject": vac?.subject ?? "Out of the office", "vacationBody": vac?.body ?? "",
            "vacationFrom": vac?.start.map(Web.day) ?? "", "vacationUntil": vac?.end.map { Web.day($0 - 1) } ?? "",
            "vacationDays": (vac?.period ?? VacationSettings.defaultPeriod) / 86400,
        ]
        if let shown { data["shown"] = shown }
        if let notice { data["notice"] = notice }
        return page("me", "My account", s, data)
    }

    static func date(_ s: String?) -> Int?? {
        guard let s = s?.trimmingCharacters(in: .whitespaces), !s.isEmpty else { return .some(nil) }
        let p = s.split(separator: "-")
        guard p.count == 3, let y = Int(p[0]), let m = Int(p[1]), let d = Int(p[2]), (1970...9999).contains(y), (1...12).contains(m), (1...31).contains(d) else { return nil }
        var tm = Glibc.tm()
        tm.tm_year = Int32(y - 1900)
        tm.tm_mon = Int32(m - 1)
        tm.tm_mday = Int32(d)
        return .some(Int(timegm(&tm)))
    }

    func registerSelf(_ t: RouteTable) {
        t.add("GET", "/me", api: false) { r in
            let s = try need(r)
            return try with(s, r) { (v) throws(PageExit) in try mePage(s, v) }
        }
        t.add("POST", "/me/password", api: false) { r in
            let s = try need(r)
            let f = r.form
            return try with(s, r) { (v) throws(PageExit) in
                let (a, _) = try me(s, v)
                guard Password.verify(f["current"] ?? "", against: a.passwordHash) else {
                    throw PageExit(message(s, "Not changed", "The current password is not right.", back: "/me", status: .forbidden))
                }
                try call(s, back: "/me") { () throws(VpopmailError) in
                    try v.setPassword(a.name, domain: s.domain, password: try v.clearPassword(f["password"] ?? ""))
                }
                return try mePage(s, v, notice: "Your password is changed.")
            }
        }
        t.add("POST", "/me/2fa/start", api: false) { r in
            let s = try need(r)
            return try with(s, r) { (v) throws(PageExit) in
                let (a, d) = try me(s, v)
                let otp = TOTP.generate()
                try call(s, back: "/me") { () throws(VpopmailError) in
                    try v.updateSecrets(of: a, domain: d, what: "second_factor_enrol") { (x: inout UserSecrets) throws(VpopmailError) in
                        guard !x.hasSecondFactor else { throw VpopmailError(.alreadyExists, "a second factor is on already") }
                        x.pending = otp
                    }
                }
                let secret = Base32.encode(otp.secret)
                return try mePage(s, v, shown: ["title": "Set up your authenticator", "text": "Add this key to your authenticator app, then enter the code it shows below.",
                                                 "secret": secret, "uri": otp.uri(account: "\(a.name)@\(d.realDomain)", issuer: "vpopmail")])
            }
        }
        t.add("POST", "/me/2fa/confirm", api: false) { r in
            let s = try need(r)
            let code = (r.form["code"] ?? "").filter { $0 != " " }
            return try with(s, r) { (v) throws(PageExit) in
                let (a, d) = try me(s, v)
                let codes = TOTP.recoveryCodes()
                let ok = try call(s, back: "/me") { () throws(VpopmailError) in
                    try v.updateSecrets(of: a, domain: d, what: "second_factor_on") { (x: inout UserSecrets) throws(VpopmailError) -> Bool in
                        guard let p = x.pending, let step = p.verify(code, at: Int(time(nil)), window: 1) else { return false }
                        x.totp = p
                        x.totpUsed = step
                        x.pending = nil
                        x.recovery = codes.map { UserSecrets.hashHex($0) }
                        return true
                    }
                }
                guard ok else { throw PageExit(message(s, "Not confirmed", "That code is not right. Check the clock of your device and try again.", back: "/me", status: .unprocessableContent)) }
                return try mePage(s, v, shown: ["title": "Second factor on", "text": "From now on a login asks for a code.", "secret": "",
                                                 "codes": codes, "hasCodes": true])
            }
        }
        t.add("POST", "/me/2fa/disable", api: false) { r in
            let s = try need(r)
            let code = r.form["code"] ?? ""
            return try with(s, r) { (v) throws(PageExit) in
                let (a, d) = try me(s, v)
                let ok = try call(s, back: "/me") { () throws(VpopmailError) in
                    try v.updateSecrets(of: a, domain: d, what: "second_factor_off") { (x: inout UserSecrets) throws(VpopmailError) -> Bool in
                        guard x.acceptCode(code, now: Int(time(nil))) else { return false }
                        x.totp = nil
                        x.totpUsed = 0
                        x.recovery = []
                        return true
                    }
                }
                guard ok else { throw PageExit(message(s, "Still on", "That code is not right.", back: "/me", status: .forbidden)) }
                // Without a second factor the main password is the mail clients' again.
                if a.flags.contains(.appPasswordsOnly) {
                    try call(s, back: "/me") { () throws(VpopmailError) in
                        try v.modifyUser(a.name, domain: d.realDomain) { (x) throws(VpopmailError) in x.flags.remove(.appPasswordsOnly) }
                    }
                }
                return try mePage(s, v, notice: "The second factor is off.")
            }
        }
        t.add("POST", "/me/mail-lock", api: false) { r in
            let s = try need(r)
            let on = r.form["on"] == "yes"
            return try with(s, r) { (v) throws(PageExit) in
                let (a, d) = try me(s, v)
                if on && !((try? v.secrets(of: a, domain: d))?.hasSecondFactor ?? false) {
                    throw PageExit(message(s, "Not changed", "Set up a second factor first.", back: "/me", status: .conflict))
                }
                try call(s, back: "/me") { () throws(VpopmailError) in
                    try v.modifyUser(a.name, domain: d.realDomain) { (x) throws(VpopmailError) in
                        if on { x.flags.insert(.appPasswordsOnly) } else { x.flags.remove(.appPasswordsOnly) }
                    }
                }
                return try mePage(s, v, notice: on ? "Your main password no longer opens POP and IMAP: use app passwords there." : "Your main password opens POP and IMAP again.")
            }
        }
        t.add("POST", "/me/app-passwords", api: false) { r in
            let s = try need(r)
            let f = r.form
            let services = AppService.allCases.filter { f[$0.rawValue] == "yes" }
            return try with(s, r) { (v) throws(PageExit) in
                let (a, d) = try me(s, v)
                let (p, text) = try call(s, back: "/me") { () throws(VpopmailError) in
                    try v.addAppPassword(a, domain: d, label: f["label"] ?? "", services: services)
                }
                return try mePage(s, v, shown: ["title": "App password \"\(p.label)\"", "text": "Use it in the app instead of your password. It is shown only now.", "secret": text])
            }
        }
        t.add("POST", "/me/app-passwords/{id}/revoke", api: false) { r in
            let s = try need(r)
            return try with(s, r) { (v) throws(PageExit) in
                let (a, d) = try me(s, v)
                try call(s, back: "/me") { () throws(VpopmailError) in try v.revokeAppPassword(a, domain: d, id: r.param("id")) }
                return try mePage(s, v, notice: "The app password is revoked.")
            }
        }
        t.add("POST", "/me/forwards", api: false) { r in
            let s = try need(r)
            let f = r.form
            let list = (f["addresses"] ?? "").split(whereSeparator: { $0.isNewline || $0 == "," })
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return try with(s, r) { (v) throws(PageExit) in
                try call(s, back: "/me") { () throws(VpopmailError) in
                    try v.setForwards(s.user, domain: s.domain, UserForwards(addresses: list, keepCopy: f["keep"] == "yes"))
                }
                return try mePage(s, v, notice: list.isEmpty ? "Your mail is no longer forwarded." : "Your forwards are saved.")
            }
        }
        t.add("POST", "/me/vacation", api: false) { r in
            let s = try need(r)
            let f = r.form
            guard let from = Web.date(f["from"]), let until = Web.date(f["until"]) else {
                return message(s, "Not saved", "Dates are YYYY-MM-DD.", back: "/me", status: .unprocessableContent)
            }
            guard let days = Int(f["days"] ?? "7"), (1...365).contains(days) else {
                return message(s, "Not saved", "Answer each sender once in 1 to 365 days.", back: "/me", status: .unprocessableContent)
            }
            let settings = VacationSettings(subject: f["subject"] ?? "", body: f["body"] ?? "", start: from, end: until.map { $0 + 86400 }, period: days * 86400)
            return try with(s, r) { (v) throws(PageExit) in
                try call(s, back: "/me") { () throws(VpopmailError) in try v.setVacation(s.user, domain: s.domain, settings) }
                return try mePage(s, v, notice: "Your vacation message is on.")
            }
        }
        t.add("POST", "/me/vacation/off", api: false) { r in
            let s = try need(r)
            return try with(s, r) { (v) throws(PageExit) in
                try call(s, back: "/me") { () throws(VpopmailError) in try v.setVacation(s.user, domain: s.domain, nil) }
                return try mePage(s, v, notice: "Your vacation message is off.")
            }
        }
    }
}
