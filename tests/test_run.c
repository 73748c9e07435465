/* test_run.c - the run and session layers alone (phases, budget, requests
 * cut at the batch size, items started as requests need them,
 * cancellation, statistics, the thread pool), with a fake method; and
 * the method table. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "context.h"
#include "method.h"
#include "params.h"
#include "run.h"
#include "session.h"

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

/* ---- a fake method: FAKE_TOTAL images, FAKE_STEP per want --------------- */

static size_t FAKE_TOTAL, FAKE_STEP;
static size_t live_runs, most_live_runs; /* runs whose method has started */

typedef struct fake_state {
    size_t done, total;
    double *scores;
    double sum; /* of the scores taken in */
} fake_state;

/* Work done per worker, as the fills and the run's parallel loops report
 * it, and the thread each worker ran on. */
static size_t images_by_worker[POOL_MAX_THREADS], ranges_by_worker[POOL_MAX_THREADS];
static pthread_t thread_of_worker[POOL_MAX_THREADS];

static void fake_fill(void *job, size_t k, float *slot, int worker) {
    images_by_worker[worker]++;
    thread_of_worker[worker] = pthread_self();
    const run *r = job;
    for (size_t v = 0; v < r->values; v++)
        slot[v] = r->image[v] * (float)(k % 2);
}

static uint64_t fake_min(const double *p, int w, int h) {
    (void)p, (void)w, (void)h;
    return RUN_FIXED_QUERIES + 1;
}

static size_t fake_step_images(const double *p) {
    (void)p;
    return FAKE_STEP;
}

static int fake_several(const double *p) {
    (void)p;
    return 1;
}

static void fake_want(run *r) {
    fake_state *st = r->state;
    size_t n = st->total - st->done < FAKE_STEP ? st->total - st->done : FAKE_STEP;
    decam__run_want(r, n, fake_fill, r, st->scores);
}

static decam_status fake_start(run *r, const double *p, const method_inputs *in) {
    (void)p, (void)in;
    fake_state *st = mem_calloc(r->mem, 1, sizeof *st);
    RUN_FAIL_IF(!st, r, DECAM_ERR_OUT_OF_MEMORY, "out of memory");
    r->state = st;
    st->scores = mem_alloc(r->mem, FAKE_STEP * r->targets, sizeof *st->scores);
    RUN_FAIL_IF(!st->scores, r, DECAM_ERR_OUT_OF_MEMORY, "out of memory");
    uint64_t left = run_queries_left(r);
    st->total = FAKE_TOTAL < left ? FAKE_TOTAL : (size_t)left;
    if (++live_runs > most_live_runs) most_live_runs = live_runs;
    if (st->total > 0) fake_want(r);
    return DECAM_OK;
}

static void fake_range(void *job, size_t first, size_t last, int worker) {
    (void)job, (void)first, (void)last;
    ranges_by_worker[worker]++;
}

static decam_status fake_advance(run *r, size_t scored, int stopping) {
    fake_state *st = r->state;
    decam__run_parallel(r, 8, fake_range, NULL);
    for (size_t i = 0; i < scored * r->targets; i++)
        st->sum += st->scores[i];
    st->done += scored;
    if (stopping) return DECAM_OK;
    FORWARD_IF_ERROR(decam__run_progress(r, (double)st->done, NAN));
    if (st->done < st->total) fake_want(r);
    return DECAM_OK;
}

/* Pixel i of target t's map: i + t, plus the images taken in. */
static decam_status fake_finish(run *r) {
    fake_state *st = r->state;
    for (size_t t = 0; t < r->targets; t++)
        for (size_t i = 0; i < r->hw; i++)
            r->map[t * r->hw + i] = (float)(i + t + st->done);
    return DECAM_OK;
}

static void fake_release(run *r) {
    fake_state *st = r->state;
    if (!st) return;
    live_runs--;
    mem_free(r->mem, st->scores);
    mem_free(r->mem, st);
    r->state = NULL;
}

static const method_info FAKE = {
    .name = "fake",
    .min_queries = fake_min,
    .min_queries_what = "one image + 3",
    .step_images = fake_step_images,
    .several_targets = fake_several,
    .start = fake_start,
    .advance = fake_advance,
    .finish = fake_finish,
    .release = fake_release,
};

/* A session of n items of the fake method, answered by the model callback
 * as decam_explain_items() does. */
static decam_status fake_session(decam_ctx *ctx, decam_item *items, size_t n) {
    decam_status st = decam__session_begin_method(ctx, "test", &FAKE, items, n, SESSION_CALLBACK);
    if (st != DECAM_OK) return st;
    return decam__session_drive(ctx->session);
}

static float MAPS[8][W * H];

static decam_item item_of(size_t i) {
    return (decam_item){
        .image = IMAGE, .width = W, .height = H, .channels = C, .saliency_out = MAPS[i]};
}

