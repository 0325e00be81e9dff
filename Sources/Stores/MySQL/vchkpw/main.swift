// vchkpw on the mysql store.
import StoreMySQL
import VchkpwProgram

Vchkpw.main(drivers: MySQLDriver.self)
