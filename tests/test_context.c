/* test_context.c - creating and freeing contexts, statuses, messages,
 * version, constants, setters of callbacks and inputs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "decam.h"

static void test_free_accepts_null_and_errmsg_of_null_is_static(void **state) {
    (void)state;
    decam_free(NULL);
    assert_non_null(decam_errmsg(NULL));
    decam_ctx *ctx = decam_create();
    assert_string_equal(decam_errmsg(ctx), "");
    decam_force_stop(NULL);
    decam_force_stop(ctx); /* outside a run: no effect on the next one */
    decam_free(ctx);
}

static void test_every_status_has_its_own_string(void **state) {
    (void)state;
    for (int a = 0; a <= DECAM_ERR_UNSUPPORTED; a++) {
        const char *s = decam_status_string((decam_status)a);
        assert_non_null(s);
        assert_string_not_equal(s, "unknown status");
        for (int b = 0; b < a; b++)
            assert_string_not_equal(s, decam_status_string((decam_status)b));
    }
    assert_string_equal(decam_status_string((decam_status)1234), "unknown status");
}

static void test_version_functions_match_the_macros(void **state) {
    (void)state;
    assert_int_equal(decam_version_number(), DECAM_VERSION_NUMBER);
    assert_string_equal(decam_version_string(), DECAM_VERSION_STRING);
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", DECAM_VERSION_MAJOR, DECAM_VERSION_MINOR,
             DECAM_VERSION_PATCH);
    assert_string_equal(decam_version_string(), expect);
}

static void test_constants_are_also_functions(void **state) {
    (void)state;
    assert_int_equal(decam_max_image_side(), 65536);
    assert_int_equal(decam_max_channels(), 64);
    assert_true(decam_max_image_values() == 2147483647u);
    assert_true(decam_progress_size() == sizeof(decam_progress));
    assert_true(decam_stats_size() == sizeof(decam_stats));
}

static void test_setters_refuse_null_context_and_bad_log_level(void **state) {
    (void)state;
    assert_int_equal(decam_set_model(NULL, NULL, NULL), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_set_progress(NULL, NULL, NULL), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_set_log(NULL, NULL, NULL, DECAM_LOG_ERROR), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_set_baseline_image(NULL, NULL, 1, 1, 1), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_set_prior_map(NULL, NULL, 1, 1), DECAM_ERR_INVALID_ARGUMENT);
    decam_ctx *ctx = decam_create();
    assert_int_equal(decam_set_log(ctx, NULL, NULL, (decam_log_level)9), DECAM_ERR_OUT_OF_RANGE);
    assert_non_null(strstr(decam_errmsg(ctx), "max_level"));
    decam_free(ctx);
}

static void test_baseline_and_prior_inputs_are_checked_and_clearable(void **state) {
    (void)state;
    decam_ctx *ctx = decam_create();
    float px[6] = {0};
    assert_int_equal(decam_set_baseline_image(ctx, px, 0, 2, 3), DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(ctx), "decam_set_baseline_image"));
    assert_int_equal(decam_set_baseline_image(ctx, px, 70000, 1, 1), DECAM_ERR_TOO_LARGE);
    assert_int_equal(decam_set_baseline_image(ctx, px, 1, 1, 65), DECAM_ERR_TOO_LARGE);
    assert_int_equal(decam_set_baseline_image(ctx, px, 65536, 65536, 1), DECAM_ERR_TOO_LARGE);
    assert_int_equal(decam_set_baseline_image(ctx, px, 1, 2, 3), DECAM_OK);
    assert_int_equal(decam_set_baseline_image(ctx, NULL, 0, 0, 0), DECAM_OK);
    float prior[4] = {0, 1, NAN, 0};
    assert_int_equal(decam_set_prior_map(ctx, prior, 2, 2), DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(ctx), "not finite"));
    prior[2] = INFINITY;
    assert_int_equal(decam_set_prior_map(ctx, prior, 2, 2), DECAM_ERR_INVALID_ARGUMENT);
    prior[2] = 0.5f;
    assert_int_equal(decam_set_prior_map(ctx, prior, 2, 2), DECAM_OK);
    assert_int_equal(decam_set_prior_map(ctx, prior, -1, 2), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_set_prior_map(ctx, NULL, 0, 0), DECAM_OK);
    decam_free(ctx);
}

