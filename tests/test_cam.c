/* test_cam.c - assembling grid maps and rendering the full-resolution map. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "alloc_sys.h"
#include "cam.h"
#include "mask.h"

/* Score = gene 1: the accumulated contrast must single out gene 1. */
static void test_all_evaluated_contrast_finds_the_gene_the_score_reads(void **state) {
    (void)state;
    cam_accum acc;
    assert_int_equal(cam_accum_init(&acc, &ALLOC, 3, 0), 0);
    rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < 2000; i++) {
        double g[3] = {rng_uniform(&r), rng_uniform(&r), rng_uniform(&r)};
        cam_accum_add(&acc, g, 2.0 * g[1]);
    }
    double grid[3];
    cam_contrast(&acc, grid);
    assert_true(grid[1] > 0.5);
    assert_true(fabs(grid[0]) < 0.1 && fabs(grid[2]) < 0.1);
    cam_accum_free(&acc, &ALLOC);
}

/* Binary masks: per gene, mean score when kept minus mean when removed. */
static void test_all_evaluated_contrast_equals_hand_computed_means(void **state) {
    (void)state;
    cam_accum acc;
    assert_int_equal(cam_accum_init(&acc, &ALLOC, 2, 0), 0);
    const double g[4][2] = {{1, 0}, {1, 1}, {0, 1}, {0, 0}};
    const double w[4] = {3, 5, 1, 0};
    for (int i = 0; i < 4; i++)
        cam_accum_add(&acc, g[i], w[i]);
    double grid[2];
    cam_contrast(&acc, grid);
    assert_float_equal(grid[0], (3 + 5) / 2.0 - (1 + 0) / 2.0, 1e-12);
    assert_float_equal(grid[1], (5 + 1) / 2.0 - (3 + 0) / 2.0, 1e-12);
    cam_accum_free(&acc, &ALLOC);
}

/* Genes 0 and 1 move together (as DE's selection makes them), but the
 * score reads only gene 1 (and gene 2, negatively): the per-gene contrast
 * credits gene 0 too, the regression tells them apart. */
static void test_regression_separates_genes_that_move_together(void **state) {
    (void)state;
    cam_accum acc;
    assert_int_equal(cam_accum_init(&acc, &ALLOC, 3, 1), 0);
    rng r;
    rng_seed(&r, 9);
    for (int i = 0; i < 3000; i++) {
        double shared = rng_uniform(&r);
        double g[3] = {0.8 * shared + 0.2 * rng_uniform(&r), 0.8 * shared + 0.2 * rng_uniform(&r),
                       rng_uniform(&r)};
        cam_accum_add(&acc, g, 5.0 + 2.0 * g[1] - 1.0 * g[2]);
    }
    double contrast[3], fit[3];
    cam_contrast(&acc, contrast);
    printf("# contrast %.3f %.3f %.3f\n", contrast[0], contrast[1], contrast[2]);
    assert_true(contrast[0] > 0.5 * contrast[1]); /* confounded: gene 0 gets credit */
    assert_int_equal(cam_grid_from_regression(&acc, 1e-6, &ALLOC, fit), 0);
    assert_float_equal(fit[0], 0.0, 1e-3); /* the ridge term biases it slightly */
    assert_float_equal(fit[1], 2.0, 1e-3);
    assert_float_equal(fit[2], -1.0, 1e-3);
    cam_accum_free(&acc, &ALLOC);
}

static void test_gene_that_never_varied_gets_zero(void **state) {
    (void)state;
    cam_accum acc;
    assert_int_equal(cam_accum_init(&acc, &ALLOC, 2, 0), 0);
    const double g[2] = {1.0, 0.5};
    cam_accum_add(&acc, g, 1.0);
    cam_accum_add(&acc, g, 3.0);
    double grid[2];
    cam_contrast(&acc, grid);
    assert_true(grid[0] == 0.0); /* always kept: no contrast to measure */
    assert_float_equal(grid[1], 0.0, 1e-12);
    cam_accum_free(&acc, &ALLOC);
}

static void test_population_weights_by_fitness_above_the_worst(void **state) {
    (void)state;
    const double pop[3 * 2] = {1, 0, 0, 1, 0.5, 0.5};
    const double fit[3] = {3.0, 1.0, 2.0}; /* weights 2, 0, 1 */
    double grid[2];
    cam_grid_from_population(pop, fit, 3, 2, grid);
    assert_float_equal(grid[0], (2 * 1 + 1 * 0.5) / 3, 1e-12);
    assert_float_equal(grid[1], (1 * 0.5) / 3, 1e-12);
    const double flat[3] = {1, 1, NAN};
    cam_grid_from_population(pop, flat, 3, 2, grid);
    assert_float_equal(grid[0], 0.5, 1e-12); /* all equal: plain mean */
}

static void test_normalise_spans_zero_to_one_and_constant_gives_zeros(void **state) {
    (void)state;
    float m[4] = {-2, 0, 2, 1};
    cam_normalise(m, 4);
    assert_true(m[0] == 0.0f && m[2] == 1.0f);
    assert_float_equal(m[1], 0.5f, 1e-7f);
    float c[3] = {4, 4, 4};
    cam_normalise(c, 3);
    for (int i = 0; i < 3; i++)
        assert_true(c[i] == 0.0f);
    float bad[2] = {NAN, 1};
    cam_normalise(bad, 2);
    for (int i = 0; i < 2; i++)
        assert_true(bad[i] == 0.0f);
}

/* Finite values more than FLT_MAX apart: their range overflows float,
 * and the map once came out all zeros; denormal values keep their order. */
