/* test_filter.c - the separable Gaussian blur. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "alloc_sys.h"
#include "filter.h"

static void test_radius_is_three_sigma_rounded_up_and_at_least_one(void **state) {
    (void)state;
    assert_int_equal(filter_gaussian_radius(0.1), 1);
    assert_int_equal(filter_gaussian_radius(1.0), 3);
    assert_int_equal(filter_gaussian_radius(2.5), 8);
}

static void test_blur_of_constant_plane_is_constant(void **state) {
    (void)state;
    float p[9 * 6];
    for (int i = 0; i < 54; i++)
        p[i] = -1.25f;
    assert_int_equal(filter_gaussian(&ALLOC, p, 9, 6, 1, 1, 4.0), 0);
    for (int i = 0; i < 54; i++)
        assert_float_equal(p[i], -1.25f, 1e-5f);
}

/* An impulse far from the borders spreads into a symmetric bump whose mass
 * stays 1 and whose centre matches the 2-D Gaussian's peak 1 / (2 pi s^2). */
static void test_impulse_response_is_a_normalised_symmetric_gaussian(void **state) {
    (void)state;
    enum { N = 41 };
    float p[N * N] = {0};
    p[20 * N + 20] = 1.0f;
    const double sigma = 2.0;
    assert_int_equal(filter_gaussian(&ALLOC, p, N, N, 1, 1, sigma), 0);
    double sum = 0.0;
    for (int i = 0; i < N * N; i++)
        sum += p[i];
    assert_float_equal(sum, 1.0, 1e-4);
    assert_float_equal(p[20 * N + 20], 1.0 / (2 * 3.14159265358979323846 * sigma * sigma), 2e-3);
    for (int d = 1; d < 8; d++) {
        assert_float_equal(p[20 * N + 20 + d], p[20 * N + 20 - d], 1e-7);
        assert_float_equal(p[(20 + d) * N + 20], p[20 * N + 20 + d], 1e-7);
    }
}

/* Interleaved channels are blurred apart. */
static void test_interleaved_planes_do_not_mix(void **state) {
    (void)state;
    float p[8 * 8 * 2];
    for (int i = 0; i < 64; i++)
        p[2 * i] = 1.0f, p[2 * i + 1] = 5.0f;
    assert_int_equal(filter_gaussian(&ALLOC, p, 8, 8, 1, 2, 1.5), 0);
    for (int i = 0; i < 64; i++) {
        assert_float_equal(p[2 * i], 1.0f, 1e-5f);
        assert_float_equal(p[2 * i + 1], 5.0f, 1e-5f);
    }
}

/* The blur the plain way: each output alone, the taps read through a
 * clamped index, products in float summed in double in tap order. */
static void reference_blur(float *data, int w, int h, int c, double sigma) {
    enum { MAX_VALUES = 64 * 64 * 3, MAX_TAPS = 64 };
    const int r = filter_gaussian_radius(sigma);
    float kernel[MAX_TAPS], line[MAX_VALUES];
    double sum = 0.0;
    for (int i = -r; i <= r; i++)
        sum += exp(-0.5 * (i * i) / (sigma * sigma));
    for (int i = -r; i <= r; i++)
        kernel[i + r] = (float)(exp(-0.5 * (i * i) / (sigma * sigma)) / sum);
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < w * h * c; i++)
            line[i] = data[i];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int ch = 0; ch < c; ch++) {
                    double acc = 0.0;
                    for (int k = -r; k <= r; k++) {
                        int xs = pass ? x : x + k, ys = pass ? y + k : y;
                        xs = xs < 0 ? 0 : xs >= w ? w - 1 : xs;
                        ys = ys < 0 ? 0 : ys >= h ? h - 1 : ys;
                        acc += kernel[k + r] * line[(ys * w + xs) * c + ch];
                    }
                    data[(y * w + x) * c + ch] = (float)acc;
                }
    }
}

/* Whole rows at a time, with edge pixels padded and rows kept in a ring,
 * the blur gives the plain way's floats exactly: shapes with a radius
 * beyond the image, and interleaved channels. */
static void test_blur_matches_the_plain_sum_bit_for_bit(void **state) {
    (void)state;
    const struct {
        int w, h, c;
        double sigma;
    } cases[] = {{9, 6, 1, 4.0}, {13, 29, 3, 1.5}, {40, 7, 2, 2.0}, {31, 33, 3, 3.3}};
    static float got[64 * 64 * 3], want[64 * 64 * 3];
    for (int t = 0; t < 4; t++) {
        const int n = cases[t].w * cases[t].h * cases[t].c;
        for (int i = 0; i < n; i++)
            got[i] = want[i] = (float)((i * 37) % 101) / 100.0f;
        assert_int_equal(
            filter_gaussian(&ALLOC, got, cases[t].w, cases[t].h, 1, cases[t].c, cases[t].sigma), 0);
        reference_blur(want, cases[t].w, cases[t].h, cases[t].c, cases[t].sigma);
        assert_memory_equal(got, want, (size_t)n * sizeof *got);
    }
}

/* A sigma in the smoothing range whose square underflows (1e-170, the
 * smallest positive double) gives the identity, the Gaussian's limit, not
 * NaN taps; so does one whose outer taps underflow (0.01). */
static void test_tiny_sigma_blurs_to_the_identity(void **state) {
    (void)state;
    const double sigmas[] = {1e-170, 4.9e-324, 1e-10, 0.01};
    for (size_t k = 0; k < sizeof sigmas / sizeof sigmas[0]; k++) {
        float p[7 * 5];
        for (int i = 0; i < 35; i++)
            p[i] = (float)(i * i % 11) - 3.0f;
        assert_int_equal(filter_gaussian(&ALLOC, p, 7, 5, 1, 1, sigmas[k]), 0);
        for (int i = 0; i < 35; i++)
            assert_true(p[i] == (float)(i * i % 11) - 3.0f);
    }
}

/* A blur of finite values at +-FLT_MAX stays finite: the taps' rounding
 * never carries a weighted mean of them past FLT_MAX to infinity (the
 * float taps sum to within 3e-8 of 1 for every sigma, less than the half
 * ulp that would round FLT_MAX up). */
static void test_blur_of_values_at_flt_max_stays_finite(void **state) {
    (void)state;
    const double sigmas[] = {0.5, 1.0, 2.0, 3.7, 16.0};
    for (size_t k = 0; k < sizeof sigmas / sizeof sigmas[0]; k++) {
        float p[9 * 8 * 2];
        for (int i = 0; i < 9 * 8 * 2; i++)
            p[i] = i % 2 ? -FLT_MAX : FLT_MAX;
        assert_int_equal(filter_gaussian(&ALLOC, p, 9, 8, 1, 2, sigmas[k]), 0);
        for (int i = 0; i < 9 * 8 * 2; i++) {
            assert_true(isfinite(p[i]));
            assert_true(fabsf(p[i]) >= 0.9999f * FLT_MAX && (p[i] > 0.0f) == !(i % 2));
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_radius_is_three_sigma_rounded_up_and_at_least_one),
        cmocka_unit_test(test_blur_of_constant_plane_is_constant),
        cmocka_unit_test(test_impulse_response_is_a_normalised_symmetric_gaussian),
        cmocka_unit_test(test_interleaved_planes_do_not_mix),
        cmocka_unit_test(test_blur_matches_the_plain_sum_bit_for_bit),
        cmocka_unit_test(test_tiny_sigma_blurs_to_the_identity),
        cmocka_unit_test(test_blur_of_values_at_flt_max_stays_finite),
    };
    return cmocka_run_group_tests_name("filter", tests, NULL, NULL);
}
