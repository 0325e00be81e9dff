// vdelivermail on the mysql store.
import StoreMySQL
import VdelivermailProgram

Vdelivermail.main(drivers: MySQLDriver.self)
