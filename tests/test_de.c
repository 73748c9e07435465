/* test_de.c - the DE engine on textbook functions with known optima, its
 * bounds, initialisations and the ask/tell protocol. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "counting.h"

#include "alloc_sys.h"
#include "de.h"

#define DIM 10

/* Each function maps genes in [0,1] onto its usual domain; minimum 0. */
static double sphere(const double *g) {
    double s = 0.0;
    for (int i = 0; i < DIM; i++) {
        double x = 10.0 * g[i] - 5.0;
        s += x * x;
    }
    return s;
}

static double rosenbrock(const double *g) {
    double s = 0.0;
    for (int i = 0; i < DIM - 1; i++) {
        double a = 4.096 * g[i] - 2.048, b = 4.096 * g[i + 1] - 2.048;
        s += 100.0 * (b - a * a) * (b - a * a) + (1.0 - a) * (1.0 - a);
    }
    return s;
}

static double rastrigin(const double *g) {
    double s = 10.0 * DIM;
    for (int i = 0; i < DIM; i++) {
        double x = 10.24 * g[i] - 5.12;
        s += x * x - 10.0 * cos(2.0 * 3.14159265358979323846 * x);
    }
    return s;
}

typedef struct de_case {
    const char *name;
    double (*fn)(const double *);
    decam_strategy strategy;
    double f, cr; /* SHADE, L-SHADE: the memories' first values */
    size_t np;    /* L-SHADE: the first generation's */
    double tolerance;
    long max_evals;  /* stated limit for one seed */
    int min_success; /* of 10 seeds */
    long schedule;   /* L-SHADE: the evaluations its population shrinks over */
} de_case;

#define MAX_NP   256
#define SHADE_H  6   /* L-SHADE's memory size */
#define SHADE_P  0.2 /* SHADE's largest pbest share */
#define LSHADE_P 0.11
#define P_OF(c)  ((c)->strategy == DECAM_STRATEGY_LSHADE ? LSHADE_P : SHADE_P)

static de_config config_of(const de_case *c) {
    return (de_config){.dim = DIM,
                       .np = c->np,
                       .strategy = c->strategy,
                       .f = c->f,
                       .cr = c->cr,
                       .pbest = c->strategy >= DECAM_STRATEGY_SHADE ? P_OF(c) : 0.1,
                       .memory = SHADE_H,
                       .max_evals = (uint64_t)c->schedule};
}

/* Runs one seed; returns evaluations used to reach the tolerance, or -1.
 * Checks on the way that every trial stays inside [0,1]. */
static long solve(const de_case *c, uint64_t seed) {
    de_config cfg = config_of(c);
    de *d = decam__de_create(&cfg, &ALLOC);
    assert_non_null(d);
    rng r;
    decam__rng_seed(&r, seed);
    decam__de_init_latin(d, &r);
    double fit[MAX_NP];
    long evals = 0;
    for (;;) {
        const double *t = decam__de_trials(d);
        const size_t n = decam__de_size(d);
        assert_true(n <= c->np);
        for (size_t i = 0; i < n; i++) {
            for (int j = 0; j < DIM; j++) {
                assert_true(t[i * DIM + j] >= 0.0);
                assert_true(t[i * DIM + j] <= 1.0);
            }
            fit[i] = -c->fn(t + i * DIM);
        }
        evals += (long)n;
        decam__de_tell(d, n, fit);
        double best;
        decam__de_best(d, &best);
        if (-best < c->tolerance || evals >= c->max_evals) {
            decam__de_free(d, &ALLOC);
            return -best < c->tolerance ? evals : -1;
        }
        decam__de_ask(d, &r);
    }
}

/* Settings follow the theory: best/1 contracts the population unless
 * F > 1/sqrt(2), so the smooth functions use F = 0.8; Rastrigin is
 * separable, so CR = 0 finds its optimum one coordinate at a time. */
