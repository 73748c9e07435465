/* test_callbacks.c - callbacks that misuse the API: a context freed from
 * its own model, progress or log callback, a log handler that calls the
 * library back during a run, and the message left after a refused call
 * made from a callback. Each is safe and defined (decam.h, section 6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decam.h"

enum { W = 16, H = 16 };

/* An allocator that poisons what it frees, so that a use after free reads
 * garbage even without a sanitizer, and counts what is live. */
typedef struct counting {
    long live;
} counting;

typedef struct block {
    size_t size;
    max_align_t align;
} block;

static void *counting_alloc(void *opaque, size_t size) {
    block *b = malloc(offsetof(block, align) + size);
    if (!b) return NULL;
    b->size = size;
    ((counting *)opaque)->live++;
    return &b->align;
}

static void counting_free(void *opaque, void *ptr) {
    block *b = (block *)((char *)ptr - offsetof(block, align));
    memset(ptr, 0xA5, b->size);
    ((counting *)opaque)->live--;
    free(b);
}

/* What a callback does to the context it was called for. */
typedef struct misuse {
    decam_ctx *ctx;
    int free_in_model, free_in_progress, free_in_log;
    int set_in_model; /* the model calls a setter (refused: BUSY) */
    int set_in_log;   /* the log handler calls a setter */
    long model_calls, log_calls, log_depth, log_depth_max;
    decam_status set_status;
} misuse;

static int model(void *user, const float *images, size_t n, float *scores) {
    misuse *m = user;
    m->model_calls++;
    for (size_t i = 0; i < n; i++)
        scores[i] = images[i * W * H * 3];
    if (m->set_in_model) m->set_status = decam_set_param(m->ctx, DECAM_PARAM_BUDGET, 10);
    if (m->free_in_model && m->model_calls == 2) decam_free(m->ctx);
    return 0;
}

static int progress(void *user, const decam_progress *p) {
    misuse *m = user;
    (void)p;
    if (m->free_in_progress) decam_free(m->ctx);
    return 0;
}

static void log_handler(void *user, decam_log_level level, const char *message) {
    misuse *m = user;
    (void)level;
    (void)message;
    m->log_calls++;
    if (++m->log_depth > m->log_depth_max) m->log_depth_max = m->log_depth;
    if (m->set_in_log) (void)decam_set_param(m->ctx, DECAM_PARAM_POPULATION, 8);
    if (m->free_in_log) decam_free(m->ctx);
    m->log_depth--;
}

static decam_ctx *make(misuse *m, counting *c) {
    decam_ctx *ctx = decam_create_advanced(counting_alloc, counting_free, c);
    assert_non_null(ctx);
    m->ctx = ctx;
    assert_int_equal(decam_set_model(ctx, model, m), DECAM_OK);
    assert_int_equal(decam_set_progress(ctx, progress, m), DECAM_OK);
    assert_int_equal(decam_set_log(ctx, log_handler, m, DECAM_LOG_DEBUG), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 100), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_POPULATION, 8), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_THREADS, 2), DECAM_OK);
    return ctx;
}

static void fill(float *image) {
    for (int i = 0; i < W * H * 3; i++)
        image[i] = (float)(i % 7) / 7.0f;
}

static void test_free_from_the_model_is_deferred_to_the_end_of_the_run(void **state) {
    (void)state;
    counting c = {0};
    misuse m = {.free_in_model = 1};
    decam_ctx *ctx = make(&m, &c);
    float image[W * H * 3], map[W * H];
    fill(image);
    /* The run stops after the model call that freed it, and the context
     * is freed as decam_explain() returns; no callback runs after the free
     * (the log handler would get the cancellation). */
    assert_int_equal(decam_explain(ctx, image, W, H, 3, map), DECAM_ERR_CANCELLED);
    assert_int_equal(m.model_calls, 2);
    assert_int_equal(m.log_calls, 0);
    assert_int_equal(c.live, 0);
}

static void test_free_from_the_progress_callback_is_deferred(void **state) {
    (void)state;
    counting c = {0};
    misuse m = {.free_in_progress = 1};
    decam_ctx *ctx = make(&m, &c);
    float image[W * H * 3], map[W * H];
    fill(image);
    assert_int_equal(decam_explain(ctx, image, W, H, 3, map), DECAM_ERR_CANCELLED);
    assert_int_equal(c.live, 0);
}

static void test_free_from_the_log_handler_is_deferred(void **state) {
    (void)state;
    float image[W * H * 3], map[W * H];
    fill(image);
    /* During a run: the model's refused setter is logged, and the handler
     * frees the context; the run stops. */
    counting c = {0};
    misuse m = {.free_in_log = 1, .set_in_model = 1};
    decam_ctx *ctx = make(&m, &c);
    assert_int_equal(decam_explain(ctx, image, W, H, 3, map), DECAM_ERR_CANCELLED);
    assert_int_equal(m.model_calls, 1);
    assert_int_equal(m.log_calls, 1); /* nothing after the free */
    assert_int_equal(c.live, 0);

    /* The last message of a run, after the map is made: the run succeeds
     * and the context is freed as it returns. */
    counting c1 = {0};
    misuse m1 = {.free_in_log = 1};
    ctx = make(&m1, &c1);
    assert_int_equal(decam_explain(ctx, image, W, H, 3, map), DECAM_OK);
    assert_int_equal(c1.live, 0);

    /* Outside a run: a refused setter logs its message, the handler frees
     * the context, and the setter still returns its status. */
    counting c2 = {0};
    misuse m2 = {0};
    ctx = make(&m2, &c2);
    m2.free_in_log = 1;
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, -1), DECAM_ERR_OUT_OF_RANGE);
    assert_int_equal(c2.live, 0);
}

