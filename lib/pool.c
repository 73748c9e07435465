/* pool.c - the persistent worker threads of a context. */
#include "pool.h"

#include <pthread.h>

typedef struct worker {
    pool *owner;
    pthread_t tid;
    int index, started;
} worker;

struct pool {
    int threads, missing;
    pthread_mutex_t lock;
    pthread_cond_t wake;      /* a new job, or shutdown */
    pthread_cond_t done;      /* a worker finished its range */
    unsigned long generation; /* jobs posted so far */
    int pending;              /* ranges of the current job not yet done */
    int shutdown;
    /* The current job, read by the workers under `lock`. */
    pool_range_fn fn;
    void *job;
    size_t n;
    int ranges;
    worker workers[POOL_MAX_THREADS];
};

static void range_of(size_t n, int ranges, int t, size_t *first, size_t *last) {
    *first = n * (size_t)t / (size_t)ranges;
    *last = n * (size_t)(t + 1) / (size_t)ranges;
}

static void *worker_main(void *arg) {
    worker *w = arg;
    pool *p = w->owner;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->shutdown && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->shutdown) break;
        seen = p->generation;
        if (w->index >= p->ranges) continue;
        pool_range_fn fn = p->fn;
        void *job = p->job;
        size_t first, last;
        range_of(p->n, p->ranges, w->index, &first, &last);
        pthread_mutex_unlock(&p->lock);
        fn(job, first, last, w->index);
        pthread_mutex_lock(&p->lock);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

pool *decam__pool_create(const decam_allocator *mem, int threads) {
    if (threads < 2) threads = 2;
    if (threads > POOL_MAX_THREADS) threads = POOL_MAX_THREADS;
    pool *p = mem_calloc(mem, 1, sizeof *p);
    if (!p) return NULL;
    p->threads = threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int t = 1; t < threads; t++) {
        worker *w = &p->workers[t];
        *w = (worker){.owner = p, .index = t};
        w->started = pthread_create(&w->tid, NULL, worker_main, w) == 0;
        if (!w->started) p->missing++;
    }
    return p;
}

void decam__pool_free(pool *p, const decam_allocator *mem) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->shutdown = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int t = 1; t < p->threads; t++)
        if (p->workers[t].started) pthread_join(p->workers[t].tid, NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    mem_free(mem, p);
}

int decam__pool_threads(const pool *p) { return p ? p->threads : 1; }

int decam__pool_missing(const pool *p) { return p ? p->missing : 0; }

void decam__pool_run(pool *p, size_t n, pool_range_fn fn, void *job) {
    int ranges = decam__pool_threads(p);
    if ((size_t)ranges > n) ranges = n > 0 ? (int)n : 1;
    if (ranges < 2) {
        fn(job, 0, n, 0);
        return;
    }
    int here_too[POOL_MAX_THREADS] = {0}, posted = 0;
    for (int t = 1; t < ranges; t++) {
        if (p->workers[t].started)
            posted++;
        else
            here_too[t] = 1;
    }
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->job = job;
    p->n = n;
    p->ranges = ranges;
    p->pending = posted;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    size_t first, last;
    range_of(n, ranges, 0, &first, &last);
    fn(job, first, last, 0);
    for (int t = 1; t < ranges; t++)
        if (here_too[t]) {
            range_of(n, ranges, t, &first, &last);
            fn(job, first, last, t);
        }

    pthread_mutex_lock(&p->lock);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}
