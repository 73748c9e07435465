/* test_mask.c - gene grid -> mask -> perturbed image, and the baselines. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "alloc_sys.h"
#include "mask.h"

static float ROWS[64 * 64]; /* decam__upsample()'s scratch, larger than any test needs */

static void test_upsampling_a_constant_grid_is_constant(void **state) {
    (void)state;
    for (int method = 0; method < 3; method++) {
        upsampler u;
        assert_int_equal(decam__upsampler_init(&u, &ALLOC, 5, 3, 37, 23, (decam_upsample)method),
                         0);
        double grid[15];
        for (int j = 0; j < 15; j++)
            grid[j] = 0.375;
        float out[37 * 23];
        decam__upsample(&u, grid, ROWS, out, 1);
        for (int i = 0; i < 37 * 23; i++)
            assert_float_equal(out[i], 0.375f, 1e-6f);
        decam__upsampler_free(&u, &ALLOC);
    }
}

static void test_one_hot_grid_peaks_in_its_cell(void **state) {
    (void)state;
    /* 4 x 4 grid on 64 x 64: cell (2, 1) covers x 32..47, y 16..31. */
    for (int method = 0; method < 3; method++) {
        upsampler u;
        assert_int_equal(decam__upsampler_init(&u, &ALLOC, 4, 4, 64, 64, (decam_upsample)method),
                         0);
        double grid[16] = {0};
        grid[1 * 4 + 2] = 1.0;
        float out[64 * 64];
        decam__upsample(&u, grid, ROWS, out, 1);
        int best = 0;
        for (int i = 1; i < 64 * 64; i++)
            if (out[i] > out[best]) best = i;
        int bx = best % 64, by = best / 64;
        assert_true(bx >= 32 && bx < 48);
        assert_true(by >= 16 && by < 32);
        assert_float_equal(out[best], 1.0f, 0.07f);        /* bilinear: 0.969^2 at best */
        assert_float_equal(out[63 * 64 + 0], 0.0f, 1e-6f); /* far corner untouched */
        decam__upsampler_free(&u, &ALLOC);
    }
}

/* 2 x 1 grid {0, 1} on 4 x 1 pixels: source positions (x + 0.5) / 2 - 0.5 =
 * -0.25, 0.25, 0.75, 1.25, so bilinear gives 0, 0.25, 0.75, 1 (clamped
 * at the edges) and nearest 0, 0, 1, 1. */
static void test_bilinear_and_nearest_match_hand_computed_values(void **state) {
    (void)state;
    const double grid[2] = {0.0, 1.0};
    const float bilinear[4] = {0.0f, 0.25f, 0.75f, 1.0f}, nearest[4] = {0, 0, 1, 1};
    float out[4];
    upsampler u;
    assert_int_equal(decam__upsampler_init(&u, &ALLOC, 2, 1, 4, 1, DECAM_UPSAMPLE_BILINEAR), 0);
    decam__upsample(&u, grid, ROWS, out, 1);
    for (int i = 0; i < 4; i++)
        assert_float_equal(out[i], bilinear[i], 1e-6f);
    decam__upsampler_free(&u, &ALLOC);
    assert_int_equal(decam__upsampler_init(&u, &ALLOC, 2, 1, 4, 1, DECAM_UPSAMPLE_NEAREST), 0);
    decam__upsample(&u, grid, ROWS, out, 1);
    for (int i = 0; i < 4; i++)
        assert_float_equal(out[i], nearest[i], 1e-6f);
    decam__upsampler_free(&u, &ALLOC);
    /* 2 x 2 grid on 4 x 4: pixel (1, 2) sits at source (0.25, 0.75). */
    const double g2[4] = {0.0, 1.0, 0.5, 0.25};
    float o2[16];
    assert_int_equal(decam__upsampler_init(&u, &ALLOC, 2, 2, 4, 4, DECAM_UPSAMPLE_BILINEAR), 0);
    decam__upsample(&u, g2, ROWS, o2, 1);
    double top = 0.75 * 0.0 + 0.25 * 1.0, bottom = 0.75 * 0.5 + 0.25 * 0.25;
    assert_float_equal(o2[2 * 4 + 1], (float)(0.25 * top + 0.75 * bottom), 1e-6f);
    decam__upsampler_free(&u, &ALLOC);
}

