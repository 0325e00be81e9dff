// The web admin's pages after the login: domains and accounts (super admin, domain admin),
// the audit log, API keys (super admin, with a second-factor code), and self-service.
import Foundation
import Hummingbird
import VpopmailCore

extension Web {
    static func day(_ t: Int) -> String { formatTime(time_t(t), "%Y-%m-%d", utc: true) }
    static func when(_ t: Int) -> String { formatTime(time_t(t), "%Y-%m-%d %H:%M", utc: true) }
    static func size(_ b: UInt64) -> String {
        b >= 1 << 30 ? String(format: "%.1f GB", Double(b) / Double(1 << 30)) : b >= 1 << 20 ? String(format: "%.1f MB", Double(b) / Double(1 << 20)) : "\(b / 1024) kB"
    }

    /// A page about one domain, for `role`: the domain is one the session may manage; `body`
    /// gets the request, the session, the installation, the domain and its page's address.
    func domainPage(_ t: RouteTable, _ method: String, _ path: String, _ role: Role,
                    _ body: @escaping @Sendable (Req, Session, Installation, DomainInfo, String) throws(PageExit) -> Response) {
        t.add(method, path, api: false) { r in
            let s = try need(r, role)
            return try with(s, r) { (v) throws(PageExit) in
                let d = try allowDomain(s, v, r.param("domain"))
                return try body(r, s, v, d, "/domains/\(Web.pathPart(d.realDomain))")
            }
        }
    }

