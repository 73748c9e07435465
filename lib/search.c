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
 *
 * The search runs in stages (experimental parameters, all off by
 * default, when it is one stage: DE on the grid): a prior pass of random
 * binary masks whose map seeds DE, an exploring phase of Latin hypercube
 * candidates whose best start DE, and DE on grids that refine at fixed
 * shares of the budget, each carrying the population over resampled. Every
 * stage's masks enter the same per-pixel sums, whatever their grid.
 *
 * After the searches, by default at 224 pixels, the removal refinement
 * tests what removing windows costs, and its last queries go to the
 * deletion steps: greedily, the cell whose deletion (on top of the cells
 * already deleted) lowers the score most, which the final map ranks
 * first, as the deletion curve will remove them.
 */
#include <math.h>
#include <stdint.h>

#include "search.h"

#include "cam.h"
#include "filter.h"

/* A stage of the search: what makes its candidates, on which grid, and
 * the method's queries at which it ends (the last one ends with the
 * budget). */
typedef enum stage_kind {
    STAGE_RANDOM,  /* the prior pass: random binary masks */
    STAGE_EXPLORE, /* Latin hypercube candidates; the best become DE's population */
    STAGE_DE,
    STAGE_REMOVE, /* the removal refinement: windows replaced by the baseline */
    STAGE_DELETE  /* the deletion steps: cells deleted in turn, greedily */
} stage_kind;

/* How a DE stage's first generation is made. */
typedef enum stage_start {
    START_CARRY, /* from the stage before, as next_stage() says */
    START_FRESH, /* a fresh first generation (DECAM_PARAM_INIT) */
    START_BEST   /* around the previous search's best candidate */
} stage_start;

typedef struct stage {
    stage_kind kind;
    int gw, gh;
    uint64_t until;
    int follow;        /* the target whose score term the fitness reads; -1: cfg.follow's */
    stage_start start; /* DE: its first generation */
    int exact;         /* ends exactly at `until`, as non-DE stages do */
} stage;

/* A window of the removal refinement, in pixels: [x0, x1) x [y0, y1). */
typedef struct window {
    int x0, y0, x1, y1;
    double priority; /* what its parent's removal cost, shared out by the map, says */
} window;

/* The side under which windows are not halved: half a cell, 2 at least. */
static int removal_min_side(int w, int gw) {
    const int half_cell = (w + gw - 1) / gw / 2;
    return half_cell > 2 ? half_cell : 2;
}

/* The coarse partition: about three cells a side. */
static int removal_first_cells(int g) { return (g + 2) / 3; }

/* A window's halves: 2 x 2, or 1 along a side of one pixel. */
static int halves(int side) { return side >= 2 ? 2 : 1; }

/* The windows of a ww x wh window's tree of halvings, itself included:
 * it is halved while its longer side exceeds min_side. */
static uint64_t window_tree(int ww, int wh, int min_side) {
    uint64_t n = 1;
    if ((ww > wh ? ww : wh) <= min_side) return n;
    const int hx = halves(ww), hy = halves(wh);
    for (int j = 0; j < hy; j++)
        for (int i = 0; i < hx; i++)
            n += window_tree((i + 1) * ww / hx - i * ww / hx, (j + 1) * wh / hy - j * wh / hy,
                             min_side);
    return n;
}

/* Every window the refinement can test: the coarse partition's trees. */
static uint64_t removal_tree(int w, int h, int gw, int gh) {
    const int nx = removal_first_cells(gw), ny = removal_first_cells(gh);
    const int min_side = removal_min_side(w < h ? w : h, w < h ? gw : gh);
    uint64_t tree = 0;
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++)
            tree += window_tree((i + 1) * w / nx - i * w / nx, (j + 1) * h / ny - j * h / ny,
                                min_side);
    return tree;
}

/* The cells the deletion steps choose among: DELETION_CELLS, no more than
 * the grid has or a step can score at once. */
static size_t deletion_candidates(const search_config *c) {
    size_t n = (size_t)c->deletion_cells;
    const size_t cells = (size_t)c->gw * c->gh;
    n = n < cells ? n : cells;
    return n < c->de.np ? n : c->de.np;
}

/* The queries of the deletion steps inside `removing`, the removal's: a
 * step scores every candidate not yet chosen (n, n - 1, ...), and the
 * steps take 3/5 of it at most, the windows the rest. */
static uint64_t deletion_queries(const search_config *c, uint64_t removing) {
    const uint64_t n = deletion_candidates(c), most = removing * 3 / 5;
    uint64_t q = 0;
    for (uint64_t j = 0; j < (uint64_t)c->deletion_steps && j < n && q + n - j <= most; j++)
        q += n - j;
    return q;
}

/* The removal refinement's state (STAGE_REMOVE). */
typedef struct removal {
    double *map;      /* hw: target 0's map from the search, scaled to [0,1] */
    window *pending;  /* windows not yet tested */
    size_t n_pending, pending_cap;
    window *tested;   /* windows tested, in order */
    double *cost;     /* tested_cap * targets: s(I) - s(window removed) */
    size_t n_tested, tested_cap;
    window *batch;    /* np: the windows of the step being scored */
    int min_side;
} removal;

/* The deletion steps' state (STAGE_DELETE). */
typedef struct deletion {
    window *cells;          /* the candidates: the map's highest cells, highest first */
    size_t n_cells;
    unsigned char *deleted; /* n_cells: chosen already */
    size_t *order, chosen;  /* the cells chosen, in turn */
    size_t *batch, n_batch; /* the candidates of the step being scored */
} deletion;

/* DE-CAM's state for one run, allocated at its start. */
typedef struct search {
    run *r;
    search_config cfg;
    stage *stages;
    int n_stages, at; /* the stages; the current one */
    uint64_t q0;      /* the run's queries when the search started */
    int gw, gh;       /* the current stage's grid */
    size_t dim, np;
    size_t targets; /* maps: the search follows the first */
    decam_objective objective;
    int per_candidate;      /* queries: 1, or 2 for DECAM_OBJECTIVE_BOTH */
    int binary, shifted;    /* DECAM_PARAM_BINARY_MASKS, DECAM_PARAM_MASK_SHIFT */
    int cell_w, cell_h;     /* a shift is less than a cell */
    int canvas_w, canvas_h; /* shifted masks span (grid + 1) cells, as RISE's */
    de *de;
    cam_accum *genes;  /* per target, per gene: for DECAM_ASSEMBLY_REGRESSION */
    cam_accum *pixels; /* per target, per pixel: for DECAM_ASSEMBLY_ALL_EVALUATED */
    upsampler up;      /* the grid over the image: unshifted masks, grid maps */
    upsampler canvas;  /* the grid over the canvas, for shifted masks */
    float *scratch;    /* threads * worker_scratch() */
    const double *trials;
    double *cells;    /* np * dim: with binary masks, each candidate's mask grid */
    int *shifts;      /* np * 2: each candidate's shift */
    size_t count;     /* candidates of the generation scored (the leading ones) */
    double *scores;   /* np * per_candidate * targets: the generation's, as the run stores them */
    double *fitness;  /* per candidate */
    double *weight;   /* targets * np: each mask's weight in each target's pixel sums */
    double *grid;     /* dim: the assembled grid map */
    cam_accum *drops; /* DECAM_PARAM_FUSE_GAMES: per target, the removed-region game's sums */
    double *weight_drop;     /* targets * np: the masks' weights in them */
    float *black;            /* DECAM_PARAM_DROP_BLACK: the removed-region images' baseline */
    double *pool, *pool_fit; /* STAGE_EXPLORE: the best np candidates so far */
    size_t pooled;
    removal *rm;              /* STAGE_REMOVE */
    uint64_t removal_windows; /* every window it can test (plan_stages) */
    deletion *del;            /* STAGE_DELETE */
} search;

/* Masks are never stored whole: the fill makes each one a row at a time
 * inside the blend (mask_compose_grid), and the pixel sums make them again
 * when the scores are back (mask_group). */
