/* The globals of upstream's interface, and the installation directory the library was laid out
 * for: install.sh links a strong vpopmail_lib_home (its VPOPMAIL_HOME) over this default. */
#include "vpopmail.h"
#include "libvpopmail_private.h"

int verrori = 0;
int OptimizeAddDomain = 0;
int NoMakeIndex = 0;

__attribute__((weak)) const char vpopmail_lib_home[] = VPOPMAILDIR;

const char *vpopmail_lib_home_dir(void) { return vpopmail_lib_home; }

int vpopmail_lib_optimize_add_domain(void) { return OptimizeAddDomain; }
int vpopmail_lib_no_make_index(void) { return NoMakeIndex; }
void vpopmail_lib_set_verrori(int e) { verrori = e; }

/* The SQL client libraries are weak references in libvpopmail.a (scripts/libvpopmail.sh): a
 * client links only the one its installation's store needs (etc/lib_deps), as upstream's
 * single-backend library does, and pays nothing at start-up for the others. Whether one is
 * linked in is asked here before its store is opened. */
extern void mysql_init(void) __attribute__((weak));
extern void PQconnectdbParams(void) __attribute__((weak));
extern void sqlite3_open_v2(void) __attribute__((weak));

int vpopmail_lib_have_client(const char *store) {
  if (store[0] == 'm') return mysql_init != 0;
  if (store[0] == 'p') return PQconnectdbParams != 0;
  if (store[0] == 's') return sqlite3_open_v2 != 0;
  return 1;
}
