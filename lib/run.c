/* run.c - the explanation of one image: phases, budget, progress, maps. */
#include "run.h"

#include <math.h>
#include <stdio.h>

#include "batch.h"
#include "cam.h"
#include "params.h"

static decam_status allocate(run *r) {
    decam_ctx *ctx = r->ctx;
    r->base = decam__ctx_alloc(ctx, r->values, sizeof *r->base);
    r->map = decam__ctx_calloc(ctx, r->targets * r->hw, sizeof *r->map);
    /* s(I) per target, then the final kept and dropped images' scores. */
    r->score_full = decam__ctx_alloc(ctx, 3 * r->targets, sizeof *r->score_full);
    RUN_FAIL_IF(!r->base || !r->map || !r->score_full, r, DECAM_ERR_OUT_OF_MEMORY,
                "decam_explain: out of memory for a %d x %d x %d image", r->shape.w, r->shape.h,
                r->shape.c);
    return DECAM_OK;
}

/* DECAM_PARAM_BASELINE_SIGMA, or when it is 0 the method's own. */
static double blur_sigma(const run *r, const double *p) {
    if (p[PS_BASELINE_SIGMA] > 0.0) return p[PS_BASELINE_SIGMA];
    return r->method->blur_sigma ? r->method->blur_sigma(p, r->shape.w, r->shape.h)
                                 : RUN_BLUR_SIGMA;
}

static decam_status make_baseline(run *r) {
    const double *p = r->ctx->params;
    const baseline_spec spec = {
        .kind = (decam_baseline)p[PS_BASELINE],
        .value = p[PS_BASELINE_VALUE],
        .sigma = blur_sigma(r, p),
        .caller = r->ctx->baseline,
        .caller_layout = r->ctx->baseline_layout,
    };
    RUN_FAIL_IF(decam__mask_baseline(&r->shape, r->image, &spec, &r->rng, r->mem, r->base) != 0, r,
                DECAM_ERR_OUT_OF_MEMORY, "decam_explain: out of memory blurring the baseline");
    return DECAM_OK;
}

static void fill_full(void *job, size_t k, float *slot, int worker) {
    (void)k;
    (void)worker;
    const run *r = job;
    for (size_t i = 0; i < r->values; i++)
        slot[i] = r->image[i];
}

decam_status decam__run_start(run *r, decam_ctx *ctx, const run_spec *spec) {
    *r = (run){.ctx = ctx,
               .mem = &ctx->mem,
               .method = spec->method,
               .image = spec->image,
               .shape = spec->shape,
               .values = (size_t)spec->shape.w * spec->shape.h * spec->shape.c,
               .hw = (size_t)spec->shape.w * spec->shape.h,
               .budget = spec->budget,
               .threads = spec->threads,
               .pool = spec->pool,
               .targets = spec->targets,
               .target = spec->target,
               .out = spec->out,
               .keeps_raw = spec->keeps_raw,
               .item = spec->item,
               .totals = spec->totals,
               .phase = RUN_FULL,
               .started_at = decam__batch_now()};
    r->stats = (decam_stats){.size = sizeof r->stats,
                             .score_full = NAN,
                             .score_keep = NAN,
                             .score_drop = NAN,
                             .best_fitness = NAN};
    decam__rng_seed(&r->rng, spec->seed);
    decam_status status = allocate(r);
    if (status == DECAM_OK) status = make_baseline(r);
    if (status != DECAM_OK) {
        decam__run_release(r);
        return status;
    }
    decam__run_want(r, 1, fill_full, r, r->score_full);
    return DECAM_OK;
}

void decam__run_release(run *r) {
    if (r->state && r->method) r->method->release(r);
    r->state = NULL;
    decam__ctx_dealloc(r->ctx, r->base);
    decam__ctx_dealloc(r->ctx, r->map);
    decam__ctx_dealloc(r->ctx, r->score_full);
    r->base = r->map = NULL;
    r->score_full = NULL;
    r->want = (want){0};
}

