/* test_items.c - several images in one run, several targets from one set
 * of queries, and the caller-driven API (decam_begin, decam_ask,
 * decam_tell, decam_finish, decam_cancel): each new path gives, bit for
 * bit, the maps of decam_explain() where decam.h says it does, and
 * refuses what it cannot do with a clear status. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "counting.h"

#include "decam.h"

enum { W = 20, H = 16, C = 2, OUTPUTS = 3, N = 5 };

/* Output k is the mean of the first channel over one third of the rows
 * (k = 0 top, 2 bottom), plus a little of the second channel: each
 * output looks at a region of its own. */
typedef struct model_state {
    size_t calls, images, largest;
    int nan_at_call; /* a NaN for output 1 in this call (0: never) */
} model_state;

static void score_image(const float *im, int w, int h, float *out) {
    for (int k = 0; k < OUTPUTS; k++) {
        double sum = 0;
        int y0 = k * h / OUTPUTS, y1 = (k + 1) * h / OUTPUTS;
        for (int y = y0; y < y1; y++)
            for (int x = 0; x < w; x++)
                sum += im[(y * w + x) * C] + 0.1 * im[(y * w + x) * C + 1];
        out[k] = (float)(sum / ((y1 - y0) * w));
    }
}

static int model(void *user, const float *images, size_t n, float *scores) {
    model_state *m = user;
    m->calls++;
    m->images += n;
    if (n > m->largest) m->largest = n;
    for (size_t i = 0; i < n; i++)
        score_image(images + i * W * H * C, W, H, scores + i * OUTPUTS);
    if (m->nan_at_call == (int)m->calls) scores[1] = NAN;
    return 0;
}

static float IMAGES[N][W * H * C];

static void make_images(void) {
    for (int i = 0; i < N; i++)
        for (int p = 0; p < W * H * C; p++)
            IMAGES[i][p] = (float)((p * 7 + i * 13) % 17) / 16.0f;
}

static decam_ctx *make(model_state *m, decam_method method) {
    make_images();
    decam_ctx *ctx = decam_create();
    assert_non_null(ctx);
    assert_int_equal(decam_set_model(ctx, model, m), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, OUTPUTS), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_METHOD, method), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 300), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_POPULATION, 16), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_GRID_WIDTH, 5), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_GRID_HEIGHT, 4), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_SEED, 11), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_OCCLUSION_WINDOW, 6), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_OCCLUSION_STRIDE, 3), DECAM_OK);
    return ctx;
}

/* decam_explain() of image i for `target`. */
static void single(decam_ctx *ctx, int i, int target, float *map) {
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_TARGET, target), DECAM_OK);
    assert_int_equal(decam_explain(ctx, IMAGES[i], W, H, C, map), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_TARGET, 0), DECAM_OK);
}

static decam_item item_of(int i, float *out) {
    return (decam_item){
        .image = IMAGES[i], .width = W, .height = H, .channels = C, .saliency_out = out};
}

static int not_flat(const float *map) {
    float lo = map[0], hi = map[0];
    for (int p = 0; p < W * H; p++) {
        if (!(map[p] >= 0.0f && map[p] <= 1.0f)) return 0;
        lo = map[p] < lo ? map[p] : lo;
        hi = map[p] > hi ? map[p] : hi;
    }
    return hi > lo;
}

/* ---- many images per model call -------------------------------------- */

