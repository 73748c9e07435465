/*
 * render.c - drawing saliency maps: colormaps, overlay on the image, the
 * outline of the most salient region, and the image | map | overlay panel.
 *
 * Everything works on bytes after one lookup table per call, so a rendered
 * image is bit-identical on every platform and compiler (no float rounding
 * left to chance); the golden checksum in tests/test_render.c relies on it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "io.h"
#include "params.h"

/* matplotlib's jet (lib/matplotlib/_cm.py, _jet_data): (x, value) points of
 * a piecewise-linear function per channel. */
typedef struct segment_point {
    double x, y;
} segment_point;

static const segment_point JET_RED[] = {{0.00, 0}, {0.35, 0}, {0.66, 1}, {0.89, 1}, {1.00, 0.5}};
static const segment_point JET_GREEN[] = {{0.000, 0}, {0.125, 0}, {0.375, 1},
                                          {0.640, 1}, {0.910, 0}, {1.000, 0}};
static const segment_point JET_BLUE[] = {{0.00, 0.5}, {0.11, 1}, {0.34, 1}, {0.65, 0}, {1.00, 0}};

#define COUNT(a) (int)(sizeof(a) / sizeof(a)[0])

/* Entry i of the 256-entry table sampled from segment points, as
 * matplotlib's _create_lookup_table() samples them: at x = i / 255. */
static float segment_entry(const segment_point *p, int n, int i) {
    if (i <= 0) return (float)p[0].y;
    if (i >= 255) return (float)p[n - 1].y;
    const double x = i; /* both sides scaled by 255, as matplotlib does */
    int k = 1;
    while (k < n - 1 && p[k].x * 255.0 < x)
        k++;
    const double x0 = p[k - 1].x * 255.0, x1 = p[k].x * 255.0;
    double v = p[k - 1].y + (x - x0) / (x1 - x0) * (p[k].y - p[k - 1].y);
    return (float)(v < 0 ? 0 : v > 1 ? 1 : v);
}

static void colormap_entry(decam_colormap colormap, int i, float rgb[3]) {
    const float(*table)[3] = NULL;
    switch (colormap) {
    case DECAM_COLORMAP_JET:
        rgb[0] = segment_entry(JET_RED, COUNT(JET_RED), i);
        rgb[1] = segment_entry(JET_GREEN, COUNT(JET_GREEN), i);
        rgb[2] = segment_entry(JET_BLUE, COUNT(JET_BLUE), i);
        return;
    case DECAM_COLORMAP_GRAY: rgb[0] = rgb[1] = rgb[2] = (float)i / 255.0f; return;
    case DECAM_COLORMAP_TURBO: table = decam__io_cmap_turbo; break;
    case DECAM_COLORMAP_VIRIDIS: table = decam__io_cmap_viridis; break;
    case DECAM_COLORMAP_INFERNO: table = decam__io_cmap_inferno; break;
    }
    memcpy(rgb, table[i], 3 * sizeof(float));
}

/* The table entry a map value picks, as matplotlib picks it. */
static int colormap_index(float v) {
    if (!(v > 0.0f)) return 0; /* NaN too */
    if (v >= 1.0f) return 255;
    int i = (int)(v * 256.0f);
    return i > 255 ? 255 : i;
}

typedef uint8_t lut_bytes[256][3];

static void colormap_lut(decam_colormap colormap, lut_bytes lut) {
    for (int i = 0; i < 256; i++) {
        float rgb[3];
        colormap_entry(colormap, i, rgb);
        for (int c = 0; c < 3; c++)
            lut[i][c] = decam__io_to_byte(rgb[c]);
    }
}

static decam_status check_colormap(decam_ctx *ctx, const char *who, decam_colormap colormap) {
    FAIL_IF((int)colormap < DECAM_COLORMAP_JET || (int)colormap > DECAM_COLORMAP_GRAY, ctx,
            DECAM_ERR_INVALID_ARGUMENT, "%s: colormap %d is not a decam_colormap (0..4)", who,
            (int)colormap);
    return DECAM_OK;
}