static size_t worker_scratch(const search *s) { return decam__mask_group_scratch(&s->up); }

uint64_t decam__search_min_queries(const search_config *cfg) {
    uint64_t per = cfg->objective == DECAM_OBJECTIVE_BOTH ? 2 : 1;
    return (uint64_t)cfg->de.np * per + RUN_FIXED_QUERIES;
}

/* What depends on the grid: the engine, the upsamplers, the scratch and
 * the per-candidate grids. Made for each stage's grid (after
 * free_grid_parts()); the first stage's is the only one by default. */
static decam_status allocate_grid_parts(search *s, int gw, int gh) {
    const decam_allocator *a = s->r->mem;
    const int w = s->r->shape.w, h = s->r->shape.h, threads = s->r->threads;
    s->gw = gw;
    s->gh = gh;
    s->dim = (size_t)gw * gh;
    s->cell_w = (w + gw - 1) / gw;
    s->cell_h = (h + gh - 1) / gh;
    s->canvas_w = (gw + 1) * s->cell_w;
    s->canvas_h = (gh + 1) * s->cell_h;
    de_config cfg = s->cfg.de;
    cfg.dim = s->dim;
    cfg.np = s->np;
    cfg.max_evals = run_queries_left(s->r) / (uint64_t)s->per_candidate; /* L-SHADE's schedule */
    s->de = decam__de_create(&cfg, a);
    const decam_upsample method = s->cfg.upsample;
    int failed =
        !s->de || decam__upsampler_init(&s->up, a, gw, gh, w, h, method) != 0 ||
        (s->shifted && decam__upsampler_init_canvas(&s->canvas, a, gw, gh, w, h, s->canvas_w,
                                                    s->canvas_h, method) != 0);
    if (!failed) {
        s->scratch = mem_alloc(a, (size_t)threads, worker_scratch(s) * sizeof *s->scratch);
        s->cells = mem_alloc(a, s->np * s->dim, sizeof *s->cells);
        s->grid = mem_alloc(a, s->dim, sizeof *s->grid);
        failed = !s->scratch || !s->cells || !s->grid;
    }
    RUN_FAIL_IF(failed, s->r, DECAM_ERR_OUT_OF_MEMORY,
                "decam_explain: out of memory for the search (grid %d x %d, population %zu)", gw,
                gh, s->np);
    return DECAM_OK;
}

static void free_grid_parts(search *s) {
    const decam_allocator *a = s->r->mem;
    decam__de_free(s->de, a);
    decam__upsampler_free(&s->up, a);
    decam__upsampler_free(&s->canvas, a);
    mem_free(a, s->scratch);
    mem_free(a, s->cells);
    mem_free(a, s->grid);
    s->de = NULL;
    s->up = s->canvas = (upsampler){0};
    s->scratch = NULL;
    s->cells = s->grid = NULL;
}

static decam_status search_allocate(search *s) {
    const decam_allocator *a = s->r->mem;
    const size_t hw = s->r->hw, k = s->targets;
    const decam_assembly assembly = s->cfg.assembly;
    int failed = 0;
    if (assembly == DECAM_ASSEMBLY_REGRESSION) {
        s->genes = mem_calloc(a, k, sizeof *s->genes);
        failed = !s->genes;
        for (size_t t = 0; !failed && t < k; t++)
            failed = decam__cam_accum_init(&s->genes[t], a, (size_t)s->cfg.gw * s->cfg.gh, 1) != 0;
    }
    if (!failed && assembly == DECAM_ASSEMBLY_ALL_EVALUATED) {
        s->pixels = mem_calloc(a, k, sizeof *s->pixels);
        failed = !s->pixels;
        for (size_t t = 0; !failed && t < k; t++)
            failed = decam__cam_accum_init(&s->pixels[t], a, hw, 0) != 0;
    }
    if (!failed && assembly == DECAM_ASSEMBLY_ALL_EVALUATED && s->cfg.fuse) {
        s->drops = mem_calloc(a, k, sizeof *s->drops);
        s->weight_drop = mem_alloc(a, s->np * k, sizeof *s->weight_drop);
        failed = !s->drops || !s->weight_drop;
        for (size_t t = 0; !failed && t < k; t++)
            failed = decam__cam_accum_init(&s->drops[t], a, hw, 0) != 0;
    }
    if (!failed && s->cfg.drop_black) { /* also the removal refinement's baseline */
        s->black = mem_calloc(a, s->r->values, sizeof *s->black);
        failed = !s->black;
    }
    size_t explored_dim = 0; /* genes of the exploring stage's grid, not always the last's */
    for (int i = 0; i < s->n_stages; i++)
        if (s->stages[i].kind == STAGE_EXPLORE)
            explored_dim = (size_t)s->stages[i].gw * s->stages[i].gh;
    if (!failed && explored_dim > 0) {
        s->pool = mem_alloc(a, s->np * explored_dim, sizeof *s->pool);
        s->pool_fit = mem_alloc(a, s->np, sizeof *s->pool_fit);
        failed = !s->pool || !s->pool_fit;
    }
    if (!failed) {
        s->shifts = mem_calloc(a, s->np * 2, sizeof *s->shifts);
        s->scores = mem_alloc(a, s->np * (size_t)s->per_candidate * k, sizeof *s->scores);
        s->fitness = mem_alloc(a, s->np, sizeof *s->fitness);
        s->weight = mem_alloc(a, s->np * k, sizeof *s->weight);
        failed = !s->shifts || !s->scores || !s->fitness || !s->weight;
    }
    RUN_FAIL_IF(failed, s->r, DECAM_ERR_OUT_OF_MEMORY,
                "decam_explain: out of memory for the search (population %zu)", s->np);
    return DECAM_OK;
}

static void free_accums(cam_accum *acc, size_t k, const decam_allocator *a) {
    for (size_t t = 0; acc && t < k; t++)
        decam__cam_accum_free(&acc[t], a);
    mem_free(a, acc);
}

