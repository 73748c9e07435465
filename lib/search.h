/*
 * search.h - DE-CAM's search as a method (method.h): its config, built
 * from the parameters by its table row, and the search itself, which a
 * test can run on a run of its own.
 */
#ifndef DECAM_SEARCH_H
#define DECAM_SEARCH_H

#include "de.h"
#include "method.h"

typedef struct search_config {
    int gw, gh;   /* the gene grid */
    de_config de; /* strategy, F, CR, dithering, pbest, SHADE memory; dim, np, max_evals too */
    decam_objective objective;
    int binary, shifted; /* DECAM_PARAM_BINARY_MASKS, DECAM_PARAM_MASK_SHIFT */
    decam_upsample upsample;
    decam_assembly assembly;
    decam_init init;
    double area_weight, tv_weight;
    double prior_spread;
    const float *prior; /* DECAM_INIT_PRIOR: the map, prior_w x prior_h */
    int prior_w, prior_h;
    double max_generations; /* 0: no limit */
    double tolerance;       /* 0: never */
    double ridge;           /* DECAM_ASSEMBLY_REGRESSION */
} search_config;

/* The config the parameters describe. */
void decam__search_configure(const double *params, const method_inputs *in, search_config *cfg);

/* Queries the search needs at the least: one generation and the fixed
 * three. */
uint64_t decam__search_min_queries(const search_config *cfg);

/* Runs the search on r until a stopping rule fires; r->map and the raw
 * map hold the result, also after a cancellation. */
decam_status decam__search_run(run *r, const search_config *cfg);

#endif /* DECAM_SEARCH_H */
