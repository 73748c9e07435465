/*
 * rise.c - RISE (Petsiuk, Das & Saenko, BMVC 2018) on libdecam's machinery:
 * N = budget - 3 random binary s x s grids, each cell kept with
 * probability p, bilinearly upsampled to a canvas (s + 1) cells wide and
 * cut out at a random shift of less than a cell; each masks the image
 * against the baseline, and the map is sum(score * mask) / (N * p).
 */
#include <math.h>

#include "method.h"

/* RISE's settings, from its parameters. */
typedef struct rise_config {
    int grid;    /* DECAM_PARAM_RISE_GRID */
    double keep; /* DECAM_PARAM_RISE_KEEP */
} rise_config;

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

/* Floats of scratch per worker, for decam__mask_compose_grid() and mask_group. */
static size_t worker_scratch(const rise *x) { return decam__mask_group_scratch(&x->up); }

static decam_status rise_allocate(rise *x) {
    const decam_allocator *a = x->r->mem;
    const size_t hw = x->r->hw, ss = (size_t)x->s * x->s;
    int failed = decam__upsampler_init_canvas(&x->up, a, x->s, x->s, x->r->shape.w, x->r->shape.h,
                                              x->virt_w, x->virt_h, DECAM_UPSAMPLE_BILINEAR) != 0;
    if (!failed) {
        x->scratch = mem_alloc(a, (size_t)x->r->threads * worker_scratch(x), sizeof *x->scratch);
        x->grids = mem_alloc(a, x->cap * ss, sizeof *x->grids);
        x->shifts = mem_alloc(a, x->cap * 2, sizeof *x->shifts);
        x->scores = mem_alloc(a, x->cap, sizeof *x->scores);
        x->sum = mem_calloc(a, hw, sizeof *x->sum);
        failed = !x->scratch || !x->grids || !x->shifts || !x->scores || !x->sum;
    }
    RUN_FAIL_IF(failed, x->r, DECAM_ERR_OUT_OF_MEMORY,
                "decam_explain: out of memory for RISE (chunks of %zu masks of %d x %d)", x->cap,
                x->r->shape.w, x->r->shape.h);
    return DECAM_OK;
}

static void rise_release(rise *x) {
    const decam_allocator *a = x->r->mem;
    decam__upsampler_free(&x->up, a);
    mem_free(a, x->scratch);
    mem_free(a, x->grids);
    mem_free(a, x->shifts);
    mem_free(a, x->scores);
    mem_free(a, x->sum);
}

/* Draws the chunk's grids and shifts, in order, from the run's generator:
 * the random stream does not depend on the thread count. */
static void draw_chunk(rise *x) {
    const size_t ss = (size_t)x->s * x->s;
    for (size_t k = 0; k < x->chunk; k++) {
        for (size_t j = 0; j < ss; j++)
            x->grids[k * ss + j] = decam__rng_uniform(&x->r->rng) < x->keep ? 1.0 : 0.0;
        x->shifts[2 * k] = (int)decam__rng_below(&x->r->rng, (uint32_t)x->cell_w);
        x->shifts[2 * k + 1] = (int)decam__rng_below(&x->r->rng, (uint32_t)x->cell_h);
    }
}

/* The upsampler for mask k of the chunk: a copy, shifted to its window. */
static upsampler placed(const rise *x, size_t k) {
    upsampler u = x->up;
    decam__upsampler_shift(&u, x->shifts[2 * k], x->shifts[2 * k + 1]);
    return u;
}

static const double *grid_of(const rise *x, size_t k) { return x->grids + k * (size_t)x->s * x->s; }

static void fill_mask_image(void *job, size_t k, float *slot, int worker) {
    rise *x = job;
    const run *r = x->r;
    const upsampler u = placed(x, k);
    decam__mask_compose_grid(&r->shape, r->image, r->base, &u, grid_of(x, k),
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
        decam__mask_group_begin(&g, x->scratch + (size_t)worker * worker_scratch(x));
        for (size_t y = first; y < last; y++) {
            double *sum = x->sum + y * w;
            const float *m = decam__mask_group_row(&g, (int)y);
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
        decam_status status = decam__batcher_fill(&r->batch, x->chunk, fill_mask_image, x, r->dest);
        if (status == DECAM_OK) status = decam__batcher_flush(&r->batch);
        /* A cancellation comes after the scores are stored: they count. */
        if (status != DECAM_OK && status != DECAM_ERR_CANCELLED) return status;
        decam__run_parallel(r, (size_t)r->shape.h, accumulate_range, x);
        *done += x->chunk;
        FORWARD_IF_ERROR(status);
        FORWARD_IF_ERROR(decam__run_progress(r, NAN, NAN));
    }
    r->stats->termination = DECAM_TERMINATION_BUDGET;
    return DECAM_OK;
}

static decam_status rise_run(run *r, const rise_config *cfg) {
    rise x = {.r = r, .s = cfg->grid, .keep = cfg->keep};
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
        decam__run_fit_float(r, x.sum, r->hw);
        for (size_t i = 0; i < r->hw; i++)
            r->map[i] = (float)x.sum[i];
        decam_status kept = decam__run_keep_raw(r, x.sum, r->shape.w, r->shape.h);
        if (kept != DECAM_OK) status = kept;
    }
    rise_release(&x);
    return status;
}

/* ---- the table row --------------------------------------------------- */

/* One mask at the least. */
static uint64_t row_min_queries(const double *p, int width, int height) {
    (void)p;
    (void)width;
    (void)height;
    return 1 + RUN_FIXED_QUERIES;
}

static size_t row_batch_cap(const double *p) { return decam__method_batch_size(p, 64, SIZE_MAX); }

static decam_status row_run(run *r, const double *p, const method_inputs *in) {
    (void)in;
    const rise_config cfg = {.grid = (int)p[PS_RISE_GRID], .keep = p[PS_RISE_KEEP]};
    return rise_run(r, &cfg);
}

const method_info decam__method_rise = {
    .name = "rise",
    .min_queries = row_min_queries,
    .min_queries_what = "one mask + 3",
    .batch_cap = row_batch_cap,
    .run = row_run,
};