static void search_release(run *r) {
    search *s = r->state;
    if (!s) return;
    const decam_allocator *a = r->mem;
    free_grid_parts(s);
    free_accums(s->genes, s->targets, a);
    free_accums(s->pixels, s->targets, a);
    free_accums(s->drops, s->targets, a);
    mem_free(a, s->weight_drop);
    mem_free(a, s->black);
    mem_free(a, s->pool);
    mem_free(a, s->pool_fit);
    mem_free(a, s->shifts);
    mem_free(a, s->scores);
    mem_free(a, s->fitness);
    mem_free(a, s->weight);
    if (s->rm) {
        mem_free(a, s->rm->map);
        mem_free(a, s->rm->pending);
        mem_free(a, s->rm->tested);
        mem_free(a, s->rm->cost);
        mem_free(a, s->rm->batch);
        mem_free(a, s->rm);
    }
    if (s->del) {
        mem_free(a, s->del->cells);
        mem_free(a, s->del->deleted);
        mem_free(a, s->del->order);
        mem_free(a, s->del->batch);
        mem_free(a, s->del);
    }
    mem_free(a, s->stages);
    mem_free(a, s);
    r->state = NULL;
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

static void fill_image(void *job, size_t g, float *slot, int worker) {
    search *s = job;
    const run *r = s->r;
    size_t cand = g / (size_t)s->per_candidate;
    const upsampler u = placed(s, cand);
    const int drops = image_drops(s, g);
    const float *base = drops && s->black ? s->black : r->base;
    decam__mask_compose_grid(&r->shape, r->image, base, &u, grid_of(s, cand),
                             s->scratch + (size_t)worker * worker_scratch(s), drops, slot);
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

/* The score part of candidate i's fitness for target t: what the maps
 * are built from. NaN if the candidate was not fully scored. */
static double score_term(const search *s, size_t i, size_t t) {
    const size_t k = s->targets;
    const double full = s->r->score_full[t];
    switch (s->objective) {
    case DECAM_OBJECTIVE_PRESERVE: return s->scores[i * k + t];
    case DECAM_OBJECTIVE_DELETE: return full - s->scores[i * k + t];
    case DECAM_OBJECTIVE_BOTH:
        return s->scores[2 * i * k + t] + full - s->scores[(2 * i + 1) * k + t];
    case DECAM_OBJECTIVE_COUNT: break;
    }
    return NAN;
}

/* The score part of candidate i's fitness: the first target's, or with
 * DECAM_FOLLOW_ALL the mean over targets of each one's term relative to
 * its full-image score, so that a mask that loses any target pays. */
static double followed_term(const search *s, size_t i) {
    const int follow = s->stages[s->at].follow;
    if (follow >= 0) return score_term(s, i, (size_t)follow);
    if (s->cfg.follow != DECAM_FOLLOW_ALL || s->targets == 1) return score_term(s, i, 0);
    double sum = 0.0;
    for (size_t t = 0; t < s->targets; t++) {
        const double full = fabs(s->r->score_full[t]);
        sum += score_term(s, i, t) / (full > 0.0 ? full : 1.0);
    }
    return sum / (double)s->targets;
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
        for (size_t y = first; y < last; y++) {
            const float *row = decam__mask_group_row(&g, (int)y);
            for (size_t t = 0; t < s->targets; t++) {
                decam__cam_accum_masks(&s->pixels[t], y * w, w, row, w, s->weight + t * s->np + i0,
                                       g.n);
                if (s->drops)
                    decam__cam_accum_masks(&s->drops[t], y * w, w, row, w,
                                           s->weight_drop + t * s->np + i0, g.n);
            }
        }
    }
}

/* Fitness of the scored candidates (of the first target); returns how
 * many leading candidates were fully scored (all of them unless the run
 * stopped midway). Each is also added to every target's accumulators. */
static size_t assess(search *s, size_t n) {
    run *r = s->r;
    const double area_w = s->cfg.area_weight, tv_w = s->cfg.tv_weight;
    size_t done = 0;
    for (; done < n; done++) {
        const double *g = s->trials + done * s->dim;
        if (isnan(score_term(s, done, 0))) break;
        for (size_t t = 0; t < s->targets; t++) {
            double w = score_term(s, done, t);
            if (s->genes) decam__cam_accum_add(&s->genes[t], g, w);
            if (s->drops) {
                /* The two games apart: the kept image's score, and the
                 * removed region's effect, s(I) - s(drop). */
                const size_t k = s->targets, i = done;
                s->weight[t * s->np + i] =
                    decam__cam_accum_score(&s->pixels[t], s->scores[2 * i * k + t]);
                s->weight_drop[t * s->np + i] = decam__cam_accum_score(
                    &s->drops[t], s->r->score_full[t] - s->scores[(2 * i + 1) * k + t]);
            } else if (s->pixels) {
                s->weight[t * s->np + done] = decam__cam_accum_score(&s->pixels[t], w);
            }
        }
        const double area = mean_gene(g, s->dim);
        const double target = s->cfg.keep_target;
        s->fitness[done] = followed_term(s, done) -
                           area_w * (target > 0.0 ? fabs(area - target) : area) -
                           (tv_w > 0.0 ? tv_w * total_variation(g, s->gw, s->gh) : 0.0);
    }
    s->count = done;
    if (s->pixels) decam__run_parallel(r, (size_t)r->shape.h, sum_pixels, s);
    return done;
}

/* ---- the search -------------------------------------------------------- */

static void init_population(search *s) {
    run *r = s->r;
    const search_config *c = &s->cfg;
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

static size_t room(const search *s);

/* Why the search should stop now, or DECAM_TERMINATION_NONE to go on. */
static decam_termination stop_reason(const search *s) {
    const run *r = s->r;
    const search_config *c = &s->cfg;
    if (run_queries_left(r) < (uint64_t)s->per_candidate) return DECAM_TERMINATION_BUDGET;
    if (c->max_generations > 0 && r->stats.generations >= c->max_generations)
        return DECAM_TERMINATION_GENERATIONS;
    if (s->stages[s->at].kind == STAGE_REMOVE && s->rm->n_pending == 0) /* not reached: */
        return DECAM_TERMINATION_BUDGET; /* the stage's queries are at most its windows */
    if (s->stages[s->at].kind == STAGE_DELETE && room(s) == 0) /* not reached either: */
        return DECAM_TERMINATION_BUDGET; /* its queries are its steps' (deletion_queries) */
    if (c->tolerance > 0 && s->stages[s->at].kind == STAGE_DE &&
        decam__de_spread(s->de) <= c->tolerance)
        return DECAM_TERMINATION_TOLERANCE;
    return DECAM_TERMINATION_NONE;
}

/* ---- stages -------------------------------------------------------------- */

/* The method's queries so far. */
static uint64_t spent(const search *s) { return s->r->queries - s->q0; }

/* Candidates the current stage may still have scored in one step: a
 * generation, or less when the budget, or the end of a prior pass or an
 * exploring phase (which end exactly where they are told to), is nearer. */
static size_t room(const search *s) {
    const stage *st = &s->stages[s->at];
    uint64_t q = run_queries_left(s->r);
    if ((st->kind != STAGE_DE || st->exact) && s->at + 1 < s->n_stages) {
        uint64_t to_end = st->until > spent(s) ? st->until - spent(s) : 0;
        q = to_end < q ? to_end : q;
    }
    if (st->kind == STAGE_DELETE) { /* a query per cell not yet chosen, until the last step */
        const deletion *d = s->del;
        const size_t most = d->chosen < (size_t)s->cfg.deletion_steps ? d->n_cells - d->chosen : 0;
        return q < most ? (size_t)q : most;
    }
    if (st->kind == STAGE_REMOVE) { /* a window per query, as many as are pending */
        const size_t most = s->rm->n_pending < s->np ? s->rm->n_pending : s->np;
        return q < most ? (size_t)q : most;
    }
    q /= (uint64_t)s->per_candidate;
    /* L-SHADE shrinks DE's population; s->np is the most. */
    const size_t most = st->kind == STAGE_DE ? decam__de_size(s->de) : s->np;
    return q < most ? (size_t)q : most;
}

/* Wants candidates 0..n-1 of `trials` scored. */
static void want_candidates(search *s, const double *trials, size_t n) {
    prepare_masks(s, trials, n);
    decam__run_want(s->r, n * (size_t)s->per_candidate, fill_image, s, s->scores);
}

/* Wants the next generation scored: all of it, or what the budget still
 * pays for, so the whole budget is used. */
static void want_generation(search *s) { want_candidates(s, decam__de_trials(s->de), room(s)); }

/* The prior pass's masks: each cell kept with probability PRIOR_PASS_KEEP,
 * drawn in candidate order. */
static void want_random_masks(search *s) {
    const size_t n = room(s);
    for (size_t i = 0; i < n * s->dim; i++)
        s->cells[i] = decam__rng_uniform(&s->r->rng) < s->cfg.prior_pass_keep ? 1.0 : 0.0;
    want_candidates(s, s->cells, n);
}

/* Exploring: a fresh Latin hypercube sample of the engine's first
 * generation, which is never told. */
static void want_exploring(search *s) {
    decam__de_init_latin(s->de, &s->r->rng);
    want_generation(s);
}

/* Keeps the best np of the explored candidates (their genes and fitness),
 * from the `done` just scored. Ties keep the earlier. */
static void pool_take(search *s, size_t done) {
    for (size_t i = 0; i < done; i++) {
        size_t slot = s->pooled;
        if (s->pooled == s->np) {
            slot = 0;
            for (size_t j = 1; j < s->np; j++)
                if (s->pool_fit[j] < s->pool_fit[slot]) slot = j;
            if (!(s->fitness[i] > s->pool_fit[slot])) continue;
        } else {
            s->pooled++;
        }
        for (size_t j = 0; j < s->dim; j++)
            s->pool[slot * s->dim + j] = s->trials[i * s->dim + j];
        s->pool_fit[slot] = isnan(s->fitness[i]) ? -INFINITY : s->fitness[i];
    }
}

/* de.h has no "first generation from these rows": it is written where the
 * de_init_*() functions write it (the engine's trials, which the next tell
 * takes as the population), after decam__de_init_around() has restarted
 * the engine. That call also draws the random numbers the staged
 * variants' figures in docs/method.md section 10 were measured with, so
 * an init-from-rows in de.c that draws none would change those maps. */
static void set_first_generation(search *s, const double *rows, size_t n) {
    decam__de_init_around(s->de, &s->r->rng, rows, 0.0);
    double *trials = (double *)decam__de_trials(s->de);
    for (size_t i = 0; i < n * s->dim; i++)
        trials[i] = rows[i];
}

/* Bilinear resampling of a gw x gh gene grid to dw x dh, cell centres
 * aligned: a coarse mask carried to a finer grid keeps its shape. */
static void resample_genes(const double *src, int sw, int sh, double *dst, int dw, int dh) {
    for (int y = 0; y < dh; y++) {
        double fy = ((double)y + 0.5) * sh / dh - 0.5;
        fy = fy < 0 ? 0 : fy > sh - 1 ? sh - 1 : fy;
        int y0 = (int)fy, y1 = y0 + 1 < sh ? y0 + 1 : y0;
        double ty = fy - y0;
        for (int x = 0; x < dw; x++) {
            double fx = ((double)x + 0.5) * sw / dw - 0.5;
            fx = fx < 0 ? 0 : fx > sw - 1 ? sw - 1 : fx;
            int x0 = (int)fx, x1 = x0 + 1 < sw ? x0 + 1 : x0;
            double tx = fx - x0;
            double top = src[y0 * sw + x0] * (1 - tx) + src[y0 * sw + x1] * tx;
            double bottom = src[y1 * sw + x0] * (1 - tx) + src[y1 * sw + x1] * tx;
            dst[y * dw + x] = top * (1 - ty) + bottom * ty;
        }
    }
}

/* The grid prior of the map so far (target 0's per-pixel contrast,
 * area-averaged onto the grid and scaled to [0,1]) into s->grid. */
static decam_status grid_from_pixels(search *s) {
    run *r = s->r;
    double *contrast = mem_alloc(r->mem, r->hw, sizeof *contrast);
    float *map = mem_alloc(r->mem, r->hw, sizeof *map);
    if (contrast && map) {
        decam__cam_contrast(&s->pixels[0], contrast);
        decam__cam_fit_float(contrast, r->hw);
        for (size_t i = 0; i < r->hw; i++)
            map[i] = (float)contrast[i];
        decam__cam_grid_from_map(map, r->shape.w, r->shape.h, s->gw, s->gh, s->grid);
    }
    mem_free(r->mem, contrast);
    mem_free(r->mem, map);
    RUN_FAIL_IF(!contrast || !map, r, DECAM_ERR_OUT_OF_MEMORY,
                "decam_explain: out of memory for the prior pass's map");
    return DECAM_OK;
}

/* ---- the removal refinement ------------------------------------------- */

static void unit_range(double *v, size_t n);

/* The mean of a map `width` pixels wide over a window. */
static double window_mean(const double *map, int width, const window *w) {
    double sum = 0.0;
    for (int y = w->y0; y < w->y1; y++)
        for (int x = w->x0; x < w->x1; x++)
            sum += map[(size_t)y * width + x];
    return sum / ((double)(w->x1 - w->x0) * (w->y1 - w->y0));
}

/* Sets a window of an image (a copy of the run's) to `from`'s values
 * there, or to `value` when `from` is NULL. */
static void paint_window(const run *r, const window *win, const float *from, float value,
                         float *image) {
    const size_t w = (size_t)r->shape.w, c = (size_t)r->shape.c;
    for (size_t y = (size_t)win->y0; y < (size_t)win->y1; y++)
        for (size_t x = (size_t)win->x0; x < (size_t)win->x1; x++)
            for (size_t ch = 0; ch < c; ch++) {
                const size_t at = r->shape.layout == DECAM_LAYOUT_CHW ? ch * r->hw + y * w + x
                                                                      : (y * w + x) * c + ch;
                image[at] = from ? from[at] : value;
            }
}

/* The map so far of target 0, scaled to [0,1], and the coarse partition's
 * windows, all pending, to be tested first in order. */
static decam_status removal_begin(search *s) {
    run *r = s->r;
    const decam_allocator *a = r->mem;
    const int w = r->shape.w, h = r->shape.h;
    const int nx = removal_first_cells(s->gw), ny = removal_first_cells(s->gh);
    const uint64_t tree = s->removal_windows, left = run_queries_left(r);
    removal *rm = mem_calloc(a, 1, sizeof *rm);
    s->rm = rm;
    if (rm) {
        rm->tested_cap = (size_t)(left < tree ? left : tree);
        rm->pending_cap = (size_t)(tree < (uint64_t)nx * ny + 4 * (uint64_t)rm->tested_cap
                                       ? tree
                                       : (uint64_t)nx * ny + 4 * (uint64_t)rm->tested_cap);
        rm->map = mem_alloc(a, r->hw, sizeof *rm->map);
        rm->pending = mem_alloc(a, rm->pending_cap, sizeof *rm->pending);
        rm->tested = mem_alloc(a, rm->tested_cap ? rm->tested_cap : 1, sizeof *rm->tested);
        rm->cost = mem_alloc(a, (rm->tested_cap ? rm->tested_cap : 1) * s->targets,
                             sizeof *rm->cost);
        rm->batch = mem_alloc(a, s->np, sizeof *rm->batch);
    }
    RUN_FAIL_IF(!rm || !rm->map || !rm->pending || !rm->tested || !rm->cost || !rm->batch, r,
                DECAM_ERR_OUT_OF_MEMORY, "decam_explain: out of memory for the removal refinement");
    rm->min_side = removal_min_side(w < h ? w : h, w < h ? s->gw : s->gh);
    decam__cam_contrast(&s->pixels[0], rm->map);
    unit_range(rm->map, r->hw);
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++)
            rm->pending[rm->n_pending++] = (window){i * w / nx, j * h / ny, (i + 1) * w / nx,
                                                    (j + 1) * h / ny, INFINITY};
    return DECAM_OK;
}

/* Image g of a removal step: the image with window g replaced. */
static void fill_removal(void *job, size_t g, float *slot, int worker) {
    (void)worker;
    const search *s = job;
    const run *r = s->r;
    for (size_t i = 0; i < r->values; i++)
        slot[i] = r->image[i];
    paint_window(r, &s->rm->batch[g], s->black ? s->black : r->base, 0.0f, slot);
}

/* Wants the pending windows of highest priority tested (ties: the
 * earliest pending), as many as a step holds. */
static void want_removals(search *s) {
    removal *rm = s->rm;
    const size_t n = room(s);
    for (size_t b = 0; b < n; b++) {
        size_t top = 0;
        for (size_t i = 1; i < rm->n_pending; i++)
            if (rm->pending[i].priority > rm->pending[top].priority) top = i;
        rm->batch[b] = rm->pending[top];
        for (size_t i = top + 1; i < rm->n_pending; i++)
            rm->pending[i - 1] = rm->pending[i];
        rm->n_pending--;
    }
    decam__run_want(s->r, n, fill_removal, s, s->scores);
}

/* Records the n windows just tested, and makes their halves pending with
 * the parent's cost (target 0's) shared out as the search's map shares
 * it among them. Returns n. */
static size_t removal_take(search *s, size_t n) {
    removal *rm = s->rm;
    const size_t k = s->targets;
    for (size_t b = 0; b < n && rm->n_tested < rm->tested_cap; b++) {
        const window *win = &rm->batch[b];
        for (size_t t = 0; t < k; t++)
            rm->cost[rm->n_tested * k + t] = s->r->score_full[t] - s->scores[b * k + t];
        const double cost = rm->cost[rm->n_tested * k];
        rm->tested[rm->n_tested++] = *win;
        const int ww = win->x1 - win->x0, wh = win->y1 - win->y0;
        if ((ww > wh ? ww : wh) <= rm->min_side) continue;
        const int halves_x = halves(ww), halves_y = halves(wh);
        const double parent = window_mean(rm->map, s->r->shape.w, win);
        for (int j = 0; j < halves_y; j++)
            for (int i = 0; i < halves_x; i++) {
                if (rm->n_pending == rm->pending_cap) break;
                window child = {win->x0 + i * ww / halves_x, win->y0 + j * wh / halves_y,
                                win->x0 + (i + 1) * ww / halves_x,
                                win->y0 + (j + 1) * wh / halves_y, 0.0};
                const double share =
                    parent > 0.0 ? window_mean(rm->map, s->r->shape.w, &child) / parent : 1.0;
                child.priority = cost * share;
                rm->pending[rm->n_pending++] = child;
            }
    }
    return n;
}

/* Target t's final map from the search's (`keep`, its per-pixel contrast,
 * replaced): with REMOVAL_MIX 0 and 1, (1 - w) * it + w * the removal
 * map, both scaled to [0,1]; with 2, it + w * the removal map, both in
 * units of the score (their measured sizes weigh them). */
static decam_status removal_combine(search *s, size_t t, double *keep) {
    run *r = s->r;
    const removal *rm = s->rm;
    const size_t k = s->targets, width = (size_t)r->shape.w;
    if (rm->n_tested == 0) return DECAM_OK;
    float *removed = mem_calloc(r->mem, r->hw, sizeof *removed);
    RUN_FAIL_IF(!removed, r, DECAM_ERR_OUT_OF_MEMORY,
                "decam_explain: out of memory for the removal map");
    const int units = s->cfg.removal_mix == 2, agreement = s->cfg.removal_mix == 1;
    if (!units) unit_range(keep, r->hw);
    double sc = 0, sm = 0, scc = 0, smm = 0, scm = 0; /* agreement: the correlation's sums */
    for (size_t j = 0; j < rm->n_tested; j++) {
        const window *win = &rm->tested[j];
        const double cost = rm->cost[j * k + t];
        double mean = 0.0;
        for (size_t y = (size_t)win->y0; y < (size_t)win->y1; y++)
            for (size_t x = (size_t)win->x0; x < (size_t)win->x1; x++) {
                if (cost > 0.0) removed[y * width + x] += (float)cost;
                if (agreement) mean += keep[y * width + x];
            }
        if (!agreement) continue;
        mean /= (double)(win->x1 - win->x0) * (win->y1 - win->y0);
        sc += cost;
        sm += mean;
        scc += cost * cost;
        smm += mean * mean;
        scm += cost * mean;
    }
    /* Soft window edges: a Gaussian of removal_smoothing cells. */
    const double sigma = s->cfg.removal_smoothing * (double)r->shape.w / s->gw;
    const int failed = sigma > 0.0 && decam__filter_gaussian(r->mem, removed, r->shape.w,
                                                             r->shape.h, 1, 1, sigma) != 0;
    if (failed) mem_free(r->mem, removed);
    RUN_FAIL_IF(failed, r, DECAM_ERR_OUT_OF_MEMORY,
                "decam_explain: out of memory smoothing the removal map");
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < r->hw; i++) {
        lo = removed[i] < lo ? removed[i] : lo;
        hi = removed[i] > hi ? removed[i] : hi;
    }
    const double span = (double)hi - lo;
    double weight = s->cfg.removal_weight;
    if (agreement) {
        const double n = (double)rm->n_tested;
        const double vc = scc - sc * sc / n, vm = smm - sm * sm / n;
        const double rho = vc > 0.0 && vm > 0.0 ? (scm - sc * sm / n) / sqrt(vc * vm) : 0.0;
        weight = 1.0 / (1.0 + (rho > 0.0 ? rho : 0.0));
    }
    for (size_t i = 0; i < r->hw; i++)
        keep[i] = units ? keep[i] + weight * removed[i]
                        : (1.0 - weight) * keep[i] +
                              weight * (span > 0.0 && isfinite(span) ? (removed[i] - lo) / span
                                                                     : 0.0);
    mem_free(r->mem, removed);
    return DECAM_OK;
}

