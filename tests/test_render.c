/* test_render.c - drawing saliency maps (lib/render.c): colormap values
 * against the published tables, matplotlib's indexing, overlay, contour,
 * the side-by-side panel, and a golden checksum of a rendered panel. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decam_io.h"

static int setup(void **state) {
    *state = decam_create();
    return *state ? 0 : -1;
}

static int teardown(void **state) {
    decam_free(*state);
    return 0;
}

/* The value that picks table entry i. */
static float entry(int i) { return ((float)i + 0.5f) / 256.0f; }

typedef struct reference {
    decam_colormap colormap;
    int index;
    double rgb[3];
} reference;

/* viridis, inferno: matplotlib 3.6 lib/matplotlib/_cm_listed.py; turbo:
 * Google's turbo_colormap_data (as in matplotlib's _turbo_data); jet:
 * matplotlib's _jet_data through its _create_lookup_table(256, ...), and
 * gray i / 255. Numbers as published. */
static const reference REFERENCES[] = {
    {DECAM_COLORMAP_VIRIDIS, 0, {0.267004, 0.004874, 0.329415}},
    {DECAM_COLORMAP_VIRIDIS, 64, {0.229739, 0.322361, 0.545706}},
    {DECAM_COLORMAP_VIRIDIS, 128, {0.127568, 0.566949, 0.550556}},
    {DECAM_COLORMAP_VIRIDIS, 200, {0.440137, 0.811138, 0.340967}},
    {DECAM_COLORMAP_VIRIDIS, 255, {0.993248, 0.906157, 0.143936}},
    {DECAM_COLORMAP_INFERNO, 0, {0.001462, 0.000466, 0.013866}},
    {DECAM_COLORMAP_INFERNO, 64, {0.341500, 0.062325, 0.429425}},
    {DECAM_COLORMAP_INFERNO, 128, {0.735683, 0.215906, 0.330245}},
    {DECAM_COLORMAP_INFERNO, 200, {0.985952, 0.615750, 0.025592}},
    {DECAM_COLORMAP_INFERNO, 255, {0.988362, 0.998364, 0.644924}},
    {DECAM_COLORMAP_TURBO, 0, {0.18995, 0.07176, 0.23217}},
    {DECAM_COLORMAP_TURBO, 43, {0.27273, 0.53040, 0.98461}},
    {DECAM_COLORMAP_TURBO, 64, {0.15844, 0.73551, 0.92305}},
    {DECAM_COLORMAP_TURBO, 128, {0.64362, 0.98999, 0.23356}},
    {DECAM_COLORMAP_TURBO, 200, {0.95801, 0.39958, 0.08831}},
    {DECAM_COLORMAP_TURBO, 255, {0.47960, 0.01583, 0.01055}},
    {DECAM_COLORMAP_JET, 0, {0, 0, 0.5}},
    {DECAM_COLORMAP_JET, 32, {0, 0.00196078431372549, 1}},
    {DECAM_COLORMAP_JET, 64, {0, 0.503921568627451, 1}},
    {DECAM_COLORMAP_JET, 96, {0.08538899430740036, 1, 0.8823529411764706}},
    {DECAM_COLORMAP_JET, 128, {0.4901960784313725, 1, 0.4775458570524984}},
    {DECAM_COLORMAP_JET, 160, {0.8950031625553446, 1, 0.07273877292852626}},
    {DECAM_COLORMAP_JET, 200, {1, 0.46550472040668145, 0}},
    {DECAM_COLORMAP_JET, 255, {0.5, 0, 0}},
    {DECAM_COLORMAP_GRAY, 0, {0, 0, 0}},
    {DECAM_COLORMAP_GRAY, 128, {128 / 255.0, 128 / 255.0, 128 / 255.0}},
    {DECAM_COLORMAP_GRAY, 255, {1, 1, 1}},
};

static void test_colormap_values_match_the_published_tables(void **state) {
    decam_ctx *ctx = *state;
    for (size_t i = 0; i < sizeof REFERENCES / sizeof REFERENCES[0]; i++) {
        const reference *r = &REFERENCES[i];
        float rgb[3];
        assert_int_equal(decam_colormap_value(ctx, r->colormap, entry(r->index), rgb), DECAM_OK);
        for (int c = 0; c < 3; c++)
            if (fabs(rgb[c] - r->rgb[c]) > 1e-6)
                fail_msg("colormap %d entry %d channel %d: %.7f, published %.7f", r->colormap,
                         r->index, c, rgb[c], r->rgb[c]);
    }
}

