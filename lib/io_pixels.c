/*
 * io_pixels.c - what the codecs share: failures with the source named, the
 * float image the decoders fill (size limits, rows of 8- and 16-bit
 * samples, CMYK, alpha over the background) and the buffer the encoders
 * write into. io_png.c and io_jpeg.c call only this file and
 * io_settings.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "context.h"
#include "io.h"

decam_status decam__io_fail(decam_ctx *ctx, const char *source, decam_status status,
                            const char *fmt, ...) {
    char message[sizeof ctx->errmsg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (!source) return decam__ctx_fail(ctx, status, "%s", message);
    return decam__ctx_fail(ctx, status, "%s: %s", source, message);
}

decam_status decam__io_image_alloc(decam_ctx *ctx, const char *format, io_image *img,
                                   uint64_t width, uint64_t height, uint64_t codec_bytes) {
    const io_settings *lim = decam__io_settings(ctx);
    const unsigned long long w = width, h = height;
    if (w == 0 || h == 0)
        return decam__io_fail(ctx, img->source, DECAM_ERR_FORMAT,
                              "%s: the image has zero size (%llu x %llu)", format, w, h);
    if (w > (uint64_t)lim->max_width || h > (uint64_t)lim->max_height || w * h > lim->max_pixels)
        return decam__io_fail(ctx, img->source, DECAM_ERR_TOO_LARGE,
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
            return decam__io_fail(
                ctx, img->source, DECAM_ERR_TOO_LARGE,
                "%s: %zu bytes of data cannot justify a %llu x %llu image (at most "
                "%llu pixels plus %llu per byte; see decam_io_set_input_limits)",
                format, img->input_size, w, h, (unsigned long long)lim->base_pixels,
                (unsigned long long)lim->pixels_per_byte);
    }
    const uint64_t image_bytes = w * h * (uint64_t)img->channels * sizeof(float);
    const uint64_t memory = (uint64_t)img->input_size + image_bytes + codec_bytes;
    if (codec_bytes > lim->max_memory || memory > lim->max_memory || memory < image_bytes)
        return decam__io_fail(
            ctx, img->source, DECAM_ERR_TOO_LARGE,
            "%s: loading a %llu x %llu image needs %llu bytes (%llu of them the "
            "decoder's), more than the %llu allowed (see decam_io_set_input_limits)",
            format, w, h, (unsigned long long)memory, (unsigned long long)codec_bytes,
            (unsigned long long)lim->max_memory);
    if (w * h > SIZE_MAX / ((size_t)img->channels * sizeof(float)))
        return decam__io_fail(ctx, img->source, DECAM_ERR_TOO_LARGE,
                              "%s: a %llu x %llu image does not fit in memory", format, w, h);
    img->width = (int)w;
    img->height = (int)h;
    img->pixels = decam__ctx_alloc(ctx, (size_t)(w * h), (size_t)img->channels * sizeof(float));
    if (!img->pixels)
        return decam__io_fail(ctx, img->source, DECAM_ERR_OUT_OF_MEMORY,
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

void decam__io_image_put_row(io_image *img, int y, const unsigned char *row, int src_channels,
                             int bits) {
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

void decam__io_image_put_row_cmyk(io_image *img, int y, const unsigned char *row, int inverted) {
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

int decam__io_buffer_append(io_buffer *buf, const void *bytes, size_t n) {
    if (n > SIZE_MAX - buf->size) return -1;
    if (buf->size + n > buf->capacity) {
        size_t cap = buf->capacity ? buf->capacity : 4096;
        while (cap < buf->size + n)
            cap = cap > SIZE_MAX / 2 ? buf->size + n : cap * 2;
        unsigned char *grown = decam__ctx_alloc(buf->ctx, cap, 1);
        if (!grown) return -1;
        if (buf->size) memcpy(grown, buf->data, buf->size);
        decam__ctx_dealloc(buf->ctx, buf->data);
        buf->data = grown;
        buf->capacity = cap;
    }
    memcpy(buf->data + buf->size, bytes, n);
    buf->size += n;
    return 0;
}
