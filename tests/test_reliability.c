/* test_reliability.c - the library under faults: every allocation failing
 * in turn, many contexts in threads at once, and hostile model outputs. */
#include <float.h>
#include <math.h>
#include <pthread.h>
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

/* ---- a counting allocator that fails on request ---------------------- */

typedef struct counting {
    long calls;   /* allocations attempted */
    long fail_at; /* > 0: the allocation with this number fails */
    long live;    /* allocated and not yet freed */
} counting;

static void *counting_alloc(void *opaque, size_t size) {
    counting *c = opaque;
    if (++c->calls == c->fail_at) return NULL;
    void *p = malloc(size);
    if (p) c->live++;
    return p;
}

static void counting_free(void *opaque, void *ptr) {
    counting *c = opaque;
    assert_non_null(ptr);
    c->live--;
    free(ptr);
}

static void test_create_advanced_routes_the_context_through_the_allocator(void **state) {
    (void)state;
    counting c = {0};
    decam_ctx *ctx = decam_create_advanced(counting_alloc, counting_free, &c);
    assert_non_null(ctx);
    assert_int_equal(c.live, 1);
    decam_free(ctx);
    assert_int_equal(c.live, 0);
    assert_null(decam_create_advanced(counting_alloc, NULL, &c));
    assert_null(decam_create_advanced(NULL, counting_free, &c));
    c.fail_at = c.calls + 1;
    assert_null(decam_create_advanced(counting_alloc, counting_free, &c));
    ctx = decam_create_advanced(NULL, NULL, NULL);
    assert_non_null(ctx);
    decam_free(ctx);
}

/* One configuration of a run: each allocates a different set of buffers. */
typedef struct scenario {
    const char *name;
    decam_method method;
    decam_baseline baseline;
    decam_init init;
    double smoothing;
    decam_objective objective;
    int threads;
    int evaluate; /* also decam_evaluate() the map */
} scenario;

static const scenario SCENARIOS[] = {
    {"DE-CAM defaults (blur baseline)", DECAM_METHOD_DECAM, DECAM_BASELINE_BLUR,
     DECAM_INIT_LATIN_HYPERCUBE, 0, DECAM_OBJECTIVE_PRESERVE, 1, 0},
    {"DE-CAM, caller baseline, prior, smoothing, 2 threads", DECAM_METHOD_DECAM,
     DECAM_BASELINE_IMAGE, DECAM_INIT_PRIOR, 2, DECAM_OBJECTIVE_BOTH, 2, 0},
    {"RISE, 2 threads", DECAM_METHOD_RISE, DECAM_BASELINE_CONSTANT, DECAM_INIT_UNIFORM, 0,
     DECAM_OBJECTIVE_PRESERVE, 2, 0},
    {"occlusion", DECAM_METHOD_OCCLUSION, DECAM_BASELINE_MEAN, DECAM_INIT_UNIFORM, 1,
     DECAM_OBJECTIVE_PRESERVE, 1, 0},
    {"DE-CAM then decam_evaluate", DECAM_METHOD_DECAM, DECAM_BASELINE_NOISE, DECAM_INIT_UNIFORM, 0,
     DECAM_OBJECTIVE_DELETE, 1, 1},
};

/* Sets up a context for scenario s; returns the first failing status. */
static decam_status prepare(decam_ctx *ctx, const scenario *s, planted *p, const float *image) {
    static const float prior[4] = {0, 1, 0, 0};
    decam_status st = decam_set_model(ctx, planted_model, p);
    if (!st) st = decam_set_param(ctx, DECAM_PARAM_BUDGET, 200);
    if (!st) st = decam_set_param(ctx, DECAM_PARAM_METHOD, s->method);
    if (!st) st = decam_set_param(ctx, DECAM_PARAM_THREADS, s->threads);
    if (!st) st = decam_set_param(ctx, DECAM_PARAM_OCCLUSION_WINDOW, 16);
    if (!st) st = decam_set_param(ctx, DECAM_PARAM_BASELINE, s->baseline);
    if (!st) st = decam_set_param(ctx, DECAM_PARAM_INIT, s->init);
    if (!st) st = decam_set_param(ctx, DECAM_PARAM_SMOOTHING, s->smoothing);
    if (!st) st = decam_set_param(ctx, DECAM_PARAM_OBJECTIVE, s->objective);
    if (!st && s->baseline == DECAM_BASELINE_IMAGE)
        st = decam_set_baseline_image(ctx, image, PW, PH, PC);
    if (!st && s->init == DECAM_INIT_PRIOR) st = decam_set_prior_map(ctx, prior, 2, 2);
    return st;
}

