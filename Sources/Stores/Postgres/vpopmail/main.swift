// The administration commands on the pgsql store (and the cdb files, for vconvert).
import StorePostgres
import StoreFiles
import StorePasswd
import VpopmailAdmin

AdminProgram.main(drivers: [FilesDriver.self, PasswdDriver.self, PostgresDriver.self])
