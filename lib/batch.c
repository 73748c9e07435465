/* batch.c - batching images into the model callback. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "batch.h"

#include <math.h>
#include <time.h>

#include "scoring.h"

double decam__batch_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

decam_status decam__batcher_init(batcher *b, decam_ctx *ctx, int width, int height, size_t values,
                                 size_t cap) {
    *b = (batcher){.ctx = ctx, .width = width, .height = height, .values = values, .cap = cap};
    b->n_outputs = (size_t)ctx->params[PS_N_OUTPUTS];
    b->target = (size_t)ctx->params[PS_TARGET];
    b->images = decam__ctx_alloc(ctx, cap, values * sizeof(float));
    b->dest = decam__ctx_alloc(ctx, cap, sizeof *b->dest);
    b->scores = decam__ctx_alloc(ctx, cap, b->n_outputs * sizeof(float));
    if (!b->images || !b->dest || !b->scores) {
        decam__batcher_free(b);
        return decam__ctx_fail(ctx, DECAM_ERR_OUT_OF_MEMORY,
                               "out of memory for a batch of %zu images of %zu values", cap,
                               values);
    }
    return DECAM_OK;
}

void decam__batcher_free(batcher *b) {
    if (!b->ctx) return;
    decam__ctx_dealloc(b->ctx, b->images);
    decam__ctx_dealloc(b->ctx, b->dest);
    decam__ctx_dealloc(b->ctx, b->scores);
    b->images = b->scores = NULL;
    b->dest = NULL;
}

float *decam__batcher_slot(batcher *b) { return b->images + b->fill * b->values; }

decam_status decam__batcher_submit(batcher *b, double *dest) {
    b->dest[b->fill++] = dest;
    return b->fill == b->cap ? decam__batcher_flush(b) : DECAM_OK;
}

decam_status decam__batcher_flush(batcher *b) {
    if (b->fill == 0) return DECAM_OK;
    decam_ctx *ctx = b->ctx;
    if (ctx->free_pending) {
        /* decam_free() was called from a callback: no callback runs again. */
        b->fill = 0;
        return decam__ctx_fail(ctx, DECAM_ERR_CANCELLED, "stopped: the context is being freed");
    }
    const size_t n = b->fill;
    double t0 = decam__batch_now();
    int rc = ctx->model(ctx->model_user, b->images, n, b->scores);
    b->model_seconds += decam__batch_now() - t0;
    b->calls++;
    b->queries += n;
    b->fill = 0;
    FAIL_IF(rc != 0, ctx, DECAM_ERR_MODEL_FAILED,
            "the model callback returned %d on call %llu (a batch of %zu images)", rc,
            (unsigned long long)b->calls, n);
    for (size_t k = 0; k < n; k++)
        FORWARD_IF_ERROR(decam__scorer_apply(ctx, &ctx->scorer, b->scores + k * b->n_outputs,
                                             b->n_outputs, (uint32_t)b->target, b->width,
                                             b->height, k, b->calls, b->dest[k]));
    FAIL_IF(atomic_load(&ctx->stop_requested), ctx, DECAM_ERR_CANCELLED,
            "stopped by decam_force_stop()");
    return DECAM_OK;
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

decam_status decam__batcher_fill(batcher *b, size_t n, batch_fill_fn fill, void *job,
                                 double **dest) {
    fill_job f = {b, fill, job};
    decam__pool_run(b->pool, n, fill_range, &f);
    for (size_t k = 0; k < n; k++) {
        b->dest[b->fill++] = dest[k];
        if (b->fill == b->cap) FORWARD_IF_ERROR(decam__batcher_flush(b));
    }
    return DECAM_OK;
}
