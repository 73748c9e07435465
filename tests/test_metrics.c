/* test_metrics.c - decam_evaluate() on models whose curves are known in
 * closed form, and its error paths. */
#include <float.h>
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

enum { W = 32, H = 32, R0 = 4, R1 = 12 }; /* region: 8 x 8 pixels at (4..11, 4..11) */

static int in_region(int x, int y) { return x >= R0 && x < R1 && y >= R0 && y < R1; }

typedef struct region_model {
    int channels;
    decam_layout layout;
    int calls;
} region_model;

/* Score: the share of the region's pixels still at full value (> 0.999 in
 * channel 0). Deletion sets them to 0; the blurred start of insertion has
 * none of them (an 8 x 8 block blurred with sigma 5 peaks near 0.33). */
static int region_present(void *user, const float *images, size_t n, float *scores) {
    region_model *m = user;
    m->calls++;
    const size_t values = (size_t)W * H * m->channels;
    for (size_t i = 0; i < n; i++) {
        const float *img = images + i * values;
        int present = 0;
        for (int y = R0; y < R1; y++)
            for (int x = R0; x < R1; x++) {
                size_t at = m->layout == DECAM_LAYOUT_CHW ? (size_t)y * W + x
                                                          : ((size_t)y * W + x) * m->channels;
                present += img[at] > 0.999f;
            }
        scores[i] = (float)present / 64.0f;
    }
    return 0;
}

static void region_image(float *image, float *saliency, uint8_t *truth, int channels,
                         decam_layout layout) {
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            for (int c = 0; c < channels; c++) {
                size_t at = layout == DECAM_LAYOUT_CHW ? ((size_t)c * H + y) * W + x
                                                       : ((size_t)y * W + x) * channels + c;
                image[at] = in_region(x, y) ? 1.0f : 0.0f;
            }
            saliency[y * W + x] = in_region(x, y) ? 1.0f : 0.0f;
            truth[y * W + x] = (uint8_t)in_region(x, y);
        }
}

/* 16 pixels a step: 64 steps, the region is gone (deletion) or back
 * (insertion) after 4. Deletion curve 1, .75, .5, .25, 0, ...: trapezoid
 * AUC (sum - ends / 2) / 64 = 2 / 64. Insertion 0, .25, .5, .75, 1, ...:
 * (62.5 - 0.5) / 64. */
static void test_deletion_and_insertion_auc_match_the_closed_form(void **state) {
    (void)state;
    float image[W * H * 3], saliency[W * H];
    uint8_t truth[W * H];
    const decam_layout layouts[] = {DECAM_LAYOUT_HWC, DECAM_LAYOUT_CHW};
    const double batches[] = {0, 1, 5};
    for (int l = 0; l < 2; l++)
        for (int b = 0; b < 3; b++) {
            region_model m = {3, layouts[l], 0};
            region_image(image, saliency, truth, 3, layouts[l]);
            decam_ctx *ctx = decam_create();
            decam_set_model(ctx, region_present, &m);
            decam_set_image_layout(ctx, layouts[l]);
            decam_set_param(ctx, DECAM_PARAM_EVAL_STEP, 16);
            decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, batches[b]);
            decam_metrics r = {.size = sizeof r};
            assert_int_equal(decam_evaluate(ctx, image, W, H, 3, saliency, truth, &r), DECAM_OK);
            assert_true(r.steps == 64);
            assert_true(r.queries == 2 * 64 + 2);
            assert_float_equal(r.deletion_auc, 2.0 / 64, 1e-12);
            assert_float_equal(r.insertion_auc, 62.0 / 64, 1e-12);
            assert_true(r.score_full == 1.0);
            assert_true(r.score_masked == 1.0); /* the map keeps the region */
            assert_true(r.average_drop == 0.0 && r.increase_in_confidence == 0.0);
            assert_true(r.pointing_game == 1.0 && r.energy_pointing_game == 1.0);
            decam_free(ctx);
        }
}

/* A map that ranks the region last: deletion keeps the full score until
 * the last 4 steps, insertion finds nothing until then. */
