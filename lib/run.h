/*
 * run.h - the run layer: one run of the model, shared by decam_explain()
 * and decam_evaluate(). It owns the inputs, the query budget and its
 * accounting, the batcher into the model, progress and cancellation, the
 * statistics, the raw map and the busy/stop lifecycle of the context.
 *
 * Dependencies run one way: the public API sets a run up and hands it to
 * a method (method.h); a method spends queries through the run and never
 * sees the context; the run uses the leaves (mask, cam, pool, rng).
 */
#ifndef DECAM_RUN_H
#define DECAM_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "mask.h"
#include "pool.h"
#include "rng.h"

/* Queries every explanation spends besides its method's: the full image
 * first, then the final map's kept and dropped images. */
#define RUN_FIXED_QUERIES 3

typedef struct run {
    decam_ctx *ctx; /* the run layer's own: methods do not use it */
    const decam_allocator *mem;
    const float *image;
    image_shape shape;
    size_t values, hw; /* floats per image; pixels */
    uint64_t budget;   /* every query of the run, the fixed three included */
    int threads;       /* DECAM_PARAM_THREADS */
    pool *pool;        /* the context's workers; NULL with one thread */
    rng rng;
    batcher batch;
    double **dest;     /* batch.cap destinations, scratch for decam__batcher_fill() */
    float *base;       /* the baseline image (explanations only) */
    double score_full; /* s(I) */
    float *map;        /* hw: the method's result, any scale (explanations only) */
    decam_stats *stats;
    double t_start;
    int started; /* decam__run_begin() succeeded: decam__run_end() has work to do */
} run;

/* What a run needs from its caller. */
typedef struct run_spec {
    const char *who; /* the public function, for messages */
    const float *image;
    image_shape shape;
    uint64_t budget;  /* 0: no budget (decam_evaluate) */
    size_t batch_cap; /* images per model call */
    int threads;
    uint64_t seed;
    int explain;        /* 1: allocate the baseline and the map */
    decam_stats *stats; /* where the statistics go */
} run_spec;

/* The checks every entry point that queries the model makes before it
 * allocates anything: image and output non-NULL, the size within the
 * limits, a model set, target below n_outputs. `who` and `out_name` name
 * the function and its output argument in messages. Stores the image's
 * value count in *values. */
decam_status decam__run_check_call(decam_ctx *ctx, const char *who, const float *image, int width,
                                   int height, int channels, const void *out, const char *out_name,
                                   size_t *values);

/* Starts a run: marks the context busy, clears decam_force_stop(), makes
 * the context's thread pool if the thread count needs one (once: it is
 * kept for later runs), allocates the batcher and, for explanations, the
 * baseline and map buffers. On failure everything is released and the
 * context is idle again; decam__run_end() may still be called. */
decam_status decam__run_begin(run *r, decam_ctx *ctx, const run_spec *spec);

/* Ends a run whatever its outcome: fills the statistics (queries, calls,
 * times; the termination when `status` is a failure), releases what
 * decam__run_begin() allocated and marks the context idle. Returns status. */
decam_status decam__run_end(run *r, decam_status status);

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
    uint64_t spent = r->batch.queries + r->batch.fill + (RUN_FIXED_QUERIES - 1);
    return r->budget > spent ? r->budget - spent : 0;
}

/* Calls fn on contiguous ranges of [0, n) on the run's threads. */
void decam__run_parallel(run *r, size_t n, pool_range_fn fn, void *job);

/* Makes the baseline image into r->base. */
decam_status decam__run_make_baseline(run *r, const baseline_spec *spec);

/* Scores the full image into r->score_full. */
decam_status decam__run_score_full(run *r);

/* Counts one step (a DE generation, a batch of masks or windows) and calls
 * the progress callback; a nonzero answer, or decam_force_stop(), gives
 * DECAM_ERR_CANCELLED. */
decam_status decam__run_progress(run *r, double best_fitness, double mean_fitness);

/* Keeps a method's unnormalised map (width x height, row-major) in the
 * context for decam_get_raw_map(). */
decam_status decam__run_keep_raw(run *r, const double *raw, int width, int height);

/* Before a method's map of n doubles becomes floats (r->map, the raw
 * map): scales it by a power of two when its values lie beyond float's
 * range or below its normal range (cam_fit_float), with a warning in the
 * log; scores near +-FLT_MAX otherwise make infinities and a flat map. */
void decam__run_fit_float(run *r, double *map, size_t n);

/* Smooths and normalises r->map (sigma 0: no smoothing) into `out`, and
 * when `score` is set scores it as a soft mask: the kept and dropped
 * images of the statistics. */
decam_status decam__run_finish_map(run *r, double smoothing, float *out, int score);

#endif /* DECAM_RUN_H */
