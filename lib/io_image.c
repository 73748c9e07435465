/*
 * io_image.c - the I/O part's front: format detection, loading from a path
 * or memory (dispatching to io_png.c / io_jpeg.c) and saving. The codecs
 * call back only into io_pixels.c and io_settings.c, never here.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "context.h"
#include "io.h"
#include "params.h"

#define JPEG_MAX_SIDE 65500 /* libjpeg's JPEG_MAX_DIMENSION */

/* ---------------------------------------------------------------------
 * Format detection
 * --------------------------------------------------------------------- */

static const unsigned char PNG_SIGNATURE[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const unsigned char JPEG_SIGNATURE[3] = {0xff, 0xd8, 0xff};

/* Whether data agrees with sig as far as both go (data nonempty). */
static int matches(const unsigned char *data, size_t size, const unsigned char *sig, size_t n) {
    return size > 0 && memcmp(data, sig, size < n ? size : n) == 0;
}

static decam_image_format detect(const unsigned char *data, size_t size) {
    if (matches(data, size, PNG_SIGNATURE, sizeof PNG_SIGNATURE)) return DECAM_IMAGE_PNG;
    if (matches(data, size, JPEG_SIGNATURE, sizeof JPEG_SIGNATURE)) return DECAM_IMAGE_JPEG;
    return DECAM_IMAGE_UNKNOWN;
}

/* The name of a well-known format we do not read, for the message. */
static const char *other_format(const unsigned char *d, size_t n) {
    if (n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6))) return "GIF";
    if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4)) return "WebP";
    if (n >= 4 && (!memcmp(d, "II*\0", 4) || !memcmp(d, "MM\0*", 4))) return "TIFF";
    if (n >= 2 && !memcmp(d, "BM", 2)) return "BMP";
    if (n >= 12 && !memcmp(d + 4, "ftyp", 4)) return "ISO media (HEIF/AVIF)";
    if (n >= 2 && (!memcmp(d, "\xff\x0a", 2))) return "JPEG XL";
    return NULL;
}

static decam_status image_detect_body(decam_ctx *ctx, const void *data, size_t size,
                                      decam_image_format *format) {
    FAIL_IF(!format, ctx, DECAM_ERR_INVALID_ARGUMENT, "decam_image_detect: format is NULL");
    *format = DECAM_IMAGE_UNKNOWN;
    FAIL_IF(!data && size, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "decam_image_detect: data is NULL but size is %zu", size);
    if (data) *format = detect(data, size);
    return DECAM_OK;
}

decam_status decam_image_detect(decam_ctx *ctx, const void *data, size_t size,
                                decam_image_format *format) {
    GUARDED(ctx, "decam_image_detect", 0, image_detect_body(ctx, data, size, format));
}

/* ---------------------------------------------------------------------
 * Where an image's data ends
 * --------------------------------------------------------------------- */

/* Finds the end of a PNG (after IEND) or JPEG (after EOI) in a buffer that
 * may still grow: call again with more data after it returned 0. Bytes
 * after the end are never needed, so a file is read only that far, and
 * only the image's own bytes count towards the pixels it may claim. */
typedef struct extent_scan {
    decam_image_format format;
    size_t pos;
    int entropy; /* JPEG: inside entropy-coded data */
} extent_scan;

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A PNG chunk type is four ASCII letters. */
static int chunk_type_valid(const unsigned char *t) {
    for (int i = 0; i < 4; i++)
        if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z'))) return 0;
    return 1;
}

/* PNG: chunk by chunk. A corrupt length or type ends the scan where it
 * stands (the decoder then names the fault), so a file of zeros after the
 * last chunk is not read on. */
static size_t scan_png(extent_scan *s, const unsigned char *d, size_t len) {
    if (s->pos < 8) s->pos = 8;
    while (s->pos <= len && len - s->pos >= 8) {
        const uint32_t length = be32(d + s->pos);
        if (length > 0x7fffffffu || !chunk_type_valid(d + s->pos + 4)) return len;
        const size_t end = s->pos + 12 + (size_t)length;
        if (memcmp(d + s->pos + 4, "IEND", 4) == 0) return end <= len ? end : 0;
        s->pos = end;
    }
    return 0;
}

/* JPEG: markers with a length are skipped whole; after SOS, entropy-coded
 * data runs to the next marker that is not a restart (FF 00 is a stuffed
 * byte, FF FF fill). The first EOI ends the image, as it ends libjpeg's
 * decoding. */
