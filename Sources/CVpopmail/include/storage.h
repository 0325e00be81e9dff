/* storage.h: the type of quota sizes and message counts (64 bits). */
#ifndef VPOPMAIL_STORAGE_H
#define VPOPMAIL_STORAGE_H
#include "config.h"
#include <stdint.h>
#include <inttypes.h>

typedef uint64_t storage_t;
#define STORAGE_MAX_VALUE UINT64_MAX
#define PRIstorage PRIu64
#define SCNstorage SCNu64

#endif