static decam_status colormap_value_body(decam_ctx *ctx, decam_colormap colormap, float v,
                                        float rgb[3]) {
    FAIL_IF(!rgb, ctx, DECAM_ERR_INVALID_ARGUMENT, "decam_colormap_value: rgb is NULL");
    FORWARD_IF_ERROR(check_colormap(ctx, "decam_colormap_value", colormap));
    colormap_entry(colormap, colormap_index(v), rgb);
    return DECAM_OK;
}

decam_status decam_colormap_value(decam_ctx *ctx, decam_colormap colormap, float v, float rgb[3]) {
    GUARDED(ctx, "decam_colormap_value", 0, colormap_value_body(ctx, colormap, v, rgb));
}

/* ---------------------------------------------------------------------
 * Panes: image, coloured map, overlay
 * --------------------------------------------------------------------- */

/* What draw_panes() draws. Any pane pointer may be NULL; each pane is
 * width x height RGB bytes whose rows are `stride` bytes apart. */
typedef struct panes {
    const float *image; /* context layout, `channels` 1 or 3; NULL: none */
    int channels;
    io_strides image_strides;
    const float *map;
    int width, height;
    const uint8_t (*lut)[3];
    unsigned alpha; /* 0..255 */
    uint8_t *image_pane, *map_pane, *overlay_pane;
    size_t stride;
} panes;

static void draw_panes(const panes *p) {
    const io_strides s = p->image_strides;
    for (int y = 0; y < p->height; y++)
        for (int x = 0; x < p->width; x++) {
            const size_t at = (size_t)y * p->stride + 3 * (size_t)x;
            const uint8_t *colour =
                p->lut[colormap_index(p->map[(size_t)y * (size_t)p->width + (size_t)x])];
            uint8_t pixel[3] = {0, 0, 0};
            if (p->image) {
                const float *v = p->image + (size_t)y * s.row + (size_t)x * s.px;
                for (int c = 0; c < 3; c++)
                    pixel[c] = decam__io_to_byte(v[p->channels == 3 ? (size_t)c * s.chan : 0]);
            }
            for (int c = 0; c < 3; c++) {
                if (p->image_pane) p->image_pane[at + (size_t)c] = pixel[c];
                if (p->map_pane) p->map_pane[at + (size_t)c] = colour[c];
                if (p->overlay_pane)
                    p->overlay_pane[at + (size_t)c] =
                        (uint8_t)((pixel[c] * (255u - p->alpha) + colour[c] * p->alpha + 127u) /
                                  255u);
            }
        }
}