static void test_requests_are_cut_at_the_batch_size_and_counted(void **state) {
    (void)state;
    fake_model f = {0};
    decam_ctx *ctx = make(&f);
    FAKE_TOTAL = 7, FAKE_STEP = 7;
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, 3), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 20), DECAM_OK);
    decam_item it = item_of(0);
    decam_stats stats = {.size = sizeof stats};
    it.stats = &stats;
    assert_int_equal(fake_session(ctx, &it, 1), DECAM_OK);
    assert_false(ctx->busy);
    /* The full image, 7 images in calls of 3, 3 and 1, the final two. */
    assert_int_equal(f.calls, 5);
    assert_int_equal(f.largest, 3);
    assert_int_equal(stats.queries, 10);
    assert_int_equal(stats.model_calls, 5);
    assert_int_equal(stats.generations, 1); /* one want, one step */
    assert_true(stats.library_seconds >= 0 && stats.model_seconds >= 0);
    decam_stats total = {.size = sizeof total};
    assert_int_equal(decam_get_stats(ctx, &total), DECAM_OK);
    assert_memory_equal(&total, &stats, sizeof stats - 2 * sizeof(double));
    decam_free(ctx);
}

static void test_the_budget_left_never_underflows(void **state) {
    (void)state;
    fake_model f = {0};
    decam_ctx *ctx = make(&f);
    FAKE_TOTAL = 100, FAKE_STEP = 5;
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 4), DECAM_OK);
    decam_item it = item_of(0);
    assert_int_equal(fake_session(ctx, &it, 1), DECAM_OK);
    /* 4 = the full image, one image for the method, the final two. */
    assert_int_equal(f.images, 4);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 3), DECAM_OK);
    assert_int_equal(fake_session(ctx, &it, 1), DECAM_ERR_BUDGET_TOO_SMALL);
    assert_int_equal(f.images, 4);
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
    FAKE_TOTAL = 40, FAKE_STEP = 4;
    assert_int_equal(decam_set_progress(ctx, stop_after_two, NULL), DECAM_OK);
    decam_item it = item_of(0);
    assert_int_equal(fake_session(ctx, &it, 1), DECAM_ERR_CANCELLED);
    assert_non_null(strstr(decam_errmsg(ctx), "progress callback"));
    decam_stats stats = {.size = sizeof stats};
    assert_int_equal(decam_get_stats(ctx, &stats), DECAM_OK);
    assert_int_equal(stats.generations, 2);
    assert_int_equal(stats.queries, 1 + 8);
    assert_int_equal(stats.termination, DECAM_TERMINATION_CANCELLED);
    /* The map of the 8 images taken in, normalised: pixel i is i + 8. */
    assert_true(MAPS[0][0] == 0.0f && MAPS[0][W * H - 1] == 1.0f);
    decam_free(ctx);
}

static void test_force_stop_ends_the_run_after_the_model_call(void **state) {
    (void)state;
    fake_model f = {.stop_at_call = 3};
    decam_ctx *ctx = make(&f);
    FAKE_TOTAL = 30, FAKE_STEP = 5;
    decam_item it = item_of(0);
    assert_int_equal(fake_session(ctx, &it, 1), DECAM_ERR_CANCELLED);
    decam_stats stats = {.size = sizeof stats};
    assert_int_equal(decam_get_stats(ctx, &stats), DECAM_OK);
    assert_int_equal(stats.queries, 1 + 10);
    assert_int_equal(stats.termination, DECAM_TERMINATION_FORCED);
    /* The next run starts with the flag cleared. */
    f.stop_at_call = 0;
    assert_int_equal(fake_session(ctx, &it, 1), DECAM_OK);
    decam_free(ctx);
}

static void test_a_failing_model_is_reported_with_its_value(void **state) {
    (void)state;
    fake_model f = {.fail_at_call = 2};
    decam_ctx *ctx = make(&f);
    FAKE_TOTAL = 5, FAKE_STEP = 5;
    decam_item it = item_of(0);
    assert_int_equal(fake_session(ctx, &it, 1), DECAM_ERR_MODEL_FAILED);
    assert_non_null(strstr(decam_errmsg(ctx), "returned 7"));
    decam_stats stats = {.size = sizeof stats};
    assert_int_equal(decam_get_stats(ctx, &stats), DECAM_OK);
    assert_int_equal(stats.termination, DECAM_TERMINATION_ERROR);
    assert_int_equal(stats.queries, 6);
    assert_false(ctx->busy);
    assert_null(ctx->session);
    decam_free(ctx);
}

