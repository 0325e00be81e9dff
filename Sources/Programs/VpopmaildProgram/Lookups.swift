import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

/// The look-ups a session makes on every request, without re-reading users/cdb each time: the
/// domains found are kept while users/cdb is the same file (qmail-newu and the library replace
/// it by a rename, so a changed one has another inode, time or size: one stat per request).
final class DomainCache {
    var stamp: (ino: UInt64, sec: Int, nsec: Int, size: Int64)? = nil
    var domains: [String: DomainInfo?] = [:]

    func lookup(_ v: Installation, _ name: String) -> DomainInfo? {
        var st = stat()
        if stat(v.qmail.usersCDBPath, &st) == 0 {
            let now = (UInt64(st.st_ino), st.st_mtim.tv_sec, st.st_mtim.tv_nsec, Int64(st.st_size))
            if stamp == nil || stamp! != now {
                domains = [:]
                stamp = now
            }
        } else {
            domains = [:]
            stamp = nil
        }
        let key = name.lowercased()
        if let hit = domains[key] { return hit }
        let d = (try? v.domain(key)) ?? nil
        if stamp != nil && domains.count < 10_000 { domains[key] = d }
        return d
    }
}

extension Session {
    /// A domain (real or alias) by name, or nil.
    func domain(_ name: String) -> DomainInfo? {
        name.isEmpty ? nil : domainCache.lookup(v, name)
    }

    /// An account of a domain found already, or nil.
    func account(_ user: String, _ d: DomainInfo) -> Account? {
        guard let u = (try? UserName.lookup(user)) ?? nil else { return nil }
        return (try? v.stores.accounts.account(u, in: d)) ?? nil
    }
}
