/// `vconvert --upgrade`: what a database made by upstream needs before several mail hosts share
/// it. Upstream created `dir_control`, `lastauth`, `valias` and `vlog` as MyISAM, which has no
/// row locks and which Galera does not replicate; its `valias` has no primary key (Galera
/// refuses to replicate DELETEs from such a table safely, and a replica applies each row
/// change by a full scan).
extension Installation {
    public enum SchemaChange: Equatable, Sendable {
        case madeTransactional(table: String, from: String)
        case addedPrimaryKey(table: String)
        case lacksPrimaryKey(table: String)
    }

    /// Converts every non-transactional table to InnoDB and gives `valias` its key (`dryRun`:
    /// only says what it would do). Returns what changed (or would), and the tables that still
    /// lack a primary key. `.badConfig` on a store without tables.
    public func upgradeSchema(dryRun: Bool) throws(VpopmailError) -> [SchemaChange] {
        guard let schema = stores.schema else {
            throw VpopmailError(.badConfig, "auth-module \(config.authModule) keeps no SQL tables: nothing to upgrade")
        }
        var out: [SchemaChange] = []
        for t in try schema.tables() {
            if !t.transactional {
                if !dryRun { try schema.makeTransactional(t.name) }
                out.append(.madeTransactional(table: t.name, from: t.engine ?? "?"))
            }
            if !t.hasPrimaryKey {
                out.append(try schema.addPrimaryKey(t.name, dryRun: dryRun) ? .addedPrimaryKey(table: t.name) : .lacksPrimaryKey(table: t.name))
            }
        }
        return out
    }
}
