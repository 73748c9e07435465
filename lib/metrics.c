/*
 * metrics.c - decam_evaluate(): how faithful a map is to the model.
 * Deletion and insertion AUC after RISE (Petsiuk et al. 2018), average
 * drop and increase in confidence after Grad-CAM++ (Chattopadhyay et al.
 * 2018), pointing game and its energy variant. docs/metrics.md has the
 * definitions.
 */
#include <math.h>
#include <stdlib.h>

#include "cam.h"
#include "filter.h"
#include "mask.h"
#include "params.h"
#include "batch.h"
#include "scoring.h"

typedef struct ranked_px {
    float saliency;
    uint32_t index;
} ranked_px;

/* Most salient first; ties by position, so the ranking is deterministic. */
static int by_saliency(const void *a, const void *b) {
    const ranked_px *x = a, *y = b;
    if (x->saliency != y->saliency) return x->saliency > y->saliency ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index ? 1 : 0;
}

/* Trapezoid area under n + 1 equally spaced points over [0,1] (RISE's auc). */
static double trapezoid_auc(const double *y, size_t n) {
    double sum = 0.0;
    for (size_t k = 0; k <= n; k++)
        sum += y[k];
    return (sum - 0.5 * (y[0] + y[n])) / (double)n;
}

/* Everything one evaluation needs, allocated at its start. */
typedef struct evaluation {
    decam_ctx *ctx;
    image_shape shape;
    size_t values, hw, steps, step;
    ranked_px *order;
    float *work;   /* the image being deleted from or inserted into */
    float *start;  /* deletion's target, insertion's blurred start */
    float *mask;   /* the map scaled to [0,1], for O */
    double *curve; /* steps + 1 points */
    batcher *batch;
} evaluation;

static void release(evaluation *e) {
    decam__ctx_dealloc(e->ctx, e->order);
    decam__ctx_dealloc(e->ctx, e->work);
    decam__ctx_dealloc(e->ctx, e->start);
    decam__ctx_dealloc(e->ctx, e->mask);
    decam__ctx_dealloc(e->ctx, e->curve);
}

static decam_status allocate(evaluation *e) {
    e->order = decam__ctx_alloc(e->ctx, e->hw, sizeof *e->order);
    e->work = decam__ctx_alloc(e->ctx, e->values, sizeof *e->work);
    e->start = decam__ctx_alloc(e->ctx, e->values, sizeof *e->start);
    e->curve = decam__ctx_alloc(e->ctx, e->steps + 1, sizeof *e->curve);
    e->mask = decam__ctx_alloc(e->ctx, e->hw, sizeof *e->mask);
    FAIL_IF(!e->order || !e->work || !e->start || !e->curve || !e->mask, e->ctx,
            DECAM_ERR_OUT_OF_MEMORY, "decam_evaluate: out of memory for a %d x %d x %d image",
            e->shape.w, e->shape.h, e->shape.c);
    return DECAM_OK;
}

/* Copies pixel p of `from` into `to`, every channel. */
static void copy_pixel(const image_shape *s, const float *from, float *to, size_t p) {
    const size_t hw = (size_t)s->w * s->h;
    for (int c = 0; c < s->c; c++) {
        size_t i = s->layout == DECAM_LAYOUT_CHW ? (size_t)c * hw + p : p * s->c + c;
        to[i] = from[i];
    }
}

/* Scores the curve: point k has the first k * step ranked pixels taken
 * from `target` and the rest from `source`. Point `known` (0 or steps) is
 * the unmodified image, whose score `full` is already known. */
static decam_status score_curve(evaluation *e, const float *source, const float *target,
                                size_t known, double full) {
    const size_t values = e->values;
    for (size_t i = 0; i < values; i++)
        e->work[i] = source[i];
    for (size_t k = 0; k <= e->steps; k++) {
        size_t first = (k == 0 ? 0 : (k - 1) * e->step), last = k * e->step;
        if (last > e->hw) last = e->hw;
        for (size_t r = first; k > 0 && r < last; r++)
            copy_pixel(&e->shape, target, e->work, e->order[r].index);
        if (k == known) {
            e->curve[k] = full;
            continue;
        }
        float *slot = decam__batcher_slot(e->batch);
        for (size_t i = 0; i < values; i++)
            slot[i] = e->work[i];
        FORWARD_IF_ERROR(decam__batcher_submit(e->batch, &e->curve[k]));
    }
    return decam__batcher_flush(e->batch);
}

