/* test_run.c - the run layer alone (budget, batching, cancellation,
 * statistics, the thread pool), with fake methods; and DE-CAM's search on
 * a run of the test's own, without decam_explain(). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "context.h"
#include "params.h"
#include "method.h"
#include "run.h"
#include "search.h"

enum { W = 14, H = 14, C = 1 };

typedef struct fake_model {
    decam_ctx *ctx;
    size_t calls, images, largest;
    size_t stop_at_call; /* decam_force_stop() in this call (0: never) */
    int fail_at_call;
} fake_model;

/* Scores an image by the mean of its top-left quarter: the "object". */
static int fake(void *user, const float *images, size_t n, float *scores) {
    fake_model *f = user;
    f->calls++;
    f->images += n;
    if (n > f->largest) f->largest = n;
    for (size_t i = 0; i < n; i++) {
        const float *im = images + i * W * H * C;
        double sum = 0;
        for (int y = 0; y < H / 2; y++)
            for (int x = 0; x < W / 2; x++)
                sum += im[y * W + x];
        scores[i] = (float)(sum / (W / 2 * H / 2));
    }
    if (f->stop_at_call == f->calls) decam_force_stop(f->ctx);
    return f->fail_at_call == (int)f->calls ? 7 : 0;
}

static float IMAGE[W * H * C];

static decam_ctx *make(fake_model *f) {
    decam_ctx *ctx = decam_create();
    assert_non_null(ctx);
    f->ctx = ctx;
    assert_int_equal(decam_set_model(ctx, fake, f), DECAM_OK);
    for (int i = 0; i < W * H * C; i++)
        IMAGE[i] = 1.0f;
    return ctx;
}

static run_spec spec_of(uint64_t budget, size_t cap, int threads, decam_stats *stats) {
    return (run_spec){.who = "test",
                      .image = IMAGE,
                      .shape = {W, H, C, DECAM_LAYOUT_HWC},
                      .budget = budget,
                      .batch_cap = cap,
                      .threads = threads,
                      .seed = 1,
                      .explain = 1,
                      .stats = stats};
}

/* A fake method: `n` images through the batcher, one progress step per
 * `per_step`. */
static decam_status fake_method(run *r, size_t n, size_t per_step) {
    for (size_t i = 0; i < n; i++) {
        static double sink[1024];
        float *slot = decam__batcher_slot(&r->batch);
        for (size_t v = 0; v < r->values; v++)
            slot[v] = r->image[v];
        FORWARD_IF_ERROR(decam__batcher_submit(&r->batch, &sink[i % 1024]));
        if ((i + 1) % per_step == 0) {
            FORWARD_IF_ERROR(decam__batcher_flush(&r->batch));
            FORWARD_IF_ERROR(decam__run_progress(r, (double)i, NAN));
        }
    }
    return decam__batcher_flush(&r->batch);
}

static void test_batches_are_cut_at_the_cap_and_counted(void **state) {
    (void)state;
    fake_model f = {0};
    decam_ctx *ctx = make(&f);
    decam_stats stats = {.size = sizeof stats};
    const run_spec spec = spec_of(20, 3, 1, &stats);
    run r;
    assert_int_equal(decam__run_begin(&r, ctx, &spec), DECAM_OK);
    assert_true(ctx->busy);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_SEED, 3), DECAM_ERR_BUSY);
    assert_int_equal(fake_method(&r, 7, 100), DECAM_OK);
    /* 7 images in calls of 3, 3 and 1. */
    assert_int_equal(f.calls, 3);
    assert_int_equal(f.largest, 3);
    /* Left for the method: 20 less 7 spent, less the final map's two. */
    assert_int_equal(run_queries_left(&r), 11);
    assert_int_equal(decam__run_end(&r, DECAM_OK), DECAM_OK);
    assert_false(ctx->busy);
    assert_int_equal(stats.queries, 7);
    assert_int_equal(stats.model_calls, 3);
    assert_true(stats.library_seconds >= 0 && stats.model_seconds >= 0);
    decam_free(ctx);
}

static void test_budget_left_never_underflows(void **state) {
    (void)state;
    fake_model f = {0};
    decam_ctx *ctx = make(&f);
    decam_stats stats = {.size = sizeof stats};
    const run_spec spec = spec_of(4, 8, 1, &stats);
    run r;
    assert_int_equal(decam__run_begin(&r, ctx, &spec), DECAM_OK);
    assert_int_equal(decam__run_score_full(&r), DECAM_OK);
    assert_int_equal(stats.score_full, 1.0);
    assert_int_equal(run_queries_left(&r), 1);
    assert_int_equal(fake_method(&r, 5, 100), DECAM_OK);
    assert_int_equal(run_queries_left(&r), 0);
    decam__run_end(&r, DECAM_OK);
    decam_free(ctx);
}

