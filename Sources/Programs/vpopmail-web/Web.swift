// The web admin (docs/web.md): server-rendered pages for the super admin (a system admin
// account: everything), a domain's admin (postmaster or the QA_ADMIN flag: its own domain) and
// every user (self-service). Sessions live in this process, in a cookie that is Secure,
// HttpOnly and SameSite=Strict; every form carries the session's CSRF token; logins are
// throttled by the state vchkpw uses; a second factor, when set up, is asked after the password.
import Foundation
import Hummingbird
import Mustache
import Synchronization
import VpopmailCore

enum Role: Int, Comparable, Sendable {
    case user = 1, domainAdmin, superAdmin
    static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }
}

struct Session: Sendable {
    let id: String
    let user: String
    let domain: String
    let role: Role
    let csrf: String
    let created: Int
    var seen: Int
    /// The password was right; the second factor is still to come.
    var pendingCode: Bool
    var codeAttempts = 0
    var address: String { "\(user)@\(domain)" }
}

final class Sessions: @unchecked Sendable {
    static let idle = 30 * 60
    static let lifetime = 12 * 3600
    static let pendingLifetime = 5 * 60
    private let table = Mutex<[String: Session]>([:])

    static func token() -> String { MD5.hex(Password.randomBytes(32)) }

    func make(user: String, domain: String, role: Role, pending: Bool) -> Session {
        let now = Int(time(nil))
        let s = Session(id: Sessions.token(), user: user, domain: domain, role: role, csrf: Sessions.token(), created: now, seen: now, pendingCode: pending)
        table.withLock { t in
            // Expired sessions go when new ones come.
            t = t.filter { Sessions.alive($0.value, now) }
            t[s.id] = s
        }
        return s
    }

    static func alive(_ s: Session, _ now: Int) -> Bool {
        if s.pendingCode { return now - s.created <= pendingLifetime }
        return now - s.seen <= idle && now - s.created <= lifetime
    }

    func get(_ id: String?) -> Session? {
        guard let id, id.utf8.count == 64 else { return nil }
        let now = Int(time(nil))
        return table.withLock { t in
            guard var s = t[id], Sessions.alive(s, now) else { t[id] = nil; return nil }
            s.seen = now
            t[id] = s
            return s
        }
    }

    func update(_ s: Session) { table.withLock { $0[s.id] = s } }
    func drop(_ id: String) { table.withLock { $0[id] = nil } }
}

struct Web {
    let backend: Backend
    let sessions: Sessions
    let templates: MustacheLibrary
    /// Secure cookies (off only with --insecure-cookies, for a plain-HTTP test on a non-local name).
    let secureCookies: Bool
    static let cookie = "vpopmail_session"
    static let preCookie = "vpopmail_login"

    func cookieHeader(_ name: String, _ value: String, maxAge: Int) -> HTTPFields {
        [.setCookie: "\(name)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict\(secureCookies ? "; Secure" : "")"]
    }

    // MARK: - Rendering

    func page(_ name: String, _ title: String, _ s: Session?, _ data: [String: Any] = [:], status: HTTPResponse.Status = .ok,
              headers: HTTPFields = [:]) -> Response {
        var o = data
        o["title"] = title
        if let s, !s.pendingCode {
            o["session"] = ["address": s.address, "csrf": s.csrf, "domain": s.domain, "isSuper": s.role == .superAdmin,
                            "isDomainAdmin": s.role == .domainAdmin, "isAdmin": s.role >= .domainAdmin] as [String: Any]
        }
        let html = templates.render(o, withTemplate: name) ?? "template \(name) missing"
        return Reply.html(html, status: status, headers: headers)
    }

    func message(_ s: Session?, _ title: String, _ text: String, back: String, status: HTTPResponse.Status) -> Response {
        page("message", title, s, ["text": text, "back": back], status: status)
    }

    // MARK: - Who is asking

    func session(_ r: Req) -> Session? {
        guard let s = sessions.get(r.cookies[Web.cookie]), !s.pendingCode else { return nil }
        return s
    }

    /// The session of a page that needs one (else the login page), checked for the CSRF token
    /// on every POST.
    func need(_ r: Req, _ role: Role = .user) throws(PageExit) -> Session {
        guard let s = session(r) else { throw PageExit(Reply.redirect("/login")) }
        if r.method == "POST" {
            guard let t = r.form["csrf"], Password.constantTimeEqualText(t, s.csrf) else {
                throw PageExit(message(s, "Refused", "The form was stale or not ours (CSRF token). Reload the page and try again.", back: "/", status: .forbidden))
            }
        }
        guard s.role >= role else { throw PageExit(message(s, "Not allowed", "This page is for administrators.", back: "/", status: .forbidden)) }
        return s
    }