/* Explains, and for scenarios that ask, evaluates the map; the first
 * failure's status. */
static decam_status run_scenario(decam_ctx *ctx, const scenario *s, const float *image, float *map,
                                 decam_metrics *m) {
    decam_status st = decam_explain(ctx, image, PW, PH, PC, map);
    if (st == DECAM_OK && s->evaluate) {
        *m = (decam_metrics){.size = sizeof *m};
        st = decam_evaluate(ctx, image, PW, PH, PC, map, NULL, m);
    }
    return st;
}

/* For k = 1, 2, ...: the k-th allocation fails. Every call returns
 * DECAM_OK or DECAM_ERR_OUT_OF_MEMORY; after a failed call the same
 * context, given memory again, produces the reference result; nothing
 * leaks. Ends when a run makes fewer than k allocations. */
static void test_every_allocation_failure_is_reported_and_leaks_nothing(void **state) {
    (void)state;
    float image[PW * PH * PC], ref[PW * PH], map[PW * PH];
    for (size_t sc = 0; sc < sizeof SCENARIOS / sizeof SCENARIOS[0]; sc++) {
        const scenario *s = &SCENARIOS[sc];
        planted p = {0};
        planted_make(&p, image, 5, DECAM_LAYOUT_HWC);
        decam_ctx *ctx = decam_create();
        decam_metrics ref_m, m;
        assert_int_equal(prepare(ctx, s, &p, image), DECAM_OK);
        assert_int_equal(run_scenario(ctx, s, image, ref, &ref_m), DECAM_OK);
        decam_free(ctx);

        long k = 1, failures = 0;
        for (;; k++) {
            counting c = {.fail_at = k};
            ctx = decam_create_advanced(counting_alloc, counting_free, &c);
            if (!ctx) {
                assert_int_equal(c.live, 0);
                failures++;
                continue;
            }
            decam_status st = prepare(ctx, s, &p, image);
            if (st == DECAM_OK) st = run_scenario(ctx, s, image, map, &m);
            int hit = c.calls >= k;
            if (st != DECAM_OK) {
                assert_int_equal(st, DECAM_ERR_OUT_OF_MEMORY);
                assert_non_null(strstr(decam_errmsg(ctx), "memory"));
                assert_true(hit);
                failures++;
                /* Usable afterwards: with memory again, the same result. */
                c.fail_at = 0;
                assert_int_equal(prepare(ctx, s, &p, image), DECAM_OK);
                assert_int_equal(run_scenario(ctx, s, image, map, &m), DECAM_OK);
            }
            assert_memory_equal(map, ref, sizeof map);
            if (s->evaluate) assert_true(m.deletion_auc == ref_m.deletion_auc);
            decam_free(ctx);
            assert_int_equal(c.live, 0);
            if (!hit) break;
        }
        printf("# %s: %ld allocations per run, each failed in turn: %ld reported, 0 leaked\n",
               s->name, k - 1, failures);
        assert_true(failures == k - 1);
    }
}

/* ---- many contexts at once ------------------------------------------- */

enum { THREADS = 8 };

typedef struct job {
    uint64_t seed;
    float image[PW * PH * PC];
    float map[PW * PH];
    planted model;
    decam_status status;
} job;

static void run_job(job *j) {
    decam_ctx *ctx = decam_create();
    if (!ctx) {
        j->status = DECAM_ERR_OUT_OF_MEMORY;
        return;
    }
    decam_set_model(ctx, planted_model, &j->model);
    decam_set_param(ctx, DECAM_PARAM_SEED, (double)j->seed);
    decam_set_param(ctx, DECAM_PARAM_BUDGET, 400);
    j->status = decam_explain(ctx, j->image, PW, PH, PC, j->map);
    decam_free(ctx);
}

static void *job_thread(void *arg) {
    run_job(arg);
    return NULL;
}

static void test_contexts_in_eight_threads_match_the_single_threaded_maps(void **state) {
    (void)state;
    static job jobs[THREADS], solo[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t].seed = solo[t].seed = (uint64_t)t + 1;
        jobs[t].model = solo[t].model = (planted){.nonlinear = t % 2};
        planted_make(&jobs[t].model, jobs[t].image, (uint64_t)t + 20, DECAM_LAYOUT_HWC);
        planted_make(&solo[t].model, solo[t].image, (uint64_t)t + 20, DECAM_LAYOUT_HWC);
        run_job(&solo[t]);
        assert_int_equal(solo[t].status, DECAM_OK);
    }
    pthread_t tid[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&tid[t], NULL, job_thread, &jobs[t]), 0);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_join(tid[t], NULL), 0);
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(jobs[t].status, DECAM_OK);
        assert_memory_equal(jobs[t].map, solo[t].map, sizeof jobs[t].map);
    }
}