static void pointing_games(const float *saliency, const uint8_t *truth, size_t hw,
                           decam_metrics *m) {
    m->pointing_game = m->energy_pointing_game = NAN;
    if (!truth) return;
    size_t best = 0;
    double inside = 0.0, total = 0.0;
    for (size_t p = 0; p < hw; p++) {
        if (saliency[p] > saliency[best]) best = p;
        double v = saliency[p] > 0.0f ? saliency[p] : 0.0;
        total += v;
        if (truth[p]) inside += v;
    }
    m->pointing_game = truth[best] ? 1.0 : 0.0;
    if (total > 0.0) m->energy_pointing_game = inside / total;
}

static decam_status evaluate(evaluation *e, const float *image, const float *saliency,
                             decam_metrics *m) {
    decam_ctx *ctx = e->ctx;
    const double *p = ctx->params;
    for (size_t i = 0; i < e->hw; i++)
        e->order[i] = (ranked_px){saliency[i], (uint32_t)i};
    qsort(e->order, e->hw, sizeof *e->order, by_saliency);

    /* Y, and O: the image multiplied by the map scaled to [0,1]. */
    double full = NAN, masked = NAN;
    float *slot = decam__batcher_slot(e->batch);
    for (size_t i = 0; i < e->values; i++)
        slot[i] = image[i];
    FORWARD_IF_ERROR(decam__batcher_submit(e->batch, &full));
    for (size_t i = 0; i < e->hw; i++)
        e->mask[i] = saliency[i];
    decam__cam_normalise(e->mask, e->hw);
    for (size_t i = 0; i < e->values; i++)
        e->work[i] = 0.0f;
    slot = decam__batcher_slot(e->batch);
    decam__mask_compose(&e->shape, image, e->work, e->mask, 0, slot);
    FORWARD_IF_ERROR(decam__batcher_submit(e->batch, &masked));
    FORWARD_IF_ERROR(decam__batcher_flush(e->batch));
    m->score_full = full;
    m->score_masked = masked;
    m->average_drop = full > 0.0 ? (full > masked ? full - masked : 0.0) / full : NAN;
    m->increase_in_confidence = full < masked ? 1.0 : 0.0;

    /* Deletion: from the image towards the deletion value. */
    for (size_t i = 0; i < e->values; i++)
        e->start[i] = (float)p[PS_EVAL_DELETION_VALUE];
    FORWARD_IF_ERROR(score_curve(e, image, e->start, 0, full));
    m->deletion_auc = trapezoid_auc(e->curve, e->steps);

    /* Insertion: from the blurred image towards the image. */
    const int chw = e->shape.layout == DECAM_LAYOUT_CHW;
    for (size_t i = 0; i < e->values; i++)
        e->start[i] = image[i];
    FAIL_IF(decam__filter_gaussian(&ctx->mem, e->start, e->shape.w, e->shape.h,
                                   chw ? e->shape.c : 1, chw ? 1 : e->shape.c,
                                   p[PS_EVAL_INSERTION_SIGMA]) != 0,
            ctx, DECAM_ERR_OUT_OF_MEMORY, "decam_evaluate: out of memory blurring the image");
    FORWARD_IF_ERROR(score_curve(e, e->start, image, e->steps, full));
    m->insertion_auc = trapezoid_auc(e->curve, e->steps);
    return DECAM_OK;
}

decam_status decam_pointing(const float *saliency, const uint8_t *truth, int width, int height,
                            double *hit, double *energy) {
    if (!saliency || !truth || width < 1 || height < 1 || width > PARAMS_MAX_SIDE ||
        height > PARAMS_MAX_SIDE)
        return DECAM_ERR_INVALID_ARGUMENT;
    const size_t hw = (size_t)width * height;
    for (size_t i = 0; i < hw; i++)
        if (!isfinite(saliency[i])) return DECAM_ERR_INVALID_ARGUMENT;
    decam_metrics m;
    pointing_games(saliency, truth, hw, &m);
    if (hit) *hit = m.pointing_game;
    if (energy) *energy = m.energy_pointing_game;
    return DECAM_OK;
}