static void test_inverted_map_gives_the_worst_curves(void **state) {
    (void)state;
    float image[W * H], saliency[W * H];
    uint8_t truth[W * H];
    region_model m = {1, DECAM_LAYOUT_HWC, 0};
    region_image(image, saliency, truth, 1, DECAM_LAYOUT_HWC);
    for (int i = 0; i < W * H; i++)
        saliency[i] = 1.0f - saliency[i];
    decam_ctx *ctx = decam_create();
    decam_set_model(ctx, region_present, &m);
    decam_set_param(ctx, DECAM_PARAM_EVAL_STEP, 16);
    decam_metrics r = {.size = sizeof r};
    assert_int_equal(decam_evaluate(ctx, image, W, H, 1, saliency, truth, &r), DECAM_OK);
    /* deletion 1 for k = 0..60, then .75 .5 .25 0: (60.5 + 1.5) / 64 */
    assert_float_equal(r.deletion_auc, 62.0 / 64, 1e-12);
    assert_float_equal(r.insertion_auc, 2.0 / 64, 1e-12);
    assert_true(r.pointing_game == 0.0 && r.energy_pointing_game == 0.0);
    assert_true(r.score_masked == 0.0 && r.average_drop == 1.0);
    decam_free(ctx);
}

static int mean_value(void *user, const float *images, size_t n, float *scores) {
    (void)user;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (int p = 0; p < W * H; p++)
            s += images[i * W * H + p];
        scores[i] = (float)(s / (W * H));
    }
    return 0;
}

/* Y = mean of a constant 0.8 image. The map is 7 on the left half and 3 on
 * the right; min-max scaled that is 1 and 0, so O = 0.4 and the drop is
 * 0.5. The truth is the top half, which holds half of the map's mass. */
static void test_average_drop_and_energy_match_hand_computed_values(void **state) {
    (void)state;
    float image[W * H], saliency[W * H];
    uint8_t truth[W * H];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            image[y * W + x] = 0.8f;
            saliency[y * W + x] = x < W / 2 ? 7.0f : 3.0f;
            truth[y * W + x] = y < H / 2;
        }
    decam_ctx *ctx = decam_create();
    decam_set_model(ctx, mean_value, NULL);
    decam_metrics r = {.size = sizeof r};
    assert_int_equal(decam_evaluate(ctx, image, W, H, 1, saliency, truth, &r), DECAM_OK);
    assert_float_equal(r.score_full, 0.8, 1e-6);
    assert_float_equal(r.score_masked, 0.4, 1e-6);
    assert_float_equal(r.average_drop, 0.5, 1e-6);
    assert_true(r.increase_in_confidence == 0.0);
    assert_true(r.pointing_game == 1.0); /* first maximum: (0, 0) */
    assert_float_equal(r.energy_pointing_game, 0.5, 1e-12);
    assert_true(r.steps == H); /* default step: the width */
    double hit = -1, energy = -1;
    assert_int_equal(decam_pointing(saliency, truth, W, H, &hit, &energy), DECAM_OK);
    assert_true(hit == 1.0);
    assert_float_equal(energy, 0.5, 1e-12);
    assert_int_equal(decam_pointing(saliency, NULL, W, H, &hit, &energy),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_pointing(saliency, truth, 0, H, &hit, &energy),
                     DECAM_ERR_INVALID_ARGUMENT);
    for (int i = 0; i < W * H; i++)
        truth[i] = !truth[i];
    assert_int_equal(decam_pointing(saliency, truth, W, H, &hit, NULL), DECAM_OK);
    assert_true(hit == 0.0);
    for (int i = 0; i < W * H; i++)
        truth[i] = !truth[i];
    decam_metrics none = {.size = sizeof none};
    assert_int_equal(decam_evaluate(ctx, image, W, H, 1, saliency, NULL, &none), DECAM_OK);
    assert_true(isnan(none.pointing_game) && isnan(none.energy_pointing_game));
    decam_free(ctx);
}

/* Maps at the ends of float: +-FLT_MAX (a range that overflows float;
 * the map scaled for O was once all zeros, scoring an empty image) and
 * denormals. Each ranks and masks as the 1/0 map of the region does, and
 * the rank correlation with it is 1. */