static void many_images_match_single_runs(decam_method method, int threads) {
    model_state m = {0};
    decam_ctx *ctx = make(&m, method);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_THREADS, threads), DECAM_OK);
    static float alone[N][W * H], together[N][W * H];
    uint64_t queries[N];
    for (int i = 0; i < N; i++) {
        single(ctx, i, 0, alone[i]);
        decam_stats st = {.size = sizeof st};
        assert_int_equal(decam_get_stats(ctx, &st), DECAM_OK);
        queries[i] = st.queries;
    }
    const size_t calls_alone = m.calls;
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, 256), DECAM_OK);
    decam_item items[N];
    decam_stats stats[N];
    for (int i = 0; i < N; i++) {
        items[i] = item_of(i, together[i]);
        stats[i] = (decam_stats){.size = sizeof stats[i]};
        items[i].stats = &stats[i];
    }
    m.calls = m.images = m.largest = 0;
    assert_int_equal(decam_explain_items(ctx, items, N), DECAM_OK);
    for (int i = 0; i < N; i++) {
        assert_memory_equal(alone[i], together[i], sizeof alone[i]);
        assert_true(not_flat(together[i]));
        assert_int_equal(stats[i].queries, queries[i]);
        assert_int_equal(stats[i].termination, DECAM_TERMINATION_BUDGET);
    }
    /* The same queries in fewer, fuller calls. */
    uint64_t all = 0;
    for (int i = 0; i < N; i++)
        all += queries[i];
    assert_int_equal(m.images, all);
    assert_true(m.calls < calls_alone);
    assert_true(m.largest > 64);
    decam_stats total = {.size = sizeof total};
    assert_int_equal(decam_get_stats(ctx, &total), DECAM_OK);
    assert_int_equal(total.queries, all);
    assert_int_equal(total.model_calls, m.calls);
    decam_free(ctx);
}

static void test_many_images_decam(void **state) {
    (void)state;
    many_images_match_single_runs(DECAM_METHOD_DECAM, 1);
    many_images_match_single_runs(DECAM_METHOD_DECAM, 3);
}

static void test_many_images_rise(void **state) {
    (void)state;
    many_images_match_single_runs(DECAM_METHOD_RISE, 1);
}

static void test_many_images_occlusion(void **state) {
    (void)state;
    many_images_match_single_runs(DECAM_METHOD_OCCLUSION, 2);
}

/* ---- several targets from one set of queries ---------------------------- */

static const uint32_t TARGETS[3] = {2, 0, 1};

static void several_targets(decam_method method, int every_map_exact) {
    model_state m = {0};
    decam_ctx *ctx = make(&m, method);
    static float alone[3][W * H], maps[3][W * H];
    for (int t = 0; t < 3; t++)
        single(ctx, 1, (int)TARGETS[t], alone[t]);
    const size_t images_alone = m.images;
    m.images = 0;
    decam_item it = item_of(1, maps[0]);
    it.targets = TARGETS;
    it.n_targets = 3;
    assert_int_equal(decam_explain_items(ctx, &it, 1), DECAM_OK);
    /* One budget for the three. */
    assert_int_equal(m.images * 3, images_alone);
    assert_memory_equal(alone[0], maps[0], sizeof maps[0]);
    for (int t = 1; t < 3; t++) {
        assert_true(not_flat(maps[t]));
        if (every_map_exact) assert_memory_equal(alone[t], maps[t], sizeof maps[t]);
    }
    /* The raw map is the first target's, and so the single run's. */
    int rw = 0, rh = 0;
    assert_int_equal(decam_get_raw_map(ctx, NULL, 0, &rw, &rh), DECAM_OK);
    assert_int_equal(rw * rh, W * H);
    decam_free(ctx);
}

static void test_several_targets_rise_occlusion_exact(void **state) {
    (void)state;
    several_targets(DECAM_METHOD_RISE, 1);
    several_targets(DECAM_METHOD_OCCLUSION, 1);
}

static void test_several_targets_decam(void **state) {
    (void)state;
    several_targets(DECAM_METHOD_DECAM, 0);
    /* A secondary map is assembled for its own target: it differs from the
     * first map and finds its own region (target 0: the top third). */
    model_state m = {0};
    decam_ctx *ctx = make(&m, DECAM_METHOD_DECAM);
    static float maps[3][W * H];
    decam_item it = item_of(2, maps[0]);
    it.targets = TARGETS;
    it.n_targets = 3;
    assert_int_equal(decam_explain_items(ctx, &it, 1), DECAM_OK);
    double top = 0, bottom = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            if (y < H / 3) top += maps[1][y * W + x];
            if (y >= 2 * H / 3) bottom += maps[1][y * W + x];
        }
    assert_true(top > bottom);
    assert_memory_not_equal(maps[0], maps[1], sizeof maps[0]);
    /* The regression assembles per target too; the best candidate does not. */
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_ASSEMBLY, DECAM_ASSEMBLY_REGRESSION),
                     DECAM_OK);
    assert_int_equal(decam_explain_items(ctx, &it, 1), DECAM_OK);
    assert_true(not_flat(maps[2]));
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_ASSEMBLY, DECAM_ASSEMBLY_BEST), DECAM_OK);
    assert_int_equal(decam_explain_items(ctx, &it, 1), DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(ctx), "gives one map"));
    decam_free(ctx);
}

