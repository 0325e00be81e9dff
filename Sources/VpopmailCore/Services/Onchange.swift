#if canImport(Glibc)
import Glibc
#endif

/// The onchange hook (docs/formats.md, "The onchange hook"): with `onchange-script = y` (after-only) or
/// `onchange-script-before-and-after = y`, `~vpopmail/etc/onchange <command> <arg1> <arg2> <arg3>`
/// runs, and is waited for, around every change. arg2 is `-` when unused; arg3 is empty in
/// after-only mode (where delete events fire before the change, everything else after) and
/// `before`/`after` otherwise.
extension Installation {
    public enum HookPhase: Sendable { case before, after }

    static let deleteEvents: Set<String> = ["del_domain", "del_user", "valias_remove", "valias_delete", "valias_delete_domain"]

    /// Runs the hook for `command` at `phase`, when configured and not suppressed.
    /// `done`: whether the change happened (a deferred after-event of a change that failed runs
    /// the hook, as upstream, but writes no audit entry).
    public func onchange(_ command: String, _ arg1: String, _ arg2: String = "-", _ phase: HookPhase, done: Bool = true) {
        // Every change is in the audit log, once, after it happened (mod_user writes its own
        // entry, with the account before and after).
        if phase == .after && done && command != "mod_user" { audit(command, arg1, after: arg2 == "-" ? nil : arg2) }
        guard !suppressChangeHooks, config.onchangeScript || config.onchangeScriptBeforeAndAfter else { return }
        let arg3: String
        if config.onchangeScriptBeforeAndAfter {
            arg3 = phase == .before ? "before" : "after"
        } else {
            let wanted: HookPhase = Installation.deleteEvents.contains(command) ? .before : .after
            guard phase == wanted else { return }
            arg3 = ""
        }
        let script = etcDir + "/onchange"
        guard FS.exists(script) else { return }
        guard access(script, X_OK) == 0 else {
            let m = "onchange script \(script) is not executable\n"
            _ = m.withCString { write(2, $0, strlen($0)) }
            return
        }
        // Root runs only a hook nobody else can replace.
        if let why = FS.untrustedProgram(script) {
            let m = "onchange: refusing to run \(script): \(why)\n"
            _ = m.withCString { write(2, $0, strlen($0)) }
            return
        }
        _ = Proc.run([script, command, arg1, arg2, arg3])
    }
}
