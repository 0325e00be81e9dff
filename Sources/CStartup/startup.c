/* Start-up of the two programs that run once per login and once per message (vchkpw,
 * vdelivermail), which are linked fully statically.
 *
 * libswiftCore.a runs two static constructors that these programs do not need, and each costs
 * system calls and page faults at every start:
 *  - Backtrace.cpp looks for the swift-backtrace crash reporter (readlink of /proc/self/exe,
 *    nine stat calls next to the binary, isatty twice). It is never installed with these
 *    programs, so the runtime ends up with backtraces off anyway.
 *  - CommandLine.cpp finds argv by reading /proc/self/maps.
 * An archive member is linked only when it defines a symbol nothing else defines. These
 * definitions come first, so neither member (nor its constructor) is linked: the settings
 * below say "backtraces off", and argv comes from an .init_array entry, which glibc calls
 * with (argc, argv, envp) in static programs too. A crash still prints Swift's fatal error
 * message and ends with the signal, as it does today without swift-backtrace.
 * Should a new toolchain pull either member in for another symbol, the link fails with a
 * duplicate definition instead of silently changing behaviour. */
#include <stdbool.h>
#include <stddef.h>

int vpop_cstartup_linked(void) { return 1; }

/* --- CommandLine ------------------------------------------------------------------------- */
static int saved_argc;
static char **saved_argv;

static void save_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}
__attribute__((section(".init_array"), used)) static void (*const save_arguments_entry)(int, char **, char **) = save_arguments;

char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen) {
    *outArgLen = saved_argc;
    return saved_argv;
}

void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc) {
    saved_argv = argv;
    saved_argc = argc;
}

/* --- Backtrace ----------------------------------------------------------------------------- */
/* swift::runtime::backtrace::BacktraceSettings: a few enums, flags and two pointers. All zero
 * means algorithm auto, enabled OFF, no backtracer path. Sized generously: only read. */
__attribute__((aligned(16))) unsigned char _swift_backtraceSettings[256];

bool _swift_backtrace_isThunkFunction(const char *mangledName) {
    (void)mangledName;
    return false;
}

char *_swift_backtrace_demangle(const char *mangledName, size_t mangledNameLength, char *outputBuffer,
                                size_t *outputBufferSize) {
    (void)mangledName; (void)mangledNameLength; (void)outputBuffer; (void)outputBufferSize;
    return NULL;
}

void _swift_displayCrashMessage(int signum, const void *pc) {
    (void)signum; (void)pc;
}

bool _swift_spawnBacktracer(const void *context) {
    (void)context;
    return false;
}
