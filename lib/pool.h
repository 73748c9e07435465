/*
 * pool.h - a pool of worker threads that a context makes once and keeps
 * (zstd's POOL_ctx is the model): the per-pixel and per-image loops of a
 * run hand it contiguous ranges of their work. A leaf: it knows only the
 * allocator.
 */
#ifndef DECAM_POOL_H
#define DECAM_POOL_H

#include <stddef.h>

#include "alloc.h"

/* At most this many threads (DECAM_PARAM_THREADS' upper bound). */
#define POOL_MAX_THREADS 64

typedef struct pool pool;

/* Calls fn(job, first, last, worker) for one contiguous range of [0, n);
 * `worker` numbers the range, for per-thread scratch. */
typedef void (*pool_range_fn)(void *job, size_t first, size_t last, int worker);

/* A pool of `threads` - 1 workers (the calling thread is the first), 2 ..
 * POOL_MAX_THREADS. Returns NULL when memory runs out. Workers that cannot
 * be started are left out; decam__pool_run() then does their ranges on the
 * calling thread, with the same result, and decam__pool_missing() says how many. */
pool *decam__pool_create(const decam_allocator *mem, int threads);

/* Stops and joins the workers, frees the pool. Accepts NULL. */
void decam__pool_free(pool *p, const decam_allocator *mem);

/* Threads the pool was made for (1 for NULL). */
int decam__pool_threads(const pool *p);

/* Workers that could not be started. */
int decam__pool_missing(const pool *p);

/* Splits [0, n) into min(threads, n) ranges, range t being
 * [n t / k, n (t + 1) / k), and runs them, range 0 on the calling thread;
 * returns when all are done. With p NULL, or n < 2, everything runs here.
 * Deterministic as long as what fn computes for an index does not depend
 * on the worker. */
void decam__pool_run(pool *p, size_t n, pool_range_fn fn, void *job);

#endif /* DECAM_POOL_H */
