// The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json. The server checks its
// routes against it when it starts (every documented operation is served and every API route is
// documented, or it refuses to start), and the tests run schemathesis against it.
import Foundation

enum OpenAPI {
    typealias J = [String: Any]

    static func ref(_ name: String) -> J { ["$ref": "#/components/schemas/\(name)"] }
    static func obj(_ props: J, required: [String] = [], additional: Bool = false) -> J {
        var o: J = ["type": "object", "properties": props, "additionalProperties": additional]
        if !required.isEmpty { o["required"] = required }
        return o
    }
    nonisolated(unsafe) static let str: J = ["type": "string"]
    nonisolated(unsafe) static let int: J = ["type": "integer"]
    nonisolated(unsafe) static let bool: J = ["type": "boolean"]
    static func arr(_ items: J, max: Int? = nil) -> J {
        var a: J = ["type": "array", "items": items]
        if let max { a["maxItems"] = max }
        return a
    }
    static func nullable(_ s: J) -> J { ["oneOf": [s, ["type": "null"]]] }

    /// What the library accepts, so that a generated valid request is one it takes.
    static let domainPattern = "^([a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\\.){1,3}[a-z]{2,8}$"
    static let userPattern = "^[a-z0-9]([a-z0-9._-]{0,30}[a-z0-9])?$"
    static let ipPattern = "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$"
    static let quotaPattern = "^([0-9]{1,6}[MmKkGg]?|NOQUOTA)$"
    static let addressPattern = "^[a-z0-9]([a-z0-9._+-]{0,30}[a-z0-9])?@([a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\\.){1,3}[a-z]{2,8}$"
    static let linePattern = "^&?[a-z0-9]([a-z0-9._+-]{0,30}[a-z0-9])?@([a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\\.){1,3}[a-z]{2,8}$"
    nonisolated(unsafe) static let passwordSchema: J = ["type": "string", "minLength": 8, "maxLength": 128, "pattern": "^[!-~]{8,128}$"]

    nonisolated(unsafe) static let pathParams: [String: J] = [
        "domain": ["name": "domain", "in": "path", "required": true, "description": "A domain or one of its alias domains", "schema": ["type": "string", "minLength": 1, "maxLength": 255], "example": "example.com"],
        "user": ["name": "user", "in": "path", "required": true, "description": "An account name", "schema": ["type": "string", "minLength": 1, "maxLength": 64], "example": "postmaster"],
        "alias": ["name": "alias", "in": "path", "required": true, "description": "An alias domain, or an alias's name", "schema": ["type": "string", "minLength": 1, "maxLength": 255]],
        "ip": ["name": "ip", "in": "path", "required": true, "schema": ["type": "string", "minLength": 1, "maxLength": 64]],
    ]
    nonisolated(unsafe) static let paging: [J] = [
        ["name": "offset", "in": "query", "schema": ["type": "integer", "minimum": 0, "maximum": 1_000_000_000]],
        ["name": "limit", "in": "query", "schema": ["type": "integer", "minimum": 1, "maximum": 1000]],
        ["name": "search", "in": "query", "schema": ["type": "string", "maxLength": 255]],
    ]

