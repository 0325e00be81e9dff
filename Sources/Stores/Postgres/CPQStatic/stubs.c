/*
 * Debian's libpq.a is built with GSSAPI and LDAP, whose archives Debian does not ship. The
 * static vchkpw-pgsql and vdelivermail-pgsql link it with these definitions instead: every GSSAPI
 * call fails (GSS_S_FAILURE), so libpq finds no credentials and goes on without GSS encryption or
 * authentication; every LDAP call fails, so an `ldap://` service lookup in pg_service.conf fails.
 * The administration commands (vpopmail-pgsql) link the shared libpq and keep both.
 * The callers pass arguments these definitions ignore (the SysV x86-64 and AArch64 conventions let
 * a callee ignore its arguments).
 */
#include "cpqstatic.h"
#include <stddef.h>

#define GSS_S_FAILURE (13u << 16)

void vpop_pq_static_marker(void) {}

void *GSS_C_NT_HOSTBASED_SERVICE = NULL;

unsigned int gss_acquire_cred(unsigned int *minor) { if (minor) *minor = 0; return GSS_S_FAILURE; }
unsigned int gss_delete_sec_context(unsigned int *minor) { if (minor) *minor = 0; return GSS_S_FAILURE; }
unsigned int gss_display_status(unsigned int *minor) { if (minor) *minor = 0; return GSS_S_FAILURE; }
unsigned int gss_import_name(unsigned int *minor) { if (minor) *minor = 0; return GSS_S_FAILURE; }
unsigned int gss_init_sec_context(unsigned int *minor) { if (minor) *minor = 0; return GSS_S_FAILURE; }
unsigned int gss_release_buffer(unsigned int *minor) { if (minor) *minor = 0; return 0; }
unsigned int gss_release_cred(unsigned int *minor) { if (minor) *minor = 0; return 0; }
unsigned int gss_release_name(unsigned int *minor) { if (minor) *minor = 0; return 0; }
unsigned int gss_unwrap(unsigned int *minor) { if (minor) *minor = 0; return GSS_S_FAILURE; }
unsigned int gss_wrap(unsigned int *minor) { if (minor) *minor = 0; return GSS_S_FAILURE; }
unsigned int gss_wrap_size_limit(unsigned int *minor) { if (minor) *minor = 0; return GSS_S_FAILURE; }

void *ldap_init(void) { return NULL; }
int ldap_count_entries(void) { return -1; }
char *ldap_err2string(void) { return "LDAP is not available in this static build"; }
void *ldap_first_entry(void) { return NULL; }
void *ldap_get_values_len(void) { return NULL; }
int ldap_msgfree(void) { return 0; }
int ldap_result(void) { return -1; }
int ldap_search_st(void) { return -1; }
int ldap_set_option(void) { return -1; }
int ldap_simple_bind(void) { return -1; }
int ldap_unbind(void) { return -1; }
void ldap_value_free_len(void) {}
