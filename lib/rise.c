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
    size_t cap;         /* masks per chunk */
    upsampler up;       /* over the canvas; each mask uses a copy, shifted */
    float *scratch;     /* threads * worker_scratch() */
    double *grids;      /* cap * s * s: the chunk's binary grids */
    int *shifts;        /* cap * 2 */
    double *scores;     /* cap * targets: the chunk's, as the run stores them */
    double *weights;    /* cap: one target's scores, for the sums */
    double *sum;        /* targets * hw: sum of score * mask */
    double *target_sum; /* the sums accumulate_range() adds to */
    double *range;      /* targets * 2: the lowest and highest score taken in */
    size_t chunk;       /* masks in the current chunk */
    size_t total, done; /* masks to score; masks taken in */
} rise;

/* Floats of scratch per worker, for decam__mask_compose_grid() and mask_group. */
static size_t worker_scratch(const rise *x) { return decam__mask_group_scratch(&x->up); }

static decam_status rise_allocate(rise *x) {
    const decam_allocator *a = x->r->mem;
    const size_t hw = x->r->hw, ss = (size_t)x->s * x->s, k = x->r->targets;
    int failed = decam__upsampler_init_canvas(&x->up, a, x->s, x->s, x->r->shape.w, x->r->shape.h,
                                              x->virt_w, x->virt_h, DECAM_UPSAMPLE_BILINEAR) != 0;
    if (!failed) {
        x->scratch = mem_alloc(a, (size_t)x->r->threads * worker_scratch(x), sizeof *x->scratch);
        x->grids = mem_alloc(a, x->cap * ss, sizeof *x->grids);
        x->shifts = mem_alloc(a, x->cap * 2, sizeof *x->shifts);
        x->scores = mem_alloc(a, x->cap * k, sizeof *x->scores);
        x->weights = mem_alloc(a, x->cap, sizeof *x->weights);
        x->sum = mem_calloc(a, hw * k, sizeof *x->sum);
        x->range = mem_alloc(a, 2 * k, sizeof *x->range);
        failed = !x->scratch || !x->grids || !x->shifts || !x->scores || !x->weights || !x->sum ||
                 !x->range;
    }
    RUN_FAIL_IF(failed, x->r, DECAM_ERR_OUT_OF_MEMORY,
                "decam_explain: out of memory for RISE (chunks of %zu masks of %d x %d)", x->cap,
                x->r->shape.w, x->r->shape.h);
    return DECAM_OK;
}

static void rise_release(run *r) {
    rise *x = r->state;
    if (!x) return;
    const decam_allocator *a = r->mem;
    decam__upsampler_free(&x->up, a);
    mem_free(a, x->scratch);
    mem_free(a, x->grids);
    mem_free(a, x->shifts);
    mem_free(a, x->scores);
    mem_free(a, x->weights);
    mem_free(a, x->sum);
    mem_free(a, x->range);
    mem_free(a, x);
    r->state = NULL;
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

/* target_sum += weight_k * mask_k for the chunk's masks, in k order per
 * pixel, over image rows first .. last - 1. The masks are made again, a
 * row at a time, rather than kept from the fill: cheaper than a chunk of
 * them going out to memory and back. MASK_GROUP masks go together, so
 * each pixel's sum is read and written once per group rather than once
 * per mask. */
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
            double *sum = x->target_sum + y * w;
            const float *m = decam__mask_group_row(&g, (int)y);
            if (g.n == MASK_GROUP) {
                add_masks(sum, x->weights + k0, m, MASK_GROUP, w);
            } else {
                for (size_t j = 0; j < g.n; j++)
                    add_masks(sum, x->weights + k0 + j, m + j * w, 1, w);
            }
        }
    }
}

/* Wants the next chunk of masks scored. */
static void want_chunk(rise *x) {
    x->chunk = x->total - x->done < x->cap ? x->total - x->done : x->cap;
    draw_chunk(x);
    decam__run_want(x->r, x->chunk, fill_mask_image, x, x->scores);
}

