/*
 * run.h - the run layer: the explanation of one image (an item of a
 * session, session.h). A run owns its inputs, its query budget and its
 * accounting, its generator, the baseline, the maps of its targets, its
 * statistics and its method's state, and it moves through fixed phases:
 *
 *     FULL    the unmodified image is scored (one image)
 *     METHOD  the method asks for images, step after step (a "want" each)
 *     FINAL   the map of the first target is scored as a soft mask (two)
 *     DONE    the maps are written; the run's memory is released
 *
 * A run never calls the model: it says what it wants scored (r->want)
 * and is handed the scores. The session gathers the wants of its runs
 * into requests, which decam_ask() hands out or the model callback
 * scores, so one code path serves both and maps do not depend on how
 * images were batched.
 *
 * Dependencies run one way: the public API makes a session; the session
 * drives runs; a run hands its METHOD phase to a method (method.h), which
 * never sees the context; everything uses the leaves (mask, cam, pool, rng).
 */
#ifndef DECAM_RUN_H
#define DECAM_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "context.h"
#include "mask.h"
#include "pool.h"
#include "rng.h"

/* Queries every explanation spends besides its method's: the full image
 * first, then the final map's kept and dropped images. */
#define RUN_FIXED_QUERIES 3

/* Writes image k (0 <= k < n) of a want into `slot`. `worker` (0 ..
 * threads-1) names the thread, so the job can keep per-thread scratch.
 * Must depend only on k, never on the worker or the order of calls. */
typedef void (*want_fill_fn)(void *job, size_t k, float *slot, int worker);

/* What a run asks to have scored: n images, image k rendered by
 * fill(job, k, ...), its scores (one per target) stored at
 * scores[k * targets + t]. Images go to the model in order, so the scored
 * ones are always the leading `scored`. */
typedef struct want {
    size_t n;
    want_fill_fn fill;
    void *job;
    double *scores;
    size_t sent;   /* images handed out in requests */
    size_t scored; /* images whose scores came back */
} want;

typedef enum run_phase {
    RUN_IDLE = 0, /* not started */
    RUN_FULL,
    RUN_METHOD,
    RUN_FINAL,
    RUN_DONE
} run_phase;

typedef struct method_info method_info;

typedef struct run {
    decam_ctx *ctx; /* the run layer's own: methods do not use it */
    const decam_allocator *mem;
    const method_info *method;
    void *state; /* the method's */
    const float *image;
    image_shape shape;
    size_t values, hw; /* floats per image; pixels */
    uint64_t budget;   /* every query of the run, the fixed three included */
    int threads;       /* DECAM_PARAM_THREADS */
    pool *pool;        /* the context's workers; NULL with one thread */
    rng rng;
    size_t targets;         /* maps: 1 .. */
    const uint32_t *target; /* the targets' model outputs */
    float *base;            /* the baseline image */
    double *score_full;     /* per target: s(I); then the final two images' */
    float *map;             /* targets * hw: the method's result, any scale */
    float *out;             /* targets * hw: where the finished maps go */
    int keeps_raw;          /* the run decam_get_raw_map() describes */
    run_phase phase;
    want want;
    uint64_t queries, calls;
    double model_seconds, started_at;
    uint32_t item;                   /* its place among the session's items */
    const struct run_totals *totals; /* the session's, for progress reports */
    decam_stats stats;
} run;

/* What the session tells progress reports about all its items. */
typedef struct run_totals {
    uint64_t queries; /* of every item */
    uint64_t budget;  /* of every item */
    uint32_t items, items_done;
} run_totals;

/* What a method may need besides the parameters. */
typedef struct method_inputs {
    int width, height;  /* the image */
    const float *prior; /* decam_set_prior_map(), or NULL */
    int prior_w, prior_h;
} method_inputs;

