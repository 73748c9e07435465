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
    decam_follow follow;    /* with several targets: what the fitness reads */
    double ridge;           /* DECAM_ASSEMBLY_REGRESSION */
    /* Experimental (decam.h, keys 1010 ..), all off by default. */
    int coarse_grid, middle_grid;      /* refining grids' sides before gw x gh; 0: none */
    double coarse_share, middle_share; /* of the method's queries, where each ends */
    double prior_pass_queries;         /* the prior pass's queries; 0: none */
    int prior_pass_grid;
    double prior_pass_keep;
    double explore_share; /* of the method's queries: the exploring phase; 0: none */
    int fuse;             /* 0: one map of the summed games; 1: mean, 2: product of the two */
    int drop_black;       /* the removed-region images against black */
    double keep_target;   /* 0: the area term is the mean gene; else |mean - target| */
    int searches;         /* the last grid's DE in this many searches, in turn */
    int restart_best;     /* 1: each search after the first starts around the last's best */
    double removal_share; /* of the method's queries, last: the removal refinement; 0: none */
    double removal_weight;   /* the removal map's weight in the final map */
    int removal_mix;          /* 0: scaled maps, fixed weight; 1: agreement's; 2: score units */
    double removal_smoothing; /* the removal map's Gaussian, in cells */
    int deletion_steps;       /* the deletion steps inside the removal's share; 0: none */
    int deletion_cells;       /* the cells they choose among: the map's highest */
    float deletion_value;     /* what a deleted cell's values become */
} search_config;

/* The config the parameters describe. */
void decam__search_configure(const double *params, const method_inputs *in, search_config *cfg);

/* Queries the search needs at the least: one generation and the fixed
 * three. */
uint64_t decam__search_min_queries(const search_config *cfg);

#endif /* DECAM_SEARCH_H */
