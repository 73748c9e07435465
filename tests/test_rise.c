/* test_rise.c - RISE through decam_explain(): its normalisation, that it
 * finds a planted region, its budget, and thread-count invariance. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "decam.h"
#include "counting.h"
#include "planted.h"

static decam_ctx *rise_ctx(decam_model_fn fn, void *user, double budget) {
    decam_ctx *ctx = decam_create();
    assert_non_null(ctx);
    assert_int_equal(decam_set_model(ctx, fn, user), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_METHOD, DECAM_METHOD_RISE), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, budget), DECAM_OK);
    return ctx;
}

static int constant_model(void *user, const float *images, size_t n, float *scores) {
    (void)user, (void)images;
    for (size_t i = 0; i < n; i++)
        scores[i] = 0.8f;
    return 0;
}

/* sum(score * mask) / (N p): a constant score c gives c everywhere, up to
 * the masks' sampling noise (about 2% per pixel with N = 2000). */
static void test_constant_model_gives_a_constant_raw_map(void **state) {
    (void)state;
    float image[PW * PH * PC] = {0}, map[PW * PH], raw[PW * PH];
    decam_ctx *ctx = rise_ctx(constant_model, NULL, 2003);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
    int rw, rh;
    assert_int_equal(decam_get_raw_map(ctx, raw, PW * PH, &rw, &rh), DECAM_OK);
    assert_true(rw == PW && rh == PH);
    double mean = 0.0, worst = 0.0;
    for (int i = 0; i < PW * PH; i++) {
        mean += raw[i];
        worst = fmax(worst, fabs(raw[i] / 0.8 - 1.0));
    }
    mean /= PW * PH;
    printf("# constant 0.8: raw map mean %.4f, largest relative deviation %.3f\n", mean, worst);
    assert_float_equal(mean, 0.8, 0.8 * 0.02);
    assert_true(worst < 0.15);
    decam_stats st = {.size = sizeof st};
    decam_get_stats(ctx, &st);
    assert_true(st.queries == 2003);
    assert_int_equal(st.generations, 32); /* 2000 masks in batches of 64 */
    assert_int_equal(st.termination, DECAM_TERMINATION_BUDGET);
    assert_true(isnan(st.best_fitness));
    decam_free(ctx);
}

static void test_rise_finds_planted_regions(void **state) {
    (void)state;
    float image[PW * PH * PC], map[PW * PH];
    int hits = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        planted p = {.nonlinear = (int)(seed % 2)};
        planted_make(&p, image, seed, DECAM_LAYOUT_HWC);
        decam_ctx *ctx = rise_ctx(planted_model, &p, 2000);
        decam_set_param(ctx, DECAM_PARAM_SEED, (double)seed);
        assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
        hits += planted_pointing_hit(&p, map);
        decam_free(ctx);
    }
    printf("# RISE, 2000 queries: pointing game %d/10\n", hits);
    assert_true(hits >= 9);
}

static void test_same_seed_same_map_and_any_thread_count_or_batch(void **state) {
    (void)state;
    float image[PW * PH * PC], ref[PW * PH], map[PW * PH];
    planted p = {0};
    planted_make(&p, image, 3, DECAM_LAYOUT_HWC);
    decam_ctx *ctx = rise_ctx(planted_model, &p, 300);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, ref), DECAM_OK);
    const double threads[] = {1, 2, 3, 8}, batches[] = {0, 1, 7, 300};
    assert_int_equal(planted_maps_differing(ctx, image, ref, threads, 4, batches, 4), 0);
    decam_set_param(ctx, DECAM_PARAM_SEED, 1);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
    assert_true(memcmp(ref, map, sizeof map) != 0);
    decam_free(ctx);
}

static void test_budget_must_pay_for_one_mask(void **state) {
    (void)state;
    float image[PW * PH * PC] = {0}, map[PW * PH];
    decam_ctx *ctx = rise_ctx(constant_model, NULL, 3);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_ERR_BUDGET_TOO_SMALL);
    assert_non_null(strstr(decam_errmsg(ctx), "one mask"));
    decam_set_param(ctx, DECAM_PARAM_BUDGET, 4);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
    decam_free(ctx);
}

/* A 1 x 1 grid (masks all or nothing, however shifted) and keep = 1
 * (every mask whole) give a flat map for every model: refused when set,
 * with the range, rather than explained flat. The new ends work. */
