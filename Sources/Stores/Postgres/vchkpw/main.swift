// vchkpw on the pgsql store.
import StorePostgres
import VchkpwProgram

Vchkpw.main(drivers: PostgresDriver.self)
