// vpopmail-web (docs/web.md): the REST API (/api/v1, its OpenAPI document at
// /api/v1/openapi.json), the web admin, and /metrics, on Hummingbird 2, over the library with
// every store. `vpopmail-web --listen 127.0.0.1:8089 [--tls-cert FILE --tls-key FILE]`; SIGTERM
// (or SIGINT) stops it: no new connections, the requests under way finish.
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Mustache
import NIOCore
import NIOSSL
import StoreFiles
import StoreMySQL
import StorePasswd
import StorePostgres
import StoreSQLite
import VpopmailCore

func fail(_ message: String, _ status: Int32 = 111) -> Never {
    FileHandle.standardError.write(Data("vpopmail-web: \(message)\n".utf8))
    exit(status)
}

struct Options {
    var host = "127.0.0.1"
    var port = 8089
    var cert: String?
    var key: String?
    var insecureCookies = false
    var maxBody = 1 << 20
}

func parseOptions() -> Options {
    var o = Options()
    var args = Array(CommandLine.arguments.dropFirst())
    while !args.isEmpty {
        let a = args.removeFirst()
        func value() -> String {
            guard !args.isEmpty else { fail("\(a) needs a value", 100) }
            return args.removeFirst()
        }
        switch a {
        case "--listen":
            let v = value()
            guard let colon = v.lastIndex(of: ":"), let p = Int(v[v.index(after: colon)...]), (1...65535).contains(p) else {
                fail("--listen wants ADDRESS:PORT, not \(v)", 100)
            }
            o.host = String(v[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            o.port = p
        case "--tls-cert": o.cert = value()
        case "--tls-key": o.key = value()
        case "--insecure-cookies": o.insecureCookies = true
        case "--print-openapi":
            print(OpenAPI.json, terminator: "")
            exit(0)
        case "-h", "--help":
            print("usage: vpopmail-web [--listen ADDRESS:PORT] [--tls-cert FILE --tls-key FILE] [--insecure-cookies] [--print-openapi]")
            exit(0)
        default: fail("unknown option \(a) (--help lists them)", 100)
        }
    }
    if (o.cert == nil) != (o.key == nil) { fail("--tls-cert and --tls-key go together", 100) }
    return o
}

let options = parseOptions()
let drivers: [any StoreDriver.Type] = [FilesDriver.self, PasswdDriver.self, MySQLDriver.self, PostgresDriver.self, SQLiteDriver.self]
let location: Installation.Location
do { location = try Installation.locate() } catch { fail(error.message) }
guard let driver = location.driver(among: drivers) else { fail("auth-module \(location.config.authModule) is not a store of vpopmail-web") }
let backend: Backend
do { backend = try Backend { () throws(VpopmailError) in try location.open(driver) } } catch { fail(error.message) }

let table = RouteTable()
let metrics = Metrics()
let openAPIText = OpenAPI.json
table.add("GET", "/api/v1/openapi.json", api: false) { _ in Reply.text(openAPIText, type: "application/json") }
table.add("GET", "/metrics", api: false) { _ in
    Reply.text(metrics.text(home: backend.home, throttle: Throttle(path: backend.config.throttleFile ?? backend.home + "/etc/login-failures", policy: backend.config.throttle)),
               type: "text/plain; version=0.0.4; charset=utf-8")
}
table.add("GET", "/health", api: false) { _ in Reply.text("ok\n") }
API(backend: backend).register(table)
let templates: MustacheLibrary
do { templates = try Templates.library() } catch { fail("templates: \(error)") }
Web(backend: backend, sessions: Sessions(), templates: templates, secureCookies: !options.insecureCookies).register(table)

let differences = OpenAPI.differences(table.routes)
if !differences.isEmpty { fail("the routes and the OpenAPI document disagree: " + differences.joined(separator: "; ")) }

let maxBody = options.maxBody
let responder = CallbackResponder<WebContext> { request, context in
    let start = ContinuousClock.now
    var request = request
    let path = request.uri.path
    let method = request.method.rawValue
    var route = "unmatched"
    var api = path.hasPrefix("/api/")
    let response: Response
    do {
        guard let (r, params) = table.find(method, path) else {
            let allowed = table.methods(path)
            if !allowed.isEmpty {
                var e = APIError(.methodNotAllowed, "method_not_allowed", "\(method) is not allowed here").response
                e.headers[.allow] = allowed.joined(separator: ", ")
                throw PageExit(e)
            }
            throw APIError(.notFound, "not_found", "no such path")
        }
        route = r.template
        api = r.api
        if api, ["POST", "PUT", "PATCH"].contains(method), let t = request.headers[.contentType],
           !t.lowercased().hasPrefix("application/json") {
            throw APIError(.unsupportedMediaType, "unsupported_media_type", "the body must be application/json")
        }
        let body: ByteBuffer
        do { body = try await request.collectBody(upTo: maxBody) } catch {
            throw APIError(.contentTooLarge, "too_large", "the body is larger than \(maxBody) bytes")
        }
        var query: [String: String] = [:]
        if let q = request.uri.query {
            for (k, v) in Req.decodeForm(q) { query[k] = v }
        }
        var req = Req(method: method, path: path, query: query, headers: request.headers,
                      body: Array(body.readableBytesView), remoteIP: context.remoteIP)
        req.params = params
        req.route = r.template
        response = try await r.handler(req)
    } catch let e as APIError {
        response = api ? e.response : Reply.html("<!doctype html><title>\(e.status.code)</title><p>\(e.message.htmlEscaped)</p>", status: e.status)
    } catch let e as PageExit {
        response = e.response
    } catch {
        response = APIError(.internalServerError, "internal", "\(error)").response
    }
    metrics.record(method: method, route: route, status: response.status.code, api: api, seconds: ContinuousClock.now - start)
    return response
}

var serverBuilder: HTTPServerBuilder = .http1()
if let cert = options.cert, let key = options.key {
    do {
        let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        tls.minimumTLSVersion = .tlsv12
        serverBuilder = try .tls(.http1(), tlsConfiguration: tls)
    } catch { fail("TLS: \(error)") }
}
let app = Application(responder: responder, server: serverBuilder,
                      configuration: .init(address: .hostname(options.host, port: options.port), serverName: "vpopmail-web"))
do { try await app.runService() } catch { fail("\(error)") }

extension String {
    var htmlEscaped: String {
        var out = ""
        for c in self {
            switch c {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