/* ---- the caller-driven run ------------------------------------------- */

/* Answers every request with the model until none is left. */
static decam_status drive(decam_ctx *ctx, size_t *requests) {
    static float scores[4096 * OUTPUTS];
    for (;;) {
        decam_request rq = {.size = sizeof rq};
        decam_status st = decam_ask(ctx, &rq);
        if (st != DECAM_OK) return st;
        if (rq.n == 0) return DECAM_OK;
        assert_int_equal(rq.n_outputs, OUTPUTS);
        assert_true(rq.n <= 4096);
        for (size_t i = 0; i < rq.n; i++)
            score_image(rq.images + i * (size_t)rq.width * rq.height * rq.channels, rq.width,
                        rq.height, scores + i * OUTPUTS);
        if (requests) (*requests)++;
        st = decam_tell(ctx, scores, rq.n);
        if (st != DECAM_OK) return st;
    }
}

static void test_ask_tell_gives_the_callbacks_maps(void **state) {
    (void)state;
    for (int method = 0; method < DECAM_METHOD_COUNT; method++) {
        model_state m = {0};
        decam_ctx *ctx = make(&m, (decam_method)method);
        static float expected[W * H], got[W * H];
        single(ctx, 3, 0, expected);
        decam_stats want = {.size = sizeof want};
        assert_int_equal(decam_get_stats(ctx, &want), DECAM_OK);
        decam_item it = item_of(3, got);
        size_t requests = 0;
        assert_int_equal(decam_begin(ctx, &it, 1), DECAM_OK);
        assert_int_equal(drive(ctx, &requests), DECAM_OK);
        assert_int_equal(decam_finish(ctx), DECAM_OK);
        assert_memory_equal(expected, got, sizeof got);
        decam_stats stats = {.size = sizeof stats};
        assert_int_equal(decam_get_stats(ctx, &stats), DECAM_OK);
        assert_int_equal(stats.queries, want.queries);
        assert_int_equal(stats.model_calls, requests);
        assert_int_equal(stats.generations, want.generations);
        assert_true(stats.score_keep == want.score_keep && stats.score_drop == want.score_drop);
        decam_free(ctx);
    }
}

/* A second image of another size, for the requests that never mix sizes. */
enum { W2 = 12, H2 = 9 };
static float SMALL[W2 * H2 * C];

static void test_ask_tell_takes_items_of_different_sizes(void **state) {
    (void)state;
    model_state m = {0};
    decam_ctx *ctx = make(&m, DECAM_METHOD_DECAM);
    for (int p = 0; p < W2 * H2 * C; p++)
        SMALL[p] = (float)(p % 5) / 4.0f;
    static float big_alone[W * H], small_alone[W2 * H2], big[W * H], small[W2 * H2];
    single(ctx, 0, 0, big_alone);
    /* The model callback knows one size: the small image alone is asked for. */
    decam_item one = {
        .image = SMALL, .width = W2, .height = H2, .channels = C, .saliency_out = small_alone};
    assert_int_equal(decam_begin(ctx, &one, 1), DECAM_OK);
    assert_int_equal(drive(ctx, NULL), DECAM_OK);
    assert_int_equal(decam_finish(ctx), DECAM_OK);
    decam_item items[2] = {
        item_of(0, big),
        {.image = SMALL, .width = W2, .height = H2, .channels = C, .saliency_out = small}};
    /* The callback cannot tell the sizes apart. */
    assert_int_equal(decam_explain_items(ctx, items, 2), DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(ctx), "decam_begin"));
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, 100), DECAM_OK);
    assert_int_equal(decam_begin(ctx, items, 2), DECAM_OK);
    assert_int_equal(drive(ctx, NULL), DECAM_OK);
    assert_int_equal(decam_finish(ctx), DECAM_OK);
    assert_memory_equal(big, big_alone, sizeof big);
    assert_memory_equal(small, small_alone, sizeof small);
    decam_free(ctx);
}

