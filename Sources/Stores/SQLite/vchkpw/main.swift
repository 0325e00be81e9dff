// vchkpw on the sqlite store.
import StoreSQLite
import VchkpwProgram

Vchkpw.main(drivers: SQLiteDriver.self)
