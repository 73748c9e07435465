/*
 * fuzz_prepare.c - libFuzzer target for the preparation and rendering
 * functions of decam_io.h: resize (both methods), centre crop,
 * normalise / denormalise, bytes conversion both ways, colormap values,
 * colormap, overlay, contour and panel rendering.
 *
 * The input chooses the layout, the sizes (small, zero and negative
 * included), channel counts (0..5), methods and colormaps (invalid values
 * included), alpha and top_fraction (NaN, infinities, out of range),
 * means and standard deviations (zero, NaN), the pixel values (any float
 * bits: NaN, infinities, denormals, +-3e38), and which allocation fails.
 *
 * Allowed outcomes: the documented statuses, each failure with a message;
 * after success, outputs that keep the documented promises (resizing
 * finite values stays within their range, a crop is a copy of the
 * window, bytes and colours are what the tables give). Anything else
 * traps; ASan and UBSan catch the rest, leaks included.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decam_io.h"
#include "reader.h"
#include "../counting.h" /* the tests' counting allocator */

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

static float any_float(reader *r) {
    static const float special[] = {0.0f, 1.0f, -1.0f, 0.5f, 3e38f, -3e38f, 1e-45f, 2.0f};
    uint8_t k = byte(r);
    if (k < 8) return special[k];
    if (k == 8) return NAN;
    if (k == 9) return INFINITY;
    if (k == 10) return -INFINITY;
    if (k == 11) { /* raw bits */
        uint32_t bits =
            (uint32_t)byte(r) << 24 | (uint32_t)byte(r) << 16 | (uint32_t)byte(r) << 8 | byte(r);
        float v;
        memcpy(&v, &bits, sizeof v);
        return v;
    }
    return (float)(k - 12) / 200.0f;
}

/* A side: mostly 1..24, sometimes 0 or negative or beyond the core's
 * limit (refused from the numbers alone; no buffer of that size exists). */
static int any_side(reader *r) {
    uint8_t k = byte(r);
    if (k == 0) return 0;
    if (k == 1) return -1;
    if (k == 2) return 1 << 20;
    return 1 + k % 24;
}

#define MAX_SIDE 24
#define MAX_CH   5
#define MAX_VALS (MAX_SIDE * MAX_SIDE * MAX_CH)

/* Buffers big enough for every size the input can reach; a size beyond
 * them (1 << 20) must be refused before they are touched. */
typedef struct buffers {
    float src[MAX_VALS], dst[MAX_VALS], map[MAX_SIDE * MAX_SIDE];
    uint8_t bytes[MAX_VALS], rgb[9 * MAX_SIDE * MAX_SIDE];
} buffers;

static int fits(int w, int h, int c) {
    return w >= 1 && h >= 1 && c >= 1 && w <= MAX_SIDE && h <= MAX_SIDE && c <= MAX_CH;
}

static void check_status(decam_ctx *ctx, decam_status st) {
    CHECK(st == DECAM_OK || st == DECAM_ERR_INVALID_ARGUMENT || st == DECAM_ERR_TOO_LARGE ||
          st == DECAM_ERR_OUT_OF_MEMORY);
    if (st != DECAM_OK) CHECK(decam_errmsg(ctx)[0] != '\0');
}

static void fuzz_resize(decam_ctx *ctx, reader *r, buffers *b, int w, int h, int c) {
    int dw = any_side(r), dh = any_side(r);
    int method = byte(r) % 3; /* 2 is not a method */
    if (!fits(dw, dh, c > 0 ? c : 1) && dw > 0 && dh > 0 && dw < (1 << 20) && dh < (1 << 20))
        return;
    decam_status st =
        decam_image_resize(ctx, b->src, w, h, c, b->dst, dw, dh, (decam_resize_method)method);
    check_status(ctx, st);
    if (method == 2) CHECK(st == DECAM_ERR_INVALID_ARGUMENT);
    if (st != DECAM_OK) return;
    CHECK(fits(w, h, c) && fits(dw, dh, c));
    /* Each output is a convex combination of inputs: within their range
     * when they are all finite. */
    float lo = INFINITY, hi = -INFINITY;
    size_t n = (size_t)w * (size_t)h * (size_t)c;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(b->src[i]) || fabsf(b->src[i]) > 1e30f) return;
        lo = fminf(lo, b->src[i]);
        hi = fmaxf(hi, b->src[i]);
    }
    const float slack = 1e-4f * (fabsf(lo) + fabsf(hi) + 1.0f);
    for (size_t i = 0; i < (size_t)dw * (size_t)dh * (size_t)c; i++)
        CHECK(b->dst[i] >= lo - slack && b->dst[i] <= hi + slack);
    if (dw == w && dh == h) CHECK(memcmp(b->dst, b->src, n * sizeof(float)) == 0);
}