/* ---- the deletion steps ------------------------------------------------ */

/* Cell k (row-major) of a gw x gh grid over a w x h image. */
static window grid_cell(int w, int h, int gw, int gh, size_t k) {
    const int i = (int)(k % (size_t)gw), j = (int)(k / (size_t)gw);
    return (window){i * w / gw, j * h / gh, (i + 1) * w / gw, (j + 1) * h / gh, 0.0};
}

/* The candidates: the cells of the grid whose mean in target 0's map so
 * far (the search's and the removal's, as removal_combine makes it) is
 * highest, highest first (ties: the first in row order). */
static decam_status deletion_begin(search *s) {
    run *r = s->r;
    const decam_allocator *a = r->mem;
    const int w = r->shape.w, h = r->shape.h, gw = s->gw, gh = s->gh;
    const size_t cells = (size_t)gw * gh, n = deletion_candidates(&s->cfg);
    deletion *d = mem_calloc(a, 1, sizeof *d);
    s->del = d;
    double *map = mem_alloc(a, r->hw, sizeof *map), *mean = mem_alloc(a, cells, sizeof *mean);
    if (d) {
        d->cells = mem_alloc(a, n, sizeof *d->cells);
        d->deleted = mem_calloc(a, n, sizeof *d->deleted);
        d->order = mem_alloc(a, n, sizeof *d->order);
        d->batch = mem_alloc(a, n, sizeof *d->batch);
    }
    const int failed = !d || !map || !mean || !d->cells || !d->deleted || !d->order || !d->batch;
    decam_status status = DECAM_OK;
    if (!failed) {
        decam__cam_contrast(&s->pixels[0], map);
        status = removal_combine(s, 0, map);
    }
    if (!failed && status == DECAM_OK) {
        for (size_t c = 0; c < cells; c++) {
            const window cell = grid_cell(w, h, gw, gh, c);
            mean[c] = window_mean(map, w, &cell);
        }
        for (d->n_cells = 0; d->n_cells < n; d->n_cells++) {
            size_t top = 0;
            for (size_t c = 1; c < cells; c++)
                if (mean[c] > mean[top]) top = c;
            d->cells[d->n_cells] = grid_cell(w, h, gw, gh, top);
            mean[top] = -INFINITY;
        }
    }
    mem_free(a, map);
    mem_free(a, mean);
    FORWARD_IF_ERROR(status);
    RUN_FAIL_IF(failed, r, DECAM_ERR_OUT_OF_MEMORY,
                "decam_explain: out of memory for the deletion steps");
    return DECAM_OK;
}