static size_t scan_jpeg(extent_scan *s, const unsigned char *d, size_t len) {
    if (s->pos < 2) s->pos = 2;
    for (;;) {
        if (s->entropy) {
            while (s->pos + 1 < len) {
                const unsigned char *ff = memchr(d + s->pos, 0xff, len - 1 - s->pos);
                if (!ff) {
                    s->pos = len - 1;
                    return 0;
                }
                s->pos = (size_t)(ff - d);
                const unsigned char b = d[s->pos + 1];
                if (b == 0 || (b >= 0xd0 && b <= 0xd7)) {
                    s->pos += 2;
                } else if (b == 0xff) {
                    s->pos += 1;
                } else {
                    s->entropy = 0;
                    break;
                }
            }
            if (s->entropy) return 0;
        }
        /* Between markers: anything that is not FF is skipped, as libjpeg
         * skips it (with a warning). */
        while (s->pos < len && d[s->pos] != 0xff)
            s->pos++;
        while (s->pos + 1 < len && d[s->pos + 1] == 0xff)
            s->pos++;
        if (s->pos + 1 >= len) return 0;
        const unsigned char m = d[s->pos + 1];
        if (m == 0xd9) return s->pos + 2;
        if (m == 0x00 || m == 0x01 || (m >= 0xd0 && m <= 0xd8)) {
            s->pos += 2; /* no length */
            continue;
        }
        if (len - s->pos < 4) return 0;
        const size_t length = (size_t)d[s->pos + 2] << 8 | d[s->pos + 3];
        if (length < 2) return len; /* corrupt: the decoder names it */
        s->pos += 2 + length;
        if (s->pos > len) return 0;
        if (m == 0xda) s->entropy = 1;
    }
}

static size_t scan_extent(extent_scan *s, const unsigned char *d, size_t len) {
    return s->format == DECAM_IMAGE_PNG ? scan_png(s, d, len) : scan_jpeg(s, d, len);
}

size_t decam__image_extent(decam_image_format format, const unsigned char *data, size_t size) {
    extent_scan s = {format, 0, 0};
    const size_t end = scan_extent(&s, data, size);
    return end && end <= size ? end : size;
}

/* ---------------------------------------------------------------------
 * Loading
 * --------------------------------------------------------------------- */

/* The error for data that is empty or not PNG or JPEG; `source` ("'path'"
 * or "buffer") names it. */
static decam_status refuse_unknown(decam_ctx *ctx, const unsigned char *data, size_t size,
                                   const char *source) {
    FAIL_IF(size == 0, ctx, DECAM_ERR_FORMAT, "%s is empty (0 bytes)", source);
    const char *other = other_format(data, size);
    FAIL_IF(other, ctx, DECAM_ERR_FORMAT, "%s is a %s image; only PNG and JPEG are supported",
            source, other);
    unsigned char h[4] = {0, 0, 0, 0};
    memcpy(h, data, size < 4 ? size : 4);
    return decam__ctx_fail(ctx, DECAM_ERR_FORMAT,
                           "%s is not a PNG or JPEG image (it starts with %02x %02x %02x %02x)",
                           source, h[0], h[1], h[2], h[3]);
}

/* Decodes `size` bytes; `source` prefixes messages. */
static decam_status decode(decam_ctx *ctx, const unsigned char *data, size_t size,
                           const char *source, int channels, float **pixels, int *width,
                           int *height) {
    decam_image_format format = detect(data, size);
    if (format == DECAM_IMAGE_UNKNOWN) return refuse_unknown(ctx, data, size, source);
    io_image img;
    memset(&img, 0, sizeof img);
    img.source = source;
    img.channels = channels;
    img.input_size = decam__image_extent(format, data, size);
    img.layout = io_layout(ctx);
    memcpy(img.background, decam__io_settings(ctx)->background, sizeof img.background);
    decam_status status = format == DECAM_IMAGE_PNG ? decam__io_png_decode(ctx, data, size, &img)
                                                    : decam__io_jpeg_decode(ctx, data, size, &img);
    if (status != DECAM_OK) return status;
    *pixels = img.pixels;
    *width = img.width;
    *height = img.height;
    return DECAM_OK;
}

