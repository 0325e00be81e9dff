// vchkpw: the cdb files, /etc/passwd and, when the client archives were there to link (see
// allStoresStatic in Package.swift), every SQL store, all in one static program. Built without
// them, it hands an SQL store over to vchkpw-<store>.
import StoreFiles
import StorePasswd
import VchkpwProgram
#if SQL_STORES
import StoreMySQL
import StorePostgres
import StoreSQLite
Vchkpw.main(drivers: FilesDriver.self, PasswdDriver.self, MySQLDriver.self, PostgresDriver.self, SQLiteDriver.self)
#else
Vchkpw.main(drivers: FilesDriver.self, PasswdDriver.self)
#endif
