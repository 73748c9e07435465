/*
 * io_image.c - the I/O part's front: settings, format detection, loading
 * from a path or memory (dispatching to io_png.c / io_jpeg.c), saving, and
 * preparing model input (resize, centre crop, normalisation, bytes).
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
 * The float image the decoders fill
 * --------------------------------------------------------------------- */

decam_status io_fail(decam_ctx *ctx, const char *source, decam_status status, const char *fmt,
                     ...) {
    char message[sizeof ctx->errmsg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (!source) return ctx_fail(ctx, status, "%s", message);
    return ctx_fail(ctx, status, "%s: %s", source, message);
}

decam_status io_image_alloc(decam_ctx *ctx, const char *format, io_image *img, uint64_t width,
                            uint64_t height, uint64_t codec_bytes) {
    const io_settings *lim = decam__io_settings(ctx);
    const unsigned long long w = width, h = height;
    if (w == 0 || h == 0)
        return io_fail(ctx, img->source, DECAM_ERR_FORMAT,
                       "%s: the image has zero size (%llu x %llu)", format, w, h);
    if (w > (uint64_t)lim->max_width || h > (uint64_t)lim->max_height || w * h > lim->max_pixels)
        return io_fail(ctx, img->source, DECAM_ERR_TOO_LARGE,
                       "%s: a %llu x %llu image exceeds the limits (%d x %d, %llu pixels; "
                       "see decam_io_set_limits)",
                       format, w, h, lim->max_width, lim->max_height,
                       (unsigned long long)lim->max_pixels);
    /* The bytes an image of this size needs at pixels_per_byte: w * h and
     * base_pixels are below 2^62 here, so nothing overflows. */
    const uint64_t pixels = w * h;
    if (lim->pixels_per_byte && pixels > lim->base_pixels) {
        const uint64_t beyond = pixels - lim->base_pixels;
        const uint64_t needed =
            beyond / lim->pixels_per_byte + (beyond % lim->pixels_per_byte != 0);
        if (needed > (uint64_t)img->input_size)
            return io_fail(ctx, img->source, DECAM_ERR_TOO_LARGE,
                           "%s: %zu bytes of data cannot justify a %llu x %llu image (at most "
                           "%llu pixels plus %llu per byte; see decam_io_set_input_limits)",
                           format, img->input_size, w, h, (unsigned long long)lim->base_pixels,
                           (unsigned long long)lim->pixels_per_byte);
    }
    const uint64_t image_bytes = w * h * (uint64_t)img->channels * sizeof(float);
    const uint64_t memory = (uint64_t)img->input_size + image_bytes + codec_bytes;
    if (codec_bytes > lim->max_memory || memory > lim->max_memory || memory < image_bytes)
        return io_fail(ctx, img->source, DECAM_ERR_TOO_LARGE,
                       "%s: loading a %llu x %llu image needs %llu bytes (%llu of them the "
                       "decoder's), more than the %llu allowed (see decam_io_set_input_limits)",
                       format, w, h, (unsigned long long)memory, (unsigned long long)codec_bytes,
                       (unsigned long long)lim->max_memory);
    if (w * h > SIZE_MAX / ((size_t)img->channels * sizeof(float)))
        return io_fail(ctx, img->source, DECAM_ERR_TOO_LARGE,
                       "%s: a %llu x %llu image does not fit in memory", format, w, h);
    img->width = (int)w;
    img->height = (int)h;
    img->pixels = ctx_alloc(ctx, (size_t)(w * h), (size_t)img->channels * sizeof(float));
    if (!img->pixels)
        return io_fail(ctx, img->source, DECAM_ERR_OUT_OF_MEMORY,
                       "%s: out of memory for a %llu x %llu x %d float image", format, w, h,
                       img->channels);
    return DECAM_OK;
}

static float luma(float r, float g, float b) { return 0.299f * r + 0.587f * g + 0.114f * b; }

/* Stores one pixel: v[0] alone for a gray source (so that gray stays exact
 * in gray output), v[0..2] for a colour one. */
static void put_pixel(io_image *img, size_t at, size_t chan, const float *v, int gray) {
    if (img->channels == 1) {
        img->pixels[at] = gray ? v[0] : luma(v[0], v[1], v[2]);
    } else {
        for (int c = 0; c < 3; c++)
            img->pixels[at + (size_t)c * chan] = gray ? v[0] : v[c];
    }
}

void io_image_put_row(io_image *img, int y, const unsigned char *row, int src_channels, int bits) {
    const io_strides s = io_layout_strides(img->layout, img->width, img->height, img->channels);
    const float maxval = bits == 16 ? 65535.0f : 255.0f;
    const int colours = src_channels <= 2 ? 1 : 3;
    const int has_alpha = src_channels == 2 || src_channels == 4;
    const float *bg = img->background;
    const float bg_gray = luma(bg[0], bg[1], bg[2]);
    for (int x = 0; x < img->width; x++) {
        float v[4];
        for (int k = 0; k < src_channels; k++) {
            size_t i = (size_t)x * (size_t)src_channels + (size_t)k;
            unsigned sample = bits == 16 ? (unsigned)row[2 * i] << 8 | row[2 * i + 1] : row[i];
            v[k] = (float)sample / maxval;
        }
        int gray = colours == 1;
        if (has_alpha) {
            const float a = v[colours];
            if (gray && img->channels == 1) {
                v[0] = a * v[0] + (1.0f - a) * bg_gray;
            } else {
                /* Over a coloured background even a gray pixel is coloured. */
                const float g0 = v[0];
                for (int c = 0; c < 3; c++)
                    v[c] = a * (gray ? g0 : v[c]) + (1.0f - a) * bg[c];
                gray = 0;
            }
        }
        put_pixel(img, (size_t)y * s.row + (size_t)x * s.px, s.chan, v, gray);
    }
}

void io_image_put_row_cmyk(io_image *img, int y, const unsigned char *row, int inverted) {
    const io_strides s = io_layout_strides(img->layout, img->width, img->height, img->channels);
    for (int x = 0; x < img->width; x++) {
        const unsigned char *p = row + 4 * (size_t)x;
        unsigned k = inverted ? p[3] : 255u - p[3];
        float v[3];
        for (int c = 0; c < 3; c++) {
            unsigned ink = inverted ? p[c] : 255u - p[c];
            v[c] = (float)(ink * k) / 65025.0f;
        }
        put_pixel(img, (size_t)y * s.row + (size_t)x * s.px, s.chan, v, 0);
    }
}

int io_buffer_append(io_buffer *buf, const void *bytes, size_t n) {
    if (n > SIZE_MAX - buf->size) return -1;
    if (buf->size + n > buf->capacity) {
        size_t cap = buf->capacity ? buf->capacity : 4096;
        while (cap < buf->size + n)
            cap = cap > SIZE_MAX / 2 ? buf->size + n : cap * 2;
        unsigned char *grown = ctx_alloc(buf->ctx, cap, 1);
        if (!grown) return -1;
        if (buf->size) memcpy(grown, buf->data, buf->size);
        ctx_dealloc(buf->ctx, buf->data);
        buf->data = grown;
        buf->capacity = cap;
    }
    memcpy(buf->data + buf->size, bytes, n);
    buf->size += n;
    return 0;
}

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

decam_status decam_image_detect(decam_ctx *ctx, const void *data, size_t size,
                                decam_image_format *format) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    ctx_clear_error(ctx);
    FAIL_IF(!format, ctx, DECAM_ERR_INVALID_ARGUMENT, "decam_image_detect: format is NULL");
    *format = DECAM_IMAGE_UNKNOWN;
    FAIL_IF(!data && size, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "decam_image_detect: data is NULL but size is %zu", size);
    if (data) *format = detect(data, size);
    return DECAM_OK;
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

/* PNG: chunk by chunk. A corrupt length ends the scan where it stands
 * (the decoder then names the fault). */
static size_t scan_png(extent_scan *s, const unsigned char *d, size_t len) {
    if (s->pos < 8) s->pos = 8;
    while (s->pos <= len && len - s->pos >= 8) {
        const uint32_t length = be32(d + s->pos);
        if (length > 0x7fffffffu) return len;
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
    return ctx_fail(ctx, DECAM_ERR_FORMAT,
                    "%s is not a PNG or JPEG image (it starts with %02x %02x %02x %02x)", source,
                    h[0], h[1], h[2], h[3]);
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
    decam_status status = format == DECAM_IMAGE_PNG ? io_png_decode(ctx, data, size, &img)
                                                    : io_jpeg_decode(ctx, data, size, &img);
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

decam_status decam_image_load_memory(decam_ctx *ctx, const void *data, size_t size, int channels,
                                     float **pixels, int *width, int *height) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    ctx_clear_error(ctx);
    FORWARD_IF_ERROR(
        check_load_args(ctx, "decam_image_load_memory", channels, pixels, width, height));
    FAIL_IF(!data && size, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "decam_image_load_memory: data is NULL but size is %zu", size);
    return decode(ctx, data, size, "buffer", channels, pixels, width, height);
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
    buf = ctx_alloc(ctx, cap, 1);
    GOTO_FAIL_IF(!buf, ctx, DECAM_ERR_OUT_OF_MEMORY, "out of memory reading %s", name);
    memcpy(buf, head, n);
    while (!(end = scan_extent(&scan, buf, len)) && !feof(f)) {
        GOTO_FAIL_IF((uint64_t)len >= max_bytes, ctx, DECAM_ERR_TOO_LARGE,
                     "%s: more than %llu bytes before the image ends (see "
                     "decam_io_set_input_limits)",
                     name, (unsigned long long)max_bytes);
        if (len == cap) {
            GOTO_FAIL_IF(cap > SIZE_MAX / 2, ctx, DECAM_ERR_TOO_LARGE, "%s is too large", name);
            unsigned char *grown = ctx_alloc(ctx, cap * 2, 1);
            GOTO_FAIL_IF(!grown, ctx, DECAM_ERR_OUT_OF_MEMORY,
                         "out of memory reading %s (%zu bytes so far)", name, len);
            memcpy(grown, buf, len);
            ctx_dealloc(ctx, buf);
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
    ctx_dealloc(ctx, buf);
    fclose(f);
    return status;
}

decam_status decam_image_load(decam_ctx *ctx, const char *path, int channels, float **pixels,
                              int *width, int *height) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    ctx_clear_error(ctx);
    FORWARD_IF_ERROR(check_load_args(ctx, "decam_image_load", channels, pixels, width, height));
    FAIL_IF(!path, ctx, DECAM_ERR_INVALID_ARGUMENT, "decam_image_load: path is NULL");
    char name[96];
    quote_path(name, sizeof name, path);
    unsigned char *data;
    size_t size;
    FORWARD_IF_ERROR(read_file(ctx, path, name, &data, &size));
    decam_status status = decode(ctx, data, size, name, channels, pixels, width, height);
    ctx_dealloc(ctx, data);
    return status;
}

void decam_image_free(decam_ctx *ctx, void *ptr) {
    if (ctx) ctx_dealloc(ctx, ptr);
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
                              ? io_png_encode(ctx, pixels, width, height, channels, out)
                              : io_jpeg_encode(ctx, pixels, width, height, channels,
                                               decam__io_settings(ctx)->jpeg_quality, out);
    if (status != DECAM_OK) {
        ctx_dealloc(ctx, out->data);
        memset(out, 0, sizeof *out);
    }
    return status;
}

decam_status decam_image_save_memory(decam_ctx *ctx, decam_image_format format,
                                     const uint8_t *pixels, int width, int height, int channels,
                                     uint8_t **data, size_t *size) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    ctx_clear_error(ctx);
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

decam_status decam_image_save(decam_ctx *ctx, const char *path, decam_image_format format,
                              const uint8_t *pixels, int width, int height, int channels) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    ctx_clear_error(ctx);
    FAIL_IF(!path, ctx, DECAM_ERR_INVALID_ARGUMENT, "decam_image_save: path is NULL");
    FORWARD_IF_ERROR(
        check_save_args(ctx, "decam_image_save", format, pixels, width, height, channels));
    char name[96], reason[32];
    quote_path(name, sizeof name, path);
    io_buffer out;
    FORWARD_IF_ERROR(encode(ctx, format, pixels, width, height, channels, &out));
    decam_status status = DECAM_OK;
    int err = io_file_write(path, out.data, out.size);
    GOTO_FAIL_IF(err, ctx, DECAM_ERR_IO, "cannot write %s: %s", name,
                 errno_text(err, reason, sizeof reason));
cleanup:
    ctx_dealloc(ctx, out.data);
    return status;
}

/* ---------------------------------------------------------------------
 * Preparing model input
 * --------------------------------------------------------------------- */

/* How one axis is resampled: destination i is the sum over k < count[i] of
 * weight[i * taps + k] * source[first[i] + k]. */
typedef struct axis {
    int *first, *count;
    float *weight;
    int taps;
} axis;

static int area_axis(int in, int out, decam_resize_method method) {
    return method == DECAM_RESIZE_AREA && in > out;
}

/* Frees the axis and forgets its buffers, so a second call is harmless. */
static void axis_free(decam_ctx *ctx, axis *a) {
    ctx_dealloc(ctx, a->first);
    ctx_dealloc(ctx, a->count);
    ctx_dealloc(ctx, a->weight);
    a->first = a->count = NULL;
    a->weight = NULL;
}

/* Box filter: destination i covers source [i*scale, (i+1)*scale). */
static void axis_fill_area(axis *a, int in, int out) {
    const double scale = (double)in / out;
    for (int i = 0; i < out; i++) {
        double lo = i * scale, hi = i == out - 1 ? in : (i + 1) * scale;
        int s0 = (int)floor(lo), s1 = (int)ceil(hi);
        if (s1 > in) s1 = in;
        if (s1 - s0 > a->taps) s1 = s0 + a->taps;
        a->first[i] = s0;
        a->count[i] = s1 - s0;
        for (int s = s0; s < s1; s++) {
            double cover = fmin(hi, s + 1.0) - fmax(lo, (double)s);
            a->weight[(size_t)i * (size_t)a->taps + (size_t)(s - s0)] = (float)(cover / (hi - lo));
        }
    }
}

/* Bilinear, pixel centres aligned, edges replicated. Taps of weight 0 are
 * left out, so that equal sizes copy exactly. */
static void axis_fill_bilinear(axis *a, int in, int out) {
    const double scale = (double)in / out;
    for (int i = 0; i < out; i++) {
        double centre = (i + 0.5) * scale - 0.5;
        float *w = a->weight + (size_t)i * (size_t)a->taps;
        double x0 = floor(centre), f = centre - x0;
        if (centre <= 0 || centre >= in - 1 || f == 0) {
            int s = centre <= 0 ? 0 : centre >= in - 1 ? in - 1 : (int)x0;
            a->first[i] = s;
            a->count[i] = 1;
            w[0] = 1.0f;
        } else {
            a->first[i] = (int)x0;
            a->count[i] = 2;
            w[0] = (float)(1.0 - f);
            w[1] = (float)f;
        }
    }
}

static decam_status axis_make(decam_ctx *ctx, axis *a, int in, int out,
                              decam_resize_method method) {
    memset(a, 0, sizeof *a);
    int area = area_axis(in, out, method);
    a->taps = area ? (int)ceil((double)in / out) + 1 : 2;
    a->first = ctx_alloc(ctx, (size_t)out, sizeof *a->first);
    a->count = ctx_alloc(ctx, (size_t)out, sizeof *a->count);
    a->weight = ctx_alloc(ctx, (size_t)out, (size_t)a->taps * sizeof *a->weight);
    if (!a->first || !a->count || !a->weight) {
        axis_free(ctx, a);
        return ctx_fail(ctx, DECAM_ERR_OUT_OF_MEMORY, "decam_image_resize: out of memory");
    }
    if (area)
        axis_fill_area(a, in, out);
    else
        axis_fill_bilinear(a, in, out);
    return DECAM_OK;
}

/* Resamples along x (rows) from src (sw x h) into dst (dw x h). */
static void resample_rows(const float *src, io_strides ss, float *dst, io_strides ds, int h, int dw,
                          int channels, const axis *a) {
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < h; y++) {
            const float *in = src + (size_t)c * ss.chan + (size_t)y * ss.row;
            float *out = dst + (size_t)c * ds.chan + (size_t)y * ds.row;
            for (int x = 0; x < dw; x++) {
                const float *w = a->weight + (size_t)x * (size_t)a->taps;
                const float *p = in + (size_t)a->first[x] * ss.px;
                float sum = 0.0f;
                for (int k = 0; k < a->count[x]; k++)
                    sum += w[k] * p[(size_t)k * ss.px];
                out[(size_t)x * ds.px] = sum;
            }
        }
}

/* Resamples along y (columns) from src (w x sh) into dst (w x dh). */
static void resample_columns(const float *src, io_strides ss, float *dst, io_strides ds, int w,
                             int dh, int channels, const axis *a) {
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < dh; y++) {
            const float *wt = a->weight + (size_t)y * (size_t)a->taps;
            const float *in = src + (size_t)c * ss.chan + (size_t)a->first[y] * ss.row;
            float *out = dst + (size_t)c * ds.chan + (size_t)y * ds.row;
            for (int x = 0; x < w; x++) {
                float sum = 0.0f;
                for (int k = 0; k < a->count[y]; k++)
                    sum += wt[k] * in[(size_t)k * ss.row + (size_t)x * ss.px];
                out[(size_t)x * ds.px] = sum;
            }
        }
}