static void test_grid_of_one_and_keep_of_one_are_refused(void **state) {
    (void)state;
    float image[PW * PH * PC], map[PW * PH];
    planted p = {0};
    planted_make(&p, image, 4, DECAM_LAYOUT_HWC);
    decam_ctx *ctx = rise_ctx(planted_model, &p, 503);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_RISE_GRID, 1), DECAM_ERR_OUT_OF_RANGE);
    assert_non_null(strstr(decam_errmsg(ctx), "rise_grid = 1"));
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_RISE_KEEP, 1), DECAM_ERR_OUT_OF_RANGE);
    assert_non_null(strstr(decam_errmsg(ctx), "rise_keep = 1"));
    const double ends[][2] = {{2, 0.99}, {64, 0.01}, {2, 0.5}};
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_RISE_GRID, ends[k][0]), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_RISE_KEEP, ends[k][1]), DECAM_OK);
        assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
        float hi = 0.0f;
        for (int i = 0; i < PW * PH; i++)
            hi = map[i] > hi ? map[i] : hi;
        assert_true(hi == 1.0f);
    }
    decam_free(ctx);
}

/* The raw map of a constant model is the masks' own coverage, which says
 * nothing of the model: the map is the all-zero map, with the warning
 * decam.h promises for a constant map, as DE-CAM and occlusion give. */
static int warnings;
static void count_warnings(void *user, decam_log_level level, const char *message) {
    (void)user;
    if (level == DECAM_LOG_WARNING && strstr(message, "flat")) warnings++;
}

static void test_a_constant_model_gives_the_all_zero_map_and_a_warning(void **state) {
    (void)state;
    float image[PW * PH * PC], map[PW * PH];
    planted p = {0};
    planted_make(&p, image, 5, DECAM_LAYOUT_HWC);
    decam_ctx *ctx = rise_ctx(constant_model, NULL, 503);
    assert_int_equal(decam_set_log(ctx, count_warnings, NULL, DECAM_LOG_WARNING), DECAM_OK);
    warnings = 0;
    for (int i = 0; i < PW * PH; i++)
        map[i] = -1.0f;
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
    for (int i = 0; i < PW * PH; i++)
        assert_true(map[i] == 0.0f);
    assert_int_equal(warnings, 1);
    /* A model that does depend on the image still gives its map. */
    assert_int_equal(decam_set_model(ctx, planted_model, &p), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 2003), DECAM_OK);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
    assert_int_equal(warnings, 1);
    assert_int_equal(planted_pointing_hit(&p, map), 1);
    decam_free(ctx);
}

/* Chunk buffers hold what the run will score, not a batch it will never
 * fill: 4 masks at a batch size of 65536 stay small. */
static void test_memory_follows_the_masks_not_the_batch_size(void **state) {
    (void)state;
    float image[PW * PH * PC] = {0}, map[PW * PH];
    counter c = {.fail_at = -1};
    decam_ctx *ctx = decam_create_advanced(count_alloc, count_free, &c);
    assert_non_null(ctx);
    assert_int_equal(decam_set_model(ctx, constant_model, NULL), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_METHOD, DECAM_METHOD_RISE), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 7), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, 65536), DECAM_OK);
    const size_t before = c.bytes;
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
    const size_t image_bytes = sizeof image;
    printf("# RISE, 7 queries at batch 65536: %zu bytes allocated, largest %zu\n", c.bytes - before,
           c.largest);
    /* The request's 7 images, the baseline, the maps and sums: a few dozen
     * images' worth, not 65536 masks. */
    assert_true(c.bytes - before < 40 * image_bytes);
    decam_free(ctx);
    assert_int_equal(c.live, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constant_model_gives_a_constant_raw_map),
        cmocka_unit_test(test_rise_finds_planted_regions),
        cmocka_unit_test(test_same_seed_same_map_and_any_thread_count_or_batch),
        cmocka_unit_test(test_budget_must_pay_for_one_mask),
        cmocka_unit_test(test_grid_of_one_and_keep_of_one_are_refused),
        cmocka_unit_test(test_a_constant_model_gives_the_all_zero_map_and_a_warning),
        cmocka_unit_test(test_memory_follows_the_masks_not_the_batch_size),
    };
    return cmocka_run_group_tests_name("rise", tests, NULL, NULL);
}
