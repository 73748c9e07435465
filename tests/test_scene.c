/*
 * test_scene.c - tests of the synthetic shapes scene generator
 * (examples/shapes/scene.[ch]).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "scene.h"

static const int sizes[] = {32, 47, 64, 96};

static size_t npix(int size) { return (size_t)size * (size_t)size; }

static void test_deterministic(void **state) {
    (void)state;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        int size = sizes[si];
        float *a = malloc(npix(size) * 3 * sizeof(float));
        float *b = malloc(npix(size) * 3 * sizeof(float));
        uint8_t *ma = malloc(npix(size)), *mb = malloc(npix(size));
        assert_non_null(a);
        assert_non_null(b);
        assert_non_null(ma);
        assert_non_null(mb);
        for (uint64_t seed = 0; seed < 20; seed++) {
            uint64_t s = seed * 0x9E3779B97F4A7C15ULL + seed; /* spread over 64 bits */
            int la = -1, lb = -2;
            /* poison b so stale data cannot pass as a match */
            memset(b, 0xAB, npix(size) * 3 * sizeof(float));
            memset(mb, 0xCD, npix(size));
            assert_int_equal(scene_generate(s, size, a, ma, &la), SCENE_OK);
            assert_int_equal(scene_generate(s, size, b, mb, &lb), SCENE_OK);
            assert_int_equal(la, lb);
            assert_memory_equal(a, b, npix(size) * 3 * sizeof(float));
            assert_memory_equal(ma, mb, npix(size));

            scene_info ia, ib;
            memset(&ia, 0, sizeof ia);
            memset(&ib, 0, sizeof ib);
            assert_int_equal(scene_generate_ex(s, size, 0, b, mb, &ia), SCENE_OK);
            assert_int_equal(scene_generate_ex(s, size, 0, b, NULL, &ib), SCENE_OK);
            assert_memory_equal(a, b, npix(size) * 3 * sizeof(float));
            assert_memory_equal(ma, mb, npix(size));
            assert_int_equal(ia.label, la);
            assert_int_equal(ia.mask_area, ib.mask_area);
            assert_true(ia.cx == ib.cx && ia.cy == ib.cy && ia.radius == ib.radius);
        }
        free(a);
        free(b);
        free(ma);
        free(mb);
    }
}

static void test_seeds_differ(void **state) {
    (void)state;
    const int size = 64;
    float *a = malloc(npix(size) * 3 * sizeof(float));
    float *b = malloc(npix(size) * 3 * sizeof(float));
    uint8_t *ma = malloc(npix(size)), *mb = malloc(npix(size));
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(ma);
    assert_non_null(mb);
    int same_mask = 0;
    for (uint64_t seed = 0; seed < 100; seed++) {
        int la, lb;
        assert_int_equal(scene_generate(seed, size, a, ma, &la), SCENE_OK);
        assert_int_equal(scene_generate(seed + 1, size, b, mb, &lb), SCENE_OK);
        /* images of neighbouring seeds must differ substantially */
        double diff = 0.0;
        for (size_t i = 0; i < npix(size) * 3; i++)
            diff += fabs((double)a[i] - b[i]);
        assert_true(diff / (npix(size) * 3) > 0.01);
        same_mask += memcmp(ma, mb, npix(size)) == 0;
    }
    assert_int_equal(same_mask, 0);
    /* also a far-away 64-bit seed */
    int la, lb;
    assert_int_equal(scene_generate(0, size, a, ma, &la), SCENE_OK);
    assert_int_equal(scene_generate(UINT64_C(1) << 63, size, b, mb, &lb), SCENE_OK);
    assert_memory_not_equal(a, b, npix(size) * 3 * sizeof(float));
    free(a);
    free(b);
    free(ma);
    free(mb);
}

static void test_values_in_range(void **state) {
    (void)state;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        int size = sizes[si];
        float *rgb = malloc(npix(size) * 3 * sizeof(float));
        uint8_t *mask = malloc(npix(size));
        assert_non_null(rgb);
        assert_non_null(mask);
        for (uint64_t seed = 100; seed < 150; seed++) {
            int label = -1;
            assert_int_equal(scene_generate(seed, size, rgb, mask, &label), SCENE_OK);
            assert_true(label >= 0 && label < SCENE_NUM_CLASSES);
            for (size_t i = 0; i < npix(size) * 3; i++)
                assert_true(isfinite(rgb[i]) && rgb[i] >= 0.0f && rgb[i] <= 1.0f);
            for (size_t i = 0; i < npix(size); i++)
                assert_true(mask[i] == 0 || mask[i] == 1);
        }
        free(rgb);
        free(mask);
    }
}

/* Area of each shape as a multiple of r^2 (r = circumscribed radius), from
 * the geometry documented in scene.c. */
