/*
 * explain.c - decam_explain(): checks the inputs, sets up one run (the
 * baseline, the batcher, the budget), scores the full image, hands the run
 * to the method chosen by DECAM_PARAM_METHOD (DE-CAM in search.c, RISE in
 * rise.c, occlusion in occlusion.c), then smooths, normalises and scores
 * the map, and collects the statistics.
 */
#include <math.h>

#include "cam.h"
#include "context.h"
#include "method.h"
#include "params.h"

/* ---- checks before anything is allocated --------------------------------- */

static decam_status check_inputs(decam_ctx *ctx, const float *image, int width, int height,
                                 int channels, const float *saliency_out, size_t *values) {
    FORWARD_IF_ERROR(batch_check_call(ctx, "decam_explain", image, width, height, channels,
                                      saliency_out, "saliency_out", values));
    const double *p = ctx->params;
    if (p[DECAM_PARAM_BASELINE] == DECAM_BASELINE_IMAGE) {
        FAIL_IF(!ctx->baseline, ctx, DECAM_ERR_MISSING_INPUT,
                "baseline = image, but no baseline image is set (decam_set_baseline_image)");
        FAIL_IF(ctx->baseline_w != width || ctx->baseline_h != height ||
                    ctx->baseline_c != channels,
                ctx, DECAM_ERR_MISSING_INPUT,
                "baseline image is %d x %d x %d but the image is %d x %d x %d", ctx->baseline_w,
                ctx->baseline_h, ctx->baseline_c, width, height, channels);
    }
    FAIL_IF(p[DECAM_PARAM_METHOD] == DECAM_METHOD_DECAM &&
                p[DECAM_PARAM_INIT] == DECAM_INIT_PRIOR && !ctx->prior,
            ctx, DECAM_ERR_MISSING_INPUT,
            "init = prior, but no prior map is set (decam_set_prior_map)");
    return DECAM_OK;
}

/* The budget must pay for what the method needs at the least. */
static decam_status check_budget(decam_ctx *ctx, int width, int height) {
    const double *p = ctx->params;
    uint64_t budget = (uint64_t)p[DECAM_PARAM_BUDGET], need = 0;
    const char *what = "";
    switch ((decam_method)p[DECAM_PARAM_METHOD]) {
    case DECAM_METHOD_DECAM:
        need = decam_min_queries(ctx);
        what = "one generation (population x queries per candidate) + 3";
        break;
    case DECAM_METHOD_RISE:
        need = rise_min_queries(ctx);
        what = "one mask + 3";
        break;
    case DECAM_METHOD_OCCLUSION:
        need = occlusion_queries(ctx, width, height);
        what = "every window position + 3";
        break;
    }
    FAIL_IF(budget < need, ctx, DECAM_ERR_BUDGET_TOO_SMALL,
            "budget = %llu queries is less than %llu, %s", (unsigned long long)budget,
            (unsigned long long)need, what);
    return DECAM_OK;
}

/* ---- setup and teardown -------------------------------------------------- */

static decam_status run_allocate(run *r) {
    decam_ctx *ctx = r->ctx;
    const double *p = ctx->params;
    size_t cap = (size_t)p[DECAM_PARAM_BATCH_SIZE];
    if (p[DECAM_PARAM_METHOD] == DECAM_METHOD_DECAM) {
        /* Default: a whole generation per call. */
        size_t generation = (size_t)p[DECAM_PARAM_POPULATION] *
                            (p[DECAM_PARAM_OBJECTIVE] == DECAM_OBJECTIVE_BOTH ? 2 : 1);
        if (cap == 0 || cap > generation) cap = generation;
    } else if (cap == 0) {
        cap = 64;
    }
    FORWARD_IF_ERROR(batcher_init(&r->batch, ctx, r->values, cap));
    r->dest = ctx_alloc(ctx, cap, sizeof *r->dest);
    r->base = ctx_alloc(ctx, r->values, sizeof *r->base);
    r->map = ctx_calloc(ctx, r->hw, sizeof *r->map);
    FAIL_IF(!r->dest || !r->base || !r->map, ctx, DECAM_ERR_OUT_OF_MEMORY,
            "decam_explain: out of memory for a %d x %d x %d image", r->shape.w, r->shape.h,
            r->shape.c);
    return DECAM_OK;
}

