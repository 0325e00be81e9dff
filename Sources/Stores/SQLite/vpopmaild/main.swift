// vpopmaild on the SQLite store (and the cdb files and /etc/passwd).
import StoreFiles
import StorePasswd
import StoreSQLite
import VpopmaildProgram

Vpopmaild.main(drivers: [SQLiteDriver.self, FilesDriver.self, PasswdDriver.self])
