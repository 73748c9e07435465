/*
 * decam_image.h - preparing model input for libdecam: resize, centre crop,
 * normalisation and conversion between float images and bytes.
 *
 * These need no image codec, so they are part of every build of the
 * library, -Dio=disabled included, and this header is always installed.
 * decam_io.h (the optional PNG/JPEG part) includes it, so code that
 * includes decam_io.h sees them as before. Conventions are those of
 * decam.h and decam_io.h: the context comes first and supplies the error
 * message, the allocator and the layout (DECAM_PARAM_LAYOUT) of float
 * images; byte images are interleaved (HWC) and row-major.
 */
#ifndef DECAM_IMAGE_H
#define DECAM_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "decam.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * Preparing model input
 * ====================================================================== */

/* Float images here follow the core's size limits (decam_max_image_side(),
 * decam_max_channels(), decam_max_image_values()): a zero size gives
 * DECAM_ERR_INVALID_ARGUMENT, a size beyond them DECAM_ERR_TOO_LARGE. Any
 * number of channels up to decam_max_channels() is accepted, and values
 * need not lie in [0,1]. Source and destination must not overlap. */

typedef enum decam_resize_method {
    /* Bilinear interpolation with pixel centres aligned (as OpenCV's
     * INTER_LINEAR and PyTorch's align_corners=False), edges replicated.
     * Aliases when shrinking by more than 2x. */
    DECAM_RESIZE_BILINEAR = 0,
    /* Along an axis that shrinks: the mean of the source pixels each
     * destination pixel covers, weighted by the fraction covered (box
     * filter; no aliasing). Along an axis that grows or keeps its size:
     * bilinear, as above. */
    DECAM_RESIZE_AREA = 1
} decam_resize_method;

/* Resizes `src` (src_width x src_height x channels, context layout) into
 * `dst` (dst_width x dst_height x channels floats, same layout), axis by
 * axis. Resizing to the same size copies exactly.
 *
 * Returns DECAM_OK, DECAM_ERR_INVALID_ARGUMENT (NULL pointer, zero size,
 * src == dst, unknown method), DECAM_ERR_TOO_LARGE or
 * DECAM_ERR_OUT_OF_MEMORY (one temporary image of dst_width x src_height
 * is allocated). */
DECAM_API DECAM_WARN_UNUSED decam_status decam_image_resize(decam_ctx *ctx, const float *src,
                                                            int src_width, int src_height,
                                                            int channels, float *dst, int dst_width,
                                                            int dst_height,
                                                            decam_resize_method method);

/* Copies the centred crop_width x crop_height window of `src` into `dst`
 * (crop_width * crop_height * channels floats, context layout). The window
 * starts at x = (src_width - crop_width) / 2, y = (src_height -
 * crop_height) / 2, rounded down. The usual classifier input is
 * decam_image_resize() so that the shorter side is 256 (say), then a
 * centre crop of 224 x 224.
 *
 * Returns DECAM_OK, DECAM_ERR_INVALID_ARGUMENT (NULL pointer, zero size, or
 * a crop larger than the source) or DECAM_ERR_TOO_LARGE. */
DECAM_API DECAM_WARN_UNUSED decam_status decam_image_center_crop(decam_ctx *ctx, const float *src,
                                                                 int src_width, int src_height,
                                                                 int channels, float *dst,
                                                                 int crop_width, int crop_height);

/* In place, per channel c: v = (v - mean[c]) / std[c]; `mean` and `std`
 * hold `channels` values (ImageNet: mean 0.485 0.456 0.406, std 0.229
 * 0.224 0.225). Every mean must be finite and every std finite and nonzero,
 * or DECAM_ERR_INVALID_ARGUMENT names the first bad one and nothing
 * changes. */
DECAM_API DECAM_WARN_UNUSED decam_status decam_image_normalize(decam_ctx *ctx, float *pixels,
                                                               int width, int height, int channels,
                                                               const float *mean, const float *std);

/* The inverse of decam_image_normalize(): v = v * std[c] + mean[c]. */
DECAM_API DECAM_WARN_UNUSED decam_status decam_image_denormalize(decam_ctx *ctx, float *pixels,
                                                                 int width, int height,
                                                                 int channels, const float *mean,
                                                                 const float *std);

/* Converts a float image (context layout, 1..4 channels) into bytes
 * (interleaved, width*height*channels): 255 * v rounded to the nearest
 * integer (halves up), v clamped to [0,1]; NaN gives 0. Returns DECAM_OK,
 * DECAM_ERR_INVALID_ARGUMENT (NULL pointer, zero size, channels outside 1..4) or
 * DECAM_ERR_TOO_LARGE. */
DECAM_API DECAM_WARN_UNUSED decam_status decam_image_to_bytes(decam_ctx *ctx, const float *src,
                                                              int width, int height, int channels,
                                                              uint8_t *dst);

/* Converts bytes (interleaved, 1..4 channels) into a float image in the
 * context's layout: v = byte / 255. Same statuses as decam_image_to_bytes. */
DECAM_API DECAM_WARN_UNUSED decam_status decam_image_from_bytes(decam_ctx *ctx, const uint8_t *src,
                                                                int width, int height, int channels,
                                                                float *dst);

#ifdef __cplusplus
}
#endif

#endif /* DECAM_IMAGE_H */
