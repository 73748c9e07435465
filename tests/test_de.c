/* test_de.c - the DE engine on textbook functions with known optima, its
 * bounds, initialisations and the ask/tell protocol. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

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
    double f, cr;
    size_t np;
    double tolerance;
    long max_evals;  /* stated limit for one seed */
    int min_success; /* of 10 seeds */
} de_case;

/* Runs one seed; returns evaluations used to reach the tolerance, or -1.
 * Checks on the way that every trial stays inside [0,1]. */
static long solve(const de_case *c, uint64_t seed) {
    de_config cfg = {DIM, c->np, c->strategy, c->f, 0.0, c->cr, 0.1};
    de *d = decam__de_create(&cfg, &ALLOC);
    assert_non_null(d);
    rng r;
    decam__rng_seed(&r, seed);
    decam__de_init_latin(d, &r);
    double fit[64];
    long evals = 0;
    for (;;) {
        const double *t = decam__de_trials(d);
        for (size_t i = 0; i < c->np; i++) {
            for (int j = 0; j < DIM; j++) {
                assert_true(t[i * DIM + j] >= 0.0);
                assert_true(t[i * DIM + j] <= 1.0);
            }
            fit[i] = -c->fn(t + i * DIM);
        }
        evals += (long)c->np;
        decam__de_tell(d, c->np, fit);
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
    {"sphere", sphere, DECAM_STRATEGY_RAND1, 0.8, 0.9, 40, 1e-6, 30000, 10},
    {"sphere", sphere, DECAM_STRATEGY_BEST1, 0.8, 0.9, 40, 1e-6, 10000, 10},
    {"sphere", sphere, DECAM_STRATEGY_PBEST, 0.8, 0.9, 40, 1e-6, 15000, 10},
    {"rosenbrock", rosenbrock, DECAM_STRATEGY_RAND1, 0.8, 0.9, 40, 1e-4, 60000, 10},
    /* best/1 is greedy: some seeds fall into the valley's local minimum. */
    {"rosenbrock", rosenbrock, DECAM_STRATEGY_BEST1, 0.8, 0.9, 40, 1e-4, 20000, 7},
    {"rosenbrock", rosenbrock, DECAM_STRATEGY_PBEST, 0.8, 0.9, 40, 1e-4, 25000, 10},
    {"rastrigin", rastrigin, DECAM_STRATEGY_RAND1, 0.5, 0.0, 30, 1e-4, 12000, 10},
    {"rastrigin", rastrigin, DECAM_STRATEGY_BEST1, 0.5, 0.0, 30, 1e-4, 9000, 10},
    {"rastrigin", rastrigin, DECAM_STRATEGY_PBEST, 0.5, 0.0, 30, 1e-4, 13000, 10},
};

static const char *STRATEGY[] = {"rand/1/bin", "best/1/bin", "current-to-pbest/1/bin"};

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
    de_config cfg = {5, 16, DECAM_STRATEGY_RAND1, 0.5, 0.0, 0.9, 0.1};
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
    de_config cfg = {4, 8, DECAM_STRATEGY_RAND1, 0.5, 0.0, 0.9, 0.1};
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
    de_config cfg = {3, 4, DECAM_STRATEGY_RAND1, 0.5, 0.0, 1.0, 0.1};
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
    de_config cfg = {2, 4, DECAM_STRATEGY_PBEST, 0.5, 0.0, 1.0, 0.5};
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
    de_config cfg = {6, 10, DECAM_STRATEGY_PBEST, 0.7, 0.3, 0.5, 0.2};
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strategies_reach_known_optima_within_stated_evaluations),
        cmocka_unit_test(test_latin_hypercube_puts_one_value_in_each_stratum),
        cmocka_unit_test(test_init_around_keeps_center_and_spread),
        cmocka_unit_test(test_tell_selects_per_target_and_ignores_unevaluated_trials),
        cmocka_unit_test(test_nan_fitness_never_wins),
        cmocka_unit_test(test_same_seed_same_trials_and_bad_config_refused),
    };
    return cmocka_run_group_tests_name("de", tests, NULL, NULL);
}