/* Image b of a deletion step: the cells chosen so far and candidate b
 * deleted. */
static void fill_deletion(void *job, size_t b, float *slot, int worker) {
    (void)worker;
    const search *s = job;
    const run *r = s->r;
    const deletion *d = s->del;
    for (size_t i = 0; i < r->values; i++)
        slot[i] = r->image[i];
    for (size_t j = 0; j < d->chosen; j++)
        paint_window(r, &d->cells[d->order[j]], NULL, s->cfg.deletion_value, slot);
    paint_window(r, &d->cells[d->batch[b]], NULL, s->cfg.deletion_value, slot);
}

/* Wants every candidate not yet chosen tested (as many as a step holds). */
static void want_deletions(search *s) {
    deletion *d = s->del;
    const size_t n = room(s);
    d->n_batch = 0;
    for (size_t c = 0; c < d->n_cells && d->n_batch < n; c++)
        if (!d->deleted[c]) d->batch[d->n_batch++] = c;
    decam__run_want(s->r, d->n_batch, fill_deletion, s, s->scores);
}

/* Chooses, of the n candidates just scored, the one whose deletion left
 * target 0's score lowest (ties: the map's higher cell). Returns n. */
static size_t deletion_take(search *s, size_t n) {
    deletion *d = s->del;
    const size_t k = s->targets;
    if (n == 0) return 0;
    size_t best = 0;
    for (size_t b = 1; b < n; b++)
        if (s->scores[b * k] < s->scores[best * k]) best = b;
    d->deleted[d->batch[best]] = 1;
    d->order[d->chosen++] = d->batch[best];
    return n;
}

