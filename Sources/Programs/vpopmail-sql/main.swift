// The administration commands with every store, for vconvert between two of them.
import StoreFiles
import StoreMySQL
import StorePasswd
import StorePostgres
import StoreSQLite
import VpopmailAdmin

AdminProgram.main(drivers: [FilesDriver.self, PasswdDriver.self, MySQLDriver.self, PostgresDriver.self, SQLiteDriver.self])
