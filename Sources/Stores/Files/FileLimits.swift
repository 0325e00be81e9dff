import VpopmailCore

/// A domain's limits in `<domaindir>/.qmailadmin-limits` (qmailadmin reads the same file).
public final class FileLimits: LimitsStore {
    let sync: Bool

    public init(sync: Bool) { self.sync = sync }

    public var storage: String { "files" }

    public static func path(_ d: DomainInfo) -> String { d.dir + "/.qmailadmin-limits" }

    public func limits(of d: DomainInfo) throws(VpopmailError) -> DomainLimits? {
        try sys(.cannotReadLimits) { () throws(SystemError) in try FS.readText(FileLimits.path(d)) }.map(DomainLimits.parse)
    }

    public func setLimits(_ l: DomainLimits, of d: DomainInfo) throws(VpopmailError) {
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            try FS.writeAtomic(FileLimits.path(d), l.fileText, mode: 0o600, owner: d.owner, sync: sync)
        }
    }

    public func deleteLimits(of d: DomainInfo) throws(VpopmailError) {
        try sys(.couldNotUpdateFile) { () throws(SystemError) in try FS.unlink(FileLimits.path(d)) }
    }

    public func domainDeleted(_ d: DomainInfo) throws(VpopmailError) {}
}
