/* test_explain.c - decam_explain() end to end: planted models whose right
 * answer is known, determinism, batching and layout invariance, and every
 * error path a caller can reach. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decam.h"
#include "planted.h"

static decam_ctx *new_ctx(planted *p) {
    decam_ctx *ctx = decam_create();
    assert_non_null(ctx);
    assert_int_equal(decam_set_model(ctx, planted_model, p), DECAM_OK);
    return ctx;
}

static const char *OBJECTIVE[] = {"preserve", "delete", "both"};

/* For 10 seeded rectangles and each objective, with default parameters
 * (1000 queries): the map's maximum lies in the rectangle in at least 9 of
 * 10, and its top pixels (as many as the rectangle has) overlap the
 * rectangle with IoU >= 0.5 in at least 9 of 10, and on average. */
static void check_planted(int nonlinear) {
    float image[PW * PH * PC], map[PW * PH];
    for (int obj = 0; obj < 3; obj++) {
        int hits = 0, overlaps = 0;
        double iou_sum = 0.0, iou_min = 1.0;
        for (uint64_t seed = 1; seed <= 10; seed++) {
            planted p = {.nonlinear = nonlinear};
            planted_make(&p, image, seed, DECAM_LAYOUT_HWC);
            decam_ctx *ctx = new_ctx(&p);
            assert_int_equal(decam_set_param(ctx, DECAM_PARAM_OBJECTIVE, obj), DECAM_OK);
            assert_int_equal(decam_set_param(ctx, DECAM_PARAM_SEED, (double)seed), DECAM_OK);
            assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
            decam_stats st = {.size = sizeof st};
            assert_int_equal(decam_get_stats(ctx, &st), DECAM_OK);
            assert_true(st.queries <= 1000);
            assert_int_equal(st.termination, DECAM_TERMINATION_BUDGET);
            double iou = planted_top_k_iou(&p, map);
            hits += planted_pointing_hit(&p, map);
            overlaps += iou >= 0.5;
            iou_sum += iou;
            iou_min = iou < iou_min ? iou : iou_min;
            decam_free(ctx);
        }
        printf("# %s model, %-8s: pointing game %d/10, top-k IoU mean %.3f, min %.3f\n",
               nonlinear ? "nonlinear" : "linear", OBJECTIVE[obj], hits, iou_sum / 10, iou_min);
        assert_true(hits >= 9);
        assert_true(overlaps >= 9);
        assert_true(iou_sum / 10 >= 0.5);
    }
}

static void test_planted_linear_model_is_found_by_every_objective(void **state) {
    (void)state;
    check_planted(0);
}

static void test_planted_nonlinear_model_is_found_by_every_objective(void **state) {
    (void)state;
    check_planted(1);
}

static uint64_t fnv1a(const void *data, size_t n) {
    const unsigned char *b = data;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static void explain_with(planted *p, const float *image, double seed, double batch,
                         decam_layout layout, float *map) {
    decam_ctx *ctx = new_ctx(p);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_SEED, seed), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, batch), DECAM_OK);
    assert_int_equal(decam_set_image_layout(ctx, layout), DECAM_OK);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
    decam_free(ctx);
}

/* The golden checksum pins the whole pipeline bit for bit: change it only
 * with a change that is meant to change maps, and say so in the commit. */
#define GOLDEN_MAP_FNV1A 0x442be8f490f7d15bULL

static void test_same_seed_gives_the_golden_bit_identical_map(void **state) {
    (void)state;
    float image[PW * PH * PC], a[PW * PH], b[PW * PH];
    planted p = {0};
    planted_make(&p, image, 3, DECAM_LAYOUT_HWC);
    explain_with(&p, image, 11, 0, DECAM_LAYOUT_HWC, a);
    explain_with(&p, image, 11, 0, DECAM_LAYOUT_HWC, b);
    assert_memory_equal(a, b, sizeof a);
    uint64_t h = fnv1a(a, sizeof a);
    printf("# golden map checksum 0x%016llx\n", (unsigned long long)h);
    assert_true(h == GOLDEN_MAP_FNV1A);
    explain_with(&p, image, 12, 0, DECAM_LAYOUT_HWC, b);
    assert_true(memcmp(a, b, sizeof a) != 0);
}

