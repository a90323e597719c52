#define _GNU_SOURCE
#include <unistd.h>
#include "CSatchelSystem.h"

#ifdef __linux__
int satchel_syncfs(int fd) { return syncfs(fd); }
#else
int satchel_syncfs(int fd) { return fsync(fd); }
#endif