void decam__run_want(run *r, size_t n, want_fill_fn fill, void *job, double *scores) {
    r->want = (want){.n = n, .fill = fill, .job = job, .scores = scores};
    for (size_t i = 0; i < n * r->targets; i++)
        scores[i] = NAN;
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

decam_status decam__run_progress(run *r, double best_fitness, double mean_fitness) {
    decam_ctx *ctx = r->ctx;
    r->stats.generations++;
    if (ctx->progress && !ctx->free_pending) {
        decam_progress pr = {.size = sizeof pr,
                             .queries = r->queries,
                             .budget = r->budget,
                             .generation = r->stats.generations,
                             .best_fitness = best_fitness,
                             .mean_fitness = mean_fitness,
                             .item = r->item};
        if (r->totals) {
            pr.queries = r->totals->queries;
            pr.budget = r->totals->budget;
            pr.items = r->totals->items;
            pr.items_done = r->totals->items_done;
        }
        int rc = ctx->progress(ctx->progress_user, &pr);
        if (rc != 0)
            return decam__run_fail(r, DECAM_ERR_CANCELLED,
                                   "cancelled by the progress callback (it returned %d) after "
                                   "step %u",
                                   rc, r->stats.generations);
    }
    if (atomic_load(&ctx->stop_requested))
        return decam__run_fail(r, DECAM_ERR_CANCELLED, "stopped by decam_force_stop()");
    return DECAM_OK;
}

decam_status decam__run_keep_raw(run *r, size_t t, const double *raw, int width, int height) {
    if (!r->keeps_raw || t != 0) return DECAM_OK;
    decam_ctx *ctx = r->ctx;
    size_t n = (size_t)width * height;
    if (ctx->raw_len != n) {
        decam__ctx_dealloc(ctx, ctx->raw);
        ctx->raw_len = 0;
        ctx->raw = decam__ctx_alloc(ctx, n, sizeof *ctx->raw);
        RUN_FAIL_IF(!ctx->raw, r, DECAM_ERR_OUT_OF_MEMORY, "decam_explain: out of memory");
        ctx->raw_len = n;
    }
    for (size_t i = 0; i < n; i++)
        ctx->raw[i] = (float)raw[i];
    ctx->raw_w = width;
    ctx->raw_h = height;
    return DECAM_OK;
}

void decam__run_fit_float(run *r, double *map, size_t n) {
    int shift = decam__cam_fit_float(map, n);
    if (shift != 0)
        decam__run_log(r, DECAM_LOG_WARNING,
                       "the raw map's values were beyond float's range; scaled by 2^%d to fit",
                       shift);
}

/* ---- the phases ---------------------------------------------------------- */

/* Smooths and normalises every target's map into r->out. */
static decam_status finish_maps(run *r) {
    const double smoothing = r->ctx->params[PS_SMOOTHING];
    for (size_t t = 0; t < r->targets; t++) {
        float *map = r->map + t * r->hw, *out = r->out + t * r->hw;
        RUN_FAIL_IF(decam__cam_finish(map, r->shape.w, r->shape.h, smoothing, r->mem) != 0, r,
                    DECAM_ERR_OUT_OF_MEMORY, "decam_explain: out of memory smoothing the map");
        int flat = 1;
        for (size_t i = 0; i < r->hw; i++) {
            out[i] = map[i];
            flat = flat && out[i] == 0.0f;
        }
        /* A flat map is an answer (nothing the masks changed moved the
         * score), but never a silent one. */
        if (flat)
            decam__run_log(
                r, DECAM_LOG_WARNING,
                "the map is flat (all zero): the scores did not tell the masked regions apart");
    }
    return DECAM_OK;
}

/* The final map as a soft mask: kept (k = 0) and dropped (k = 1) images. */
static void fill_final(void *job, size_t k, float *slot, int worker) {
    (void)worker;
    const run *r = job;
    decam__mask_compose(&r->shape, r->image, r->base, r->out, (int)k, slot);
}

/* The method is done: its maps are finished and the first is scored. */
static decam_status to_final(run *r) {
    FORWARD_IF_ERROR(r->method->finish(r));
    FORWARD_IF_ERROR(finish_maps(r));
    r->method->release(r);
    r->state = NULL;
    r->phase = RUN_FINAL;
    /* Only the first target's scores are read. */
    decam__run_want(r, 2, fill_final, r, r->score_full + r->targets);
    return DECAM_OK;
}

static decam_status advance(run *r, int stopping) {
    switch (r->phase) {
    case RUN_FULL: {
        r->stats.score_full = r->score_full[0];
        if (stopping) return DECAM_OK;
        r->phase = RUN_METHOD;
        const method_inputs in = {r->shape.w, r->shape.h, r->ctx->prior, r->ctx->prior_w,
                                  r->ctx->prior_h};
        r->want = (want){0};
        FORWARD_IF_ERROR(r->method->start(r, r->ctx->params, &in));
        return r->want.n == 0 ? to_final(r) : DECAM_OK;
    }
    case RUN_METHOD: {
        const size_t scored = r->want.scored;
        r->want = (want){0};
        FORWARD_IF_ERROR(r->method->advance(r, scored, stopping));
        return !stopping && r->want.n == 0 ? to_final(r) : DECAM_OK;
    }
    case RUN_FINAL:
        if (r->want.scored == 2) {
            r->stats.score_keep = r->score_full[r->targets];
            r->stats.score_drop = r->score_full[2 * r->targets];
        }
        r->want = (want){0};
        r->phase = RUN_DONE;
        return DECAM_OK;
    case RUN_IDLE:
    case RUN_DONE: break;
    }
    return DECAM_OK;
}

decam_status decam__run_advance(run *r, int stopping) { return advance(r, stopping); }

decam_status decam__run_stop(run *r) {
    decam_status status = DECAM_OK;
    if (r->phase == RUN_FULL) {
        /* No method ran: the maps are all zero, as the queries say. */
        status = finish_maps(r);
    } else if (r->phase == RUN_METHOD) {
        if (r->want.scored > 0) status = decam__run_advance(r, 1);
        if (status == DECAM_OK || status == DECAM_ERR_CANCELLED) status = r->method->finish(r);
        if (status == DECAM_OK) status = finish_maps(r);
    }
    return status;
}
