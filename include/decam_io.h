/*
 * decam_io.h - libdecam's optional image I/O and rendering.
 *
 * Reads PNG (libpng) and JPEG (libjpeg-turbo) into the library's float
 * images, prepares them for a model (resize, centre crop, normalisation),
 * renders saliency maps (colormaps, overlay, side-by-side panel, contour of
 * the most salient region) and writes PNG and JPEG. Nothing in decam.h
 * depends on it: a build with `-Dio=disabled` leaves it out, and then this
 * header is not installed.
 *
 * It is organised from simple to advanced:
 *
 *   1. Settings: decoding limits, background colour, JPEG quality
 *   2. Loading PNG and JPEG (from a path or from memory)
 *   3. Preparing model input: resize, centre crop, normalisation, bytes
 *   4. Rendering saliency maps
 *   5. Saving PNG and JPEG (to a path or to memory)
 *
 * Conventions (those of decam.h, plus):
 *
 *   - Every function takes the context first. It supplies the error message
 *     (decam_errmsg()), the log handler (decoder warnings arrive there at
 *     DECAM_LOG_WARNING; nothing is ever printed), the limits of section 1
 *     and, for float images, the layout (DECAM_PARAM_LAYOUT: HWC or CHW).
 *   - Float images hold values in [0,1] (0 black, 1 full intensity), in the
 *     context's layout, with 1 (gray) or 3 (RGB) channels where the image
 *     comes from or goes to a file. Byte images (uint8_t, 0..255) are always
 *     interleaved (HWC) and row-major, with no padding between rows.
 *   - Memory that a function returns (loaded pixels, encoded files) comes
 *     from the context's allocator; release it with decam_image_free() on
 *     the same context. Everything else writes into buffers the caller
 *     provides, whose sizes the function's comment gives.
 *   - On failure, output pointers are set to NULL and output sizes to 0.
 *   - Thread safety: as in decam.h, a context is used by one thread at a
 *     time; separate contexts may be used concurrently.
 */
#ifndef DECAM_IO_H
#define DECAM_IO_H

#include <stddef.h>
#include <stdint.h>

#include "decam.h"
#include "decam_image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * 1. Settings
 * ====================================================================== */

/* Limits on the images the decoders accept. A file whose header claims a
 * larger image is refused with DECAM_ERR_TOO_LARGE before any pixel memory
 * is allocated. Defaults: width 32768, height 32768, pixels 2^28
 * (268435456, about 3 GiB of float RGB). These bound what a header may
 * claim; decam_io_set_input_limits() bounds it by the size of the input
 * too, so that a small hostile file cannot make the library allocate
 * gigabytes.
 *
 * max_width, max_height  1 .. 2147483647
 * max_pixels             1 .. 2^62 (width * height)
 *
 * Returns DECAM_OK, DECAM_ERR_INVALID_ARGUMENT (NULL ctx),
 * DECAM_ERR_OUT_OF_RANGE (a limit outside its range; the old limits stay),
 * DECAM_ERR_BUSY (inside decam_explain()) or DECAM_ERR_OUT_OF_MEMORY (below). */
DECAM_API DECAM_WARN_UNUSED decam_status decam_io_set_limits(decam_ctx *ctx, int max_width,
                                                             int max_height, uint64_t max_pixels);

/* Reads the current limits; any output pointer may be NULL.
 * Returns DECAM_ERR_INVALID_ARGUMENT for a NULL ctx. */
DECAM_API DECAM_WARN_UNUSED decam_status decam_io_get_limits(const decam_ctx *ctx, int *max_width,
                                                             int *max_height, uint64_t *max_pixels);

