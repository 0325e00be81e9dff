// The REST API under /api/v1 (docs/web.md; the OpenAPI document in OpenAPI.swift): every
// operation a library call with the library's rules, locks, hooks and audit entry, on every
// store. A request carries `Authorization: Bearer vpk_...` (vapikey); a read-only key may only
// GET, a key for some domains sees and changes those only.
import Foundation
import Hummingbird
import VpopmailCore

struct API {
    let backend: Backend

    static let flagNames: [(String, AccountFlags)] = [
        ("noPasswordChange", .noPasswordChange), ("noPop", .noPOP), ("noWebmail", .noWebmail), ("noImap", .noIMAP),
        ("noSmtp", .noSMTP), ("bounceMail", .bounceMail), ("noRelay", .noRelay), ("noDialup", .noDialup),
        ("domainAdmin", .qmailAdmin), ("systemAdmin", .systemAdmin), ("noSpamassassin", .noSpamassassin),
        ("deleteSpam", .deleteSpam), ("noMaildrop", .noMaildrop), ("overrideDomainLimits", .overrideDomainLimits),
        ("appPasswordsOnly", .appPasswordsOnly),
    ]

    // MARK: - Keys and scopes

    /// The key of a request, checked for `write` and, when given, `domain`.
    func key(_ r: Req, write: Bool, domain: String? = nil, allDomains: Bool = false) throws(APIError) -> APIKey {
        guard let h = r.header("Authorization"), h.hasPrefix("Bearer ") else {
            throw APIError(.unauthorized, "unauthorized", "an API key is needed: Authorization: Bearer vpk_...")
        }
        let text = String(h.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        let keys = try backend.with(AuditActor(who: "api", via: "api", from: r.remoteIP)) { (v) throws(APIError) in try lib { () throws(VpopmailError) in try v.apiKeys() } }
        guard let k = Installation.matchAPIKey(text, in: keys) else { throw APIError(.unauthorized, "unauthorized", "unknown or revoked API key") }
        if write && k.scope != .write { throw APIError(.forbidden, "read_only", "this API key may only read") }
        if allDomains && k.domains != nil { throw APIError(.forbidden, "forbidden", "this API key is for some domains only") }
        if let d = domain, !k.allows(domain: d) { throw APIError(.forbidden, "forbidden", "this API key is not for \(d)") }
        return k
    }

    func actor(_ k: APIKey, _ r: Req) -> AuditActor { AuditActor(who: "api-key:\(k.id)", via: "api", from: r.remoteIP) }

    /// The real domain a path names (an alias domain answers as its real one), checked against the key.
    func domain(_ v: Installation, _ name: String, _ k: APIKey) throws(APIError) -> DomainInfo {
        guard let d = try lib({ () throws(VpopmailError) in try v.domain(name) }) else {
            throw APIError(.notFound, "domain_not_found", "no such domain: \(Validate.printable(name))")
        }
        guard k.allows(domain: d.realDomain) || k.allows(domain: d.name) else { throw APIError(.forbidden, "forbidden", "this API key is not for \(d.realDomain)") }
        return d
    }

    func account(_ v: Installation, _ d: DomainInfo, _ user: String) throws(APIError) -> Account {
        guard let a = try lib({ () throws(VpopmailError) in try v.user(user, domain: d.realDomain) })?.account else {
            throw APIError(.notFound, "user_not_found", "no such user: \(Validate.printable(user))@\(d.realDomain)")
        }
        return a
    }

    /// An account `k` may change: a key for some domains never changes a system admin's
    /// account (its password would open every domain).
    func changeable(_ v: Installation, _ d: DomainInfo, _ user: String, _ k: APIKey) throws(APIError) -> Account {
        let a = try account(v, d, user)
        if a.flags.contains(.systemAdmin) && k.domains != nil {
            throw APIError(.forbidden, "forbidden", "only a key for all domains changes a system administrator's account")
        }
        return a
    }

    // MARK: - Fields

    static func string(_ o: [String: Any], _ k: String, required: Bool = false, max: Int = 1024) throws(APIError) -> String? {
        guard let x = o[k] else {
            if required { throw APIError(.unprocessableContent, "invalid", "missing field: \(k)") }
            return nil
        }
        guard let s = x as? String else { throw APIError(.unprocessableContent, "invalid", "\(k) must be a string") }
        guard s.utf8.count <= max else { throw APIError(.unprocessableContent, "invalid", "\(k) is longer than \(max) bytes") }
        return s
    }

    static func bool(_ o: [String: Any], _ k: String) throws(APIError) -> Bool? {
        guard let x = o[k] else { return nil }
        guard let b = JSONValue.bool(x) else {
            throw APIError(.unprocessableContent, "invalid", "\(k) must be true or false")
        }
        return b
    }

    static func int(_ o: [String: Any], _ k: String, min: Int = Int.min, max: Int = Int.max) throws(APIError) -> Int? {
        guard let x = o[k] else { return nil }
        guard let i = JSONValue.int(x), i >= min, i <= max else {
            throw APIError(.unprocessableContent, "invalid", "\(k) must be a whole number from \(min) to \(max)")
        }
        return i
    }

    static func strings(_ o: [String: Any], _ k: String, max: Int = 100) throws(APIError) -> [String]? {
        guard let x = o[k] else { return nil }
        guard let a = x as? [Any], a.count <= max, a.allSatisfy({ $0 is String }) else {
            throw APIError(.unprocessableContent, "invalid", "\(k) must be a list of at most \(max) strings")
        }
        return a.map { $0 as! String }
    }

    /// Only the fields an operation knows: a typo is an error, not a silent no-op.
    static func only(_ o: [String: Any], _ allowed: Set<String>) throws(APIError) {
        if let extra = o.keys.first(where: { !allowed.contains($0) }) {
            throw APIError(.unprocessableContent, "invalid", "unknown field: \(Validate.printable(extra))")
        }
    }

    /// A query parameter of at most `max` bytes.
    static func query(_ r: Req, _ name: String, max: Int) throws(APIError) -> String? {
        guard let v = r.query[name] else { return nil }
        guard v.utf8.count <= max else { throw APIError(.badRequest, "invalid", "\(name) is longer than \(max) bytes") }
        return v
    }

    static func paging(_ r: Req) throws(APIError) -> (offset: Int, limit: Int, search: String) {
        let offset = try r.query["offset"].map { (s) throws(APIError) -> Int in
            guard let n = Int(s), n >= 0, n <= 1_000_000_000 else { throw APIError(.badRequest, "invalid", "offset must be a whole number from 0 to 1000000000") }
            return n
        } ?? 0
        let limit = try r.query["limit"].map { (s) throws(APIError) -> Int in
            guard let n = Int(s), n >= 1, n <= 1000 else { throw APIError(.badRequest, "invalid", "limit must be from 1 to 1000") }
            return n
        } ?? 100
        return (offset, limit, (try query(r, "search", max: 255) ?? "").lowercased())
    }

    // MARK: - Views

    func domainView(_ v: Installation, _ d: DomainInfo, full: Bool) throws(APIError) -> [String: Any] {
        var o: [String: Any] = ["name": d.name, "aliasDomains": try lib { () throws(VpopmailError) in try v.aliasDomains(of: d.realDomain) }]
        if d.isAlias { o["aliasOf"] = d.realDomain }
        if full {
            o["users"] = Int(try lib { () throws(VpopmailError) in try v.userCounter(d) })
            o["directory"] = d.dir
            o["uid"] = Int(d.uid)
            o["gid"] = Int(d.gid)
        }
        return o
    }

    static func flagsView(_ f: AccountFlags) -> [String: Bool] {
        var o: [String: Bool] = [:]
        for (n, bit) in flagNames { o[n] = f.contains(bit) }
        return o
    }

    func userView(_ v: Installation, _ a: Account, _ d: DomainInfo, full: Bool) -> [String: Any] {
        var o: [String: Any] = ["name": a.name, "address": "\(a.name)@\(d.realDomain)", "gecos": a.gecos,
                                "quota": ["spelling": a.quota.spelling.isEmpty ? "NOQUOTA" : a.quota.spelling,
                                          "bytes": Int(a.quota.bytes), "messages": Int(a.quota.count)] as [String: Any]]
        guard full else { return o }
        o["home"] = a.home
        o["flags"] = API.flagsView(a.flags)
        let u = Maildir.usage(maildir: a.maildir, quota: a.quota, owner: d.owner, sync: v.sync)
        o["usage"] = ["bytes": Int(u.bytes), "messages": Int(u.count),
                      "percent": a.quota.isNone ? 0 : Maildir.percent(bytes: u.bytes, count: u.count, quota: a.quota)] as [String: Any]
        if let l = v.lastAuth(a, domain: d), !l.neverLoggedIn { o["lastLogin"] = ["time": l.time, "ip": l.ip] as [String: Any] } else { o["lastLogin"] = NSNull() }
        let s = (try? v.secrets(of: a, domain: d)) ?? UserSecrets()
        o["secondFactor"] = s.hasSecondFactor
        o["appPasswords"] = s.appPasswords.count
        o["vacation"] = v.vacation(of: a).map { $0.active(at: Int(time(nil))) } ?? false
        return o
    }

    static func vacationView(_ s: VacationSettings?) -> [String: Any] {
        guard let s else { return ["enabled": false] }
        var o: [String: Any] = ["enabled": true, "active": s.active(at: Int(time(nil))), "subject": s.subject, "body": s.body, "periodDays": s.period / 86400]
        o["start"] = s.start.map { $0 as Any } ?? NSNull()
        o["end"] = s.end.map { $0 as Any } ?? NSNull()
        return o
    }

    // MARK: - Routes

    func register(_ t: RouteTable) {
        let p = "/api/v1"
        t.add("GET", p + "/domains", api: true) { r in
            let k = try key(r, write: false)
            let (offset, limit, search) = try API.paging(r)
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let all = try lib { () throws(VpopmailError) in try v.qmail.domainEntries() }
                    .filter { $0.name == $0.realDomain && k.allows(domain: $0.name) && (search.isEmpty || $0.name.contains(search)) }
                    .sorted { $0.name < $1.name }
                var items: [[String: Any]] = []
                for d in all.dropFirst(offset).prefix(limit) { items.append(try domainView(v, d, full: false)) }
                return Reply.json(["items": items, "total": all.count, "offset": offset, "limit": limit])
            }
        }
        t.add("POST", p + "/domains", api: true) { r in
            let k = try key(r, write: true, allDomains: true)
            let o = try r.jsonObject()
            try API.only(o, ["name", "postmasterPassword"])
            let name = try API.string(o, "name", required: true, max: 255)!
            let pw = try API.string(o, "postmasterPassword", required: true, max: LengthLimits.maxClearPassword)!
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                try lib { () throws(VpopmailError) in try v.addDomain(name, postmasterPassword: try v.clearPassword(pw)) }
                let d = try domain(v, name.lowercased(), k)
                return Reply.json(try domainView(v, d, full: true), status: .created)
            }
        }
        t.add("GET", p + "/domains/{domain}", api: true) { r in
            let k = try key(r, write: false, domain: r.param("domain"))
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                Reply.json(try domainView(v, try domain(v, r.param("domain"), k), full: true))
            }
        }
        t.add("DELETE", p + "/domains/{domain}", api: true) { r in
            let k = try key(r, write: true, domain: r.param("domain"), allDomains: true)
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                try lib { () throws(VpopmailError) in try v.deleteDomain(d.name) }
                return Reply.noContent()
            }
        }
        t.add("GET", p + "/domains/{domain}/alias-domains", api: true) { r in
            let k = try key(r, write: false, domain: r.param("domain"))
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                return Reply.json(["items": try lib { () throws(VpopmailError) in try v.aliasDomains(of: d.realDomain) }])
            }
        }
        t.add("POST", p + "/domains/{domain}/alias-domains", api: true) { r in
            let k = try key(r, write: true, allDomains: true)
            let o = try r.jsonObject()
            try API.only(o, ["name"])
            let alias = try API.string(o, "name", required: true, max: 255)!
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                _ = try lib { () throws(VpopmailError) in try v.addAliasDomain(alias: alias, real: d.realDomain) }
                return Reply.json(["items": try lib { () throws(VpopmailError) in try v.aliasDomains(of: d.realDomain) }], status: .created)
            }
        }
        t.add("DELETE", p + "/domains/{domain}/alias-domains/{alias}", api: true) { r in
            let k = try key(r, write: true, allDomains: true)
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                let alias = r.param("alias").lowercased()
                guard try lib({ () throws(VpopmailError) in try v.aliasDomains(of: d.realDomain) }).contains(alias) else {
                    throw APIError(.notFound, "domain_not_found", "\(Validate.printable(alias)) is not an alias of \(d.realDomain)")
                }
                try lib { () throws(VpopmailError) in try v.deleteDomain(alias) }
                return Reply.noContent()
            }
        }
        registerUsers(t, p)
        registerMail(t, p)
        registerSite(t, p)
    }

    func registerUsers(_ t: RouteTable, _ p: String) {
        let u = p + "/domains/{domain}/users"
        t.add("GET", u, api: true) { r in
            let k = try key(r, write: false, domain: r.param("domain"))
            let (offset, limit, search) = try API.paging(r)
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                let all = try lib { () throws(VpopmailError) in try v.users(domain: d.realDomain) }.accounts
                    .filter { search.isEmpty || $0.name.contains(search) || $0.gecos.lowercased().contains(search) }
                    .sorted { $0.name < $1.name }
                let items = all.dropFirst(offset).prefix(limit).map { userView(v, $0, d, full: false) }
                return Reply.json(["items": Array(items), "total": all.count, "offset": offset, "limit": limit])
            }
        }
        t.add("POST", u, api: true) { r in
            let k = try key(r, write: true, domain: r.param("domain"))
            let o = try r.jsonObject()
            try API.only(o, ["name", "password", "gecos", "quota"])
            let name = try API.string(o, "name", required: true, max: LengthLimits.maxUserName)!
            let pw = try API.string(o, "password", required: true, max: LengthLimits.maxClearPassword)!
            let gecos = try API.string(o, "gecos", max: LengthLimits.maxGecos)
            let quota = try API.string(o, "quota", max: LengthLimits.maxQuota)
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                let a = try lib { () throws(VpopmailError) in
                    guard let n = try UserName.lookup(name) else { throw VpopmailError(.illegalUsername) }
                    let q: Quota? = try quota.map { (q) throws(VpopmailError) in try Quota.parse(q) }
                    return try v.addUser(Installation.NewAccount(name: n, password: .clear(try v.clearPassword(pw)), gecos: gecos, quota: q),
                                         domain: d.realDomain)
                }
                return Reply.json(userView(v, a, d, full: true), status: .created)
            }
        }
        t.add("GET", u + "/{user}", api: true) { r in
            let k = try key(r, write: false, domain: r.param("domain"))
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                return Reply.json(userView(v, try account(v, d, r.param("user")), d, full: true))
            }
        }
        t.add("PATCH", u + "/{user}", api: true) { r in
            let k = try key(r, write: true, domain: r.param("domain"))
            let o = try r.jsonObject()
            try API.only(o, ["gecos", "quota", "flags"])
            let gecos = try API.string(o, "gecos", max: LengthLimits.maxGecos)
            let quota = try API.string(o, "quota", max: LengthLimits.maxQuota)
            var set: [(AccountFlags, Bool)] = []
            if let f = o["flags"] {
                guard let fo = f as? [String: Any] else { throw APIError(.unprocessableContent, "invalid", "flags must be an object") }
                for (name, _) in fo {
                    guard let bit = API.flagNames.first(where: { $0.0 == name })?.1 else {
                        throw APIError(.unprocessableContent, "invalid", "unknown flag: \(Validate.printable(name))")
                    }
                    // Only a key for every domain makes a system admin (who may then change every domain).
                    if bit == .systemAdmin && k.domains != nil { throw APIError(.forbidden, "forbidden", "only a key for all domains sets systemAdmin") }
                    set.append((bit, try API.bool(fo, name)!))
                }
            }
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                let user = try changeable(v, d, r.param("user"), k).name
                let q = try lib { () throws(VpopmailError) in try quota.map { (q) throws(VpopmailError) in try Quota.parse(q) } }
                let a = try lib { () throws(VpopmailError) in
                    try v.modifyUser(user, domain: d.realDomain) { (a) throws(VpopmailError) in
                        if let g = gecos {
                            guard !Validate.breaksLine(g) else { throw VpopmailError(.badChar) }
                            a.gecos = g
                        }
                        if let q { a.quota = q }
                        for (bit, on) in set { if on { a.flags.insert(bit) } else { a.flags.remove(bit) } }
                    }
                }
                if q != nil { try lib { () throws(VpopmailError) in try v.rebuildMaildirsize(a, domain: d) } }
                return Reply.json(userView(v, a, d, full: true))
            }
        }
        t.add("PUT", u + "/{user}/password", api: true) { r in
            let k = try key(r, write: true, domain: r.param("domain"))
            let o = try r.jsonObject()
            try API.only(o, ["password"])
            let pw = try API.string(o, "password", required: true, max: LengthLimits.maxClearPassword)!
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                let user = try changeable(v, d, r.param("user"), k).name
                try lib { () throws(VpopmailError) in try v.setPassword(user, domain: d.realDomain, password: try v.clearPassword(pw), force: true) }
                return Reply.noContent()
            }
        }
        t.add("DELETE", u + "/{user}", api: true) { r in
            let k = try key(r, write: true, domain: r.param("domain"))
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                let user = try changeable(v, d, r.param("user"), k).name
                try lib { () throws(VpopmailError) in try v.deleteUser(user, domain: d.realDomain) }
                return Reply.noContent()
            }
        }
        t.add("GET", u + "/{user}/forwards", api: true) { r in
            let k = try key(r, write: false, domain: r.param("domain"))
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                let a = try account(v, d, r.param("user"))
                guard v.forwardsEditable(a) else { throw APIError(.conflict, "custom_dot_qmail", "the user's .qmail holds more than forwards") }
                let f = v.forwards(of: a) ?? UserForwards(addresses: [], keepCopy: true)
                return Reply.json(["addresses": f.addresses, "keepCopy": f.keepCopy])
            }
        }
        t.add("PUT", u + "/{user}/forwards", api: true) { r in
            let k = try key(r, write: true, domain: r.param("domain"))
            let o = try r.jsonObject()
            try API.only(o, ["addresses", "keepCopy"])
            let list = try API.strings(o, "addresses", max: UserForwards.maxAddresses) ?? []
            let keep = try API.bool(o, "keepCopy") ?? false
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                let a = try account(v, d, r.param("user"))
                try lib { () throws(VpopmailError) in try v.setForwards(a.name, domain: d.realDomain, UserForwards(addresses: list, keepCopy: keep)) }
                let f = v.forwards(of: a) ?? UserForwards(addresses: [], keepCopy: true)
                return Reply.json(["addresses": f.addresses, "keepCopy": f.keepCopy])
            }
        }
        t.add("GET", u + "/{user}/vacation", api: true) { r in
            let k = try key(r, write: false, domain: r.param("domain"))
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                return Reply.json(API.vacationView(v.vacation(of: try account(v, d, r.param("user")))))
            }
        }
        t.add("PUT", u + "/{user}/vacation", api: true) { r in
            let k = try key(r, write: true, domain: r.param("domain"))
            let o = try r.jsonObject()
            try API.only(o, ["subject", "body", "start", "end", "periodDays"])
            let s = VacationSettings(subject: try API.string(o, "subject", required: true, max: VacationSettings.maxSubject)!,
                                     body: try API.string(o, "body", required: true, max: VacationSettings.maxBody)!,
                                     start: try API.int(o, "start", min: 0), end: try API.int(o, "end", min: 0),
                                     period: (try API.int(o, "periodDays", min: 1, max: 365) ?? 7) * 86400)
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                let a = try account(v, d, r.param("user"))
                try lib { () throws(VpopmailError) in try v.setVacation(a.name, domain: d.realDomain, s) }
                return Reply.json(API.vacationView(v.vacation(of: a)))
            }
        }
        t.add("DELETE", u + "/{user}/vacation", api: true) { r in
            let k = try key(r, write: true, domain: r.param("domain"))
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                let a = try account(v, d, r.param("user"))
                try lib { () throws(VpopmailError) in try v.setVacation(a.name, domain: d.realDomain, nil) }
                return Reply.noContent()
            }
        }
    }

    func registerMail(_ t: RouteTable, _ p: String) {
        let al = p + "/domains/{domain}/aliases"
        t.add("GET", al, api: true) { r in
            let k = try key(r, write: false, domain: r.param("domain"))
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                var items: [[String: Any]] = []
                for n in try lib({ () throws(VpopmailError) in try v.aliasNames(d) }).sorted() {
                    items.append(["name": n, "lines": try lib { () throws(VpopmailError) in try v.aliasLines(n, d) ?? [] }])
                }
                return Reply.json(["items": items])
            }
        }
        t.add("GET", al + "/{alias}", api: true) { r in
            let k = try key(r, write: false, domain: r.param("domain"))
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                let n = r.param("alias").lowercased()
                guard let lines = try lib({ () throws(VpopmailError) in try v.aliasLines(n, d) }) else {
                    throw APIError(.notFound, "not_found", "no alias \(Validate.printable(n))@\(d.realDomain)")
                }
                return Reply.json(["name": n, "lines": lines])
            }
        }
        t.add("PUT", al + "/{alias}", api: true) { r in
            let k = try key(r, write: true, domain: r.param("domain"))
            let o = try r.jsonObject()
            try API.only(o, ["lines"])
            guard let lines = try API.strings(o, "lines", max: 100), !lines.isEmpty else {
                throw APIError(.unprocessableContent, "invalid", "lines: at least one forwarding line (an address, &address or a Maildir path)")
            }
            // Programs (`|...`) run as the domain's owner on every message: the API doesn't write them.
            if let bad = lines.first(where: { $0.hasPrefix("|") || $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                throw APIError(.unprocessableContent, "invalid", "not a forwarding line: \(Validate.printable(bad))")
            }
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                let n = r.param("alias").lowercased()
                if try lib({ () throws(VpopmailError) in try v.aliasLines(n, d) }) != nil {
                    try lib { () throws(VpopmailError) in try v.deleteAlias(n, domain: d.realDomain) }
                }
                for l in lines { try lib { () throws(VpopmailError) in try v.addAliasLine(n, l, domain: d.realDomain) } }
                return Reply.json(["name": n, "lines": try lib { () throws(VpopmailError) in try v.aliasLines(n, d) ?? [] }])
            }
        }
        t.add("DELETE", al + "/{alias}", api: true) { r in
            let k = try key(r, write: true, domain: r.param("domain"))
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                let n = r.param("alias").lowercased()
                guard try lib({ () throws(VpopmailError) in try v.aliasLines(n, d) }) != nil else {
                    throw APIError(.notFound, "not_found", "no alias \(Validate.printable(n))@\(d.realDomain)")
                }
                try lib { () throws(VpopmailError) in try v.deleteAlias(n, domain: d.realDomain) }
                return Reply.noContent()
            }
        }
        t.add("GET", p + "/domains/{domain}/limits", api: true) { r in
            let k = try key(r, write: false, domain: r.param("domain"))
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                return Reply.json(API.limitsView(try lib { () throws(VpopmailError) in try v.limits(d) }))
            }
        }
        t.add("PUT", p + "/domains/{domain}/limits", api: true) { r in
            // A domain's limits are the operator's: a key for all domains.
            let k = try key(r, write: true, allDomains: true)
            let o = try r.jsonObject()
            try API.only(o, Set(API.limitInts.map(\.0) + API.limitBools.map(\.0) + ["diskQuotaMB", "defaultQuotaMB"]))
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                var l = try lib { () throws(VpopmailError) in try v.limits(d) }
                for (name, kp) in API.limitInts { if let n = try API.int(o, name, min: -1, max: Int(Int32.max)) { l[keyPath: kp] = n } }
                for (name, kp) in API.limitBools { if let b = try API.bool(o, name) { l[keyPath: kp] = b } }
                if let q = try API.int(o, "diskQuotaMB", min: 0, max: 1 << 30) { l.diskQuota = UInt64(q) }
                if let q = try API.int(o, "defaultQuotaMB", min: 0, max: 1 << 30) { l.defaultQuota = UInt64(q) }
                try lib { () throws(VpopmailError) in try v.setLimits(l, for: d) }
                return Reply.json(API.limitsView(l))
            }
        }
        t.add("GET", p + "/domains/{domain}/last-logins", api: true) { r in
            let k = try key(r, write: false, domain: r.param("domain"))
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let d = try domain(v, r.param("domain"), k)
                let all = try lib { () throws(VpopmailError) in try v.lastAuths(d) } ?? [:]
                let items = all.filter { !$0.value.neverLoggedIn }.sorted { $0.value.time > $1.value.time }.prefix(1000)
                    .map { ["user": $0.key, "time": $0.value.time, "ip": $0.value.ip] as [String: Any] }
                return Reply.json(["items": Array(items)])
            }
        }
    }

    nonisolated(unsafe) static let limitInts: [(String, WritableKeyPath<DomainLimits, Int>)] = [
        ("maxPopAccounts", \.maxPopAccounts), ("maxAliases", \.maxAliases), ("maxForwards", \.maxForwards),
        ("maxAutoresponders", \.maxAutoresponders), ("maxMailingLists", \.maxMailingLists),
    ]
    nonisolated(unsafe) static let limitBools: [(String, WritableKeyPath<DomainLimits, Bool>)] = [
        ("disablePop", \.disablePOP), ("disableImap", \.disableIMAP), ("disableDialup", \.disableDialup),
        ("disablePasswordChanging", \.disablePasswordChanging), ("disableWebmail", \.disableWebmail),
        ("disableRelay", \.disableRelay), ("disableSmtp", \.disableSMTP), ("disableSpamassassin", \.disableSpamassassin),
        ("deleteSpam", \.deleteSpam), ("disableMaildrop", \.disableMaildrop),
    ]

    static func limitsView(_ l: DomainLimits) -> [String: Any] {
        var o: [String: Any] = [:]
        for (n, kp) in limitInts { o[n] = l[keyPath: kp] }
        for (n, kp) in limitBools { o[n] = l[keyPath: kp] }
        o["diskQuotaMB"] = Int(l.diskQuota)
        o["defaultQuotaMB"] = Int(l.defaultQuota)
        return o
    }

    func registerSite(_ t: RouteTable, _ p: String) {
        t.add("GET", p + "/ip-map", api: true) { r in
            let k = try key(r, write: false, allDomains: true)
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let items = try lib { () throws(VpopmailError) in try v.ipMap() }.map { ["ip": $0.ip, "domain": $0.domain] }
                return Reply.json(["items": items])
            }
        }
        t.add("POST", p + "/ip-map", api: true) { r in
            let k = try key(r, write: true, allDomains: true)
            let o = try r.jsonObject()
            try API.only(o, ["ip", "domain"])
            let ip = try API.string(o, "ip", required: true, max: 64)!
            let dom = try API.string(o, "domain", required: true, max: 255)!
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                try lib { () throws(VpopmailError) in try v.addIPMap(ip: ip, domain: dom) }
                return Reply.json(["ip": ip, "domain": dom.lowercased()], status: .created)
            }
        }
        t.add("DELETE", p + "/ip-map/{ip}", api: true) { r in
            let k = try key(r, write: true, allDomains: true)
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let ip = r.param("ip")
                guard let dom = try lib({ () throws(VpopmailError) in try v.ipMapDomain(ip) }) else {
                    throw APIError(.notFound, "not_found", "no IP map entry for \(Validate.printable(ip))")
                }
                try lib { () throws(VpopmailError) in try v.deleteIPMap(ip: ip, domain: dom) }
                return Reply.noContent()
            }
        }
        t.add("GET", p + "/audit", api: true) { r in
            let k = try key(r, write: false, allDomains: true)
            let limit = try r.query["limit"].map { (s) throws(APIError) -> Int in
                guard let n = Int(s), n >= 1, n <= 10000 else { throw APIError(.badRequest, "invalid", "limit must be from 1 to 10000") }
                return n
            } ?? 100
            let filter = AuditFilter(domain: try API.query(r, "domain", max: 255), user: try API.query(r, "user", max: 320),
                                     action: try API.query(r, "action", max: 64))
            return try backend.with(actor(k, r)) { (v) throws(APIError) in
                let entries = try lib { () throws(VpopmailError) in try v.auditEntries(limit: limit) { filter.accepts($0) } }
                return Reply.json(["items": entries.map(API.auditView)])
            }
        }
    }

    static func auditView(_ e: AuditEntry) -> [String: Any] {
        var o: [String: Any] = ["time": e.time, "who": e.who, "via": e.via, "from": e.from, "action": e.action, "object": e.object]
        o["before"] = e.before.map { $0 as Any } ?? NSNull()
        o["after"] = e.after.map { $0 as Any } ?? NSNull()
        return o
    }
}

/// What JSONSerialization gives, told apart: true/false (objCType "c") are not 1/0, 2.5 is not 2.
enum JSONValue {
    static func bool(_ x: Any) -> Bool? {
        guard let n = x as? NSNumber, String(cString: n.objCType) == "c" else { return nil }
        return n.boolValue
    }

    static func int(_ x: Any) -> Int? {
        guard let n = x as? NSNumber else { return nil }
        switch String(cString: n.objCType) {
        case "c": return nil
        case "d", "f":
            let d = n.doubleValue
            guard d.rounded() == d, abs(d) < 9e15 else { return nil }
            return Int(d)
        case "Q", "L":
            return n.uint64Value <= UInt64(Int.max) ? Int(n.uint64Value) : nil
        default:
            return n.intValue
        }
    }
}