static void test_items_start_as_requests_need_them(void **state) {
    (void)state;
    fake_model f = {0};
    decam_ctx *ctx = make(&f);
    FAKE_TOTAL = 12, FAKE_STEP = 4;
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, 10), DECAM_OK);
    decam_item items[8];
    decam_stats stats[8];
    for (size_t i = 0; i < 8; i++) {
        items[i] = item_of(i);
        stats[i] = (decam_stats){.size = sizeof stats[i]};
        items[i].stats = &stats[i];
    }
    live_runs = most_live_runs = 0;
    assert_int_equal(fake_session(ctx, items, 8), DECAM_OK);
    /* Runs of 4 images a step fill a request of 10 three at a time. */
    assert_int_equal(most_live_runs, 3);
    assert_int_equal(live_runs, 0);
    assert_int_equal(f.largest, 10);
    assert_int_equal(f.images, 8 * (1 + 12 + 2));
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(stats[i].queries, 15);
        assert_int_equal(stats[i].termination, DECAM_TERMINATION_NONE);
        assert_true(MAPS[i][W * H - 1] == 1.0f);
    }
    /* Fewer calls than the 8 * 5 of one item at a time. */
    assert_true(f.calls < 8 * 5);
    decam_stats total = {.size = sizeof total};
    assert_int_equal(decam_get_stats(ctx, &total), DECAM_OK);
    assert_int_equal(total.queries, 8 * 15);
    assert_int_equal(total.model_calls, f.calls);
    decam_free(ctx);
}

static void test_the_pool_is_made_once_and_kept(void **state) {
    (void)state;
    fake_model f = {0};
    decam_ctx *ctx = make(&f);
    FAKE_TOTAL = 5, FAKE_STEP = 5;
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_THREADS, 4), DECAM_OK);
    decam_item it = item_of(0);
    assert_int_equal(fake_session(ctx, &it, 1), DECAM_OK);
    pool *first = ctx->pool;
    assert_non_null(first);
    assert_int_equal(decam__pool_threads(first), 4);
    assert_int_equal(fake_session(ctx, &it, 1), DECAM_OK);
    assert_ptr_equal(ctx->pool, first);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_THREADS, 2), DECAM_OK);
    assert_int_equal(fake_session(ctx, &it, 1), DECAM_OK);
    assert_int_equal(decam__pool_threads(ctx->pool), 2);
    decam_free(ctx);
}

/* DECAM_PARAM_THREADS has an effect: the workers build images and run the
 * method's loops, each on a thread of its own. */
static void test_the_workers_do_their_share_of_the_work(void **state) {
    (void)state;
    fake_model f = {0};
    decam_ctx *ctx = make(&f);
    FAKE_TOTAL = 40, FAKE_STEP = 8;
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_THREADS, 4), DECAM_OK);
    memset(images_by_worker, 0, sizeof images_by_worker);
    memset(ranges_by_worker, 0, sizeof ranges_by_worker);
    decam_item it = item_of(0);
    assert_int_equal(fake_session(ctx, &it, 1), DECAM_OK);
    assert_int_equal(decam__pool_missing(ctx->pool), 0);
    size_t images = 0;
    for (int w = 0; w < 4; w++) {
        /* 5 requests of 8 images in 4 ranges of 2; 5 steps of 4 ranges. */
        assert_true(images_by_worker[w] >= 10);
        assert_int_equal(ranges_by_worker[w], 5);
        images += images_by_worker[w];
        for (int v = 0; v < w; v++)
            assert_false(pthread_equal(thread_of_worker[w], thread_of_worker[v]));
    }
    assert_int_equal(images, FAKE_TOTAL);
    /* One thread: everything on the calling thread, as worker 0. */
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_THREADS, 1), DECAM_OK);
    memset(images_by_worker, 0, sizeof images_by_worker);
    assert_int_equal(fake_session(ctx, &it, 1), DECAM_OK);
    assert_int_equal(images_by_worker[0], FAKE_TOTAL);
    assert_int_equal(images_by_worker[1], 0);
    assert_true(pthread_equal(thread_of_worker[0], pthread_self()));
    decam_free(ctx);
}

static void test_every_method_has_a_row_named_as_its_value(void **state) {
    (void)state;
    for (int m = 0; m < DECAM_METHOD_COUNT; m++) {
        const method_info *row = decam__method_lookup((decam_method)m);
        assert_non_null(row);
        assert_string_equal(row->name, decam_value_name(DECAM_PARAM_METHOD, m));
        assert_non_null(row->min_queries);
        assert_non_null(row->step_images);
        assert_non_null(row->several_targets);
        assert_non_null(row->start);
        assert_non_null(row->advance);
        assert_non_null(row->finish);
        assert_non_null(row->release);
    }
    assert_null(decam__method_lookup(DECAM_METHOD_COUNT));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_are_cut_at_the_batch_size_and_counted),
        cmocka_unit_test(test_the_budget_left_never_underflows),
        cmocka_unit_test(test_progress_counts_steps_and_cancels),
        cmocka_unit_test(test_force_stop_ends_the_run_after_the_model_call),
        cmocka_unit_test(test_a_failing_model_is_reported_with_its_value),
        cmocka_unit_test(test_items_start_as_requests_need_them),
        cmocka_unit_test(test_the_pool_is_made_once_and_kept),
        cmocka_unit_test(test_the_workers_do_their_share_of_the_work),
        cmocka_unit_test(test_every_method_has_a_row_named_as_its_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