/* ---- hostile model outputs ------------------------------------------- */

typedef struct hostile {
    float value; /* written for every image */
    int vary;    /* add the planted score to value */
    planted *p;
} hostile;

static int hostile_model(void *user, const float *images, size_t n, float *scores) {
    hostile *h = user;
    if (h->vary) planted_model(h->p, images, n, scores);
    for (size_t i = 0; i < n; i++)
        scores[i] = h->vary ? scores[i] * h->value : h->value;
    return 0;
}

/* Constant, huge, tiny and negative scores: the run completes, the map
 * stays in [0,1]; a constant score carries no information and gives the
 * all-zero map; scaled scores still find the region. */
static void test_constant_huge_and_negative_scores_give_sane_maps(void **state) {
    (void)state;
    float image[PW * PH * PC], map[PW * PH];
    planted p = {0};
    planted_make(&p, image, 9, DECAM_LAYOUT_HWC);
    const hostile cases[] = {{0.0f, 0, &p},  {1e30f, 0, &p},  {-3.5f, 0, &p},
                             {1e30f, 1, &p}, {1e-30f, 1, &p}, {-1.0f, 1, &p}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        hostile h = cases[k];
        decam_ctx *ctx = decam_create();
        decam_set_model(ctx, hostile_model, &h);
        decam_set_param(ctx, DECAM_PARAM_BUDGET, 300);
        assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
        float hi = 0.0f;
        for (int i = 0; i < PW * PH; i++) {
            assert_true(map[i] >= 0.0f && map[i] <= 1.0f);
            hi = map[i] > hi ? map[i] : hi;
        }
        if (!h.vary) assert_true(hi == 0.0f); /* no information: flat map */
        if (h.vary && h.value > 0) assert_true(planted_pointing_hit(&p, map));
        decam_free(ctx);
    }
}

/* Scores that jump between two finite extremes (+-3e38, +-FLT_MAX) as
 * the planted region is kept or lost: the contrast, regression
 * coefficients and mean drops are more than FLT_MAX apart. Every method,
 * assembly and objective gives a finite raw map and a map that spans
 * [0,1] (once an all-zero map with DECAM_OK); those that find the region
 * on plain scores still find it. */
typedef struct extreme {
    planted *p;
    float lo, hi;
} extreme;

static int extreme_model(void *user, const float *images, size_t n, float *scores) {
    extreme *e = user;
    planted_model(e->p, images, n, scores);
    for (size_t i = 0; i < n; i++)
        scores[i] = scores[i] > 0.45f ? e->hi : e->lo;
    return 0;
}

typedef struct extreme_run {
    decam_method method;
    decam_assembly assembly;
    decam_objective objective;
    int finds; /* points at the region at these settings */
} extreme_run;

