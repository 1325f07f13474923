// LD_PRELOAD shim: while the file named by $FAILSYNC_FLAG exists, fdatasync/fsync fail with EIO
// and write() to the journal fails with ENOSPC every other call. Counts failures to stderr.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>

static int failing(void) {
    const char *flag = getenv("FAILSYNC_FLAG");
    return flag && access(flag, F_OK) == 0;
}

static int is_journal(int fd) {
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return 0;
    path[n] = 0;
    const char *base = strrchr(path, '/');
    return base && strcmp(base, "/journal") == 0;
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = dlsym(RTLD_NEXT, "fdatasync");
    if (failing() && is_journal(fd)) { errno = EIO; return -1; }
    return real(fd);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = dlsym(RTLD_NEXT, "fsync");
    if (failing() && is_journal(fd)) { errno = EIO; return -1; }
    return real(fd);
}

ssize_t write(int fd, const void *buf, size_t count) {
    static ssize_t (*real)(int, const void *, size_t);
    static unsigned calls;
    if (!real) real = dlsym(RTLD_NEXT, "write");
    if (failing() && is_journal(fd) && (calls++ % 2 == 0)) { errno = ENOSPC; return -1; }
    return real(fd, buf, count);
}
