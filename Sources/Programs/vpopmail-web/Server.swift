// The HTTP side of vpopmail-web: the request context, the route table (one for the API and the
// pages; the API's is checked against the OpenAPI document at start), request and response
// helpers, and the pool of opened installations the handlers borrow.
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import VpopmailCore

/// The request context: Hummingbird's core storage and the client's address.
struct WebContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteIP: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteIP = source.channel.remoteAddress?.ipAddress ?? ""
    }
}

/// What a handler sees of a request: the method, the path's parameters, the query, the
/// headers, the body (read up to its limit first), the client's address.
struct Req: Sendable {
    let method: String
    let path: String
    var params: [String: String] = [:]
    let query: [String: String]
    let headers: HTTPFields
    let body: [UInt8]
    let remoteIP: String
    /// The route's template (`/api/v1/domains/{domain}`), for metrics and the audit.
    var route = ""

    func param(_ name: String) -> String { params[name] ?? "" }

    func header(_ name: String) -> String? {
        guard let n = HTTPField.Name(name) else { return nil }
        return headers[n]
    }

    var cookies: [String: String] {
        var out: [String: String] = [:]
        for v in headers[values: .cookie] {
            for part in v.split(separator: ";") {
                let kv = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
                if kv.count == 2 { out[kv[0]] = kv[1] }
            }
        }
        return out
    }

    /// The form fields of an `application/x-www-form-urlencoded` body.
    var form: [String: String] { Req.decodeForm(String(decoding: body, as: UTF8.self)) }

    static func decodeForm(_ s: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in s.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let k = percentDecode(String(kv[0]), plus: true)
            let v = kv.count > 1 ? percentDecode(String(kv[1]), plus: true) : ""
            if out[k] == nil { out[k] = v }
        }
        return out
    }

    static func percentDecode(_ s: String, plus: Bool) -> String {
        let t = plus ? s.replacingOccurrences(of: "+", with: " ") : s
        return t.removingPercentEncoding ?? t
    }

    /// The JSON object of the body; nil with the error response when it is not one.
    func jsonObject() throws(APIError) -> [String: Any] {
        guard !body.isEmpty else { throw APIError(.badRequest, "invalid_json", "the request needs a JSON object body") }
        guard let o = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw APIError(.badRequest, "invalid_json", "the request body is not a JSON object")
        }
        return o
    }
}

/// An error with its HTTP status, stable code and one-line message: `{"error":{"code","message"}}`.
struct APIError: Error {
    let status: HTTPResponse.Status
    let code: String
    let message: String

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// The library's errors by their VA code.
    init(_ e: VpopmailError) {
        switch e.code {
        case .userDoesNotExist: self.init(.notFound, "user_not_found", e.message)
        case .domainDoesNotExist: self.init(.notFound, "domain_not_found", e.message)
        case .noSuchItem: self.init(.notFound, "not_found", e.message)
        case .usernameExists, .domainAlreadyExists, .aliasExists, .alreadyExists, .existUDir:
            self.init(.conflict, "exists", e.message)
        case .limitReached: self.init(.conflict, "limit_reached", e.message)
        case .cannotDeleteCatchall: self.init(.conflict, "catch_all", e.message)
        case .illegalUsername, .invalidDomainName, .badChar, .invalidEmailChar, .userNameTooLong, .domainNameTooLong,
             .passwdTooLong, .gecosTooLong, .quotaTooLong, .dirTooLong, .clearPasswdTooLong, .aliasLineTooLong, .badQuota,
             .invalidValue, .pwstrEmpty, .pwstrLength, .pwstrAlpha, .pwstrNumeric, .pwstrOther, .pwstrDelta, .rootDomain,
             .couldNotOpenDotQmail:
            self.init(.unprocessableContent, "invalid", e.message)
        case .secondFactor: self.init(.forbidden, "second_factor", e.message)
        case .noSpace: self.init(.init(code: 507), "no_space", e.message)
        default: self.init(.internalServerError, "internal", e.message)
        }
    }

    var response: Response {
        let body = "{\"error\":{\"code\":\(JSON.quote(code)),\"message\":\(JSON.quote(message))}}\n"
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

enum Reply {
    static func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        var out = ""
        out.reserveCapacity(1024)
        JSONOut.write(object, into: &out)
        out += "\n"
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: out)))
    }

    static func noContent() -> Response { Response(status: .noContent) }

    static func html(_ text: String, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var h: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
        h.append(contentsOf: extra)
        h.append(contentsOf: Reply.securityHeaders)
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ to: String, headers extra: HTTPFields = [:]) -> Response {
        var h: HTTPFields = [.location: to, .cacheControl: "no-store"]
        h.append(contentsOf: extra)
        return Response(status: .seeOther, headers: h)
    }

    static func text(_ s: String, type: String = "text/plain; charset=utf-8") -> Response {
        Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: s)))
    }

    /// Pages may load nothing from elsewhere, run no inline script, and never be framed.
    static let securityHeaders: HTTPFields = [
        HTTPField.Name("Content-Security-Policy")!: "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("X-Frame-Options")!: "DENY",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
    ]
}

