/*
 * de.h - Differential Evolution over vectors in [0,1]^dim, ask/tell style.
 *
 * The engine knows vectors and fitness values, nothing of images. It
 * maximises. A run goes:
 *
 *     de_init_*()        the first generation is written into decam__de_trials()
 *     loop:
 *         evaluate the first n trials (n <= decam__de_size()) however the
 *             caller likes
 *         decam__de_tell(n, fitness)   selection, trial i against target i
 *         decam__de_ask()              the next trials from the population
 *
 * Updating is generation-synchronous ("deferred"): a whole generation of
 * trials is built from one population, so it can be scored as one batch.
 * Trials beyond the n evaluated are discarded, so a last, partial
 * generation is allowed.
 *
 * SHADE and L-SHADE (Tanabe & Fukunaga 2013, 2014) draw each trial's F and
 * CR from success-history memories of `memory` slots, which start at `f`
 * and `cr` and are updated after every tell from the trials that improved
 * on their targets. L-SHADE also shrinks the population linearly from np
 * to 4 over `max_evals` evaluations, dropping the worst, so a caller
 * evaluates decam__de_size() trials per generation, not np.
 */
#ifndef DECAM_DE_H
#define DECAM_DE_H

#include <stddef.h>

#include "alloc.h"
#include "decam.h"
#include "rng.h"

typedef struct de_config {
    size_t dim;              /* genes per vector, >= 1 */
    size_t np;               /* population size, >= 4 (L-SHADE: the initial size) */
    decam_strategy strategy; /* the public enum: no second list to keep in step */
    double f;                /* mutation factor; SHADE, L-SHADE: M_F's initial value */
    double f_dither;         /* per-trial F uniform in [f - d, f + d], clamped to [0, 2];
                                not used by SHADE and L-SHADE */
    double cr;               /* binomial crossover rate; SHADE, L-SHADE: M_CR's initial value */
    double pbest;            /* share of the population eligible as pbest: PBEST and L-SHADE
                                use it as is, SHADE draws each trial's share uniformly from
                                [2 / size, max(pbest, 2 / size)] */
    size_t memory;           /* SHADE, L-SHADE: H, slots of M_F and M_CR, >= 1 */
    uint64_t max_evals;      /* L-SHADE: evaluations the run will tell in all (the budget);
                                0 = unknown: the population keeps its size */
} de_config;

typedef struct de de;

/* Allocates an engine; NULL when memory runs out or the config is invalid
 * (dim < 1, np < 4, an unknown strategy; SHADE or L-SHADE with memory < 1,
 * f outside [0, 2] or cr outside [0, 1]). */
de *decam__de_create(const de_config *cfg, const decam_allocator *a);
void decam__de_free(de *d, const decam_allocator *a);

/* First generation: uniform, Latin hypercube (each gene's np values fall one
 * in each of np equal strata), or around `center` (trial 0 is center itself,
 * the others center + uniform noise in [-spread, spread], clamped). */
void decam__de_init_uniform(de *d, rng *r);
void decam__de_init_latin(de *d, rng *r);
void decam__de_init_around(de *d, rng *r, const double *center, double spread);

/* The trial vectors to evaluate: decam__de_size() rows of dim genes. */
const double *decam__de_trials(const de *d);

/* Rows of the population and of the trials to evaluate in this generation:
 * np, except with L-SHADE, whose decam__de_ask() may lower it (never
 * below 4). */
size_t decam__de_size(const de *d);

/* Hands back the fitness of trials 0..n-1 (n <= decam__de_size()). After the first
 * generation they form the population (unevaluated trials are filled from
 * evaluated ones, so the first tell needs n >= 1); afterwards each trial
 * replaces its target when its fitness is at least the target's. NaN
 * fitness is treated as -infinity. */
void decam__de_tell(de *d, size_t n, const double *fitness);

/* Builds the next generation of trials from the population. */
void decam__de_ask(de *d, rng *r);

/* The population (decam__de_size() rows of dim genes) and its fitness;
 * valid after the first decam__de_tell(). */
const double *decam__de_population(const de *d);
const double *decam__de_fitness(const de *d);

/* Best vector and fitness so far; valid after the first decam__de_tell(). */
const double *decam__de_best(const de *d, double *fitness);

/* Best minus worst fitness in the population. */
double decam__de_spread(const de *d);

/* Mean fitness of the population. */
double decam__de_mean_fitness(const de *d);

/* SHADE and L-SHADE, for tests: the memories M_F and M_CR (`memory` slots
 * each; an M_CR slot below 0 is L-SHADE's terminal value: CR = 0), the
 * slot the next update writes, and the F and CR each trial of the last
 * decam__de_ask() was built with. Returns H, or 0 (and sets nothing) for
 * the other strategies. */
size_t decam__de_memory(const de *d, const double **m_f, const double **m_cr, size_t *next,
                        const double **trial_f, const double **trial_cr);

#endif /* DECAM_DE_H */