/* Limits by what the input can justify, checked with those of
 * decam_io_set_limits() before any pixel memory is allocated; beyond them
 * a load returns DECAM_ERR_TOO_LARGE.
 *
 * base_pixels, pixels_per_byte  an image held in n bytes (the bytes of the
 *     file or buffer up to PNG's IEND or JPEG's EOI; what follows is never
 *     read) may have at most base_pixels + pixels_per_byte * n pixels.
 *     Real photographs hold 2 to 20 pixels per byte, flat PNG graphics a
 *     few hundred; a header claiming 16384 x 16384 in 211 bytes is refused.
 *     Defaults 2^22 (4194304) and 1024; pixels_per_byte 0 turns this
 *     bound off. Each 0 .. 2^62.
 * max_memory  bytes one load may hold at once: the bytes read, the float
 *     image, and the decoder's own whole-image buffers (the rows of an
 *     interlaced PNG, the coefficients of a progressive or multi-scan
 *     JPEG, 2 bytes per sample); libjpeg's working memory is held to what
 *     remains. A file is read only while this allows. Default 2^32
 *     (4 GiB); 1 .. 2^64-1.
 *
 * Returns DECAM_OK, DECAM_ERR_INVALID_ARGUMENT (NULL ctx),
 * DECAM_ERR_OUT_OF_RANGE (the old limits stay), DECAM_ERR_BUSY or
 * DECAM_ERR_OUT_OF_MEMORY (the first setting made on a context allocates
 * the I/O settings; this holds for every setter of this section). */
DECAM_API DECAM_WARN_UNUSED decam_status decam_io_set_input_limits(decam_ctx *ctx,
                                                                   uint64_t base_pixels,
                                                                   uint64_t pixels_per_byte,
                                                                   uint64_t max_memory);

/* Reads the limits of decam_io_set_input_limits(); any output pointer may
 * be NULL. Returns DECAM_ERR_INVALID_ARGUMENT for a NULL ctx. */
DECAM_API DECAM_WARN_UNUSED decam_status decam_io_get_input_limits(const decam_ctx *ctx,
                                                                   uint64_t *base_pixels,
                                                                   uint64_t *pixels_per_byte,
                                                                   uint64_t *max_memory);

/* The colour that transparent PNG pixels are composited over when they are
 * loaded: out = alpha * colour + (1 - alpha) * background, per channel, on
 * the stored (gamma-encoded) values. Each of r, g, b lies in [0,1]; the
 * default is black (0, 0, 0). A gray image (channels 1) is composited over
 * the background's luma, 0.299 r + 0.587 g + 0.114 b.
 *
 * Returns DECAM_OK, DECAM_ERR_INVALID_ARGUMENT (NULL ctx),
 * DECAM_ERR_OUT_OF_RANGE (a value outside [0,1] or NaN), DECAM_ERR_BUSY or
 * DECAM_ERR_OUT_OF_MEMORY (see decam_io_set_input_limits). */
DECAM_API DECAM_WARN_UNUSED decam_status decam_io_set_background(decam_ctx *ctx, float r, float g,
                                                                 float b);

/* Reads the background colour into rgb[0..2].
 * Returns DECAM_ERR_INVALID_ARGUMENT for a NULL pointer. */
DECAM_API DECAM_WARN_UNUSED decam_status decam_io_get_background(const decam_ctx *ctx,
                                                                 float rgb[3]);

/* JPEG quality used by the savers, 1 (smallest) .. 100 (best); default 90.
 * Returns DECAM_OK, DECAM_ERR_INVALID_ARGUMENT (NULL ctx),
 * DECAM_ERR_OUT_OF_RANGE, DECAM_ERR_BUSY or DECAM_ERR_OUT_OF_MEMORY (see
 * decam_io_set_input_limits). */
DECAM_API DECAM_WARN_UNUSED decam_status decam_io_set_jpeg_quality(decam_ctx *ctx, int quality);

/* Reads the JPEG quality into *quality. */
DECAM_API DECAM_WARN_UNUSED decam_status decam_io_get_jpeg_quality(const decam_ctx *ctx,
                                                                   int *quality);

/* ======================================================================
 * 2. Loading
 * ====================================================================== */

/* File formats. Fixed values; new ones are appended. */
typedef enum decam_image_format {
    DECAM_IMAGE_UNKNOWN = 0,
    DECAM_IMAGE_PNG = 1,
    DECAM_IMAGE_JPEG = 2
} decam_image_format;

/* Tells the format of `size` bytes at `data` from its signature (never from
 * a file name): PNG starts 89 50 4E 47 0D 0A 1A 0A, JPEG starts FF D8 FF.
 * Data shorter than the signature but agreeing with it as far as it goes
 * counts as that format (a loader then reports it as truncated).
 *
 * Sets *format to DECAM_IMAGE_UNKNOWN for anything else, including empty
 * data, and still returns DECAM_OK. Returns DECAM_ERR_INVALID_ARGUMENT for
 * a NULL ctx or format, or NULL data with a nonzero size. */
