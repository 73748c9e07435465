/*
 * occlusion.c - sliding-window occlusion (Zeiler & Fergus, ECCV 2014) on
 * libdecam's machinery: a square window, moved in steps over the image,
 * replaces what it covers with the baseline; each pixel's map is the mean
 * score drop, s(I) - s(occluded), over the windows that covered it.
 */
#include <math.h>

#include "context.h"
#include "method.h"

typedef struct occlusion {
    run *r;
    int window, stride;
    int nx, ny;        /* positions along each axis */
    size_t cap, chunk; /* positions per chunk, in the current chunk */
    size_t first;      /* position number of the chunk's first */
    double *scores;    /* cap */
    double *sum;       /* hw: sum of drops */
    uint32_t *count;   /* hw: windows that covered the pixel */
} occlusion;

static int window_of(const decam_ctx *ctx, int w, int h) {
    int side = w < h ? w : h, win = (int)ctx->params[DECAM_PARAM_OCCLUSION_WINDOW];
    if (win == 0) win = (int)lround(side / 7.0);
    if (win < 1) win = 1;
    return win > side ? side : win;
}

static int stride_of(const decam_ctx *ctx, int window) {
    int stride = (int)ctx->params[DECAM_PARAM_OCCLUSION_STRIDE];
    if (stride == 0) stride = window / 4;
    return stride < 1 ? 1 : stride;
}

/* Window starts along an axis: 0, stride, 2 stride, ... while the window
 * fits, and the last fitting start if the steps miss it, so every pixel is
 * covered. */
static int positions(int size, int window, int stride) {
    int n = (size - window) / stride + 1;
    return (n - 1) * stride + window < size ? n + 1 : n;
}

static int start_of(int i, int size, int window, int stride) {
    int s = i * stride;
    return s + window > size ? size - window : s;
}

uint64_t occlusion_queries(const decam_ctx *ctx, int width, int height) {
    int win = window_of(ctx, width, height), stride = stride_of(ctx, win);
    return 3 + (uint64_t)positions(width, win, stride) * (uint64_t)positions(height, win, stride);
}

static void window_rect(const occlusion *o, size_t pos, int *x0, int *y0) {
    const image_shape *s = &o->r->shape;
    *x0 = start_of((int)(pos % (size_t)o->nx), s->w, o->window, o->stride);
    *y0 = start_of((int)(pos / (size_t)o->nx), s->h, o->window, o->stride);
}

static void fill_occluded(void *job, size_t k, float *slot, int worker) {
    (void)worker;
    const occlusion *o = job;
    const run *r = o->r;
    const image_shape *s = &r->shape;
    int x0, y0;
    window_rect(o, o->first + k, &x0, &y0);
    for (size_t i = 0; i < r->values; i++)
        slot[i] = r->image[i];
    const size_t hw = r->hw;
    for (int y = y0; y < y0 + o->window; y++)
        for (int x = x0; x < x0 + o->window; x++) {
            size_t p = (size_t)y * s->w + x;
            for (int c = 0; c < s->c; c++) {
                size_t i = s->layout == DECAM_LAYOUT_CHW ? (size_t)c * hw + p : p * s->c + c;
                slot[i] = r->base[i];
            }
        }
}

static void add_drops(occlusion *o) {
    const int w = o->r->shape.w;
    for (size_t k = 0; k < o->chunk; k++) {
        const double drop = o->r->score_full - o->scores[k];
        int x0, y0;
        window_rect(o, o->first + k, &x0, &y0);
        for (int y = y0; y < y0 + o->window; y++)
            for (int x = x0; x < x0 + o->window; x++) {
                o->sum[(size_t)y * w + x] += drop;
                o->count[(size_t)y * w + x]++;
            }
    }
}

static decam_status windows(occlusion *o) {
    run *r = o->r;
    const size_t total = (size_t)o->nx * o->ny;
    for (o->first = 0; o->first < total; o->first += o->chunk) {
        o->chunk = total - o->first < o->cap ? total - o->first : o->cap;
        for (size_t k = 0; k < o->chunk; k++)
            r->dest[k] = &o->scores[k];
        decam_status status =
            batcher_fill(&r->batch, o->chunk, fill_occluded, o, r->threads, r->dest);
        if (status == DECAM_OK) status = batcher_flush(&r->batch);
        if (status != DECAM_OK && status != DECAM_ERR_CANCELLED) return status;
        add_drops(o);
        FORWARD_IF_ERROR(status);
        FORWARD_IF_ERROR(run_progress(r, NAN, NAN));
    }
    r->stats->termination = DECAM_TERMINATION_BUDGET;
    return DECAM_OK;
}

decam_status occlusion_run(run *r) {
    decam_ctx *ctx = r->ctx;
    occlusion o = {.r = r, .cap = r->batch.cap};
    o.window = window_of(ctx, r->shape.w, r->shape.h);
    o.stride = stride_of(ctx, o.window);
    o.nx = positions(r->shape.w, o.window, o.stride);
    o.ny = positions(r->shape.h, o.window, o.stride);
    o.scores = ctx_alloc(ctx, o.cap, sizeof *o.scores);
    o.sum = ctx_calloc(ctx, r->hw, sizeof *o.sum);
    o.count = ctx_calloc(ctx, r->hw, sizeof *o.count);
    decam_status status = DECAM_OK;
    if (!o.scores || !o.sum || !o.count)
        status = ctx_fail(ctx, DECAM_ERR_OUT_OF_MEMORY,
                          "decam_explain: out of memory for occlusion of a %d x %d image",
                          r->shape.w, r->shape.h);
    if (status == DECAM_OK) status = windows(&o);
    if (status == DECAM_OK || status == DECAM_ERR_CANCELLED) {
        for (size_t i = 0; i < r->hw; i++)
            o.sum[i] = o.count[i] ? o.sum[i] / o.count[i] : 0.0;
        run_fit_float(r, o.sum, r->hw);
        for (size_t i = 0; i < r->hw; i++)
            r->map[i] = (float)o.sum[i];
        decam_status kept = run_keep_raw(r, o.sum, r->shape.w, r->shape.h);
        if (kept != DECAM_OK) status = kept;
    }
    ctx_dealloc(ctx, o.scores);
    ctx_dealloc(ctx, o.sum);
    ctx_dealloc(ctx, o.count);
    return status;
}
