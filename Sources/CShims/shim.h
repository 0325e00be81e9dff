#include <sys/fsuid.h>
#include <shadow.h>
