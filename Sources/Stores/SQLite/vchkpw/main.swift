// vchkpw on the sqlite store (and the cdb files and /etc/passwd, as the plain one).
import StoreFiles
import StorePasswd
import StoreSQLite
import VchkpwProgram

Vchkpw.main(drivers: SQLiteDriver.self, FilesDriver.self, PasswdDriver.self)
