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
