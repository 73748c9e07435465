/*
 * search.c - DE-CAM's search: gene vectors from the DE engine become masks
 * and perturbed images, their scores become fitness, and every evaluation
 * feeds the map. A method (method.h): its table row builds a
 * search_config from the parameters; the search sees only that and the run.
 *
 * A candidate's mask is its gene grid, thresholded at 0.5 into a binary
 * grid (DECAM_PARAM_BINARY_MASKS) and bilinearly upsampled with a random
 * shift of less than a cell (DECAM_PARAM_MASK_SHIFT), as RISE's masks are:
 * the map, assembled per pixel from every rendered mask, is then finer
 * than the grid and not tied to the cells' edges.
 */
#include <math.h>

#include "search.h"

#include "cam.h"

/* DE-CAM's state for one run, allocated at its start. */
typedef struct search {
    run *r;
    const search_config *cfg;
    int gw, gh;
    size_t dim, np;
    decam_objective objective;
    int per_candidate;      /* queries: 1, or 2 for DECAM_OBJECTIVE_BOTH */
    int binary, shifted;    /* DECAM_PARAM_BINARY_MASKS, DECAM_PARAM_MASK_SHIFT */
    int cell_w, cell_h;     /* a shift is less than a cell */
    int canvas_w, canvas_h; /* shifted masks span (grid + 1) cells, as RISE's */
    de *de;
    cam_accum genes;  /* per gene: for DECAM_ASSEMBLY_REGRESSION */
    cam_accum pixels; /* per pixel: for DECAM_ASSEMBLY_ALL_EVALUATED */
    upsampler up;     /* the grid over the image: unshifted masks, grid maps */
    upsampler canvas; /* the grid over the canvas, for shifted masks */
    float *scratch;   /* threads * worker_scratch() */
    const double *trials;
    double *cells;     /* np * dim: with binary masks, each candidate's mask grid */
    int *shifts;       /* np * 2: each candidate's shift */
    size_t count;      /* candidates of the generation scored (the leading ones) */
    size_t fill_first; /* the generation's image index of a fill's image 0 */
    double *score_keep, *score_drop, *fitness; /* per candidate */
    double *weight; /* per candidate: its mask's weight in the pixel sums */
    double *grid;   /* dim: the assembled grid map */
} search;

/* Masks are never stored whole: the fill makes each one a row at a time
 * inside the blend (mask_compose_grid), and the pixel sums make them again
 * when the scores are back (mask_group). */
static size_t worker_scratch(const search *s) { return decam__mask_group_scratch(&s->up); }

uint64_t decam__search_min_queries(const search_config *cfg) {
    uint64_t per = cfg->objective == DECAM_OBJECTIVE_BOTH ? 2 : 1;
    return (uint64_t)cfg->de.np * per + RUN_FIXED_QUERIES;
}

static decam_status search_allocate(search *s) {
    const decam_allocator *a = s->r->mem;
    const int w = s->r->shape.w, h = s->r->shape.h, threads = s->r->threads;
    const size_t hw = s->r->hw;
    de_config cfg = s->cfg->de;
    cfg.dim = s->dim;
    cfg.np = s->np;
    cfg.max_evals = run_queries_left(s->r) / (uint64_t)s->per_candidate; /* L-SHADE's schedule */
    const decam_assembly assembly = s->cfg->assembly;
    s->de = decam__de_create(&cfg, a);
    int failed = !s->de ||
                 (assembly == DECAM_ASSEMBLY_REGRESSION &&
                  decam__cam_accum_init(&s->genes, a, s->dim, 1) != 0) ||
                 (assembly == DECAM_ASSEMBLY_ALL_EVALUATED &&
                  decam__cam_accum_init(&s->pixels, a, hw, 0) != 0);
    const decam_upsample method = s->cfg->upsample;
    failed = failed || decam__upsampler_init(&s->up, a, s->gw, s->gh, w, h, method) != 0 ||
             (s->shifted && decam__upsampler_init_canvas(&s->canvas, a, s->gw, s->gh, w, h,
                                                         s->canvas_w, s->canvas_h, method) != 0);
    if (!failed) {
        s->scratch = mem_alloc(a, (size_t)threads, worker_scratch(s) * sizeof *s->scratch);
        s->cells = mem_alloc(a, s->np * s->dim, sizeof *s->cells);
        s->shifts = mem_calloc(a, s->np * 2, sizeof *s->shifts);
        s->score_keep = mem_alloc(a, s->np, sizeof *s->score_keep);
        s->score_drop = mem_alloc(a, s->np, sizeof *s->score_drop);
        s->fitness = mem_alloc(a, s->np, sizeof *s->fitness);
        s->weight = mem_alloc(a, s->np, sizeof *s->weight);
        s->grid = mem_alloc(a, s->dim, sizeof *s->grid);
        failed = !s->scratch || !s->cells || !s->shifts || !s->score_keep || !s->score_drop ||
                 !s->fitness || !s->weight || !s->grid;
    }
    RUN_FAIL_IF(failed, s->r, DECAM_ERR_OUT_OF_MEMORY,
                "decam_explain: out of memory for the search (grid %d x %d, population %zu)", s->gw,
                s->gh, s->np);
    return DECAM_OK;
}

