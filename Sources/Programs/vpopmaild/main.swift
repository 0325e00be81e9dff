// vpopmaild on the cdb files (or /etc/passwd); the SQL stores are in vpopmaild-<store>.
import StoreFiles
import StorePasswd
import VpopmaildProgram

Vpopmaild.main(drivers: [FilesDriver.self, PasswdDriver.self])
