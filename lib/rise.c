/*
 * rise.c - RISE (Petsiuk, Das & Saenko, BMVC 2018) on libdecam's machinery:
 * N = budget - 3 random binary s x s grids, each cell kept with
 * probability p, bilinearly upsampled to a canvas (s + 1) cells wide and
 * cut out at a random shift of less than a cell; each masks the image
 * against the baseline, and the map is sum(score * mask) / (N * p).
 */
#include <math.h>

#include "context.h"
#include "method.h"

typedef struct rise {
    run *r;
    int s;              /* grid side */
    double keep;        /* p */
    int virt_w, virt_h; /* the canvas: (s + 1) cells */
    int cell_w, cell_h;
    size_t cap;     /* masks per chunk: the batch size */
    upsampler up;   /* over the canvas; each mask uses a copy, shifted */
    float *scratch; /* threads * worker_scratch() */
    double *grids;  /* cap * s * s: the chunk's binary grids */
    int *shifts;    /* cap * 2 */
    double *scores; /* cap */
    double *sum;    /* hw: sum of score * mask */
    size_t chunk;   /* masks in the current chunk */
} rise;

uint64_t rise_min_queries(const decam_ctx *ctx) {
    (void)ctx;
    return 1 + 1 + 2;
}

/* Floats of scratch per worker, for mask_compose_grid() and mask_group. */
static size_t worker_scratch(const rise *x) { return mask_group_scratch(&x->up); }

static decam_status rise_allocate(rise *x) {
    decam_ctx *ctx = x->r->ctx;
    const size_t hw = x->r->hw, ss = (size_t)x->s * x->s;
    int failed = upsampler_init_canvas(&x->up, &ctx->mem, x->s, x->s, x->r->shape.w, x->r->shape.h,
                                       x->virt_w, x->virt_h, DECAM_UPSAMPLE_BILINEAR) != 0;
    if (!failed) {
        x->scratch = ctx_alloc(ctx, (size_t)x->r->threads * worker_scratch(x), sizeof *x->scratch);
        x->grids = ctx_alloc(ctx, x->cap * ss, sizeof *x->grids);
        x->shifts = ctx_alloc(ctx, x->cap * 2, sizeof *x->shifts);
        x->scores = ctx_alloc(ctx, x->cap, sizeof *x->scores);
        x->sum = ctx_calloc(ctx, hw, sizeof *x->sum);
        failed = !x->scratch || !x->grids || !x->shifts || !x->scores || !x->sum;
    }
    FAIL_IF(failed, ctx, DECAM_ERR_OUT_OF_MEMORY,
            "decam_explain: out of memory for RISE (chunks of %zu masks of %d x %d)", x->cap,
            x->r->shape.w, x->r->shape.h);
    return DECAM_OK;
}

static void rise_release(rise *x) {
    decam_ctx *ctx = x->r->ctx;
    upsampler_free(&x->up, &ctx->mem);
    ctx_dealloc(ctx, x->scratch);
    ctx_dealloc(ctx, x->grids);
    ctx_dealloc(ctx, x->shifts);
    ctx_dealloc(ctx, x->scores);
    ctx_dealloc(ctx, x->sum);
}

/* Draws the chunk's grids and shifts, in order, from the run's generator:
 * the random stream does not depend on the thread count. */
static void draw_chunk(rise *x) {
    const size_t ss = (size_t)x->s * x->s;
    for (size_t k = 0; k < x->chunk; k++) {
        for (size_t j = 0; j < ss; j++)
            x->grids[k * ss + j] = rng_uniform(&x->r->rng) < x->keep ? 1.0 : 0.0;
        x->shifts[2 * k] = (int)rng_below(&x->r->rng, (uint32_t)x->cell_w);
        x->shifts[2 * k + 1] = (int)rng_below(&x->r->rng, (uint32_t)x->cell_h);
    }
}

/* The upsampler for mask k of the chunk: a copy, shifted to its window. */
static upsampler placed(const rise *x, size_t k) {
    upsampler u = x->up;
    upsampler_shift(&u, x->shifts[2 * k], x->shifts[2 * k + 1]);
    return u;
}

static const double *grid_of(const rise *x, size_t k) { return x->grids + k * (size_t)x->s * x->s; }

static void fill_mask_image(void *job, size_t k, float *slot, int worker) {
    rise *x = job;
    const run *r = x->r;
    const upsampler u = placed(x, k);
    mask_compose_grid(&r->shape, r->image, r->base, &u, grid_of(x, k),
                      x->scratch + (size_t)worker * worker_scratch(x), 0, slot);
}