    /// A domain admin's own domain only (an alias domain of it counts as it).
    func allowDomain(_ s: Session, _ v: Installation, _ name: String) throws(PageExit) -> DomainInfo {
        guard let d = try? v.domain(name) else {
            throw PageExit(message(s, "No such domain", "There is no domain \(name).", back: "/", status: .notFound))
        }
        if s.role == .superAdmin || (s.role == .domainAdmin && d.realDomain == s.domain) { return d }
        throw PageExit(message(s, "Not allowed", "You administer \(s.domain) only.", back: "/", status: .forbidden))
    }

    func actor(_ s: Session?, _ r: Req) -> AuditActor { AuditActor(who: s?.address ?? "anonymous", via: "web", from: r.remoteIP) }

    func with<T>(_ s: Session?, _ r: Req, _ body: (Installation) throws(PageExit) -> T) throws(PageExit) -> T {
        let v: Installation
        do { v = try backend.borrow(actor(s, r)) } catch { throw PageExit(message(s, "Error", error.message, back: "/", status: error.status)) }
        defer { backend.giveBack(v) }
        return try body(v)
    }

    /// A library call on a page: its error becomes the page's message.
    @discardableResult
    func call<T>(_ s: Session?, back: String, _ body: () throws(VpopmailError) -> T) throws(PageExit) -> T {
        do { return try body() } catch {
            let e = APIError(error)
            throw PageExit(message(s, "Not done", error.message, back: back, status: e.status))
        }
    }

    // MARK: - Routes

    func register(_ t: RouteTable) {
        t.add("GET", "/static/style.css", api: false) { _ in
            var r = Reply.text(Templates.css, type: "text/css; charset=utf-8")
            r.headers[.cacheControl] = "max-age=3600"
            return r
        }
        t.add("GET", "/", api: false) { r in
            guard let s = session(r) else { return Reply.redirect("/login") }
            switch s.role {
            case .superAdmin: return Reply.redirect("/domains")
            case .domainAdmin: return Reply.redirect("/domains/\(s.domain)")
            case .user: return Reply.redirect("/me")
            }
        }
        registerLogin(t)
        registerAdmin(t)
        registerSelf(t)
    }

