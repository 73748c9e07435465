/*
 * batch.h - the one place where the model is called: images wait in a
 * batch until it is full (or flushed), then one call scores them all and
 * each image's target score goes where its submitter asked. Counts queries
 * and calls, times the model, refuses NaN and infinite scores and honours
 * decam_force_stop(). Part of the run layer (run.h), which owns one.
 */
#ifndef DECAM_BATCH_H
#define DECAM_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "context.h"
#include "pool.h"

typedef struct batcher {
    decam_ctx *ctx;
    int width, height; /* of every image, for the scorer */
    size_t values;     /* floats per image */
    size_t cap, fill; /* images per call, images waiting */
    float *images;    /* cap * values */
    double **dest;    /* cap: where each waiting image's score goes */
    float *scores;    /* cap * n_outputs */
    size_t n_outputs, target;
    uint64_t queries; /* images scored */
    uint64_t calls;   /* model calls */
    double model_seconds;
    pool *pool; /* workers for decam__batcher_fill(); NULL = this thread */
} batcher;

/* Allocates a batcher for width x height images of `values` floats, at
 * most `cap` per call; reads n_outputs and target from the context, and
 * scores with its scorer. Returns DECAM_OK or DECAM_ERR_OUT_OF_MEMORY
 * (with a message; nothing to free). */
decam_status decam__batcher_init(batcher *b, decam_ctx *ctx, int width, int height, size_t values,
                                 size_t cap);
void decam__batcher_free(batcher *b);

/* The next free image slot; fill it, then commit it with decam__batcher_submit(). */
float *decam__batcher_slot(batcher *b);

/* Commits the slot filled last; its target score will be stored in *dest.
 * Flushes when the batch is full. */
decam_status decam__batcher_submit(batcher *b, double *dest);

/* Writes image k (0 <= k < n) of a fill into `slot`. `worker` (0 ..
 * threads-1) names the thread, so the job can keep per-thread scratch.
 * Must depend only on k, never on the worker or the order of calls. */
typedef void (*batch_fill_fn)(void *job, size_t k, float *slot, int worker);

/* Fills the next n free slots (n <= cap - fill) with fill(job, k, ...),
 * spread over the batcher's pool (contiguous ranges of k; no pool = this
 * thread only), then commits them with dest[k] as their score's
 * destination, flushing if the batch becomes full. The model is still
 * called from the calling thread. Returns DECAM_OK or a flush's failure. */
decam_status decam__batcher_fill(batcher *b, size_t n, batch_fill_fn fill, void *job,
                                 double **dest);

/* Scores the waiting images now. Fails with DECAM_ERR_MODEL_FAILED,
 * DECAM_ERR_BAD_SCORE or, after a decam_force_stop(), DECAM_ERR_CANCELLED
 * (the scores of that call are stored first). */
decam_status decam__batcher_flush(batcher *b);

/* Seconds on a monotonic clock. */
double decam__batch_now(void);

#endif /* DECAM_BATCH_H */