DECAM_API DECAM_WARN_UNUSED decam_status decam_image_detect(decam_ctx *ctx, const void *data,
                                                            size_t size,
                                                            decam_image_format *format);

/* Loads a PNG or JPEG file as a float image, the format told by the file's
 * first bytes.
 *
 * path      a file name, passed to fopen() unchanged.
 * channels  3 for RGB or 1 for gray. Colour is converted to gray as
 *           0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, as JPEG's Y); gray is
 *           copied into all three channels for RGB.
 * pixels    receives width*height*channels floats in [0,1], in the
 *           context's layout, allocated with the context's allocator;
 *           release with decam_image_free(). NULL after a failure.
 * width, height  receive the size (0 after a failure).
 *
 * What is read:
 *   PNG:  every colour type (gray, gray+alpha, RGB, RGBA, palette) and bit
 *         depth (1, 2, 4, 8, 16), tRNS transparency, Adam7 interlacing.
 *         Alpha is composited over decam_io_set_background(). 16-bit
 *         samples keep their precision (value / 65535). Gamma, ICC and
 *         other colour metadata are ignored (the values are used as
 *         stored, as sRGB).
 *   JPEG: baseline, extended, progressive and arithmetic-coded, with or
 *         without restart markers; gray, YCbCr, RGB, CMYK and YCCK (CMYK
 *         is converted naively, R = (1 - C)(1 - K), and taken as inverted
 *         when an Adobe marker is present, as Photoshop writes it).
 *         12-bit and lossless JPEG are refused (DECAM_ERR_FORMAT).
 *
 * The file is read into memory up to the end of the image it holds (PNG's
 * IEND, JPEG's EOI; bytes after it are never read), then decoded as by
 * decam_image_load_memory(), so the two give identical results.
 *
 * Returns DECAM_OK, or:
 *   DECAM_ERR_INVALID_ARGUMENT  a NULL pointer, or channels not 1 or 3;
 *   DECAM_ERR_IO                the file is missing, cannot be opened or
 *                               read, or is a directory (the message
 *                               carries the system's reason);
 *   DECAM_ERR_FORMAT            empty file, not PNG or JPEG (known other
 *                               formats such as GIF are named), truncated
 *                               or corrupt data (bad CRC, bad compressed
 *                               data, zero width or height, ...); the
 *                               message names what was wrong;
 *   DECAM_ERR_TOO_LARGE         the header claims an image beyond the
 *                               limits of decam_io_set_limits(), or more
 *                               than the data or memory allow
 *                               (decam_io_set_input_limits());
 *   DECAM_ERR_OUT_OF_MEMORY.
 * JPEG data cut short by a marker is DECAM_ERR_FORMAT for Huffman coding
 * and, where a restart marker goes missing, for arithmetic coding. Other
 * arithmetic-coded data that ends early decodes as the standard says
 * (zeros after the marker): real encoders end a cheap tail that way, so it
 * cannot be told from a cut; the bounds of decam_io_set_input_limits()
 * keep what such a file can claim small.
 * Corrupt-data conditions the decoders recover from are errors too, except
 * harmless ones (extraneous bytes between JPEG markers, a bad CRC in an
 * ancillary PNG chunk, an unknown Adobe transform), which are reported to
 * the log handler as warnings. */
DECAM_API DECAM_WARN_UNUSED decam_status decam_image_load(decam_ctx *ctx, const char *path,
                                                          int channels, float **pixels, int *width,
                                                          int *height);

/* As decam_image_load(), from `size` bytes at `data` that the caller holds
 * (for FFI callers that already have the file's contents). `data` is only
 * read, and not kept after the call. DECAM_ERR_IO does not occur. */
DECAM_API DECAM_WARN_UNUSED decam_status decam_image_load_memory(decam_ctx *ctx, const void *data,
                                                                 size_t size, int channels,
                                                                 float **pixels, int *width,
                                                                 int *height);

/* Frees memory returned by this part of the library (decam_image_load*(),
 * decam_image_save_memory()) with the context's allocator. ptr may be NULL;
 * a NULL ctx does nothing. The context must be the one that returned ptr. */
