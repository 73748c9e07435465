/*
 * method.h - what the black-box methods (DE-CAM in explain.c, RISE in
 * rise.c, occlusion in occlusion.c) share: one run of decam_explain(), set
 * up by explain.c with the image, its baseline, the batcher and the budget.
 * A method spends queries through r->batch, reports progress with
 * run_progress(), writes its full-resolution map (any scale) into r->map
 * and hands its unnormalised map to run_keep_raw(). explain.c then
 * smooths and normalises the map and scores it.
 */
#ifndef DECAM_METHOD_H
#define DECAM_METHOD_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "cam.h"
#include "mask.h"

typedef struct run {
    decam_ctx *ctx;
    const float *image;
    image_shape shape;
    size_t values, hw; /* floats per image; pixels */
    uint64_t budget;   /* every query of the run, the first and last three included */
    int threads;       /* DECAM_PARAM_THREADS */
    rng rng;
    batcher batch;
    double **dest;     /* batch.cap destinations, scratch for batcher_fill() */
    float *base;       /* the baseline image */
    double score_full; /* s(I) */
    float *map;        /* hw: the method's result, any scale */
    decam_stats *stats;
} run;

/* Queries a method may still spend on itself: the budget less those spent
 * and the two the final map needs. */
static inline uint64_t run_queries_left(const run *r) {
    uint64_t spent = r->batch.queries + r->batch.fill + 2;
    return r->budget > spent ? r->budget - spent : 0;
}

/* Counts one step (a DE generation, a batch of masks or windows) and calls
 * the progress callback; a nonzero answer, or decam_force_stop(), gives
 * DECAM_ERR_CANCELLED. */
decam_status run_progress(run *r, double best_fitness, double mean_fitness);

/* Keeps a method's unnormalised map (width x height, row-major) in the
 * context for decam_get_raw_map(). */
decam_status run_keep_raw(run *r, const double *raw, int width, int height);

/* Before a method's map of n doubles becomes floats (r->map, the raw
 * map): scales it by a power of two when its values lie beyond float's
 * range or below its normal range (cam_fit_float), with a warning in the
 * log; scores near +-FLT_MAX otherwise make infinities and a flat map. */
static inline void run_fit_float(run *r, double *map, size_t n) {
    int shift = cam_fit_float(map, n);
    if (shift != 0)
        ctx_log(r->ctx, DECAM_LOG_WARNING,
                "the raw map's values were beyond float's range; scaled by 2^%d to fit", shift);
}

/* The methods. Each checks nothing that explain.c already checked, runs to
 * its budget, and returns DECAM_OK or the failure that stopped it (a
 * cancellation leaves r->map holding what was found until then). */
decam_status decam_search(run *r);
decam_status rise_run(run *r);
decam_status occlusion_run(run *r);

/* Queries each method needs at the least with the context's parameters,
 * the full image and the final two included. */
uint64_t decam_min_queries(const decam_ctx *ctx);
uint64_t rise_min_queries(const decam_ctx *ctx);
uint64_t occlusion_queries(const decam_ctx *ctx, int width, int height);

#endif /* DECAM_METHOD_H */