static void test_scores_at_plus_minus_flt_max_give_full_range_maps(void **state) {
    (void)state;
    static float image[PW * PH * PC], map[PW * PH], raw[PW * PH];
    planted p = {0};
    planted_make(&p, image, 9, DECAM_LAYOUT_HWC);
    const extreme_run runs[] = {
        {DECAM_METHOD_DECAM, DECAM_ASSEMBLY_ALL_EVALUATED, DECAM_OBJECTIVE_PRESERVE, 1},
        {DECAM_METHOD_DECAM, DECAM_ASSEMBLY_ALL_EVALUATED, DECAM_OBJECTIVE_DELETE, 1},
        {DECAM_METHOD_DECAM, DECAM_ASSEMBLY_ALL_EVALUATED, DECAM_OBJECTIVE_BOTH, 1},
        {DECAM_METHOD_DECAM, DECAM_ASSEMBLY_BEST, DECAM_OBJECTIVE_PRESERVE, 0},
        {DECAM_METHOD_DECAM, DECAM_ASSEMBLY_POPULATION, DECAM_OBJECTIVE_BOTH, 0},
        {DECAM_METHOD_DECAM, DECAM_ASSEMBLY_REGRESSION, DECAM_OBJECTIVE_PRESERVE, 0},
        {DECAM_METHOD_DECAM, DECAM_ASSEMBLY_REGRESSION, DECAM_OBJECTIVE_DELETE, 1},
        {DECAM_METHOD_RISE, DECAM_ASSEMBLY_ALL_EVALUATED, DECAM_OBJECTIVE_PRESERVE, 1},
    };
    const float extremes[][2] = {{-3e38f, 3e38f}, {-FLT_MAX, FLT_MAX}};
    const double smoothing[] = {0.0, 2.0};
    for (size_t x = 0; x < 2; x++)
        for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++)
            for (size_t m = 0; m < 2; m++) {
                extreme e = {&p, extremes[x][0], extremes[x][1]};
                decam_ctx *ctx = decam_create();
                decam_set_model(ctx, extreme_model, &e);
                decam_set_param(ctx, DECAM_PARAM_METHOD, runs[k].method);
                decam_set_param(ctx, DECAM_PARAM_ASSEMBLY, runs[k].assembly);
                decam_set_param(ctx, DECAM_PARAM_OBJECTIVE, runs[k].objective);
                decam_set_param(ctx, DECAM_PARAM_SMOOTHING, smoothing[m]);
                decam_set_param(ctx, DECAM_PARAM_BUDGET, 300);
                assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
                float lo = 1.0f, hi = 0.0f;
                for (int i = 0; i < PW * PH; i++) {
                    assert_true(map[i] >= 0.0f && map[i] <= 1.0f);
                    lo = map[i] < lo ? map[i] : lo;
                    hi = map[i] > hi ? map[i] : hi;
                }
                assert_true(lo == 0.0f && hi == 1.0f);
                if (runs[k].finds && m == 0) assert_true(planted_pointing_hit(&p, map));
                int w = 0, h = 0;
                assert_int_equal(decam_get_raw_map(ctx, raw, PW * PH, &w, &h), DECAM_OK);
                for (int i = 0; i < w * h; i++)
                    assert_true(isfinite(raw[i]));
                decam_free(ctx);
            }
}

/* Occlusion: a window that loses the region drops the score from FLT_MAX
 * to -FLT_MAX, a mean drop of up to 2 FLT_MAX. The map is that of the
 * same model scoring +-1 (normalising does not see the scale). */
typedef struct window_scores {
    planted *p;
    float value;
} window_scores;

static int window_model(void *user, const float *images, size_t n, float *scores) {
    window_scores *w = user;
    planted_model(w->p, images, n, scores);
    for (size_t i = 0; i < n; i++)
        scores[i] = scores[i] > 0.75f ? w->value : -w->value;
    return 0;
}

static void count_warnings(void *user, decam_log_level level, const char *message) {
    (void)message;
    if (level == DECAM_LOG_WARNING) ++*(int *)user;
}

static void test_occlusion_drops_beyond_flt_max_give_the_map_of_small_drops(void **state) {
    (void)state;
    static float image[PW * PH * PC], map[2][PW * PH], raw[PW * PH];
    planted p = {0};
    planted_make(&p, image, 9, DECAM_LAYOUT_HWC);
    for (int k = 0; k < 2; k++) {
        window_scores w = {&p, k ? FLT_MAX : 1.0f};
        int warnings = 0;
        decam_ctx *ctx = decam_create();
        decam_set_model(ctx, window_model, &w);
        decam_set_log(ctx, count_warnings, &warnings, DECAM_LOG_WARNING);
        decam_set_param(ctx, DECAM_PARAM_METHOD, DECAM_METHOD_OCCLUSION);
        decam_set_param(ctx, DECAM_PARAM_OCCLUSION_WINDOW, 16);
        decam_set_param(ctx, DECAM_PARAM_OCCLUSION_STRIDE, 8);
        assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map[k]), DECAM_OK);
        assert_int_equal(decam_get_raw_map(ctx, raw, PW * PH, NULL, NULL), DECAM_OK);
        for (int i = 0; i < PW * PH; i++)
            assert_true(isfinite(raw[i]));
        assert_int_equal(warnings, k); /* the raw map was scaled to fit */
        decam_free(ctx);
    }
    float hi = 0.0f;
    for (int i = 0; i < PW * PH; i++) {
        hi = map[1][i] > hi ? map[1][i] : hi;
        assert_float_equal(map[1][i], map[0][i], 1e-6f);
    }
    assert_true(hi == 1.0f);
}

/* A flat map is never silent: it comes with a warning in the log; a map
 * with a region does not. (RISE does not centre its scores, so a
 * constant model gives it the noise of its mask counts, not a flat map.) */