static const de_case CASES[] = {
    {"sphere", sphere, DECAM_STRATEGY_RAND1, 0.8, 0.9, 40, 1e-6, 30000, 10, 0},
    {"sphere", sphere, DECAM_STRATEGY_BEST1, 0.8, 0.9, 40, 1e-6, 10000, 10, 0},
    {"sphere", sphere, DECAM_STRATEGY_PBEST, 0.8, 0.9, 40, 1e-6, 15000, 10, 0},
    {"rosenbrock", rosenbrock, DECAM_STRATEGY_RAND1, 0.8, 0.9, 40, 1e-4, 60000, 10, 0},
    /* best/1 is greedy: some seeds fall into the valley's local minimum. */
    {"rosenbrock", rosenbrock, DECAM_STRATEGY_BEST1, 0.8, 0.9, 40, 1e-4, 20000, 7, 0},
    {"rosenbrock", rosenbrock, DECAM_STRATEGY_PBEST, 0.8, 0.9, 40, 1e-4, 25000, 10, 0},
    {"rastrigin", rastrigin, DECAM_STRATEGY_RAND1, 0.5, 0.0, 30, 1e-4, 12000, 10, 0},
    {"rastrigin", rastrigin, DECAM_STRATEGY_BEST1, 0.5, 0.0, 30, 1e-4, 9000, 10, 0},
    {"rastrigin", rastrigin, DECAM_STRATEGY_PBEST, 0.5, 0.0, 30, 1e-4, 13000, 10, 0},
    /* SHADE and L-SHADE start from M_F = M_CR = 0.5 everywhere, as their
     * papers do, and must learn the rest. The limits are about 1.3 (SHADE)
     * and 1.2 (L-SHADE, whose seeds differ little) times the worst seed's
     * evaluations. They fail when the memories are never updated
     * (Rosenbrock and Rastrigin), when the update ignores the improvements'
     * weights (SHADE on Rosenbrock) or keeps M_CR (SHADE on Rosenbrock and
     * Rastrigin), and when L-SHADE's population does not shrink (every
     * L-SHADE row). Sphere checks convergence only: F = CR = 0.5 suits it,
     * and an unadapted run is faster. The exact update is checked below. */
    {"sphere", sphere, DECAM_STRATEGY_SHADE, 0.5, 0.5, 40, 1e-6, 7500, 10, 0},
    {"sphere", sphere, DECAM_STRATEGY_LSHADE, 0.5, 0.5, 100, 1e-6, 11000, 10, 15000},
    {"rosenbrock", rosenbrock, DECAM_STRATEGY_SHADE, 0.5, 0.5, 40, 1e-4, 16000, 10, 0},
    {"rosenbrock", rosenbrock, DECAM_STRATEGY_LSHADE, 0.5, 0.5, 100, 1e-4, 23000, 10, 40000},
    {"rastrigin", rastrigin, DECAM_STRATEGY_SHADE, 0.5, 0.5, 40, 1e-4, 16000, 10, 0},
    {"rastrigin", rastrigin, DECAM_STRATEGY_LSHADE, 0.5, 0.5, 100, 1e-4, 31000, 10, 40000},
};

static const char *STRATEGY[] = {"rand/1/bin", "best/1/bin", "current-to-pbest/1/bin", "SHADE",
                                 "L-SHADE"};

static void test_strategies_reach_known_optima_within_stated_evaluations(void **state) {
    (void)state;
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        const de_case *c = &CASES[k];
        int ok = 0;
        long total = 0, worst = 0;
        for (uint64_t seed = 1; seed <= 10; seed++) {
            long e = solve(c, seed);
            if (e < 0) continue;
            ok++;
            total += e;
            worst = e > worst ? e : worst;
        }
        printf("# %-10s %-22s F %.1f CR %.1f NP %zu: %2d/10 reach f < %g, evaluations mean %ld, "
               "worst %ld (limit %ld)\n",
               c->name, STRATEGY[c->strategy], c->f, c->cr, c->np, ok, c->tolerance,
               ok ? total / ok : 0, worst, c->max_evals);
        assert_true(ok >= c->min_success);
    }
}

static void test_latin_hypercube_puts_one_value_in_each_stratum(void **state) {
    (void)state;
    de_config cfg = {5, 16, DECAM_STRATEGY_RAND1, 0.5, 0.0, 0.9, 0.1, 0, 0};
    de *d = decam__de_create(&cfg, &ALLOC);
    rng r;
    decam__rng_seed(&r, 3);
    decam__de_init_latin(d, &r);
    const double *t = decam__de_trials(d);
    for (int j = 0; j < 5; j++) {
        int seen[16] = {0};
        for (int i = 0; i < 16; i++)
            seen[(int)(t[i * 5 + j] * 16)]++;
        for (int s = 0; s < 16; s++)
            assert_int_equal(seen[s], 1);
    }
    decam__de_free(d, &ALLOC);
}