static void fuzz_crop(decam_ctx *ctx, reader *r, buffers *b, int w, int h, int c, int chw) {
    int cw = any_side(r), ch = any_side(r);
    if (!fits(cw, ch, c > 0 ? c : 1) && cw > 0 && ch > 0 && cw < (1 << 20) && ch < (1 << 20))
        return;
    decam_status st = decam_image_center_crop(ctx, b->src, w, h, c, b->dst, cw, ch);
    check_status(ctx, st);
    if (st != DECAM_OK) return;
    CHECK(cw <= w && ch <= h && fits(w, h, c));
    const int x0 = (w - cw) / 2, y0 = (h - ch) / 2;
    for (int k = 0; k < c; k++)
        for (int y = 0; y < ch; y++)
            for (int x = 0; x < cw; x++) {
                size_t d = chw ? ((size_t)k * ch + y) * cw + x : ((size_t)y * cw + x) * c + k;
                size_t s = chw ? ((size_t)k * h + y0 + y) * w + x0 + x
                               : ((size_t)(y0 + y) * w + x0 + x) * c + k;
                CHECK(memcmp(&b->dst[d], &b->src[s], sizeof(float)) == 0);
            }
}

static void fuzz_normalize(decam_ctx *ctx, reader *r, buffers *b, int w, int h, int c) {
    float mean[MAX_CH], sd[MAX_CH];
    for (int k = 0; k < MAX_CH; k++) {
        mean[k] = any_float(r);
        sd[k] = any_float(r);
    }
    const size_t n = fits(w, h, c) ? (size_t)w * (size_t)h * (size_t)c : 0;
    memcpy(b->dst, b->src, n * sizeof(float));
    decam_status st = byte(r) & 1 ? decam_image_denormalize(ctx, b->dst, w, h, c, mean, sd)
                                  : decam_image_normalize(ctx, b->dst, w, h, c, mean, sd);
    check_status(ctx, st);
    if (st != DECAM_OK) {
        CHECK(memcmp(b->dst, b->src, n * sizeof(float)) == 0); /* nothing changed */
        return;
    }
    for (int k = 0; k < c; k++)
        CHECK(isfinite(mean[k]) && isfinite(sd[k]) && sd[k] != 0.0f);
}

static void fuzz_bytes(decam_ctx *ctx, buffers *b, int w, int h, int c) {
    decam_status st = decam_image_to_bytes(ctx, b->src, w, h, c, b->bytes);
    check_status(ctx, st);
    CHECK(st != DECAM_ERR_OUT_OF_MEMORY); /* allocates nothing */
    if (st != DECAM_OK) return;
    CHECK(c <= 4 && fits(w, h, c));
    st = decam_image_from_bytes(ctx, b->bytes, w, h, c, b->dst);
    CHECK(st == DECAM_OK);
    const size_t n = (size_t)w * (size_t)h * (size_t)c;
    for (size_t i = 0; i < n; i++)
        CHECK(b->dst[i] >= 0.0f && b->dst[i] <= 1.0f);
    /* Bytes back to bytes are exact. */
    uint8_t again[MAX_VALS];
    CHECK(decam_image_to_bytes(ctx, b->dst, w, h, c, again) == DECAM_OK);
    CHECK(memcmp(again, b->bytes, n) == 0);
}

