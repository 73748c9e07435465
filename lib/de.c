/* de.c - Differential Evolution: rand/1, best/1, current-to-pbest/1 (JADE),
 * and current-to-pbest/1 with success-history parameter adaptation (SHADE)
 * and linear population size reduction (L-SHADE); binomial crossover,
 * bounce-back bounds, deferred selection. */
#include "de.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* Tanabe & Fukunaga: the scale of the Cauchy and normal draws of F and CR,
 * L-SHADE's final population size, and the archive's size relative to the
 * population (1 in SHADE, 2.6 in L-SHADE). */
#define SHADE_SCALE     0.1
#define LSHADE_NP_MIN   4
#define SHADE_ARCHIVE   1.0
#define LSHADE_ARCHIVE  2.6
#define LSHADE_TERMINAL (-1.0) /* an M_CR slot whose trials all succeeded with CR 0 */

typedef struct ranked {
    double fit;
    size_t index;
} ranked;

struct de {
    de_config cfg;
    size_t size;         /* rows in use: np, fewer once L-SHADE has shrunk it */
    double *pop;         /* np * dim */
    double *fit;         /* np */
    double *trials;      /* np * dim */
    double *archive;     /* archive_rows * dim: parents replaced by better trials (JADE) */
    size_t archive_rows; /* allocated */
    size_t archived;     /* rows in use */
    size_t archive_next; /* PBEST, once full: the row to overwrite next (the oldest) */
    ranked *order;       /* np: population ranked best first */
    size_t best;
    int started; /* the first decam__de_tell() has happened */
    /* SHADE and L-SHADE only (NULL otherwise). */
    double *m_f, *m_cr;         /* memory: H slots each */
    size_t m_next;              /* the slot the next update writes */
    double *trial_f, *trial_cr; /* np: the F and CR trial i was built with */
    double *gain;               /* np: trial i's improvement on its target, 0 if none */
    size_t *archive_slot;       /* np: where trial i's parent goes in a full archive */
    uint64_t evals;             /* trials told since the first generation, included */
};

static int adaptive(const de *d) {
    return d->cfg.strategy == DECAM_STRATEGY_SHADE || d->cfg.strategy == DECAM_STRATEGY_LSHADE;
}

static int keeps_archive(const de *d) {
    return d->cfg.strategy == DECAM_STRATEGY_PBEST || adaptive(d);
}

/* Rows the archive may hold with a population of `size`. */
static size_t archive_limit(const de *d, size_t size) {
    if (d->cfg.strategy == DECAM_STRATEGY_LSHADE) return (size_t)(LSHADE_ARCHIVE * size + 0.5);
    return (size_t)(SHADE_ARCHIVE * size + 0.5);
}

