#include <crypt.h>
/* Size of struct crypt_data, so Swift never imports the 32 KiB struct itself. */
static inline int ccrypt_data_size(void) { return (int)sizeof(struct crypt_data); }
#include <argon2.h>