DECAM_API void decam_image_free(decam_ctx *ctx, void *ptr);

/* ======================================================================
 * 3. Preparing model input: declared in decam_image.h (included above),
 *    which is part of every build, -Dio=disabled included.
 * ====================================================================== */

/* ======================================================================
 * 4. Rendering saliency maps
 * ====================================================================== */

/* Maps (saliency maps, `width * height` floats, row-major, as
 * decam_explain() writes them) are drawn through a colormap: a value v is
 * clamped to [0,1] (NaN counts as 0) and picks entry
 * min(floor(256 v), 255) of a 256-entry table, exactly as matplotlib
 * indexes its colormaps. Entries become bytes as in decam_image_to_bytes()
 * (matplotlib truncates instead, so its bytes can be 1 lower).
 * Output images are RGB bytes, interleaved. Image inputs are float images
 * in the context's layout with 1 or 3 channels, values clamped to [0,1].
 * Sizes follow the core's limits, as in section 3. */

/* Colormaps. Fixed values; new ones are appended. */
typedef enum decam_colormap {
    /* matplotlib's "jet": its piecewise-linear segment data, sampled at
     * 256 points as matplotlib does. Dark blue - cyan - yellow - dark red. */
    DECAM_COLORMAP_JET = 0,
    /* Google's Turbo (Mikhailov, 2019), its published 256-entry table. */
    DECAM_COLORMAP_TURBO = 1,
    /* matplotlib's "viridis" (Smith, van der Walt, Firing), 256 entries. */
    DECAM_COLORMAP_VIRIDIS = 2,
    /* matplotlib's "inferno" (Smith, van der Walt), 256 entries. */
    DECAM_COLORMAP_INFERNO = 3,
    /* Black to white: entry i is i / 255. */
    DECAM_COLORMAP_GRAY = 4
} decam_colormap;

/* The colour a colormap gives the value v, as three floats in [0,1]
 * written to rgb[0..2] (the table entry itself, before rounding to bytes).
 * Returns DECAM_ERR_INVALID_ARGUMENT for a NULL pointer or an unknown
 * colormap. */
DECAM_API DECAM_WARN_UNUSED decam_status decam_colormap_value(decam_ctx *ctx,
                                                              decam_colormap colormap, float v,
                                                              float rgb[3]);

/* Draws `map` through `colormap` into `rgb` (width*height*3 bytes).
 * Returns DECAM_OK, DECAM_ERR_INVALID_ARGUMENT (NULL pointer, zero size,
 * unknown colormap) or DECAM_ERR_TOO_LARGE. */
DECAM_API DECAM_WARN_UNUSED decam_status decam_render_colormap(decam_ctx *ctx, const float *map,
                                                               int width, int height,
                                                               decam_colormap colormap,
                                                               uint8_t *rgb);

/* Blends the coloured map over the image into `rgb` (width*height*3
 * bytes): out = (1 - alpha) * image + alpha * colour, computed on bytes
 * with alpha rounded to a multiple of 1/255, so the result is the same on
 * every platform. `image` has `channels` (1 or 3) channels and the map's
 * size; alpha lies in [0,1] (0 gives the image, 1 the coloured map).
 *
 * Returns DECAM_OK, DECAM_ERR_INVALID_ARGUMENT (NULL pointer, zero size,
 * channels not 1 or 3, alpha outside [0,1] or NaN, unknown colormap) or
 * DECAM_ERR_TOO_LARGE. */
DECAM_API DECAM_WARN_UNUSED decam_status decam_render_overlay(decam_ctx *ctx, const float *image,
                                                              int width, int height, int channels,
                                                              const float *map,
                                                              decam_colormap colormap, float alpha,
                                                              uint8_t *rgb);

/* Draws, in place on `rgb` (width*height*3 bytes), the outline of the
 * region formed by the top `top_fraction` of the map's pixels: the pixels
 * whose value is at least the k-th largest value, k = ceil(top_fraction *
 * width * height) (ties can make the region larger). Outline pixels are
 * those of the region with a 4-neighbour outside it; they are set to
 * colour[0..2]. The outline is 1 pixel wide and lies inside the region.
 * top_fraction lies in (0,1]; 1 selects everything, which has no outline.
 *
 * Returns DECAM_OK, DECAM_ERR_INVALID_ARGUMENT (NULL pointer, zero size,
 * top_fraction outside (0,1]), DECAM_ERR_TOO_LARGE or
 * DECAM_ERR_OUT_OF_MEMORY (a sorted copy of the map is made). */
