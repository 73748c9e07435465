/* test_params.c - every parameter's default and bounds, through the API. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "decam.h"

static int is_whole(decam_param p) {
    switch (p) {
    case DECAM_PARAM_F:
    case DECAM_PARAM_CR:
    case DECAM_PARAM_F_DITHER:
    case DECAM_PARAM_AREA_WEIGHT:
    case DECAM_PARAM_TV_WEIGHT:
    case DECAM_PARAM_BASELINE_VALUE:
    case DECAM_PARAM_BASELINE_SIGMA:
    case DECAM_PARAM_SMOOTHING:
    case DECAM_PARAM_TOLERANCE:
    case DECAM_PARAM_PBEST:
    case DECAM_PARAM_PRIOR_SPREAD:
    case DECAM_PARAM_EVAL_DELETION_VALUE:
    case DECAM_PARAM_EVAL_INSERTION_SIGMA:
    case DECAM_PARAM_RISE_KEEP:
    case DECAM_PARAM_RIDGE:
    case DECAM_PARAM_REFINE_COARSE_SHARE:
    case DECAM_PARAM_REFINE_MIDDLE_SHARE:
    case DECAM_PARAM_PRIOR_PASS_KEEP:
    case DECAM_PARAM_EXPLORE_SHARE:
    case DECAM_PARAM_KEEP_TARGET:
    case DECAM_PARAM_REMOVAL_SHARE:
    case DECAM_PARAM_REMOVAL_WEIGHT:
    case DECAM_PARAM_REMOVAL_SMOOTHING: return 0;
    default: return 1;
    }
}

/* For every key: the default lies in the bounds and is what a new context
 * holds; both bounds are accepted; just outside either is refused with a
 * message naming the parameter, and the old value stays. */
static void test_every_parameter_accepts_its_bounds_and_refuses_beyond(void **state) {
    (void)state;
    decam_ctx *ctx = decam_create();
    assert_non_null(ctx);
    assert_int_equal(decam_param_count(), DECAM_PARAM_COUNT);
    for (int i = 0; i < DECAM_PARAM_COUNT; i++) {
        decam_param p = decam_param_key(i);
        double lo, hi, def, v;
        const char *name = decam_param_name(p);
        assert_non_null(name);
        assert_int_equal(decam_param_bounds(p, &lo, &hi, &def), DECAM_OK);
        assert_true(lo <= def && def <= hi);
        assert_int_equal(decam_get_param(ctx, p, &v), DECAM_OK);
        assert_true(v == def);

        assert_int_equal(decam_set_param(ctx, p, lo), DECAM_OK);
        assert_int_equal(decam_get_param(ctx, p, &v), DECAM_OK);
        assert_true(v == lo);
        assert_int_equal(decam_set_param(ctx, p, hi), DECAM_OK);
        assert_int_equal(decam_get_param(ctx, p, &v), DECAM_OK);
        assert_true(v == hi);

        double below = lo - (is_whole(p) ? 1.0 : fmax(1e-9, fabs(lo) * 1e-6));
        double above = hi + (is_whole(p) ? 1.0 : fmax(1e-9, fabs(hi) * 1e-6));
        assert_int_equal(decam_set_param(ctx, p, below), DECAM_ERR_OUT_OF_RANGE);
        assert_non_null(strstr(decam_errmsg(ctx), name));
        assert_non_null(strstr(decam_errmsg(ctx), "range"));
        assert_int_equal(decam_set_param(ctx, p, above), DECAM_ERR_OUT_OF_RANGE);
        assert_int_equal(decam_set_param(ctx, p, NAN), DECAM_ERR_OUT_OF_RANGE);
        assert_int_equal(decam_get_param(ctx, p, &v), DECAM_OK);
        assert_true(v == hi); /* refused values leave the old one */
        if (is_whole(p) && hi > lo) {
            assert_int_equal(decam_set_param(ctx, p, lo + 0.5), DECAM_ERR_OUT_OF_RANGE);
            assert_non_null(strstr(decam_errmsg(ctx), "whole number"));
        }
    }
    assert_int_equal(decam_reset_params(ctx), DECAM_OK);
    for (int i = 0; i < DECAM_PARAM_COUNT; i++) {
        double def, v;
        decam_param_bounds(decam_param_key(i), NULL, NULL, &def);
        decam_get_param(ctx, decam_param_key(i), &v);
        assert_true(v == def);
    }
    decam_free(ctx);
}

