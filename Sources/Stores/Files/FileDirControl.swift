import VpopmailCore

/// The hashing state in `.dir-control` files: `<domaindir>/.dir-control` for a domain's users,
/// `<domains root>/.dir-control` for the domain directories.
public final class FileDirControl: DirControlStore {
    let sync: Bool

    public init(sync: Bool) { self.sync = sync }

    public var storage: String { "files" }

    public static func path(_ key: DirControlKey) -> String {
        switch key {
        case .users(let d): return d.dir + "/.dir-control"
        case .domains(let root, _): return root + "/.dir-control"
        }
    }

    public func load(_ key: DirControlKey) throws(VpopmailError) -> DirControl { try DirControl.load(FileDirControl.path(key)) }

    public func save(_ state: DirControl, _ key: DirControlKey, owner: (uid: UInt32, gid: UInt32)) throws(VpopmailError) {
        try state.save(FileDirControl.path(key), owner: owner, sync: sync)
    }

    public func exists(_ key: DirControlKey) -> Bool { FS.exists(FileDirControl.path(key)) }

    public func domainDeleted(_ d: DomainInfo) throws(VpopmailError) {}
}
