#ifndef SATCHEL_CSYSTEM_H
#define SATCHEL_CSYSTEM_H
/* Linux calls Swift's Glibc module does not export (GNU extensions). */
int satchel_syncfs(int fd);
/* rename(2) that fails with EEXIST instead of replacing `to` (renameat2 RENAME_NOREPLACE on
   Linux, renamex_np RENAME_EXCL on Darwin). EINVAL/ENOSYS: the file system cannot do it. */
int satchel_rename_noreplace(const char *from, const char *to);
/* flock(2) (its name clashes with `struct flock` in Swift): shared (waits), or exclusive
   without waiting (EWOULDBLOCK when held). */
int satchel_flock_shared(int fd);
int satchel_flock_exclusive_nowait(int fd);
#endif