static void test_colormap_indexing_follows_matplotlib(void **state) {
    decam_ctx *ctx = *state;
    const struct {
        float v;
        int index;
    } cases[] = {{0.0f, 0},  {1.0f, 255},     {0.999f, 255},       {0.5f, 128},
                 {-3.0f, 0}, {2.0f, 255},     {1.0f / 256, 1},     {0.99f / 256, 0},
                 {NAN, 0},   {INFINITY, 255}, {255.0f / 256, 255}, {0.25f, 64}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float got[3], want[3];
        assert_int_equal(decam_colormap_value(ctx, DECAM_COLORMAP_GRAY, cases[i].v, got), DECAM_OK);
        assert_int_equal(
            decam_colormap_value(ctx, DECAM_COLORMAP_GRAY, entry(cases[i].index), want), DECAM_OK);
        if (got[0] != want[0]) fail_msg("v = %g should pick entry %d", cases[i].v, cases[i].index);
    }
}

static void test_render_colormap_rounds_table_entries_to_bytes(void **state) {
    decam_ctx *ctx = *state;
    float map[256];
    uint8_t rgb[256 * 3];
    for (int i = 0; i < 256; i++)
        map[i] = entry(i);
    for (int cm = DECAM_COLORMAP_JET; cm <= DECAM_COLORMAP_GRAY; cm++) {
        assert_int_equal(decam_render_colormap(ctx, map, 16, 16, (decam_colormap)cm, rgb),
                         DECAM_OK);
        for (int i = 0; i < 256; i++) {
            float v[3];
            decam_colormap_value(ctx, (decam_colormap)cm, map[i], v);
            for (int c = 0; c < 3; c++)
                assert_int_equal(rgb[3 * i + c], (int)floor(v[c] * 255.0 + 0.5));
        }
    }
}

/* A deterministic test picture and a blob-shaped map, exact in floats. */
static void synthetic(int w, int h, decam_layout layout, float *image, float *map) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const float v[3] = {(float)(x * 4 % 256) / 255.0f, (float)(y * 5 % 256) / 255.0f,
                                (float)((x / 8 + y / 8) % 2 * 160 + 40) / 255.0f};
            for (int c = 0; c < 3; c++) {
                size_t i = layout == DECAM_LAYOUT_HWC ? ((size_t)y * w + x) * 3 + c
                                                      : ((size_t)c * h + y) * w + x;
                image[i] = v[c];
            }
            int dx = x - w / 3, dy = y - h / 2, r2 = (w / 4) * (w / 4);
            int d2 = dx * dx + dy * dy;
            map[y * w + x] = d2 >= r2 ? 0.0f : (float)(r2 - d2) / (float)r2;
        }
}

static uint64_t fnv1a64(const uint8_t *p, size_t n) {
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211u;
    }
    return h;
}

/* FNV-1a of the panel of synthetic() in turbo, alpha 0.5, top-10% outline:
 * rendered once, looked at (a round blob over a checkered gradient, its
 * outline a white circle), and stored. Run with DECAM_PRINT_GOLDEN=1 to
 * print it. Any change to the tables, indexing, rounding, blending or
 * outline changes it. */
#define GOLDEN_PANEL 0x2647fc62c427d83cull

static void test_panel_golden_checksum_is_stable(void **state) {
    decam_ctx *ctx = *state;
    enum { W = 64, H = 48 };
    static float image[W * H * 3], map[W * H];
    static uint8_t panel[2][3 * W * H * 3];
    for (int layout = 0; layout < 2; layout++) {
        decam_set_image_layout(ctx, (decam_layout)layout);
        synthetic(W, H, (decam_layout)layout, image, map);
        assert_int_equal(decam_render_panel(ctx, image, W, H, 3, map, DECAM_COLORMAP_TURBO, 0.5f,
                                            0.1f, panel[layout]),
                         DECAM_OK);
    }
    assert_memory_equal(panel[0], panel[1], sizeof panel[0]); /* layout does not matter */
    uint64_t sum = fnv1a64(panel[0], sizeof panel[0]);
    if (getenv("DECAM_PRINT_GOLDEN"))
        print_message("golden panel: 0x%016llxull\n", (unsigned long long)sum);
    assert_true(sum == GOLDEN_PANEL);
}