static void test_bicubic_is_clamped_but_unclamped_render_overshoots(void **state) {
    (void)state;
    const double grid[4] = {0.0, 0.0, 1.0, 1.0};
    float out[32];
    upsampler u;
    assert_int_equal(decam__upsampler_init(&u, &ALLOC, 4, 1, 32, 1, DECAM_UPSAMPLE_BICUBIC), 0);
    decam__upsample(&u, grid, ROWS, out, 0);
    float lo = 1, hi = 0;
    for (int i = 0; i < 32; i++) {
        lo = out[i] < lo ? out[i] : lo;
        hi = out[i] > hi ? out[i] : hi;
    }
    assert_true(lo < 0.0f && hi > 1.0f); /* Keys' kernel rings at a step */
    decam__upsample(&u, grid, ROWS, out, 1);
    for (int i = 0; i < 32; i++)
        assert_true(out[i] >= 0.0f && out[i] <= 1.0f);
    decam__upsampler_free(&u, &ALLOC);
}

/* decam__upsample() skips the clamp where it cannot change a value; either way
 * the clamped mask must be, bit for bit, the unclamped one clamped. Grids
 * within [0,1] and beyond it, each method, shifted windows. */
static void test_clamped_upsample_is_the_clamp_of_the_unclamped(void **state) {
    (void)state;
    enum { GW = 5, GH = 4, OW = 41, OH = 29 };
    rng r;
    decam__rng_seed(&r, 7);
    float clamped[OW * OH], raw[OW * OH];
    for (int method = 0; method < 3; method++) {
        upsampler u;
        assert_int_equal(decam__upsampler_init_canvas(&u, &ALLOC, GW, GH, OW, OH, OW + 9, OH + 7,
                                                      (decam_upsample)method),
                         0);
        for (int trial = 0; trial < 20; trial++) {
            double grid[GW * GH];
            const double spread = trial % 2 ? 1.4 : 1.0; /* odd trials leave [0,1] */
            for (int j = 0; j < GW * GH; j++)
                grid[j] = trial % 4 < 2
                              ? (double)(decam__rng_uniform(&r) < 0.5) /* RISE's 0 and 1 */
                              : spread * decam__rng_uniform(&r) - (spread - 1.0) / 2;
            decam__upsampler_shift(&u, trial % 10, trial % 8);
            decam__upsample(&u, grid, ROWS, raw, 0);
            decam__upsample(&u, grid, ROWS, clamped, 1);
            for (int i = 0; i < OW * OH; i++) {
                const float c = raw[i] < 0.0f ? 0.0f : raw[i] > 1.0f ? 1.0f : raw[i];
                assert_memory_equal(&clamped[i], &c, sizeof c);
            }
        }
        decam__upsampler_free(&u, &ALLOC);
    }
}

/* A shifted window of a canvas is, bit for bit, that part of the mask of
 * the whole canvas. */
static void test_a_shifted_window_is_a_crop_of_the_whole_canvas(void **state) {
    (void)state;
    enum { GW = 3, GH = 4, OW = 23, OH = 19, CW = 31, CH = 26 };
    const double grid[GW * GH] = {0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0.5};
    float whole[CW * CH], window[OW * OH];
    for (int method = 0; method < 3; method++) {
        upsampler canvas, u;
        assert_int_equal(
            decam__upsampler_init(&canvas, &ALLOC, GW, GH, CW, CH, (decam_upsample)method), 0);
        assert_int_equal(decam__upsampler_init_canvas(&u, &ALLOC, GW, GH, OW, OH, CW, CH,
                                                      (decam_upsample)method),
                         0);
        decam__upsample(&canvas, grid, ROWS, whole, 1);
        for (int sx = 0; sx <= CW - OW; sx += 4)
            for (int sy = 0; sy <= CH - OH; sy += 3) {
                decam__upsampler_shift(&u, sx, sy);
                decam__upsample(&u, grid, ROWS, window, 1);
                for (int y = 0; y < OH; y++)
                    assert_memory_equal(window + y * OW, whole + (sy + y) * CW + sx,
                                        OW * sizeof *window);
            }
        decam__upsampler_free(&canvas, &ALLOC);
        decam__upsampler_free(&u, &ALLOC);
    }
}