static void test_init_around_keeps_center_and_spread(void **state) {
    (void)state;
    de_config cfg = {4, 8, DECAM_STRATEGY_RAND1, 0.5, 0.0, 0.9, 0.1, 0, 0};
    de *d = decam__de_create(&cfg, &ALLOC);
    rng r;
    decam__rng_seed(&r, 3);
    const double center[4] = {0.1, 0.5, 0.9, 1.0};
    decam__de_init_around(d, &r, center, 0.2);
    const double *t = decam__de_trials(d);
    for (int j = 0; j < 4; j++)
        assert_true(t[j] == center[j]);
    for (int i = 1; i < 8; i++)
        for (int j = 0; j < 4; j++) {
            assert_true(fabs(t[i * 4 + j] - center[j]) <= 0.2 + 1e-12);
            assert_true(t[i * 4 + j] >= 0.0 && t[i * 4 + j] <= 1.0);
        }
    decam__de_free(d, &ALLOC);
}

/* A trial replaces its target only when at least as fit; unevaluated
 * trials of a partial generation are dropped. */
static void test_tell_selects_per_target_and_ignores_unevaluated_trials(void **state) {
    (void)state;
    de_config cfg = {3, 4, DECAM_STRATEGY_RAND1, 0.5, 0.0, 1.0, 0.1, 0, 0};
    de *d = decam__de_create(&cfg, &ALLOC);
    rng r;
    decam__rng_seed(&r, 9);
    decam__de_init_uniform(d, &r);
    double first[4] = {1.0, 2.0, 3.0, 4.0};
    decam__de_tell(d, 4, first);
    double best;
    decam__de_best(d, &best);
    assert_true(best == 4.0);
    assert_true(decam__de_spread(d) == 3.0);
    decam__de_ask(d, &r);
    double pop_before[12];
    for (int i = 0; i < 12; i++)
        pop_before[i] = decam__de_population(d)[i];
    double second[4] = {0.5, 5.0, NAN, 100.0}; /* only two evaluated */
    decam__de_tell(d, 2, second);
    const double *pop = decam__de_population(d), *fit = decam__de_fitness(d),
                 *t = decam__de_trials(d);
    assert_true(fit[0] == 1.0); /* 0.5 < 1: kept */
    for (int j = 0; j < 3; j++)
        assert_true(pop[j] == pop_before[j]);
    assert_true(fit[1] == 5.0); /* 5 > 2: replaced */
    for (int j = 0; j < 3; j++)
        assert_true(pop[3 + j] == t[3 + j]);
    assert_true(fit[2] == 3.0 && fit[3] == 4.0); /* not evaluated: unchanged */
    decam__de_best(d, &best);
    assert_true(best == 5.0);
    decam__de_free(d, &ALLOC);
}

static void test_nan_fitness_never_wins(void **state) {
    (void)state;
    de_config cfg = {2, 4, DECAM_STRATEGY_PBEST, 0.5, 0.0, 1.0, 0.5, 0, 0};
    de *d = decam__de_create(&cfg, &ALLOC);
    rng r;
    decam__rng_seed(&r, 1);
    decam__de_init_uniform(d, &r);
    double f[4] = {NAN, 1.0, NAN, 0.0};
    decam__de_tell(d, 4, f);
    double best;
    decam__de_best(d, &best);
    assert_true(best == 1.0);
    decam__de_free(d, &ALLOC);
}

static void test_same_seed_same_trials_and_bad_config_refused(void **state) {
    (void)state;
    de_config cfg = {6, 10, DECAM_STRATEGY_PBEST, 0.7, 0.3, 0.5, 0.2, 0, 0};
    double fit[10];
    double out[2][60];
    for (int run = 0; run < 2; run++) {
        de *d = decam__de_create(&cfg, &ALLOC);
        rng r;
        decam__rng_seed(&r, 42);
        decam__de_init_latin(d, &r);
        for (int gen = 0; gen < 5; gen++) {
            for (int i = 0; i < 10; i++) {
                const double *g = decam__de_trials(d) + i * 6;
                fit[i] = 0.0;
                for (int j = 0; j < 6; j++)
                    fit[i] -= (g[j] - 0.3) * (g[j] - 0.3);
            }
            decam__de_tell(d, 10, fit);
            decam__de_ask(d, &r);
        }
        for (int i = 0; i < 60; i++)
            out[run][i] = decam__de_trials(d)[i];
        decam__de_free(d, &ALLOC);
    }
    for (int i = 0; i < 60; i++)
        assert_true(out[0][i] == out[1][i]);
    de_config small = cfg;
    small.np = 3;
    assert_null(decam__de_create(&small, &ALLOC));
    small = cfg;
    small.dim = 0;
    assert_null(decam__de_create(&small, &ALLOC));
}