static void run_release(run *r) {
    batcher_free(&r->batch);
    ctx_dealloc(r->ctx, r->dest);
    ctx_dealloc(r->ctx, r->base);
    ctx_dealloc(r->ctx, r->map);
}

static decam_status make_baseline(run *r) {
    const double *p = r->ctx->params;
    baseline_spec spec = {
        .kind = (decam_baseline)p[DECAM_PARAM_BASELINE],
        .value = p[DECAM_PARAM_BASELINE_VALUE],
        .sigma = p[DECAM_PARAM_BASELINE_SIGMA],
        .caller = r->ctx->baseline,
        .caller_layout = r->ctx->baseline_layout,
    };
    FAIL_IF(mask_baseline(&r->shape, r->image, &spec, &r->rng, &r->ctx->mem, r->base) != 0, r->ctx,
            DECAM_ERR_OUT_OF_MEMORY, "decam_explain: out of memory blurring the baseline");
    return DECAM_OK;
}

/* ---- what the methods share ---------------------------------------------- */

decam_status run_progress(run *r, double best_fitness, double mean_fitness) {
    decam_ctx *ctx = r->ctx;
    r->stats->generations++;
    if (ctx->progress) {
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

decam_status run_keep_raw(run *r, const double *raw, int width, int height) {
    decam_ctx *ctx = r->ctx;
    size_t n = (size_t)width * height;
    if (ctx->raw_len != n) {
        ctx_dealloc(ctx, ctx->raw);
        ctx->raw_len = 0;
        ctx->raw = ctx_alloc(ctx, n, sizeof *ctx->raw);
        FAIL_IF(!ctx->raw, ctx, DECAM_ERR_OUT_OF_MEMORY, "decam_explain: out of memory");
        ctx->raw_len = n;
    }
    for (size_t i = 0; i < n; i++)
        ctx->raw[i] = (float)raw[i];
    ctx->raw_w = width;
    ctx->raw_h = height;
    return DECAM_OK;
}

static decam_status score_full_image(run *r) {
    float *slot = batcher_slot(&r->batch);
    for (size_t i = 0; i < r->values; i++)
        slot[i] = r->image[i];
    FORWARD_IF_ERROR(batcher_submit(&r->batch, &r->score_full));
    return batcher_flush(&r->batch);
}

/* The map as the API promises it: smoothed, normalised to [0,1]. */
static decam_status finish_map(run *r, float *out) {
    FAIL_IF(cam_finish(r->map, r->shape.w, r->shape.h, r->ctx->params[DECAM_PARAM_SMOOTHING],
                       &r->ctx->mem) != 0,
            r->ctx, DECAM_ERR_OUT_OF_MEMORY, "decam_explain: out of memory smoothing the map");
    int flat = 1;
    for (size_t i = 0; i < r->hw; i++) {
        out[i] = r->map[i];
        flat = flat && out[i] == 0.0f;
    }
    /* A flat map is an answer (nothing the masks changed moved the
     * score), but never a silent one. */
    if (flat)
        ctx_log(r->ctx, DECAM_LOG_WARNING,
                "the map is flat (all zero): the scores did not tell the masked regions apart");
    return DECAM_OK;
}

/* Scores the final map as a soft mask: kept and dropped images. */
static decam_status score_final_map(run *r, const float *map) {
    mask_compose(&r->shape, r->image, r->base, map, 0, batcher_slot(&r->batch));
    FORWARD_IF_ERROR(batcher_submit(&r->batch, &r->stats->score_keep));
    mask_compose(&r->shape, r->image, r->base, map, 1, batcher_slot(&r->batch));
    FORWARD_IF_ERROR(batcher_submit(&r->batch, &r->stats->score_drop));
    return batcher_flush(&r->batch);
}

static decam_status run_method(run *r) {
    switch ((decam_method)r->ctx->params[DECAM_PARAM_METHOD]) {
    case DECAM_METHOD_DECAM: return decam_search(r);
    case DECAM_METHOD_RISE: return rise_run(r);
    case DECAM_METHOD_OCCLUSION: return occlusion_run(r);
    }
    return DECAM_ERR_UNSUPPORTED;
}

static decam_termination termination_of(decam_ctx *ctx, decam_status status) {
    if (status != DECAM_ERR_CANCELLED) return DECAM_TERMINATION_ERROR;
    return atomic_load(&ctx->stop_requested) ? DECAM_TERMINATION_FORCED
                                             : DECAM_TERMINATION_CANCELLED;
}

decam_status decam_explain(decam_ctx *ctx, const float *image, int width, int height, int channels,
                           float *saliency_out) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    FAIL_IF(ctx->busy, ctx, DECAM_ERR_BUSY,
            "decam_explain: the context is already running an explanation");
    ctx_clear_error(ctx);
    ctx->raw_w = ctx->raw_h = 0;
    ctx->stats = (decam_stats){.size = sizeof(decam_stats),
                               .score_full = NAN,
                               .score_keep = NAN,
                               .score_drop = NAN,
                               .best_fitness = NAN};
    size_t values = 0;
    FORWARD_IF_ERROR(check_inputs(ctx, image, width, height, channels, saliency_out, &values));
    FORWARD_IF_ERROR(check_budget(ctx, width, height));

    const double *p = ctx->params;
    run r = {.ctx = ctx,
             .image = image,
             .shape = {width, height, channels, (decam_layout)p[DECAM_PARAM_LAYOUT]},
             .values = values,
             .hw = (size_t)width * height,
             .budget = (uint64_t)p[DECAM_PARAM_BUDGET],
             .threads = (int)p[DECAM_PARAM_THREADS],
             .score_full = NAN,
             .stats = &ctx->stats};
    rng_seed(&r.rng, (uint64_t)p[DECAM_PARAM_SEED]);
    ctx->busy = 1;
    atomic_store(&ctx->stop_requested, 0);
    double t_start = batch_now();

    decam_status status = run_allocate(&r);
    if (status == DECAM_OK) status = make_baseline(&r);
    if (status == DECAM_OK) status = score_full_image(&r);
    ctx->stats.score_full = r.score_full;
    if (status == DECAM_OK) status = run_method(&r);
    if (status == DECAM_OK) {
        status = finish_map(&r, saliency_out);
        if (status == DECAM_OK) status = score_final_map(&r, saliency_out);
    } else if (status == DECAM_ERR_CANCELLED && r.map) {
        /* The map of the queries made so far; the cancellation stands. */
        decam_status st = finish_map(&r, saliency_out);
        if (st != DECAM_OK) status = st;
    }
    if (status != DECAM_OK) ctx->stats.termination = termination_of(ctx, status);
    ctx->stats.queries = r.batch.queries;
    ctx->stats.model_calls = r.batch.calls;
    ctx->stats.model_seconds = r.batch.model_seconds;
    ctx->stats.library_seconds = batch_now() - t_start - r.batch.model_seconds;
    ctx_log(ctx, DECAM_LOG_INFO, "explained %d x %d x %d: %llu queries, %u steps, %s", width,
            height, channels, (unsigned long long)ctx->stats.queries, ctx->stats.generations,
            decam_status_string(status));
    run_release(&r);
    ctx->busy = 0;
    return status;
}

decam_status decam_get_raw_map(const decam_ctx *ctx, float *map, size_t capacity, int *width,
                               int *height) {
    if (!ctx || ctx->raw_w == 0) return DECAM_ERR_INVALID_ARGUMENT;
    if (width) *width = ctx->raw_w;
    if (height) *height = ctx->raw_h;
    if (!map) return DECAM_OK;
    if (capacity < ctx->raw_len) return DECAM_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < ctx->raw_len; i++)
        map[i] = ctx->raw[i];
    return DECAM_OK;
}