static int stop_after_two(void *user, const decam_progress *p) {
    (void)user;
    assert_true(p->size == sizeof *p);
    return p->generation == 2;
}

static void test_progress_counts_steps_and_cancels(void **state) {
    (void)state;
    fake_model f = {0};
    decam_ctx *ctx = make(&f);
    assert_int_equal(decam_set_progress(ctx, stop_after_two, NULL), DECAM_OK);
    decam_stats stats = {.size = sizeof stats};
    const run_spec spec = spec_of(100, 4, 1, &stats);
    run r;
    assert_int_equal(decam__run_begin(&r, ctx, &spec), DECAM_OK);
    assert_int_equal(fake_method(&r, 40, 4), DECAM_ERR_CANCELLED);
    assert_int_equal(decam__run_end(&r, DECAM_ERR_CANCELLED), DECAM_ERR_CANCELLED);
    assert_int_equal(stats.generations, 2);
    assert_int_equal(stats.queries, 8);
    assert_int_equal(stats.termination, DECAM_TERMINATION_CANCELLED);
    decam_free(ctx);
}

static void test_force_stop_ends_the_run_after_the_model_call(void **state) {
    (void)state;
    fake_model f = {.stop_at_call = 2};
    decam_ctx *ctx = make(&f);
    decam_stats stats = {.size = sizeof stats};
    const run_spec spec = spec_of(100, 5, 1, &stats);
    run r;
    assert_int_equal(decam__run_begin(&r, ctx, &spec), DECAM_OK);
    decam_status st = fake_method(&r, 30, 100);
    assert_int_equal(st, DECAM_ERR_CANCELLED);
    decam__run_end(&r, st);
    assert_int_equal(stats.queries, 10);
    assert_int_equal(stats.termination, DECAM_TERMINATION_FORCED);
    /* The next run starts with the flag cleared. */
    assert_int_equal(decam__run_begin(&r, ctx, &spec), DECAM_OK);
    assert_int_equal(fake_method(&r, 3, 100), DECAM_OK);
    decam__run_end(&r, DECAM_OK);
    decam_free(ctx);
}

static void test_a_failing_model_is_reported_with_its_value(void **state) {
    (void)state;
    fake_model f = {.fail_at_call = 1};
    decam_ctx *ctx = make(&f);
    decam_stats stats = {.size = sizeof stats};
    const run_spec spec = spec_of(100, 5, 1, &stats);
    run r;
    assert_int_equal(decam__run_begin(&r, ctx, &spec), DECAM_OK);
    decam_status st = fake_method(&r, 5, 100);
    assert_int_equal(st, DECAM_ERR_MODEL_FAILED);
    assert_non_null(strstr(decam_errmsg(ctx), "returned 7"));
    decam__run_end(&r, st);
    assert_int_equal(stats.termination, DECAM_TERMINATION_ERROR);
    decam_free(ctx);
}

typedef struct coverage {
    int hits[1000];
    int workers_seen[POOL_MAX_THREADS];
} coverage;

static void mark(void *job, size_t first, size_t last, int worker) {
    coverage *c = job;
    for (size_t i = first; i < last; i++)
        c->hits[i]++;
    c->workers_seen[worker] = 1;
}

static void test_the_pool_is_made_once_and_covers_every_index(void **state) {
    (void)state;
    fake_model f = {0};
    decam_ctx *ctx = make(&f);
    decam_stats stats = {.size = sizeof stats};
    const run_spec spec = spec_of(100, 5, 4, &stats);
    run r;
    assert_int_equal(decam__run_begin(&r, ctx, &spec), DECAM_OK);
    pool *first = ctx->pool;
    assert_non_null(first);
    assert_int_equal(decam__pool_threads(first), 4);
    for (int round = 0; round < 50; round++) {
        static coverage c;
        memset(&c, 0, sizeof c);
        size_t n = (size_t)(round * 17 % 1000);
        decam__run_parallel(&r, n, mark, &c);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(c.hits[i], 1);
        for (size_t i = n; i < 1000; i++)
            assert_int_equal(c.hits[i], 0);
    }
    decam__run_end(&r, DECAM_OK);
    /* Kept for the next run with the same thread count; made again for
     * another count. */
    assert_int_equal(decam__run_begin(&r, ctx, &spec), DECAM_OK);
    assert_ptr_equal(ctx->pool, first);
    decam__run_end(&r, DECAM_OK);
    const run_spec two = spec_of(100, 5, 2, &stats);
    assert_int_equal(decam__run_begin(&r, ctx, &two), DECAM_OK);
    assert_int_equal(decam__pool_threads(ctx->pool), 2);
    decam__run_end(&r, DECAM_OK);
    decam_free(ctx);
}

