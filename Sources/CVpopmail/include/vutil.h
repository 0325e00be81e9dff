/* vutil.h: helpers upstream's programs share. */
#ifndef VPOPMAIL_VUTIL_H
#define VPOPMAIL_VUTIL_H

#ifdef __cplusplus
extern "C" {
#endif

/* The default domain (etc/defaultdomain), in static storage. */
char *vget_default_domain(void);

#ifdef __cplusplus
}
#endif

#endif
