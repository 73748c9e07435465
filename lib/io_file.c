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
 * target is replaced, or created where a dangling link's chain ends, as
 * fopen() would. Anything else (a device such as /dev/stdout, a FIFO)
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
#ifndef NAME_MAX
#define NAME_MAX 255
#endif

/* ".<name>.<8 hex digits>.tmp" adds this much to the name it is made from. */
#define TMP_EXTRA 14

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

/* Bytes of `base` that the temporary name keeps: all of it when the
 * name fits in NAME_MAX, else as much as fits, cut before a character
 * (never inside a UTF-8 sequence). */
static int kept_of_name(const char *base) {
    size_t len = strlen(base), most = NAME_MAX - TMP_EXTRA;
    if (len <= most) return (int)len;
    while (most > 0 && ((unsigned char)base[most] & 0xC0) == 0x80)
        most--;
    return (int)most;
}

/* Creates a new file beside `target` (".<name>.<n>.tmp" in its directory,
 * the name shortened so that the whole fits in NAME_MAX), opened for
 * writing with mode 0666 less the umask. Returns the descriptor, or -1
 * with errno set; *tmp receives the name. */
static int create_temporary(const char *target, char *tmp, size_t n) {
    const char *slash = strrchr(target, '/');
    int dir_len = slash ? (int)(slash - target + 1) : 0;
    const char *base = slash ? slash + 1 : target;
    const int kept = kept_of_name(base);
    for (unsigned attempt = 0; attempt < 100; attempt++) {
        unsigned tag =
            ((unsigned)getpid() * 2654435761u) ^ (attempt * 40503u) ^ (unsigned)(size_t)tmp;
        int len = snprintf(tmp, n, "%.*s.%.*s.%08x.tmp", dir_len, target, kept, base, tag);
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

/* The path at the end of the chain of links that starts at the link
 * `path`, when that end does not exist: the file open(O_CREAT), and so
 * fopen(), would create. Returns 0 with *end filled; ELOOP after 40
 * links; EEXIST when the chain ends at something that exists; or the
 * errno of a step. */
static int dangling_end(const char *path, char *end, size_t n) {
    char at[PATH_MAX], to[PATH_MAX];
    if (snprintf(at, sizeof at, "%s", path) >= (int)sizeof at) return ENAMETOOLONG;
    for (int links = 0; links < 40; links++) {
        ssize_t len = readlink(at, to, sizeof to - 1);
        if (len < 0) return errno;
        to[len] = '\0';
        /* A relative link is read from the directory that holds it. */
        const char *slash = strrchr(at, '/');
        int dir_len = to[0] == '/' || !slash ? 0 : (int)(slash - at + 1);
        if (snprintf(end, n, "%.*s%s", dir_len, at, to) >= (int)n) return ENAMETOOLONG;
        struct stat st;
        if (lstat(end, &st) != 0) return errno == ENOENT ? 0 : errno;
        if (!S_ISLNK(st.st_mode)) return EEXIST;
        snprintf(at, sizeof at, "%s", end);
    }
    return ELOOP;
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
        /* Replace what the link points at, not the link. A dangling
         * link gets the new file fopen() would create at the end of its
         * chain (made as any new file is); a loop fails as in fopen(). */
        if (!realpath(path, resolved) || stat(resolved, &st) != 0) {
            char end[PATH_MAX];
            int err = dangling_end(path, end, sizeof end);
            if (err == EEXIST) return write_in_place(path, data, size);
            return err ? err : replace_file(end, -1, data, size);
        }
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