static void test_a_flat_map_is_logged_as_a_warning(void **state) {
    (void)state;
    static float image[PW * PH * PC], map[PW * PH];
    planted p = {0};
    planted_make(&p, image, 9, DECAM_LAYOUT_HWC);
    hostile constant = {0.25f, 0, &p}, varying = {1.0f, 1, &p};
    const decam_method methods[] = {DECAM_METHOD_DECAM, DECAM_METHOD_OCCLUSION};
    for (size_t k = 0; k < 2; k++)
        for (int vary = 0; vary < 2; vary++) {
            int warnings = 0;
            decam_ctx *ctx = decam_create();
            decam_set_model(ctx, hostile_model, vary ? &varying : &constant);
            decam_set_log(ctx, count_warnings, &warnings, DECAM_LOG_WARNING);
            decam_set_param(ctx, DECAM_PARAM_METHOD, methods[k]);
            decam_set_param(ctx, DECAM_PARAM_BUDGET, 1000);
            assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
            assert_int_equal(warnings, vary ? 0 : 1);
            decam_free(ctx);
        }
}

/* Every parameter at both ends of its range, with the method it belongs
 * to: the run completes or refuses with a documented status, the map is
 * in [0,1], and the model is never handed a non-finite pixel. */
typedef struct watched {
    planted *p;
    long nonfinite;
} watched;

static int watched_model(void *user, const float *images, size_t n, float *scores) {
    watched *w = user;
    for (size_t i = 0; i < n * PW * PH * PC; i++)
        w->nonfinite += !isfinite(images[i]);
    return planted_model(w->p, images, n, scores);
}

static decam_method method_of(decam_param k) {
    if (k == DECAM_PARAM_RISE_GRID || k == DECAM_PARAM_RISE_KEEP) return DECAM_METHOD_RISE;
    if (k == DECAM_PARAM_OCCLUSION_WINDOW || k == DECAM_PARAM_OCCLUSION_STRIDE)
        return DECAM_METHOD_OCCLUSION;
    return DECAM_METHOD_DECAM;
}

static void test_every_parameter_at_its_ends_gives_a_map_or_a_status(void **state) {
    (void)state;
    static float image[PW * PH * PC], map[PW * PH];
    planted p = {0};
    planted_make(&p, image, 9, DECAM_LAYOUT_HWC);
    for (int k = 0; k < DECAM_PARAM_COUNT; k++) {
        decam_param key = decam_param_key(k);
        if (key == DECAM_PARAM_TARGET || key == DECAM_PARAM_N_OUTPUTS ||
            key == DECAM_PARAM_LAYOUT || key == DECAM_PARAM_METHOD)
            continue; /* checked against each other and the callback elsewhere */
        double ends[2];
        assert_int_equal(decam_param_bounds(key, &ends[0], &ends[1], NULL), DECAM_OK);
        for (int e = 0; e < 2; e++) {
            double v = ends[e];
            if (key == DECAM_PARAM_BUDGET && e == 1) v = 5000; /* 1e9 queries: too long */
            watched w = {&p, 0};
            decam_ctx *ctx = decam_create();
            decam_set_model(ctx, watched_model, &w);
            decam_set_param(ctx, DECAM_PARAM_METHOD, method_of(key));
            decam_set_param(ctx, DECAM_PARAM_BUDGET,
                            method_of(key) == DECAM_METHOD_OCCLUSION ? 5000 : 200);
            if (key == DECAM_PARAM_POPULATION) /* 0: from the image, 48 on these scenes */
                decam_set_param(ctx, DECAM_PARAM_BUDGET, (v > 0 ? v : 48) + 3);
            if (key == DECAM_PARAM_POPULATION) decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, 64);
            if (key == DECAM_PARAM_BUDGET && e == 0)
                decam_set_param(ctx, DECAM_PARAM_POPULATION, 4);
            assert_int_equal(decam_set_param(ctx, key, v), DECAM_OK);
            decam_status st = decam_explain(ctx, image, PW, PH, PC, map);
            if (key == DECAM_PARAM_BUDGET && e == 0) {
                assert_int_equal(st, DECAM_ERR_BUDGET_TOO_SMALL);
            } else if ((key == DECAM_PARAM_BASELINE && v == DECAM_BASELINE_IMAGE) ||
                       (key == DECAM_PARAM_INIT && v == DECAM_INIT_PRIOR) ||
                       (key == DECAM_PARAM_FUSE_GAMES && v > 0)) {
                /* nothing set; fuse_games without objective = both */
                assert_int_equal(st, DECAM_ERR_MISSING_INPUT);
            } else {
                if (st != DECAM_OK)
                    printf("# %s = %g: %s\n", decam_param_name(key), v, decam_errmsg(ctx));
                assert_int_equal(st, DECAM_OK);
                for (int i = 0; i < PW * PH; i++)
                    assert_true(map[i] >= 0.0f && map[i] <= 1.0f);
            }
            assert_int_equal(w.nonfinite, 0);
            decam_free(ctx);
        }
    }
}