de *decam__de_create(const de_config *cfg, const decam_allocator *a) {
    if (cfg->dim < 1 || cfg->np < 4 || (unsigned)cfg->strategy >= DECAM_STRATEGY_COUNT) return NULL;
    de *d = mem_calloc(a, 1, sizeof *d);
    if (!d) return NULL;
    d->cfg = *cfg;
    d->size = cfg->np;
    /* The memories start at F and CR: an F that is not in [0, 2] could keep
     * the Cauchy draw of a positive F from ending. */
    if (adaptive(d) && (cfg->memory < 1 || !(cfg->f >= 0.0 && cfg->f <= 2.0) ||
                        !(cfg->cr >= 0.0 && cfg->cr <= 1.0))) {
        mem_free(a, d);
        return NULL;
    }
    const size_t np = cfg->np, dim = cfg->dim;
    d->archive_rows = archive_limit(d, np);
    d->pop = mem_alloc(a, np * dim, sizeof *d->pop);
    d->trials = mem_alloc(a, np * dim, sizeof *d->trials);
    d->archive = mem_alloc(a, d->archive_rows * dim, sizeof *d->archive);
    d->fit = mem_alloc(a, np, sizeof *d->fit);
    d->order = mem_alloc(a, np, sizeof *d->order);
    int failed = !d->pop || !d->trials || !d->archive || !d->fit || !d->order;
    if (!failed && adaptive(d)) {
        d->m_f = mem_alloc(a, cfg->memory, sizeof *d->m_f);
        d->m_cr = mem_alloc(a, cfg->memory, sizeof *d->m_cr);
        d->trial_f = mem_calloc(a, np, sizeof *d->trial_f);
        d->trial_cr = mem_calloc(a, np, sizeof *d->trial_cr);
        d->gain = mem_calloc(a, np, sizeof *d->gain);
        d->archive_slot = mem_calloc(a, np, sizeof *d->archive_slot);
        failed = !d->m_f || !d->m_cr || !d->trial_f || !d->trial_cr || !d->gain || !d->archive_slot;
    }
    if (failed) {
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
    mem_free(a, d->m_f);
    mem_free(a, d->m_cr);
    mem_free(a, d->trial_f);
    mem_free(a, d->trial_cr);
    mem_free(a, d->gain);
    mem_free(a, d->archive_slot);
    mem_free(a, d);
}

static double clamp01(double v) { return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v; }

/* A new run: the next tell takes the trials as the first population. */
static void restart(de *d) {
    d->started = 0;
    d->size = d->cfg.np;
    d->archived = d->archive_next = 0;
    d->evals = 0;
    d->m_next = 0;
    for (size_t k = 0; adaptive(d) && k < d->cfg.memory; k++) {
        d->m_f[k] = d->cfg.f;
        d->m_cr[k] = d->cfg.cr;
    }
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
size_t decam__de_size(const de *d) { return d->size; }

static double sane(double f) { return isnan(f) ? -INFINITY : f; }

/* Best first; ties by index, so the order (and so the run) is the same on
 * every C library. */
static int by_fitness(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->fit != y->fit) return x->fit > y->fit ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index ? 1 : 0;
}

static void rank_population(de *d) {
    for (size_t i = 0; i < d->size; i++)
        d->order[i] = (ranked){d->fit[i], i};
    qsort(d->order, d->size, sizeof *d->order, by_fitness);
    d->best = d->order[0].index;
}

static void copy_row(double *dst, const double *src, size_t dim) {
    for (size_t j = 0; j < dim; j++)
        dst[j] = src[j];
}

/* Keeps parent i, about to be replaced by a better trial. JADE's archive
 * overwrites its oldest member once full; SHADE's a random one, drawn when
 * the trial was built (decam__de_ask() has the generator, tell has not). */
static void archive_parent(de *d, size_t i) {
    const size_t dim = d->cfg.dim;
    size_t slot;
    if (!adaptive(d))
        slot = d->archived < d->cfg.np ? d->archived++ : d->archive_next++ % d->cfg.np;
    else if (d->archived < archive_limit(d, d->size))
        slot = d->archived++;
    else
        slot = d->archive_slot[i];
    copy_row(d->archive + slot * dim, d->pop + i * dim, dim);
}

/* SHADE's memory update after a generation: slot m_next becomes the
 * weighted Lehmer mean of the successful trials' F, and their weighted
 * arithmetic mean of CR (L-SHADE: the weighted Lehmer mean too, or the
 * terminal value when every successful CR was 0 or the slot was terminal),
 * the weights proportional to each trial's improvement. No success: no
 * update, and the slot stays next. */
static void update_memory(de *d, size_t n) {
    double top = 0.0;
    for (size_t i = 0; i < n; i++) {
        /* An improvement on -infinity is infinite: weigh it as the largest. */
        if (d->gain[i] > DBL_MAX) d->gain[i] = DBL_MAX;
        if (d->gain[i] > top) top = d->gain[i];
    }
    if (top == 0.0) return;
    double w_sum = 0.0, wf = 0.0, wf2 = 0.0, wcr = 0.0, wcr2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        double w = d->gain[i] / top; /* scaled by the largest: no overflow */
        w_sum += w;
        wf += w * d->trial_f[i];
        wf2 += w * d->trial_f[i] * d->trial_f[i];
        wcr += w * d->trial_cr[i];
        wcr2 += w * d->trial_cr[i] * d->trial_cr[i];
    }
    const size_t k = d->m_next;
    d->m_f[k] = wf2 / wf; /* F > 0 for every trial, so wf > 0 */
    if (d->cfg.strategy == DECAM_STRATEGY_SHADE)
        d->m_cr[k] = wcr / w_sum;
    else
        d->m_cr[k] = d->m_cr[k] < 0.0 || wcr == 0.0 ? LSHADE_TERMINAL : wcr2 / wcr;
    d->m_next = (k + 1) % d->cfg.memory;
}