static void test_maps_at_flt_max_and_denormal_score_as_the_plain_map(void **state) {
    (void)state;
    float image[W * H], saliency[W * H], extreme[W * H];
    uint8_t truth[W * H];
    region_model m = {1, DECAM_LAYOUT_HWC, 0};
    region_image(image, saliency, truth, 1, DECAM_LAYOUT_HWC);
    decam_ctx *ctx = decam_create();
    decam_set_model(ctx, region_present, &m);
    decam_set_param(ctx, DECAM_PARAM_EVAL_STEP, 16);
    decam_metrics ref = {.size = sizeof ref};
    assert_int_equal(decam_evaluate(ctx, image, W, H, 1, saliency, truth, &ref), DECAM_OK);
    const float ends[][2] = {{-FLT_MAX, FLT_MAX}, {1e-45f, 3e-45f}, {-3e-45f, -1e-45f}};
    for (size_t k = 0; k < sizeof ends / sizeof ends[0]; k++) {
        for (int i = 0; i < W * H; i++)
            extreme[i] = saliency[i] > 0.0f ? ends[k][1] : ends[k][0];
        decam_metrics r = {.size = sizeof r};
        assert_int_equal(decam_evaluate(ctx, image, W, H, 1, extreme, truth, &r), DECAM_OK);
        assert_true(r.score_masked == 1.0 && r.average_drop == 0.0);
        assert_true(r.deletion_auc == ref.deletion_auc && r.insertion_auc == ref.insertion_auc);
        assert_true(r.pointing_game == 1.0);
        if (k == 0) assert_true(r.energy_pointing_game == 1.0);
        double rho = 0.0;
        assert_int_equal(decam_rank_correlation(extreme, saliency, W * H, &rho), DECAM_OK);
        assert_true(rho == 1.0);
        double hit = 0.0, energy = 0.0;
        assert_int_equal(decam_pointing(extreme, truth, W, H, &hit, &energy), DECAM_OK);
        assert_true(hit == 1.0);
        assert_true(energy == r.energy_pointing_game || (isnan(energy) && k == 2));
    }
    decam_free(ctx);
}

/* region_present() stretched to +-FLT_MAX: the curves and their areas are
 * summed in double, so every metric stays finite, in the score's units. */
static int region_at_flt_max(void *user, const float *images, size_t n, float *scores) {
    region_present(user, images, n, scores);
    for (size_t i = 0; i < n; i++)
        scores[i] = scores[i] > 0.5f ? FLT_MAX : -FLT_MAX;
    return 0;
}

static void test_scores_at_flt_max_give_finite_metrics(void **state) {
    (void)state;
    float image[W * H], saliency[W * H];
    uint8_t truth[W * H];
    region_model m = {1, DECAM_LAYOUT_HWC, 0};
    region_image(image, saliency, truth, 1, DECAM_LAYOUT_HWC);
    for (int i = 0; i < W * H; i++)
        saliency[i] = 1.0f - saliency[i]; /* ranks the region last: a drop */
    decam_ctx *ctx = decam_create();
    decam_set_model(ctx, region_at_flt_max, &m);
    decam_set_param(ctx, DECAM_PARAM_EVAL_STEP, 16);
    decam_metrics r = {.size = sizeof r};
    assert_int_equal(decam_evaluate(ctx, image, W, H, 1, saliency, truth, &r), DECAM_OK);
    assert_true(r.score_full == FLT_MAX && r.score_masked == -FLT_MAX);
    assert_true(r.average_drop == 2.0 && r.increase_in_confidence == 0.0);
    assert_true(isfinite(r.deletion_auc) && isfinite(r.insertion_auc));
    assert_true(r.deletion_auc > r.insertion_auc); /* the inverted map's worst curves */
    decam_free(ctx);
}

static int failing(void *user, const float *images, size_t n, float *scores) {
    (void)user, (void)images, (void)n, (void)scores;
    return 5;
}

typedef struct nested {
    decam_ctx *ctx;
    decam_status inner;
} nested;

static int evaluating_model(void *user, const float *images, size_t n, float *scores) {
    nested *s = user;
    float sal[W * H] = {0};
    decam_metrics r = {.size = sizeof r};
    s->inner = decam_evaluate(s->ctx, images, W, H, 1, sal, NULL, &r);
    for (size_t i = 0; i < n; i++)
        scores[i] = 1.0f;
    return 0;
}