/* Pixels at +-FLT_MAX and +-3e38 with every baseline the library makes
 * and every method: blends and blurs stay within float, so the model
 * never sees an infinity, and the run completes. */
static void test_pixels_at_flt_max_never_reach_the_model_as_infinities(void **state) {
    (void)state;
    static float image[PW * PH * PC], big[PW * PH * PC], map[PW * PH];
    planted p = {0};
    planted_make(&p, image, 9, DECAM_LAYOUT_HWC);
    const float scale[] = {FLT_MAX, 3e38f};
    const decam_baseline baselines[] = {DECAM_BASELINE_CONSTANT, DECAM_BASELINE_MEAN,
                                        DECAM_BASELINE_BLUR, DECAM_BASELINE_NOISE};
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < PW * PH * PC; i++)
            big[i] = (i % 2 ? 1.0f : -1.0f) * (image[i] > 0.5f ? scale[s] : scale[s] / 2);
        for (int b = 0; b < 4; b++)
            for (int m = 0; m < 3; m++) {
                watched w = {&p, 0};
                decam_ctx *ctx = decam_create();
                decam_set_model(ctx, watched_model, &w);
                decam_set_param(ctx, DECAM_PARAM_METHOD, m);
                decam_set_param(ctx, DECAM_PARAM_BASELINE, baselines[b]);
                decam_set_param(ctx, DECAM_PARAM_BUDGET, m == DECAM_METHOD_OCCLUSION ? 5000 : 200);
                assert_int_equal(decam_explain(ctx, big, PW, PH, PC, map), DECAM_OK);
                assert_int_equal(w.nonfinite, 0);
                decam_free(ctx);
            }
    }
}

/* Smoothing sigma in range but with a square that underflows: the map is
 * that of no smoothing, bit for bit (once NaN taps, an all-zero map). */
static void test_tiny_smoothing_sigma_gives_the_unsmoothed_map(void **state) {
    (void)state;
    static float image[PW * PH * PC], ref[PW * PH], map[PW * PH];
    planted p = {0};
    planted_make(&p, image, 9, DECAM_LAYOUT_HWC);
    const decam_method methods[] = {DECAM_METHOD_DECAM, DECAM_METHOD_RISE, DECAM_METHOD_OCCLUSION};
    for (size_t k = 0; k < 3; k++) {
        decam_ctx *ctx = decam_create();
        decam_set_model(ctx, planted_model, &p);
        decam_set_param(ctx, DECAM_PARAM_METHOD, methods[k]);
        decam_set_param(ctx, DECAM_PARAM_BUDGET, 1000);
        assert_int_equal(decam_explain(ctx, image, PW, PH, PC, ref), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_SMOOTHING, 1e-170), DECAM_OK);
        assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_OK);
        assert_memory_equal(ref, map, sizeof map);
        assert_true(planted_pointing_hit(&p, map));
        decam_free(ctx);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_advanced_routes_the_context_through_the_allocator),
        cmocka_unit_test(test_every_allocation_failure_is_reported_and_leaks_nothing),
        cmocka_unit_test(test_contexts_in_eight_threads_match_the_single_threaded_maps),
        cmocka_unit_test(test_constant_huge_and_negative_scores_give_sane_maps),
        cmocka_unit_test(test_scores_at_plus_minus_flt_max_give_full_range_maps),
        cmocka_unit_test(test_occlusion_drops_beyond_flt_max_give_the_map_of_small_drops),
        cmocka_unit_test(test_tiny_smoothing_sigma_gives_the_unsmoothed_map),
        cmocka_unit_test(test_a_flat_map_is_logged_as_a_warning),
        cmocka_unit_test(test_every_parameter_at_its_ends_gives_a_map_or_a_status),
        cmocka_unit_test(test_pixels_at_flt_max_never_reach_the_model_as_infinities),
    };
    return cmocka_run_group_tests_name("reliability", tests, NULL, NULL);
}