static double shape_area_factor(int label) {
    const double pi = 3.14159265358979323846;
    switch (label) {
    case SCENE_CIRCLE: return pi;
    case SCENE_SQUARE: return 2.0;
    case SCENE_TRIANGLE: return 3.0 * sqrt(3.0) / 4.0;
    case SCENE_STAR: /* 10-gon, radii 1 and 0.45 alternating */ return 5.0 * 0.45 * sin(pi / 5.0);
    case SCENE_CROSS: { /* arms: half-length l, half-width 0.34 l, l^2 (1 + 0.34^2) = 1 */
        double k = 0.34, l2 = 1.0 / (1.0 + k * k);
        return (8.0 * k - 4.0 * k * k) * l2;
    }
    default: return 0.0;
    }
}

/*
 * The mask is non-empty, inside the image and inside the object's
 * circumscribed circle, its area matches the shape's area, and it marks
 * exactly where the object was drawn: comparing with the same scene rendered
 * without the object (SCENE_NO_OBJECT), mask pixels changed, and every
 * changed pixel outside the mask is on the object's anti-aliased fringe.
 */
static void test_mask_covers_object(void **state) {
    (void)state;
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        const int size = sizes[si];
        const size_t n = npix(size);
        float *rgb = malloc(n * 3 * sizeof(float)), *bg = malloc(n * 3 * sizeof(float));
        uint8_t *mask = malloc(n), *bgmask = malloc(n);
        assert_non_null(rgb);
        assert_non_null(bg);
        assert_non_null(mask);
        assert_non_null(bgmask);
        for (uint64_t seed = 0; seed < 200; seed++) {
            scene_info info, binfo;
            assert_int_equal(scene_generate_ex(seed, size, 0, rgb, mask, &info), SCENE_OK);
            assert_int_equal(scene_generate_ex(seed, size, SCENE_NO_OBJECT, bg, bgmask, &binfo),
                             SCENE_OK);
            assert_int_equal(binfo.mask_area, 0);
            assert_int_equal(binfo.label, info.label);

            /* geometry: the object lies fully inside the image */
            double r = info.radius;
            assert_true(r >= 0.099 * size && r <= 0.226 * size);
            assert_true(info.cx - r >= 0.0 && info.cx + r <= size);
            assert_true(info.cy - r >= 0.0 && info.cy + r <= size);

            size_t area = 0, changed_in = 0;
            double diff_in = 0.0;
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++) {
                    size_t i = (size_t)y * size + x;
                    assert_int_equal(bgmask[i], 0);
                    double d = 0.0;
                    for (int c = 0; c < 3; c++)
                        d += fabs((double)rgb[3 * i + c] - bg[3 * i + c]);
                    /* Coverage estimate: rgb - bg = coverage * (colour - bg)
                     * up to the grain (+-0.03) and clamping; used where the
                     * object colour is far from what is behind it. It checks
                     * the "> 50 % covered" rule: the true coverage of a mask
                     * pixel is >= 9/16, of any other pixel <= 8/16. */
                    double num = 0.0, den = 0.0;
                    int clamped = 0;
                    for (int c = 0; c < 3; c++) {
                        double oc = (double)info.color[c] - bg[3 * i + c];
                        num += ((double)rgb[3 * i + c] - bg[3 * i + c]) * oc;
                        den += oc * oc;
                        clamped |= rgb[3 * i + c] <= 0.0f || rgb[3 * i + c] >= 1.0f ||
                                   bg[3 * i + c] <= 0.0f || bg[3 * i + c] >= 1.0f;
                    }
                    if (!clamped && den >= 0.25 * 0.25) {
                        double cov = num / den;
                        if (mask[i])
                            assert_true(cov >= 0.40);
                        else
                            assert_true(cov <= 0.65);
                    }
                    if (mask[i]) {
                        area++;
                        diff_in += d;
                        changed_in += d > 0.05;
                        /* inside the circumscribed circle */
                        double dx = x + 0.5 - info.cx, dy = y + 0.5 - info.cy;
                        assert_true(sqrt(dx * dx + dy * dy) <= r + 0.75);
                    } else if (d > 0.0) {
                        /* a changed pixel outside the mask: fringe, i.e. a
                         * mask pixel within 3 pixels (thin star tips) */
                        int near = 0;
                        for (int yy = y - 3; yy <= y + 3 && !near; yy++)
                            for (int xx = x - 3; xx <= x + 3 && !near; xx++)
                                if (yy >= 0 && yy < size && xx >= 0 && xx < size &&
                                    mask[(size_t)yy * size + xx])
                                    near = 1;
                        assert_true(near);
                    }
                }
            assert_true(area > 0);
            assert_int_equal(area, info.mask_area);
            /* plausible area for 20..45 % object diameter */
            assert_true((double)area >= 0.008 * n && (double)area <= 0.18 * n);
            /* matches the analytic area of the shape */
            double expect = shape_area_factor(info.label) * r * r;
            assert_true(fabs((double)area - expect) <= 0.25 * expect + 4.0);
            /* the object is visible against what is behind it */
            assert_true(diff_in / area > 0.15);
            assert_true(changed_in >= 0.9 * area);
        }
        free(rgb);
        free(bg);
        free(mask);
        free(bgmask);
    }
}