static void test_panel_is_image_map_overlay_side_by_side(void **state) {
    decam_ctx *ctx = *state;
    enum { W = 20, H = 10 };
    float image[W * H], map[W * H];
    for (int i = 0; i < W * H; i++) {
        image[i] = (float)(i % 17) / 16.0f;
        map[i] = (float)(i % 23) / 22.0f;
    }
    uint8_t panel[3 * W * H * 3], col[W * H * 3], ovl[W * H * 3];
    assert_int_equal(
        decam_render_panel(ctx, image, W, H, 1, map, DECAM_COLORMAP_VIRIDIS, 0.3f, 0.0f, panel),
        DECAM_OK);
    assert_int_equal(decam_render_colormap(ctx, map, W, H, DECAM_COLORMAP_VIRIDIS, col), DECAM_OK);
    assert_int_equal(
        decam_render_overlay(ctx, image, W, H, 1, map, DECAM_COLORMAP_VIRIDIS, 0.3f, ovl),
        DECAM_OK);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) {
                const uint8_t *row = panel + (size_t)y * 9 * W;
                assert_int_equal(row[3 * x + c], (int)floor(image[y * W + x] * 255.0 + 0.5));
                assert_int_equal(row[3 * W + 3 * x + c], col[(y * W + x) * 3 + c]);
                assert_int_equal(row[6 * W + 3 * x + c], ovl[(y * W + x) * 3 + c]);
            }
}

static void test_overlay_blends_image_and_colour_on_bytes(void **state) {
    decam_ctx *ctx = *state;
    enum { W = 8, H = 4 };
    float image[W * H * 3], map[W * H];
    for (int i = 0; i < W * H * 3; i++)
        image[i] = (float)(i * 13 % 256) / 255.0f;
    for (int i = 0; i < W * H; i++)
        map[i] = (float)i / (W * H);
    uint8_t col[W * H * 3], out[W * H * 3], img[W * H * 3];
    decam_set_image_layout(ctx, DECAM_LAYOUT_HWC);
    assert_int_equal(decam_image_to_bytes(ctx, image, W, H, 3, img), DECAM_OK);
    assert_int_equal(decam_render_colormap(ctx, map, W, H, DECAM_COLORMAP_JET, col), DECAM_OK);
    assert_int_equal(decam_render_overlay(ctx, image, W, H, 3, map, DECAM_COLORMAP_JET, 0.0f, out),
                     DECAM_OK);
    assert_memory_equal(out, img, sizeof out);
    assert_int_equal(decam_render_overlay(ctx, image, W, H, 3, map, DECAM_COLORMAP_JET, 1.0f, out),
                     DECAM_OK);
    assert_memory_equal(out, col, sizeof out);
    assert_int_equal(decam_render_overlay(ctx, image, W, H, 3, map, DECAM_COLORMAP_JET, 0.4f, out),
                     DECAM_OK);
    for (int i = 0; i < W * H * 3; i++) {
        double want = 0.6 * img[i] + 0.4 * col[i];
        assert_true(fabs(out[i] - want) <= 1.0);
    }
}

static void test_contour_outlines_the_top_region(void **state) {
    decam_ctx *ctx = *state;
    enum { W = 20, H = 20 };
    float map[W * H];
    uint8_t rgb[W * H * 3];
    for (int i = 0; i < W * H; i++)
        map[i] = (i % 3 == 0) ? NAN : 0.1f; /* NaN counts as 0 */
    for (int y = 7; y < 13; y++)
        for (int x = 5; x < 11; x++)
            map[y * W + x] = 0.9f;
    const uint8_t red[3] = {255, 0, 0};
    memset(rgb, 0, sizeof rgb);
    assert_int_equal(decam_render_contour(ctx, map, W, H, 36.0f / 400.0f, red, rgb), DECAM_OK);
    int painted = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int on = rgb[(y * W + x) * 3] == 255;
            int border =
                y >= 7 && y < 13 && x >= 5 && x < 11 && (y == 7 || y == 12 || x == 5 || x == 10);
            assert_int_equal(on, border);
            painted += on;
        }
    assert_int_equal(painted, 20);
    /* The whole map has no outline. */
    memset(rgb, 0, sizeof rgb);
    assert_int_equal(decam_render_contour(ctx, map, W, H, 1.0f, red, rgb), DECAM_OK);
    for (size_t i = 0; i < sizeof rgb; i++)
        assert_int_equal(rgb[i], 0);
    /* 0.1 of 100 pixels is 10 pixels, not 11. */
    float ramp[100];
    uint8_t small[100 * 3];
    for (int i = 0; i < 100; i++)
        ramp[i] = (float)i;
    memset(small, 0, sizeof small);
    assert_int_equal(decam_render_contour(ctx, ramp, 100, 1, 0.1f, red, small), DECAM_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(small[3 * i] == 255, i == 90);
}