/* How images are grouped into model calls, and the layout they travel in,
 * must not change the result. */
static void test_batch_size_and_layout_do_not_change_the_map(void **state) {
    (void)state;
    float image[PW * PH * PC], chw[PW * PH * PC], ref[PW * PH], map[PW * PH];
    planted p = {0};
    planted_make(&p, image, 4, DECAM_LAYOUT_HWC);
    explain_with(&p, image, 5, 0, DECAM_LAYOUT_HWC, ref);
    const double batches[] = {1, 2, 7, 48, 1000};
    for (size_t k = 0; k < sizeof batches / sizeof batches[0]; k++) {
        p.calls = 0;
        explain_with(&p, image, 5, batches[k], DECAM_LAYOUT_HWC, map);
        assert_memory_equal(ref, map, sizeof map);
        if (batches[k] == 1) assert_int_equal(p.calls, 1000);
    }
    planted q = {0};
    planted_make(&q, chw, 4, DECAM_LAYOUT_CHW);
    explain_with(&q, chw, 5, 0, DECAM_LAYOUT_CHW, map);
    assert_memory_equal(ref, map, sizeof map);
    /* Nor the number of threads building the images. */
    for (int threads = 2; threads <= 5; threads += 3) {
        decam_ctx *ctx = new_ctx(&p);
        decam_set_param(ctx, DECAM_PARAM_SEED, 5);
        decam_set_param(ctx, DECAM_PARAM_THREADS, threads);
        decam_set_param(ctx, DECAM_PARAM_OBJECTIVE, DECAM_OBJECTIVE_BOTH);
        assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
        float one[PW * PH];
        decam_set_param(ctx, DECAM_PARAM_THREADS, 1);
        decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, 7); /* splits keep/drop pairs */
        assert_int_equal(decam_explain(ctx, image, PW, PH, PC, one), DECAM_OK);
        assert_memory_equal(one, map, sizeof map);
        decam_free(ctx);
    }
}

/* ---- statistics -------------------------------------------------------- */

static void test_stats_report_queries_scores_and_times(void **state) {
    (void)state;
    float image[PW * PH * PC], map[PW * PH];
    planted p = {0};
    planted_make(&p, image, 2, DECAM_LAYOUT_HWC);
    decam_ctx *ctx = new_ctx(&p);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 500), DECAM_OK);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
    decam_stats st = {.size = sizeof st};
    assert_int_equal(decam_get_stats(ctx, &st), DECAM_OK);
    assert_true(st.queries == 500);                   /* the budget, used in full */
    assert_true(st.model_calls == (uint64_t)p.calls); /* each call counted */
    assert_int_equal(st.generations, 11);             /* (500 - 3) / 48, rounded up */
    assert_true(st.score_full > 0.6 && st.score_full <= 1.0);
    assert_true(st.score_keep > st.score_drop); /* the map's region matters */
    assert_true(st.model_seconds >= 0 && st.library_seconds >= 0);
    assert_true(isfinite(st.best_fitness));
    float raw[PW * PH], grid[49];
    int gw = 0, gh = 0;
    assert_int_equal(decam_get_raw_map(ctx, NULL, 0, &gw, &gh), DECAM_OK);
    assert_true(gw == PW && gh == PH); /* the default assembly: per pixel */
    assert_int_equal(decam_get_raw_map(ctx, raw, PW * PH - 1, NULL, NULL),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_get_raw_map(ctx, raw, PW * PH, NULL, NULL), DECAM_OK);
    /* The grid assemblies keep the gene grid. */
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_ASSEMBLY, DECAM_ASSEMBLY_POPULATION),
                     DECAM_OK);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
    assert_int_equal(decam_get_raw_map(ctx, NULL, 0, &gw, &gh), DECAM_OK);
    assert_true(gw == 7 && gh == 7);
    assert_int_equal(decam_get_raw_map(ctx, grid, 48, NULL, NULL), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_get_raw_map(ctx, grid, 49, NULL, NULL), DECAM_OK);
    decam_free(ctx);
}