/* ---- SHADE and L-SHADE ------------------------------------------------- */

static de_config shade_config(decam_strategy strategy, size_t dim, size_t np, size_t memory) {
    return (de_config){.dim = dim,
                       .np = np,
                       .strategy = strategy,
                       .f = 0.5,
                       .cr = 0.5,
                       .pbest = 0.2,
                       .memory = memory,
                       .max_evals = 0};
}

/* Fitness of a vector: minus its squared distance to (0.3, 0.3, ...). */
static double bowl(const double *g, size_t dim) {
    double s = 0.0;
    for (size_t j = 0; j < dim; j++)
        s -= (g[j] - 0.3) * (g[j] - 0.3);
    return s;
}

static void tell_bowl(de *d, size_t dim) {
    double fit[MAX_NP];
    const size_t n = decam__de_size(d);
    for (size_t i = 0; i < n; i++)
        fit[i] = bowl(decam__de_trials(d) + i * dim, dim);
    decam__de_tell(d, n, fit);
}

/* After a generation in which trials 0 and 1 improve their targets by 1
 * and 3, trial 2 ties and the rest lose, slot 0 of M_F becomes the Lehmer
 * mean of F0 and F1 weighted 1 : 3, slot 0 of M_CR their weighted mean
 * (SHADE) or weighted Lehmer mean (L-SHADE); the other slots keep 0.5. A
 * generation without improvement changes nothing, not even the slot
 * written next. */
static void test_memory_update_is_the_improvement_weighted_mean(void **state) {
    (void)state;
    const decam_strategy strategies[] = {DECAM_STRATEGY_SHADE, DECAM_STRATEGY_LSHADE};
    for (int s = 0; s < 2; s++) {
        de_config cfg = shade_config(strategies[s], 3, 8, 3);
        de *d = decam__de_create(&cfg, &ALLOC);
        assert_non_null(d);
        rng r;
        decam__rng_seed(&r, 5);
        decam__de_init_uniform(d, &r);
        const double zero[8] = {0};
        decam__de_tell(d, 8, zero);
        decam__de_ask(d, &r);
        const double *m_f, *m_cr, *tf, *tcr;
        size_t next = 99;
        assert_int_equal(decam__de_memory(d, &m_f, &m_cr, &next, &tf, &tcr), 3);
        assert_int_equal(next, 0);
        const double f0 = tf[0], f1 = tf[1], c0 = tcr[0], c1 = tcr[1];
        for (int i = 0; i < 8; i++) {
            assert_true(tf[i] > 0.0 && tf[i] <= 1.0);
            assert_true(tcr[i] >= 0.0 && tcr[i] <= 1.0);
        }
        const double second[8] = {1.0, 3.0, 0.0, -1.0, -1.0, -1.0, -1.0, -1.0};
        decam__de_tell(d, 8, second);
        decam__de_memory(d, &m_f, &m_cr, &next, NULL, NULL);
        assert_int_equal(next, 1);
        assert_float_equal(m_f[0], (f0 * f0 + 3.0 * f1 * f1) / (f0 + 3.0 * f1), 1e-12);
        double cr = strategies[s] == DECAM_STRATEGY_SHADE
                        ? (c0 + 3.0 * c1) / 4.0
                        : (c0 * c0 + 3.0 * c1 * c1) / (c0 + 3.0 * c1);
        if (c0 + c1 > 0.0)
            assert_float_equal(m_cr[0], cr, 1e-12);
        else /* L-SHADE's terminal value when every success had CR 0 */
            assert_true(strategies[s] == DECAM_STRATEGY_SHADE ? m_cr[0] == 0.0 : m_cr[0] < 0.0);
        for (int k = 1; k < 3; k++)
            assert_true(m_f[k] == 0.5 && m_cr[k] == 0.5);
        const double keep_f = m_f[0], keep_cr = m_cr[0];
        decam__de_ask(d, &r);
        const double worse[8] = {-9, -9, -9, -9, -9, -9, -9, -9};
        decam__de_tell(d, 8, worse);
        decam__de_memory(d, &m_f, &m_cr, &next, NULL, NULL);
        assert_int_equal(next, 1);
        assert_true(m_f[0] == keep_f && m_cr[0] == keep_cr);
        for (int k = 1; k < 3; k++)
            assert_true(m_f[k] == 0.5 && m_cr[k] == 0.5);
        decam__de_free(d, &ALLOC);
    }
    de_config plain = shade_config(DECAM_STRATEGY_PBEST, 3, 8, 3);
    de *d = decam__de_create(&plain, &ALLOC);
    assert_int_equal(decam__de_memory(d, NULL, NULL, NULL, NULL, NULL), 0);
    decam__de_free(d, &ALLOC);
}