static void test_evaluate_errors_are_reported(void **state) {
    (void)state;
    float image[W * H] = {0}, saliency[W * H] = {0};
    decam_metrics r = {.size = sizeof r};
    decam_ctx *ctx = decam_create();
    assert_int_equal(decam_evaluate(NULL, image, W, H, 1, saliency, NULL, &r),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_evaluate(ctx, image, W, H, 1, saliency, NULL, &r), DECAM_ERR_NO_MODEL);
    decam_set_model(ctx, mean_value, NULL);
    assert_int_equal(decam_evaluate(ctx, image, W, H, 1, NULL, NULL, &r),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_evaluate(ctx, image, W, H, 1, saliency, NULL, NULL),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(ctx), "metrics"));
    decam_metrics tiny = {.size = 1};
    assert_int_equal(decam_evaluate(ctx, image, W, H, 1, saliency, NULL, &tiny),
                     DECAM_ERR_INVALID_ARGUMENT);
    saliency[5] = NAN;
    assert_int_equal(decam_evaluate(ctx, image, W, H, 1, saliency, NULL, &r),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(ctx), "saliency[5]"));
    saliency[5] = 0;
    assert_int_equal(decam_evaluate(ctx, image, 0, H, 1, saliency, NULL, &r),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_evaluate(ctx, image, 70000, 70000, 1, saliency, NULL, &r),
                     DECAM_ERR_TOO_LARGE);
    decam_set_model(ctx, failing, NULL);
    assert_int_equal(decam_evaluate(ctx, image, W, H, 1, saliency, NULL, &r),
                     DECAM_ERR_MODEL_FAILED);
    assert_true(r.queries == 2); /* the first call, of Y and O, failed */
    /* Re-entered from the model of a running explanation: refused. */
    nested s = {ctx, DECAM_OK};
    decam_set_model(ctx, evaluating_model, &s);
    decam_set_param(ctx, DECAM_PARAM_BUDGET, 100);
    float map[W * H];
    assert_int_equal(decam_explain(ctx, image, W, H, 1, map), DECAM_OK);
    assert_int_equal(s.inner, DECAM_ERR_BUSY);
    decam_free(ctx);
}

/* Images held at once follow the queries the evaluation makes (2, then
 * a curve of `steps` images at a time), not the batch size: an
 * evaluation at batch 65536 does not ask for 65536 images' memory. */
static int counting_calls(void *user, const float *images, size_t n, float *scores) {
    (*(int *)user)++;
    for (size_t i = 0; i < n; i++)
        scores[i] = images[i * W * H];
    return 0;
}

static void test_evaluate_memory_follows_the_queries_not_the_batch_size(void **state) {
    (void)state;
    float image[W * H], saliency[W * H];
    for (int i = 0; i < W * H; i++) {
        image[i] = (float)(i % 5) / 4.0f;
        saliency[i] = (float)((i * 7) % 11);
    }
    counter c = {.fail_at = -1};
    decam_ctx *ctx = decam_create_advanced(count_alloc, count_free, &c);
    assert_non_null(ctx);
    int calls = 0;
    assert_int_equal(decam_set_model(ctx, counting_calls, &calls), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, 65536), DECAM_OK);
    decam_metrics m = {.size = sizeof m};
    const size_t before = c.bytes;
    assert_int_equal(decam_evaluate(ctx, image, W, H, 1, saliency, NULL, &m), DECAM_OK);
    const size_t bytes = c.bytes - before;
    printf("# decam_evaluate, %llu queries at batch 65536: %zu bytes allocated\n",
           (unsigned long long)m.queries, bytes);
    assert_int_equal(m.queries, 2 + 2 * W); /* Y and O, two curves of W steps */
    assert_int_equal(calls, 3);             /* as many calls as before */
    assert_true(bytes <= (m.queries + 16) * sizeof image);
    decam_free(ctx);
    assert_int_equal(c.live, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deletion_and_insertion_auc_match_the_closed_form),
        cmocka_unit_test(test_inverted_map_gives_the_worst_curves),
        cmocka_unit_test(test_evaluate_memory_follows_the_queries_not_the_batch_size),
        cmocka_unit_test(test_average_drop_and_energy_match_hand_computed_values),
        cmocka_unit_test(test_evaluate_errors_are_reported),
        cmocka_unit_test(test_maps_at_flt_max_and_denormal_score_as_the_plain_map),
        cmocka_unit_test(test_scores_at_flt_max_give_finite_metrics),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