static void test_generation_limit_and_tolerance_stop_the_search(void **state) {
    (void)state;
    float image[PW * PH * PC], map[PW * PH];
    planted p = {0};
    planted_make(&p, image, 2, DECAM_LAYOUT_HWC);
    decam_ctx *ctx = new_ctx(&p);
    decam_stats st = {.size = sizeof st};
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_MAX_GENERATIONS, 3), DECAM_OK);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
    decam_get_stats(ctx, &st);
    assert_int_equal(st.termination, DECAM_TERMINATION_GENERATIONS);
    assert_int_equal(st.generations, 3);
    assert_true(st.queries == 1 + 3 * 48 + 2);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_MAX_GENERATIONS, 0), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_TOLERANCE, 1e6), DECAM_OK);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
    decam_get_stats(ctx, &st);
    assert_int_equal(st.termination, DECAM_TERMINATION_TOLERANCE);
    assert_int_equal(st.generations, 1);
    decam_free(ctx);
}

/* SHADE and L-SHADE find the planted rectangle as the default strategy
 * does (1000 queries, 10 seeds, preserve); L-SHADE's shrinking population
 * spends the budget exactly, in more generations, and its map depends
 * neither on the batch size nor on the thread count. */
static void test_shade_and_lshade_find_the_planted_region_and_spend_the_budget(void **state) {
    (void)state;
    float image[PW * PH * PC], map[PW * PH], other[PW * PH];
    const decam_strategy strategies[] = {DECAM_STRATEGY_SHADE, DECAM_STRATEGY_LSHADE};
    for (int s = 0; s < 2; s++) {
        int hits = 0;
        double iou_sum = 0.0;
        for (uint64_t seed = 1; seed <= 10; seed++) {
            planted p = {0};
            planted_make(&p, image, seed, DECAM_LAYOUT_HWC);
            decam_ctx *ctx = new_ctx(&p);
            assert_int_equal(decam_set_param(ctx, DECAM_PARAM_STRATEGY, strategies[s]), DECAM_OK);
            assert_int_equal(decam_set_param(ctx, DECAM_PARAM_SEED, (double)seed), DECAM_OK);
            assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
            decam_stats st = {.size = sizeof st};
            assert_int_equal(decam_get_stats(ctx, &st), DECAM_OK);
            assert_true(st.queries == 1000);
            hits += planted_pointing_hit(&p, map);
            iou_sum += planted_top_k_iou(&p, map);
            decam_free(ctx);
        }
        printf("# %s, linear model, preserve: pointing game %d/10, top-k IoU mean %.3f\n",
               decam_value_name(DECAM_PARAM_STRATEGY, strategies[s]), hits, iou_sum / 10);
        assert_true(hits >= 9);
        assert_true(iou_sum / 10 >= 0.5);
    }
    planted p = {0};
    planted_make(&p, image, 4, DECAM_LAYOUT_HWC);
    for (int obj = 0; obj < 3; obj += 2) { /* both: a candidate's two images may be split */
        decam_ctx *ctx = new_ctx(&p);
        decam_set_param(ctx, DECAM_PARAM_STRATEGY, DECAM_STRATEGY_LSHADE);
        decam_set_param(ctx, DECAM_PARAM_OBJECTIVE, obj);
        decam_set_param(ctx, DECAM_PARAM_BUDGET, 500);
        decam_set_param(ctx, DECAM_PARAM_SEED, 6);
        assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
        decam_stats st = {.size = sizeof st};
        decam_get_stats(ctx, &st);
        printf("# lshade, %s, budget 500: %llu queries in %u generations\n", OBJECTIVE[obj],
               (unsigned long long)st.queries, (unsigned)st.generations);
        assert_true(st.queries == (obj ? 499u : 500u)); /* both: 497 = 248 pairs + 1 */
        assert_true(st.generations > (obj ? 6u : 11u)); /* the default strategy's 6 and 11 */
        decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, 7);
        assert_int_equal(decam_explain(ctx, image, PW, PH, PC, other), DECAM_OK);
        assert_memory_equal(map, other, sizeof map);
        decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, 0);
        decam_set_param(ctx, DECAM_PARAM_THREADS, 3);
        assert_int_equal(decam_explain(ctx, image, PW, PH, PC, other), DECAM_OK);
        assert_memory_equal(map, other, sizeof map);
        decam_free(ctx);
    }
}

