/* config.h: upstream installs its configure result under this name too (storage.h and some
 * clients include it, qmailadmin's configure reads VERSION from it). The same values as
 * vpopmail_config.h. */
#include "vpopmail_config.h"