static void search_release(search *s) {
    const decam_allocator *a = s->r->mem;
    decam__de_free(s->de, a);
    decam__upsampler_free(&s->up, a);
    decam__upsampler_free(&s->canvas, a);
    decam__cam_accum_free(&s->genes, a);
    decam__cam_accum_free(&s->pixels, a);
    mem_free(a, s->scratch);
    mem_free(a, s->cells);
    mem_free(a, s->shifts);
    mem_free(a, s->score_keep);
    mem_free(a, s->score_drop);
    mem_free(a, s->fitness);
    mem_free(a, s->weight);
    mem_free(a, s->grid);
}

/* ---- masks ------------------------------------------------------------ */

/* Candidate i's mask grid: its genes, or with binary masks its cells. */
static const double *grid_of(const search *s, size_t i) {
    return (s->binary ? s->cells : s->trials) + i * s->dim;
}

/* An upsampler for candidate i's mask: a copy sharing the tables, with the
 * candidate's window when masks are shifted. */
static upsampler placed(const search *s, size_t i) {
    if (!s->shifted) return s->up;
    upsampler u = s->canvas;
    decam__upsampler_shift(&u, s->shifts[2 * i], s->shifts[2 * i + 1]);
    return u;
}

/* Prepares the masks of trials 0..n-1: cells and shifts. Shifts are drawn
 * in candidate order from the run's generator, so nothing depends on the
 * thread count. */
static void prepare_masks(search *s, const double *trials, size_t n) {
    run *r = s->r;
    s->trials = trials;
    for (size_t i = 0; s->binary && i < n * s->dim; i++)
        s->cells[i] = trials[i] >= 0.5 ? 1.0 : 0.0;
    for (size_t i = 0; s->shifted && i < n; i++) {
        s->shifts[2 * i] = (int)decam__rng_below(&r->rng, (uint32_t)s->cell_w);
        s->shifts[2 * i + 1] = (int)decam__rng_below(&r->rng, (uint32_t)s->cell_h);
    }
}

/* ---- scoring a generation ---------------------------------------------- */

/* Image g of a generation: candidate g / per_candidate; with both
 * objectives the keep image first, then the drop image. */
static int image_drops(const search *s, size_t g) {
    if (s->objective == DECAM_OBJECTIVE_BOTH) return (int)(g % 2);
    return s->objective == DECAM_OBJECTIVE_DELETE;
}

static void fill_image(void *job, size_t k, float *slot, int worker) {
    search *s = job;
    const run *r = s->r;
    size_t g = s->fill_first + k, cand = g / (size_t)s->per_candidate;
    const upsampler u = placed(s, cand);
    decam__mask_compose_grid(&r->shape, r->image, r->base, &u, grid_of(s, cand),
                             s->scratch + (size_t)worker * worker_scratch(s), image_drops(s, g),
                             slot);
}

/* Scores the n rendered masks; scores of candidates not reached stay NaN. */
static decam_status evaluate(search *s, size_t n) {
    run *r = s->r;
    for (size_t i = 0; i < s->np; i++)
        s->score_keep[i] = s->score_drop[i] = NAN;
    const size_t images = n * (size_t)s->per_candidate;
    for (size_t done = 0; done < images;) {
        size_t m = r->batch.cap - r->batch.fill;
        if (m > images - done) m = images - done;
        for (size_t k = 0; k < m; k++) {
            size_t g = done + k, cand = g / (size_t)s->per_candidate;
            r->dest[k] = image_drops(s, g) ? &s->score_drop[cand] : &s->score_keep[cand];
        }
        s->fill_first = done;
        FORWARD_IF_ERROR(decam__batcher_fill(&r->batch, m, fill_image, s, r->dest));
        done += m;
    }
    return decam__batcher_flush(&r->batch);
}