static int progress_seen;
static decam_ctx *progress_ctx;
static int check_progress(void *user, const decam_progress *p) {
    (void)user;
    assert_true(p->size == sizeof *p);
    assert_int_equal(p->items, 2);
    assert_true(p->item < 2);
    assert_true(p->items_done <= 1);
    /* The caller-driven calls are refused from a callback. */
    decam_request rq = {.size = sizeof rq};
    assert_int_equal(decam_ask(progress_ctx, &rq), DECAM_ERR_BUSY);
    assert_int_equal(decam_finish(progress_ctx), DECAM_ERR_BUSY);
    decam_cancel(progress_ctx); /* refused: nothing happens */
    progress_seen++;
    return 0;
}

static void test_the_run_is_guarded_and_reports_progress(void **state) {
    (void)state;
    model_state m = {0};
    decam_ctx *ctx = make(&m, DECAM_METHOD_RISE);
    static float maps[2][W * H];
    decam_item items[2] = {item_of(0, maps[0]), item_of(1, maps[1])};
    decam_request rq = {.size = sizeof rq};
    /* No run yet. */
    assert_int_equal(decam_ask(ctx, &rq), DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(ctx), "decam_begin"));
    assert_int_equal(decam_tell(ctx, NULL, 0), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_finish(ctx), DECAM_ERR_INVALID_ARGUMENT);
    decam_cancel(ctx); /* nothing to cancel */
    assert_int_equal(decam_begin(ctx, items, 2), DECAM_OK);
    /* Busy: no reconfiguring, no second run. */
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_SEED, 1), DECAM_ERR_BUSY);
    assert_int_equal(decam_explain(ctx, IMAGES[0], W, H, C, maps[0]), DECAM_ERR_BUSY);
    assert_int_equal(decam_begin(ctx, items, 2), DECAM_ERR_BUSY);
    /* A tell needs its request, of its size. */
    static float scores[4096 * OUTPUTS];
    assert_int_equal(decam_tell(ctx, scores, 1), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_ask(ctx, &rq), DECAM_OK);
    assert_true(rq.n > 0);
    decam_request again = {.size = sizeof again};
    assert_int_equal(decam_ask(ctx, &again), DECAM_OK);
    assert_true(again.n == rq.n && again.images == rq.images);
    assert_int_equal(decam_tell(ctx, scores, rq.n + 1), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_tell(ctx, NULL, rq.n), DECAM_ERR_INVALID_ARGUMENT);
    for (size_t i = 0; i < rq.n; i++)
        score_image(rq.images + i * W * H * C, W, H, scores + i * OUTPUTS);
    assert_int_equal(decam_tell(ctx, scores, rq.n), DECAM_OK);
    progress_ctx = ctx;
    progress_seen = 0;
    assert_int_equal(decam_set_progress(ctx, check_progress, NULL), DECAM_ERR_BUSY);
    assert_non_null(strstr(decam_errmsg(ctx), "decam_set_progress"));
    decam_cancel(ctx); /* a call that succeeds: it clears the last failure */
    assert_string_equal(decam_errmsg(ctx), "");
    assert_int_equal(decam_set_progress(ctx, check_progress, NULL), DECAM_OK);
    assert_int_equal(decam_begin(ctx, items, 2), DECAM_OK);
    assert_int_equal(drive(ctx, NULL), DECAM_OK);
    assert_int_equal(decam_finish(ctx), DECAM_OK);
    assert_true(progress_seen >= 2);
    /* A request of the wrong size of struct is refused. */
    assert_int_equal(decam_set_progress(ctx, NULL, NULL), DECAM_OK);
    assert_int_equal(decam_begin(ctx, items, 2), DECAM_OK);
    decam_request tiny = {.size = 1};
    assert_int_equal(decam_ask(ctx, &tiny), DECAM_ERR_INVALID_ARGUMENT);
    /* decam_free() ends a run in progress (ASan and valgrind check it
     * leaves nothing behind). */
    decam_free(ctx);
}

