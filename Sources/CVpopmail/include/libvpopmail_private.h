/* Not installed: what the Swift layer of libvpopmail reads from its C part. */
#ifndef LIBVPOPMAIL_PRIVATE_H
#define LIBVPOPMAIL_PRIVATE_H
extern const char vpopmail_lib_home[];
const char *vpopmail_lib_home_dir(void);
/* The globals of vpopmail.h, read and set from Swift. */
int vpopmail_lib_optimize_add_domain(void);
int vpopmail_lib_no_make_index(void);
void vpopmail_lib_set_verrori(int e);
/* 1 when the client library of store (mysql, pgsql, sqlite) is linked into the program. */
int vpopmail_lib_have_client(const char *store);
#endif