DECAM_API DECAM_WARN_UNUSED decam_status decam_render_contour(decam_ctx *ctx, const float *map,
                                                              int width, int height,
                                                              float top_fraction,
                                                              const uint8_t colour[3],
                                                              uint8_t *rgb);

/* A side-by-side panel, image | coloured map | overlay, into `rgb`:
 * (3 * width) x height pixels, 3 bytes each (9 * width * height bytes), a
 * row of the panel being 9 * width bytes. The panes are what
 * decam_image_to_bytes() (gray copied to RGB), decam_render_colormap() and
 * decam_render_overlay() give; when top_fraction > 0, the outline of
 * decam_render_contour() is drawn in white on the overlay pane.
 * top_fraction is 0 (no outline) or in (0,1].
 *
 * Returns DECAM_OK or the statuses of decam_render_overlay() and
 * decam_render_contour(); also DECAM_ERR_TOO_LARGE when 3 * width exceeds
 * decam_max_image_side(). */
DECAM_API DECAM_WARN_UNUSED decam_status decam_render_panel(decam_ctx *ctx, const float *image,
                                                            int width, int height, int channels,
                                                            const float *map,
                                                            decam_colormap colormap, float alpha,
                                                            float top_fraction, uint8_t *rgb);

/* ======================================================================
 * 5. Saving
 * ====================================================================== */

/* Encodes width x height byte pixels (interleaved, `channels` per pixel)
 * and writes them to `path` (created or replaced).
 *
 * format    DECAM_IMAGE_PNG: channels 1 (gray), 2 (gray+alpha), 3 (RGB) or
 *           4 (RGBA), 8 bits per sample, not interlaced, zlib's default
 *           compression. DECAM_IMAGE_JPEG: channels 1 or 3 (JPEG has no
 *           alpha), baseline, 4:2:0 chroma subsampling below quality 90 and
 *           4:4:4 from 90 up, at decam_io_set_jpeg_quality().
 * width, height  1 .. 2147483647 for PNG, 1 .. 65500 for JPEG (the
 *           format's own limits; the decoding limits do not apply).
 *
 * Returns DECAM_OK, DECAM_ERR_INVALID_ARGUMENT (NULL pointer, zero size,
 * unknown format, channels not accepted by the format), DECAM_ERR_TOO_LARGE
 * (beyond the format's limits), DECAM_ERR_OUT_OF_MEMORY or DECAM_ERR_IO (the
 * file cannot be created or written). The image is encoded in memory first,
 * so no file is touched when encoding fails.
 *
 * A failed save never destroys what `path` named before. A regular file (or
 * a new one) is written to a temporary file in the same directory, which is
 * renamed over `path` once complete: on failure the old file is unchanged
 * and the temporary file removed. An existing file keeps its permission
 * bits (a hard link to it is not followed: the path gets a new file). A
 * symbolic link is followed and stays a link; a dangling one gets the new
 * file fopen() would create where its chain ends. Every name the system
 * allows works (the temporary file's name is shortened to fit). A device or FIFO (such as
 * /dev/stdout) is written in place and never removed. Where the directory
 * admits no new file but the file itself is writable, the file is written
 * in place, and a failure may leave it partly written. */
DECAM_API DECAM_WARN_UNUSED decam_status decam_image_save(decam_ctx *ctx, const char *path,
                                                          decam_image_format format,
                                                          const uint8_t *pixels, int width,
                                                          int height, int channels);

/* As decam_image_save(), into memory: *data receives the encoded file
 * (allocated with the context's allocator; release with decam_image_free())
 * and *size its length in bytes. */
DECAM_API DECAM_WARN_UNUSED decam_status decam_image_save_memory(decam_ctx *ctx,
                                                                 decam_image_format format,
                                                                 const uint8_t *pixels, int width,
                                                                 int height, int channels,
                                                                 uint8_t **data, size_t *size);

#ifdef __cplusplus
}
#endif

#endif /* DECAM_IO_H */