/* ---- DE-CAM's search on a run of its own --------------------------------- */

static decam_status search_on(decam_ctx *ctx, uint64_t budget, int threads,
                              const search_config *cfg, decam_stats *stats, float *map) {
    const run_spec spec = spec_of(budget, (size_t)cfg->de.np, threads, stats);
    const baseline_spec base = {.kind = DECAM_BASELINE_CONSTANT, .value = 0};
    run r;
    decam_status st = decam__run_begin(&r, ctx, &spec);
    if (st == DECAM_OK) st = decam__run_make_baseline(&r, &base);
    if (st == DECAM_OK) st = decam__run_score_full(&r);
    if (st == DECAM_OK) st = decam__search_run(&r, cfg);
    if (st == DECAM_OK) memcpy(map, r.map, sizeof(float) * W * H);
    return decam__run_end(&r, st);
}

static void default_config(search_config *cfg) {
    double p[PARAM_SLOTS];
    decam__params_set_defaults(p);
    p[PS_POPULATION] = 12;
    decam__search_configure(p, NULL, cfg);
}

static void test_search_finds_the_scored_quarter_on_a_fake_run(void **state) {
    (void)state;
    fake_model f = {0};
    decam_ctx *ctx = make(&f);
    search_config cfg;
    default_config(&cfg);
    decam_stats stats = {.size = sizeof stats};
    float map[W * H], map2[W * H];
    assert_int_equal(search_on(ctx, 200, 1, &cfg, &stats, map), DECAM_OK);
    /* The fixed three are the caller's: the search spends the rest less
     * the final two, in whole candidates. */
    assert_int_equal(stats.queries, 198);
    assert_int_equal(stats.termination, DECAM_TERMINATION_BUDGET);
    assert_true(stats.generations >= 16);
    double inside = 0, outside = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            *(x < W / 2 && y < H / 2 ? &inside : &outside) += map[y * W + x];
    assert_true(inside / (W / 2 * H / 2) > 2 * outside / (W * H - W / 2 * H / 2));
    /* The same map on four threads. */
    assert_int_equal(search_on(ctx, 200, 4, &cfg, &stats, map2), DECAM_OK);
    assert_memory_equal(map, map2, sizeof map);
    decam_free(ctx);
}

static void test_search_stops_at_its_generation_limit(void **state) {
    (void)state;
    fake_model f = {0};
    decam_ctx *ctx = make(&f);
    search_config cfg;
    default_config(&cfg);
    cfg.max_generations = 3;
    cfg.assembly = DECAM_ASSEMBLY_BEST;
    decam_stats stats = {.size = sizeof stats};
    float map[W * H];
    assert_int_equal(search_on(ctx, 1000, 1, &cfg, &stats, map), DECAM_OK);
    assert_int_equal(stats.generations, 3);
    assert_int_equal(stats.queries, 1 + 3 * 12);
    assert_int_equal(stats.termination, DECAM_TERMINATION_GENERATIONS);
    assert_int_equal(decam__search_min_queries(&cfg), 12 + RUN_FIXED_QUERIES);
    decam_free(ctx);
}

static void test_every_method_has_a_row_named_as_its_value(void **state) {
    (void)state;
    for (int m = 0; m < DECAM_METHOD_COUNT; m++) {
        const method_info *row = decam__method_lookup((decam_method)m);
        assert_non_null(row);
        assert_string_equal(row->name, decam_value_name(DECAM_PARAM_METHOD, m));
        assert_non_null(row->min_queries);
        assert_non_null(row->batch_cap);
        assert_non_null(row->run);
    }
    assert_null(decam__method_lookup(DECAM_METHOD_COUNT));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batches_are_cut_at_the_cap_and_counted),
        cmocka_unit_test(test_budget_left_never_underflows),
        cmocka_unit_test(test_progress_counts_steps_and_cancels),
        cmocka_unit_test(test_force_stop_ends_the_run_after_the_model_call),
        cmocka_unit_test(test_a_failing_model_is_reported_with_its_value),
        cmocka_unit_test(test_the_pool_is_made_once_and_covers_every_index),
        cmocka_unit_test(test_search_finds_the_scored_quarter_on_a_fake_run),
        cmocka_unit_test(test_search_stops_at_its_generation_limit),
        cmocka_unit_test(test_every_method_has_a_row_named_as_its_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
