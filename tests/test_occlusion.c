/* test_occlusion.c - sliding-window occlusion through decam_explain():
 * positions and queries, exact drops, planted regions, budget, threads. */
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

static decam_ctx *occlusion_ctx(decam_model_fn fn, void *user) {
    decam_ctx *ctx = decam_create();
    assert_non_null(ctx);
    assert_int_equal(decam_set_model(ctx, fn, user), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_METHOD, DECAM_METHOD_OCCLUSION), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 1e6), DECAM_OK);
    return ctx;
}

static int first_pixel(void *user, const float *images, size_t n, float *scores) {
    size_t values = *(const size_t *)user;
    for (size_t i = 0; i < n; i++)
        scores[i] = images[i * values];
    return 0;
}

/* 224 x 224 with the defaults: window 32, stride 8, 25 x 25 positions. */
static void test_default_window_takes_625_positions_at_224(void **state) {
    (void)state;
    static float image[224 * 224], map[224 * 224];
    size_t values = 224 * 224;
    decam_ctx *ctx = occlusion_ctx(first_pixel, &values);
    assert_int_equal(decam_explain(ctx, image, 224, 224, 1, map), DECAM_OK);
    decam_stats st = {.size = sizeof st};
    decam_get_stats(ctx, &st);
    assert_true(st.queries == 3 + 625);
    decam_set_param(ctx, DECAM_PARAM_BUDGET, 627);
    assert_int_equal(decam_explain(ctx, image, 224, 224, 1, map), DECAM_ERR_BUDGET_TOO_SMALL);
    assert_non_null(strstr(decam_errmsg(ctx), "628"));
    /* Steps that miss the far edge get one more position: 10 = 0, 4, 6. */
    decam_set_param(ctx, DECAM_PARAM_BUDGET, 1e6);
    values = 10 * 10;
    decam_set_param(ctx, DECAM_PARAM_OCCLUSION_WINDOW, 4);
    decam_set_param(ctx, DECAM_PARAM_OCCLUSION_STRIDE, 4);
    assert_int_equal(decam_explain(ctx, image, 10, 10, 1, map), DECAM_OK);
    decam_get_stats(ctx, &st);
    assert_true(st.queries == 3 + 9);
    decam_free(ctx);
}

/* A 1-pixel window at stride 1 removes one pixel per query: with the
 * linear planted model and a zero baseline, a pixel's drop is its red
 * value over the rectangle's area inside the rectangle, and 0 outside. */
static void test_one_pixel_windows_give_exact_drops(void **state) {
    (void)state;
    float image[PW * PH * PC], map[PW * PH], raw[PW * PH];
    planted p = {0};
    planted_make(&p, image, 2, DECAM_LAYOUT_HWC);
    decam_ctx *ctx = occlusion_ctx(planted_model, &p);
    decam_set_param(ctx, DECAM_PARAM_OCCLUSION_WINDOW, 1);
    decam_set_param(ctx, DECAM_PARAM_OCCLUSION_STRIDE, 1);
    decam_set_param(ctx, DECAM_PARAM_BASELINE, DECAM_BASELINE_CONSTANT);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
    assert_int_equal(decam_get_raw_map(ctx, raw, PW * PH, NULL, NULL), DECAM_OK);
    const double area = (p.x1 - p.x0) * (p.y1 - p.y0);
    for (int y = 0; y < PH; y++)
        for (int x = 0; x < PW; x++) {
            double expect = planted_inside(&p, x, y) ? image[(y * PW + x) * PC] / area : 0.0;
            assert_float_equal(raw[y * PW + x], expect, 1e-6);
        }
    assert_true(planted_pointing_hit(&p, map));
    decam_free(ctx);
}

static void test_occlusion_finds_planted_regions(void **state) {
    (void)state;
    float image[PW * PH * PC], map[PW * PH];
    int hits = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        planted p = {.nonlinear = (int)(seed % 2)};
        planted_make(&p, image, seed, DECAM_LAYOUT_HWC);
        decam_ctx *ctx = occlusion_ctx(planted_model, &p);
        assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
        hits += planted_pointing_hit(&p, map);
        decam_free(ctx);
    }
    printf("# occlusion, defaults (window 9, stride 2 at 64 x 64): pointing game %d/10\n", hits);
    assert_true(hits >= 9);
}

static void test_any_thread_count_or_batch_gives_the_same_map(void **state) {
    (void)state;
    float image[PW * PH * PC], ref[PW * PH];
    planted p = {0};
    planted_make(&p, image, 4, DECAM_LAYOUT_HWC);
    decam_ctx *ctx = occlusion_ctx(planted_model, &p);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, ref), DECAM_OK);
    const double threads[] = {2, 5}, batches[] = {0, 1, 13};
    assert_int_equal(planted_maps_differing(ctx, image, ref, threads, 2, batches, 3), 0);
    decam_free(ctx);
}

/* Chunk buffers hold the positions the run has, not a batch it will
 * never fill: 3 targets over 4 positions at a batch size of 65536. */
static int three_outputs(void *user, const float *images, size_t n, float *scores) {
    (void)user;
    for (size_t i = 0; i < 3 * n; i++)
        scores[i] = images[(i / 3) * 16 * 16] + (float)(i % 3);
    return 0;
}

static void test_memory_follows_the_positions_not_the_batch_size(void **state) {
    (void)state;
    float image[16 * 16], maps[3 * 16 * 16];
    for (int i = 0; i < 16 * 16; i++)
        image[i] = (float)(i % 7);
    counter c = {.fail_at = -1};
    decam_ctx *ctx = decam_create_advanced(count_alloc, count_free, &c);
    assert_non_null(ctx);
    assert_int_equal(decam_set_model(ctx, three_outputs, NULL), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_METHOD, DECAM_METHOD_OCCLUSION), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, 3), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_OCCLUSION_WINDOW, 8), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_OCCLUSION_STRIDE, 8), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, 65536), DECAM_OK);
    const uint32_t targets[3] = {0, 1, 2};
    decam_item it = {.image = image,
                     .width = 16,
                     .height = 16,
                     .channels = 1,
                     .targets = targets,
                     .n_targets = 3,
                     .saliency_out = maps};
    const size_t before = c.bytes;
    assert_int_equal(decam_explain_items(ctx, &it, 1), DECAM_OK);
    printf("# occlusion, 4 positions x 3 targets at batch 65536: %zu bytes allocated\n",
           c.bytes - before);
    assert_true(c.bytes - before < 40 * sizeof maps);
    decam_free(ctx);
    assert_int_equal(c.live, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_window_takes_625_positions_at_224),
        cmocka_unit_test(test_one_pixel_windows_give_exact_drops),
        cmocka_unit_test(test_occlusion_finds_planted_regions),
        cmocka_unit_test(test_any_thread_count_or_batch_gives_the_same_map),
        cmocka_unit_test(test_memory_follows_the_positions_not_the_batch_size),
    };
    return cmocka_run_group_tests_name("occlusion", tests, NULL, NULL);
}
