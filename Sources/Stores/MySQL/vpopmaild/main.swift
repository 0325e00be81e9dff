// vpopmaild on the MySQL store (and the cdb files and /etc/passwd).
import StoreFiles
import StorePasswd
import StoreMySQL
import VpopmaildProgram

Vpopmaild.main(drivers: [MySQLDriver.self, FilesDriver.self, PasswdDriver.self])
