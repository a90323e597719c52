#ifndef SATCHEL_CSYSTEM_H
#define SATCHEL_CSYSTEM_H
/* Linux calls Swift's Glibc module does not export (GNU extensions). */
int satchel_syncfs(int fd);
#endif
