// vdelivermail on the pgsql store.
import StorePostgres
import VdelivermailProgram

Vdelivermail.main(drivers: PostgresDriver.self)
