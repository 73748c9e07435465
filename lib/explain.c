/*
 * explain.c - decam_explain(): checks the inputs, looks the method up in
 * the table (method.h), sets up a run (run.h) with the baseline, scores
 * the full image, hands the run to the method, then smooths, normalises
 * and scores the map.
 */
#include <math.h>

#include "context.h"
#include "method.h"
#include "params.h"

/* The table, indexed by decam_method, from methods.h's list. */
static const method_info *const METHODS[DECAM_METHOD_COUNT] = {
#define METHOD_ROW_(id, name) [DECAM_METHOD_##id] = &decam__method_##name,
    METHODS_LIST(METHOD_ROW_)
#undef METHOD_ROW_
};

const method_info *decam__method_lookup(decam_method m) {
    if ((int)m < 0 || (size_t)m >= sizeof METHODS / sizeof METHODS[0]) return NULL;
    return METHODS[m];
}

size_t decam__method_batch_size(const double *params, size_t fallback, size_t most) {
    size_t cap = (size_t)params[PS_BATCH_SIZE];
    if (cap == 0) cap = fallback;
    return cap > most ? most : cap;
}

/* ---- checks before anything is allocated --------------------------------- */

static decam_status check_inputs(decam_ctx *ctx, const method_info *m, const method_inputs *in,
                                 int channels) {
    const double *p = ctx->params;
    if (p[PS_BASELINE] == DECAM_BASELINE_IMAGE) {
        FAIL_IF(!ctx->baseline, ctx, DECAM_ERR_MISSING_INPUT,
                "baseline = image, but no baseline image is set (decam_set_baseline_image)");
        FAIL_IF(ctx->baseline_w != in->width || ctx->baseline_h != in->height ||
                    ctx->baseline_c != channels,
                ctx, DECAM_ERR_MISSING_INPUT,
                "baseline image is %d x %d x %d but the image is %d x %d x %d", ctx->baseline_w,
                ctx->baseline_h, ctx->baseline_c, in->width, in->height, channels);
    }
    const char *missing = m->check ? m->check(p, in) : NULL;
    FAIL_IF(missing, ctx, DECAM_ERR_MISSING_INPUT, "%s", missing);
    uint64_t budget = (uint64_t)p[PS_BUDGET];
    uint64_t need = m->min_queries(p, in->width, in->height);
    FAIL_IF(budget < need, ctx, DECAM_ERR_BUDGET_TOO_SMALL,
            "budget = %llu queries is less than %llu, %s", (unsigned long long)budget,
            (unsigned long long)need, m->min_queries_what);
    return DECAM_OK;
}

/* ---- one explanation ----------------------------------------------------- */

static decam_status explain_run(run *r, const method_info *m, const method_inputs *in,
                                float *saliency_out) {
    decam_ctx *ctx = r->ctx;
    const double *p = ctx->params;
    const baseline_spec spec = {
        .kind = (decam_baseline)p[PS_BASELINE],
        .value = p[PS_BASELINE_VALUE],
        .sigma = p[PS_BASELINE_SIGMA],
        .caller = ctx->baseline,
        .caller_layout = ctx->baseline_layout,
    };
    const double smoothing = p[PS_SMOOTHING];
    decam_status status = decam__run_make_baseline(r, &spec);
    if (status == DECAM_OK) status = decam__run_score_full(r);
    if (status == DECAM_OK) status = m->run(r, p, in);
    if (status == DECAM_OK) return decam__run_finish_map(r, smoothing, saliency_out, 1);
    if (status == DECAM_ERR_CANCELLED) {
        /* The map of the queries made so far; the cancellation stands. */
        decam_status st = decam__run_finish_map(r, smoothing, saliency_out, 0);
        if (st != DECAM_OK) status = st;
    }
    return status;
}

static decam_status explain(decam_ctx *ctx, const float *image, int width, int height, int channels,
                            float *saliency_out) {
    FORWARD_IF_ERROR(decam__ctx_check_idle(ctx, "decam_explain"));
    ctx->raw_w = ctx->raw_h = 0;
    ctx->stats = (decam_stats){.size = sizeof(decam_stats),
                               .score_full = NAN,
                               .score_keep = NAN,
                               .score_drop = NAN,
                               .best_fitness = NAN};
    size_t values = 0;
    FORWARD_IF_ERROR(decam__run_check_call(ctx, "decam_explain", image, width, height, channels,
                                           saliency_out, "saliency_out", &values));
    const double *p = ctx->params;
    const method_info *m = decam__method_lookup((decam_method)p[PS_METHOD]);
    FAIL_IF(!m, ctx, DECAM_ERR_UNSUPPORTED, "decam_explain: method %g is not built in",
            p[PS_METHOD]);
    const method_inputs in = {width, height, ctx->prior, ctx->prior_w, ctx->prior_h};
    FORWARD_IF_ERROR(check_inputs(ctx, m, &in, channels));

    const run_spec spec = {
        .who = "decam_explain",
        .image = image,
        .shape = {width, height, channels, (decam_layout)p[PS_LAYOUT]},
        .budget = (uint64_t)p[PS_BUDGET],
        .batch_cap = m->batch_cap(p),
        .threads = (int)p[PS_THREADS],
        .seed = (uint64_t)p[PS_SEED],
        .explain = 1,
        .stats = &ctx->stats,
    };
    run r;
    decam_status status = decam__run_begin(&r, ctx, &spec);
    if (status == DECAM_OK) status = explain_run(&r, m, &in, saliency_out);
    decam__ctx_log(ctx, DECAM_LOG_INFO, "explained %d x %d x %d: %llu queries, %u steps, %s", width,
                   height, channels, (unsigned long long)r.batch.queries, ctx->stats.generations,
                   decam_status_string(status));
    return decam__run_end(&r, status);
}

decam_status decam_explain(decam_ctx *ctx, const float *image, int width, int height, int channels,
                           float *saliency_out) {
    decam_status entered = decam__ctx_enter(ctx, "decam_explain", 0);
    if (!ctx) return entered;
    return decam__ctx_leave(ctx, explain(ctx, image, width, height, channels, saliency_out));
}

static decam_status get_raw_map(const decam_ctx *ctx, float *map, size_t capacity, int *width,
                                int *height) {
    if (ctx->raw_w == 0) return DECAM_ERR_INVALID_ARGUMENT;
    if (width) *width = ctx->raw_w;
    if (height) *height = ctx->raw_h;
    if (!map) return DECAM_OK;
    if (capacity < ctx->raw_len) return DECAM_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < ctx->raw_len; i++)
        map[i] = ctx->raw[i];
    return DECAM_OK;
}

decam_status decam_get_raw_map(const decam_ctx *ctx, float *map, size_t capacity, int *width,
                               int *height) {
    decam_ctx *c = (decam_ctx *)ctx; /* never a const object: see decam_get_stats() */
    decam_status entered = decam__ctx_enter(c, "decam_get_raw_map", 0);
    if (!c) return entered;
    return decam__ctx_leave(c, get_raw_map(ctx, map, capacity, width, height));
}
