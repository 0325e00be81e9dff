// The administration commands on the cdb files (or /etc/passwd); the SQL stores are in
// vpopmail-<store>, which this hands over to.
import StoreFiles
import StorePasswd
import VpopmailAdmin

AdminProgram.main(drivers: [FilesDriver.self, PasswdDriver.self])
