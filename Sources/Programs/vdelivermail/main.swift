// vdelivermail on the cdb files; the SQL stores are in vdelivermail-<store>, which this hands
// over to.
import StoreFiles
import StorePasswd
import VdelivermailProgram

Vdelivermail.main(drivers: FilesDriver.self, PasswdDriver.self)