/* sum[p] += score[j] * m[j w + p] for j = 0 .. n-1 in turn, p < w. Inlined
 * with a constant n, the sum of a pixel stays in a register while the
 * masks are added, and the loop over p vectorises. */
static inline void add_masks(double *restrict sum, const double *score, const float *restrict m,
                             size_t n, size_t w) {
    for (size_t p = 0; p < w; p++) {
        double v = sum[p];
        for (size_t j = 0; j < n; j++)
            v += score[j] * m[j * w + p];
        sum[p] = v;
    }
}

/* sum += score_k * mask_k for the chunk's masks, in k order per pixel, over
 * image rows first .. last - 1. The masks are made again, a row at a time,
 * rather than kept from the fill: cheaper than a chunk of them going out
 * to memory and back. MASK_GROUP masks go together, so each pixel's sum is
 * read and written once per group rather than once per mask. */
static void accumulate_range(void *job, size_t first, size_t last, int worker) {
    rise *x = job;
    const size_t w = (size_t)x->r->shape.w;
    for (size_t k0 = 0; k0 < x->chunk; k0 += MASK_GROUP) {
        mask_group g = {.n = x->chunk - k0 < MASK_GROUP ? x->chunk - k0 : MASK_GROUP};
        for (size_t j = 0; j < g.n; j++) {
            g.u[j] = placed(x, k0 + j);
            g.grid[j] = grid_of(x, k0 + j);
        }
        mask_group_begin(&g, x->scratch + (size_t)worker * worker_scratch(x));
        for (size_t y = first; y < last; y++) {
            double *sum = x->sum + y * w;
            const float *m = mask_group_row(&g, (int)y);
            if (g.n == MASK_GROUP) {
                add_masks(sum, x->scores + k0, m, MASK_GROUP, w);
            } else {
                for (size_t j = 0; j < g.n; j++)
                    add_masks(sum, x->scores + k0 + j, m + j * w, 1, w);
            }
        }
    }
}

static decam_status masks(rise *x, size_t total, size_t *done) {
    run *r = x->r;
    while (*done < total) {
        x->chunk = total - *done < x->cap ? total - *done : x->cap;
        draw_chunk(x);
        for (size_t k = 0; k < x->chunk; k++)
            r->dest[k] = &x->scores[k];
        decam_status status =
            batcher_fill(&r->batch, x->chunk, fill_mask_image, x, r->threads, r->dest);
        if (status == DECAM_OK) status = batcher_flush(&r->batch);
        /* A cancellation comes after the scores are stored: they count. */
        if (status != DECAM_OK && status != DECAM_ERR_CANCELLED) return status;
        parallel_ranges((size_t)r->shape.h, accumulate_range, x, r->threads, r->ctx);
        *done += x->chunk;
        FORWARD_IF_ERROR(status);
        FORWARD_IF_ERROR(run_progress(r, NAN, NAN));
    }
    r->stats->termination = DECAM_TERMINATION_BUDGET;
    return DECAM_OK;
}

decam_status rise_run(run *r) {
    const double *p = r->ctx->params;
    rise x = {.r = r, .s = (int)p[DECAM_PARAM_RISE_GRID], .keep = p[DECAM_PARAM_RISE_KEEP]};
    x.cell_w = (r->shape.w + x.s - 1) / x.s;
    x.cell_h = (r->shape.h + x.s - 1) / x.s;
    x.virt_w = (x.s + 1) * x.cell_w;
    x.virt_h = (x.s + 1) * x.cell_h;
    x.cap = r->batch.cap;
    const size_t total = (size_t)run_queries_left(r);
    size_t done = 0;
    decam_status status = rise_allocate(&x);
    if (status == DECAM_OK) status = masks(&x, total, &done);
    if ((status == DECAM_OK || status == DECAM_ERR_CANCELLED) && done > 0) {
        const double norm = 1.0 / ((double)done * x.keep);
        for (size_t i = 0; i < r->hw; i++)
            x.sum[i] *= norm;
        run_fit_float(r, x.sum, r->hw);
        for (size_t i = 0; i < r->hw; i++)
            r->map[i] = (float)x.sum[i];
        decam_status kept = run_keep_raw(r, x.sum, r->shape.w, r->shape.h);
        if (kept != DECAM_OK) status = kept;
    }
    rise_release(&x);
    return status;
}
