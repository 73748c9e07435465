/* batch.c - batching images into the model callback. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "batch.h"

#include <math.h>
#include <pthread.h>
#include <time.h>

#include "params.h"

double batch_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

decam_status batch_check_call(decam_ctx *ctx, const char *who, const float *image, int width,
                              int height, int channels, const void *out, const char *out_name,
                              size_t *values) {
    FAIL_IF(!image, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: image is NULL", who);
    FAIL_IF(!out, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: %s is NULL", who, out_name);
    FORWARD_IF_ERROR(params_check_image_size(ctx, who, width, height, channels, values));
    FAIL_IF(!ctx->model, ctx, DECAM_ERR_NO_MODEL,
            "%s: no model callback; call decam_set_model() first", who);
    const double *p = ctx->params;
    FAIL_IF(p[DECAM_PARAM_TARGET] >= p[DECAM_PARAM_N_OUTPUTS], ctx, DECAM_ERR_OUT_OF_RANGE,
            "target = %g must be below n_outputs = %g", p[DECAM_PARAM_TARGET],
            p[DECAM_PARAM_N_OUTPUTS]);
    return DECAM_OK;
}

decam_status batcher_init(batcher *b, decam_ctx *ctx, size_t values, size_t cap) {
    *b = (batcher){.ctx = ctx, .values = values, .cap = cap};
    b->n_outputs = (size_t)ctx->params[DECAM_PARAM_N_OUTPUTS];
    b->target = (size_t)ctx->params[DECAM_PARAM_TARGET];
    b->images = ctx_alloc(ctx, cap, values * sizeof(float));
    b->dest = ctx_alloc(ctx, cap, sizeof *b->dest);
    b->scores = ctx_alloc(ctx, cap, b->n_outputs * sizeof(float));
    if (!b->images || !b->dest || !b->scores) {
        batcher_free(b);
        return ctx_fail(ctx, DECAM_ERR_OUT_OF_MEMORY,
                        "out of memory for a batch of %zu images of %zu values", cap, values);
    }
    return DECAM_OK;
}

void batcher_free(batcher *b) {
    if (!b->ctx) return;
    ctx_dealloc(b->ctx, b->images);
    ctx_dealloc(b->ctx, b->dest);
    ctx_dealloc(b->ctx, b->scores);
    b->images = b->scores = NULL;
    b->dest = NULL;
}

float *batcher_slot(batcher *b) { return b->images + b->fill * b->values; }

decam_status batcher_submit(batcher *b, double *dest) {
    b->dest[b->fill++] = dest;
    return b->fill == b->cap ? batcher_flush(b) : DECAM_OK;
}

decam_status batcher_flush(batcher *b) {
    if (b->fill == 0) return DECAM_OK;
    decam_ctx *ctx = b->ctx;
    const size_t n = b->fill;
    double t0 = batch_now();
    int rc = ctx->model(ctx->model_user, b->images, n, b->scores);
    b->model_seconds += batch_now() - t0;
    b->calls++;
    b->queries += n;
    b->fill = 0;
    FAIL_IF(rc != 0, ctx, DECAM_ERR_MODEL_FAILED,
            "the model callback returned %d on call %llu (a batch of %zu images)", rc,
            (unsigned long long)b->calls, n);
    for (size_t k = 0; k < n; k++) {
        float s = b->scores[k * b->n_outputs + b->target];
        FAIL_IF(!isfinite(s), ctx, DECAM_ERR_BAD_SCORE,
                "the model returned %s for output %zu of image %zu in call %llu",
                isnan(s) ? "NaN" : "an infinite score", b->target, k, (unsigned long long)b->calls);
        *b->dest[k] = s;
    }
    FAIL_IF(atomic_load(&ctx->stop_requested), ctx, DECAM_ERR_CANCELLED,
            "stopped by decam_force_stop()");
    return DECAM_OK;
}

typedef struct range_task {
    range_fn fn;
    void *job;
    size_t first, last;
    int worker;
} range_task;

static void *range_thread(void *arg) {
    range_task *t = arg;
    t->fn(t->job, t->first, t->last, t->worker);
    return NULL;
}

enum { MAX_THREADS = 64 };

void parallel_ranges(size_t n, range_fn fn, void *job, int threads, decam_ctx *ctx) {
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if ((size_t)threads > n) threads = n > 0 ? (int)n : 1;
    range_task task[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int t = 0; t < threads; t++)
        task[t] = (range_task){fn, job, n * t / threads, n * (t + 1) / threads, t};
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&tid[t], NULL, range_thread, &task[t]) == 0;
    fn(job, task[0].first, task[0].last, 0);
    int fallback = 0;
    for (int t = 1; t < threads; t++) {
        if (started[t]) {
            pthread_join(tid[t], NULL);
        } else {
            fn(job, task[t].first, task[t].last, t);
            fallback = 1;
        }
    }
    if (fallback) ctx_log(ctx, DECAM_LOG_WARNING, "could not start a thread; worked here instead");
}

typedef struct fill_job {
    batcher *b;
    batch_fill_fn fill;
    void *job;
} fill_job;

static void fill_range(void *arg, size_t first, size_t last, int worker) {
    fill_job *f = arg;
    for (size_t k = first; k < last; k++)
        f->fill(f->job, k, f->b->images + (f->b->fill + k) * f->b->values, worker);
}

decam_status batcher_fill(batcher *b, size_t n, batch_fill_fn fill, void *job, int threads,
                          double **dest) {
    fill_job f = {b, fill, job};
    parallel_ranges(n, fill_range, &f, threads, b->ctx);
    for (size_t k = 0; k < n; k++) {
        b->dest[b->fill++] = dest[k];
        if (b->fill == b->cap) FORWARD_IF_ERROR(batcher_flush(b));
    }
    return DECAM_OK;
}
