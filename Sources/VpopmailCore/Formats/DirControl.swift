/// Adaptive directory hashing ("big dir", docs/formats.md, "Directory hashing"): where the next user home (or domain
/// directory) goes. The placement sequence, quirks included, is upstream's, so that old and new
/// tools place users identically: 99 entries in the top directory, then 100 per bucket
/// `0`…`z`, `0/0`…`z/z`, `0/0/0`….
public struct DirControl: Sendable, Equatable {
    public static let alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    public var curUsers: UInt64 = 0
    public var levelCur = 0
    public var levelMax = 3
    public var levelIndex = [0, 0, 0]
    /// The current bucket path, e.g. "", "0", "A/x".
    public var theDir: [UInt8] = []

    /// Character positions of the levels inside `theDir`.
    static let levelMod = [0, 2, 4]

    public init() {}

    /// The name of a user's home directory inside its bucket: the user name, except for a
    /// one-character name, whose home is `.<name>`. One-character entries of a domain directory
    /// (and of its buckets) are the hash buckets themselves, and no user name starts with a dot,
    /// so such a home can meet neither a bucket nor another user's home.
    public static func homeName(for user: String) -> String {
        user.utf8.count == 1 ? "." + user : user
    }

    /// The user whose home directory is named `name` (the inverse of `homeName(for:)`).
    public static func user(ofHomeName name: Substring) -> Substring {
        name.utf8.count == 2 && name.first == "." ? name.dropFirst() : name
    }

    public var bucket: String { String(decoding: theDir, as: UTF8.self) }

    private static func successor(_ c: UInt8) -> UInt8 {
        guard let i = alphabet.firstIndex(of: c) else { return alphabet[0] }
        return alphabet[(i + 1) % alphabet.count]
    }

    private mutating func advance(_ k: Int) {
        let pos = DirControl.levelMod[k]
        while theDir.count <= pos { theDir.append(0) }
        let c = theDir[pos]
        if c == UInt8(ascii: "z") {
            theDir[pos] = UInt8(ascii: "0")
            levelIndex[k] = 0
            if k > 0 { advance(k - 1) }
        } else {
            theDir[pos] = DirControl.successor(c)
            levelIndex[k] += 1
        }
    }

    /// Allocates one entry and returns the bucket it goes to (upstream's `next_bucket`).
    public mutating func next() -> String {
        curUsers += 1
        if curUsers % 100 != 0 { return bucket }
        if theDir.isEmpty {
            theDir = [UInt8(ascii: "0")]
            return bucket
        }
        if levelIndex[levelCur] == 61 {
            if levelCur == 0 {
                advance(0)
                levelCur = 1
                theDir.append(UInt8(ascii: "/"))
            } else if levelCur == 1 && levelIndex[0] == 61 && levelIndex[1] == 61 {
                advance(1)
                levelCur = 2
                theDir.append(UInt8(ascii: "/"))
            }
        }
        advance(levelCur)
        return bucket
    }

    /// Upstream's `dec_dir_control`: only the counter moves back.
    public mutating func release() {
        if curUsers > 0 { curUsers -= 1 }
    }

    /// The eight-line `.dir-control` text.
    public var fileText: String {
        "\(curUsers)\n\(levelCur)\n\(levelMax)\n0 0 0\n61 61 61\n0 2 4\n\(levelIndex[0]) \(levelIndex[1]) \(levelIndex[2])\n\(bucket)\n"
    }

    /// Parses `.dir-control`. Accepts upstream's `0 2 2` form of the triples, and a ninth line
    /// (which upstream's reader would take as the directory).
    public static func parse(_ text: String, file: String) throws(VpopmailError) -> DirControl {
        let lines = Bytes.textLines(text)
        guard lines.count >= 8 else {
            throw VpopmailError(.corruptFile, "\(file): corrupt .dir-control (\(lines.count) lines, expected 8)")
        }
        func bad(_ n: Int) -> VpopmailError {
            VpopmailError(.corruptFile, "\(file):\(n): corrupt .dir-control line")
        }
        var d = DirControl()
        guard let cur = UInt64(lines[0].trimmingSpaces()) else { throw bad(1) }
        guard let lc = Int(lines[1].trimmingSpaces()), (0...2).contains(lc) else { throw bad(2) }
        d.curUsers = cur
        d.levelCur = lc
        let idx = lines[6].split(separator: " ").compactMap { Int($0) }
        guard idx.count >= 2, idx.allSatisfy({ (0...62).contains($0) }) else { throw bad(7) }
        d.levelIndex = [idx[0], idx[1], idx.count > 2 ? idx[2] : 0]
        var dirLine = lines[7]
        if lines.count >= 9 && !lines[8].isEmpty { dirLine = lines[8] }
        let dir = Array(dirLine.utf8)
        for (i, c) in dir.enumerated() {
            let ok = i % 2 == 1 ? c == UInt8(ascii: "/") : alphabet.contains(c)
            if !ok || dir.count > 5 { throw bad(8) }
        }
        d.theDir = dir
        return d
    }

    /// Reads the state file; a missing file is the initial state.
    public static func load(_ path: String) throws(VpopmailError) -> DirControl {
        guard let text = try sys({ () throws(SystemError) in try FS.readText(path) }) else { return DirControl() }
        return try parse(text, file: path)
    }

    public func save(_ path: String, owner: (uid: UInt32, gid: UInt32)?, sync: Bool) throws(VpopmailError) {
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            try FS.writeAtomic(path, fileText, mode: 0o600, owner: owner, sync: sync)
        }
    }
}

/// The back-fill list `.dir_control_free`: buckets freed by deleted users, reused first.
public struct DirControlFreeList {
    public let path: String
    private var lines: [String]
    private var changed = false

    /// Reads the list (a missing file is an empty list).
    public init(path: String) throws(VpopmailError) {
        self.path = path
        lines = Bytes.textLines(try sys({ () throws(SystemError) in try FS.readText(path) }) ?? "")
    }

    private static func isBucket(_ s: String) -> Bool {
        let b = Array(s.utf8)
        if b.isEmpty || b.count > 5 { return false }
        for (k, c) in b.enumerated() {
            let ok = k % 2 == 1 ? c == UInt8(ascii: "/") : DirControl.alphabet.contains(c)
            if !ok { return false }
        }
        return true
    }

    /// Removes and returns the first usable bucket (non-blank, not a comment), or nil. A line that
    /// is not a bucket path is dropped, never used as a path.
    public mutating func take() -> String? {
        while let i = lines.firstIndex(where: { let t = $0.trimmingSpaces(); return !t.isEmpty && !t.hasPrefix("#") }) {
            let b = lines[i].trimmingSpaces()
            lines.remove(at: i)
            changed = true
            if DirControlFreeList.isBucket(b) { return b }
        }
        return nil
    }

    /// Writes the list back when `take()` changed it.
    public func save(owner: (uid: UInt32, gid: UInt32)?, sync: Bool) throws(VpopmailError) {
        guard changed else { return }
        let rest = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            if rest.isEmpty { try FS.unlink(path) } else { try FS.writeAtomic(path, rest, owner: owner, sync: sync) }
        }
    }

    /// Appends a freed bucket.
    public static func add(_ path: String, bucket: String, owner: (uid: UInt32, gid: UInt32)? = nil, sync: Bool) throws(VpopmailError) {
        try sys(.couldNotUpdateFile) { () throws(SystemError) in
            try FS.append(path, Array((bucket + "\n").utf8), owner: owner, sync: sync)
        }
    }
}
