#ifndef SATCHEL_CSYSTEM_H
#define SATCHEL_CSYSTEM_H
/* Linux calls Swift's Glibc module does not export (GNU extensions). */
int satchel_syncfs(int fd);
/* rename(2) that fails with EEXIST instead of replacing `to` (renameat2 RENAME_NOREPLACE on
   Linux, renamex_np RENAME_EXCL on Darwin). EINVAL/ENOSYS: the file system cannot do it. */
int satchel_rename_noreplace(const char *from, const char *to);
#endif
