import VpopmailCore

/// The embedded default (`auth-module = cdb`): everything in files of the tree, readable by
/// qmail, qmailadmin and upstream's tools.
public enum FilesDriver: StoreDriver {
    public static var name: StoreName { .cdb }

    public static func open(_ c: StoreContext) throws(VpopmailError) -> StoreSet {
        FilesDriver.stores(c, accounts: CDBAccounts(sync: c.config.fileSync, storeClear: c.config.clearPasswd))
    }

    /// The file-backed stores around `accounts` (the /etc/passwd and SQL drivers keep what
    /// they do not hold themselves in the same files).
    public static func stores(_ c: StoreContext, accounts: any AccountStore) -> StoreSet {
        let sync = c.config.fileSync
        return StoreSet(accounts: accounts, aliases: FileAliases(sync: sync), limits: FileLimits(sync: sync),
                        lastAuth: FileLastAuth(), dirControl: FileDirControl(sync: sync),
                        ipMap: FileIPMap(etcDir: c.etcDir, sync: sync),
                        relay: FileRelay(etcDir: c.etcDir, owner: c.owner, sync: sync))
    }
}