static void test_panel_survives_a_png_round_trip(void **state) {
    decam_ctx *ctx = *state;
    enum { W = 30, H = 20 };
    static float image[W * H * 3], map[W * H];
    static uint8_t panel[3 * W * H * 3], bytes[3 * W * H * 3];
    decam_set_image_layout(ctx, DECAM_LAYOUT_CHW);
    synthetic(W, H, DECAM_LAYOUT_CHW, image, map);
    assert_int_equal(
        decam_render_panel(ctx, image, W, H, 3, map, DECAM_COLORMAP_INFERNO, 0.6f, 0.2f, panel),
        DECAM_OK);
    uint8_t *png;
    size_t size;
    assert_int_equal(decam_image_save_memory(ctx, DECAM_IMAGE_PNG, panel, 3 * W, H, 3, &png, &size),
                     DECAM_OK);
    float *loaded;
    int lw, lh;
    assert_int_equal(decam_image_load_memory(ctx, png, size, 3, &loaded, &lw, &lh), DECAM_OK);
    assert_int_equal(lw, 3 * W);
    assert_int_equal(decam_image_to_bytes(ctx, loaded, lw, lh, 3, bytes), DECAM_OK);
    assert_memory_equal(bytes, panel, sizeof panel);
    decam_image_free(ctx, loaded);
    decam_image_free(ctx, png);
}

static void test_rendering_refuses_bad_arguments(void **state) {
    decam_ctx *ctx = *state;
    float map[4] = {0}, image[12] = {0}, rgb3[3];
    uint8_t out[36];
    const uint8_t white[3] = {255, 255, 255};
    assert_int_equal(decam_colormap_value(ctx, (decam_colormap)5, 0.5f, rgb3),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(ctx), "colormap"));
    assert_int_equal(decam_colormap_value(ctx, DECAM_COLORMAP_JET, 0.5f, NULL),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_colormap_value(NULL, DECAM_COLORMAP_JET, 0.5f, rgb3),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_render_colormap(ctx, map, 2, 2, (decam_colormap)-1, out),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_render_colormap(ctx, map, 0, 2, DECAM_COLORMAP_JET, out),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_render_colormap(ctx, NULL, 2, 2, DECAM_COLORMAP_JET, out),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_render_overlay(ctx, image, 2, 2, 2, map, DECAM_COLORMAP_JET, 0.5f, out),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_render_overlay(ctx, image, 2, 2, 3, map, DECAM_COLORMAP_JET, 1.5f, out),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(ctx), "alpha"));
    assert_int_equal(decam_render_overlay(ctx, image, 2, 2, 3, map, DECAM_COLORMAP_JET, NAN, out),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_render_contour(ctx, map, 2, 2, 0.0f, white, out),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_render_contour(ctx, map, 2, 2, 1.01f, white, out),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_render_contour(ctx, map, 2, 2, 0.5f, NULL, out),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(
        decam_render_panel(ctx, image, 2, 2, 3, map, DECAM_COLORMAP_JET, 0.5f, -0.5f, out),
        DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(
        decam_render_panel(ctx, image, 30000, 1, 3, map, DECAM_COLORMAP_JET, 0.5f, 0.0f, out),
        DECAM_ERR_TOO_LARGE);
    assert_int_equal(
        decam_render_panel(ctx, image, 70000, 1, 3, map, DECAM_COLORMAP_JET, 0.5f, 0.0f, out),
        DECAM_ERR_TOO_LARGE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_colormap_values_match_the_published_tables, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_colormap_indexing_follows_matplotlib, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_colormap_rounds_table_entries_to_bytes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_panel_golden_checksum_is_stable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_panel_is_image_map_overlay_side_by_side, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_overlay_blends_image_and_colour_on_bytes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_contour_outlines_the_top_region, setup, teardown),
        cmocka_unit_test_setup_teardown(test_panel_survives_a_png_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rendering_refuses_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
