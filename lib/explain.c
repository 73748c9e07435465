/*
 * explain.c - decam_explain(): owns the query budget, batches perturbed
 * images into the model callback, turns scores into fitness for the DE
 * engine, reports progress and collects statistics. The only part of the
 * library that calls the model.
 */
#include <math.h>

#include "batch.h"
#include "cam.h"
#include "context.h"
#include "de.h"
#include "mask.h"
#include "params.h"

/* Everything one run needs, allocated once at its start. */
typedef struct run {
    decam_ctx *ctx;
    const float *image;
    image_shape shape;
    size_t image_values;
    int gw, gh;
    size_t dim, np;
    decam_objective objective;
    int queries_per_candidate;
    uint64_t budget;
    size_t n_outputs, target;
    rng rng;

    size_t batch_cap; /* images per model call */
    batcher batch;

    float *base; /* the baseline image */
    float *mask; /* one full-resolution mask */
    upsampler up;
    de *de;
    cam_accum acc;
    double score_full;
    double *score_keep, *score_drop, *fitness; /* per candidate */
    double *grid;                              /* dim: the assembled grid map */

    decam_stats *stats;
    double t_start;
} run;

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
    FAIL_IF(p[DECAM_PARAM_INIT] == DECAM_INIT_PRIOR && !ctx->prior, ctx, DECAM_ERR_MISSING_INPUT,
            "init = prior, but no prior map is set (decam_set_prior_map)");
    return DECAM_OK;
}

/* The budget must pay for the full image, one generation and the final two. */
static decam_status check_budget(run *r) {
    uint64_t need = 1 + (uint64_t)r->np * r->queries_per_candidate + 2;
    FAIL_IF(r->budget < need, r->ctx, DECAM_ERR_BUDGET_TOO_SMALL,
            "budget = %llu queries cannot pay for one generation: population %zu x %d "
            "quer%s + 3 = %llu",
            (unsigned long long)r->budget, r->np, r->queries_per_candidate,
            r->queries_per_candidate == 1 ? "y" : "ies", (unsigned long long)need);
    return DECAM_OK;
}

/* ---- setup and teardown -------------------------------------------------- */

static void run_configure(run *r, decam_ctx *ctx, const float *image, int w, int h, int c,
                          size_t values, decam_stats *stats) {
    const double *p = ctx->params;
    *r = (run){
        .ctx = ctx, .image = image, .image_values = values, .stats = stats, .score_full = NAN};
    r->shape = (image_shape){w, h, c, (decam_layout)p[DECAM_PARAM_LAYOUT]};
    r->gw = (int)p[DECAM_PARAM_GRID_WIDTH];
    r->gh = (int)p[DECAM_PARAM_GRID_HEIGHT];
    r->dim = (size_t)r->gw * r->gh;
    r->np = (size_t)p[DECAM_PARAM_POPULATION];
    r->objective = (decam_objective)p[DECAM_PARAM_OBJECTIVE];
    r->queries_per_candidate = r->objective == DECAM_OBJECTIVE_BOTH ? 2 : 1;
    r->budget = (uint64_t)p[DECAM_PARAM_BUDGET];
    r->n_outputs = (size_t)p[DECAM_PARAM_N_OUTPUTS];
    r->target = (size_t)p[DECAM_PARAM_TARGET];
    size_t generation = r->np * r->queries_per_candidate;
    size_t batch = (size_t)p[DECAM_PARAM_BATCH_SIZE];
    r->batch_cap = batch == 0 || batch > generation ? generation : batch;
    rng_seed(&r->rng, (uint64_t)p[DECAM_PARAM_SEED]);
}

