#if canImport(Glibc)
import Glibc
#endif

extension Installation {
    /// The domain for a login without one (docs/vchkpw.md, "Login names and domains"):
    /// `$VPOPMAIL_DOMAIN`; with `ip-alias-domains`, the `vipmap` entry of the server address
    /// `localIP` (unless that domain is in `control/locals`), else the reverse DNS name of that
    /// address (or its parent) when it is a vpopmail domain; then `default-domain`, then
    /// `etc/defaultdomain`. Empty when none applies.
    public func defaultDomain(localIP: String?) -> String {
        if let e = Proc.env("VPOPMAIL_DOMAIN"), !e.isEmpty { return Relay.sanitize(e).lowercased() }
        if config.ipAliasDomains, var ip = localIP, !ip.isEmpty {
            if ip.lowercased().hasPrefix("::ffff:") && ip.contains(".") { ip = String(ip.dropFirst(7)) }
            ip = Relay.sanitize(ip)
            if let d = try? ipMapDomain(ip) {
                let locals = (try? qmail.readLines(qmail.control("locals"))) ?? []
                if d == "localhost" || !locals.contains(d) { return d }
            } else if let name = Installation.reverseDNS(ip) {
                var candidate = name.lowercased()
                while candidate.contains(".") {
                    if (try? domain(candidate)) ?? nil != nil { return candidate }
                    candidate = String(candidate.drop(while: { $0 != "." }).dropFirst())
                }
            }
        }
        if let d = config.defaultDomain { return d.text }
        if let t = try? FS.readText(etcDir + "/defaultdomain"), let first = Bytes.textLines(t).first {
            return first.trimmingSpaces().lowercased()
        }
        return ""
    }

    /// The name of an IPv4 or IPv6 address (getnameinfo, name required), or nil.
    static func reverseDNS(_ ip: String) -> String? {
        var host = [CChar](repeating: 0, count: 1025)
        var r: Int32 = -1
        var a4 = sockaddr_in()
        var a6 = sockaddr_in6()
        if inet_pton(AF_INET, ip, &a4.sin_addr) == 1 {
            a4.sin_family = sa_family_t(AF_INET)
            r = withUnsafePointer(to: &a4) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    getnameinfo($0, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0, NI_NAMEREQD)
                }
            }
        } else if inet_pton(AF_INET6, ip, &a6.sin6_addr) == 1 {
            a6.sin6_family = sa_family_t(AF_INET6)
            r = withUnsafePointer(to: &a6) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    getnameinfo($0, socklen_t(MemoryLayout<sockaddr_in6>.size), &host, socklen_t(host.count), nil, 0, NI_NAMEREQD)
                }
            }
        }
        guard r == 0 else { return nil }
        return String(decoding: host.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