struct method_info {
    const char *name; /* as decam_method_name() gives it */
    /* Queries the method needs at the least, the fixed three included,
     * and what they pay for (for the message when the budget is short). */
    uint64_t (*min_queries)(const double *params, int width, int height);
    const char *min_queries_what;
    /* Images one of its wants holds at the most: a model call's images
     * when DECAM_PARAM_BATCH_SIZE is 0, and the unit the session starts
     * items by. */
    size_t (*step_images)(const double *params);
    /* Queries a run of a width x height image spends at the most, the
     * fixed three included, when that is less than the budget; NULL: the
     * budget. */
    uint64_t (*max_queries)(const double *params, int width, int height);
    /* NULL when the inputs suit the parameters, else why not
     * (DECAM_ERR_MISSING_INPUT). NULL function: nothing to check. */
    const char *(*check)(const double *params, const method_inputs *in);
    /* 1 when it can give several targets' maps with these parameters. */
    int (*several_targets)(const double *params);
    /* Builds its config from the parameters, allocates its state
     * (r->state) and wants its first images (decam__run_want). */
    decam_status (*start)(run *r, const double *params, const method_inputs *in);
    /* The leading `scored` images of its last want are scored (all of
     * them unless `stopping`): takes them in and, unless `stopping`,
     * reports the step (decam__run_progress) and wants the next images,
     * or none when it is done. The run has cleared r->want before. */
    decam_status (*advance)(run *r, size_t scored, int stopping);
    /* Writes r->map (r->targets maps of r->hw) and the raw maps from the
     * queries taken in, also after a cancellation. */
    decam_status (*finish)(run *r);
    /* Frees r->state; accepts a state never allocated. */
    void (*release)(run *r);
    /* The blur baseline's sigma, in pixels, when DECAM_PARAM_BASELINE_SIGMA
     * is 0 (what suits the method's masks on a width x height image);
     * NULL: RUN_BLUR_SIGMA. */
    double (*blur_sigma)(const double *params, int width, int height);
};

/* The blur's sigma for a method that does not say (decam.h). */
#define RUN_BLUR_SIGMA 16.0

/* What a run needs from its session. */
typedef struct run_spec {
    const float *image;
    image_shape shape;
    uint64_t budget;
    int threads;
    pool *pool;
    uint64_t seed;
    const method_info *method;
    size_t targets;
    const uint32_t *target;
    float *out;
    int keeps_raw;
    uint32_t item;
    const run_totals *totals;
} run_spec;

/* Starts a run: allocates the baseline, the maps and the target scores,
 * makes the baseline, and wants the full image scored (phase FULL).
 * Allocates nothing of the method's yet. On failure everything is
 * released. */
decam_status decam__run_start(run *r, decam_ctx *ctx, const run_spec *spec);

/* The run's current want has been scored (or, with `stopping`, as much of
 * it as will ever be): moves the run on to its next want or phase. With
 * `stopping`, the scored images are taken in but nothing more is wanted
 * and no progress is reported. Returns DECAM_OK or the failure (the
 * session keeps it). */
decam_status decam__run_advance(run *r, int stopping);

/* Ends a run its session stopped (a cancellation) so that its maps hold
 * what its queries told, without the final scoring. Returns DECAM_OK or
 * a failure of its own (out of memory). */
decam_status decam__run_stop(run *r);

/* Releases whatever the run still holds; idempotent. */
void decam__run_release(run *r);

/* Records a failure of the run (message and log, as the public functions
 * do) and returns status. */
decam_status decam__run_fail(run *r, decam_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#define RUN_FAIL_IF(cond, r, status, ...)                                                          \
    do {                                                                                           \
        if (cond) return decam__run_fail((r), (status), __VA_ARGS__);                              \
    } while (0)

/* Sends a message to the log handler. */
void decam__run_log(run *r, decam_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Queries a method may still spend on itself: the budget less those spent
 * and the two the final map needs. */
static inline uint64_t run_queries_left(const run *r) {
    uint64_t spent = r->queries + (RUN_FIXED_QUERIES - 1);
    return r->budget > spent ? r->budget - spent : 0;
}

/* Wants n images scored: image k from fill(job, k, ...), its scores into
 * scores[k * r->targets + t]. n = 0 wants nothing: the method is done. */
void decam__run_want(run *r, size_t n, want_fill_fn fill, void *job, double *scores);

/* Calls fn on contiguous ranges of [0, n) on the run's threads. */
void decam__run_parallel(run *r, size_t n, pool_range_fn fn, void *job);

/* Counts one step (a DE generation, a batch of masks or windows) and calls
 * the progress callback; a nonzero answer, or decam_force_stop(), gives
 * DECAM_ERR_CANCELLED. */
decam_status decam__run_progress(run *r, double best_fitness, double mean_fitness);

/* Keeps target t's unnormalised map (width x height, row-major) in the
 * context for decam_get_raw_map(), when this run is the one it describes
 * and t is 0; otherwise does nothing. */
decam_status decam__run_keep_raw(run *r, size_t t, const double *raw, int width, int height);

/* Before a method's map of n doubles becomes floats (r->map, the raw
 * map): scales it by a power of two when its values lie beyond float's
 * range or below its normal range (cam_fit_float), with a warning in the
 * log; scores near +-FLT_MAX otherwise make infinities and a flat map. */
void decam__run_fit_float(run *r, double *map, size_t n);

#endif /* DECAM_RUN_H */