void decam__de_tell(de *d, size_t n, const double *fitness) {
    const size_t np = d->cfg.np, dim = d->cfg.dim;
    if (n > d->size) n = d->size;
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
            if (adaptive(d)) d->gain[i] = f > d->fit[i] ? f - d->fit[i] : 0.0;
            if (f < d->fit[i]) continue;
            if (f > d->fit[i] && keeps_archive(d)) archive_parent(d, i);
            copy_row(d->pop + i * dim, d->trials + i * dim, dim);
            d->fit[i] = f;
        }
        if (adaptive(d)) update_memory(d, n);
    }
    d->evals += n;
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

/* Binomial crossover of target x with mutant base + f (a - b) [+ f (c -
 * base)] into trial u, with bounce-back into [0,1]. */
static void cross(const de *d, rng *r, double *u, const double *x, const double *base,
                  const double *a, const double *b, const double *c, double f, double cr) {
    const size_t dim = d->cfg.dim;
    size_t j_rand = decam__rng_below(r, (uint32_t)dim);
    for (size_t j = 0; j < dim; j++) {
        if (j != j_rand && decam__rng_uniform(r) >= cr) {
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

/* L-SHADE's schedule: the population size once `evals` of max_evals
 * evaluations are spent, falling linearly from np to LSHADE_NP_MIN. */
static size_t lshade_size(const de *d) {
    const double np = (double)d->cfg.np, left = np - LSHADE_NP_MIN;
    if (d->cfg.max_evals == 0) return d->cfg.np;
    double done = (double)d->evals / (double)d->cfg.max_evals;
    if (done > 1.0) done = 1.0;
    return (size_t)(np - left * done + 0.5);
}

/* L-SHADE: drops the worst members down to the schedule's size (survivors
 * keep their order), then random archive members down to the archive's
 * new limit. */
static void lshade_shrink(de *d, rng *r) {
    const size_t dim = d->cfg.dim;
    size_t target = lshade_size(d);
    if (target < LSHADE_NP_MIN) target = LSHADE_NP_MIN;
    if (target < d->size) {
        /* fit holds no NaN (sane() maps it to -infinity): NaN marks a
         * dropped member. */
        for (size_t k = target; k < d->size; k++)
            d->fit[d->order[k].index] = NAN;
        size_t kept = 0;
        for (size_t i = 0; i < d->size; i++) {
            if (isnan(d->fit[i])) continue;
            if (kept != i) copy_row(d->pop + kept * dim, d->pop + i * dim, dim);
            d->fit[kept++] = d->fit[i];
        }
        d->size = target;
        rank_population(d);
    }
    const size_t limit = archive_limit(d, d->size);
    while (d->archived > limit) {
        size_t gone = decam__rng_below(r, (uint32_t)d->archived);
        d->archived--;
        copy_row(d->archive + gone * dim, d->archive + d->archived * dim, dim);
    }
}

/* Trial i's F and CR from a random memory slot: F ~ Cauchy(M_F, 0.1),
 * drawn again while not positive and cut at 1; CR ~ N(M_CR, 0.1) clipped
 * to [0,1], or 0 from L-SHADE's terminal slot. */
static void shade_draw(const de *d, rng *r, double *f, double *cr) {
    const size_t k = decam__rng_below(r, (uint32_t)d->cfg.memory);
    *cr = d->m_cr[k] < 0.0 ? 0.0 : clamp01(d->m_cr[k] + SHADE_SCALE * decam__rng_normal(r));
    do
        *f = d->m_f[k] + SHADE_SCALE * tan(3.14159265358979323846 * (decam__rng_uniform(r) - 0.5));
    while (!(*f > 0.0));
    if (*f > 1.0) *f = 1.0;
}

/* SHADE and L-SHADE: current-to-pbest/1 with archive, each trial with its
 * own F, CR and (SHADE) pbest share. */
static void shade_ask(de *d, rng *r) {
    if (d->cfg.strategy == DECAM_STRATEGY_LSHADE) lshade_shrink(d, r);
    const size_t n = d->size, dim = d->cfg.dim, limit = archive_limit(d, n);
    const double p_min = 2.0 / (double)n;
    const double p_max = d->cfg.pbest > p_min ? d->cfg.pbest : p_min;
    for (size_t i = 0; i < n; i++) {
        double f, cr;
        shade_draw(d, r, &f, &cr);
        double p = d->cfg.pbest;
        if (d->cfg.strategy == DECAM_STRATEGY_SHADE)
            p = p_min + (p_max - p_min) * decam__rng_uniform(r);
        size_t n_pbest = (size_t)(p * (double)n + 0.5);
        if (n_pbest < 2) n_pbest = 2;
        if (n_pbest > n) n_pbest = n;
        const double *pb = d->pop + d->order[decam__rng_below(r, (uint32_t)n_pbest)].index * dim;
        size_t avoid[2] = {i, 0};
        avoid[1] = pick(r, n, avoid, 1);
        size_t r2 = pick(r, n + d->archived, avoid, 2);
        const double *x = d->pop + i * dim;
        const double *b = r2 < n ? d->pop + r2 * dim : d->archive + (r2 - n) * dim;
        cross(d, r, d->trials + i * dim, x, x, d->pop + avoid[1] * dim, b, pb, f, cr);
        d->trial_f[i] = f;
        d->trial_cr[i] = cr;
        d->archive_slot[i] = limit ? decam__rng_below(r, (uint32_t)limit) : 0;
    }
}

void decam__de_ask(de *d, rng *r) {
    if (adaptive(d)) {
        shade_ask(d, r);
        return;
    }
    const size_t np = d->cfg.np, dim = d->cfg.dim;
    size_t n_pbest = (size_t)ceil(d->cfg.pbest * np);
    if (n_pbest < 1) n_pbest = 1;
    if (n_pbest > np) n_pbest = np;
    for (size_t i = 0; i < np; i++) {
        const double *x = d->pop + i * dim;
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
        cross(d, r, d->trials + i * dim, x, base, a, b, c, f, d->cfg.cr);
    }
}

const double *decam__de_best(const de *d, double *fitness) {
    if (fitness) *fitness = d->fit[d->best];
    return d->pop + d->best * d->cfg.dim;
}

double decam__de_spread(const de *d) { return d->order[0].fit - d->order[d->size - 1].fit; }

double decam__de_mean_fitness(const de *d) {
    double sum = 0.0;
    for (size_t i = 0; i < d->size; i++)
        sum += d->fit[i];
    return sum / (double)d->size;
}

size_t decam__de_memory(const de *d, const double **m_f, const double **m_cr, size_t *next,
                        const double **trial_f, const double **trial_cr) {
    if (!adaptive(d)) return 0;
    if (m_f) *m_f = d->m_f;
    if (m_cr) *m_cr = d->m_cr;
    if (next) *next = d->m_next;
    if (trial_f) *trial_f = d->trial_f;
    if (trial_cr) *trial_cr = d->trial_cr;
    return d->cfg.memory;
}