/* ---- fitness --------------------------------------------------------- */

static double mean_gene(const double *g, size_t dim) {
    double sum = 0.0;
    for (size_t j = 0; j < dim; j++)
        sum += g[j];
    return sum / (double)dim;
}

/* Mean absolute difference of horizontally and vertically adjacent genes. */
static double total_variation(const double *g, int gw, int gh) {
    double sum = 0.0;
    int pairs = gh * (gw - 1) + gw * (gh - 1);
    if (pairs == 0) return 0.0;
    for (int y = 0; y < gh; y++)
        for (int x = 0; x < gw; x++) {
            double v = g[y * gw + x];
            if (x + 1 < gw) sum += fabs(v - g[y * gw + x + 1]);
            if (y + 1 < gh) sum += fabs(v - g[(y + 1) * gw + x]);
        }
    return sum / pairs;
}

/* The score part of candidate i's fitness: what the map is built from.
 * NaN if the candidate was not fully scored. */
static double score_term(const search *s, size_t i) {
    const double full = s->r->score_full;
    switch (s->objective) {
    case DECAM_OBJECTIVE_PRESERVE: return s->score_keep[i];
    case DECAM_OBJECTIVE_DELETE: return full - s->score_drop[i];
    case DECAM_OBJECTIVE_BOTH: return s->score_keep[i] + full - s->score_drop[i];
    case DECAM_OBJECTIVE_COUNT: break;
    }
    return NAN;
}

/* Adds the masks of candidates 0..count-1 to the pixel sums of image rows
 * first..last-1, in candidate order per pixel. */
static void sum_pixels(void *job, size_t first, size_t last, int worker) {
    search *s = job;
    const size_t w = (size_t)s->r->shape.w;
    for (size_t i0 = 0; i0 < s->count; i0 += MASK_GROUP) {
        mask_group g = {.n = s->count - i0 < MASK_GROUP ? s->count - i0 : MASK_GROUP};
        for (size_t j = 0; j < g.n; j++) {
            g.u[j] = placed(s, i0 + j);
            g.grid[j] = grid_of(s, i0 + j);
        }
        decam__mask_group_begin(&g, s->scratch + (size_t)worker * worker_scratch(s));
        for (size_t y = first; y < last; y++)
            decam__cam_accum_masks(&s->pixels, y * w, w, decam__mask_group_row(&g, (int)y), w,
                                   s->weight + i0, g.n);
    }
}

/* Fitness of the scored candidates; returns how many leading candidates
 * were fully scored (all of them unless the run stopped midway). Each is
 * also added to the accumulators the assembly reads. */
static size_t assess(search *s, size_t n) {
    run *r = s->r;
    const double area_w = s->cfg->area_weight, tv_w = s->cfg->tv_weight;
    size_t done = 0;
    for (; done < n; done++) {
        const double *g = s->trials + done * s->dim;
        double w = score_term(s, done);
        if (isnan(w)) break;
        if (s->genes.dim) decam__cam_accum_add(&s->genes, g, w);
        if (s->pixels.dim) s->weight[done] = decam__cam_accum_score(&s->pixels, w);
        s->fitness[done] = w - area_w * mean_gene(g, s->dim) -
                           (tv_w > 0.0 ? tv_w * total_variation(g, s->gw, s->gh) : 0.0);
    }
    s->count = done;
    if (s->pixels.dim) decam__run_parallel(r, (size_t)r->shape.h, sum_pixels, s);
    return done;
}

/* ---- the search -------------------------------------------------------- */

