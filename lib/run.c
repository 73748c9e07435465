/* run.c - one run of the model: lifecycle, budget, progress, statistics. */
#include "run.h"

#include <math.h>
#include <stdio.h>

#include "cam.h"
#include "params.h"

decam_status decam__run_check_call(decam_ctx *ctx, const char *who, const float *image, int width,
                                   int height, int channels, const void *out, const char *out_name,
                                   size_t *values) {
    FAIL_IF(!image, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: image is NULL", who);
    FAIL_IF(!out, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: %s is NULL", who, out_name);
    FORWARD_IF_ERROR(decam__params_check_image_size(ctx, who, width, height, channels, values));
    FAIL_IF(!ctx->model, ctx, DECAM_ERR_NO_MODEL,
            "%s: no model callback; call decam_set_model() first", who);
    const double *p = ctx->params;
    FAIL_IF(p[PS_TARGET] >= p[PS_N_OUTPUTS], ctx, DECAM_ERR_OUT_OF_RANGE,
            "target = %g must be below n_outputs = %g", p[PS_TARGET], p[PS_N_OUTPUTS]);
    return DECAM_OK;
}

/* The context's pool for `threads`: made at the first run that needs it,
 * kept, and made again only when the thread count changes. */
static decam_status ensure_pool(run *r, int threads) {
    decam_ctx *ctx = r->ctx;
    if (threads < 2) return DECAM_OK;
    if (decam__pool_threads(ctx->pool) != threads) {
        decam__pool_free(ctx->pool, &ctx->mem);
        ctx->pool = decam__pool_create(&ctx->mem, threads);
        FAIL_IF(!ctx->pool, ctx, DECAM_ERR_OUT_OF_MEMORY, "out of memory for a pool of %d threads",
                threads);
        if (decam__pool_missing(ctx->pool) > 0)
            decam__ctx_log(
                ctx, DECAM_LOG_WARNING,
                "could not start %d of %d threads; their work is done on the calling thread",
                decam__pool_missing(ctx->pool), threads);
    }
    r->pool = ctx->pool;
    return DECAM_OK;
}

static decam_status run_allocate(run *r, const run_spec *spec) {
    decam_ctx *ctx = r->ctx;
    FORWARD_IF_ERROR(ensure_pool(r, spec->threads));
    FORWARD_IF_ERROR(decam__batcher_init(&r->batch, ctx, r->values, spec->batch_cap));
    r->batch.pool = r->pool;
    r->dest = decam__ctx_alloc(ctx, spec->batch_cap, sizeof *r->dest);
    if (spec->explain) {
        r->base = decam__ctx_alloc(ctx, r->values, sizeof *r->base);
        r->map = decam__ctx_calloc(ctx, r->hw, sizeof *r->map);
    }
    FAIL_IF(!r->dest || (spec->explain && (!r->base || !r->map)), ctx, DECAM_ERR_OUT_OF_MEMORY,
            "%s: out of memory for a %d x %d x %d image", spec->who, r->shape.w, r->shape.h,
            r->shape.c);
    return DECAM_OK;
}

decam_status decam__run_begin(run *r, decam_ctx *ctx, const run_spec *spec) {
    *r = (run){.ctx = ctx,
               .mem = &ctx->mem,
               .image = spec->image,
               .shape = spec->shape,
               .values = (size_t)spec->shape.w * spec->shape.h * spec->shape.c,
               .hw = (size_t)spec->shape.w * spec->shape.h,
               .budget = spec->budget,
               .threads = spec->threads,
               .score_full = NAN,
               .stats = spec->stats,
               .started = 1};
    decam__rng_seed(&r->rng, spec->seed);
    ctx->busy = 1;
    atomic_store(&ctx->stop_requested, ctx->free_pending);
    r->t_start = decam__batch_now();
    return run_allocate(r, spec);
}

static decam_termination termination_of(decam_ctx *ctx, decam_status status) {
    if (status != DECAM_ERR_CANCELLED) return DECAM_TERMINATION_ERROR;
    return atomic_load(&ctx->stop_requested) ? DECAM_TERMINATION_FORCED
                                             : DECAM_TERMINATION_CANCELLED;
}

decam_status decam__run_end(run *r, decam_status status) {
    if (!r->started) return status;
    decam_ctx *ctx = r->ctx;
    decam_stats *st = r->stats;
    if (status != DECAM_OK) st->termination = termination_of(ctx, status);
    st->queries = r->batch.queries;
    st->model_calls = r->batch.calls;
    st->model_seconds = r->batch.model_seconds;
    st->library_seconds = decam__batch_now() - r->t_start - r->batch.model_seconds;
    decam__batcher_free(&r->batch);
    decam__ctx_dealloc(ctx, r->dest);
    decam__ctx_dealloc(ctx, r->base);
    decam__ctx_dealloc(ctx, r->map);
    r->dest = NULL;
    r->base = r->map = NULL;
    r->started = 0;
    ctx->busy = 0;
    return status;
}

decam_status decam__run_fail(run *r, decam_status status, const char *fmt, ...) {
    char line[sizeof r->ctx->errmsg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    return decam__ctx_fail(r->ctx, status, "%s", line);
}

void decam__run_log(run *r, decam_log_level level, const char *fmt, ...) {
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    decam__ctx_log(r->ctx, level, "%s", line);
}

void decam__run_parallel(run *r, size_t n, pool_range_fn fn, void *job) {
    decam__pool_run(r->pool, n, fn, job);
}

decam_status decam__run_make_baseline(run *r, const baseline_spec *spec) {
    RUN_FAIL_IF(decam__mask_baseline(&r->shape, r->image, spec, &r->rng, r->mem, r->base) != 0, r,
                DECAM_ERR_OUT_OF_MEMORY, "decam_explain: out of memory blurring the baseline");
    return DECAM_OK;
}

decam_status decam__run_score_full(run *r) {
    float *slot = decam__batcher_slot(&r->batch);
    for (size_t i = 0; i < r->values; i++)
        slot[i] = r->image[i];
    decam_status status = decam__batcher_submit(&r->batch, &r->score_full);
    if (status == DECAM_OK) status = decam__batcher_flush(&r->batch);
    r->stats->score_full = r->score_full;
    return status;
}

decam_status decam__run_progress(run *r, double best_fitness, double mean_fitness) {
    decam_ctx *ctx = r->ctx;
    r->stats->generations++;
    if (ctx->progress && !ctx->free_pending) {
        decam_progress pr = {
            .size = sizeof pr,
            .queries = r->batch.queries,
            .budget = r->budget,
            .generation = r->stats->generations,
            .best_fitness = best_fitness,
            .mean_fitness = mean_fitness,
        };
        int rc = ctx->progress(ctx->progress_user, &pr);
        FAIL_IF(rc != 0, ctx, DECAM_ERR_CANCELLED,
                "cancelled by the progress callback (it returned %d) after step %u", rc,
                r->stats->generations);
    }
    FAIL_IF(atomic_load(&ctx->stop_requested), ctx, DECAM_ERR_CANCELLED,
            "stopped by decam_force_stop()");
    return DECAM_OK;
}

decam_status decam__run_keep_raw(run *r, const double *raw, int width, int height) {
    decam_ctx *ctx = r->ctx;
    size_t n = (size_t)width * height;
    if (ctx->raw_len != n) {
        decam__ctx_dealloc(ctx, ctx->raw);
        ctx->raw_len = 0;
        ctx->raw = decam__ctx_alloc(ctx, n, sizeof *ctx->raw);
        FAIL_IF(!ctx->raw, ctx, DECAM_ERR_OUT_OF_MEMORY, "decam_explain: out of memory");
        ctx->raw_len = n;
    }
    for (size_t i = 0; i < n; i++)
        ctx->raw[i] = (float)raw[i];
    ctx->raw_w = width;
    ctx->raw_h = height;
    return DECAM_OK;
}

/* Scores the final map as a soft mask: kept and dropped images. */
static decam_status score_final_map(run *r, const float *map) {
    decam__mask_compose(&r->shape, r->image, r->base, map, 0, decam__batcher_slot(&r->batch));
    FORWARD_IF_ERROR(decam__batcher_submit(&r->batch, &r->stats->score_keep));
    decam__mask_compose(&r->shape, r->image, r->base, map, 1, decam__batcher_slot(&r->batch));
    FORWARD_IF_ERROR(decam__batcher_submit(&r->batch, &r->stats->score_drop));
    return decam__batcher_flush(&r->batch);
}

void decam__run_fit_float(run *r, double *map, size_t n) {
    int shift = decam__cam_fit_float(map, n);
    if (shift != 0)
        decam__run_log(r, DECAM_LOG_WARNING,
                       "the raw map's values were beyond float's range; scaled by 2^%d to fit",
                       shift);
}

decam_status decam__run_finish_map(run *r, double smoothing, float *out, int score) {
    RUN_FAIL_IF(decam__cam_finish(r->map, r->shape.w, r->shape.h, smoothing, r->mem) != 0, r,
                DECAM_ERR_OUT_OF_MEMORY, "decam_explain: out of memory smoothing the map");
    int flat = 1;
    for (size_t i = 0; i < r->hw; i++) {
        out[i] = r->map[i];
        flat = flat && out[i] == 0.0f;
    }
    /* A flat map is an answer (nothing the masks changed moved the
     * score), but never a silent one. */
    if (flat)
        decam__run_log(
            r, DECAM_LOG_WARNING,
            "the map is flat (all zero): the scores did not tell the masked regions apart");
    return score ? score_final_map(r, out) : DECAM_OK;
}
