// vchkpw on the mysql store (and the cdb files and /etc/passwd, as the plain one).
import StoreFiles
import StorePasswd
import StoreMySQL
import VchkpwProgram

Vchkpw.main(drivers: MySQLDriver.self, FilesDriver.self, PasswdDriver.self)