/* Every value of every enum parameter runs to completion. */
static void test_every_value_of_every_enum_parameter_runs(void **state) {
    (void)state;
    float image[PW * PH * PC], map[PW * PH], prior[8 * 8];
    planted p = {0};
    planted_make(&p, image, 6, DECAM_LAYOUT_HWC);
    for (int i = 0; i < 64; i++)
        prior[i] = (float)(i % 8);
    /* Each runs through its whole range, as decam_param_bounds() gives it,
     * so a value added later is covered too. */
    const decam_param enums[] = {
        DECAM_PARAM_STRATEGY, DECAM_PARAM_BASELINE,     DECAM_PARAM_UPSAMPLE,  DECAM_PARAM_ASSEMBLY,
        DECAM_PARAM_INIT,     DECAM_PARAM_BINARY_MASKS, DECAM_PARAM_MASK_SHIFT};
    for (size_t e = 0; e < sizeof enums / sizeof enums[0]; e++) {
        double upper = 0;
        assert_int_equal(decam_param_bounds(enums[e], NULL, &upper, NULL), DECAM_OK);
        assert_true(upper >= 1);
        for (int v = 0; v <= (int)upper; v++) {
            decam_ctx *ctx = new_ctx(&p);
            assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 200), DECAM_OK);
            assert_int_equal(decam_set_param(ctx, DECAM_PARAM_SMOOTHING, 2), DECAM_OK);
            assert_int_equal(decam_set_param(ctx, DECAM_PARAM_TV_WEIGHT, 0.1), DECAM_OK);
            assert_int_equal(decam_set_baseline_image(ctx, image, PW, PH, PC), DECAM_OK);
            assert_int_equal(decam_set_prior_map(ctx, prior, 8, 8), DECAM_OK);
            assert_int_equal(decam_set_param(ctx, enums[e], v), DECAM_OK);
            assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
            for (int i = 0; i < PW * PH; i++)
                assert_true(map[i] >= 0.0f && map[i] <= 1.0f);
            decam_free(ctx);
        }
    }
}

/* ---- errors a caller can reach ------------------------------------------ */

static void test_null_and_bad_sizes_are_refused_before_any_query(void **state) {
    (void)state;
    float image[PW * PH * PC] = {0}, map[PW * PH];
    planted p = {0, 0, 4, 4, 0, DECAM_LAYOUT_HWC, 0, 0, 0, 0};
    decam_ctx *ctx = new_ctx(&p);
    assert_int_equal(decam_explain(NULL, image, PW, PH, PC, map), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_explain(ctx, NULL, PW, PH, PC, map), DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(ctx), "image"));
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, NULL), DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(ctx), "saliency_out"));
    assert_int_equal(decam_explain(ctx, image, 0, PH, PC, map), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_explain(ctx, image, PW, -1, PC, map), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_explain(ctx, image, PW, PH, 0, map), DECAM_ERR_INVALID_ARGUMENT);
    /* Absurd sizes: refused from the numbers alone (the buffers are small). */
    assert_int_equal(decam_explain(ctx, image, 100000, 10, 3, map), DECAM_ERR_TOO_LARGE);
    assert_int_equal(decam_explain(ctx, image, 60000, 60000, 3, map), DECAM_ERR_TOO_LARGE);
    assert_non_null(strstr(decam_errmsg(ctx), "exceed"));
    assert_int_equal(decam_explain(ctx, image, 10, 10, 1000, map), DECAM_ERR_TOO_LARGE);
    assert_int_equal(p.calls, 0);
    decam_free(ctx);
}

