/* de.c - Differential Evolution: rand/1, best/1, current-to-pbest/1 (JADE),
 * binomial crossover, bounce-back bounds, deferred selection. */
#include "de.h"

#include <math.h>
#include <stdlib.h>

typedef struct ranked {
    double fit;
    size_t index;
} ranked;

struct de {
    de_config cfg;
    double *pop;         /* np * dim */
    double *fit;         /* np */
    double *trials;      /* np * dim */
    double *archive;     /* np * dim: parents replaced by better trials (JADE) */
    size_t archived;     /* rows in use */
    size_t archive_next; /* once full, the row to overwrite next (the oldest) */
    ranked *order;       /* np: population ranked best first */
    size_t best;
    int started; /* the first decam__de_tell() has happened */
};

de *decam__de_create(const de_config *cfg, const decam_allocator *a) {
    if (cfg->dim < 1 || cfg->np < 4) return NULL;
    de *d = mem_calloc(a, 1, sizeof *d);
    if (!d) return NULL;
    d->cfg = *cfg;
    const size_t n = cfg->np * cfg->dim;
    d->pop = mem_alloc(a, n, sizeof *d->pop);
    d->trials = mem_alloc(a, n, sizeof *d->trials);
    d->archive = mem_alloc(a, n, sizeof *d->archive);
    d->fit = mem_alloc(a, cfg->np, sizeof *d->fit);
    d->order = mem_alloc(a, cfg->np, sizeof *d->order);
    if (!d->pop || !d->trials || !d->archive || !d->fit || !d->order) {
        decam__de_free(d, a);
        return NULL;
    }
    return d;
}

void decam__de_free(de *d, const decam_allocator *a) {
    if (!d) return;
    mem_free(a, d->pop);
    mem_free(a, d->trials);
    mem_free(a, d->archive);
    mem_free(a, d->fit);
    mem_free(a, d->order);
    mem_free(a, d);
}

static double clamp01(double v) { return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v; }

/* A new run: the next tell takes the trials as the first population. */
static void restart(de *d) {
    d->started = 0;
    d->archived = d->archive_next = 0;
}

void decam__de_init_uniform(de *d, rng *r) {
    const size_t n = d->cfg.np * d->cfg.dim;
    for (size_t i = 0; i < n; i++)
        d->trials[i] = decam__rng_uniform(r);
    restart(d);
}

void decam__de_init_latin(de *d, rng *r) {
    const size_t np = d->cfg.np, dim = d->cfg.dim;
    /* d->order's index fields serve as the permutation until the first tell. */
    ranked *perm = d->order;
    for (size_t j = 0; j < dim; j++) {
        for (size_t i = 0; i < np; i++)
            perm[i].index = i;
        for (size_t i = np - 1; i > 0; i--) {
            size_t k = decam__rng_below(r, (uint32_t)(i + 1));
            size_t t = perm[i].index;
            perm[i].index = perm[k].index;
            perm[k].index = t;
        }
        for (size_t i = 0; i < np; i++)
            d->trials[i * dim + j] = (perm[i].index + decam__rng_uniform(r)) / (double)np;
    }
    restart(d);
}

void decam__de_init_around(de *d, rng *r, const double *center, double spread) {
    const size_t np = d->cfg.np, dim = d->cfg.dim;
    for (size_t j = 0; j < dim; j++)
        d->trials[j] = clamp01(center[j]);
    for (size_t i = 1; i < np; i++)
        for (size_t j = 0; j < dim; j++)
            d->trials[i * dim + j] =
                clamp01(center[j] + spread * (2.0 * decam__rng_uniform(r) - 1.0));
    restart(d);
}

const double *decam__de_trials(const de *d) { return d->trials; }
const double *decam__de_population(const de *d) { return d->pop; }
const double *decam__de_fitness(const de *d) { return d->fit; }

static double sane(double f) { return isnan(f) ? -INFINITY : f; }

/* Best first; ties by index, so the order (and so the run) is the same on
 * every C library. */
static int by_fitness(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->fit != y->fit) return x->fit > y->fit ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index ? 1 : 0;
}

static void rank_population(de *d) {
    for (size_t i = 0; i < d->cfg.np; i++)
        d->order[i] = (ranked){d->fit[i], i};
    qsort(d->order, d->cfg.np, sizeof *d->order, by_fitness);
    d->best = d->order[0].index;
}

static void copy_row(double *dst, const double *src, size_t dim) {
    for (size_t j = 0; j < dim; j++)
        dst[j] = src[j];
}

