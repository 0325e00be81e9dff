#include <sys/fsuid.h>