    func registerLogin(_ t: RouteTable) {
        t.add("GET", "/login", api: false) { r in
            if session(r) != nil { return Reply.redirect("/") }
            let pre = Sessions.token()
            return page("login", "Log in", nil, ["csrf": pre], headers: cookieHeader(Web.preCookie, pre, maxAge: 900))
        }
        t.add("POST", "/login", api: false) { r in
            let f = r.form
            // A login form from this server only (the pre-session token, double-submitted).
            guard let pre = r.cookies[Web.preCookie], let t = f["csrf"], Password.constantTimeEqualText(pre, t) else {
                return message(nil, "Refused", "The login form was stale. Reload the page and log in again.", back: "/login", status: .forbidden)
            }
            let address = (f["address"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            let password = f["password"] ?? ""
            func again(_ text: String, _ status: HTTPResponse.Status) -> Response {
                let pre = Sessions.token()
                return page("login", "Log in", nil, ["csrf": pre, "address": address, "error": text], status: status,
                            headers: cookieHeader(Web.preCookie, pre, maxAge: 900))
            }
            let (user, domain) = Validate.splitAddress(address)
            guard UserName.accepts(user), DomainName.accepts(domain), !password.isEmpty, password.utf8.count <= LengthLimits.maxClearPassword else {
                return again("Give your full email address and your password.", .unprocessableContent)
            }
            return try backend.with(actor(nil, r)) { (v) throws(APIError) in
                let throttle = v.throttleSession(ip: r.remoteIP, login: address)
                if let throttle {
                    switch throttle.check(now: Int(time(nil))) {
                    case .refuse:
                        Counters.add([.webThrottled], home: v.home)
                        return again("Too many failed logins. Wait a while and try again.", .tooManyRequests)
                    case .proceed(let delay): Throttle.sleep(delay)
                    }
                }
                let found = (try? v.user(user, domain: domain)) ?? nil
                guard let (a, d) = found, !a.passwordHash.isEmpty, Password.verify(password, against: a.passwordHash) else {
                    if found == nil { Password.dummyVerify(password, scheme: v.config.passwordScheme) }
                    throttle?.failed(now: Int(time(nil)))
                    Counters.add([.webFailed], home: v.home)
                    return again("Wrong address or password.", .unauthorized)
                }
                let flags = v.effectiveFlags(a, limits: (try? v.limits(d)) ?? DomainLimits())
                if flags.contains(.noWebmail) && !a.flags.contains(.systemAdmin) {
                    Counters.add([.webRefused], home: v.home)
                    return again("Web access is closed for this account.", .forbidden)
                }
                let role: Role = a.flags.contains(.systemAdmin) ? .superAdmin : (a.flags.contains(.qmailAdmin) || a.name == "postmaster") ? .domainAdmin : .user
                let twoFactor = ((try? v.secrets(of: a, domain: d)) ?? UserSecrets()).hasSecondFactor
                let s = sessions.make(user: a.name, domain: d.realDomain, role: role, pending: twoFactor)
                var h = cookieHeader(Web.cookie, s.id, maxAge: twoFactor ? Sessions.pendingLifetime : Sessions.lifetime)
                h.append(contentsOf: cookieHeader(Web.preCookie, "", maxAge: 0))
                if twoFactor { return Reply.redirect("/login/code", headers: h) }
                throttle?.succeeded(now: Int(time(nil)))
                Counters.add([.webOK], home: v.home)
                return Reply.redirect("/", headers: h)
            }
        }
        t.add("GET", "/login/code", api: false) { r in
            guard let s = sessions.get(r.cookies[Web.cookie]), s.pendingCode else { return Reply.redirect("/login") }
            return page("code", "Second factor", nil, ["csrf": s.csrf])
        }
        t.add("POST", "/login/code", api: false) { r in
            guard var s = sessions.get(r.cookies[Web.cookie]), s.pendingCode else { return Reply.redirect("/login") }
            let f = r.form
            guard let t = f["csrf"], Password.constantTimeEqualText(t, s.csrf) else { return Reply.redirect("/login") }
            let code = f["code"] ?? ""
            return try backend.with(actor(s, r)) { (v) throws(APIError) in
                let throttle = v.throttleSession(ip: r.remoteIP, login: s.address)
                if case .refuse? = throttle?.check(now: Int(time(nil))) {
                    sessions.drop(s.id)
                    Counters.add([.webThrottled], home: v.home)
                    return message(nil, "Refused", "Too many failed attempts. Wait a while and log in again.", back: "/login", status: .tooManyRequests)
                }
                guard let (a, d) = try lib({ () throws(VpopmailError) in try v.user(s.user, domain: s.domain) }) else {
                    sessions.drop(s.id)
                    return Reply.redirect("/login")
                }
                let ok = try lib { () throws(VpopmailError) in
                    try v.updateSecrets(of: a, domain: d, what: "second_factor_used") { (x: inout UserSecrets) throws(VpopmailError) -> Bool in
                        x.acceptCode(code, now: Int(time(nil)))
                    }
                }
                guard ok else {
                    throttle?.failed(now: Int(time(nil)))
                    Counters.add([.webFailed], home: v.home)
                    s.codeAttempts += 1
                    // Five wrong codes end the half-made session: the password is asked again.
                    if s.codeAttempts >= 5 { sessions.drop(s.id); return Reply.redirect("/login") }
                    sessions.update(s)
                    return page("code", "Second factor", nil, ["csrf": s.csrf, "error": "That code is not right (or was used already)."], status: .unauthorized)
                }
                throttle?.succeeded(now: Int(time(nil)))
                Counters.add([.webOK], home: v.home)
                // A new session id once both factors are in.
                sessions.drop(s.id)
                let full = sessions.make(user: s.user, domain: s.domain, role: s.role, pending: false)
                return Reply.redirect("/", headers: cookieHeader(Web.cookie, full.id, maxAge: Sessions.lifetime))
            }
        }
        t.add("POST", "/logout", api: false) { r in
            let s = try need(r)
            sessions.drop(s.id)
            return Reply.redirect("/login", headers: cookieHeader(Web.cookie, "", maxAge: 0))
        }
    }
}

/// A page's early answer (a redirect, a refusal) thrown through the library calls.
struct PageExit: Error {
    let response: Response
    init(_ r: Response) { response = r }
}

extension Password {
    static func constantTimeEqualText(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var d: UInt8 = 0
        for i in 0..<x.count { d |= x[i] ^ y[i] }
        return d == 0
    }
}