static void test_an_early_finish_cancels_with_the_maps_so_far(void **state) {
    (void)state;
    model_state m = {0};
    decam_ctx *ctx = make(&m, DECAM_METHOD_RISE);
    static float maps[2][W * H];
    for (int i = 0; i < 2 * W * H; i++)
        maps[i / (W * H)][i % (W * H)] = -1.0f;
    decam_item items[2] = {item_of(0, maps[0]), item_of(1, maps[1])};
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, 16), DECAM_OK);
    assert_int_equal(decam_begin(ctx, items, 2), DECAM_OK);
    static float scores[4096 * OUTPUTS];
    for (int k = 0; k < 4; k++) {
        decam_request rq = {.size = sizeof rq};
        assert_int_equal(decam_ask(ctx, &rq), DECAM_OK);
        for (size_t i = 0; i < rq.n; i++)
            score_image(rq.images + i * W * H * C, W, H, scores + i * OUTPUTS);
        assert_int_equal(decam_tell(ctx, scores, rq.n), DECAM_OK);
    }
    assert_int_equal(decam_finish(ctx), DECAM_ERR_CANCELLED);
    assert_non_null(strstr(decam_errmsg(ctx), "before it was complete"));
    assert_true(not_flat(maps[0]));
    for (int p = 0; p < W * H; p++)
        assert_true(maps[1][p] >= 0.0f && maps[1][p] <= 1.0f);
    decam_stats stats = {.size = sizeof stats};
    assert_int_equal(decam_get_stats(ctx, &stats), DECAM_OK);
    assert_int_equal(stats.termination, DECAM_TERMINATION_CANCELLED);
    assert_true(stats.queries > 0 && stats.queries < 2 * 300);
    /* The context is idle again. */
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_SEED, 1), DECAM_OK);
    /* decam_cancel() writes nothing. */
    assert_int_equal(decam_begin(ctx, items, 2), DECAM_OK);
    maps[0][0] = -2.0f;
    decam_request rq = {.size = sizeof rq};
    assert_int_equal(decam_ask(ctx, &rq), DECAM_OK);
    decam_cancel(ctx);
    assert_true(maps[0][0] == -2.0f);
    assert_int_equal(decam_get_stats(ctx, &stats), DECAM_OK);
    assert_int_equal(stats.termination, DECAM_TERMINATION_CANCELLED);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_SEED, 2), DECAM_OK);
    decam_free(ctx);
}

static void test_a_bad_score_stops_the_run(void **state) {
    (void)state;
    model_state m = {.nan_at_call = 2};
    decam_ctx *ctx = make(&m, DECAM_METHOD_OCCLUSION);
    static float maps[2][W * H];
    const uint32_t targets[2] = {0, 1};
    decam_item it = item_of(0, maps[0]);
    it.targets = targets;
    it.n_targets = 2;
    /* Through the callback: a NaN for a target is refused. */
    assert_int_equal(decam_explain_items(ctx, &it, 1), DECAM_ERR_BAD_SCORE);
    assert_non_null(strstr(decam_errmsg(ctx), "NaN for output 1"));
    /* And through decam_tell(), after which nothing more is asked. */
    assert_int_equal(decam_begin(ctx, &it, 1), DECAM_OK);
    static float scores[4096 * OUTPUTS];
    decam_request rq = {.size = sizeof rq};
    assert_int_equal(decam_ask(ctx, &rq), DECAM_OK);
    for (size_t i = 0; i < rq.n * OUTPUTS; i++)
        scores[i] = i == 1 ? INFINITY : 0.5f;
    assert_int_equal(decam_tell(ctx, scores, rq.n), DECAM_ERR_BAD_SCORE);
    assert_int_equal(decam_ask(ctx, &rq), DECAM_OK);
    assert_int_equal(rq.n, 0);
    assert_int_equal(decam_tell(ctx, scores, 1), DECAM_ERR_BAD_SCORE);
    assert_int_equal(decam_finish(ctx), DECAM_ERR_BAD_SCORE);
    assert_non_null(strstr(decam_errmsg(ctx), "infinite"));
    decam_stats stats = {.size = sizeof stats};
    assert_int_equal(decam_get_stats(ctx, &stats), DECAM_OK);
    assert_int_equal(stats.termination, DECAM_TERMINATION_ERROR);
    decam_free(ctx);
}

