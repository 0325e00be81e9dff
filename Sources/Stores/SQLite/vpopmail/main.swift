// The administration commands on the sqlite store (and the cdb files, for vconvert).
import StoreSQLite
import StoreFiles
import StorePasswd
import VpopmailAdmin

AdminProgram.main(drivers: [FilesDriver.self, PasswdDriver.self, SQLiteDriver.self])