decam_status decam_image_resize(decam_ctx *ctx, const float *src, int src_width, int src_height,
                                int channels, float *dst, int dst_width, int dst_height,
                                decam_resize_method method) {
    static const char who[] = "decam_image_resize";
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    ctx_clear_error(ctx);
    FAIL_IF(!src || !dst, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: src and dst must not be NULL", who);
    FAIL_IF(src == dst, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: src and dst must not overlap", who);
    FAIL_IF(method != DECAM_RESIZE_BILINEAR && method != DECAM_RESIZE_AREA, ctx,
            DECAM_ERR_INVALID_ARGUMENT, "%s: method %d is not a decam_resize_method", who,
            (int)method);
    size_t n;
    FORWARD_IF_ERROR(params_check_image_size(ctx, who, src_width, src_height, channels, &n));
    FORWARD_IF_ERROR(params_check_image_size(ctx, who, dst_width, dst_height, channels, &n));
    FORWARD_IF_ERROR(params_check_image_size(ctx, who, dst_width, src_height, channels, &n));

    decam_status status = DECAM_OK;
    const decam_layout layout = io_layout(ctx);
    axis ax, ay;
    memset(&ax, 0, sizeof ax);
    memset(&ay, 0, sizeof ay);
    float *tmp = NULL;
    FORWARD_IF_ERROR(axis_make(ctx, &ax, src_width, dst_width, method));
    GOTO_IF_ERROR(axis_make(ctx, &ay, src_height, dst_height, method));
    tmp = ctx_alloc(ctx, n, sizeof *tmp);
    GOTO_FAIL_IF(!tmp, ctx, DECAM_ERR_OUT_OF_MEMORY, "%s: out of memory (%zu floats)", who, n);
    const io_strides ss = io_layout_strides(layout, src_width, src_height, channels);
    const io_strides ts = io_layout_strides(layout, dst_width, src_height, channels);
    const io_strides ds = io_layout_strides(layout, dst_width, dst_height, channels);
    resample_rows(src, ss, tmp, ts, src_height, dst_width, channels, &ax);
    resample_columns(tmp, ts, dst, ds, dst_width, dst_height, channels, &ay);
cleanup:
    ctx_dealloc(ctx, tmp);
    axis_free(ctx, &ax);
    axis_free(ctx, &ay);
    return status;
}

decam_status decam_image_center_crop(decam_ctx *ctx, const float *src, int src_width,
                                     int src_height, int channels, float *dst, int crop_width,
                                     int crop_height) {
    static const char who[] = "decam_image_center_crop";
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    ctx_clear_error(ctx);
    FAIL_IF(!src || !dst, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: src and dst must not be NULL", who);
    size_t n;
    FORWARD_IF_ERROR(params_check_image_size(ctx, who, src_width, src_height, channels, &n));
    FORWARD_IF_ERROR(params_check_image_size(ctx, who, crop_width, crop_height, channels, &n));
    FAIL_IF(crop_width > src_width || crop_height > src_height, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: a %d x %d crop does not fit in a %d x %d image", who, crop_width, crop_height,
            src_width, src_height);
    const decam_layout layout = io_layout(ctx);
    const io_strides ss = io_layout_strides(layout, src_width, src_height, channels);
    const io_strides ds = io_layout_strides(layout, crop_width, crop_height, channels);
    const size_t x0 = (size_t)(src_width - crop_width) / 2;
    const size_t y0 = (size_t)(src_height - crop_height) / 2;
    for (int c = 0; c < channels; c++)
        for (int y = 0; y < crop_height; y++)
            for (int x = 0; x < crop_width; x++)
                dst[(size_t)c * ds.chan + (size_t)y * ds.row + (size_t)x * ds.px] =
                    src[(size_t)c * ss.chan + (y0 + (size_t)y) * ss.row + (x0 + (size_t)x) * ss.px];
    return DECAM_OK;
}

/* v = (v - mean) / std, or with `inverse` v = v * std + mean. */
static decam_status normalize(decam_ctx *ctx, const char *who, float *pixels, int width, int height,
                              int channels, const float *mean, const float *std, int inverse) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    ctx_clear_error(ctx);
    FAIL_IF(!pixels || !mean || !std, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: pixels, mean and std must not be NULL", who);
    size_t n;
    FORWARD_IF_ERROR(params_check_image_size(ctx, who, width, height, channels, &n));
    for (int c = 0; c < channels; c++) {
        FAIL_IF(!isfinite(mean[c]), ctx, DECAM_ERR_INVALID_ARGUMENT,
                "%s: mean[%d] = %g is not finite", who, c, (double)mean[c]);
        FAIL_IF(!isfinite(std[c]) || std[c] == 0.0f, ctx, DECAM_ERR_INVALID_ARGUMENT,
                "%s: std[%d] = %g must be finite and nonzero", who, c, (double)std[c]);
    }
    const io_strides s = io_layout_strides(io_layout(ctx), width, height, channels);
    for (int c = 0; c < channels; c++) {
        const float m = mean[c], sd = std[c];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) {
                float *v = pixels + (size_t)c * s.chan + (size_t)y * s.row + (size_t)x * s.px;
                *v = inverse ? *v * sd + m : (*v - m) / sd;
            }
    }
    return DECAM_OK;
}

decam_status decam_image_normalize(decam_ctx *ctx, float *pixels, int width, int height,
                                   int channels, const float *mean, const float *std) {
    return normalize(ctx, "decam_image_normalize", pixels, width, height, channels, mean, std, 0);
}

decam_status decam_image_denormalize(decam_ctx *ctx, float *pixels, int width, int height,
                                     int channels, const float *mean, const float *std) {
    return normalize(ctx, "decam_image_denormalize", pixels, width, height, channels, mean, std, 1);
}

static decam_status check_bytes_args(decam_ctx *ctx, const char *who, const void *src,
                                     const void *dst, int width, int height, int channels) {
    FAIL_IF(!src || !dst, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: src and dst must not be NULL", who);
    FAIL_IF(channels < 1 || channels > 4, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: channels is %d, must be 1 to 4", who, channels);
    size_t n;
    return params_check_image_size(ctx, who, width, height, channels, &n);
}

uint8_t io_to_byte(float v) {
    if (!(v > 0.0f)) return 0; /* NaN too */
    if (v >= 1.0f) return 255;
    /* A float times 255 is exact in a double, so this rounds the exact
     * product (halves up) on every platform. */
    return (uint8_t)floor((double)v * 255.0 + 0.5);
}

decam_status decam_image_to_bytes(decam_ctx *ctx, const float *src, int width, int height,
                                  int channels, uint8_t *dst) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    ctx_clear_error(ctx);
    FORWARD_IF_ERROR(
        check_bytes_args(ctx, "decam_image_to_bytes", src, dst, width, height, channels));
    const io_strides s = io_layout_strides(io_layout(ctx), width, height, channels);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            for (int c = 0; c < channels; c++)
                *dst++ = io_to_byte(src[(size_t)c * s.chan + (size_t)y * s.row + (size_t)x * s.px]);
    return DECAM_OK;
}

decam_status decam_image_from_bytes(decam_ctx *ctx, const uint8_t *src, int width, int height,
                                    int channels, float *dst) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    ctx_clear_error(ctx);
    FORWARD_IF_ERROR(
        check_bytes_args(ctx, "decam_image_from_bytes", src, dst, width, height, channels));
    const io_strides s = io_layout_strides(io_layout(ctx), width, height, channels);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            for (int c = 0; c < channels; c++)
                dst[(size_t)c * s.chan + (size_t)y * s.row + (size_t)x * s.px] =
                    (float)*src++ / 255.0f;
    return DECAM_OK;
}