    /// (method, path, summary, request schema, success status, response schema, extra query parameters)
    nonisolated(unsafe) static let operations: [(String, String, String, String?, Int, String?, [J])] = [
        ("get", "/domains", "List the real domains", nil, 200, "DomainPage", paging),
        ("post", "/domains", "Add a domain and its postmaster", "NewDomain", 201, "Domain", []),
        ("get", "/domains/{domain}", "Show a domain", nil, 200, "Domain", []),
        ("delete", "/domains/{domain}", "Delete a domain, its accounts and mail", nil, 204, nil, []),
        ("get", "/domains/{domain}/alias-domains", "List a domain's alias domains", nil, 200, "NameList", []),
        ("post", "/domains/{domain}/alias-domains", "Add an alias domain", "NewAliasDomain", 201, "NameList", []),
        ("delete", "/domains/{domain}/alias-domains/{alias}", "Delete an alias domain", nil, 204, nil, []),
        ("get", "/domains/{domain}/users", "List accounts (paged, searched by name or full name)", nil, 200, "UserPage", paging),
        ("post", "/domains/{domain}/users", "Add an account", "NewUser", 201, "User", []),
        ("get", "/domains/{domain}/users/{user}", "Show an account with its quota usage and last login", nil, 200, "User", []),
        ("patch", "/domains/{domain}/users/{user}", "Change an account's full name, quota or flags", "UserChange", 200, "User", []),
        ("delete", "/domains/{domain}/users/{user}", "Delete an account and its mail", nil, 204, nil, []),
        ("put", "/domains/{domain}/users/{user}/password", "Set an account's password", "Password", 204, nil, []),
        ("get", "/domains/{domain}/users/{user}/forwards", "An account's own forwards", nil, 200, "Forwards", []),
        ("put", "/domains/{domain}/users/{user}/forwards", "Set an account's forwards (none: mail stays in the mailbox)", "Forwards", 200, "Forwards", []),
        ("get", "/domains/{domain}/users/{user}/vacation", "An account's vacation message", nil, 200, "Vacation", []),
        ("put", "/domains/{domain}/users/{user}/vacation", "Set an account's vacation message", "VacationSet", 200, "Vacation", []),
        ("delete", "/domains/{domain}/users/{user}/vacation", "Turn an account's vacation message off", nil, 204, nil, []),
        ("get", "/domains/{domain}/aliases", "List a domain's aliases", nil, 200, "AliasList", []),
        ("get", "/domains/{domain}/aliases/{alias}", "Show an alias", nil, 200, "Alias", []),
        ("put", "/domains/{domain}/aliases/{alias}", "Set an alias's forwarding lines", "AliasSet", 200, "Alias", []),
        ("delete", "/domains/{domain}/aliases/{alias}", "Delete an alias", nil, 204, nil, []),
        ("get", "/domains/{domain}/limits", "A domain's limits", nil, 200, "Limits", []),
        ("put", "/domains/{domain}/limits", "Change a domain's limits (the fields given)", "Limits", 200, "Limits", []),
        ("get", "/domains/{domain}/last-logins", "The latest logins of a domain's accounts", nil, 200, "LastLogins", []),
        ("get", "/ip-map", "The IP map (local address to domain)", nil, 200, "IPMapList", []),
        ("post", "/ip-map", "Map a local address to a domain", "IPMapEntry", 201, "IPMapEntry", []),
        ("delete", "/ip-map/{ip}", "Remove an address from the IP map", nil, 204, nil, []),
        ("get", "/audit", "The audit log's latest entries", nil, 200, "AuditList",
         [["name": "limit", "in": "query", "schema": ["type": "integer", "minimum": 1, "maximum": 10000]],
          ["name": "domain", "in": "query", "schema": ["type": "string", "maxLength": 255]],
          ["name": "user", "in": "query", "schema": ["type": "string", "maxLength": 320]],
          ["name": "action", "in": "query", "schema": ["type": "string", "maxLength": 64]]]),
    ]

    static var schemas: J {
        let flags = obj(Dictionary(uniqueKeysWithValues: API.flagNames.map { ($0.0, bool as Any) }))
        let quota = obj(["spelling": str, "bytes": int, "messages": int], required: ["spelling", "bytes", "messages"])
        let userProps: J = ["name": str, "address": str, "gecos": str, "quota": quota]
        var fullUser = userProps
        fullUser["home"] = str
        fullUser["flags"] = flags
        fullUser["usage"] = obj(["bytes": int, "messages": int, "percent": int], required: ["bytes", "messages", "percent"])
        fullUser["lastLogin"] = nullable(obj(["time": int, "ip": str], required: ["time", "ip"]))
        fullUser["secondFactor"] = bool
        fullUser["appPasswords"] = int
        fullUser["vacation"] = bool
        var limitProps: J = [:]
        for (n, _) in API.limitInts { limitProps[n] = ["type": "integer", "minimum": -1, "maximum": Int(Int32.max)] }
        for (n, _) in API.limitBools { limitProps[n] = bool }
        limitProps["diskQuotaMB"] = ["type": "integer", "minimum": 0, "maximum": 1 << 30]
        limitProps["defaultQuotaMB"] = ["type": "integer", "minimum": 0, "maximum": 1 << 30]
        let page = { (item: String) -> J in obj(["items": arr(ref(item)), "total": int, "offset": int, "limit": int], required: ["items", "total", "offset", "limit"]) }
        return [
            "Error": obj(["error": obj(["code": str, "message": str], required: ["code", "message"])], required: ["error"]),
            "Domain": obj(["name": str, "aliasDomains": arr(str), "aliasOf": str, "users": int, "directory": str, "uid": int, "gid": int], required: ["name", "aliasDomains"]),
            "DomainPage": page("Domain"),
            "NewDomain": obj(["name": ["type": "string", "pattern": domainPattern], "postmasterPassword": passwordSchema], required: ["name", "postmasterPassword"]),
            "NameList": obj(["items": arr(str)], required: ["items"]),
            "NewAliasDomain": obj(["name": ["type": "string", "pattern": domainPattern]], required: ["name"]),
            "UserSummary": obj(userProps, required: ["name", "address", "gecos", "quota"]),
            "User": obj(fullUser, required: ["name", "address", "gecos", "quota", "home", "flags", "usage", "lastLogin", "secondFactor", "appPasswords", "vacation"]),
            "UserPage": page("UserSummary"),
            "NewUser": obj(["name": ["type": "string", "pattern": userPattern], "password": passwordSchema,
                            "gecos": ["type": "string", "pattern": "^[ -9;-~]{0,64}$"], "quota": ["type": "string", "pattern": quotaPattern]], required: ["name", "password"]),
            "UserChange": obj(["gecos": ["type": "string", "pattern": "^[ -9;-~]{0,64}$"], "quota": ["type": "string", "pattern": quotaPattern], "flags": flags]),
            "Password": obj(["password": passwordSchema], required: ["password"]),
            "Forwards": obj(["addresses": arr(["type": "string", "pattern": addressPattern], max: 20), "keepCopy": bool], required: ["addresses"]),
            "Vacation": obj(["enabled": bool, "active": bool, "subject": str, "body": str, "periodDays": int,
                             "start": nullable(int), "end": nullable(int)], required: ["enabled"]),
            "VacationSet": obj(["subject": ["type": "string", "pattern": "^[ -~]{0,200}$"], "body": ["type": "string", "maxLength": 16384, "pattern": "^[^\\r\\u0000]*$"],
                                "start": ["type": "integer", "minimum": 0, "maximum": 4_000_000_000], "end": ["type": "integer", "minimum": 0, "maximum": 4_000_000_000],
                                "periodDays": ["type": "integer", "minimum": 1, "maximum": 365]], required: ["subject", "body"]),
            "Alias": obj(["name": str, "lines": arr(str)], required: ["name", "lines"]),
            "AliasList": obj(["items": arr(ref("Alias"))], required: ["items"]),
            "AliasSet": obj(["lines": ["type": "array", "items": ["type": "string", "pattern": linePattern], "minItems": 1, "maxItems": 100]], required: ["lines"]),
            "Limits": obj(limitProps),
            "LastLogins": obj(["items": arr(obj(["user": str, "time": int, "ip": str], required: ["user", "time", "ip"]))], required: ["items"]),
            "IPMapEntry": obj(["ip": ["type": "string", "pattern": ipPattern], "domain": ["type": "string", "pattern": domainPattern]], required: ["ip", "domain"]),
            "IPMapList": obj(["items": arr(ref("IPMapEntry"))], required: ["items"]),
            "AuditList": obj(["items": arr(obj(["time": int, "who": str, "via": str, "from": str, "action": str, "object": str,
                                                 "before": nullable(str), "after": nullable(str)],
                                                required: ["time", "who", "via", "from", "action", "object", "before", "after"]))], required: ["items"]),
        ]
    }