static decam_status run_allocate(run *r) {
    decam_ctx *ctx = r->ctx;
    const decam_allocator *a = &ctx->mem;
    const double *p = ctx->params;
    const size_t hw = (size_t)r->shape.w * r->shape.h;
    FORWARD_IF_ERROR(batcher_init(&r->batch, ctx, r->image_values, r->batch_cap));
    r->base = mem_alloc(a, r->image_values, sizeof *r->base);
    r->mask = mem_alloc(a, hw, sizeof *r->mask);
    r->score_keep = mem_alloc(a, r->np, sizeof *r->score_keep);
    r->score_drop = mem_alloc(a, r->np, sizeof *r->score_drop);
    r->fitness = mem_alloc(a, r->np, sizeof *r->fitness);
    r->grid = mem_alloc(a, r->dim, sizeof *r->grid);
    de_config cfg = {
        .dim = r->dim,
        .np = r->np,
        .strategy = (de_strategy)p[DECAM_PARAM_STRATEGY],
        .f = p[DECAM_PARAM_F],
        .f_dither = p[DECAM_PARAM_F_DITHER],
        .cr = p[DECAM_PARAM_CR],
        .pbest = p[DECAM_PARAM_PBEST],
    };
    r->de = de_create(&cfg, a);
    int failed = !r->base || !r->mask || !r->score_keep || !r->score_drop || !r->fitness ||
                 !r->grid || !r->de;
    failed = failed || upsampler_init(&r->up, a, r->gw, r->gh, r->shape.w, r->shape.h,
                                      (decam_upsample)p[DECAM_PARAM_UPSAMPLE]) != 0;
    failed = failed || cam_accum_init(&r->acc, a, r->dim) != 0;
    FAIL_IF(failed, ctx, DECAM_ERR_OUT_OF_MEMORY,
            "decam_explain: out of memory for the search (grid %d x %d, population %zu)", r->gw,
            r->gh, r->np);
    return DECAM_OK;
}