/* The memories move towards what succeeds: on Rastrigin, separable, the
 * successful CRs are small, and after 100 generations every M_CR slot is
 * far below its start (0.5). With one slot, L-SHADE's M_CR becomes the
 * terminal value once every success had CR 0, and then every trial gets
 * CR 0 and the slot stays terminal. */
static void test_memories_follow_success_and_lshade_cr_can_terminate(void **state) {
    (void)state;
    de_case c = {"rastrigin", rastrigin, DECAM_STRATEGY_SHADE, 0.5, 0.5, 40, 0, 0, 0, 0};
    de_config cfg = config_of(&c);
    de *d = decam__de_create(&cfg, &ALLOC);
    rng r;
    decam__rng_seed(&r, 2);
    decam__de_init_latin(d, &r);
    double fit[MAX_NP];
    for (int gen = 0; gen < 100; gen++) {
        for (size_t i = 0; i < 40; i++)
            fit[i] = -rastrigin(decam__de_trials(d) + i * DIM);
        decam__de_tell(d, 40, fit);
        decam__de_ask(d, &r);
    }
    const double *m_f, *m_cr;
    size_t h = decam__de_memory(d, &m_f, &m_cr, NULL, NULL, NULL);
    for (size_t k = 0; k < h; k++) {
        printf("# SHADE on Rastrigin after 100 generations: M_F[%zu] %.3f, M_CR[%zu] %.3f\n", k,
               m_f[k], k, m_cr[k]);
        assert_true(m_cr[k] < 0.25);
        assert_true(m_f[k] > 0.0 && m_f[k] <= 1.0);
    }
    decam__de_free(d, &ALLOC);

    cfg = shade_config(DECAM_STRATEGY_LSHADE, 3, 8, 1);
    cfg.cr = 0.0; /* CR ~ N(0, 0.1) clipped: about half the trials get exactly 0 */
    d = decam__de_create(&cfg, &ALLOC);
    decam__de_init_uniform(d, &r);
    const double zero[8] = {0};
    decam__de_tell(d, 8, zero);
    decam__de_ask(d, &r);
    const double *tcr;
    decam__de_memory(d, NULL, NULL, NULL, NULL, &tcr);
    double second[8];
    int zeros = 0;
    for (int i = 0; i < 8; i++) {
        second[i] = tcr[i] == 0.0 ? 1.0 : -1.0; /* only the CR-0 trials succeed */
        zeros += tcr[i] == 0.0;
    }
    assert_true(zeros > 0);
    decam__de_tell(d, 8, second);
    decam__de_memory(d, &m_f, &m_cr, NULL, NULL, NULL);
    assert_true(m_cr[0] < 0.0);
    decam__de_ask(d, &r);
    decam__de_memory(d, NULL, NULL, NULL, NULL, &tcr);
    for (int i = 0; i < 8; i++) {
        assert_true(tcr[i] == 0.0);
        second[i] = 2.0; /* all succeed, with CR 0: the slot stays terminal */
    }
    decam__de_tell(d, 8, second);
    decam__de_memory(d, &m_f, &m_cr, NULL, NULL, NULL);
    assert_true(m_cr[0] < 0.0);
    decam__de_free(d, &ALLOC);
}

