// vpopmaild on the Postgres store (and the cdb files and /etc/passwd).
import StoreFiles
import StorePasswd
import StorePostgres
import VpopmaildProgram

Vpopmaild.main(drivers: [PostgresDriver.self, FilesDriver.self, PasswdDriver.self])