static void test_a_failed_model_and_a_stop_end_the_caller_driven_run(void **state) {
    (void)state;
    model_state m = {0};
    decam_ctx *ctx = make(&m, DECAM_METHOD_DECAM);
    static float map[W * H];
    decam_item it = item_of(0, map);
    /* The caller's model failed: as a callback returning the code. */
    assert_int_equal(decam_begin(ctx, &it, 1), DECAM_OK);
    assert_int_equal(decam_tell_failed(ctx, 5), DECAM_ERR_INVALID_ARGUMENT); /* nothing asked */
    decam_request rq = {.size = sizeof rq};
    assert_int_equal(decam_ask(ctx, &rq), DECAM_OK);
    assert_int_equal(decam_tell_failed(ctx, 5), DECAM_ERR_MODEL_FAILED);
    assert_int_equal(decam_ask(ctx, &rq), DECAM_OK);
    assert_int_equal(rq.n, 0);
    assert_int_equal(decam_finish(ctx), DECAM_ERR_MODEL_FAILED);
    assert_non_null(strstr(decam_errmsg(ctx), "returned 5"));
    decam_stats stats = {.size = sizeof stats};
    assert_int_equal(decam_get_stats(ctx, &stats), DECAM_OK);
    assert_int_equal(stats.termination, DECAM_TERMINATION_ERROR);
    assert_int_equal(stats.queries, 1);
    /* decam_force_stop() between a tell and the next ask: nothing more. */
    assert_int_equal(decam_begin(ctx, &it, 1), DECAM_OK);
    static float scores[4096 * OUTPUTS];
    assert_int_equal(decam_ask(ctx, &rq), DECAM_OK);
    score_image(rq.images, W, H, scores);
    assert_int_equal(decam_tell(ctx, scores, rq.n), DECAM_OK);
    decam_force_stop(ctx);
    assert_int_equal(decam_ask(ctx, &rq), DECAM_OK);
    assert_int_equal(rq.n, 0);
    assert_int_equal(decam_finish(ctx), DECAM_ERR_CANCELLED);
    assert_int_equal(decam_get_stats(ctx, &stats), DECAM_OK);
    assert_int_equal(stats.termination, DECAM_TERMINATION_FORCED);
    assert_int_equal(stats.queries, 1);
    decam_free(ctx);
}

static void test_items_are_checked_before_anything_is_queried(void **state) {
    (void)state;
    model_state m = {0};
    decam_ctx *ctx = make(&m, DECAM_METHOD_DECAM);
    static float maps[3][W * H];
    decam_item items[2] = {item_of(0, maps[0]), item_of(1, maps[1])};
    assert_int_equal(decam_explain_items(ctx, NULL, 1), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_explain_items(ctx, items, 0), DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(ctx), "n_items"));
    items[1].saliency_out = NULL;
    assert_int_equal(decam_explain_items(ctx, items, 2), DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(ctx), "items[1].saliency_out is NULL"));
    items[1].saliency_out = maps[1];
    const uint32_t bad[2] = {1, OUTPUTS};
    items[1].targets = bad;
    items[1].n_targets = 2;
    assert_int_equal(decam_explain_items(ctx, items, 2), DECAM_ERR_OUT_OF_RANGE);
    assert_non_null(strstr(decam_errmsg(ctx), "items[1].targets[1] = 3"));
    items[1].n_targets = 0;
    assert_int_equal(decam_begin(ctx, items, 2), DECAM_ERR_INVALID_ARGUMENT);
    items[1].targets = NULL;
    items[1].n_targets = 2;
    assert_int_equal(decam_begin(ctx, items, 2), DECAM_ERR_INVALID_ARGUMENT);
    items[1].n_targets = 1;
    items[1].width = 0;
    assert_int_equal(decam_explain_items(ctx, items, 2), DECAM_ERR_INVALID_ARGUMENT);
    items[1].width = W;
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 10), DECAM_OK);
    assert_int_equal(decam_explain_items(ctx, items, 2), DECAM_ERR_BUDGET_TOO_SMALL);
    assert_int_equal(m.calls, 0);
    /* Without a model callback only the caller-driven run works. */
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 100), DECAM_OK);
    assert_int_equal(decam_set_model(ctx, NULL, NULL), DECAM_OK);
    assert_int_equal(decam_explain_items(ctx, items, 2), DECAM_ERR_NO_MODEL);
    assert_int_equal(decam_begin(ctx, items, 2), DECAM_OK);
    assert_int_equal(drive(ctx, NULL), DECAM_OK);
    assert_int_equal(decam_finish(ctx), DECAM_OK);
    assert_true(not_flat(maps[0]) && not_flat(maps[1]));
    assert_true(decam_item_size() == sizeof(decam_item));
    assert_true(decam_request_size() == sizeof(decam_request));
    decam_free(ctx);
}