/* Target 0's final map: the chosen cells above every other pixel, in the
 * order chosen, each keeping its pixels' order. The map is scaled to
 * [0,1] first and the cells lifted into (1, 1.1]: above the rest, which
 * keeps its look, and no brighter than a tenth of the range more. */
static void deletion_combine(search *s, double *map) {
    const deletion *d = s->del;
    const size_t width = (size_t)s->r->shape.w;
    const double n = (double)d->chosen;
    unit_range(map, s->r->hw);
    for (size_t j = 0; j < d->chosen; j++) {
        const window *c = &d->cells[d->order[j]];
        for (size_t y = (size_t)c->y0; y < (size_t)c->y1; y++)
            for (size_t x = (size_t)c->x0; x < (size_t)c->x1; x++) {
                double *v = &map[y * width + x]; /* cell j in [n - j, n - j + 0.5] */
                *v = 1.0 + 0.1 * ((n - (double)j) + 0.5 * *v) / (n + 0.5);
            }
    }
}

/* Moves to stage s->at + 1: its grid, and for DE its first generation
 * (the population carried from a coarser grid, the explored best, or
 * the prior pass's map). Sets *ready when the engine's trials are the
 * next candidates; otherwise they come from an ask. */
static decam_status next_stage(search *s, int *ready) {
    run *r = s->r;
    const stage *from = &s->stages[s->at], *to = &s->stages[s->at + 1];
    const size_t np = s->np, old_dim = s->dim;
    double *carry = NULL;
    *ready = 1;
    if (from->kind == STAGE_DE && to->kind == STAGE_DE && to->start == START_BEST) {
        const double *best = decam__de_best(s->de, NULL); /* the same grid: no resampling */
        for (size_t j = 0; j < s->dim; j++)
            s->grid[j] = best[j];
    }
    if (from->kind == STAGE_DE && to->kind == STAGE_DE && to->start == START_CARRY) {
        carry = mem_alloc(r->mem, np * (size_t)to->gw * to->gh, sizeof *carry);
        RUN_FAIL_IF(!carry, r, DECAM_ERR_OUT_OF_MEMORY,
                    "decam_explain: out of memory refining the grid");
        /* L-SHADE may have shrunk the population below np: its rows are
         * carried in turn until the next grid's np rows are filled. */
        const double *pop = decam__de_population(s->de);
        const size_t rows = decam__de_size(s->de);
        for (size_t i = 0; i < np; i++)
            resample_genes(pop + (i % rows) * old_dim, s->gw, s->gh,
                           carry + i * (size_t)to->gw * to->gh, to->gw, to->gh);
    }
    s->at++;
    decam_status status = DECAM_OK;
    if (to->gw != s->gw || to->gh != s->gh) {
        free_grid_parts(s);
        status = allocate_grid_parts(s, to->gw, to->gh);
    }
    if (status == DECAM_OK && to->kind == STAGE_REMOVE) status = removal_begin(s);
    if (status == DECAM_OK && to->kind == STAGE_DELETE) status = deletion_begin(s);
    if (status == DECAM_OK && to->kind == STAGE_DE) {
        if (to->start == START_FRESH) {
            init_population(s);
        } else if (to->start == START_BEST) {
            decam__de_init_around(s->de, &r->rng, s->grid, s->cfg.prior_spread);
        } else if (carry) {
            set_first_generation(s, carry, np);
        } else if (from->kind == STAGE_EXPLORE && s->pooled > 0) {
            /* The explored best are the population, with the fitness they
             * were scored with: no query is spent again on them. */
            set_first_generation(s, s->pool, s->pooled);
            decam__de_tell(s->de, s->pooled, s->pool_fit);
            *ready = 0;
        } else if (from->kind == STAGE_RANDOM && s->pixels) {
            status = grid_from_pixels(s);
            if (status == DECAM_OK)
                decam__de_init_around(s->de, &r->rng, s->grid, s->cfg.prior_spread);
        } else {
            init_population(s);
        }
    }
    mem_free(r->mem, carry);
    FORWARD_IF_ERROR(status);
    decam__run_log(r, DECAM_LOG_DEBUG, "decam: stage %d of %d (%s, grid %d x %d) from query %llu",
                   s->at + 1, s->n_stages,
                   to->kind == STAGE_DE       ? "DE"
                   : to->kind == STAGE_RANDOM ? "prior pass"
                   : to->kind == STAGE_REMOVE ? "removal"
                   : to->kind == STAGE_DELETE ? "deletion"
                                              : "exploring",
                   to->gw, to->gh, (unsigned long long)r->queries);
    return DECAM_OK;
}

/* Wants the next candidates: from the next stage when this one is over,
 * else of this one. `ready`: the engine's trials are the next generation
 * already (the first, made by an init). */
static decam_status want_next(search *s, int ready) {
    for (;;) {
        const stage *st = &s->stages[s->at];
        int over = s->at + 1 < s->n_stages && (spent(s) >= st->until || room(s) == 0);
        if (!over) break;
        FORWARD_IF_ERROR(next_stage(s, &ready));
    }
    switch (s->stages[s->at].kind) {
    case STAGE_RANDOM: want_random_masks(s); break;
    case STAGE_EXPLORE: want_exploring(s); break;
    case STAGE_REMOVE: want_removals(s); break;
    case STAGE_DELETE: want_deletions(s); break;
    case STAGE_DE:
        if (!ready) decam__de_ask(s->de, &s->r->rng);
        want_generation(s);
        break;
    }
    return DECAM_OK;
}

static decam_status row_advance(run *r, size_t scored, int stopping) {
    search *s = r->state;
    const stage_kind kind = s->stages[s->at].kind;
    size_t done = kind == STAGE_REMOVE   ? removal_take(s, scored)
                  : kind == STAGE_DELETE ? deletion_take(s, scored)
                                         : assess(s, scored / (size_t)s->per_candidate);
    double best = NAN, mean = NAN;
    if (done > 0 && kind == STAGE_DE) {
        decam__de_tell(s->de, done, s->fitness);
        decam__de_best(s->de, &best);
        mean = decam__de_mean_fitness(s->de);
        r->stats.best_fitness = best;
    }
    if (kind == STAGE_EXPLORE) pool_take(s, done);
    if (stopping) {
        r->stats.generations += done > 0; /* a partial generation counts */
        return DECAM_OK;
    }
    FORWARD_IF_ERROR(decam__run_progress(r, best, mean));
    r->stats.termination = stop_reason(s);
    if (r->stats.termination != DECAM_TERMINATION_NONE) return DECAM_OK;
    return want_next(s, 0);
}

/* Target t's grid map from the search, per DECAM_PARAM_ASSEMBLY (not
 * DECAM_ASSEMBLY_ALL_EVALUATED, which is per pixel). Only the regression
 * has one per target; the others follow the search, and so the first. */
static decam_status assemble_grid(search *s, size_t t) {
    switch (s->cfg.assembly) {
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
            decam__cam_grid_from_regression(&s->genes[t], s->cfg.ridge, s->r->mem, s->grid) != 0,
            s->r, DECAM_ERR_OUT_OF_MEMORY, "decam_explain: out of memory for the regression");
        break;
    case DECAM_ASSEMBLY_COUNT: break;
    }
    return DECAM_OK;
}