static void test_class_balance(void **state) {
    (void)state;
    const int size = 32, nseeds = 1000;
    float *rgb = malloc(npix(size) * 3 * sizeof(float));
    uint8_t *mask = malloc(npix(size));
    assert_non_null(rgb);
    assert_non_null(mask);
    int count[SCENE_NUM_CLASSES] = {0};
    for (int s = 0; s < nseeds; s++) {
        int label = -1;
        assert_int_equal(scene_generate((uint64_t)s, size, rgb, mask, &label), SCENE_OK);
        assert_true(label >= 0 && label < SCENE_NUM_CLASSES);
        assert_int_equal(scene_label((uint64_t)s), label);
        count[label]++;
    }
    for (int k = 0; k < SCENE_NUM_CLASSES; k++) {
        print_message("class %-8s %4d / %d\n", scene_class_name(k), count[k], nseeds);
        assert_true(count[k] >= 0.15 * nseeds && count[k] <= 0.25 * nseeds);
    }
    free(rgb);
    free(mask);
}

/* The label is a function of the seed only, not of the size. */
static void test_label_independent_of_size(void **state) {
    (void)state;
    float *a = malloc(npix(96) * 3 * sizeof(float));
    uint8_t *m = malloc(npix(96));
    assert_non_null(a);
    assert_non_null(m);
    for (uint64_t seed = 0; seed < 30; seed++) {
        int l32, l96;
        assert_int_equal(scene_generate(seed, 32, a, m, &l32), SCENE_OK);
        assert_int_equal(scene_generate(seed, 96, a, m, &l96), SCENE_OK);
        assert_int_equal(l32, l96);
    }
    free(a);
    free(m);
}

static void test_bad_arguments(void **state) {
    (void)state;
    const int size = 64;
    float *rgb = malloc(npix(size) * 3 * sizeof(float));
    uint8_t *mask = malloc(npix(size));
    assert_non_null(rgb);
    assert_non_null(mask);
    int label = 1234;
    memset(rgb, 0x55, npix(size) * 3 * sizeof(float));
    memset(mask, 0x77, npix(size));

    const int bad_sizes[] = {31, 16, 1, 0, -1, -64, SCENE_MAX_SIZE + 1};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        assert_int_equal(scene_generate(1, bad_sizes[i], rgb, mask, &label), SCENE_EINVAL);
        assert_int_equal(scene_generate_ex(1, bad_sizes[i], 0, rgb, mask, NULL), SCENE_EINVAL);
    }
    assert_int_equal(scene_generate(1, size, NULL, mask, &label), SCENE_EINVAL);
    assert_int_equal(scene_generate(1, size, rgb, NULL, &label), SCENE_EINVAL);
    assert_int_equal(scene_generate(1, size, rgb, mask, NULL), SCENE_EINVAL);
    assert_int_equal(scene_generate(1, size, NULL, NULL, NULL), SCENE_EINVAL);
    assert_int_equal(scene_generate_ex(1, size, 0, NULL, mask, NULL), SCENE_EINVAL);

    /* nothing was written on error */
    assert_int_equal(label, 1234);
    for (size_t i = 0; i < npix(size); i++)
        assert_int_equal(mask[i], 0x77);
    uint8_t *bytes = (uint8_t *)rgb;
    for (size_t i = 0; i < npix(size) * 3 * sizeof(float); i++)
        assert_int_equal(bytes[i], 0x55);

    /* the smallest valid size works */
    assert_int_equal(scene_generate(1, SCENE_MIN_SIZE, rgb, mask, &label), SCENE_OK);
    free(rgb);
    free(mask);
}

static void test_class_names(void **state) {
    (void)state;
    assert_string_equal(scene_class_name(SCENE_CIRCLE), "circle");
    assert_string_equal(scene_class_name(SCENE_SQUARE), "square");
    assert_string_equal(scene_class_name(SCENE_TRIANGLE), "triangle");
    assert_string_equal(scene_class_name(SCENE_STAR), "star");
    assert_string_equal(scene_class_name(SCENE_CROSS), "cross");
    assert_string_equal(scene_class_name(-1), "unknown");
    assert_string_equal(scene_class_name(SCENE_NUM_CLASSES), "unknown");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic),   cmocka_unit_test(test_seeds_differ),
        cmocka_unit_test(test_values_in_range), cmocka_unit_test(test_mask_covers_object),
        cmocka_unit_test(test_class_balance),   cmocka_unit_test(test_label_independent_of_size),
        cmocka_unit_test(test_bad_arguments),   cmocka_unit_test(test_class_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
