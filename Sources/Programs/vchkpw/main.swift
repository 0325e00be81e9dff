// vchkpw on the cdb files (or /etc/passwd): no client library at any start; the SQL stores are
// in vchkpw-<store>, which this hands over to.
import StoreFiles
import StorePasswd
import VchkpwProgram

Vchkpw.main(drivers: FilesDriver.self, PasswdDriver.self)