static void init_population(search *s) {
    run *r = s->r;
    const search_config *c = s->cfg;
    switch (c->init) {
    case DECAM_INIT_UNIFORM: decam__de_init_uniform(s->de, &r->rng); break;
    case DECAM_INIT_LATIN_HYPERCUBE: decam__de_init_latin(s->de, &r->rng); break;
    case DECAM_INIT_PRIOR:
        decam__cam_grid_from_map(c->prior, c->prior_w, c->prior_h, s->gw, s->gh, s->grid);
        decam__de_init_around(s->de, &r->rng, s->grid, c->prior_spread);
        break;
    case DECAM_INIT_COUNT: break;
    }
}

/* Why the search should stop now, or DECAM_TERMINATION_NONE to go on. */
static decam_termination stop_reason(const search *s) {
    const run *r = s->r;
    const search_config *c = s->cfg;
    if (run_queries_left(r) < (uint64_t)s->per_candidate) return DECAM_TERMINATION_BUDGET;
    if (c->max_generations > 0 && r->stats->generations >= c->max_generations)
        return DECAM_TERMINATION_GENERATIONS;
    if (c->tolerance > 0 && decam__de_spread(s->de) <= c->tolerance)
        return DECAM_TERMINATION_TOLERANCE;
    return DECAM_TERMINATION_NONE;
}

/* Generations until a stopping rule fires. The last may be partial, so
 * the whole budget is used. */
static decam_status generations(search *s) {
    run *r = s->r;
    init_population(s);
    for (;;) {
        uint64_t affordable = run_queries_left(r) / (uint64_t)s->per_candidate;
        const size_t size = decam__de_size(s->de); /* L-SHADE shrinks it; s->np is the most */
        size_t n = affordable < size ? (size_t)affordable : size;
        prepare_masks(s, decam__de_trials(s->de), n);
        decam_status status = evaluate(s, n);
        size_t done = assess(s, n);
        double best = NAN;
        if (done > 0) {
            decam__de_tell(s->de, done, s->fitness);
            decam__de_best(s->de, &best);
            r->stats->best_fitness = best;
        }
        if (status != DECAM_OK) {
            r->stats->generations += done > 0; /* a partial generation counts */
            return status;
        }
        FORWARD_IF_ERROR(decam__run_progress(r, best, decam__de_mean_fitness(s->de)));
        r->stats->termination = stop_reason(s);
        if (r->stats->termination != DECAM_TERMINATION_NONE) return DECAM_OK;
        decam__de_ask(s->de, &r->rng);
    }
}

/* The grid map from the search, per DECAM_PARAM_ASSEMBLY (not
 * DECAM_ASSEMBLY_ALL_EVALUATED, which is per pixel). */
static decam_status assemble_grid(search *s) {
    switch (s->cfg->assembly) {
    case DECAM_ASSEMBLY_BEST: {
        const double *best = decam__de_best(s->de, NULL);
        for (size_t j = 0; j < s->dim; j++)
            s->grid[j] = best[j];
        break;
    }
    case DECAM_ASSEMBLY_POPULATION:
        decam__cam_grid_from_population(decam__de_population(s->de), decam__de_fitness(s->de),
                                        decam__de_size(s->de), s->dim, s->grid);
        break;
    case DECAM_ASSEMBLY_ALL_EVALUATED: break;
    case DECAM_ASSEMBLY_REGRESSION:
        RUN_FAIL_IF(
            decam__cam_grid_from_regression(&s->genes, s->cfg->ridge, s->r->mem, s->grid) != 0,
            s->r, DECAM_ERR_OUT_OF_MEMORY, "decam_explain: out of memory for the regression");
        break;
    case DECAM_ASSEMBLY_COUNT: break;
    }
    return DECAM_OK;
}

/* The map of the queries made: r->map and the raw map. */
static decam_status assemble(search *s) {
    run *r = s->r;
    if (s->pixels.dim) {
        /* The contrast per pixel, computed in place of the sums' first. */
        double *contrast = s->pixels.sum_wg;
        decam__cam_contrast(&s->pixels, contrast);
        decam__run_fit_float(r, contrast, r->hw);
        for (size_t i = 0; i < r->hw; i++)
            r->map[i] = (float)contrast[i];
        return decam__run_keep_raw(r, contrast, r->shape.w, r->shape.h);
    }
    for (size_t j = 0; j < s->dim; j++)
        s->grid[j] = 0.0;
    if (r->stats->generations > 0) FORWARD_IF_ERROR(assemble_grid(s));
    decam__run_fit_float(r, s->grid, s->dim);
    FORWARD_IF_ERROR(decam__run_keep_raw(r, s->grid, s->gw, s->gh));
    decam__upsample(&s->up, s->grid, s->scratch, r->map, 0);
    return DECAM_OK;
}

