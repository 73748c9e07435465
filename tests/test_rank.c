/* test_rank.c - decam_rank_correlation() on maps whose correlation is
 * known by construction or by hand, and its error paths. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "decam.h"
#include "rank.h"

enum { N = 1000 };

/* A map with many ties, as flat regions give: values from a coarse grid. */
static void tied_map(float *map, size_t n, uint32_t seed) {
    uint32_t s = seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        map[i] = (float)(s >> 28) / 16.0f; /* 16 levels */
    }
}

static void test_identical_maps_correlate_exactly_one(void **state) {
    (void)state;
    float a[N];
    tied_map(a, N, 7);
    double rho = 0;
    assert_int_equal(decam_rank_correlation(a, a, N, &rho), DECAM_OK);
    assert_true(rho == 1.0);
    for (size_t i = 0; i < N; i++)
        a[i] = (float)i * 0.5f; /* no ties at all */
    assert_int_equal(decam_rank_correlation(a, a, N, &rho), DECAM_OK);
    assert_true(rho == 1.0);
}

static void test_reversed_order_correlates_exactly_minus_one(void **state) {
    (void)state;
    float a[N], b[N];
    for (size_t i = 0; i < N; i++) {
        a[i] = (float)i;
        b[i] = (float)(N - i) * 3.0f;
    }
    double rho = 0;
    assert_int_equal(decam_rank_correlation(a, b, N, &rho), DECAM_OK);
    assert_true(rho == -1.0);
    /* with ties too: negating a map reverses its order, ties stay ties */
    tied_map(a, N, 11);
    for (size_t i = 0; i < N; i++)
        b[i] = -a[i];
    assert_int_equal(decam_rank_correlation(a, b, N, &rho), DECAM_OK);
    assert_true(rho == -1.0);
}

/* By hand, n = 5:
 *   a = 0.1 0.4 0.4 0.2 0.9  ranks 1 3.5 3.5 2 5      (0.4 ties for 3 and 4)
 *   b = 0   0   1   2   2    ranks 1.5 1.5 3 4.5 4.5  (ties for 1-2, 4-5)
 * Mean rank 3; centred: a -2 .5 .5 -1 2, b -1.5 -1.5 0 1.5 1.5.
 *   sum ab = 3 - .75 + 0 - 1.5 + 3 = 3.75
 *   sum aa = 4 + .25 + .25 + 1 + 4 = 9.5
 *   sum bb = 4 * 2.25 = 9
 *   rho = 3.75 / sqrt(9.5 * 9) = 0.405554...
 * (The no-ties shortcut 1 - 6 sum d^2 / (n (n^2 - 1)) would give
 * 1 - 6 * 11 / 120 = 0.45: average ranks need the full formula.) */
static void test_small_example_with_ties_matches_the_hand_computation(void **state) {
    (void)state;
    const float a[5] = {0.1f, 0.4f, 0.4f, 0.2f, 0.9f}, b[5] = {0, 0, 1, 2, 2};
    double rho = 0;
    assert_int_equal(decam_rank_correlation(a, b, 5, &rho), DECAM_OK);
    assert_float_equal(rho, 3.75 / sqrt(85.5), 1e-15);
    assert_int_equal(decam_rank_correlation(b, a, 5, &rho), DECAM_OK); /* symmetric */
    assert_float_equal(rho, 3.75 / sqrt(85.5), 1e-15);
    /* the smallest case: two values */
    const float up[2] = {0, 1}, down[2] = {1, 0};
    assert_int_equal(decam_rank_correlation(up, down, 2, &rho), DECAM_OK);
    assert_true(rho == -1.0);
}

static void test_constant_map_correlates_zero(void **state) {
    (void)state;
    float a[N], flat[N];
    tied_map(a, N, 3);
    for (size_t i = 0; i < N; i++)
        flat[i] = 0.25f;
    double rho = -5;
    assert_int_equal(decam_rank_correlation(a, flat, N, &rho), DECAM_OK);
    assert_true(rho == 0.0);
    rho = -5;
    assert_int_equal(decam_rank_correlation(flat, a, N, &rho), DECAM_OK);
    assert_true(rho == 0.0);
    rho = -5;
    assert_int_equal(decam_rank_correlation(flat, flat, N, &rho), DECAM_OK);
    assert_true(rho == 0.0);
}