/* ---- what the run keeps of the caller's items ------------------------- */

/* item.stats is an output like saliency_out: written as its item ends
 * (inside decam_tell()), for every item by decam_finish(), and never
 * after the run is over. */
static void test_item_stats_are_written_for_every_item_and_never_after(void **state) {
    (void)state;
    model_state m = {0};
    decam_ctx *ctx = make(&m, DECAM_METHOD_RISE);
    static float maps[3][W * H];
    decam_stats stats[3];
    decam_item items[3];
    for (int i = 0; i < 3; i++) {
        items[i] = item_of(i, maps[i]);
        items[i].stats = &stats[i];
        memset(&stats[i], 0xA5, sizeof stats[i]);
        stats[i].size = sizeof stats[i];
    }
    /* Batches of 16 of RISE's 297 masks: item 2 never starts. */
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, 16), DECAM_OK);
    assert_int_equal(decam_begin(ctx, items, 3), DECAM_OK);
    static float scores[4096 * OUTPUTS];
    for (int k = 0; k < 3; k++) {
        decam_request rq = {.size = sizeof rq};
        assert_int_equal(decam_ask(ctx, &rq), DECAM_OK);
        for (size_t i = 0; i < rq.n; i++)
            score_image(rq.images + i * W * H * C, W, H, scores + i * OUTPUTS);
        assert_int_equal(decam_tell(ctx, scores, rq.n), DECAM_OK);
    }
    assert_int_equal(decam_finish(ctx), DECAM_ERR_CANCELLED);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(stats[i].size, sizeof stats[i]);
        assert_int_equal(stats[i].termination, DECAM_TERMINATION_CANCELLED);
        assert_true(stats[i].queries < 300);
    }
    assert_true(stats[0].queries > 0);
    assert_int_equal(stats[2].queries, 0); /* never started, but told so */
    assert_int_equal(stats[2].model_calls, 0);
    assert_true(isnan(stats[2].score_full));
    /* Once the run is over nothing is written through them any more. */
    decam_stats before[3];
    memcpy(before, stats, sizeof stats);
    float map[W * H];
    assert_int_equal(decam_explain(ctx, IMAGES[0], W, H, C, map), DECAM_OK);
    assert_memory_equal(before, stats, sizeof stats);
    /* decam_cancel() tells every item, started or not, and nothing after. */
    assert_int_equal(decam_begin(ctx, items, 3), DECAM_OK);
    decam_request rq = {.size = sizeof rq};
    assert_int_equal(decam_ask(ctx, &rq), DECAM_OK);
    decam_cancel(ctx);
    for (int i = 0; i < 3; i++)
        assert_int_equal(stats[i].termination, DECAM_TERMINATION_CANCELLED);
    assert_int_equal(stats[2].queries, 0);
    memcpy(before, stats, sizeof stats);
    assert_int_equal(decam_explain(ctx, IMAGES[0], W, H, C, map), DECAM_OK);
    assert_memory_equal(before, stats, sizeof stats);
    /* A finished item's statistics are there before decam_finish(). */
    for (int i = 0; i < 3; i++)
        memset(&stats[i], 0xA5, sizeof stats[i]), stats[i].size = sizeof stats[i];
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, 0), DECAM_OK);
    assert_int_equal(decam_begin(ctx, items, 1), DECAM_OK);
    assert_int_equal(drive(ctx, NULL), DECAM_OK);
    assert_int_equal(stats[0].termination, DECAM_TERMINATION_BUDGET);
    assert_int_equal(stats[0].queries, 300);
    assert_int_equal(decam_finish(ctx), DECAM_OK);
    decam_free(ctx);
}