void decam__de_tell(de *d, size_t n, const double *fitness) {
    const size_t np = d->cfg.np, dim = d->cfg.dim;
    if (n > np) n = np;
    if (!d->started) {
        /* The first generation becomes the population; trials left
         * unevaluated are replaced by copies of evaluated ones. */
        for (size_t i = 0; i < np; i++) {
            size_t src = n ? i % n : 0;
            copy_row(d->pop + i * dim, d->trials + src * dim, dim);
            d->fit[i] = n ? sane(fitness[src]) : -INFINITY;
        }
        d->started = 1;
    } else {
        for (size_t i = 0; i < n; i++) {
            double f = sane(fitness[i]);
            if (f < d->fit[i]) continue;
            if (f > d->fit[i] && d->cfg.strategy == DECAM_STRATEGY_PBEST) {
                /* JADE's archive keeps replaced parents; when full, the
                 * oldest member is overwritten. */
                size_t slot = d->archived < np ? d->archived++ : d->archive_next++ % np;
                copy_row(d->archive + slot * dim, d->pop + i * dim, dim);
            }
            copy_row(d->pop + i * dim, d->trials + i * dim, dim);
            d->fit[i] = f;
        }
    }
    rank_population(d);
}

/* A population index different from every one in `avoid` (count k). */
static size_t pick(rng *r, size_t n, const size_t *avoid, int k) {
    for (;;) {
        size_t c = decam__rng_below(r, (uint32_t)n);
        int clash = 0;
        for (int i = 0; i < k; i++)
            clash |= c == avoid[i];
        if (!clash) return c;
    }
}

void decam__de_ask(de *d, rng *r) {
    const size_t np = d->cfg.np, dim = d->cfg.dim;
    size_t n_pbest = (size_t)ceil(d->cfg.pbest * np);
    if (n_pbest < 1) n_pbest = 1;
    if (n_pbest > np) n_pbest = np;
    for (size_t i = 0; i < np; i++) {
        const double *x = d->pop + i * dim;
        double *u = d->trials + i * dim;
        double f = d->cfg.f + d->cfg.f_dither * (2.0 * decam__rng_uniform(r) - 1.0);
        f = f < 0.0 ? 0.0 : f > 2.0 ? 2.0 : f;
        size_t avoid[4] = {i, 0, 0, 0};
        const double *base, *a, *b, *c = NULL; /* v = base + f (a - b) [+ f (c - base)] */
        if (d->cfg.strategy == DECAM_STRATEGY_PBEST) {
            const double *pb =
                d->pop + d->order[decam__rng_below(r, (uint32_t)n_pbest)].index * dim;
            avoid[1] = pick(r, np, avoid, 1);
            /* r2 from population and archive together, distinct from i and r1. */
            size_t r2 = pick(r, np + d->archived, avoid, 2);
            base = x;
            c = pb;
            a = d->pop + avoid[1] * dim;
            b = r2 < np ? d->pop + r2 * dim : d->archive + (r2 - np) * dim;
        } else {
            avoid[1] = pick(r, np, avoid, 1);
            avoid[2] = pick(r, np, avoid, 2);
            if (d->cfg.strategy == DECAM_STRATEGY_BEST1) {
                base = d->pop + d->best * dim;
                a = d->pop + avoid[1] * dim;
                b = d->pop + avoid[2] * dim;
            } else {
                avoid[3] = pick(r, np, avoid, 3);
                base = d->pop + avoid[1] * dim;
                a = d->pop + avoid[2] * dim;
                b = d->pop + avoid[3] * dim;
            }
        }
        size_t j_rand = decam__rng_below(r, (uint32_t)dim);
        for (size_t j = 0; j < dim; j++) {
            if (j != j_rand && decam__rng_uniform(r) >= d->cfg.cr) {
                u[j] = x[j];
                continue;
            }
            double v = base[j] + f * (a[j] - b[j]);
            if (c) v += f * (c[j] - base[j]);
            /* Bounce-back: land between the base vector and the bound. */
            if (v < 0.0)
                v = base[j] * decam__rng_uniform(r);
            else if (v > 1.0)
                v = base[j] + (1.0 - base[j]) * decam__rng_uniform(r);
            u[j] = v;
        }
    }
}

const double *decam__de_best(const de *d, double *fitness) {
    if (fitness) *fitness = d->fit[d->best];
    return d->pop + d->best * d->cfg.dim;
}

double decam__de_spread(const de *d) { return d->order[0].fit - d->order[d->cfg.np - 1].fit; }

double decam__de_mean_fitness(const de *d) {
    double sum = 0.0;
    for (size_t i = 0; i < d->cfg.np; i++)
        sum += d->fit[i];
    return sum / (double)d->cfg.np;
}
