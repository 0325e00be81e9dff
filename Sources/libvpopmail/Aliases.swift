// Aliases (valias_*), limits (vget_limits ...), the IP map and roaming users.
import CVpopmail
import VpopmailCore
#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) let aliasLine = StaticString(Int(MAX_BUFF) + Int(MAX_ALIAS_LINE))
nonisolated(unsafe) let aliasAllLine = StaticString(Int(MAX_BUFF) + Int(MAX_ALIAS_LINE))
nonisolated(unsafe) let aliasName = StaticString(Int(MAX_BUFF))

/// The domain of an alias call, when this process may act in it.
func aliasDomain(_ v: Installation, _ domain: UnsafeMutablePointer<CChar>?) throws(VpopmailError) -> DomainInfo {
    let d = try v.requireDomain(domainName(v, domain))
    if !mayAccess(d) { throw VpopmailError(.badUID) }
    return d
}

/// The lines of one alias: the first, then `valias_select_next()` for the others.
@_cdecl("valias_select")
public func c_valias_select(_ alias: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?) -> UnsafeMutablePointer<CChar>? {
    lib.aliasLines = []
    lib.aliasNext = 0
    guard let v = try? installation(), let a = str(alias), let d = try? aliasDomain(v, domain) else { return nil }
    lib.aliasLines = ((try? v.aliasLines(a, d)) ?? nil) ?? []
    return c_valias_select_next()
}

@_cdecl("valias_select_next")
public func c_valias_select_next() -> UnsafeMutablePointer<CChar>? {
    guard lib.aliasNext < lib.aliasLines.count else { return nil }
    lib.aliasNext += 1
    return aliasLine.set(lib.aliasLines[lib.aliasNext - 1])
}

/// Every (alias, line) of a domain, sorted by alias: the alias name is written into the caller's
/// `alias` buffer (MAX_BUFF bytes), the line returned.
@_cdecl("valias_select_all")
public func c_valias_select_all(_ alias: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?) -> UnsafeMutablePointer<CChar>? {
    lib.allAliases = []
    lib.allAliasesNext = 0
    guard let v = try? installation(), let d = try? aliasDomain(v, domain), let names = try? v.aliasNames(d) else { return nil }
    for n in names {
        for l in ((try? v.aliasLines(n, d)) ?? nil) ?? [] { lib.allAliases.append((n, l)) }
    }
    return c_valias_select_all_next(alias)
}

@_cdecl("valias_select_all_next")
public func c_valias_select_all_next(_ alias: UnsafeMutablePointer<CChar>?) -> UnsafeMutablePointer<CChar>? {
    guard lib.allAliasesNext < lib.allAliases.count else { return nil }
    let e = lib.allAliases[lib.allAliasesNext]
    lib.allAliasesNext += 1
    copy(e.alias, into: alias, size: Int(MAX_BUFF))
    return aliasAllLine.set(e.line)
}

@_cdecl("valias_select_names")
public func c_valias_select_names(_ domain: UnsafeMutablePointer<CChar>?) -> UnsafeMutablePointer<CChar>? {
    lib.aliasNames = []
    lib.aliasNamesNext = 0
    guard let v = try? installation(), let d = try? aliasDomain(v, domain) else { return nil }
    lib.aliasNames = (try? v.aliasNames(d)) ?? []
    return c_valias_select_names_next()
}

@_cdecl("valias_select_names_next")
public func c_valias_select_names_next() -> UnsafeMutablePointer<CChar>? {
    guard lib.aliasNamesNext < lib.aliasNames.count else { return nil }
    lib.aliasNamesNext += 1
    return aliasName.set(lib.aliasNames[lib.aliasNamesNext - 1])
}

@_cdecl("valias_select_names_end")
public func c_valias_select_names_end() {
    lib.aliasNames = []
    lib.aliasNamesNext = 0
}

/// Appends a line to an alias (valias -i): the same checks as the command (name, length, line
/// breaks, duplicates, maxaliases).
@_cdecl("valias_insert")
public func c_valias_insert(_ alias: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?, _ line: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        let d = try aliasDomain(v, domain)
        try v.addAliasLine(try arg(alias), try arg(line), domain: d.realDomain)
    }
}

/// Removes the lines of an alias equal to `line`.
@_cdecl("valias_remove")
public func c_valias_remove(_ alias: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?, _ line: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        let d = try aliasDomain(v, domain)
        try v.removeAliasLines(try arg(alias), prefix: try arg(line), exact: true, domain: d.realDomain)
    }
}

@_cdecl("valias_delete")
public func c_valias_delete(_ alias: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        let d = try aliasDomain(v, domain)
        try v.deleteAlias(try arg(alias), domain: d.realDomain)
    }
}

@_cdecl("valias_delete_domain")
public func c_valias_delete_domain(_ domain: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        let d = try aliasDomain(v, domain)
        for n in try v.aliasNames(d) { try v.deleteAlias(n, domain: d.realDomain) }
    }
}

// MARK: - Limits