/* Scales n values to [0,1] by their min and max (all 0 when constant). */
static void unit_range(double *v, size_t n) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    const double span = hi - lo;
    for (size_t i = 0; i < n; i++)
        v[i] = span > 0.0 && isfinite(span) ? (v[i] - lo) / span : 0.0;
}

/* DECAM_PARAM_FUSE_GAMES: the kept-region game's contrast (in `keep`) and
 * the removed-region game's, each scaled to [0,1], averaged (1) or
 * multiplied (2) into `keep`. */
static void fuse_games(search *s, size_t t, double *keep) {
    const size_t hw = s->r->hw;
    double *drop = s->drops[t].sum_wg;
    decam__cam_contrast(&s->drops[t], drop);
    unit_range(keep, hw);
    unit_range(drop, hw);
    for (size_t i = 0; i < hw; i++)
        keep[i] = s->cfg.fuse == 2 ? keep[i] * drop[i] : 0.5 * (keep[i] + drop[i]);
}

/* The maps of the queries made: r->map and the raw maps. */
static decam_status row_finish(run *r) {
    search *s = r->state;
    for (size_t t = 0; t < s->targets; t++) {
        float *map = r->map + t * r->hw;
        if (s->pixels) {
            /* The contrast per pixel, computed in place of the sums' first. */
            double *contrast = s->pixels[t].sum_wg;
            decam__cam_contrast(&s->pixels[t], contrast);
            if (s->drops) fuse_games(s, t, contrast);
            if (s->rm) FORWARD_IF_ERROR(removal_combine(s, t, contrast));
            if (s->del && t == 0) deletion_combine(s, contrast);
            decam__run_fit_float(r, contrast, r->hw);
            for (size_t i = 0; i < r->hw; i++)
                map[i] = (float)contrast[i];
            FORWARD_IF_ERROR(decam__run_keep_raw(r, t, contrast, r->shape.w, r->shape.h));
            continue;
        }
        for (size_t j = 0; j < s->dim; j++)
            s->grid[j] = 0.0;
        if (r->stats.generations > 0) FORWARD_IF_ERROR(assemble_grid(s, t));
        decam__run_fit_float(r, s->grid, s->dim);
        FORWARD_IF_ERROR(decam__run_keep_raw(r, t, s->grid, s->gw, s->gh));
        decam__upsample(&s->up, s->grid, s->scratch, map, 0);
    }
    return DECAM_OK;
}

/* The stages the config asks for, in order: the prior pass, exploring,
 * then DE on each grid of the refining schedule, the configured grid
 * last. The shares are of the method's queries (the budget less the
 * fixed three), counted from the search's start. */
static void plan_stages(search *s) {
    const search_config *c = &s->cfg;
    const double queries = (double)(s->r->budget - RUN_FIXED_QUERIES);
    stage *st = s->stages;
    int n = 0;
    if (c->prior_pass_queries > 0)
        st[n++] = (stage){.kind = STAGE_RANDOM, .gw = c->prior_pass_grid,
                          .gh = c->prior_pass_grid, .until = (uint64_t)c->prior_pass_queries};
    const int first_grid = c->coarse_grid > 0   ? c->coarse_grid
                           : c->middle_grid > 0 ? c->middle_grid
                                                : 0;
    if (c->explore_share > 0)
        st[n++] =
            (stage){.kind = STAGE_EXPLORE, .gw = first_grid ? first_grid : c->gw,
                    .gh = first_grid ? first_grid : c->gh,
                    .until = (uint64_t)llround(c->explore_share * queries)};
    if (c->coarse_grid > 0)
        st[n++] = (stage){.kind = STAGE_DE, .gw = c->coarse_grid, .gh = c->coarse_grid,
                          .until = (uint64_t)llround(c->coarse_share * queries)};
    if (c->middle_grid > 0)
        st[n++] = (stage){.kind = STAGE_DE, .gw = c->middle_grid, .gh = c->middle_grid,
                          .until = (uint64_t)llround(c->middle_share * queries)};
    /* The last grid's searches share what the stages before leave, less
     * the removal refinement's (at most every window it could test). */
    uint64_t removing = 0, deleting = 0;
    if (c->removal_share > 0) {
        const run *r = s->r;
        s->removal_windows = removal_tree(r->shape.w, r->shape.h, c->gw, c->gh);
        removing = (uint64_t)llround(c->removal_share * queries);
        removing = removing < s->removal_windows ? removing : s->removal_windows;
        deleting = deletion_queries(c, removing);
    }
    for (int i = 0; i < n; i++)
        st[i].follow = -1;
    const uint64_t from = n > 0 ? st[n - 1].until : 0;
    const uint64_t to = (uint64_t)queries - removing > from ? (uint64_t)queries - removing : from;
    const int each = c->follow == DECAM_FOLLOW_EACH && s->targets > 1;
    const size_t searches = (size_t)c->searches * (each ? s->targets : 1);
    for (size_t i = 0; i < searches; i++) {
        const int last = i + 1 == searches && removing == 0;
        st[n++] = (stage){
            .kind = STAGE_DE,
            .gw = c->gw,
            .gh = c->gh,
            .until = last ? UINT64_MAX : from + (to - from) * (i + 1) / searches,
            .follow = each ? (int)(i % s->targets) : -1,
            .start = i == 0 ? START_CARRY : c->restart_best ? START_BEST : START_FRESH,
            .exact = searches > 1 || removing > 0,
        };
    }
    if (removing > 0)
        st[n++] = (stage){.kind = STAGE_REMOVE, .gw = c->gw, .gh = c->gh,
                          .until = deleting > 0 ? to + removing - deleting : UINT64_MAX,
                          .follow = -1};
    if (deleting > 0)
        st[n++] = (stage){.kind = STAGE_DELETE, .gw = c->gw, .gh = c->gh, .until = UINT64_MAX,
                          .follow = -1};
    s->n_stages = n;
}

static decam_status search_start(run *r, const search_config *cfg) {
    search *s = mem_calloc(r->mem, 1, sizeof *s);
    RUN_FAIL_IF(!s, r, DECAM_ERR_OUT_OF_MEMORY, "decam_explain: out of memory for the search");
    r->state = s;
    *s = (search){.r = r, .cfg = *cfg};
    s->np = cfg->de.np;
    s->targets = r->targets;
    s->objective = cfg->objective;
    s->per_candidate = s->objective == DECAM_OBJECTIVE_BOTH ? 2 : 1;
    s->binary = cfg->binary;
    s->shifted = cfg->shifted;
    s->q0 = r->queries;
    const size_t searches = (size_t)cfg->searches *
                            (cfg->follow == DECAM_FOLLOW_EACH ? s->targets : 1);
    s->stages = mem_alloc(r->mem, searches + 6, sizeof *s->stages);
    RUN_FAIL_IF(!s->stages, r, DECAM_ERR_OUT_OF_MEMORY,
                "decam_explain: out of memory for the search's %zu stages", searches + 6);
    plan_stages(s);
    const stage *first = &s->stages[0];
    FORWARD_IF_ERROR(search_allocate(s));
    FORWARD_IF_ERROR(allocate_grid_parts(s, first->gw, first->gh));
    if (first->kind == STAGE_DE) init_population(s);
    return want_next(s, 1);
}

/* ---- the table row --------------------------------------------------- */

/* Cells along a side of `pixels`: the parameter, or when it is 0 cells of
 * about a twelfth of 224 pixels, 7 to 12 of them (decam.h, GRID_WIDTH). */
static int grid_side(double param, int pixels) {
    if (param > 0) return (int)param;
    const long cells = lround(pixels * 12.0 / 224.0);
    return cells < 7 ? 7 : cells > 12 ? 12 : (int)cells;
}

/* Where a default follows the grid, between what was measured at 7 cells a
 * side (64-pixel scenes) and at 12 (224-pixel photographs): 0 at 7 cells
 * or fewer, 1 at 12 or more, linear between, by the shorter side's. */