static void test_a_log_handler_calling_a_setter_during_a_run_does_not_recurse(void **state) {
    (void)state;
    counting c = {0};
    misuse m = {.set_in_model = 1, .set_in_log = 1};
    decam_ctx *ctx = make(&m, &c);
    float image[W * H * 3], map[W * H];
    fill(image);
    assert_int_equal(decam_explain(ctx, image, W, H, 3, map), DECAM_OK);
    assert_int_equal(m.set_status, DECAM_ERR_BUSY);
    /* One message per refused call in the model; the handler's own
     * refused calls are not sent back to it. */
    assert_int_equal(m.log_depth_max, 1);
    assert_true(m.log_calls >= m.model_calls);
    assert_true(m.log_calls <= m.model_calls + 2);
    decam_free(ctx);
    assert_int_equal(c.live, 0);
}

static void test_errmsg_is_empty_after_a_successful_run_with_a_refused_call(void **state) {
    (void)state;
    counting c = {0};
    misuse m = {.set_in_model = 1};
    decam_ctx *ctx = make(&m, &c);
    assert_int_equal(decam_set_log(ctx, NULL, NULL, DECAM_LOG_ERROR), DECAM_OK);
    float image[W * H * 3], map[W * H];
    fill(image);
    assert_int_equal(decam_explain(ctx, image, W, H, 3, map), DECAM_OK);
    assert_int_equal(m.set_status, DECAM_ERR_BUSY);
    assert_string_equal(decam_errmsg(ctx), "");

    /* And after each kind of successful call that changes state, a
     * failure's message goes; a getter leaves it. */
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, -1), DECAM_ERR_OUT_OF_RANGE);
    assert_string_not_equal(decam_errmsg(ctx), "");
    double v;
    assert_int_equal(decam_get_param(ctx, DECAM_PARAM_BUDGET, &v), DECAM_OK);
    assert_string_not_equal(decam_errmsg(ctx), "");
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, v), DECAM_OK);
    assert_string_equal(decam_errmsg(ctx), "");
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, -1), DECAM_ERR_OUT_OF_RANGE);
    decam_metrics mt = {.size = sizeof mt};
    m.set_status = DECAM_OK;
    assert_int_equal(decam_evaluate(ctx, image, W, H, 3, map, NULL, &mt), DECAM_OK);
    assert_int_equal(m.set_status, DECAM_ERR_BUSY);
    assert_string_equal(decam_errmsg(ctx), "");
    decam_free(ctx);
    assert_int_equal(c.live, 0);
}

static void getter_in_log(void *user, decam_log_level level, const char *message) {
    (void)level;
    (void)message;
    double v;
    assert_int_equal(decam_get_param(user, DECAM_PARAM_SEED, &v), DECAM_OK);
}

static void test_a_failure_keeps_its_message_when_the_log_handler_calls_back(void **state) {
    (void)state;
    decam_ctx *ctx = decam_create();
    assert_int_equal(decam_set_log(ctx, getter_in_log, ctx, DECAM_LOG_ERROR), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, -1), DECAM_ERR_OUT_OF_RANGE);
    assert_non_null(strstr(decam_errmsg(ctx), "budget"));
    decam_free(ctx);
}

static void test_free_from_the_model_during_evaluate_is_deferred(void **state) {
    (void)state;
    counting c = {0};
    misuse m = {0};
    decam_ctx *ctx = make(&m, &c);
    float image[W * H * 3], map[W * H];
    fill(image);
    for (int i = 0; i < W * H; i++)
        map[i] = (float)i;
    m.free_in_model = 1;
    decam_metrics mt = {.size = sizeof mt};
    assert_int_equal(decam_evaluate(ctx, image, W, H, 3, map, NULL, &mt), DECAM_ERR_CANCELLED);
    assert_int_equal(c.live, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_from_the_model_is_deferred_to_the_end_of_the_run),
        cmocka_unit_test(test_free_from_the_progress_callback_is_deferred),
        cmocka_unit_test(test_free_from_the_log_handler_is_deferred),
        cmocka_unit_test(test_a_log_handler_calling_a_setter_during_a_run_does_not_recurse),
        cmocka_unit_test(test_errmsg_is_empty_after_a_successful_run_with_a_refused_call),
        cmocka_unit_test(test_free_from_the_model_during_evaluate_is_deferred),
        cmocka_unit_test(test_a_failure_keeps_its_message_when_the_log_handler_calls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