func cLimits(_ l: DomainLimits) -> vlimits {
    var c = vlimits()
    c.maxpopaccounts = Int32(clamping: l.maxPopAccounts)
    c.maxaliases = Int32(clamping: l.maxAliases)
    c.maxforwards = Int32(clamping: l.maxForwards)
    c.maxautoresponders = Int32(clamping: l.maxAutoresponders)
    c.maxmailinglists = Int32(clamping: l.maxMailingLists)
    c.diskquota = l.diskQuota
    c.maxmsgcount = l.maxMsgCount
    c.defaultquota = l.defaultQuota
    c.defaultmaxmsgcount = l.defaultMaxMsgCount
    c.disable_pop = l.disablePOP ? 1 : 0
    c.disable_imap = l.disableIMAP ? 1 : 0
    c.disable_dialup = l.disableDialup ? 1 : 0
    c.disable_passwordchanging = l.disablePasswordChanging ? 1 : 0
    c.disable_webmail = l.disableWebmail ? 1 : 0
    c.disable_relay = l.disableRelay ? 1 : 0
    c.disable_smtp = l.disableSMTP ? 1 : 0
    c.disable_spamassassin = l.disableSpamassassin ? 1 : 0
    c.delete_spam = l.deleteSpam ? 1 : 0
    c.disable_maildrop = l.disableMaildrop ? 1 : 0
    c.perm_account = Int16(l.permAccount)
    c.perm_alias = Int16(l.permAlias)
    c.perm_forward = Int16(l.permForward)
    c.perm_autoresponder = Int16(l.permAutoresponder)
    c.perm_maillist = Int16(l.permMaillist)
    c.perm_maillist_users = Int16(l.permMaillistUsers)
    c.perm_maillist_moderators = Int16(l.permMaillistModerators)
    c.perm_quota = Int16(l.permQuota)
    c.perm_defaultquota = Int16(l.permDefaultQuota)
    return c
}

func swiftLimits(_ c: vlimits) -> DomainLimits {
    var l = DomainLimits()
    l.maxPopAccounts = Int(c.maxpopaccounts)
    l.maxAliases = Int(c.maxaliases)
    l.maxForwards = Int(c.maxforwards)
    l.maxAutoresponders = Int(c.maxautoresponders)
    l.maxMailingLists = Int(c.maxmailinglists)
    l.diskQuota = c.diskquota
    l.maxMsgCount = c.maxmsgcount
    l.defaultQuota = c.defaultquota
    l.defaultMaxMsgCount = c.defaultmaxmsgcount
    l.disablePOP = c.disable_pop != 0
    l.disableIMAP = c.disable_imap != 0
    l.disableDialup = c.disable_dialup != 0
    l.disablePasswordChanging = c.disable_passwordchanging != 0
    l.disableWebmail = c.disable_webmail != 0
    l.disableRelay = c.disable_relay != 0
    l.disableSMTP = c.disable_smtp != 0
    l.disableSpamassassin = c.disable_spamassassin != 0
    l.deleteSpam = c.delete_spam != 0
    l.disableMaildrop = c.disable_maildrop != 0
    l.permAccount = Int(c.perm_account) & 7
    l.permAlias = Int(c.perm_alias) & 7
    l.permForward = Int(c.perm_forward) & 7
    l.permAutoresponder = Int(c.perm_autoresponder) & 7
    l.permMaillist = Int(c.perm_maillist) & 7
    l.permMaillistUsers = Int(c.perm_maillist_users) & 7
    l.permMaillistModerators = Int(c.perm_maillist_moderators) & 7
    l.permQuota = Int(c.perm_quota) & 7
    l.permDefaultQuota = Int(c.perm_defaultquota) & 7
    return l
}

/// The domain's limits (its own, else vlimits.default, else the built-in defaults): 0 or -1.
@_cdecl("vget_limits")
public func c_vget_limits(_ domain: UnsafePointer<CChar>?, _ limits: UnsafeMutablePointer<vlimits>?) -> Int32 {
    guard let limits else { return -1 }
    limits.pointee = cLimits(DomainLimits())
    guard let v = try? installation(), let name = str(domain), let d = (try? v.domain(name)) ?? nil,
          let l = try? v.limits(d) else { return -1 }
    limits.pointee = cLimits(l)
    return 0
}

@_cdecl("vset_limits")
public func c_vset_limits(_ domain: UnsafePointer<CChar>?, _ limits: UnsafePointer<vlimits>?) -> Int32 {
    guard let limits else { return -1 }
    let r = code { () throws(VpopmailError) in
        let v = try installation()
        let d = try v.requireDomain(try arg(domain))
        if !mayAccess(d) { throw VpopmailError(.badUID) }
        try v.setLimits(swiftLimits(limits.pointee), for: d)
    }
    return r == 0 ? 0 : -1
}