/* L-SHADE's population follows its schedule, round(np - (np - 4) *
 * evals / max_evals), only ever shrinking, never below 4, also past the
 * budget; the members dropped are the worst, and the best survives. */
static void test_lshade_population_shrinks_to_four_dropping_the_worst(void **state) {
    (void)state;
    const size_t np = 40, dim = 5;
    de_config cfg = shade_config(DECAM_STRATEGY_LSHADE, dim, np, 6);
    cfg.max_evals = 1000;
    de *d = decam__de_create(&cfg, &ALLOC);
    rng r;
    decam__rng_seed(&r, 8);
    decam__de_init_latin(d, &r);
    assert_int_equal(decam__de_size(d), np);
    size_t evals = 0, last = np, generations = 0;
    while (evals < 1400) {
        const size_t n = decam__de_size(d);
        tell_bowl(d, dim);
        evals += n;
        double before[MAX_NP], best;
        for (size_t i = 0; i < n; i++)
            before[i] = decam__de_fitness(d)[i];
        decam__de_best(d, &best);
        decam__de_ask(d, &r);
        generations++;
        const size_t now = decam__de_size(d);
        double done = evals < 1000 ? (double)evals / 1000.0 : 1.0;
        size_t expected = (size_t)(np - (np - 4) * done + 0.5);
        if (expected > last) expected = last;
        assert_int_equal(now, expected);
        assert_true(now >= 4 && now <= last);
        /* The survivors are the best `now` of before, in their order. */
        double sorted[MAX_NP];
        for (size_t i = 0; i < n; i++)
            sorted[i] = before[i];
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (sorted[j] > sorted[i]) {
                    double t = sorted[i];
                    sorted[i] = sorted[j];
                    sorted[j] = t;
                }
        double threshold = sorted[now - 1], kept_best;
        for (size_t i = 0; i < now; i++)
            assert_true(decam__de_fitness(d)[i] >= threshold);
        decam__de_best(d, &kept_best);
        assert_true(kept_best == best);
        last = now;
    }
    assert_int_equal(last, 4);
    printf("# L-SHADE: 40 -> 4 members over %zu generations of a 1000-evaluation schedule\n",
           generations);
    decam__de_free(d, &ALLOC);

    /* Without a budget the population keeps its size. */
    cfg.max_evals = 0;
    d = decam__de_create(&cfg, &ALLOC);
    decam__de_init_latin(d, &r);
    for (int gen = 0; gen < 20; gen++) {
        tell_bowl(d, dim);
        decam__de_ask(d, &r);
        assert_int_equal(decam__de_size(d), np);
    }
    decam__de_free(d, &ALLOC);
}