static void fuzz_render(decam_ctx *ctx, reader *r, buffers *b, int w, int h, int c) {
    const int colormap = byte(r) % 7 - 1; /* -1 and 5 are not colormaps */
    const int valid_map = colormap >= 0 && colormap <= 4;
    const float alpha = any_float(r), top = any_float(r);
    float rgbf[3];
    decam_status st = decam_colormap_value(ctx, (decam_colormap)colormap, any_float(r), rgbf);
    check_status(ctx, st);
    CHECK((st == DECAM_OK) == valid_map);
    if (st == DECAM_OK)
        for (int k = 0; k < 3; k++)
            CHECK(rgbf[k] >= 0.0f && rgbf[k] <= 1.0f);

    st = decam_render_colormap(ctx, b->map, w, h, (decam_colormap)colormap, b->rgb);
    check_status(ctx, st);
    if (st == DECAM_OK) {
        CHECK(fits(w, h, 1));
        /* Pixel 0 is the colour of its value, rounded to bytes. */
        CHECK(decam_colormap_value(ctx, (decam_colormap)colormap, b->map[0], rgbf) == DECAM_OK);
        for (int k = 0; k < 3; k++)
            CHECK(abs((int)b->rgb[k] - (int)lrintf(rgbf[k] * 255.0f)) <= 1);
    }
    st =
        decam_render_overlay(ctx, b->src, w, h, c, b->map, (decam_colormap)colormap, alpha, b->rgb);
    check_status(ctx, st);
    if (st == DECAM_OK) CHECK(alpha >= 0.0f && alpha <= 1.0f && (c == 1 || c == 3) && valid_map);

    static const uint8_t colour[3] = {255, 0, 255};
    st = decam_render_contour(ctx, b->map, w, h, top, colour, b->rgb);
    check_status(ctx, st);
    if (st == DECAM_OK) CHECK(top > 0.0f && top <= 1.0f);

    st = decam_render_panel(ctx, b->src, w, h, c, b->map, (decam_colormap)colormap, alpha, top,
                            b->rgb);
    check_status(ctx, st);
    if (st == DECAM_OK) CHECK(top == 0.0f || (top > 0.0f && top <= 1.0f));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* The first 32 bytes choose the call and its arguments, the rest are
     * the map's and then the image's values, so short inputs reach every
     * call. */
    const size_t head = size < 32 ? size : 32;
    reader r = {data, head}, values = {data + head, size - head};
    counter mem = {.fail_at = -1}; /* fails the allocation the input names */
    decam_ctx *ctx = decam_create_advanced(count_alloc, count_free, &mem);
    if (!ctx) return 0;
    buffers *b = calloc(1, sizeof *b);
    const int chw = byte(&r) & 1;
    CHECK(decam_set_image_layout(ctx, chw ? DECAM_LAYOUT_CHW : DECAM_LAYOUT_HWC) == DECAM_OK);
    const uint8_t fail = byte(&r);
    mem.fail_at = fail < 8 ? mem.calls + fail : -1;
    const int w = any_side(&r), h = any_side(&r), c = byte(&r) % (MAX_CH + 1);
    const int op = byte(&r) % 5;
    for (int i = 0; i < MAX_SIDE * MAX_SIDE; i++)
        b->map[i] = values.n ? any_float(&values) : (float)(i % 5) / 4.0f;
    for (int i = 0; i < MAX_VALS; i++)
        b->src[i] = values.n ? any_float(&values) : (float)(i % 7) / 6.0f;
    /* Sizes beyond the buffers are only passed when they exceed the core's
     * limits (refused before the buffer is touched). */
    const int huge = w == (1 << 20) || h == (1 << 20);
    if (fits(w, h, c > 0 ? c : 1) || huge || w <= 0 || h <= 0) {
        switch (op) {
        case 0: fuzz_resize(ctx, &r, b, w, h, c); break;
        case 1: fuzz_crop(ctx, &r, b, w, h, c, chw); break;
        case 2: fuzz_normalize(ctx, &r, b, w, h, c); break;
        case 3: fuzz_bytes(ctx, b, w, h, c); break;
        default: fuzz_render(ctx, &r, b, w, h, c); break;
        }
    }
    decam_free(ctx);
    CHECK(mem.live == 0);
    free(b);
    return 0;
}