@_cdecl("vdel_limits")
public func c_vdel_limits(_ domain: UnsafePointer<CChar>?) -> Int32 {
    let r = code { () throws(VpopmailError) in
        let v = try installation()
        let d = try v.requireDomain(try arg(domain))
        if !mayAccess(d) { throw VpopmailError(.badUID) }
        try v.deleteLimits(d)
    }
    return r == 0 ? 0 : -1
}

@_cdecl("vdefault_limits")
public func c_vdefault_limits(_ limits: UnsafeMutablePointer<vlimits>?) -> Int32 {
    guard let limits else { return -1 }
    limits.pointee = cLimits(DomainLimits())
    return 0
}

/// Reads a limits file: `dir` is the file's path (upstream's name for the argument).
@_cdecl("vlimits_read_limits_file")
public func c_vlimits_read_limits_file(_ path: UnsafePointer<CChar>?, _ limits: UnsafeMutablePointer<vlimits>?) -> Int32 {
    guard let limits, let p = str(path) else { return -1 }
    limits.pointee = cLimits(DomainLimits())
    guard let text = (try? FS.readText(p)) ?? nil else { return -1 }
    limits.pointee = cLimits(DomainLimits.parse(text))
    return 0
}

@_cdecl("vlimits_write_limits_file")
public func c_vlimits_write_limits_file(_ path: UnsafePointer<CChar>?, _ limits: UnsafePointer<vlimits>?) -> Int32 {
    guard let limits, let p = str(path) else { return -1 }
    let sync = (try? installation())?.sync ?? true
    do throws(SystemError) {
        try FS.writeAtomic(p, swiftLimits(limits.pointee).fileText, mode: 0o600, sync: sync)
        return 0
    } catch {
        return -1
    }
}

@_cdecl("vlimits_get_flag_mask")
public func c_vlimits_get_flag_mask(_ limits: UnsafeMutablePointer<vlimits>?) -> Int32 {
    guard let limits else { return 0 }
    return Int32(bitPattern: swiftLimits(limits.pointee).flagMask.rawValue)
}

/// Sets `pw_flags` of a record from its `pw_gid` and the domain's limits.
@_cdecl("vlimits_setflags")
public func c_vlimits_setflags(_ pw: UnsafeMutablePointer<vqpasswd>?, _ domain: UnsafeMutablePointer<CChar>?) -> Int32 {
    guard let pw, let v = try? installation(), let d = (try? v.domain(domainName(v, domain))) ?? nil else { return -1 }
    let limits = (try? v.limits(d)) ?? DomainLimits()
    pw.pointee.pw_flags = v.effectiveFlags(account(of: pw), limits: limits).rawValue
    return 0
}

// MARK: - IP map

@_cdecl("vget_ip_map")
public func c_vget_ip_map(_ ip: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?, _ size: Int32) -> Int32 {
    guard let v = try? installation(), let i = str(ip), let domain else { return -1 }
    guard let d = (try? v.ipMapDomain(i)) ?? nil else { return -1 }
    copy(d, into: domain, size: Int(size))
    return 0
}

@_cdecl("vadd_ip_map")
public func c_vadd_ip_map(_ ip: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        try v.addIPMap(ip: try arg(ip), domain: try arg(domain))
    }
}

@_cdecl("vdel_ip_map")
public func c_vdel_ip_map(_ ip: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?) -> Int32 {
    code { () throws(VpopmailError) in
        let v = try installation()
        try v.deleteIPMap(ip: try arg(ip), domain: try arg(domain))
    }
}

/// Iterates the map: `first` 1 restarts; 1 with `ip` and `domain` (MAX_BUFF bytes each) filled,
/// 0 at the end.
@_cdecl("vshow_ip_map")
public func c_vshow_ip_map(_ first: Int32, _ ip: UnsafeMutablePointer<CChar>?, _ domain: UnsafeMutablePointer<CChar>?) -> Int32 {
    if first != 0 {
        lib.ipMap = (try? installation().ipMap()) ?? []
        lib.ipMapNext = 0
    }
    guard lib.ipMapNext < lib.ipMap.count else { return 0 }
    let e = lib.ipMap[lib.ipMapNext]
    lib.ipMapNext += 1
    copy(e.ip, into: ip, size: Int(MAX_BUFF))
    copy(e.domain, into: domain, size: Int(MAX_BUFF))
    return 1
}

// MARK: - Roaming users

/// Opens relaying for the client address ($TCPREMOTEIP): 1 when the rules were rebuilt.
@_cdecl("vopen_smtp_relay")
public func c_vopen_smtp_relay() -> Int32 {
    guard let v = try? installation() else { return 0 }
    return ((try? Relay(v).open(ip: Relay.clientIP(), now: Int(time(nil)))) ?? false) ? 1 : 0
}

/// clearopensmtp: drops the addresses older than relay-clear-minutes and rebuilds the rules.
@_cdecl("vclear_open_smtp")
public func c_vclear_open_smtp(_ clearMinutes: time_t, _ now: time_t) {
    guard let v = try? installation() else { return }
    try? Relay(v).clear(now: Int(now))
}