static void test_missing_model_baseline_prior_and_bad_target_are_named(void **state) {
    (void)state;
    float image[PW * PH * PC] = {0}, map[PW * PH];
    decam_ctx *ctx = decam_create();
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_ERR_NO_MODEL);
    assert_non_null(strstr(decam_errmsg(ctx), "decam_set_model"));
    planted p = {0, 0, 4, 4, 0, DECAM_LAYOUT_HWC, 0, 0, 0, 0};
    decam_set_model(ctx, planted_model, &p);
    decam_set_param(ctx, DECAM_PARAM_BASELINE, DECAM_BASELINE_IMAGE);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_ERR_MISSING_INPUT);
    assert_non_null(strstr(decam_errmsg(ctx), "baseline"));
    assert_int_equal(decam_set_baseline_image(ctx, image, PW, PH - 1, PC), DECAM_OK);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_ERR_MISSING_INPUT);
    assert_non_null(strstr(decam_errmsg(ctx), "64 x 63 x 3"));
    decam_set_param(ctx, DECAM_PARAM_BASELINE, DECAM_BASELINE_BLUR);
    decam_set_param(ctx, DECAM_PARAM_INIT, DECAM_INIT_PRIOR);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_ERR_MISSING_INPUT);
    assert_non_null(strstr(decam_errmsg(ctx), "prior"));
    decam_set_param(ctx, DECAM_PARAM_INIT, DECAM_INIT_LATIN_HYPERCUBE);
    decam_set_param(ctx, DECAM_PARAM_TARGET, 1);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_ERR_OUT_OF_RANGE);
    assert_non_null(strstr(decam_errmsg(ctx), "n_outputs"));
    assert_int_equal(p.calls, 0);
    decam_free(ctx);
}

static void test_budget_smaller_than_one_generation_queries_nothing(void **state) {
    (void)state;
    float image[PW * PH * PC] = {0}, map[PW * PH];
    planted p = {0, 0, 4, 4, 0, DECAM_LAYOUT_HWC, 0, 0, 0, 0};
    decam_ctx *ctx = new_ctx(&p);
    decam_set_param(ctx, DECAM_PARAM_BUDGET, 50); /* needs 1 + 48 + 2 = 51 */
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_ERR_BUDGET_TOO_SMALL);
    assert_non_null(strstr(decam_errmsg(ctx), "51"));
    decam_set_param(ctx, DECAM_PARAM_OBJECTIVE, DECAM_OBJECTIVE_BOTH);
    decam_set_param(ctx, DECAM_PARAM_BUDGET, 98); /* needs 1 + 96 + 2 = 99 */
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_ERR_BUDGET_TOO_SMALL);
    assert_int_equal(p.calls, 0);
    decam_set_param(ctx, DECAM_PARAM_BUDGET, 99); /* exactly one generation */
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
    decam_stats st = {.size = sizeof st};
    decam_get_stats(ctx, &st);
    assert_true(st.queries == 99 && st.generations == 1);
    decam_free(ctx);
}

static void test_failing_model_stops_the_run_with_its_code(void **state) {
    (void)state;
    float image[PW * PH * PC], map[PW * PH];
    planted p = {0};
    planted_make(&p, image, 1, DECAM_LAYOUT_HWC);
    const int fail_at[] = {1, 2, 5};
    for (int k = 0; k < 3; k++) {
        p.calls = 0;
        p.fail_on_call = fail_at[k];
        decam_ctx *ctx = new_ctx(&p);
        assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_ERR_MODEL_FAILED);
        assert_non_null(strstr(decam_errmsg(ctx), "returned -7"));
        assert_int_equal(p.calls, fail_at[k]); /* not called again */
        decam_stats st = {.size = sizeof st};
        decam_get_stats(ctx, &st);
        assert_int_equal(st.termination, DECAM_TERMINATION_ERROR);
        decam_free(ctx);
    }
}