static void test_normalise_of_a_range_beyond_flt_max_spans_zero_to_one(void **state) {
    (void)state;
    float m[4] = {-FLT_MAX, 0.0f, FLT_MAX, FLT_MAX / 2};
    cam_normalise(m, 4);
    assert_true(m[0] == 0.0f && m[1] == 0.5f && m[2] == 1.0f && m[3] == 0.75f);
    float d[3] = {1e-45f, 4e-45f, 3e-45f}; /* 1, 3 and 2 of the smallest denormal */
    cam_normalise(d, 3);
    assert_true(d[0] == 0.0f && d[1] == 1.0f && d[2] == 0.5f);
    float inf[2] = {INFINITY, 1};
    cam_normalise(inf, 2);
    assert_true(inf[0] == 0.0f && inf[1] == 0.0f);
}

/* Doubles beyond float's range, or below its normal range, are scaled by
 * one power of two; anything between is left alone, bit for bit. */
static void test_fit_float_scales_only_values_outside_the_normal_float_range(void **state) {
    (void)state;
    double big[3] = {-6e38, 1e300, 2.0};
    assert_int_equal(cam_fit_float(big, 3), 126 - 997);
    assert_true(big[1] < 0x1p126 && big[1] >= 0x1p125);
    assert_true(big[0] == ldexp(-6e38, 126 - 997) && big[2] == ldexp(2.0, 126 - 997));
    double tiny[2] = {1e-300, -3e-310};
    assert_int_equal(cam_fit_float(tiny, 2), 996);
    assert_true(tiny[0] >= 0.5 && tiny[0] < 1.0 && tiny[1] == ldexp(-3e-310, 996));
    double fine[4] = {0x1.fffffp125, -1.0, 1e-30, NAN};
    assert_int_equal(cam_fit_float(fine, 4), 0);
    assert_true(fine[0] == 0x1.fffffp125 && fine[1] == -1.0 && fine[2] == 1e-30);
    double zeros[2] = {0.0, -0.0};
    assert_int_equal(cam_fit_float(zeros, 2), 0);
}

/* A smoothing sigma in range but so small that its square underflows
 * (1e-170) once made NaN taps and an all-zero map. */
static void test_finish_with_a_tiny_sigma_equals_no_smoothing(void **state) {
    (void)state;
    float a[6 * 4], b[6 * 4];
    for (int i = 0; i < 24; i++)
        a[i] = b[i] = (float)((i * 7) % 5);
    assert_int_equal(cam_finish(a, 6, 4, 0.0, &ALLOC), 0);
    assert_int_equal(cam_finish(b, 6, 4, 1e-170, &ALLOC), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_true(a[1] == 0.5f && a[2] == 1.0f);
}

static void test_upsampled_grid_is_smoothed_and_normalised(void **state) {
    (void)state;
    upsampler u;
    assert_int_equal(upsampler_init(&u, &ALLOC, 3, 3, 30, 30, DECAM_UPSAMPLE_BILINEAR), 0);
    const double grid[9] = {0, 0, 0, 0, -4, 0, 0, 0, 0}; /* negative: any scale works */
    float map[900], rows[3 * 30];
    upsample(&u, grid, rows, map, 0);
    assert_int_equal(cam_finish(map, 30, 30, 2.0, &ALLOC), 0);
    float lo = 1, hi = 0;
    for (int i = 0; i < 900; i++) {
        lo = map[i] < lo ? map[i] : lo;
        hi = map[i] > hi ? map[i] : hi;
    }
    assert_true(lo == 0.0f && hi == 1.0f);
    assert_true(map[15 * 30 + 15] == 0.0f); /* the dip stays in the centre */
    assert_true(map[0] > 0.9f);
    upsampler_free(&u, &ALLOC);
}

static void test_grid_from_map_area_averages_and_scales(void **state) {
    (void)state;
    float map[4 * 4] = {0};
    for (int y = 0; y < 2; y++)
        for (int x = 2; x < 4; x++)
            map[y * 4 + x] = 8.0f; /* top-right quarter */
    double grid[4];
    cam_grid_from_map(map, 4, 4, 2, 2, grid);
    assert_true(grid[1] == 1.0 && grid[0] == 0.0 && grid[2] == 0.0 && grid[3] == 0.0);
    float flat[6] = {3, 3, 3, 3, 3, 3};
    double g3[9];
    cam_grid_from_map(flat, 3, 2, 3, 3, g3); /* finer grid than the map */
    for (int j = 0; j < 9; j++)
        assert_true(g3[j] == 0.5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_evaluated_contrast_finds_the_gene_the_score_reads),
        cmocka_unit_test(test_all_evaluated_contrast_equals_hand_computed_means),
        cmocka_unit_test(test_regression_separates_genes_that_move_together),
        cmocka_unit_test(test_gene_that_never_varied_gets_zero),
        cmocka_unit_test(test_population_weights_by_fitness_above_the_worst),
        cmocka_unit_test(test_normalise_spans_zero_to_one_and_constant_gives_zeros),
        cmocka_unit_test(test_normalise_of_a_range_beyond_flt_max_spans_zero_to_one),
        cmocka_unit_test(test_fit_float_scales_only_values_outside_the_normal_float_range),
        cmocka_unit_test(test_finish_with_a_tiny_sigma_equals_no_smoothing),
        cmocka_unit_test(test_upsampled_grid_is_smoothed_and_normalised),
        cmocka_unit_test(test_grid_from_map_area_averages_and_scales),
    };
    return cmocka_run_group_tests_name("cam", tests, NULL, NULL);
}