    static var document: J {
        var paths: [String: J] = [:]
        let errors: [Int: String] = [400: "Bad request (a query parameter)", 401: "No API key, or an unknown one",
                                     403: "The key's scope or domains don't allow it", 404: "No such domain, account or item",
                                     409: "It exists already, or a limit is reached", 413: "The body is too large",
                                     415: "The body is not JSON", 422: "A field is missing or invalid"]
        for (method, path, summary, request, status, response, query) in operations {
            var params: [J] = []
            for name in path.split(separator: "/").filter({ $0.hasPrefix("{") }).map({ String($0.dropFirst().dropLast()) }) {
                params.append(pathParams[name]!)
            }
            params += query
            var responses: J = [:]
            var ok: J = ["description": status == 204 ? "Done" : "OK"]
            if let response { ok["content"] = ["application/json": ["schema": ref(response)]] }
            responses["\(status)"] = ok
            for (code, text) in errors { responses["\(code)"] = ["description": text, "content": ["application/json": ["schema": ref("Error")]]] }
            var op: J = ["summary": summary, "operationId": operationId(method, path), "responses": responses]
            if !params.isEmpty { op["parameters"] = params }
            if let request { op["requestBody"] = ["required": true, "content": ["application/json": ["schema": ref(request)]]] }
            paths["/api/v1" + path, default: [:]][method] = op
        }
        return [
            "openapi": "3.1.0",
            "info": ["title": "vpopmail REST API", "version": "1.0.0",
                     "description": "Domains, accounts, aliases and forwards, limits, quotas, the IP map, vacation messages, last logins and the audit log of a vpopmail installation. Every change is a library call with the rules, locks, hooks and audit entry of the commands."],
            "servers": [["url": "/"]],
            "security": [["apiKey": []]],
            "paths": paths,
            "components": ["schemas": schemas,
                           "securitySchemes": ["apiKey": ["type": "http", "scheme": "bearer", "description": "A key from vapikey: vpk_<id>_<secret>"]]],
        ]
    }

    static func operationId(_ method: String, _ path: String) -> String {
        method + path.split(separator: "/").map { s in
            let w = s.hasPrefix("{") ? "By" + s.dropFirst().dropLast().capitalized : s.split(separator: "-").map(\.capitalized).joined()
            return w
        }.joined()
    }

    static var json: String {
        let d = try! JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        return String(decoding: d, as: UTF8.self) + "\n"
    }

    /// What differs between the API's routes and the document (empty: they agree).
    static func differences(_ routes: [Route]) -> [String] {
        let documented = Set(operations.map { "\($0.0.uppercased()) /api/v1\($0.1)" })
        let served = Set(routes.filter { $0.api }.map { "\($0.method) \($0.template)" })
        return documented.subtracting(served).sorted().map { "documented, not served: \($0)" }
            + served.subtracting(documented).sorted().map { "served, not documented: \($0)" }
    }
}