static void test_nan_and_infinite_scores_are_refused(void **state) {
    (void)state;
    float image[PW * PH * PC], map[PW * PH];
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (int k = 0; k < 3; k++) {
        planted p = {0};
        planted_make(&p, image, 1, DECAM_LAYOUT_HWC);
        p.bad_score = bad[k];
        p.poison_on_call = 3;
        decam_ctx *ctx = new_ctx(&p);
        assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_ERR_BAD_SCORE);
        assert_non_null(strstr(decam_errmsg(ctx), k == 0 ? "NaN" : "infinite"));
        assert_int_equal(p.calls, 3);
        decam_free(ctx);
    }
}

typedef struct cancel_state {
    int after_generation; /* progress: cancel once this many are done */
    int seen;
    decam_ctx *ctx; /* force-stop from inside the model */
    planted *model;
    int stop_on_call;
    int reenter_status; /* what a nested decam_explain() returned */
    int set_param_status;
} cancel_state;

static int cancelling_progress(void *user, const decam_progress *pr) {
    cancel_state *c = user;
    assert_true(pr->size == sizeof *pr);
    assert_true(pr->queries <= pr->budget);
    c->seen++;
    return (int)pr->generation >= c->after_generation;
}

static void test_progress_callback_cancels_and_leaves_the_partial_map(void **state) {
    (void)state;
    float image[PW * PH * PC], map[PW * PH];
    planted p = {0};
    planted_make(&p, image, 1, DECAM_LAYOUT_HWC);
    cancel_state c = {.after_generation = 4};
    decam_ctx *ctx = new_ctx(&p);
    decam_set_progress(ctx, cancelling_progress, &c);
    for (int i = 0; i < PW * PH; i++)
        map[i] = -1.0f;
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_ERR_CANCELLED);
    assert_non_null(strstr(decam_errmsg(ctx), "progress"));
    assert_int_equal(c.seen, 4);
    decam_stats st = {.size = sizeof st};
    decam_get_stats(ctx, &st);
    assert_int_equal(st.termination, DECAM_TERMINATION_CANCELLED);
    assert_int_equal(st.generations, 4);
    assert_true(st.queries == 1 + 4 * 48);
    float hi = 0;
    for (int i = 0; i < PW * PH; i++) {
        assert_true(map[i] >= 0.0f && map[i] <= 1.0f);
        hi = map[i] > hi ? map[i] : hi;
    }
    assert_true(hi == 1.0f); /* a real map, not left as it was */
    /* The context is usable afterwards. */
    decam_set_progress(ctx, NULL, NULL);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
    decam_free(ctx);
}

/* A model that force-stops, re-enters and reconfigures its own context. */
static int meddling_model(void *user, const float *images, size_t n, float *scores) {
    cancel_state *c = user;
    int rc = planted_model(c->model, images, n, scores);
    float map[PW * PH];
    c->reenter_status = decam_explain(c->ctx, images, PW, PH, PC, map);
    c->set_param_status = decam_set_param(c->ctx, DECAM_PARAM_BUDGET, 10);
    if (c->model->calls == c->stop_on_call) decam_force_stop(c->ctx);
    return rc;
}

static void test_force_stop_and_reentry_from_inside_the_model(void **state) {
    (void)state;
    float image[PW * PH * PC], map[PW * PH];
    planted p = {0};
    planted_make(&p, image, 1, DECAM_LAYOUT_HWC);
    decam_ctx *ctx = decam_create();
    const int stop_at[] = {1, 3};
    for (int k = 0; k < 2; k++) {
        p.calls = 0;
        cancel_state c = {.ctx = ctx, .model = &p, .stop_on_call = stop_at[k]};
        decam_set_model(ctx, meddling_model, &c);
        assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_ERR_CANCELLED);
        assert_non_null(strstr(decam_errmsg(ctx), "decam_force_stop"));
        assert_int_equal(c.reenter_status, DECAM_ERR_BUSY);
        assert_int_equal(c.set_param_status, DECAM_ERR_BUSY);
        assert_int_equal(p.calls, stop_at[k]);
        decam_stats st = {.size = sizeof st};
        decam_get_stats(ctx, &st);
        assert_int_equal(st.termination, DECAM_TERMINATION_FORCED);
        for (int i = 0; i < PW * PH; i++)
            assert_true(map[i] >= 0.0f && map[i] <= 1.0f);
    }
    /* A stop requested between runs does not leak into the next one. */
    decam_force_stop(ctx);
    decam_set_model(ctx, planted_model, &p);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
    decam_free(ctx);
}

