/* Nothing to call: this target replaces two start-up constructors of the static Swift runtime in
 * vchkpw and vdelivermail (see startup.c). */
#ifndef VPOP_CSTARTUP_H
#define VPOP_CSTARTUP_H
int vpop_cstartup_linked(void);
#endif