/* The budget is the context's, but what it must pay for depends on the
 * item: the message says which item it cannot pay for. */
static void test_a_budget_too_small_names_its_item(void **state) {
    (void)state;
    model_state m = {0};
    decam_ctx *ctx = make(&m, DECAM_METHOD_OCCLUSION);
    static float maps[2][W * H];
    static float small_map[W2 * H2];
    decam_item items[2] = {
        {.image = SMALL, .width = W2, .height = H2, .channels = C, .saliency_out = small_map},
        item_of(1, maps[1])};
    /* Windows of 6 in steps of 3: a 12 x 9 image has 3 x 2 positions (9
     * queries with the fixed three), a 20 x 16 one 6 x 5 (33). */
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 20), DECAM_OK);
    assert_int_equal(decam_begin(ctx, items, 2), DECAM_ERR_BUDGET_TOO_SMALL);
    assert_non_null(strstr(decam_errmsg(ctx), "items[1]"));
    assert_non_null(strstr(decam_errmsg(ctx), "budget = 20"));
    assert_int_equal(decam_explain_items(ctx, &items[1], 1), DECAM_ERR_BUDGET_TOO_SMALL);
    assert_non_null(strstr(decam_errmsg(ctx), "items[0]"));
    /* One image alone: no item to name. */
    assert_int_equal(decam_explain(ctx, IMAGES[1], W, H, C, maps[1]), DECAM_ERR_BUDGET_TOO_SMALL);
    assert_null(strstr(decam_errmsg(ctx), "items["));
    assert_int_equal(m.calls, 0);
    decam_free(ctx);
}

/* decam_begin() holds a copy of the items, not a run per item: the bytes
 * it allocates per item stay small however many items there are. */
static void test_begin_holds_few_bytes_per_item(void **state) {
    (void)state;
    enum { FEW = 10, MANY = 10000 };
    static decam_item items[MANY];
    static float map[W * H];
    make_images();
    for (int i = 0; i < MANY; i++)
        items[i] = item_of(i % N, map);
    size_t bytes[2];
    const int counts[2] = {FEW, MANY};
    for (int k = 0; k < 2; k++) {
        counter c = {.fail_at = -1};
        decam_ctx *ctx = decam_create_advanced(count_alloc, count_free, &c);
        assert_non_null(ctx);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_METHOD, DECAM_METHOD_RISE), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 100), DECAM_OK);
        size_t at_start = c.bytes;
        assert_int_equal(decam_begin(ctx, items, (size_t)counts[k]), DECAM_OK);
        bytes[k] = c.bytes - at_start;
        decam_cancel(ctx);
        decam_free(ctx);
        assert_int_equal(c.live, 0);
    }
    double per_item = (double)(bytes[1] - bytes[0]) / (MANY - FEW);
    printf("# decam_begin: %zu bytes for %d items, %zu for %d: %.1f bytes per item\n", bytes[0],
           FEW, bytes[1], MANY, per_item);
    assert_true(per_item <= 80.0); /* decam.h says so */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_images_decam),
        cmocka_unit_test(test_many_images_rise),
        cmocka_unit_test(test_many_images_occlusion),
        cmocka_unit_test(test_several_targets_rise_occlusion_exact),
        cmocka_unit_test(test_several_targets_decam),
        cmocka_unit_test(test_ask_tell_gives_the_callbacks_maps),
        cmocka_unit_test(test_ask_tell_takes_items_of_different_sizes),
        cmocka_unit_test(test_the_run_is_guarded_and_reports_progress),
        cmocka_unit_test(test_an_early_finish_cancels_with_the_maps_so_far),
        cmocka_unit_test(test_a_bad_score_stops_the_run),
        cmocka_unit_test(test_a_failed_model_and_a_stop_end_the_caller_driven_run),
        cmocka_unit_test(test_items_are_checked_before_anything_is_queried),
        cmocka_unit_test(test_item_stats_are_written_for_every_item_and_never_after),
        cmocka_unit_test(test_a_budget_too_small_names_its_item),
        cmocka_unit_test(test_begin_holds_few_bytes_per_item),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
