/*
 * io.h - private interface of the optional I/O part (decam_io.h): the float
 * image the decoders fill, the growing buffer the encoders write (both in
 * io_pixels.c), the settings (io_settings.c), and the entry points of
 * io_png.c, io_jpeg.c and the colormap tables. Layout strides and byte
 * rounding come from prepare.h, which builds without the I/O part.
 * Private: not installed.
 */
#ifndef DECAM_IO_PRIVATE_H
#define DECAM_IO_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "context.h"
#include "decam_io.h"
#include "prepare.h"

/* The I/O part's settings (decam_io.h section 1), kept behind ctx->io. */
typedef struct io_settings {
    int max_width, max_height;
    uint64_t max_pixels;
    uint64_t base_pixels, pixels_per_byte, max_memory; /* decam_io_set_input_limits */
    float background[3];
    int jpeg_quality;
} io_settings;

/* The context's settings, or the defaults when none was ever set
 * (io_settings.c). */
const io_settings *decam__io_settings(const decam_ctx *ctx);

/* The float image a decoder produces. The caller sets channels, layout and
 * background; the decoder checks the size (io_image_alloc), fills the rows
 * and, on success, leaves `pixels` for the caller (on failure it frees it
 * and sets it to NULL). */
typedef struct io_image {
    const char *source; /* "'path'" or "buffer", first in messages */
    size_t input_size;  /* bytes of the encoded image (up to IEND / EOI) */
    float *pixels;
    int width, height;
    int channels; /* 1 or 3 */
    decam_layout layout;
    float background[3]; /* alpha is composited over this */
} io_image;

/* Writes size bytes to path without destroying what was there on failure
 * (io_file.c). Returns 0, or the errno of the failure. */
int decam__io_file_write(const char *path, const uint8_t *data, size_t size);

/* The bytes of `data` up to the end of the image it holds (after PNG's
 * IEND or JPEG's EOI), or `size` when the image does not end within it
 * (io_image.c). */
size_t decam__image_extent(decam_image_format format, const unsigned char *data, size_t size);

/* Records a failure as decam__ctx_fail() does, with "source: " in front of the
 * message when source is not NULL. Returns status. */
decam_status decam__io_fail(decam_ctx *ctx, const char *source, decam_status status,
                            const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Checks a decoded size against the context's limits (DECAM_ERR_TOO_LARGE,
 * and DECAM_ERR_FORMAT for a zero size), then allocates img->pixels.
 * The limits: width, height and pixels (decam_io_set_limits); the pixels
 * the input justifies, base_pixels + pixels_per_byte * img->input_size;
 * and the memory of the load, img->input_size + the float image +
 * `codec_bytes` (the decoder's own whole-image buffers), against
 * max_memory (decam_io_set_input_limits). `format` names the file format
 * in messages. */
decam_status decam__io_image_alloc(decam_ctx *ctx, const char *format, io_image *img,
                                   uint64_t width, uint64_t height, uint64_t codec_bytes);

/* Stores row y of the image from 8- or 16-bit (big-endian) samples:
 * src_channels 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
void decam__io_image_put_row(io_image *img, int y, const unsigned char *row, int src_channels,
                             int bits);

/* Stores row y from 8-bit CMYK; `inverted` for Adobe's convention
 * (0 = full ink). */
void decam__io_image_put_row_cmyk(io_image *img, int y, const unsigned char *row, int inverted);

/* A buffer that grows as an encoder writes, in the context's memory. */
typedef struct io_buffer {
    decam_ctx *ctx;
    unsigned char *data;
    size_t size, capacity;
} io_buffer;

/* Appends n bytes; returns 0, or -1 when memory is exhausted (the buffer
 * then keeps what it had). */
int decam__io_buffer_append(io_buffer *buf, const void *bytes, size_t n);

/* Decoders: `size` bytes at `data` into img (see io_image). The failure's
 * message is recorded in the context. */
decam_status decam__io_png_decode(decam_ctx *ctx, const unsigned char *data, size_t size,
                                  io_image *img);
decam_status decam__io_jpeg_decode(decam_ctx *ctx, const unsigned char *data, size_t size,
                                   io_image *img);

/* Encoders: interleaved 8-bit pixels appended to `out`. Arguments are
 * checked by the caller (decam_image_save_memory). */
decam_status decam__io_png_encode(decam_ctx *ctx, const uint8_t *pixels, int width, int height,
                                  int channels, io_buffer *out);
decam_status decam__io_jpeg_encode(decam_ctx *ctx, const uint8_t *pixels, int width, int height,
                                   int channels, int quality, io_buffer *out);

/* Colormap tables, 256 entries of (r, g, b) in [0,1] (io_colormaps.c). */
extern const float decam__io_cmap_viridis[256][3];
extern const float decam__io_cmap_inferno[256][3];
extern const float decam__io_cmap_turbo[256][3];

#endif /* DECAM_IO_PRIVATE_H */