    func registerAdmin(_ t: RouteTable) {
        t.add("GET", "/domains", api: false) { r in
            let s = try need(r, .superAdmin)
            let q = (r.query["q"] ?? "").lowercased()
            return try with(s, r) { (v) throws(PageExit) in
                let all = try call(s, back: "/") { () throws(VpopmailError) in try v.qmail.domainEntries() }
                let real = all.filter { $0.name == $0.realDomain && (q.isEmpty || $0.name.contains(q)) }.sorted { $0.name < $1.name }
                let items = real.prefix(500).map { d -> [String: Any] in
                    ["name": d.name, "aliases": all.filter { $0.realDomain == d.name && $0.name != d.name }.map(\.name).joined(separator: ", ")]
                }
                return page("domains", "Domains", s, ["items": Array(items), "q": q])
            }
        }
        t.add("POST", "/domains", api: false) { r in
            let s = try need(r, .superAdmin)
            let f = r.form
            let name = (f["name"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            return try with(s, r) { (v) throws(PageExit) in
                try call(s, back: "/domains") { () throws(VpopmailError) in
                    try v.addDomain(name, postmasterPassword: try v.clearPassword(f["password"] ?? ""))
                }
                return Reply.redirect("/domains/\(Web.pathPart(name))")
            }
        }
        t.add("GET", "/domains/{domain}", api: false) { r in
            let s = try need(r, .domainAdmin)
            let q = (r.query["q"] ?? "").lowercased()
            let offset = max(0, Int(r.query["offset"] ?? "") ?? 0)
            return try with(s, r) { (v) throws(PageExit) in
                let d = try allowDomain(s, v, r.param("domain"))
                let accounts = try call(s, back: "/") { () throws(VpopmailError) in try v.users(domain: d.realDomain) }.accounts
                    .filter { q.isEmpty || $0.name.contains(q) || $0.gecos.lowercased().contains(q) }.sorted { $0.name < $1.name }
                let per = 50
                let items = accounts.dropFirst(offset).prefix(per).map { a -> [String: Any] in
                    ["name": a.name, "gecos": a.gecos, "quota": a.quota.isNone ? "none" : Web.size(a.quota.bytes), "domain": d.realDomain]
                }
                var aliases: [[String: Any]] = []
                for n in (try? v.aliasNames(d)) ?? [] {
                    aliases.append(["name": n, "domain": d.realDomain, "csrf": s.csrf,
                                    "lines": ((try? v.aliasLines(n, d)) ?? nil)?.joined(separator: ", ") ?? ""])
                }
                let base = "/domains/\(Web.pathPart(d.realDomain))?q=\(Web.queryPart(q))&offset="
                var data: [String: Any] = ["name": d.realDomain, "users": accounts.count, "items": Array(items), "aliases": aliases, "q": q]
                let aliasDomains = (try? v.aliasDomains(of: d.realDomain)) ?? []
                if !aliasDomains.isEmpty { data["aliasDomains"] = aliasDomains.joined(separator: ", ") }
                if offset > 0 { data["prev"] = base + "\(max(0, offset - per))" }
                if offset + per < accounts.count { data["next"] = base + "\(offset + per)" }
                return page("domain", d.realDomain, s, data)
            }
        }
        domainPage(t, "POST", "/domains/{domain}/users", .domainAdmin) { (r, s, v, d, back) throws(PageExit) in
            let f = r.form
            let user = (f["user"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            let quota = (f["quota"] ?? "").trimmingCharacters(in: .whitespaces)
            let gecos = (f["gecos"] ?? "").trimmingCharacters(in: .whitespaces)
            let a = try call(s, back: back) { () throws(VpopmailError) in
                guard let name = try UserName.lookup(user) else { throw VpopmailError(.illegalUsername) }
                return try v.addUser(.init(name: name, password: .clear(try v.clearPassword(f["password"] ?? "")),
                                           gecos: gecos.isEmpty ? nil : gecos, quota: quota.isEmpty ? nil : try Quota.parse(quota)),
                                     domain: d.realDomain)
            }
            return Reply.redirect("\(back)/users/\(Web.pathPart(a.name))")
        }
        domainPage(t, "GET", "/domains/{domain}/users/{user}", .domainAdmin) { (r, s, v, d, back) throws(PageExit) in
            guard let (a, _) = try call(s, back: "/", { () throws(VpopmailError) in try v.user(r.param("user"), domain: d.realDomain) }) else {
                throw PageExit(message(s, "No such account", "There is no account \(r.param("user"))@\(d.realDomain).", back: back, status: .notFound))
            }
            let u = Maildir.usage(maildir: a.maildir, quota: a.quota, owner: d.owner, sync: v.sync)
            let last = v.lastAuth(a, domain: d)
            let vac = v.vacation(of: a)
            let data: [String: Any] = [
                "address": "\(a.name)@\(d.realDomain)", "name": a.name, "domain": d.realDomain, "gecos": a.gecos,
                "quota": a.quota.isNone ? "NOQUOTA" : a.quota.spelling, "usage": Web.size(u.bytes),
                "lastLogin": last.flatMap { $0.neverLoggedIn ? nil : "\(Web.when($0.time)) from \($0.ip)" } ?? "never",
                "secondFactor": ((try? v.secrets(of: a, domain: d))?.hasSecondFactor ?? false) ? "on" : "off",
                "vacation": vac.map { $0.active(at: Int(time(nil))) ? "on: \($0.subject)" : "set, outside its dates" } ?? "off",
            ]
            return page("user", "\(a.name)@\(d.realDomain)", s, data)
        }
        domainPage(t, "POST", "/domains/{domain}/users/{user}/password", .domainAdmin) { (r, s, v, d, back) throws(PageExit) in
            let userPage = back + "/users/\(Web.pathPart(r.param("user")))"
            try changeable(s, v, d, r.param("user"), back: userPage)
            try call(s, back: userPage) { () throws(VpopmailError) in
                try v.setPassword(r.param("user"), domain: d.realDomain, password: try v.clearPassword(r.form["password"] ?? ""))
            }
            return message(s, "Password set", "The password of \(r.param("user"))@\(d.realDomain) is changed.", back: userPage, status: .ok)
        }
        domainPage(t, "POST", "/domains/{domain}/users/{user}/quota", .domainAdmin) { (r, s, v, d, back) throws(PageExit) in
            let userPage = back + "/users/\(Web.pathPart(r.param("user")))"
            try changeable(s, v, d, r.param("user"), back: userPage)
            try call(s, back: userPage) { () throws(VpopmailError) in
                _ = try v.setQuota(r.param("user"), domain: d.realDomain, quota: try Quota.parse((r.form["quota"] ?? "").trimmingCharacters(in: .whitespaces)))
            }
            return Reply.redirect(userPage)
        }
        domainPage(t, "POST", "/domains/{domain}/users/{user}/delete", .domainAdmin) { (r, s, v, d, back) throws(PageExit) in
            guard r.form["confirm"] == "yes" else {
                throw PageExit(message(s, "Not deleted", "Tick the box to confirm the deletion.", back: back, status: .unprocessableContent))
            }
            if r.param("user").lowercased() == s.user && d.realDomain == s.domain {
                throw PageExit(message(s, "Not deleted", "You can't delete the account you are logged in with.", back: back, status: .conflict))
            }
            try changeable(s, v, d, r.param("user"), back: back)
            try call(s, back: back) { () throws(VpopmailError) in try v.deleteUser(r.param("user"), domain: d.realDomain) }
            return Reply.redirect(back)
        }
        domainPage(t, "POST", "/domains/{domain}/aliases", .domainAdmin) { (r, s, v, d, back) throws(PageExit) in
            let f = r.form
            let name = (f["alias"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            // Addresses only: a page never writes a program line.
            var lines: [String] = []
            for x in (f["to"] ?? "").split(whereSeparator: { $0.isNewline || $0 == "," }) {
                let t = x.trimmingCharacters(in: .whitespaces)
                if t.isEmpty { continue }
                lines.append("&" + (try call(s, back: back) { () throws(VpopmailError) in try UserForwards.checkAddress(t) }))
            }
            guard !lines.isEmpty else { throw PageExit(message(s, "Not added", "Give at least one address.", back: back, status: .unprocessableContent)) }
            for l in lines { try call(s, back: back) { () throws(VpopmailError) in try v.addAliasLine(name, l, domain: d.realDomain) } }
            return Reply.redirect(back)
        }
        domainPage(t, "POST", "/domains/{domain}/aliases/{alias}/delete", .domainAdmin) { (r, s, v, d, back) throws(PageExit) in
            try call(s, back: back) { () throws(VpopmailError) in try v.deleteAlias(r.param("alias"), domain: d.realDomain) }
            return Reply.redirect(back)
        }
        domainPage(t, "POST", "/domains/{domain}/alias-domains", .superAdmin) { (r, s, v, d, back) throws(PageExit) in
            _ = try call(s, back: back) { () throws(VpopmailError) in
                try v.addAliasDomain(alias: (r.form["alias"] ?? "").trimmingCharacters(in: .whitespaces), real: d.realDomain)
            }
            return Reply.redirect(back)
        }
        domainPage(t, "POST", "/domains/{domain}/delete", .superAdmin) { (r, s, v, d, back) throws(PageExit) in
            guard r.form["confirm"] == "yes" else {
                throw PageExit(message(s, "Not deleted", "Tick the box to confirm the deletion.", back: back, status: .unprocessableContent))
            }
            if d.realDomain == s.domain {
                throw PageExit(message(s, "Not deleted", "You can't delete the domain of the account you are logged in with.", back: back, status: .conflict))
            }
            try call(s, back: back) { () throws(VpopmailError) in try v.deleteDomain(d.name) }
            return Reply.redirect("/domains")
        }
        t.add("GET", "/audit", api: false) { r in
            let s = try need(r, .domainAdmin)
            let q = (r.query["q"] ?? "").lowercased()
            return try with(s, r) { (v) throws(PageExit) in
                // A domain admin sees the entries of its own domain.
                let mine = s.role == .superAdmin ? nil : AuditFilter(domain: s.domain)
                let entries = try call(s, back: "/") { () throws(VpopmailError) in
                    try v.auditEntries(limit: 200) { e in
                        (mine?.accepts(e) ?? true) && (q.isEmpty || e.object.lowercased().contains(q))
                    }
                }
                let items = entries.reversed().map { e -> [String: Any] in
                    ["time": Web.when(e.time), "who": e.who, "via": e.via, "from": e.from, "action": e.action, "object": e.object,
                     "before": e.before ?? "", "after": e.after ?? ""]
                }
                return page("audit", "Audit log", s, ["items": Array(items), "q": q])
            }
        }
        t.add("GET", "/api-keys", api: false) { r in
            let s = try need(r, .superAdmin)
            return try with(s, r) { (v) throws(PageExit) in keysPage(s, v, shown: nil) }
        }
        t.add("POST", "/api-keys", api: false) { r in
            let s = try need(r, .superAdmin)
            let f = r.form
            return try with(s, r) { (v) throws(PageExit) in
                // Making a key needs a fresh second-factor code (and so a second factor).
                try fresh(s, v, code: f["code"] ?? "", back: "/api-keys")
                let list = (f["domains"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                let (_, text) = try call(s, back: "/api-keys") { () throws(VpopmailError) in
                    try v.addAPIKey(scope: f["scope"] == "write" ? .write : .read, domains: list.isEmpty ? nil : list, label: f["label"] ?? "")
                }
                return keysPage(s, v, shown: text)
            }
        }
        t.add("POST", "/api-keys/{id}/revoke", api: false) { r in
            let s = try need(r, .superAdmin)
            return try with(s, r) { (v) throws(PageExit) in
                try call(s, back: "/api-keys") { () throws(VpopmailError) in try v.revokeAPIKey(r.param("id")) }
                return Reply.redirect("/api-keys")
            }
        }
    }

    /// An account a domain admin may change: in its domain, and not a system admin (whose
    /// password would make the domain admin a super admin).
    func changeable(_ s: Session, _ v: Installation, _ d: DomainInfo, _ user: String, back: String) throws(PageExit) {
        guard let (a, _) = try call(s, back: back, { () throws(VpopmailError) in try v.user(user, domain: d.realDomain) }) else {
            throw PageExit(message(s, "No such account", "There is no account \(user)@\(d.realDomain).", back: back, status: .notFound))
        }
        if a.flags.contains(.systemAdmin) && s.role != .superAdmin {
            throw PageExit(message(s, "Not allowed", "Only a super admin changes a system administrator's account.", back: back, status: .forbidden))
        }
    }

    func keysPage(_ s: Session, _ v: Installation, shown: String?) -> Response {
        let items = ((try? v.apiKeys()) ?? []).map { k -> [String: Any] in
            ["id": k.id, "scope": k.scope == .write ? "read-write" : "read-only", "domains": k.domains?.joined(separator: ", ") ?? "all", "label": k.label]
        }
        var data: [String: Any] = ["items": items]
        if let shown { data["shown"] = shown }
        return page("keys", "API keys", s, data)
    }

    /// A second-factor code checked now (for a sensitive change); the account must have one.
    func fresh(_ s: Session, _ v: Installation, code: String, back: String) throws(PageExit) {
        guard let (a, d) = try call(s, back: back, { () throws(VpopmailError) in try v.user(s.user, domain: s.domain) }) else {
            throw PageExit(Reply.redirect("/login"))
        }
        let ok = try call(s, back: back) { () throws(VpopmailError) in
            try v.updateSecrets(of: a, domain: d, what: "second_factor_used") { (x: inout UserSecrets) throws(VpopmailError) -> Bool in
                guard x.hasSecondFactor else { throw VpopmailError(.secondFactor, "set up a second factor (My account) before making API keys") }
                return x.acceptCode(code, now: Int(time(nil)))
            }
        }
        guard ok else { throw PageExit(message(s, "Refused", "That second-factor code is not right (or was used already).", back: back, status: .forbidden)) }
    }

    static func pathPart(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? "" }
    static func queryPart(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "" }
}