decam_status decam__search_run(run *r, const search_config *cfg) {
    search s = {.r = r, .cfg = cfg};
    s.gw = cfg->gw;
    s.gh = cfg->gh;
    s.dim = (size_t)s.gw * s.gh;
    s.np = cfg->de.np;
    s.objective = cfg->objective;
    s.per_candidate = s.objective == DECAM_OBJECTIVE_BOTH ? 2 : 1;
    s.binary = cfg->binary;
    s.shifted = cfg->shifted;
    s.cell_w = (r->shape.w + s.gw - 1) / s.gw;
    s.cell_h = (r->shape.h + s.gh - 1) / s.gh;
    s.canvas_w = (s.gw + 1) * s.cell_w;
    s.canvas_h = (s.gh + 1) * s.cell_h;
    decam_status status = search_allocate(&s);
    if (status == DECAM_OK) status = generations(&s);
    if (status == DECAM_OK || status == DECAM_ERR_CANCELLED) {
        /* The map of the queries made, also after a cancellation. */
        decam_status kept = assemble(&s);
        if (kept != DECAM_OK) status = kept;
    }
    search_release(&s);
    return status;
}

/* ---- the table row --------------------------------------------------- */

void decam__search_configure(const double *p, const method_inputs *in, search_config *cfg) {
    *cfg = (search_config){
        .gw = (int)p[PS_GRID_WIDTH],
        .gh = (int)p[PS_GRID_HEIGHT],
        .de =
            {
                .dim = (size_t)p[PS_GRID_WIDTH] * (size_t)p[PS_GRID_HEIGHT],
                .np = (size_t)p[PS_POPULATION],
                .strategy = (decam_strategy)p[PS_STRATEGY],
                .f = p[PS_F],
                .f_dither = p[PS_F_DITHER],
                .cr = p[PS_CR],
                .pbest = p[PS_PBEST],
                .memory = (size_t)p[PS_SHADE_MEMORY],
            },
        .objective = (decam_objective)p[PS_OBJECTIVE],
        .binary = p[PS_BINARY_MASKS] != 0,
        .shifted = p[PS_MASK_SHIFT] != 0,
        .upsample = (decam_upsample)p[PS_UPSAMPLE],
        .assembly = (decam_assembly)p[PS_ASSEMBLY],
        .init = (decam_init)p[PS_INIT],
        .area_weight = p[PS_AREA_WEIGHT],
        .tv_weight = p[PS_TV_WEIGHT],
        .prior_spread = p[PS_PRIOR_SPREAD],
        .prior = in ? in->prior : NULL,
        .prior_w = in ? in->prior_w : 0,
        .prior_h = in ? in->prior_h : 0,
        .max_generations = p[PS_MAX_GENERATIONS],
        .tolerance = p[PS_TOLERANCE],
        .ridge = p[PS_RIDGE],
    };
}

static uint64_t row_min_queries(const double *p, int width, int height) {
    (void)width;
    (void)height;
    search_config cfg;
    decam__search_configure(p, NULL, &cfg);
    return decam__search_min_queries(&cfg);
}

/* Default: a whole generation per call, and never more. */
static size_t row_batch_cap(const double *p) {
    size_t generation =
        (size_t)p[PS_POPULATION] * (p[PS_OBJECTIVE] == DECAM_OBJECTIVE_BOTH ? 2 : 1);
    return decam__method_batch_size(p, generation, generation);
}

static const char *row_check(const double *p, const method_inputs *in) {
    if (p[PS_INIT] == DECAM_INIT_PRIOR && !in->prior)
        return "init = prior, but no prior map is set (decam_set_prior_map)";
    return NULL;
}

static decam_status row_run(run *r, const double *p, const method_inputs *in) {
    search_config cfg;
    decam__search_configure(p, in, &cfg);
    return decam__search_run(r, &cfg);
}

const method_info decam__method_decam = {
    .name = "decam",
    .min_queries = row_min_queries,
    .min_queries_what = "one generation (population x queries per candidate) + 3",
    .batch_cap = row_batch_cap,
    .check = row_check,
    .run = row_run,
};
