// vdelivermail on the sqlite store.
import StoreSQLite
import VdelivermailProgram

Vdelivermail.main(drivers: SQLiteDriver.self)