static uint64_t hash_doubles(const double *v, size_t n) {
    uint64_t h = 1469598103934665603ull;
    const unsigned char *b = (const unsigned char *)v;
    for (size_t i = 0; i < n * sizeof *v; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* The same seed gives the same trials bit for bit, another seed others;
 * the golden checksums pin the trajectories (change them only with a
 * deliberate change of the engine, and say why). */
static void test_shade_and_lshade_same_seed_same_trials_golden(void **state) {
    (void)state;
    const decam_strategy strategies[] = {DECAM_STRATEGY_SHADE, DECAM_STRATEGY_LSHADE};
    const uint64_t golden[] = {0x38b5b4fcea90c1fbull, 0xa87761e047186d4bull};
    for (int s = 0; s < 2; s++) {
        uint64_t h[3];
        for (int run = 0; run < 3; run++) {
            de_config cfg = shade_config(strategies[s], 6, 24, 4);
            cfg.max_evals = 600;
            de *d = decam__de_create(&cfg, &ALLOC);
            rng r;
            decam__rng_seed(&r, run < 2 ? 42 : 43);
            decam__de_init_latin(d, &r);
            for (int gen = 0; gen < 30; gen++) {
                tell_bowl(d, 6);
                decam__de_ask(d, &r);
            }
            h[run] = hash_doubles(decam__de_trials(d), decam__de_size(d) * 6);
            decam__de_free(d, &ALLOC);
        }
        printf("# %s golden trials checksum 0x%016llx\n", STRATEGY[strategies[s]],
               (unsigned long long)h[0]);
        assert_true(h[0] == h[1]);
        assert_true(h[0] != h[2]);
        assert_true(h[0] == golden[s]);
    }
}

/* Every allocation of an engine may fail: create returns NULL and leaks
 * nothing. SHADE and L-SHADE also refuse an empty memory and an F or CR
 * the memories cannot start from. */
static void test_shade_create_survives_every_allocation_failure(void **state) {
    (void)state;
    const decam_strategy strategies[] = {DECAM_STRATEGY_PBEST, DECAM_STRATEGY_SHADE,
                                         DECAM_STRATEGY_LSHADE};
    for (int s = 0; s < 3; s++) {
        de_config cfg = shade_config(strategies[s], 7, 30, 6);
        counter c = {.fail_at = -1};
        decam_allocator a = {count_alloc, count_free, &c};
        de *d = decam__de_create(&cfg, &a);
        assert_non_null(d);
        decam__de_free(d, &a);
        const long total = c.calls;
        assert_true(total >= (strategies[s] == DECAM_STRATEGY_PBEST ? 6 : 12));
        for (long k = 0; k < total; k++) {
            c = (counter){.fail_at = k};
            assert_null(decam__de_create(&cfg, &a));
            assert_int_equal(c.live, 0);
        }
    }
    de_config bad = shade_config(DECAM_STRATEGY_SHADE, 3, 8, 0);
    assert_null(decam__de_create(&bad, &ALLOC));
    bad = shade_config(DECAM_STRATEGY_LSHADE, 3, 8, 0);
    assert_null(decam__de_create(&bad, &ALLOC));
    bad = shade_config(DECAM_STRATEGY_SHADE, 3, 8, 2);
    bad.f = NAN;
    assert_null(decam__de_create(&bad, &ALLOC));
    bad.f = 0.5;
    bad.cr = 1.5;
    assert_null(decam__de_create(&bad, &ALLOC));
    bad = shade_config(DECAM_STRATEGY_COUNT, 3, 8, 2);
    assert_null(decam__de_create(&bad, &ALLOC));
}

/* A target at -infinity (NaN fitness) improved by a finite trial is an
 * infinite improvement: the update stays finite and the trial's F weighs
 * most. */
static void test_shade_update_survives_infinite_improvement(void **state) {
    (void)state;
    de_config cfg = shade_config(DECAM_STRATEGY_SHADE, 3, 6, 2);
    de *d = decam__de_create(&cfg, &ALLOC);
    rng r;
    decam__rng_seed(&r, 4);
    decam__de_init_uniform(d, &r);
    const double first[6] = {NAN, 0, 0, 0, 0, 0};
    decam__de_tell(d, 6, first);
    decam__de_ask(d, &r);
    const double *tf, *m_f, *m_cr;
    decam__de_memory(d, NULL, NULL, NULL, &tf, NULL);
    const double f0 = tf[0];
    const double second[6] = {1.0, 1.0, -1, -1, -1, -1};
    decam__de_tell(d, 6, second);
    decam__de_memory(d, &m_f, &m_cr, NULL, NULL, NULL);
    assert_true(isfinite(m_f[0]) && isfinite(m_cr[0]));
    assert_float_equal(m_f[0], f0, 1e-9); /* trial 1's weight is 1 / DBL_MAX of trial 0's */
    decam__de_free(d, &ALLOC);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strategies_reach_known_optima_within_stated_evaluations),
        cmocka_unit_test(test_latin_hypercube_puts_one_value_in_each_stratum),
        cmocka_unit_test(test_init_around_keeps_center_and_spread),
        cmocka_unit_test(test_tell_selects_per_target_and_ignores_unevaluated_trials),
        cmocka_unit_test(test_nan_fitness_never_wins),
        cmocka_unit_test(test_same_seed_same_trials_and_bad_config_refused),
        cmocka_unit_test(test_memory_update_is_the_improvement_weighted_mean),
        cmocka_unit_test(test_memories_follow_success_and_lshade_cr_can_terminate),
        cmocka_unit_test(test_lshade_population_shrinks_to_four_dropping_the_worst),
        cmocka_unit_test(test_shade_and_lshade_same_seed_same_trials_golden),
        cmocka_unit_test(test_shade_create_survives_every_allocation_failure),
        cmocka_unit_test(test_shade_update_survives_infinite_improvement),
    };
    return cmocka_run_group_tests_name("de", tests, NULL, NULL);
}
