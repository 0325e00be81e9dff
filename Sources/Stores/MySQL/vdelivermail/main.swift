// vdelivermail on the mysql store (and the cdb files and /etc/passwd, as the plain one).
import StoreFiles
import StorePasswd
import StoreMySQL
import VdelivermailProgram

Vdelivermail.main(drivers: MySQLDriver.self, FilesDriver.self, PasswdDriver.self)