static decam_status check_load_args(decam_ctx *ctx, const char *who, int channels, float **pixels,
                                    int *width, int *height) {
    if (pixels) *pixels = NULL;
    if (width) *width = 0;
    if (height) *height = 0;
    FAIL_IF(!pixels || !width || !height, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: pixels, width and height must not be NULL", who);
    FAIL_IF(channels != 1 && channels != 3, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: channels is %d, must be 1 (gray) or 3 (RGB)", who, channels);
    return DECAM_OK;
}

static decam_status image_load_memory_body(decam_ctx *ctx, const void *data, size_t size,
                                           int channels, float **pixels, int *width, int *height) {
    FORWARD_IF_ERROR(
        check_load_args(ctx, "decam_image_load_memory", channels, pixels, width, height));
    FAIL_IF(!data && size, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "decam_image_load_memory: data is NULL but size is %zu", size);
    return decode(ctx, data, size, "buffer", channels, pixels, width, height);
}

decam_status decam_image_load_memory(decam_ctx *ctx, const void *data, size_t size, int channels,
                                     float **pixels, int *width, int *height) {
    GUARDED(ctx, "decam_image_load_memory", 0,
            image_load_memory_body(ctx, data, size, channels, pixels, width, height));
}

/* The reason for a failed file operation. strerror() may share one buffer
 * between threads, so the common reasons are spelled out here (as glibc
 * spells them); others show their number. */
static const char *errno_text(int e, char *buf, size_t n) {
    switch (e) {
#ifdef ENOENT
    case ENOENT: return "No such file or directory";
#endif
#ifdef EACCES
    case EACCES: return "Permission denied";
#endif
#ifdef EPERM
    case EPERM: return "Operation not permitted";
#endif
#ifdef EISDIR
    case EISDIR: return "Is a directory";
#endif
#ifdef ENOTDIR
    case ENOTDIR: return "Not a directory";
#endif
#ifdef ENOSPC
    case ENOSPC: return "No space left on device";
#endif
#ifdef EROFS
    case EROFS: return "Read-only file system";
#endif
#ifdef EIO
    case EIO: return "Input/output error";
#endif
#ifdef EFBIG
    case EFBIG: return "File too large";
#endif
#ifdef ENAMETOOLONG
    case ENAMETOOLONG: return "File name too long";
#endif
#ifdef EMFILE
    case EMFILE: return "Too many open files";
#endif
#ifdef ELOOP
    case ELOOP: return "Too many levels of symbolic links";
#endif
    case 0: return "unknown error";
    default: snprintf(buf, n, "system error %d", e); return buf;
    }
}

/* How many bytes of `p` form a character that must not appear verbatim in
 * a one-line message (0 for any other): ASCII controls and DEL, the C1
 * controls (U+0080..U+009F) and the line and paragraph separators
 * (U+2028, U+2029), as UTF-8. */
static size_t control_length(const unsigned char *p) {
    if (p[0] < 0x20 || p[0] == 0x7f) return 1;
    if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) return 2;
    if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) return 3;
    return 0;
}

/* The bytes `path[i]` takes in a message: 4 per byte of a control
 * character ("\x0a"), 1 otherwise. */
static size_t shown_width(const unsigned char *p, size_t *step) {
    size_t c = control_length(p);
    *step = c ? c : 1;
    return c ? 4 * c : 1;
}

/* The path as shown in messages: quoted, on one line (control characters
 * written as \xNN), and when long only its tail, which starts on a
 * character boundary so that the message stays valid UTF-8. `n` must be
 * at least 96. */
static void quote_path(char *out, size_t n, const char *path) {
    enum { WHOLE = 80, TAIL = 77 };
    const unsigned char *p = (const unsigned char *)path;
    const size_t len = strlen(path);
    /* The shown width of each suffix, found by walking forward once. */
    size_t total = 0, step;
    for (size_t i = 0; i < len; i += step)
        total += shown_width(p + i, &step);
    size_t start = 0, width = total;
    if (total > WHOLE) {
        /* Drop characters from the front until the rest fits. */
        while (start < len && width > TAIL) {
            width -= shown_width(p + start, &step);
            start += step;
        }
        while (start < len && (p[start] & 0xc0) == 0x80) /* a continuation byte */
            start++;
    }
    size_t o = 0;
    out[o++] = '\'';
    if (start > 0) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    for (size_t i = start; i < len && o + 14 < n;) {
        size_t c = control_length(p + i);
        if (c == 0) {
            out[o++] = (char)p[i++];
            continue;
        }
        for (size_t k = 0; k < c; k++, i++) {
            snprintf(out + o, n - o, "\\x%02x", p[i]);
            o += 4;
        }
    }
    out[o++] = '\'';
    out[o] = '\0';
}