/* Composing from the grid a mask row at a time gives, bit for bit, the
 * image that upsampling the whole mask and then composing gives: for each
 * method, layout, channel count, keep or drop, and a grid within [0,1]
 * (where bilinear RGB rows are made inside the blend) or beyond it. */
static void test_composing_from_the_grid_matches_the_whole_mask(void **state) {
    (void)state;
    enum { GW = 4, GH = 3, OW = 19, OH = 17, MAX_C = 4, N = OW * OH * MAX_C };
    const double grids[2][GW * GH] = {{0, 1, 1, 0, 1, 0, 0, 1, 0.25, 1.0, 0.5, 0.75},
                                      {0, 1, 1, 0, 1, 0, 0, 1, 0.25, 1.5, -0.5, 0.75}};
    static float img[N], base[N], mask[OW * OH], whole[N], rowwise[N];
    float scratch[GH * OW + OW];
    for (int i = 0; i < N; i++) {
        img[i] = (float)(i % 13) * 0.07f;
        base[i] = 0.9f - (float)(i % 4) * 0.2f;
    }
    for (int method = 0; method < 3; method++) {
        upsampler u;
        assert_int_equal(decam__upsampler_init(&u, &ALLOC, GW, GH, OW, OH, (decam_upsample)method),
                         0);
        assert_int_equal(decam__mask_compose_grid_scratch(&u), sizeof scratch / sizeof *scratch);
        for (int g = 0; g < 2; g++) {
            decam__upsample(&u, grids[g], ROWS, mask, 1);
            for (int c = 1; c <= MAX_C; c++)
                for (int layout = 0; layout < 2; layout++)
                    for (int drop = 0; drop < 2; drop++) {
                        image_shape s = {OW, OH, c, (decam_layout)layout};
                        decam__mask_compose(&s, img, base, mask, drop, whole);
                        decam__mask_compose_grid(&s, img, base, &u, grids[g], scratch, drop,
                                                 rowwise);
                        assert_memory_equal(rowwise, whole, (size_t)OW * OH * c * sizeof *whole);
                    }
        }
        decam__upsampler_free(&u, &ALLOC);
    }
}

enum { W = 5, H = 4, C = 3 };

static void fill_image(float *img, float *base) {
    for (int i = 0; i < W * H * C; i++) {
        img[i] = (float)(i % 7) * 0.1f + 0.05f;
        base[i] = -(float)(i % 3);
    }
}

static void test_keep_and_drop_with_all_ones_and_all_zeros(void **state) {
    (void)state;
    float img[W * H * C], base[W * H * C], out[W * H * C], ones[W * H], zeros[W * H];
    fill_image(img, base);
    for (int p = 0; p < W * H; p++)
        ones[p] = 1.0f, zeros[p] = 0.0f;
    image_shape s = {W, H, C, DECAM_LAYOUT_HWC};
    decam__mask_compose(&s, img, base, ones, 0, out);
    for (int i = 0; i < W * H * C; i++)
        assert_true(out[i] == img[i]);
    decam__mask_compose(&s, img, base, zeros, 0, out);
    for (int i = 0; i < W * H * C; i++)
        assert_true(out[i] == base[i]);
    decam__mask_compose(&s, img, base, ones, 1, out);
    for (int i = 0; i < W * H * C; i++)
        assert_true(out[i] == base[i]);
    decam__mask_compose(&s, img, base, zeros, 1, out);
    for (int i = 0; i < W * H * C; i++)
        assert_true(out[i] == img[i]);
}