static double fineness(int gw, int gh) {
    const int cells = gw < gh ? gw : gh;
    return cells <= 7 ? 0.0 : cells >= 12 ? 1.0 : (cells - 7) / 5.0;
}

/* The blur that suits the grid: 16 pixels at 7 cells, 5 at 12 (decam.h,
 * BASELINE_SIGMA). */
static double row_blur_sigma(const double *p, int width, int height) {
    const double t = fineness(grid_side(p[PS_GRID_WIDTH], width),
                              grid_side(p[PS_GRID_HEIGHT], height));
    return 16.0 + t * (5.0 - 16.0);
}

/* The removal refinement's share: the parameter, or when it is -1 a fifth
 * of the queries at 12 cells, none at 7 (decam.h, REMOVAL_SHARE). */
static double removal_share(const double *p, int gw, int gh) {
    if (p[PS_REMOVAL_SHARE] >= 0) return p[PS_REMOVAL_SHARE];
    return p[PS_ASSEMBLY] == DECAM_ASSEMBLY_ALL_EVALUATED ? 0.2 * fineness(gw, gh) : 0.0;
}

/* The last grid's searches: the parameter, or when it is 0 two at 10
 * cells a side or more, one below, and one with FOLLOW = each (a search
 * per target already) or an assembly other than all_evaluated (decam.h,
 * SEARCHES). */
static int search_count(const double *p, int gw, int gh) {
    if (p[PS_SEARCHES] > 0) return (int)p[PS_SEARCHES];
    if (p[PS_ASSEMBLY] != DECAM_ASSEMBLY_ALL_EVALUATED || p[PS_FOLLOW] == DECAM_FOLLOW_EACH)
        return 1;
    return fineness(gw, gh) > 0.5 ? 2 : 1;
}

/* DE's population: the parameter, or when it is 0 one that follows the
 * genes, 48 at 7 cells a side and 96 at 12, linear between, but no more
 * than one search's queries (the removal refinement's left out; FOLLOW =
 * each's searches per target are not known here) and never under 48
 * (decam.h, POPULATION). */
enum { POPULATION_AT_7 = 48, POPULATION_AT_12 = 96 };
static size_t population(const double *p, int gw, int gh) {
    if (p[PS_POPULATION] > 0) return (size_t)p[PS_POPULATION];
    const double genes = POPULATION_AT_7 + fineness(gw, gh) * (POPULATION_AT_12 - POPULATION_AT_7);
    const double searching =
        floor((floor(p[PS_BUDGET] * (1.0 - removal_share(p, gw, gh))) - RUN_FIXED_QUERIES) /
              search_count(p, gw, gh));
    const double np = round(genes < searching ? genes : searching);
    return np > POPULATION_AT_7 ? (size_t)np : POPULATION_AT_7;
}

void decam__search_configure(const double *p, const method_inputs *in, search_config *cfg) {
    const int gw = grid_side(p[PS_GRID_WIDTH], in ? in->width : 0);
    const int gh = grid_side(p[PS_GRID_HEIGHT], in ? in->height : 0);
    *cfg = (search_config){
        .gw = gw,
        .gh = gh,
        .de =
            {
                .dim = (size_t)gw * (size_t)gh,
                .np = population(p, gw, gh),
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
        .follow = (decam_follow)p[PS_FOLLOW],
        .prior_spread = p[PS_PRIOR_SPREAD],
        .prior = in ? in->prior : NULL,
        .prior_w = in ? in->prior_w : 0,
        .prior_h = in ? in->prior_h : 0,
        .max_generations = p[PS_MAX_GENERATIONS],
        .tolerance = p[PS_TOLERANCE],
        .ridge = p[PS_RIDGE],
        .coarse_grid = (int)p[PS_REFINE_COARSE_GRID],
        .coarse_share = p[PS_REFINE_COARSE_SHARE],
        .middle_grid = (int)p[PS_REFINE_MIDDLE_GRID],
        .middle_share = p[PS_REFINE_MIDDLE_SHARE],
        .prior_pass_queries = p[PS_PRIOR_PASS_QUERIES],
        .prior_pass_grid = (int)p[PS_PRIOR_PASS_GRID],
        .prior_pass_keep = p[PS_PRIOR_PASS_KEEP],
        .explore_share = p[PS_EXPLORE_SHARE],
        .fuse = (int)p[PS_FUSE_GAMES],
        .drop_black = p[PS_DROP_BLACK] != 0,
        .keep_target = p[PS_KEEP_TARGET],
        .searches = search_count(p, gw, gh),
        .restart_best = p[PS_RESTART_FROM_BEST] != 0,
        .removal_share = removal_share(p, gw, gh),
        .removal_weight = p[PS_REMOVAL_WEIGHT],
        .removal_mix = (int)p[PS_REMOVAL_MIX],
        .removal_smoothing = p[PS_REMOVAL_SMOOTHING],
        .deletion_steps = (int)p[PS_DELETION_STEPS],
        .deletion_cells = (int)p[PS_DELETION_CELLS],
        .deletion_value = (float)p[PS_EVAL_DELETION_VALUE],
    };
}

static uint64_t row_min_queries(const double *p, int width, int height) {
    const method_inputs in = {.width = width, .height = height};
    search_config cfg;
    decam__search_configure(p, &in, &cfg);
    return decam__search_min_queries(&cfg);
}

/* A whole generation; with the population from the image (0), one of
 * POPULATION_AT_7 candidates: larger generations take several steps,
 * and memory stays what a 7 x 7 grid's search holds. */
static size_t row_step_images(const double *p) {
    const size_t np = p[PS_POPULATION] > 0 ? (size_t)p[PS_POPULATION] : POPULATION_AT_7;
    const size_t generation = np * (p[PS_OBJECTIVE] == DECAM_OBJECTIVE_BOTH ? 2 : 1);
    return decam__method_batch_size(p, generation, generation);
}

/* The assemblies that read the search's population give one map. */
static int row_several_targets(const double *p) {
    return p[PS_ASSEMBLY] == DECAM_ASSEMBLY_ALL_EVALUATED ||
           p[PS_ASSEMBLY] == DECAM_ASSEMBLY_REGRESSION;
}

static const char *row_check(const double *p, const method_inputs *in) {
    if (p[PS_INIT] == DECAM_INIT_PRIOR && !in->prior)
        return "init = prior, but no prior map is set (decam_set_prior_map)";
    const int staged = p[PS_REFINE_COARSE_GRID] > 0 || p[PS_REFINE_MIDDLE_GRID] > 0 ||
                       p[PS_PRIOR_PASS_QUERIES] > 0 || p[PS_EXPLORE_SHARE] > 0 ||
                       p[PS_SEARCHES] > 1 || p[PS_FOLLOW] == DECAM_FOLLOW_EACH ||
                       p[PS_REMOVAL_SHARE] > 0; /* set; the default follows the assembly */
    if ((staged || p[PS_FUSE_GAMES] > 0) && p[PS_ASSEMBLY] != DECAM_ASSEMBLY_ALL_EVALUATED)
        return "refine_*, prior_pass_queries, explore_share, searches, follow = each, "
               "removal_share and fuse_games need assembly = all_evaluated (the per-pixel "
               "map of every mask)";
    if (p[PS_FUSE_GAMES] > 0 && p[PS_OBJECTIVE] != DECAM_OBJECTIVE_BOTH)
        return "fuse_games needs objective = both (it fuses the two games' maps)";
    return NULL;
}

static decam_status row_start(run *r, const double *p, const method_inputs *in) {
    search_config cfg;
    decam__search_configure(p, in, &cfg);
    return search_start(r, &cfg);
}

const method_info decam__method_decam = {
    .name = "decam",
    .min_queries = row_min_queries,
    .min_queries_what = "one generation (population x queries per candidate) + 3",
    .step_images = row_step_images,
    .check = row_check,
    .several_targets = row_several_targets,
    .start = row_start,
    .advance = row_advance,
    .finish = row_finish,
    .release = search_release,
    .blur_sigma = row_blur_sigma,
};