/* Ranks are all that counts: an increasing transform changes nothing. */
static void test_increasing_transform_leaves_rho_at_one(void **state) {
    (void)state;
    float a[N], b[N], c[N];
    tied_map(a, N, 5);
    for (size_t i = 0; i < N; i++) {
        a[i] = a[i] * 6.0f - 3.0f; /* 16 levels in [-3, 3) */
        b[i] = expf(a[i]);
    }
    double rho = 0;
    assert_int_equal(decam_rank_correlation(a, b, N, &rho), DECAM_OK);
    assert_true(rho == 1.0);
    /* and rho of a with another map equals rho of exp(a) with it */
    tied_map(c, N, 99);
    double with_a = 0, with_b = 0;
    assert_int_equal(decam_rank_correlation(a, c, N, &with_a), DECAM_OK);
    assert_int_equal(decam_rank_correlation(b, c, N, &with_b), DECAM_OK);
    assert_true(with_a == with_b);
    assert_true(fabs(with_a) < 0.15); /* two unrelated maps */
}

static void test_bad_arguments_are_refused(void **state) {
    (void)state;
    float a[4] = {1, 2, 3, 4}, b[4] = {4, 3, 2, 1};
    double rho = 42;
    assert_int_equal(decam_rank_correlation(NULL, b, 4, &rho), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_rank_correlation(a, NULL, 4, &rho), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_rank_correlation(a, b, 4, NULL), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_rank_correlation(a, b, 1, &rho), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_rank_correlation(a, b, 0, &rho), DECAM_ERR_INVALID_ARGUMENT);
    a[2] = NAN;
    assert_int_equal(decam_rank_correlation(a, b, 4, &rho), DECAM_ERR_INVALID_ARGUMENT);
    a[2] = 3;
    b[3] = -INFINITY;
    assert_int_equal(decam_rank_correlation(a, b, 4, &rho), DECAM_ERR_INVALID_ARGUMENT);
    b[3] = INFINITY;
    assert_int_equal(decam_rank_correlation(a, b, 4, &rho), DECAM_ERR_INVALID_ARGUMENT);
    assert_true(rho == 42); /* untouched on failure */
}

typedef struct failing {
    int calls, fail_at, live;
} failing;

static void *failing_alloc(void *opaque, size_t size) {
    failing *f = opaque;
    if (++f->calls == f->fail_at) return NULL;
    void *p = malloc(size);
    if (p) f->live++;
    return p;
}

static void failing_free(void *opaque, void *p) {
    failing *f = opaque;
    f->live--;
    free(p);
}

/* Each of the two allocations failing in turn: reported, nothing leaked. */
static void test_allocation_failure_is_reported(void **state) {
    (void)state;
    float a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (int k = 1; k <= 3; k++) {
        failing f = {0, k, 0};
        const decam_allocator alloc = {failing_alloc, failing_free, &f};
        double rho = 42;
        decam_status status = decam__rank_correlation(&alloc, a, a, 8, &rho);
        assert_int_equal(f.live, 0);
        if (k <= 2) {
            assert_int_equal(status, DECAM_ERR_OUT_OF_MEMORY);
            assert_true(rho == 42);
        } else {
            assert_int_equal(status, DECAM_OK); /* only two allocations */
            assert_true(rho == 1.0);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_maps_correlate_exactly_one),
        cmocka_unit_test(test_reversed_order_correlates_exactly_minus_one),
        cmocka_unit_test(test_small_example_with_ties_matches_the_hand_computation),
        cmocka_unit_test(test_constant_map_correlates_zero),
        cmocka_unit_test(test_increasing_transform_leaves_rho_at_one),
        cmocka_unit_test(test_bad_arguments_are_refused),
        cmocka_unit_test(test_allocation_failure_is_reported),
    };
    return cmocka_run_group_tests_name("rank", tests, NULL, NULL);
}