static void run_release(run *r) {
    const decam_allocator *a = &r->ctx->mem;
    batcher_free(&r->batch);
    mem_free(a, r->base);
    mem_free(a, r->mask);
    mem_free(a, r->score_keep);
    mem_free(a, r->score_drop);
    mem_free(a, r->fitness);
    mem_free(a, r->grid);
    de_free(r->de, a);
    upsampler_free(&r->up, a);
    cam_accum_free(&r->acc, a);
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

/* ---- the model, in batches ----------------------------------------------- */

static decam_status score_full_image(run *r) {
    float *slot = batcher_slot(&r->batch);
    for (size_t i = 0; i < r->image_values; i++)
        slot[i] = r->image[i];
    FORWARD_IF_ERROR(batcher_submit(&r->batch, &r->score_full));
    return batcher_flush(&r->batch);
}

/* Scores the final map as a soft mask: kept and dropped images. */
static decam_status score_final_map(run *r, const float *map) {
    mask_compose(&r->shape, r->image, r->base, map, 0, batcher_slot(&r->batch));
    FORWARD_IF_ERROR(batcher_submit(&r->batch, &r->stats->score_keep));
    mask_compose(&r->shape, r->image, r->base, map, 1, batcher_slot(&r->batch));
    FORWARD_IF_ERROR(batcher_submit(&r->batch, &r->stats->score_drop));
    return batcher_flush(&r->batch);
}

/* Scores trials 0..n-1. Scores of candidates not reached stay NaN. */
static decam_status evaluate(run *r, const double *trials, size_t n) {
    for (size_t i = 0; i < r->np; i++)
        r->score_keep[i] = r->score_drop[i] = NAN;
    for (size_t i = 0; i < n; i++) {
        upsample(&r->up, trials + i * r->dim, r->mask, 1);
        if (r->objective != DECAM_OBJECTIVE_DELETE) {
            mask_compose(&r->shape, r->image, r->base, r->mask, 0, batcher_slot(&r->batch));
            FORWARD_IF_ERROR(batcher_submit(&r->batch, &r->score_keep[i]));
        }
        if (r->objective != DECAM_OBJECTIVE_PRESERVE) {
            mask_compose(&r->shape, r->image, r->base, r->mask, 1, batcher_slot(&r->batch));
            FORWARD_IF_ERROR(batcher_submit(&r->batch, &r->score_drop[i]));
        }
    }
    return batcher_flush(&r->batch);
}

/* ---- fitness --------------------------------------------------------------- */

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
static double score_term(const run *r, size_t i) {
    switch (r->objective) {
    case DECAM_OBJECTIVE_PRESERVE: return r->score_keep[i];
    case DECAM_OBJECTIVE_DELETE: return r->score_full - r->score_drop[i];
    case DECAM_OBJECTIVE_BOTH: return r->score_keep[i] + r->score_full - r->score_drop[i];
    }
    return NAN;
}

/* Fitness of the scored candidates; returns how many leading candidates
 * were fully scored (all of them unless the run stopped midway). Each is
 * also added to the all-evaluated accumulator. */
static size_t assess(run *r, const double *trials, size_t n) {
    const double *p = r->ctx->params;
    const double area_w = p[DECAM_PARAM_AREA_WEIGHT], tv_w = p[DECAM_PARAM_TV_WEIGHT];
    size_t done = 0;
    for (; done < n; done++) {
        const double *g = trials + done * r->dim;
        double s = score_term(r, done);
        if (isnan(s)) break;
        cam_accum_add(&r->acc, g, s);
        r->fitness[done] = s - area_w * mean_gene(g, r->dim) -
                           (tv_w > 0.0 ? tv_w * total_variation(g, r->gw, r->gh) : 0.0);
    }
    return done;
}

/* ---- the search ------------------------------------------------------------ */

static void init_population(run *r) {
    const double *p = r->ctx->params;
    switch ((decam_init)p[DECAM_PARAM_INIT]) {
    case DECAM_INIT_UNIFORM: de_init_uniform(r->de, &r->rng); break;
    case DECAM_INIT_LATIN_HYPERCUBE: de_init_latin(r->de, &r->rng); break;
    case DECAM_INIT_PRIOR:
        cam_grid_from_map(r->ctx->prior, r->ctx->prior_w, r->ctx->prior_h, r->gw, r->gh, r->grid);
        de_init_around(r->de, &r->rng, r->grid, p[DECAM_PARAM_PRIOR_SPREAD]);
        break;
    }
}

/* Calls the progress callback; nonzero from it cancels. */
static decam_status report_progress(run *r) {
    decam_ctx *ctx = r->ctx;
    if (!ctx->progress) return DECAM_OK;
    decam_progress pr = {
        .size = sizeof pr,
        .queries = r->batch.queries,
        .budget = r->budget,
        .generation = r->stats->generations,
        .best_fitness = r->stats->best_fitness,
        .mean_fitness = de_mean_fitness(r->de),
    };
    int rc = ctx->progress(ctx->progress_user, &pr);
    FAIL_IF(rc != 0, ctx, DECAM_ERR_CANCELLED,
            "cancelled by the progress callback (it returned %d) after generation %u", rc,
            r->stats->generations);
    FAIL_IF(atomic_load(&ctx->stop_requested), ctx, DECAM_ERR_CANCELLED,
            "stopped by decam_force_stop()");
    return DECAM_OK;
}

/* Why the search should stop now, or DECAM_TERMINATION_NONE to go on. */
static decam_termination stop_reason(const run *r) {
    const double *p = r->ctx->params;
    uint64_t left = r->budget - r->batch.queries;
    if (left < 2 + (uint64_t)r->queries_per_candidate) return DECAM_TERMINATION_BUDGET;
    if (p[DECAM_PARAM_MAX_GENERATIONS] > 0 &&
        r->stats->generations >= p[DECAM_PARAM_MAX_GENERATIONS])
        return DECAM_TERMINATION_GENERATIONS;
    if (p[DECAM_PARAM_TOLERANCE] > 0 && de_spread(r->de) <= p[DECAM_PARAM_TOLERANCE])
        return DECAM_TERMINATION_TOLERANCE;
    return DECAM_TERMINATION_NONE;
}

/* Runs generations until a stopping rule fires. Returns DECAM_OK, or the
 * failure (a cancellation included) that ended the search. */
static decam_status search(run *r) {
    decam_stats *st = r->stats;
    init_population(r);
    for (;;) {
        /* Keep two queries for the final map; the last generation may be
         * partial so the whole budget is used. */
        uint64_t affordable = (r->budget - r->batch.queries - 2) / r->queries_per_candidate;
        size_t n = affordable < r->np ? (size_t)affordable : r->np;
        const double *trials = de_trials(r->de);
        decam_status status = evaluate(r, trials, n);
        size_t done = assess(r, trials, n);
        if (done > 0) {
            de_tell(r->de, done, r->fitness);
            st->generations++;
            de_best(r->de, &st->best_fitness);
        }
        FORWARD_IF_ERROR(status);
        FORWARD_IF_ERROR(report_progress(r));
        st->termination = stop_reason(r);
        if (st->termination != DECAM_TERMINATION_NONE) return DECAM_OK;
        de_ask(r->de, &r->rng);
    }
}

/* The grid map from the search, per DECAM_PARAM_ASSEMBLY. */
static void assemble(run *r) {
    if (r->stats->generations == 0) {
        for (size_t j = 0; j < r->dim; j++)
            r->grid[j] = 0.0;
        return;
    }
    switch ((decam_assembly)r->ctx->params[DECAM_PARAM_ASSEMBLY]) {
    case DECAM_ASSEMBLY_BEST: {
        const double *best = de_best(r->de, NULL);
        for (size_t j = 0; j < r->dim; j++)
            r->grid[j] = best[j];
        break;
    }
    case DECAM_ASSEMBLY_POPULATION:
        cam_grid_from_population(de_population(r->de), de_fitness(r->de), r->np, r->dim, r->grid);
        break;
    case DECAM_ASSEMBLY_ALL_EVALUATED: cam_grid_from_accum(&r->acc, r->grid); break;
    }
}

/* Keeps the grid of the run in the context for decam_get_grid(). */
static decam_status keep_grid(run *r) {
    decam_ctx *ctx = r->ctx;
    if (ctx->grid_len != r->dim) {
        ctx_dealloc(ctx, ctx->grid);
        ctx->grid_len = 0;
        ctx->grid = ctx_alloc(ctx, r->dim, sizeof *ctx->grid);
        FAIL_IF(!ctx->grid, ctx, DECAM_ERR_OUT_OF_MEMORY, "decam_explain: out of memory");
        ctx->grid_len = r->dim;
    }
    for (size_t j = 0; j < r->dim; j++)
        ctx->grid[j] = (float)r->grid[j];
    return DECAM_OK;
}

/* Assembles the map; on success of the search also scores it. */
static decam_status finish(run *r, float *map, int searched) {
    assemble(r);
    FORWARD_IF_ERROR(keep_grid(r));
    FAIL_IF(cam_render(&r->up, r->grid, r->ctx->params[DECAM_PARAM_SMOOTHING], &r->ctx->mem, map) !=
                0,
            r->ctx, DECAM_ERR_OUT_OF_MEMORY, "decam_explain: out of memory smoothing the map");
    return searched ? score_final_map(r, map) : DECAM_OK;
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
    ctx->stats = (decam_stats){.size = sizeof(decam_stats),
                               .score_full = NAN,
                               .score_keep = NAN,
                               .score_drop = NAN,
                               .best_fitness = NAN};
    size_t values = 0;
    FORWARD_IF_ERROR(check_inputs(ctx, image, width, height, channels, saliency_out, &values));

    run r;
    run_configure(&r, ctx, image, width, height, channels, values, &ctx->stats);
    FORWARD_IF_ERROR(check_budget(&r));

    ctx->busy = 1;
    atomic_store(&ctx->stop_requested, 0);
    r.t_start = batch_now();
    decam_status status = run_allocate(&r);
    if (status == DECAM_OK) status = make_baseline(&r);
    if (status == DECAM_OK) status = score_full_image(&r);
    ctx->stats.score_full = r.score_full;
    if (status == DECAM_OK) status = search(&r);
    if (status == DECAM_OK) {
        status = finish(&r, saliency_out, 1);
    } else if (status == DECAM_ERR_CANCELLED) {
        /* The map of the queries made so far; the cancellation stands. */
        decam_status st = finish(&r, saliency_out, 0);
        if (st != DECAM_OK) status = st;
    }
    if (status != DECAM_OK) ctx->stats.termination = termination_of(ctx, status);
    ctx->stats.queries = r.batch.queries;
    ctx->stats.model_calls = r.batch.calls;
    ctx->stats.model_seconds = r.batch.model_seconds;
    ctx->stats.library_seconds = batch_now() - r.t_start - r.batch.model_seconds;
    ctx_log(ctx, DECAM_LOG_INFO, "explained %d x %d x %d: %llu queries, %u generations, %s", width,
            height, channels, (unsigned long long)ctx->stats.queries, ctx->stats.generations,
            decam_status_string(status));
    run_release(&r);
    ctx->busy = 0;
    return status;
}