/* A caller built against a smaller decam_stats gets only what fits. */
static void test_stats_copy_only_what_the_caller_has_room_for(void **state) {
    (void)state;
    decam_ctx *ctx = decam_create();
    decam_stats s;
    memset(&s, 0xab, sizeof s);
    s.size = offsetof(decam_stats, generations);
    assert_int_equal(decam_get_stats(ctx, &s), DECAM_OK);
    assert_true(s.size == offsetof(decam_stats, generations));
    assert_true(s.queries == 0 && s.model_calls == 0);
    unsigned char *tail = (unsigned char *)&s + offsetof(decam_stats, generations);
    assert_int_equal(tail[0], 0xab); /* untouched */
    s.size = 1;
    assert_int_equal(decam_get_stats(ctx, &s), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_get_stats(ctx, NULL), DECAM_ERR_INVALID_ARGUMENT);
    float grid[49];
    assert_int_equal(decam_get_raw_map(ctx, grid, 49, NULL, NULL),
                     DECAM_ERR_INVALID_ARGUMENT); /* no run */
    decam_free(ctx);
}

/* decam_errmsg(): a call that fails sets it, a call that changes state
 * and succeeds clears it, and getters, which only read, leave it: a
 * caller may read the statistics of a failed run before its message. */
static void test_getters_leave_the_last_failure_in_place(void **state) {
    (void)state;
    decam_ctx *ctx = decam_create();
    assert_non_null(ctx);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, -1), DECAM_ERR_OUT_OF_RANGE);
    char failure[256];
    snprintf(failure, sizeof failure, "%s", decam_errmsg(ctx));
    assert_non_null(strstr(failure, "budget = -1"));
    decam_stats st = {.size = sizeof st};
    double v = 0;
    assert_int_equal(decam_get_stats(ctx, &st), DECAM_OK);
    assert_string_equal(decam_errmsg(ctx), failure);
    assert_int_equal(decam_get_param(ctx, DECAM_PARAM_BUDGET, &v), DECAM_OK);
    assert_string_equal(decam_errmsg(ctx), failure);
    assert_string_equal(decam_errmsg(ctx), failure);
    /* A getter that fails says why, like any call that fails. */
    assert_int_equal(decam_get_param(ctx, (decam_param)9999, &v), DECAM_ERR_UNKNOWN_PARAM);
    assert_non_null(strstr(decam_errmsg(ctx), "9999"));
    float raw[4];
    assert_int_equal(decam_get_raw_map(ctx, raw, 4, NULL, NULL), DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(ctx), "decam_get_raw_map"));
    assert_int_equal(decam_get_stats(ctx, NULL), DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(ctx), "decam_get_stats"));
    /* A setter that succeeds clears it. */
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 100), DECAM_OK);
    assert_string_equal(decam_errmsg(ctx), "");
    decam_free(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_accepts_null_and_errmsg_of_null_is_static),
        cmocka_unit_test(test_every_status_has_its_own_string),
        cmocka_unit_test(test_version_functions_match_the_macros),
        cmocka_unit_test(test_constants_are_also_functions),
        cmocka_unit_test(test_setters_refuse_null_context_and_bad_log_level),
        cmocka_unit_test(test_baseline_and_prior_inputs_are_checked_and_clearable),
        cmocka_unit_test(test_stats_copy_only_what_the_caller_has_room_for),
        cmocka_unit_test(test_getters_leave_the_last_failure_in_place),
    };
    return cmocka_run_group_tests_name("context", tests, NULL, NULL);
}
