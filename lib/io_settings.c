/*
 * io_settings.c - the settings of the I/O part (decam_io.h section 1).
 *
 * They live outside the core context: the context holds one opaque pointer
 * (ctx->io), allocated here on the first setter call and freed by
 * decam_free() with the context's allocator. Until then every reader sees
 * the defaults, so a context that never touches I/O pays nothing for it.
 */
#include <string.h>

#include "context.h"
#include "io.h"

#define IO_MAX_SIDE   2147483647
#define IO_MAX_PIXELS ((uint64_t)1 << 62)

static const io_settings DEFAULTS = {
    .max_width = 32768,
    .max_height = 32768,
    .max_pixels = (uint64_t)1 << 28,
    .base_pixels = (uint64_t)1 << 22,
    .pixels_per_byte = 1024,
    .max_memory = (uint64_t)1 << 32,
    .background = {0.0f, 0.0f, 0.0f},
    .jpeg_quality = 90,
};

const io_settings *decam__io_settings(const decam_ctx *ctx) {
    return ctx->io ? (const io_settings *)ctx->io : &DEFAULTS;
}

/* The settings to change, made on first use (which may run out of memory). */
static decam_status writable(decam_ctx *ctx, const char *who, io_settings **out) {
    if (!ctx->io) {
        io_settings *s = decam__ctx_alloc(ctx, 1, sizeof *s);
        FAIL_IF(!s, ctx, DECAM_ERR_OUT_OF_MEMORY, "%s: out of memory for the I/O settings", who);
        *s = DEFAULTS;
        ctx->io = s;
    }
    *out = ctx->io;
    return DECAM_OK;
}

static decam_status io_set_limits_body(decam_ctx *ctx, int max_width, int max_height,
                                       uint64_t max_pixels) {
    static const char who[] = "decam_io_set_limits";
    FAIL_IF(max_width < 1 || max_height < 1, ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s: max_width %d and max_height %d must be in [1, %d]", who, max_width, max_height,
            IO_MAX_SIDE);
    FAIL_IF(max_pixels < 1 || max_pixels > IO_MAX_PIXELS, ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s: max_pixels %llu must be in [1, 2^62]", who, (unsigned long long)max_pixels);
    io_settings *s = NULL;
    FORWARD_IF_ERROR(writable(ctx, who, &s));
    s->max_width = max_width;
    s->max_height = max_height;
    s->max_pixels = max_pixels;
    return DECAM_OK;
}

decam_status decam_io_set_limits(decam_ctx *ctx, int max_width, int max_height,
                                 uint64_t max_pixels) {
    GUARDED(ctx, "decam_io_set_limits", 1,
            io_set_limits_body(ctx, max_width, max_height, max_pixels));
}

decam_status decam_io_get_limits(const decam_ctx *ctx, int *max_width, int *max_height,
                                 uint64_t *max_pixels) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    const io_settings *s = decam__io_settings(ctx);
    if (max_width) *max_width = s->max_width;
    if (max_height) *max_height = s->max_height;
    if (max_pixels) *max_pixels = s->max_pixels;
    return DECAM_OK;
}

static decam_status io_set_input_limits_body(decam_ctx *ctx, uint64_t base_pixels,
                                             uint64_t pixels_per_byte, uint64_t max_memory) {
    static const char who[] = "decam_io_set_input_limits";
    FAIL_IF(base_pixels > IO_MAX_PIXELS || pixels_per_byte > IO_MAX_PIXELS, ctx,
            DECAM_ERR_OUT_OF_RANGE,
            "%s: base_pixels %llu and pixels_per_byte %llu must be in [0, 2^62]", who,
            (unsigned long long)base_pixels, (unsigned long long)pixels_per_byte);
    FAIL_IF(max_memory < 1, ctx, DECAM_ERR_OUT_OF_RANGE, "%s: max_memory must be at least 1", who);
    io_settings *s = NULL;
    FORWARD_IF_ERROR(writable(ctx, who, &s));
    s->base_pixels = base_pixels;
    s->pixels_per_byte = pixels_per_byte;
    s->max_memory = max_memory;
    return DECAM_OK;
}

decam_status decam_io_set_input_limits(decam_ctx *ctx, uint64_t base_pixels,
                                       uint64_t pixels_per_byte, uint64_t max_memory) {
    GUARDED(ctx, "decam_io_set_input_limits", 1,
            io_set_input_limits_body(ctx, base_pixels, pixels_per_byte, max_memory));
}

decam_status decam_io_get_input_limits(const decam_ctx *ctx, uint64_t *base_pixels,
                                       uint64_t *pixels_per_byte, uint64_t *max_memory) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    const io_settings *s = decam__io_settings(ctx);
    if (base_pixels) *base_pixels = s->base_pixels;
    if (pixels_per_byte) *pixels_per_byte = s->pixels_per_byte;
    if (max_memory) *max_memory = s->max_memory;
    return DECAM_OK;
}

static decam_status io_set_background_body(decam_ctx *ctx, float r, float g, float b) {
    static const char who[] = "decam_io_set_background";
    const float rgb[3] = {r, g, b};
    for (int c = 0; c < 3; c++)
        FAIL_IF(!(rgb[c] >= 0.0f && rgb[c] <= 1.0f), ctx, DECAM_ERR_OUT_OF_RANGE,
                "%s: %c = %g is outside [0, 1]", who, "rgb"[c], (double)rgb[c]);
    io_settings *s = NULL;
    FORWARD_IF_ERROR(writable(ctx, who, &s));
    memcpy(s->background, rgb, sizeof rgb);
    return DECAM_OK;
}

decam_status decam_io_set_background(decam_ctx *ctx, float r, float g, float b) {
    GUARDED(ctx, "decam_io_set_background", 1, io_set_background_body(ctx, r, g, b));
}

decam_status decam_io_get_background(const decam_ctx *ctx, float rgb[3]) {
    if (!ctx || !rgb) return DECAM_ERR_INVALID_ARGUMENT;
    memcpy(rgb, decam__io_settings(ctx)->background, 3 * sizeof *rgb);
    return DECAM_OK;
}

static decam_status io_set_jpeg_quality_body(decam_ctx *ctx, int quality) {
    static const char who[] = "decam_io_set_jpeg_quality";
    FAIL_IF(quality < 1 || quality > 100, ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s: quality %d is outside [1, 100]", who, quality);
    io_settings *s = NULL;
    FORWARD_IF_ERROR(writable(ctx, who, &s));
    s->jpeg_quality = quality;
    return DECAM_OK;
}

decam_status decam_io_set_jpeg_quality(decam_ctx *ctx, int quality) {
    GUARDED(ctx, "decam_io_set_jpeg_quality", 1, io_set_jpeg_quality_body(ctx, quality));
}

decam_status decam_io_get_jpeg_quality(const decam_ctx *ctx, int *quality) {
    if (!ctx || !quality) return DECAM_ERR_INVALID_ARGUMENT;
    *quality = decam__io_settings(ctx)->jpeg_quality;
    return DECAM_OK;
}