/* Reads a file into context memory, only as far as the image it holds
 * goes (through IEND or EOI; a file that ends sooner is read whole and the
 * decoder reports it truncated). A file whose first bytes are not PNG or
 * JPEG is refused before the rest is read, and no more than the memory
 * limit of decam_io_set_input_limits() is ever read. */
static decam_status read_file(decam_ctx *ctx, const char *path, const char *name,
                              unsigned char **data, size_t *size) {
    decam_status status = DECAM_OK;
    unsigned char *buf = NULL;
    char reason[32];
    *data = NULL;
    *size = 0;
    errno = 0;
    FILE *f = fopen(path, "rb");
    FAIL_IF(!f, ctx, DECAM_ERR_IO, "cannot open %s: %s", name,
            errno_text(errno, reason, sizeof reason));
    unsigned char head[16];
    size_t n = fread(head, 1, sizeof head, f);
    GOTO_FAIL_IF(ferror(f), ctx, DECAM_ERR_IO, "cannot read %s: %s", name,
                 errno_text(errno, reason, sizeof reason));
    extent_scan scan = {detect(head, n), 0, 0};
    if (scan.format == DECAM_IMAGE_UNKNOWN) {
        status = refuse_unknown(ctx, head, n, name);
        goto cleanup;
    }
    const uint64_t max_bytes = decam__io_settings(ctx)->max_memory;
    size_t cap = 1 << 16, len = n, end = 0;
    buf = decam__ctx_alloc(ctx, cap, 1);
    GOTO_FAIL_IF(!buf, ctx, DECAM_ERR_OUT_OF_MEMORY, "out of memory reading %s", name);
    memcpy(buf, head, n);
    while (!(end = scan_extent(&scan, buf, len)) && !feof(f)) {
        GOTO_FAIL_IF((uint64_t)len >= max_bytes, ctx, DECAM_ERR_TOO_LARGE,
                     "%s: more than %llu bytes before the image ends (see "
                     "decam_io_set_input_limits)",
                     name, (unsigned long long)max_bytes);
        if (len == cap) {
            GOTO_FAIL_IF(cap > SIZE_MAX / 2, ctx, DECAM_ERR_TOO_LARGE, "%s is too large", name);
            unsigned char *grown = decam__ctx_alloc(ctx, cap * 2, 1);
            GOTO_FAIL_IF(!grown, ctx, DECAM_ERR_OUT_OF_MEMORY,
                         "out of memory reading %s (%zu bytes so far)", name, len);
            memcpy(grown, buf, len);
            decam__ctx_dealloc(ctx, buf);
            buf = grown;
            cap *= 2;
        }
        len += fread(buf + len, 1, cap - len, f);
        GOTO_FAIL_IF(ferror(f), ctx, DECAM_ERR_IO, "cannot read %s: %s", name,
                     errno_text(errno, reason, sizeof reason));
    }
    *data = buf;
    *size = end && end < len ? end : len;
    buf = NULL;
cleanup:
    decam__ctx_dealloc(ctx, buf);
    fclose(f);
    return status;
}

static decam_status image_load_body(decam_ctx *ctx, const char *path, int channels, float **pixels,
                                    int *width, int *height) {
    FORWARD_IF_ERROR(check_load_args(ctx, "decam_image_load", channels, pixels, width, height));
    FAIL_IF(!path, ctx, DECAM_ERR_INVALID_ARGUMENT, "decam_image_load: path is NULL");
    char name[96];
    quote_path(name, sizeof name, path);
    unsigned char *data;
    size_t size;
    FORWARD_IF_ERROR(read_file(ctx, path, name, &data, &size));
    decam_status status = decode(ctx, data, size, name, channels, pixels, width, height);
    decam__ctx_dealloc(ctx, data);
    return status;
}

decam_status decam_image_load(decam_ctx *ctx, const char *path, int channels, float **pixels,
                              int *width, int *height) {
    GUARDED(ctx, "decam_image_load", 0,
            image_load_body(ctx, path, channels, pixels, width, height));
}

void decam_image_free(decam_ctx *ctx, void *ptr) {
    if (ctx) decam__ctx_dealloc(ctx, ptr);
}

/* ---------------------------------------------------------------------
 * Saving
 * --------------------------------------------------------------------- */