static void test_stated_defaults_of_the_issue(void **state) {
    (void)state;
    double lo, hi, def;
    /* 0: from the image's size (7 cells at 64 pixels, as before) */
    assert_int_equal(decam_param_bounds(DECAM_PARAM_GRID_WIDTH, &lo, &hi, &def), DECAM_OK);
    assert_true(lo == 0 && hi == 64 && def == 0);
    assert_int_equal(decam_param_bounds(DECAM_PARAM_GRID_HEIGHT, &lo, &hi, &def), DECAM_OK);
    assert_true(lo == 0 && hi == 64 && def == 0);
    assert_int_equal(decam_param_bounds(DECAM_PARAM_BATCH_SIZE, NULL, NULL, &def), DECAM_OK);
    assert_true(def == 0); /* a whole generation per call */
}

/* Population: 0 (from the image and the budget, the default) or 4 and
 * more; 1 to 3 cannot make DE's mutations and are refused by name. */
static void test_population_is_zero_or_at_least_four(void **state) {
    (void)state;
    double lo, hi, def, v;
    assert_int_equal(decam_param_bounds(DECAM_PARAM_POPULATION, &lo, &hi, &def), DECAM_OK);
    assert_true(lo == 0 && hi == 4096 && def == 0);
    decam_ctx *ctx = decam_create();
    assert_non_null(ctx);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_POPULATION, 4), DECAM_OK);
    for (int np = 1; np <= 3; np++) {
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_POPULATION, np), DECAM_ERR_OUT_OF_RANGE);
        assert_non_null(strstr(decam_errmsg(ctx), "population"));
        assert_non_null(strstr(decam_errmsg(ctx), "4 .. 4096"));
    }
    assert_int_equal(decam_get_param(ctx, DECAM_PARAM_POPULATION, &v), DECAM_OK);
    assert_true(v == 4);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_POPULATION, 0), DECAM_OK);
    decam_free(ctx);
}

static void test_unknown_keys_and_null_arguments(void **state) {
    (void)state;
    decam_ctx *ctx = decam_create();
    double v;
    assert_int_equal(decam_set_param(ctx, (decam_param)0, 1), DECAM_ERR_UNKNOWN_PARAM);
    assert_non_null(strstr(decam_errmsg(ctx), "key 0"));
    assert_int_equal(decam_set_param(ctx, (decam_param)(DECAM_PARAM_EVAL_INSERTION_SIGMA + 1), 1),
                     DECAM_ERR_UNKNOWN_PARAM);
    assert_int_equal(decam_get_param(ctx, (decam_param)-3, &v), DECAM_ERR_UNKNOWN_PARAM);
    assert_int_equal(decam_param_bounds((decam_param)999, NULL, NULL, NULL),
                     DECAM_ERR_UNKNOWN_PARAM);
    assert_null(decam_param_name((decam_param)999));
    assert_int_equal(decam_set_param(NULL, DECAM_PARAM_F, 1), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_get_param(NULL, DECAM_PARAM_F, &v), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_get_param(ctx, DECAM_PARAM_F, NULL), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_reset_params(NULL), DECAM_ERR_INVALID_ARGUMENT);
    /* A success clears the message of an earlier failure. */
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_F, 0.7), DECAM_OK);
    assert_string_equal(decam_errmsg(ctx), "");
    decam_free(ctx);
}

static void test_layout_shorthand_sets_the_layout_parameter(void **state) {
    (void)state;
    decam_ctx *ctx = decam_create();
    double v;
    assert_int_equal(decam_set_image_layout(ctx, DECAM_LAYOUT_CHW), DECAM_OK);
    assert_int_equal(decam_get_param(ctx, DECAM_PARAM_LAYOUT, &v), DECAM_OK);
    assert_true(v == DECAM_LAYOUT_CHW);
    assert_int_equal(decam_set_image_layout(ctx, (decam_layout)2), DECAM_ERR_OUT_OF_RANGE);
    decam_free(ctx);
}