static void to_chw(const float *hwc, float *chw) {
    for (int p = 0; p < W * H; p++)
        for (int c = 0; c < C; c++)
            chw[c * W * H + p] = hwc[p * C + c];
}

static void test_hwc_and_chw_give_the_same_perturbation(void **state) {
    (void)state;
    float img[W * H * C], base[W * H * C], img_chw[W * H * C], base_chw[W * H * C];
    float out[W * H * C], out_chw[W * H * C], expect[W * H * C], m[W * H];
    fill_image(img, base);
    to_chw(img, img_chw);
    to_chw(base, base_chw);
    for (int p = 0; p < W * H; p++)
        m[p] = (float)p / (W * H);
    image_shape hwc = {W, H, C, DECAM_LAYOUT_HWC}, chw = {W, H, C, DECAM_LAYOUT_CHW};
    for (int drop = 0; drop < 2; drop++) {
        decam__mask_compose(&hwc, img, base, m, drop, out);
        decam__mask_compose(&chw, img_chw, base_chw, m, drop, out_chw);
        to_chw(out, expect);
        for (int i = 0; i < W * H * C; i++)
            assert_true(out_chw[i] == expect[i]);
        /* and the value is the convex mix it should be */
        int p = 7, c = 2;
        float mix = drop ? (1 - m[p]) * img[p * C + c] + m[p] * base[p * C + c]
                         : m[p] * img[p * C + c] + (1 - m[p]) * base[p * C + c];
        assert_float_equal(out[p * C + c], mix, 1e-6f);
    }
}

/* Every value is the convex mix of its own pixel's mask value, exactly,
 * whatever the channel count and however many pixels are left over after
 * the RGB path's groups of four. */
static void test_interleaved_compose_is_exact_for_any_pixel_count(void **state) {
    (void)state;
    enum { NP = 7 * 3, MAX_C = 4 };
    float img[NP * MAX_C], base[NP * MAX_C], out[NP * MAX_C], m[NP];
    for (int i = 0; i < NP * MAX_C; i++) {
        img[i] = (float)(i % 11) * 0.09f + 0.01f;
        base[i] = 0.5f - (float)(i % 5) * 0.07f;
    }
    for (int p = 0; p < NP; p++)
        m[p] = (float)((p * 5) % NP) / (NP - 1);
    for (int c = 2; c <= MAX_C; c++) {
        image_shape s = {7, 3, c, DECAM_LAYOUT_HWC};
        for (int drop = 0; drop < 2; drop++) {
            decam__mask_compose(&s, img, base, m, drop, out);
            const float *from = drop ? img : base, *to = drop ? base : img;
            for (int i = 0; i < NP * c; i++) {
                const float k = m[i / c];
                assert_true(out[i] == k * to[i] + (1.0f - k) * from[i]);
            }
        }
    }
}