static decam_status row_advance(run *r, size_t scored, int stopping) {
    rise *x = r->state;
    const size_t k = r->targets;
    x->chunk = scored; /* the scored masks lead the chunk */
    for (size_t t = 0; t < k && scored > 0; t++) {
        double *lo = &x->range[2 * t], *hi = lo + 1;
        if (x->done == 0) *lo = *hi = x->scores[t];
        for (size_t j = 0; j < scored; j++) {
            x->weights[j] = x->scores[j * k + t];
            *lo = fmin(*lo, x->weights[j]);
            *hi = fmax(*hi, x->weights[j]);
        }
        x->target_sum = x->sum + t * r->hw;
        decam__run_parallel(r, (size_t)r->shape.h, accumulate_range, x);
    }
    x->done += scored;
    if (stopping) return DECAM_OK;
    FORWARD_IF_ERROR(decam__run_progress(r, NAN, NAN));
    if (x->done < x->total)
        want_chunk(x);
    else
        r->stats.termination = DECAM_TERMINATION_BUDGET;
    return DECAM_OK;
}

static decam_status row_finish(run *r) {
    rise *x = r->state;
    if (x->done == 0) return DECAM_OK;
    const double norm = 1.0 / ((double)x->done * x->keep);
    for (size_t t = 0; t < r->targets; t++) {
        double *sum = x->sum + t * r->hw;
        for (size_t i = 0; i < r->hw; i++)
            sum[i] *= norm;
        decam__run_fit_float(r, sum, r->hw);
        /* Every mask scored alike: the sum is the masks' own coverage,
         * which says nothing of the model. The map is the flat map (all
         * zero, with the warning); the raw map keeps the estimator's value. */
        const int told = x->range[2 * t] != x->range[2 * t + 1];
        for (size_t i = 0; i < r->hw; i++)
            r->map[t * r->hw + i] = told ? (float)sum[i] : 0.0f;
        FORWARD_IF_ERROR(decam__run_keep_raw(r, t, sum, r->shape.w, r->shape.h));
    }
    return DECAM_OK;
}

/* ---- the table row --------------------------------------------------- */

/* One mask at the least. */
static uint64_t row_min_queries(const double *p, int width, int height) {
    (void)p;
    (void)width;
    (void)height;
    return 1 + RUN_FIXED_QUERIES;
}

static size_t row_step_images(const double *p) { return decam__method_batch_size(p, 64, SIZE_MAX); }

static int row_several_targets(const double *p) {
    (void)p;
    return 1;
}

static decam_status row_start(run *r, const double *p, const method_inputs *in) {
    (void)in;
    rise *x = mem_calloc(r->mem, 1, sizeof *x);
    RUN_FAIL_IF(!x, r, DECAM_ERR_OUT_OF_MEMORY, "decam_explain: out of memory for RISE");
    r->state = x;
    *x = (rise){.r = r, .s = (int)p[PS_RISE_GRID], .keep = p[PS_RISE_KEEP]};
    x->cell_w = (r->shape.w + x->s - 1) / x->s;
    x->cell_h = (r->shape.h + x->s - 1) / x->s;
    x->virt_w = (x->s + 1) * x->cell_w;
    x->virt_h = (x->s + 1) * x->cell_h;
    x->total = (size_t)run_queries_left(r);
    /* Chunks hold the masks the run will score, not a batch it never fills. */
    x->cap = row_step_images(p);
    if (x->cap > x->total) x->cap = x->total > 0 ? x->total : 1;
    FORWARD_IF_ERROR(rise_allocate(x));
    if (x->total > 0) want_chunk(x);
    return DECAM_OK;
}

const method_info decam__method_rise = {
    .name = "rise",
    .min_queries = row_min_queries,
    .min_queries_what = "one mask + 3",
    .step_images = row_step_images,
    .several_targets = row_several_targets,
    .start = row_start,
    .advance = row_advance,
    .finish = row_finish,
    .release = rise_release,
};
