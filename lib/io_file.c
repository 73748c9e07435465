/*
 * io_file.c - writing an encoded image to a path without ever destroying
 * what the path named before.
 *
 * A regular file (or a path that does not exist yet) is replaced the way
 * editors and package managers do it: the bytes go to a new file in the same
 * directory, which is renamed over the path only once every byte is written
 * and the file is closed. A failed write therefore leaves the old file as it
 * was, and the only thing ever removed is the temporary file this code
 * created. A symbolic link is followed, so the link stays a link and its
 * target is replaced. Anything else (a device such as /dev/stdout, a FIFO)
 * is written in place and never removed: renaming over it would replace the
 * device node itself.
 */
#define _XOPEN_SOURCE 700 /* lstat, realpath, fchmod */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* Writes all of data to fd, retrying after partial writes and signals.
 * Returns 0, or the errno of the failure. */
static int write_all(int fd, const uint8_t *data, size_t size) {
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno ? errno : EIO;
        }
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

/* Writes into an existing non-regular file (device, FIFO) as it is.
 * Returns 0 or an errno. */
static int write_in_place(const char *path, const uint8_t *data, size_t size) {
    int fd = open(path, O_WRONLY | O_TRUNC | O_NOCTTY);
    if (fd < 0) return errno;
    int err = write_all(fd, data, size);
    if (close(fd) != 0 && !err) err = errno;
    return err;
}

/* Creates a new file beside `target` (".<name>.<n>.tmp" in its directory),
 * opened for writing with mode 0666 less the umask. Returns the descriptor,
 * or -1 with errno set; *tmp receives the name. */
static int create_temporary(const char *target, char *tmp, size_t n) {
    const char *slash = strrchr(target, '/');
    int dir_len = slash ? (int)(slash - target + 1) : 0;
    const char *base = slash ? slash + 1 : target;
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        unsigned tag =
            ((unsigned)getpid() * 2654435761u) ^ (attempt * 40503u) ^ (unsigned)(size_t)tmp;
        int len = snprintf(tmp, n, "%.*s.%s.%08x.tmp", dir_len, target, base, tag);
        if (len < 0 || (size_t)len >= n) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    errno = EEXIST;
    return -1;
}

/* Writes data to a new file and renames it over target. `mode` is the old
 * file's permission bits, or -1 for a new file. Returns 0 or an errno; on
 * failure the temporary file is gone and target is untouched. */
static int replace_file(const char *target, int mode, const uint8_t *data, size_t size) {
    char tmp[PATH_MAX + 32];
    int fd = create_temporary(target, tmp, sizeof tmp);
    if (fd < 0) return errno;
    int err = 0;
    if (mode >= 0 && fchmod(fd, (mode_t)mode) != 0) err = errno;
    if (!err) err = write_all(fd, data, size);
    if (close(fd) != 0 && !err) err = errno;
    if (!err && rename(tmp, target) != 0) err = errno;
    if (err) unlink(tmp);
    return err;
}

int decam__io_file_write(const char *path, const uint8_t *data, size_t size) {
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT) return errno;
        return replace_file(path, -1, data, size); /* a new file */
    }
    char resolved[PATH_MAX];
    const char *target = path;
    if (S_ISLNK(st.st_mode)) {
        /* Replace what the link points at, not the link. A dangling or
         * looping link is opened as it is, as fopen() would. */
        if (!realpath(path, resolved) || stat(resolved, &st) != 0)
            return write_in_place(path, data, size);
        target = resolved;
    }
    if (!S_ISREG(st.st_mode)) return write_in_place(target, data, size);
    int err = replace_file(target, (int)(st.st_mode & 07777), data, size);
    /* A directory that admits no new file can still hold a writable file:
     * write it in place then (a failure may leave it partly written, but
     * nothing is ever removed). */
    if (err == EACCES || err == EPERM || err == EROFS) {
        int direct = write_in_place(target, data, size);
        return direct == 0 ? 0 : err;
    }
    return err;
}
