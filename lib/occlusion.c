/*
 * occlusion.c - sliding-window occlusion (Zeiler & Fergus, ECCV 2014) on
 * libdecam's machinery: a square window, moved in steps over the image,
 * replaces what it covers with the baseline; each pixel's map is the mean
 * score drop, s(I) - s(occluded), over the windows that covered it.
 */
#include <math.h>

#include "method.h"

/* Occlusion's settings, from its parameters and the image's size. */
typedef struct occlusion_config {
    int window, stride; /* in pixels, resolved (never 0) */
} occlusion_config;

typedef struct occlusion {
    run *r;
    int window, stride;
    int nx, ny;        /* positions along each axis */
    size_t total;      /* positions */
    size_t cap, chunk; /* positions per chunk, in the current chunk */
    size_t first;      /* position number of the chunk's first */
    double *scores;    /* cap * targets */
    double *sum;       /* targets * hw: sum of drops */
    uint32_t *count;   /* hw: windows that covered the pixel */
} occlusion;

static int window_of(const double *p, int w, int h) {
    int side = w < h ? w : h, win = (int)p[PS_OCCLUSION_WINDOW];
    if (win == 0) win = (int)lround(side / 7.0);
    if (win < 1) win = 1;
    return win > side ? side : win;
}

static int stride_of(const double *p, int window) {
    int stride = (int)p[PS_OCCLUSION_STRIDE];
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

static occlusion_config configure(const double *p, int width, int height) {
    occlusion_config cfg = {.window = window_of(p, width, height)};
    cfg.stride = stride_of(p, cfg.window);
    return cfg;
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
    const run *r = o->r;
    const int w = r->shape.w;
    const size_t k = r->targets;
    for (size_t i = 0; i < o->chunk; i++) {
        int x0, y0;
        window_rect(o, o->first + i, &x0, &y0);
        for (int y = y0; y < y0 + o->window; y++)
            for (int x = x0; x < x0 + o->window; x++)
                o->count[(size_t)y * w + x]++;
        for (size_t t = 0; t < k; t++) {
            const double drop = r->score_full[t] - o->scores[i * k + t];
            double *sum = o->sum + t * r->hw;
            for (int y = y0; y < y0 + o->window; y++)
                for (int x = x0; x < x0 + o->window; x++)
                    sum[(size_t)y * w + x] += drop;
        }
    }
}

static void want_chunk(occlusion *o) {
    o->chunk = o->total - o->first < o->cap ? o->total - o->first : o->cap;
    decam__run_want(o->r, o->chunk, fill_occluded, o, o->scores);
}

static decam_status row_advance(run *r, size_t scored, int stopping) {
    occlusion *o = r->state;
    o->chunk = scored; /* the scored windows lead the chunk */
    add_drops(o);
    o->first += scored;
    if (stopping) return DECAM_OK;
    FORWARD_IF_ERROR(decam__run_progress(r, NAN, NAN));
    if (o->first < o->total)
        want_chunk(o);
    else
        r->stats.termination = DECAM_TERMINATION_BUDGET;
    return DECAM_OK;
}

static decam_status row_finish(run *r) {
    occlusion *o = r->state;
    for (size_t t = 0; t < r->targets; t++) {
        double *sum = o->sum + t * r->hw;
        for (size_t i = 0; i < r->hw; i++)
            sum[i] = o->count[i] ? sum[i] / o->count[i] : 0.0;
        decam__run_fit_float(r, sum, r->hw);
        for (size_t i = 0; i < r->hw; i++)
            r->map[t * r->hw + i] = (float)sum[i];
        FORWARD_IF_ERROR(decam__run_keep_raw(r, t, sum, r->shape.w, r->shape.h));
    }
    return DECAM_OK;
}

static void row_release(run *r) {
    occlusion *o = r->state;
    if (!o) return;
    mem_free(r->mem, o->scores);
    mem_free(r->mem, o->sum);
    mem_free(r->mem, o->count);
    mem_free(r->mem, o);
    r->state = NULL;
}

/* ---- the table row --------------------------------------------------- */

/* Every window position. */
static uint64_t row_min_queries(const double *p, int width, int height) {
    occlusion_config cfg = configure(p, width, height);
    return RUN_FIXED_QUERIES + (uint64_t)positions(width, cfg.window, cfg.stride) *
                                   (uint64_t)positions(height, cfg.window, cfg.stride);
}

static size_t row_step_images(const double *p) { return decam__method_batch_size(p, 64, SIZE_MAX); }

static int row_several_targets(const double *p) {
    (void)p;
    return 1;
}

static decam_status row_start(run *r, const double *p, const method_inputs *in) {
    const occlusion_config cfg = configure(p, in->width, in->height);
    occlusion *o = mem_calloc(r->mem, 1, sizeof *o);
    RUN_FAIL_IF(!o, r, DECAM_ERR_OUT_OF_MEMORY, "decam_explain: out of memory for occlusion");
    r->state = o;
    *o = (occlusion){.r = r, .cap = row_step_images(p), .window = cfg.window, .stride = cfg.stride};
    o->nx = positions(r->shape.w, o->window, o->stride);
    o->ny = positions(r->shape.h, o->window, o->stride);
    o->total = (size_t)o->nx * o->ny;
    if (o->cap > o->total) o->cap = o->total; /* not a batch it never fills */
    o->scores = mem_alloc(r->mem, o->cap * r->targets, sizeof *o->scores);
    o->sum = mem_calloc(r->mem, r->hw * r->targets, sizeof *o->sum);
    o->count = mem_calloc(r->mem, r->hw, sizeof *o->count);
    RUN_FAIL_IF(!o->scores || !o->sum || !o->count, r, DECAM_ERR_OUT_OF_MEMORY,
                "decam_explain: out of memory for occlusion of a %d x %d image", r->shape.w,
                r->shape.h);
    want_chunk(o);
    return DECAM_OK;
}

const method_info decam__method_occlusion = {
    .name = "occlusion",
    .min_queries = row_min_queries,
    .min_queries_what = "every window position + 3",
    .max_queries = row_min_queries,
    .step_images = row_step_images,
    .several_targets = row_several_targets,
    .start = row_start,
    .advance = row_advance,
    .finish = row_finish,
    .release = row_release,
};
