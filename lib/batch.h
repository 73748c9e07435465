/*
 * batch.h - the one place where the model is called: images wait in a
 * batch until it is full (or flushed), then one call scores them all and
 * each image's target score goes where its submitter asked. Counts queries
 * and calls, times the model, refuses NaN and infinite scores and honours
 * decam_force_stop(). Used by explain, the other methods and the metrics.
 */
#ifndef DECAM_BATCH_H
#define DECAM_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "context.h"

typedef struct batcher {
    decam_ctx *ctx;
    size_t values;    /* floats per image */
    size_t cap, fill; /* images per call, images waiting */
    float *images;    /* cap * values */
    double **dest;    /* cap: where each waiting image's score goes */
    float *scores;    /* cap * n_outputs */
    size_t n_outputs, target;
    uint64_t queries; /* images scored */
    uint64_t calls;   /* model calls */
    double model_seconds;
} batcher;

/* Allocates a batcher for images of `values` floats, at most `cap` per
 * call; reads n_outputs and target from the context. Returns DECAM_OK or
 * DECAM_ERR_OUT_OF_MEMORY (with a message; nothing to free). */
decam_status batcher_init(batcher *b, decam_ctx *ctx, size_t values, size_t cap);
void batcher_free(batcher *b);

/* The next free image slot; fill it, then commit it with batcher_submit(). */
float *batcher_slot(batcher *b);

/* Commits the slot filled last; its target score will be stored in *dest.
 * Flushes when the batch is full. */
decam_status batcher_submit(batcher *b, double *dest);

/* Calls fn(job, first, last, worker) on `threads` contiguous ranges that
 * cover [0, n), range 0 on this thread and the others on threads of their
 * own (or here, if one cannot be started: same result, and the log says
 * so). `worker` is the range's number, for per-thread scratch. The result
 * is deterministic as long as what fn computes for an index does not
 * depend on the worker. At most 64 threads. */
typedef void (*range_fn)(void *job, size_t first, size_t last, int worker);
void parallel_ranges(size_t n, range_fn fn, void *job, int threads, decam_ctx *ctx);

/* Writes image k (0 <= k < n) of a fill into `slot`. `worker` (0 ..
 * threads-1) names the thread, so the job can keep per-thread scratch.
 * Must depend only on k, never on the worker or the order of calls. */
typedef void (*batch_fill_fn)(void *job, size_t k, float *slot, int worker);

/* Fills the next n free slots (n <= cap - fill) with fill(job, k, ...),
 * spread over `threads` threads (contiguous ranges of k; 1 = this thread
 * only), then commits them with dest[k] as their score's destination,
 * flushing if the batch becomes full. The model is still called from the
 * calling thread. A thread that cannot be started leaves its images to
 * this thread (the result is the same; the log says so). Returns DECAM_OK
 * or a flush's failure. */
decam_status batcher_fill(batcher *b, size_t n, batch_fill_fn fill, void *job, int threads,
                          double **dest);

/* Scores the waiting images now. Fails with DECAM_ERR_MODEL_FAILED,
 * DECAM_ERR_BAD_SCORE or, after a decam_force_stop(), DECAM_ERR_CANCELLED
 * (the scores of that call are stored first). */
decam_status batcher_flush(batcher *b);

/* The checks every entry point that queries the model makes before
 * allocating: image and output non-NULL, the size within the limits, a
 * model set, target below n_outputs. `who` and `out_name` name the
 * function and its output argument in messages. Stores the image's value
 * count in *values. */
decam_status batch_check_call(decam_ctx *ctx, const char *who, const float *image, int width,
                              int height, int channels, const void *out, const char *out_name,
                              size_t *values);

/* Seconds on a monotonic clock. */
double batch_now(void);

#endif /* DECAM_BATCH_H */
