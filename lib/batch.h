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