static decam_status check_map(decam_ctx *ctx, const char *who, const float *map, int width,
                              int height, const void *out) {
    FAIL_IF(!map || !out, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: a pointer argument is NULL", who);
    size_t n;
    return decam__params_check_image_size(ctx, who, width, height, 1, &n);
}

static decam_status check_image(decam_ctx *ctx, const char *who, const float *image, int width,
                                int height, int channels, float alpha) {
    FAIL_IF(!image, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: image is NULL", who);
    FAIL_IF(channels != 1 && channels != 3, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: channels is %d, must be 1 or 3", who, channels);
    FAIL_IF(!(alpha >= 0.0f && alpha <= 1.0f), ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: alpha = %g is outside [0, 1]", who, (double)alpha);
    size_t n;
    return decam__params_check_image_size(ctx, who, width, height, channels, &n);
}

static decam_status render_colormap_body(decam_ctx *ctx, const float *map, int width, int height,
                                         decam_colormap colormap, uint8_t *rgb) {
    static const char who[] = "decam_render_colormap";
    FORWARD_IF_ERROR(check_map(ctx, who, map, width, height, rgb));
    FORWARD_IF_ERROR(check_colormap(ctx, who, colormap));
    lut_bytes lut;
    colormap_lut(colormap, lut);
    panes p;
    memset(&p, 0, sizeof p);
    p.map = map;
    p.width = width;
    p.height = height;
    p.lut = (const uint8_t(*)[3])lut;
    p.map_pane = rgb;
    p.stride = 3 * (size_t)width;
    draw_panes(&p);
    return DECAM_OK;
}

decam_status decam_render_colormap(decam_ctx *ctx, const float *map, int width, int height,
                                   decam_colormap colormap, uint8_t *rgb) {
    GUARDED(ctx, "decam_render_colormap", 0,
            render_colormap_body(ctx, map, width, height, colormap, rgb));
}

/* The panes of an overlay or a panel of `image` and `map`, before the
 * caller says where each is drawn. */
static panes panes_of(const decam_ctx *ctx, const float *image, int width, int height, int channels,
                      const float *map, lut_bytes lut, float alpha) {
    panes p;
    memset(&p, 0, sizeof p);
    p.image = image;
    p.channels = channels;
    p.image_strides = io_layout_strides(io_layout(ctx), width, height, channels);
    p.map = map;
    p.width = width;
    p.height = height;
    p.lut = (const uint8_t(*)[3])lut;
    p.alpha = decam__io_to_byte(alpha);
    return p;
}

static decam_status render_overlay_body(decam_ctx *ctx, const float *image, int width, int height,
                                        int channels, const float *map, decam_colormap colormap,
                                        float alpha, uint8_t *rgb) {
    static const char who[] = "decam_render_overlay";
    FORWARD_IF_ERROR(check_map(ctx, who, map, width, height, rgb));
    FORWARD_IF_ERROR(check_image(ctx, who, image, width, height, channels, alpha));
    FORWARD_IF_ERROR(check_colormap(ctx, who, colormap));
    lut_bytes lut;
    colormap_lut(colormap, lut);
    panes p = panes_of(ctx, image, width, height, channels, map, lut, alpha);
    p.overlay_pane = rgb;
    p.stride = 3 * (size_t)width;
    draw_panes(&p);
    return DECAM_OK;
}

decam_status decam_render_overlay(decam_ctx *ctx, const float *image, int width, int height,
                                  int channels, const float *map, decam_colormap colormap,
                                  float alpha, uint8_t *rgb) {
    GUARDED(ctx, "decam_render_overlay", 0,
            render_overlay_body(ctx, image, width, height, channels, map, colormap, alpha, rgb));
}

/* ---------------------------------------------------------------------
 * Contour of the top region
 * --------------------------------------------------------------------- */

static int compare_floats(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static float map_value(const float *map, size_t i) { return isnan(map[i]) ? 0.0f : map[i]; }

/* The k-th largest map value, k = ceil(top_fraction * n). */
static decam_status top_threshold(decam_ctx *ctx, const char *who, const float *map, size_t n,
                                  float top_fraction, float *threshold) {
    float *sorted = decam__ctx_alloc(ctx, n, sizeof *sorted);
    FAIL_IF(!sorted, ctx, DECAM_ERR_OUT_OF_MEMORY, "%s: out of memory (%zu floats)", who, n);
    for (size_t i = 0; i < n; i++)
        sorted[i] = map_value(map, i);
    qsort(sorted, n, sizeof *sorted, compare_floats);
    /* The float top_fraction is taken to 7 digits, so that 0.1 of 100
     * pixels is 10, not 11. */
    double k = ceil((double)top_fraction * (double)n * (1.0 - 1e-7));
    size_t top = k < 1 ? 1 : k > (double)n ? n : (size_t)k;
    *threshold = sorted[n - top];
    decam__ctx_dealloc(ctx, sorted);
    return DECAM_OK;
}

/* Paints the outline of the region map >= t: region pixels with a
 * 4-neighbour outside it. */
static void draw_outline(const float *map, int width, int height, float t, const uint8_t colour[3],
                         uint8_t *rgb, size_t stride) {
    const size_t w = (size_t)width, h = (size_t)height;
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++) {
            const size_t i = y * w + x;
            if (map_value(map, i) < t) continue;
            int edge =
                (x > 0 && map_value(map, i - 1) < t) || (x + 1 < w && map_value(map, i + 1) < t) ||
                (y > 0 && map_value(map, i - w) < t) || (y + 1 < h && map_value(map, i + w) < t);
            if (edge) memcpy(rgb + y * stride + 3 * x, colour, 3);
        }
}

static decam_status check_top(decam_ctx *ctx, const char *who, float top_fraction) {
    FAIL_IF(!(top_fraction > 0.0f && top_fraction <= 1.0f), ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: top_fraction = %g is outside (0, 1]", who, (double)top_fraction);
    return DECAM_OK;
}

static decam_status render_contour_body(decam_ctx *ctx, const float *map, int width, int height,
                                        float top_fraction, const uint8_t colour[3], uint8_t *rgb) {
    static const char who[] = "decam_render_contour";
    FORWARD_IF_ERROR(check_map(ctx, who, map, width, height, rgb));
    FAIL_IF(!colour, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: colour is NULL", who);
    FORWARD_IF_ERROR(check_top(ctx, who, top_fraction));
    float t;
    FORWARD_IF_ERROR(
        top_threshold(ctx, who, map, (size_t)width * (size_t)height, top_fraction, &t));
    draw_outline(map, width, height, t, colour, rgb, 3 * (size_t)width);
    return DECAM_OK;
}

decam_status decam_render_contour(decam_ctx *ctx, const float *map, int width, int height,
                                  float top_fraction, const uint8_t colour[3], uint8_t *rgb) {
    GUARDED(ctx, "decam_render_contour", 0,
            render_contour_body(ctx, map, width, height, top_fraction, colour, rgb));
}

static decam_status render_panel_body(decam_ctx *ctx, const float *image, int width, int height,
                                      int channels, const float *map, decam_colormap colormap,
                                      float alpha, float top_fraction, uint8_t *rgb) {
    static const char who[] = "decam_render_panel";
    static const uint8_t white[3] = {255, 255, 255};
    FORWARD_IF_ERROR(check_map(ctx, who, map, width, height, rgb));
    FORWARD_IF_ERROR(check_image(ctx, who, image, width, height, channels, alpha));
    FORWARD_IF_ERROR(check_colormap(ctx, who, colormap));
    if (top_fraction != 0.0f) FORWARD_IF_ERROR(check_top(ctx, who, top_fraction));
    FAIL_IF(width > PARAMS_MAX_SIDE / 3, ctx, DECAM_ERR_TOO_LARGE,
            "%s: a panel 3 x %d wide exceeds the largest side, %d", who, width, PARAMS_MAX_SIDE);
    float t = 0.0f;
    if (top_fraction > 0.0f)
        FORWARD_IF_ERROR(
            top_threshold(ctx, who, map, (size_t)width * (size_t)height, top_fraction, &t));
    lut_bytes lut;
    colormap_lut(colormap, lut);
    const size_t pane = 3 * (size_t)width;
    panes p = panes_of(ctx, image, width, height, channels, map, lut, alpha);
    p.image_pane = rgb;
    p.map_pane = rgb + pane;
    p.overlay_pane = rgb + 2 * pane;
    p.stride = 3 * pane;
    draw_panes(&p);
    if (top_fraction > 0.0f) draw_outline(map, width, height, t, white, p.overlay_pane, p.stride);
    return DECAM_OK;
}

decam_status decam_render_panel(decam_ctx *ctx, const float *image, int width, int height,
                                int channels, const float *map, decam_colormap colormap,
                                float alpha, float top_fraction, uint8_t *rgb) {
    GUARDED(ctx, "decam_render_panel", 0,
            render_panel_body(ctx, image, width, height, channels, map, colormap, alpha,
                              top_fraction, rgb));
}