static void test_baselines_constant_mean_noise_image_and_blur(void **state) {
    (void)state;
    float img[W * H * C], base[W * H * C], out[W * H * C], img_chw[W * H * C];
    fill_image(img, base);
    image_shape s = {W, H, C, DECAM_LAYOUT_HWC};
    rng r;
    decam__rng_seed(&r, 1);
    baseline_spec spec = {.kind = DECAM_BASELINE_CONSTANT, .value = 0.25};
    assert_int_equal(decam__mask_baseline(&s, img, &spec, &r, &ALLOC, out), 0);
    for (int i = 0; i < W * H * C; i++)
        assert_true(out[i] == 0.25f);

    spec.kind = DECAM_BASELINE_MEAN;
    assert_int_equal(decam__mask_baseline(&s, img, &spec, &r, &ALLOC, out), 0);
    for (int c = 0; c < C; c++) {
        double mean = 0;
        for (int p = 0; p < W * H; p++)
            mean += img[p * C + c];
        mean /= W * H;
        for (int p = 0; p < W * H; p++)
            assert_float_equal(out[p * C + c], (float)mean, 1e-6f);
    }

    spec.kind = DECAM_BASELINE_NOISE;
    assert_int_equal(decam__mask_baseline(&s, img, &spec, &r, &ALLOC, out), 0);
    int distinct = 0;
    for (int i = 0; i < W * H * C; i++) {
        assert_true(out[i] >= 0.05f - 1e-6f && out[i] <= 0.65f + 1e-6f); /* channel range */
        distinct += i > 0 && out[i] != out[i - 1];
    }
    assert_true(distinct > W * H * C / 2);

    /* A caller image given planar is converted to the image's layout. */
    to_chw(img, img_chw);
    spec = (baseline_spec){
        .kind = DECAM_BASELINE_IMAGE, .caller = img_chw, .caller_layout = DECAM_LAYOUT_CHW};
    assert_int_equal(decam__mask_baseline(&s, img, &spec, &r, &ALLOC, out), 0);
    for (int i = 0; i < W * H * C; i++)
        assert_true(out[i] == img[i]);

    /* Blur keeps a constant image constant and smooths a varying one. */
    float flat[W * H * C];
    for (int i = 0; i < W * H * C; i++)
        flat[i] = 0.7f;
    spec = (baseline_spec){.kind = DECAM_BASELINE_BLUR, .sigma = 2.0};
    assert_int_equal(decam__mask_baseline(&s, flat, &spec, &r, &ALLOC, out), 0);
    for (int i = 0; i < W * H * C; i++)
        assert_float_equal(out[i], 0.7f, 1e-5f);
}

/* Blurring per channel must not mix channels, in either layout. */
static void test_blur_baseline_agrees_across_layouts(void **state) {
    (void)state;
    float img[W * H * C], base[W * H * C], img_chw[W * H * C], out[W * H * C], out_chw[W * H * C],
        expect[W * H * C];
    fill_image(img, base);
    to_chw(img, img_chw);
    rng r;
    decam__rng_seed(&r, 1);
    baseline_spec spec = {.kind = DECAM_BASELINE_BLUR, .sigma = 1.5};
    image_shape hwc = {W, H, C, DECAM_LAYOUT_HWC}, chw = {W, H, C, DECAM_LAYOUT_CHW};
    assert_int_equal(decam__mask_baseline(&hwc, img, &spec, &r, &ALLOC, out), 0);
    assert_int_equal(decam__mask_baseline(&chw, img_chw, &spec, &r, &ALLOC, out_chw), 0);
    to_chw(out, expect);
    for (int i = 0; i < W * H * C; i++)
        assert_float_equal(out_chw[i], expect[i], 1e-6f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upsampling_a_constant_grid_is_constant),
        cmocka_unit_test(test_one_hot_grid_peaks_in_its_cell),
        cmocka_unit_test(test_bilinear_and_nearest_match_hand_computed_values),
        cmocka_unit_test(test_bicubic_is_clamped_but_unclamped_render_overshoots),
        cmocka_unit_test(test_clamped_upsample_is_the_clamp_of_the_unclamped),
        cmocka_unit_test(test_a_shifted_window_is_a_crop_of_the_whole_canvas),
        cmocka_unit_test(test_composing_from_the_grid_matches_the_whole_mask),
        cmocka_unit_test(test_keep_and_drop_with_all_ones_and_all_zeros),
        cmocka_unit_test(test_hwc_and_chw_give_the_same_perturbation),
        cmocka_unit_test(test_interleaved_compose_is_exact_for_any_pixel_count),
        cmocka_unit_test(test_baselines_constant_mean_noise_image_and_blur),
        cmocka_unit_test(test_blur_baseline_agrees_across_layouts),
    };
    return cmocka_run_group_tests_name("mask", tests, NULL, NULL);
}
