/*
 * params.h - the parameter table: names, bounds, defaults and the names of
 * enum values; and the image-size limits shared by every entry point that
 * takes an image. A pure table: includes only the public header.
 */
#ifndef DECAM_PARAMS_H
#define DECAM_PARAMS_H

#include <stddef.h>

#include "decam.h"

#define PARAMS_MAX_SIDE     65536
#define PARAMS_MAX_CHANNELS 64
#define PARAMS_MAX_VALUES   ((size_t)2147483647) /* values of one image */

/* Every parameter once, in key order: X(KEY, name, lower, upper, default,
 * whole, value names). Bounds of enum parameters come from their _COUNT
 * sentinels. Why each default is what it is is written beside the key in
 * decam.h. */
#define PARAMS_TABLE(X)                                                                            \
    X(METHOD, "method", 0, DECAM_METHOD_COUNT - 1, DECAM_METHOD_DECAM, 1, METHOD_NAMES)            \
    X(BUDGET, "budget", 1, 1e9, 1000, 1, NULL)                                                     \
    X(SEED, "seed", 0, 9007199254740991.0, 0, 1, NULL)                                             \
    X(BATCH_SIZE, "batch_size", 0, 65536, 0, 1, NULL)                                              \
    X(THREADS, "threads", 1, 64, 1, 1, NULL)                                                       \
    X(TARGET, "target", 0, 65535, 0, 1, NULL)                                                      \
    X(N_OUTPUTS, "n_outputs", 1, 16777216, 1, 1, NULL)                                             \
    X(LAYOUT, "layout", 0, DECAM_LAYOUT_COUNT - 1, DECAM_LAYOUT_HWC, 1, LAYOUT_NAMES)              \
    X(BASELINE, "baseline", 0, DECAM_BASELINE_COUNT - 1, DECAM_BASELINE_BLUR, 1, BASELINE_NAMES)   \
    X(BASELINE_VALUE, "baseline_value", -1e9, 1e9, 0, 0, NULL)                                     \
    X(BASELINE_SIGMA, "baseline_sigma", 0, 1000, 0, 0, NULL)                                    \
    X(UPSAMPLE, "upsample", 0, DECAM_UPSAMPLE_COUNT - 1, DECAM_UPSAMPLE_BILINEAR, 1,               \
      UPSAMPLE_NAMES)                                                                              \
    X(SMOOTHING, "smoothing", 0, 1000, 0, 0, NULL)                                                 \
    X(GRID_WIDTH, "grid_width", 0, 64, 0, 1, NULL)                                                 \
    X(GRID_HEIGHT, "grid_height", 0, 64, 0, 1, NULL)                                               \
    X(POPULATION, "population", 0, 4096, 0, 1, NULL)                                                \
    X(MAX_GENERATIONS, "max_generations", 0, 1e9, 0, 1, NULL)                                      \
    X(STRATEGY, "strategy", 0, DECAM_STRATEGY_COUNT - 1, DECAM_STRATEGY_PBEST, 1, STRATEGY_NAMES)  \
    X(F, "f", 0, 2, 0.5, 0, NULL)                                                                  \
    X(CR, "cr", 0, 1, 0.5, 0, NULL)                                                                \
    X(F_DITHER, "f_dither", 0, 1, 0.2, 0, NULL)                                                    \
    X(PBEST, "pbest", 0, 1, 0.2, 0, NULL)                                                          \
    X(OBJECTIVE, "objective", 0, DECAM_OBJECTIVE_COUNT - 1, DECAM_OBJECTIVE_PRESERVE, 1,           \
      OBJECTIVE_NAMES)                                                                             \
    X(AREA_WEIGHT, "area_weight", 0, 1000, 0.5, 0, NULL)                                           \
    X(TV_WEIGHT, "tv_weight", 0, 1000, 0, 0, NULL)                                                 \
    X(ASSEMBLY, "assembly", 0, DECAM_ASSEMBLY_COUNT - 1, DECAM_ASSEMBLY_ALL_EVALUATED, 1,          \
      ASSEMBLY_NAMES)                                                                              \
    X(INIT, "init", 0, DECAM_INIT_COUNT - 1, DECAM_INIT_LATIN_HYPERCUBE, 1, INIT_NAMES)            \
    X(PRIOR_SPREAD, "prior_spread", 0, 1, 0.25, 0, NULL)                                           \
    X(TOLERANCE, "tolerance", 0, 1e9, 0, 0, NULL)                                                  \
    X(FOLLOW, "follow", 0, DECAM_FOLLOW_COUNT - 1, DECAM_FOLLOW_FIRST, 1, FOLLOW_NAMES)             \
    X(RISE_GRID, "rise_grid", 2, 64, 7, 1, NULL)                                                   \
    X(RISE_KEEP, "rise_keep", 0.01, 0.99, 0.5, 0, NULL)                                            \
    X(OCCLUSION_WINDOW, "occlusion_window", 0, 65536, 0, 1, NULL)                                  \
    X(OCCLUSION_STRIDE, "occlusion_stride", 0, 65536, 0, 1, NULL)                                  \
    X(EVAL_STEP, "eval_step", 0, 2147483647.0, 0, 1, NULL)                                         \
    X(EVAL_DELETION_VALUE, "eval_deletion_value", -1e9, 1e9, 0, 0, NULL)                           \
    X(EVAL_INSERTION_SIGMA, "eval_insertion_sigma", 0.1, 1000, 5, 0, NULL)                         \
    X(RIDGE, "ridge", 0, 1000, 0.1, 0, NULL)                                                       \
    X(BINARY_MASKS, "binary_masks", 0, 1, 1, 1, NULL)                                              \
    X(MASK_SHIFT, "mask_shift", 0, 1, 1, 1, NULL)                                                  \
    X(SHADE_MEMORY, "shade_memory", 1, 4096, 6, 1, NULL)                                           \
    X(REFINE_COARSE_GRID, "refine_coarse_grid", 0, 64, 0, 1, NULL)                                 \
    X(REFINE_COARSE_SHARE, "refine_coarse_share", 0, 1, 0.25, 0, NULL)                             \
    X(REFINE_MIDDLE_GRID, "refine_middle_grid", 0, 64, 0, 1, NULL)                                 \
    X(REFINE_MIDDLE_SHARE, "refine_middle_share", 0, 1, 0.5, 0, NULL)                              \
    X(PRIOR_PASS_QUERIES, "prior_pass_queries", 0, 1e9, 0, 1, NULL)                                \
    X(PRIOR_PASS_GRID, "prior_pass_grid", 2, 64, 7, 1, NULL)                                       \
    X(PRIOR_PASS_KEEP, "prior_pass_keep", 0.01, 0.99, 0.5, 0, NULL)                                \
    X(EXPLORE_SHARE, "explore_share", 0, 1, 0, 0, NULL)                                            \
    X(FUSE_GAMES, "fuse_games", 0, 2, 0, 1, NULL)                                                  \
    X(DROP_BLACK, "drop_black", 0, 1, 0, 1, NULL)                                                  \
    X(KEEP_TARGET, "keep_target", 0, 1, 0, 0, NULL)                                               \
    X(SEARCHES, "searches", 0, 64, 0, 1, NULL)                                                     \
    X(RESTART_FROM_BEST, "restart_from_best", 0, 1, 0, 1, NULL)                                    \
    X(REMOVAL_SHARE, "removal_share", -1, 0.9, -1, 0, NULL)                                          \
    X(REMOVAL_WEIGHT, "removal_weight", 0, 1, 0.35, 0, NULL)                                        \
    X(REMOVAL_MIX, "removal_mix", 0, 2, 0, 1, NULL)                                        \
    X(REMOVAL_SMOOTHING, "removal_smoothing", 0, 8, 1, 0, NULL)                                    \
    X(DELETION_STEPS, "deletion_steps", 0, 64, 4, 1, NULL)                                         \
    X(DELETION_CELLS, "deletion_cells", 1, 256, 16, 1, NULL)

/* The slot of each parameter in a context's value array: PS_BUDGET, ... */
typedef enum param_slot {
#define PARAMS_SLOT_(key, ...) PS_##key,
    PARAMS_TABLE(PARAMS_SLOT_)
#undef PARAMS_SLOT_
        PARAM_SLOTS
} param_slot;

typedef struct param_info {
    decam_param key;
    const char *name;
    double lower, upper, def;
    int whole;                 /* 1: the value must be a whole number */
    const char *const *values; /* enum parameters: the name of each value */
} param_info;

/* The row of a parameter; NULL for an unknown key. */
const param_info *decam__params_info(decam_param param);

/* The row in slot `slot` (0 .. PARAM_SLOTS - 1). */
const param_info *decam__params_row(int slot);

/* The slot of a key, -1 for an unknown key. */
int decam__params_slot(decam_param param);

/* The row of the parameter called `name`; NULL if none is. */
const param_info *decam__params_by_name(const char *name);

/* Writes every parameter's default into params[0 .. PARAM_SLOTS - 1]. */
void decam__params_set_defaults(double *params);

#endif /* DECAM_PARAMS_H */
