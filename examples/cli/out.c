/*
 * out.c - decam-explain's output helpers (see out.h).
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fsync */
#include "out.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void text_free(text *t) {
    free(t->s);
    *t = (text){0};
}

static int text_reserve(text *t, size_t more) {
    if (t->failed) return -1;
    if (t->len + more + 1 <= t->cap) return 0;
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->len + more + 1) {
        if (cap > SIZE_MAX / 2) {
            t->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    char *s = realloc(t->s, cap);
    if (!s) {
        t->failed = 1;
        return -1;
    }
    t->s = s;
    t->cap = cap;
    return 0;
}

void text_append(text *t, const void *data, size_t n) {
    if (text_reserve(t, n)) return;
    memcpy(t->s + t->len, data, n);
    t->len += n;
    t->s[t->len] = '\0';
}

void text_printf(text *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = 1;
        return;
    }
    if (text_reserve(t, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if there is none. */
static int utf8_length(const unsigned char *s) {
    unsigned char c = s[0];
    int n = c < 0x80                 ? 1
            : c >= 0xc2 && c <= 0xdf ? 2
            : c >= 0xe0 && c <= 0xef ? 3
            : c >= 0xf0 && c <= 0xf4 ? 4
                                     : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if (n == 3 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))) return 0;
    if (n == 4 && ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))) return 0;
    return n;
}

void text_json_string(text *t, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    text_append(t, "\"", 1);
    while (*p) {
        int n = utf8_length(p);
        if (*p == '"' || *p == '\\')
            text_printf(t, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            text_printf(t, "\\u%04x", *p);
        else if (n == 0)
            text_append(t, "\\ufffd", 6);
        else
            text_append(t, p, (size_t)n);
        p += n ? n : 1;
    }
    text_append(t, "\"", 1);
}

void text_json_number(text *t, const char *fmt, double v) {
    if (isfinite(v))
        text_printf(t, fmt, v);
    else
        text_append(t, "null", 4);
}

/* count < 0: one map, shape (H, W); else (count, H, W). */
static void npy(text *t, const float *map, int count, int width, int height) {
    char dict[128], shape[64];
    if (count < 0)
        snprintf(shape, sizeof shape, "%d, %d", height, width);
    else
        snprintf(shape, sizeof shape, "%d, %d, %d", count, height, width);
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }",
                     shape);
    /* magic (6) + version (2) + header length (2) + dict + padding + '\n',
     * a multiple of 64 so that the data is aligned. */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)n + pad + 1;
    unsigned char head[10] = {0x93,
                              'N',
                              'U',
                              'M',
                              'P',
                              'Y',
                              1,
                              0,
                              (unsigned char)(hlen & 0xff),
                              (unsigned char)(hlen >> 8)};
    text_append(t, head, sizeof head);
    text_append(t, dict, (size_t)n);
    for (size_t i = 0; i < pad; i++)
        text_append(t, " ", 1);
    text_append(t, "\n", 1);
    const size_t values = (size_t)width * (size_t)height * (size_t)(count < 0 ? 1 : count);
    const uint32_t probe = 1;
    if (*(const unsigned char *)&probe == 1) {
        text_append(t, map, values * sizeof *map);
        return;
    }
    for (size_t i = 0; i < values; i++) { /* big-endian host: swap to '<f4' */
        unsigned char b[4], r[4];
        memcpy(b, &map[i], 4);
        r[0] = b[3], r[1] = b[2], r[2] = b[1], r[3] = b[0];
        text_append(t, r, 4);
    }
}

/* The rename itself on the disk: an fsync of the folder holding path.
 * Best effort: some file systems refuse to sync a folder, and the file's
 * own data is already safe. */
static void sync_folder(char *path) {
    char *slash = strrchr(path, '/');
    if (slash) *slash = '\0';
    int fd = open(slash ? (slash == path ? "/" : path) : ".", O_RDONLY);
    if (slash) *slash = '/';
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

int write_file_atomic(const char *path, const void *data, size_t n, char *err, size_t errlen) {
    size_t len = strlen(path);
    char *tmp = malloc(len + 16);
    if (!tmp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp-XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a file beside it: %s", strerror(errno));
        free(tmp);
        return -1;
    }
    const char *p = data;
    size_t left = n;
    int rc = 0;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            snprintf(err, errlen, "cannot write: %s", w < 0 ? strerror(errno) : "no progress");
            rc = -1;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    /* The file gets the permissions a plain fopen() would give it. */
    mode_t mask = umask(0);
    umask(mask);
    if (rc == 0 && fchmod(fd, 0666 & ~mask) != 0) {
        snprintf(err, errlen, "cannot set permissions: %s", strerror(errno));
        rc = -1;
    }
    /* On the disk before the rename, so that a crash leaves the old file or
     * the whole new one, never an empty or partial one under path. */
    if (rc == 0 && fsync(fd) != 0) {
        snprintf(err, errlen, "cannot write to the disk: %s", strerror(errno));
        rc = -1;
    }
    if (close(fd) != 0 && rc == 0) {
        snprintf(err, errlen, "cannot write: %s", strerror(errno));
        rc = -1;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename into place: %s", strerror(errno));
        rc = -1;
    }
    if (rc == 0) sync_folder(tmp);
    if (rc != 0) unlink(tmp);
    free(tmp);
    return rc;
}

int make_parent_dirs(const char *path, char *err, size_t errlen) {
    char *dir = strdup(path);
    if (!dir) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char *slash = strrchr(dir, '/');
    int rc = 0;
    if (slash && slash != dir) {
        *slash = '\0';
        for (char *p = dir + 1; rc == 0; p++) {
            if (*p != '/' && *p != '\0') continue;
            char keep = *p;
            *p = '\0';
            struct stat st;
            if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
                snprintf(err, errlen, "cannot create folder: %s", strerror(errno));
                rc = -1;
            } else if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
                snprintf(err, errlen, "a path on the way is not a folder");
                rc = -1;
            }
            *p = keep;
            if (keep == '\0') break;
        }
    }
    free(dir);
    return rc;
}

const char *shown(const char *s, char *buf, size_t size) {
    size_t i = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p && size > 0) {
        int n = utf8_length(p);
        if (n == 0) n = 1;
        if (i + (size_t)n + 1 > size) break; /* never cut inside a character */
        for (int k = 0; k < n; k++, p++)
            buf[i++] = *p < 0x20 || *p == 0x7f ? '?' : (char)*p;
    }
    if (size > 0) buf[i] = '\0';
    return buf;
}

void text_npy(text *t, const float *map, int width, int height) { npy(t, map, -1, width, height); }

void text_npy_stack(text *t, const float *maps, int count, int width, int height) {
    npy(t, maps, count, width, height);
}
