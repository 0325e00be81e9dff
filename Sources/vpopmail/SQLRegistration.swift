// The SQL stores compiled into this program. One file, linked into every executable target:
// the cdb programs have none (VPOP_SQL unset), vpopmail-<store>, vchkpw-<store> and
// vdelivermail-<store> have one, vpopmail-sql has all three (Package.swift sets the flags).
#if VPOP_SQL
import SQLStores
#endif
#if VPOP_MYSQL
import SQLMySQL
#endif
#if VPOP_PGSQL
import SQLPostgres
#endif
#if VPOP_SQLITE
import SQLSQLite
#endif

/// Installs the compiled-in SQL stores; the first thing each program's main does.
func registerSQLStores() {
    #if VPOP_SQL
    SQLStores.register()
    #endif
    #if VPOP_MYSQL
    MySQLDriver.register()
    #endif
    #if VPOP_PGSQL
    PostgresDriver.register()
    #endif
    #if VPOP_SQLITE
    SQLiteDriver.register()
    #endif
}