static decam_status check_save_args(decam_ctx *ctx, const char *who, decam_image_format format,
                                    const uint8_t *pixels, int width, int height, int channels) {
    FAIL_IF(!pixels, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: pixels is NULL", who);
    FAIL_IF(format != DECAM_IMAGE_PNG && format != DECAM_IMAGE_JPEG, ctx,
            DECAM_ERR_INVALID_ARGUMENT, "%s: format %d is not DECAM_IMAGE_PNG or DECAM_IMAGE_JPEG",
            who, (int)format);
    FAIL_IF(width < 1 || height < 1, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: size %d x %d must be positive", who, width, height);
    if (format == DECAM_IMAGE_PNG) {
        FAIL_IF(channels < 1 || channels > 4, ctx, DECAM_ERR_INVALID_ARGUMENT,
                "%s: PNG takes 1 to 4 channels, not %d", who, channels);
    } else {
        FAIL_IF(channels != 1 && channels != 3, ctx, DECAM_ERR_INVALID_ARGUMENT,
                "%s: JPEG takes 1 or 3 channels, not %d", who, channels);
        FAIL_IF(width > JPEG_MAX_SIDE || height > JPEG_MAX_SIDE, ctx, DECAM_ERR_TOO_LARGE,
                "%s: JPEG cannot store %d x %d (at most %d on a side)", who, width, height,
                JPEG_MAX_SIDE);
    }
    return DECAM_OK;
}

static decam_status encode(decam_ctx *ctx, decam_image_format format, const uint8_t *pixels,
                           int width, int height, int channels, io_buffer *out) {
    memset(out, 0, sizeof *out);
    out->ctx = ctx;
    decam_status status = format == DECAM_IMAGE_PNG
                              ? decam__io_png_encode(ctx, pixels, width, height, channels, out)
                              : decam__io_jpeg_encode(ctx, pixels, width, height, channels,
                                                      decam__io_settings(ctx)->jpeg_quality, out);
    if (status != DECAM_OK) {
        decam__ctx_dealloc(ctx, out->data);
        memset(out, 0, sizeof *out);
    }
    return status;
}

static decam_status image_save_memory_body(decam_ctx *ctx, decam_image_format format,
                                           const uint8_t *pixels, int width, int height,
                                           int channels, uint8_t **data, size_t *size) {
    if (data) *data = NULL;
    if (size) *size = 0;
    FAIL_IF(!data || !size, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "decam_image_save_memory: data and size must not be NULL");
    FORWARD_IF_ERROR(
        check_save_args(ctx, "decam_image_save_memory", format, pixels, width, height, channels));
    io_buffer out;
    FORWARD_IF_ERROR(encode(ctx, format, pixels, width, height, channels, &out));
    *data = out.data;
    *size = out.size;
    return DECAM_OK;
}

decam_status decam_image_save_memory(decam_ctx *ctx, decam_image_format format,
                                     const uint8_t *pixels, int width, int height, int channels,
                                     uint8_t **data, size_t *size) {
    GUARDED(ctx, "decam_image_save_memory", 0,
            image_save_memory_body(ctx, format, pixels, width, height, channels, data, size));
}

static decam_status image_save_body(decam_ctx *ctx, const char *path, decam_image_format format,
                                    const uint8_t *pixels, int width, int height, int channels) {
    FAIL_IF(!path, ctx, DECAM_ERR_INVALID_ARGUMENT, "decam_image_save: path is NULL");
    FORWARD_IF_ERROR(
        check_save_args(ctx, "decam_image_save", format, pixels, width, height, channels));
    char name[96], reason[32];
    quote_path(name, sizeof name, path);
    io_buffer out;
    FORWARD_IF_ERROR(encode(ctx, format, pixels, width, height, channels, &out));
    decam_status status = DECAM_OK;
    int err = decam__io_file_write(path, out.data, out.size);
    GOTO_FAIL_IF(err, ctx, DECAM_ERR_IO, "cannot write %s: %s", name,
                 errno_text(err, reason, sizeof reason));
cleanup:
    decam__ctx_dealloc(ctx, out.data);
    return status;
}

decam_status decam_image_save(decam_ctx *ctx, const char *path, decam_image_format format,
                              const uint8_t *pixels, int width, int height, int channels) {
    GUARDED(ctx, "decam_image_save", 0,
            image_save_body(ctx, path, format, pixels, width, height, channels));
}