/// One route: a method and a path template whose `{name}` segments are parameters.
struct Route: Sendable {
    let method: String
    let template: String
    let segments: [Substring]
    let api: Bool
    let handler: @Sendable (Req) async throws -> Response

    func match(_ parts: [Substring]) -> [String: String]? {
        guard parts.count == segments.count else { return nil }
        var p: [String: String] = [:]
        for (s, x) in zip(segments, parts) {
            if s.hasPrefix("{") && s.hasSuffix("}") {
                let v = Req.percentDecode(String(x), plus: false)
                guard !v.isEmpty, !v.contains("/") else { return nil }
                p[String(s.dropFirst().dropLast())] = v
            } else if s != x {
                return nil
            }
        }
        return p
    }
}

final class RouteTable: @unchecked Sendable {
    private(set) var routes: [Route] = []

    func add(_ method: String, _ template: String, api: Bool, _ handler: @escaping @Sendable (Req) async throws -> Response) {
        routes.append(Route(method: method, template: template, segments: template.split(separator: "/"), api: api, handler: handler))
    }

    /// The route for a request, its parameters; or whether the path exists with another method.
    func find(_ method: String, _ path: String) -> (Route, [String: String])? {
        let parts = path.split(separator: "/")
        for r in routes where r.method == method { if let p = r.match(parts) { return (r, p) } }
        return nil
    }

    /// The methods a path is served with (none: no such path).
    func methods(_ path: String) -> [String] {
        let parts = path.split(separator: "/")
        return routes.filter { $0.match(parts) != nil }.map(\.method)
    }
}

/// Opened installations, one per request at a time: the library's objects are not shared
/// between threads. A request borrows one, sets who acts (the audit log's actor), and gives it
/// back.
final class Backend: @unchecked Sendable {
    let open: () throws(VpopmailError) -> Installation
    private let lock = NSLock()
    private var free: [Installation] = []
    let home: String
    let config: Config

    init(open: @escaping () throws(VpopmailError) -> Installation) throws(VpopmailError) {
        self.open = open
        let first = try open()
        home = first.home
        config = first.config
        free.append(first)
    }

    /// An installation to use, acting for `actor`; give it back with `giveBack`.
    func borrow(_ actor: AuditActor) throws(APIError) -> Installation {
        let v: Installation
        lock.lock()
        let x = free.popLast()
        lock.unlock()
        if let x {
            v = x
        } else {
            do { v = try open() } catch { throw APIError(error) }
        }
        v.auditActor = actor
        return v
    }

    func giveBack(_ v: Installation) {
        lock.lock()
        free.append(v)
        lock.unlock()
    }

    func with<T>(_ actor: AuditActor, _ body: (Installation) throws(APIError) -> T) throws(APIError) -> T {
        let v = try borrow(actor)
        defer { giveBack(v) }
        return try body(v)
    }
}

/// Runs a library call, mapping its error.
@inline(__always) @discardableResult
func lib<T>(_ body: () throws(VpopmailError) -> T) throws(APIError) -> T {
    do { return try body() } catch { throw APIError(error) }
}

/// The responses' JSON, keys sorted by their bytes: Foundation's writer sorts them through ICU's
/// collation, which was most of a user read's time under load (bench/web.py).
enum JSONOut {
    static func write(_ x: Any, into out: inout String) {
        switch x {
        case let s as String: out += JSON.quote(s)
        case let b as Bool where type(of: x) == Bool.self: out += b ? "true" : "false"
        case let i as Int: out += String(i)
        case let u as UInt64: out += String(u)
        case let d as Double: out += d.isFinite ? (d.rounded() == d && abs(d) < 1e15 ? String(Int(d)) : String(d)) : "null"
        case is NSNull: out += "null"
        case let o as [String: Any]:
            out += "{"
            var first = true
            for k in o.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                if !first { out += "," }
                first = false
                out += JSON.quote(k)
                out += ":"
                write(o[k]!, into: &out)
            }
            out += "}"
        case let o as [String: Bool]: write(o as [String: Any], into: &out)
        case let a as [Any]:
            out += "["
            for (i, e) in a.enumerated() {
                if i > 0 { out += "," }
                write(e, into: &out)
            }
            out += "]"
        default: out += "null"
        }
    }
}
