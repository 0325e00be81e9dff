extension Installation {
    func checkAliasName(_ alias: String) throws(VpopmailError) {
        guard UserName(alias) != nil, alias != "default" else {
            throw VpopmailError(.illegalUsername, "Illegal alias name: \(Validate.printable(alias))")
        }
    }

    /// Alias names of a domain, sorted case-insensitively (docs/formats.md).
    public func aliasNames(_ d: DomainInfo) throws(VpopmailError) -> [String] {
        try stores.aliases.names(in: d)
    }

    /// The lines of one alias (nil when there is no such alias).
    public func aliasLines(_ alias: String, _ d: DomainInfo) throws(VpopmailError) -> [String]? {
        let l = try stores.aliases.lines(of: alias.lowercased(), in: d)
        return l.isEmpty ? nil : l
    }

    /// `valias -i`: appends a line; refuses an exact duplicate and enforces maxaliases.
    public func addAliasLine(_ alias: String, _ line: String, domain: String) throws(VpopmailError) {
        let a = alias.lowercased()
        try checkAliasName(a)
        if line.utf8.count > LengthLimits.maxAliasLine { throw VpopmailError(.aliasLineTooLong) }
        if line.isEmpty || Validate.breaksLine(line) { throw VpopmailError(.badChar, "bad character in alias line") }
        let d = try requireDomain(domain)
        var hooked = false
        try stores.accounts.locked(domain: d) { (_) throws(VpopmailError) in
            let lines = try aliasLines(a, d) ?? []
            if lines.contains(line) { throw VpopmailError(.aliasExists, "alias \(a)@\(d.realDomain) -> \(line) already exists.") }
            if lines.isEmpty {
                let l = try limits(d)
                if l.maxAliases >= 0, try aliasNames(d).count >= l.maxAliases {
                    throw VpopmailError(.limitReached, "domain limit reached: at most \(l.maxAliases) aliases in \(d.realDomain)")
                }
            }
            if !hooked {
                hooked = true
                onchange("valias_insert", "\(a)@\(d.realDomain)", line, .before)
            }
            try stores.aliases.addLine(line, to: a, in: d)
        }
        onchange("valias_insert", "\(a)@\(d.realDomain)", line, .after)
    }

    /// Removes the lines of an alias that start with `prefix` (`exact`: the lines equal to it).
    public func removeAliasLines(_ alias: String, prefix: String, exact: Bool = false, domain: String) throws(VpopmailError) {
        let a = alias.lowercased()
        let d = try requireDomain(domain)
        var hooked = false, removed = false
        defer { if hooked { onchange("valias_remove", "\(a)@\(d.realDomain)", prefix, .after, done: removed) } }
        try stores.accounts.locked(domain: d) { (_) throws(VpopmailError) in
            guard let lines = try aliasLines(a, d) else { throw VpopmailError(.userDoesNotExist, "No such alias") }
            if !hooked {
                hooked = true
                onchange("valias_remove", "\(a)@\(d.realDomain)", prefix, .before)
            }
            try stores.aliases.removeLines(lines.filter { exact ? $0 == prefix : $0.hasPrefix(prefix) }, from: a, in: d)
        }
        removed = true
    }

    /// `valias -d`: deletes the alias.
    public func deleteAlias(_ alias: String, domain: String) throws(VpopmailError) {
        let a = alias.lowercased()
        try checkAliasName(a)
        let d = try requireDomain(domain)
        guard try aliasLines(a, d) != nil else { throw VpopmailError(.userDoesNotExist, "No aliases \(a)@\(d.realDomain) found") }
        onchange("valias_delete", "\(a)@\(d.realDomain)", "-", .before)
        try stores.aliases.delete(a, in: d)
        onchange("valias_delete", "\(a)@\(d.realDomain)", "-", .after)
    }
}
