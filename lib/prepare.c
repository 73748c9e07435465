/*
 * prepare.c - preparing model input (decam_image.h): resize, centre crop,
 * normalisation and conversion to and from bytes. It needs no codec, so it
 * is built even with -Dio=disabled; the I/O part's rendering uses its
 * byte conversion.
 */
#include <math.h>
#include <string.h>

#include "context.h"
#include "params.h"
#include "prepare.h"

uint8_t decam__io_to_byte(float v) {
    if (!(v > 0.0f)) return 0; /* NaN too */
    if (v >= 1.0f) return 255;
    /* A float times 255 is exact in a double, so this rounds the exact
     * product (halves up) on every platform. */
    return (uint8_t)floor((double)v * 255.0 + 0.5);
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
    decam__ctx_dealloc(ctx, a->first);
    decam__ctx_dealloc(ctx, a->count);
    decam__ctx_dealloc(ctx, a->weight);
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
    a->first = decam__ctx_alloc(ctx, (size_t)out, sizeof *a->first);
    a->count = decam__ctx_alloc(ctx, (size_t)out, sizeof *a->count);
    a->weight = decam__ctx_alloc(ctx, (size_t)out, (size_t)a->taps * sizeof *a->weight);
    if (!a->first || !a->count || !a->weight) {
        axis_free(ctx, a);
        return decam__ctx_fail(ctx, DECAM_ERR_OUT_OF_MEMORY, "decam_image_resize: out of memory");
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

static decam_status image_resize_body(decam_ctx *ctx, const float *src, int src_width,
                                      int src_height, int channels, float *dst, int dst_width,
                                      int dst_height, decam_resize_method method) {
    static const char who[] = "decam_image_resize";
    FAIL_IF(!src || !dst, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: src and dst must not be NULL", who);
    FAIL_IF(src == dst, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: src and dst must not overlap", who);
    FAIL_IF(method != DECAM_RESIZE_BILINEAR && method != DECAM_RESIZE_AREA, ctx,
            DECAM_ERR_INVALID_ARGUMENT, "%s: method %d is not a decam_resize_method", who,
            (int)method);
    size_t n;
    FORWARD_IF_ERROR(decam__params_check_image_size(ctx, who, src_width, src_height, channels, &n));
    FORWARD_IF_ERROR(decam__params_check_image_size(ctx, who, dst_width, dst_height, channels, &n));
    FORWARD_IF_ERROR(decam__params_check_image_size(ctx, who, dst_width, src_height, channels, &n));

    decam_status status = DECAM_OK;
    const decam_layout layout = io_layout(ctx);
    axis ax, ay;
    memset(&ax, 0, sizeof ax);
    memset(&ay, 0, sizeof ay);
    float *tmp = NULL;
    FORWARD_IF_ERROR(axis_make(ctx, &ax, src_width, dst_width, method));
    GOTO_IF_ERROR(axis_make(ctx, &ay, src_height, dst_height, method));
    tmp = decam__ctx_alloc(ctx, n, sizeof *tmp);
    GOTO_FAIL_IF(!tmp, ctx, DECAM_ERR_OUT_OF_MEMORY, "%s: out of memory (%zu floats)", who, n);
    const io_strides ss = io_layout_strides(layout, src_width, src_height, channels);
    const io_strides ts = io_layout_strides(layout, dst_width, src_height, channels);
    const io_strides ds = io_layout_strides(layout, dst_width, dst_height, channels);
    resample_rows(src, ss, tmp, ts, src_height, dst_width, channels, &ax);
    resample_columns(tmp, ts, dst, ds, dst_width, dst_height, channels, &ay);
cleanup:
    decam__ctx_dealloc(ctx, tmp);
    axis_free(ctx, &ax);
    axis_free(ctx, &ay);
    return status;
}

decam_status decam_image_resize(decam_ctx *ctx, const float *src, int src_width, int src_height,
                                int channels, float *dst, int dst_width, int dst_height,
                                decam_resize_method method) {
    GUARDED(ctx, "decam_image_resize", 0,
            image_resize_body(ctx, src, src_width, src_height, channels, dst, dst_width, dst_height,
                              method));
}

static decam_status image_center_crop_body(decam_ctx *ctx, const float *src, int src_width,
                                           int src_height, int channels, float *dst, int crop_width,
                                           int crop_height) {
    static const char who[] = "decam_image_center_crop";
    FAIL_IF(!src || !dst, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: src and dst must not be NULL", who);
    size_t n;
    FORWARD_IF_ERROR(decam__params_check_image_size(ctx, who, src_width, src_height, channels, &n));
    FORWARD_IF_ERROR(
        decam__params_check_image_size(ctx, who, crop_width, crop_height, channels, &n));
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

decam_status decam_image_center_crop(decam_ctx *ctx, const float *src, int src_width,
                                     int src_height, int channels, float *dst, int crop_width,
                                     int crop_height) {
    GUARDED(ctx, "decam_image_center_crop", 0,
            image_center_crop_body(ctx, src, src_width, src_height, channels, dst, crop_width,
                                   crop_height));
}

/* v = (v - mean) / std, or with `inverse` v = v * std + mean. */
static decam_status normalize(decam_ctx *ctx, const char *who, float *pixels, int width, int height,
                              int channels, const float *mean, const float *std, int inverse) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    ctx_clear_error(ctx);
    FAIL_IF(!pixels || !mean || !std, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: pixels, mean and std must not be NULL", who);
    size_t n;
    FORWARD_IF_ERROR(decam__params_check_image_size(ctx, who, width, height, channels, &n));
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

static decam_status image_normalize_body(decam_ctx *ctx, float *pixels, int width, int height,
                                         int channels, const float *mean, const float *std) {
    return normalize(ctx, "decam_image_normalize", pixels, width, height, channels, mean, std, 0);
}

decam_status decam_image_normalize(decam_ctx *ctx, float *pixels, int width, int height,
                                   int channels, const float *mean, const float *std) {
    GUARDED(ctx, "decam_image_normalize", 0,
            image_normalize_body(ctx, pixels, width, height, channels, mean, std));
}

static decam_status image_denormalize_body(decam_ctx *ctx, float *pixels, int width, int height,
                                           int channels, const float *mean, const float *std) {
    return normalize(ctx, "decam_image_denormalize", pixels, width, height, channels, mean, std, 1);
}

decam_status decam_image_denormalize(decam_ctx *ctx, float *pixels, int width, int height,
                                     int channels, const float *mean, const float *std) {
    GUARDED(ctx, "decam_image_denormalize", 0,
            image_denormalize_body(ctx, pixels, width, height, channels, mean, std));
}

static decam_status check_bytes_args(decam_ctx *ctx, const char *who, const void *src,
                                     const void *dst, int width, int height, int channels) {
    FAIL_IF(!src || !dst, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: src and dst must not be NULL", who);
    FAIL_IF(channels < 1 || channels > 4, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: channels is %d, must be 1 to 4", who, channels);
    size_t n;
    return decam__params_check_image_size(ctx, who, width, height, channels, &n);
}

static decam_status image_to_bytes_body(decam_ctx *ctx, const float *src, int width, int height,
                                        int channels, uint8_t *dst) {
    FORWARD_IF_ERROR(
        check_bytes_args(ctx, "decam_image_to_bytes", src, dst, width, height, channels));
    const io_strides s = io_layout_strides(io_layout(ctx), width, height, channels);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            for (int c = 0; c < channels; c++)
                *dst++ = decam__io_to_byte(
                    src[(size_t)c * s.chan + (size_t)y * s.row + (size_t)x * s.px]);
    return DECAM_OK;
}

decam_status decam_image_to_bytes(decam_ctx *ctx, const float *src, int width, int height,
                                  int channels, uint8_t *dst) {
    GUARDED(ctx, "decam_image_to_bytes", 0,
            image_to_bytes_body(ctx, src, width, height, channels, dst));
}

static decam_status image_from_bytes_body(decam_ctx *ctx, const uint8_t *src, int width, int height,
                                          int channels, float *dst) {
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

decam_status decam_image_from_bytes(decam_ctx *ctx, const uint8_t *src, int width, int height,
                                    int channels, float *dst) {
    GUARDED(ctx, "decam_image_from_bytes", 0,
            image_from_bytes_body(ctx, src, width, height, channels, dst));
}