typedef struct log_state {
    int lines, errors;
} log_state;

static void counting_log(void *user, decam_log_level level, const char *message) {
    log_state *l = user;
    assert_non_null(message);
    assert_null(strchr(message, '\n'));
    l->lines++;
    l->errors += level == DECAM_LOG_ERROR;
}

static void test_log_handler_receives_errors_and_run_summaries(void **state) {
    (void)state;
    float image[PW * PH * PC], map[PW * PH];
    planted p = {0};
    planted_make(&p, image, 1, DECAM_LAYOUT_HWC);
    decam_ctx *ctx = new_ctx(&p);
    log_state l = {0};
    decam_set_log(ctx, counting_log, &l, DECAM_LOG_INFO);
    decam_set_param(ctx, DECAM_PARAM_BUDGET, 100);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
    assert_int_equal(l.lines, 1);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_GRID_WIDTH, 65), DECAM_ERR_OUT_OF_RANGE);
    assert_int_equal(l.errors, 1);
    decam_free(ctx);
}

/* A model with several outputs: only the target's column is read. */
static int two_output_model(void *user, const float *images, size_t n, float *scores) {
    planted *p = user;
    for (size_t i = 0; i < n; i++)
        scores[2 * i] = NAN; /* output 0: never read */
    float one[1] = {0};
    for (size_t i = 0; i < n; i++) {
        planted_model(p, images + i * PW * PH * PC, 1, one);
        scores[2 * i + 1] = one[0];
    }
    return 0;
}

static void test_target_selects_one_of_several_outputs(void **state) {
    (void)state;
    float image[PW * PH * PC], map[PW * PH];
    planted p = {0};
    planted_make(&p, image, 8, DECAM_LAYOUT_HWC);
    decam_ctx *ctx = decam_create();
    decam_set_model(ctx, two_output_model, &p);
    decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, 2);
    decam_set_param(ctx, DECAM_PARAM_TARGET, 1);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
    assert_true(planted_pointing_hit(&p, map));
    decam_free(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_planted_linear_model_is_found_by_every_objective),
        cmocka_unit_test(test_planted_nonlinear_model_is_found_by_every_objective),
        cmocka_unit_test(test_same_seed_gives_the_golden_bit_identical_map),
        cmocka_unit_test(test_shade_and_lshade_find_the_planted_region_and_spend_the_budget),
        cmocka_unit_test(test_batch_size_and_layout_do_not_change_the_map),
        cmocka_unit_test(test_stats_report_queries_scores_and_times),
        cmocka_unit_test(test_generation_limit_and_tolerance_stop_the_search),
        cmocka_unit_test(test_every_value_of_every_enum_parameter_runs),
        cmocka_unit_test(test_null_and_bad_sizes_are_refused_before_any_query),
        cmocka_unit_test(test_missing_model_baseline_prior_and_bad_target_are_named),
        cmocka_unit_test(test_budget_smaller_than_one_generation_queries_nothing),
        cmocka_unit_test(test_failing_model_stops_the_run_with_its_code),
        cmocka_unit_test(test_nan_and_infinite_scores_are_refused),
        cmocka_unit_test(test_progress_callback_cancels_and_leaves_the_partial_map),
        cmocka_unit_test(test_force_stop_and_reentry_from_inside_the_model),
        cmocka_unit_test(test_log_handler_receives_errors_and_run_summaries),
        cmocka_unit_test(test_target_selects_one_of_several_outputs),
    };
    return cmocka_run_group_tests_name("explain", tests, NULL, NULL);
}
