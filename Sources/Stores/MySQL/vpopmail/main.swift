// The administration commands on the mysql store (and the cdb files, for vconvert).
import StoreMySQL
import StoreFiles
import StorePasswd
import VpopmailAdmin

AdminProgram.main(drivers: [FilesDriver.self, PasswdDriver.self, MySQLDriver.self])