static void test_names_map_to_keys_and_enum_values_and_back(void **state) {
    (void)state;
    for (int i = 0; i < decam_param_count(); i++) {
        decam_param k = decam_param_key(i), back;
        assert_true(i == 0 || (int)k > (int)decam_param_key(i - 1)); /* key order */
        assert_int_equal(decam_param_from_name(decam_param_name(k), &back), DECAM_OK);
        assert_int_equal(back, k);
    }
    assert_int_equal(decam_param_key(-1), 0);
    assert_int_equal(decam_param_key(DECAM_PARAM_COUNT), 0);
    decam_param k;
    assert_int_equal(decam_param_from_name("budgett", &k), DECAM_ERR_UNKNOWN_PARAM);
    assert_int_equal(decam_param_from_name(NULL, &k), DECAM_ERR_UNKNOWN_PARAM);
    assert_int_equal(decam_param_from_name("budget", NULL), DECAM_ERR_INVALID_ARGUMENT);

    /* Every enum parameter: its upper bound is its _COUNT - 1, every value
     * has a name, and the name gives the value back. */
    static const struct {
        decam_param key;
        int count;
    } ENUMS[] = {{DECAM_PARAM_METHOD, DECAM_METHOD_COUNT},
                 {DECAM_PARAM_LAYOUT, DECAM_LAYOUT_COUNT},
                 {DECAM_PARAM_BASELINE, DECAM_BASELINE_COUNT},
                 {DECAM_PARAM_UPSAMPLE, DECAM_UPSAMPLE_COUNT},
                 {DECAM_PARAM_STRATEGY, DECAM_STRATEGY_COUNT},
                 {DECAM_PARAM_OBJECTIVE, DECAM_OBJECTIVE_COUNT},
                 {DECAM_PARAM_ASSEMBLY, DECAM_ASSEMBLY_COUNT},
                 {DECAM_PARAM_INIT, DECAM_INIT_COUNT}};
    for (size_t e = 0; e < sizeof ENUMS / sizeof ENUMS[0]; e++) {
        double lo, hi;
        assert_int_equal(decam_param_bounds(ENUMS[e].key, &lo, &hi, NULL), DECAM_OK);
        assert_true(lo == 0 && hi == ENUMS[e].count - 1);
        for (int v = 0; v < ENUMS[e].count; v++) {
            const char *name = decam_value_name(ENUMS[e].key, v);
            int back = -1;
            assert_non_null(name);
            assert_int_equal(decam_value_from_name(ENUMS[e].key, name, &back), DECAM_OK);
            assert_int_equal(back, v);
        }
        assert_null(decam_value_name(ENUMS[e].key, ENUMS[e].count));
        assert_null(decam_value_name(ENUMS[e].key, -1));
    }
    int v;
    assert_string_equal(decam_value_name(DECAM_PARAM_STRATEGY, DECAM_STRATEGY_PBEST), "pbest");
    assert_string_equal(decam_value_name(DECAM_PARAM_METHOD, DECAM_METHOD_RISE), "rise");
    assert_null(decam_value_name(DECAM_PARAM_BUDGET, 0));
    assert_int_equal(decam_value_from_name(DECAM_PARAM_METHOD, "lime", &v), DECAM_ERR_OUT_OF_RANGE);
    assert_int_equal(decam_value_from_name(DECAM_PARAM_BUDGET, "x", &v),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_value_from_name((decam_param)12345, "x", &v), DECAM_ERR_UNKNOWN_PARAM);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_parameter_accepts_its_bounds_and_refuses_beyond),
        cmocka_unit_test(test_stated_defaults_of_the_issue),
        cmocka_unit_test(test_population_is_zero_or_at_least_four),
        cmocka_unit_test(test_unknown_keys_and_null_arguments),
        cmocka_unit_test(test_names_map_to_keys_and_enum_values_and_back),
        cmocka_unit_test(test_layout_shorthand_sets_the_layout_parameter),
    };
    return cmocka_run_group_tests_name("params", tests, NULL, NULL);
}
