// vdelivermail on the pgsql store (and the cdb files and /etc/passwd, as the plain one).
import StoreFiles
import StorePasswd
import StorePostgres
import VdelivermailProgram

Vdelivermail.main(drivers: PostgresDriver.self, FilesDriver.self, PasswdDriver.self)