/* The checks before anything is allocated. */
static decam_status check_call(decam_ctx *ctx, const float *image, int width, int height,
                               int channels, const float *saliency, const decam_metrics *metrics,
                               size_t *values) {
    FAIL_IF(!image, ctx, DECAM_ERR_INVALID_ARGUMENT, "decam_evaluate: image is NULL");
    FAIL_IF(!metrics, ctx, DECAM_ERR_INVALID_ARGUMENT, "decam_evaluate: metrics is NULL");
    FAIL_IF(!saliency, ctx, DECAM_ERR_INVALID_ARGUMENT, "decam_evaluate: saliency is NULL");
    FAIL_IF(metrics->size < sizeof metrics->size, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "decam_evaluate: set metrics->size to sizeof(decam_metrics) first");
    FORWARD_IF_ERROR(
        decam__params_check_image_size(ctx, "decam_evaluate", width, height, channels, values));
    FAIL_IF(!ctx->model, ctx, DECAM_ERR_NO_MODEL,
            "decam_evaluate: no model callback; call decam_set_model() first");
    const double *p = ctx->params;
    FORWARD_IF_ERROR(decam__scorer_check_outputs(ctx, "decam_evaluate"));
    FORWARD_IF_ERROR(decam__scorer_check_target(ctx, "", "target", p[PS_TARGET]));
    const size_t hw = (size_t)width * height;
    for (size_t i = 0; i < hw; i++)
        FAIL_IF(!isfinite(saliency[i]), ctx, DECAM_ERR_INVALID_ARGUMENT,
                "decam_evaluate: saliency[%zu] is not finite", i);
    return DECAM_OK;
}

static decam_status evaluate_call(decam_ctx *ctx, const float *image, int width, int height,
                                  int channels, const float *saliency, const uint8_t *truth,
                                  decam_metrics *metrics) {
    FORWARD_IF_ERROR(decam__ctx_check_idle(ctx, "decam_evaluate"));
    size_t values = 0;
    FORWARD_IF_ERROR(check_call(ctx, image, width, height, channels, saliency, metrics, &values));
    const size_t hw = (size_t)width * height;
    const double *p = ctx->params;
    evaluation e = {.ctx = ctx, .values = values, .hw = hw};
    e.shape = (image_shape){width, height, channels, (decam_layout)p[PS_LAYOUT]};
    e.step = p[PS_EVAL_STEP] > 0 ? (size_t)p[PS_EVAL_STEP] : (size_t)width;
    if (e.step > hw) e.step = hw;
    e.steps = (hw + e.step - 1) / e.step;
    batcher batch;
    e.batch = &batch;

    /* decam_get_stats() goes on describing the last explanation. */
    decam_metrics m = {.size = sizeof m, .steps = e.steps};
    ctx->busy = 1;
    atomic_store(&ctx->stop_requested, ctx->free_pending);
    /* Images held at once: the batch size, but no more than the
     * evaluation ever sends together (Y and O, then a curve's steps). */
    size_t cap = p[PS_BATCH_SIZE] > 0 ? (size_t)p[PS_BATCH_SIZE] : 64;
    const size_t most = e.steps > 2 ? e.steps : 2;
    if (cap > most) cap = most;
    decam_status status = decam__batcher_init(&batch, ctx, width, height, values, cap);
    if (status == DECAM_OK) status = allocate(&e);
    if (status == DECAM_OK) status = evaluate(&e, image, saliency, &m);
    pointing_games(saliency, truth, hw, &m);
    m.queries = batch.queries;
    release(&e);
    decam__batcher_free(&batch);
    ctx->busy = 0;
    ctx_copy_sized(metrics, &m, sizeof m);
    return status;
}

decam_status decam_evaluate(decam_ctx *ctx, const float *image, int width, int height, int channels,
                            const float *saliency, const uint8_t *truth, decam_metrics *metrics) {
    decam_status entered = decam__ctx_enter(ctx, "decam_evaluate", 0);
    if (!ctx) return entered;
    return decam__ctx_leave(
        ctx, evaluate_call(ctx, image, width, height, channels, saliency, truth, metrics));
}
