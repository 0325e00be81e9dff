/* pwstr.h: the password-strength policy (etc/password_strength.conf). */
#ifndef VPOPMAIL_PWSTR_H
#define VPOPMAIL_PWSTR_H

#ifdef __cplusplus
extern "C" {
#endif

/* 0 when the password passes the policy, else a VA_PWSTR_* code. */
int pw_strength(char *pass);
/* The policy's description, NULL when there is none. */
char *pw_strength_policy(void);

#ifdef __cplusplus
}
#endif

#endif
