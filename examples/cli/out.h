/*
 * out.h - what decam-explain writes: a growing text buffer with JSON
 * helpers, NumPy .npy encoding, and files written whole or not at all.
 */
#ifndef DECAM_CLI_OUT_H
#define DECAM_CLI_OUT_H

#include <stddef.h>

/* A growing buffer. After an allocation failure `failed` is set and later
 * appends do nothing, so a writer checks once at the end. */
typedef struct text {
    char *s;
    size_t len, cap;
    int failed;
} text;

void text_free(text *t);
void text_append(text *t, const void *data, size_t n);
void text_printf(text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A JSON string: quotes, backslashes and control characters escaped, and
 * bytes that are not UTF-8 replaced by U+FFFD, so the output is valid JSON
 * whatever the bytes of a file name. */
void text_json_string(text *t, const char *s);

/* A JSON number with printf format fmt (e.g. "%.6f"); null when v is NaN
 * or infinite, which JSON cannot hold. */
void text_json_number(text *t, const char *fmt, double v);

/* The NumPy .npy file (format 1.0) of a height x width float32 array,
 * row-major, little-endian ('<f4'), appended to t. */
void text_npy(text *t, const float *map, int width, int height);

/* The same for `count` maps one after the other: shape (count, height,
 * width); count may be 0. */
void text_npy_stack(text *t, const float *maps, int count, int width, int height);

/* Writes n bytes to path, whole or not at all: into a temporary file in
 * the same directory, synced to the disk (fsync), renamed over path, and
 * the folder synced; on failure the temporary file is removed and path is
 * untouched. A crash leaves the old file or the whole new one. Returns 0, or -1 with a
 * one-line reason in err. */
int write_file_atomic(const char *path, const void *data, size_t n, char *err, size_t errlen);

/* Creates the directories leading to the file `path` (mkdir -p of its
 * parent). Returns 0, or -1 with a reason in err. */
int make_parent_dirs(const char *path, char *err, size_t errlen);

/* `s` for a one-line message: control characters become '?'. Returns
 * buf (size bytes, cut at a character boundary if needed). */
const char *shown(const char *s, char *buf, size_t size);

#endif /* DECAM_CLI_OUT_H */
