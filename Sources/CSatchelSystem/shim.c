#define _GNU_SOURCE
#include <unistd.h>
#include <stdio.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/file.h>
#include "CSatchelSystem.h"

int satchel_flock_shared(int fd) { return flock(fd, LOCK_SH); }
int satchel_flock_exclusive_nowait(int fd) { return flock(fd, LOCK_EX | LOCK_NB); }

#ifdef __linux__
int satchel_syncfs(int fd) { return syncfs(fd); }
int satchel_rename_noreplace(const char *from, const char *to) {
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
}
#elif defined(__APPLE__)
int satchel_syncfs(int fd) { return fsync(fd); }
int satchel_rename_noreplace(const char *from, const char *to) {
    return renamex_np(from, to, RENAME_EXCL);
}
#else
int satchel_syncfs(int fd) { return fsync(fd); }
int satchel_rename_noreplace(const char *from, const char *to) { (void)from; (void)to; errno = ENOSYS; return -1; }
#endif
