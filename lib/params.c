/* params.c - one table describes every parameter: name, bounds, default.
 * A pure table: it knows no context (the API functions that read it are in
 * context.c). */
#include "params.h"

/* Indexed by decam_param; entry 0 is unused. Why each default is what it is
 * is written beside the key in decam.h. */
static const param_info PARAMS[DECAM_PARAM_LAST + 1] = {
    [DECAM_PARAM_GRID_WIDTH] = {"grid_width", 1, 64, 7, 1},
    [DECAM_PARAM_GRID_HEIGHT] = {"grid_height", 1, 64, 7, 1},
    [DECAM_PARAM_POPULATION] = {"population", 4, 4096, 48, 1},
    [DECAM_PARAM_BUDGET] = {"budget", 1, 1e9, 1000, 1},
    [DECAM_PARAM_MAX_GENERATIONS] = {"max_generations", 0, 1e9, 0, 1},
    [DECAM_PARAM_STRATEGY] = {"strategy", 0, 2, DECAM_STRATEGY_PBEST, 1},
    [DECAM_PARAM_F] = {"f", 0, 2, 0.5, 0},
    [DECAM_PARAM_CR] = {"cr", 0, 1, 0.5, 0},
    [DECAM_PARAM_F_DITHER] = {"f_dither", 0, 1, 0.2, 0},
    [DECAM_PARAM_SEED] = {"seed", 0, 9007199254740991.0, 0, 1},
    [DECAM_PARAM_BATCH_SIZE] = {"batch_size", 0, 65536, 0, 1},
    [DECAM_PARAM_OBJECTIVE] = {"objective", 0, 2, DECAM_OBJECTIVE_PRESERVE, 1},
    [DECAM_PARAM_AREA_WEIGHT] = {"area_weight", 0, 1000, 0.5, 0},
    [DECAM_PARAM_TV_WEIGHT] = {"tv_weight", 0, 1000, 0, 0},
    [DECAM_PARAM_BASELINE] = {"baseline", 0, 4, DECAM_BASELINE_BLUR, 1},
    [DECAM_PARAM_BASELINE_VALUE] = {"baseline_value", -1e9, 1e9, 0, 0},
    [DECAM_PARAM_BASELINE_SIGMA] = {"baseline_sigma", 0.1, 1000, 16, 0},
    [DECAM_PARAM_UPSAMPLE] = {"upsample", 0, 2, DECAM_UPSAMPLE_BILINEAR, 1},
    [DECAM_PARAM_SMOOTHING] = {"smoothing", 0, 1000, 0, 0},
    [DECAM_PARAM_ASSEMBLY] = {"assembly", 0, 3, DECAM_ASSEMBLY_ALL_EVALUATED, 1},
    [DECAM_PARAM_INIT] = {"init", 0, 2, DECAM_INIT_LATIN_HYPERCUBE, 1},
    [DECAM_PARAM_TOLERANCE] = {"tolerance", 0, 1e9, 0, 0},
    [DECAM_PARAM_TARGET] = {"target", 0, 65535, 0, 1},
    [DECAM_PARAM_N_OUTPUTS] = {"n_outputs", 1, 65536, 1, 1},
    [DECAM_PARAM_LAYOUT] = {"layout", 0, 1, DECAM_LAYOUT_HWC, 1},
    [DECAM_PARAM_PBEST] = {"pbest", 0, 1, 0.2, 0},
    [DECAM_PARAM_PRIOR_SPREAD] = {"prior_spread", 0, 1, 0.25, 0},
    [DECAM_PARAM_EVAL_STEP] = {"eval_step", 0, 2147483647.0, 0, 1},
    [DECAM_PARAM_EVAL_DELETION_VALUE] = {"eval_deletion_value", -1e9, 1e9, 0, 0},
    [DECAM_PARAM_EVAL_INSERTION_SIGMA] = {"eval_insertion_sigma", 0.1, 1000, 5, 0},
    [DECAM_PARAM_METHOD] = {"method", 0, 2, DECAM_METHOD_DECAM, 1},
    [DECAM_PARAM_THREADS] = {"threads", 1, 64, 1, 1},
    [DECAM_PARAM_RISE_GRID] = {"rise_grid", 1, 64, 7, 1},
    [DECAM_PARAM_RISE_KEEP] = {"rise_keep", 0.01, 1, 0.5, 0},
    [DECAM_PARAM_OCCLUSION_WINDOW] = {"occlusion_window", 0, 65536, 0, 1},
    [DECAM_PARAM_OCCLUSION_STRIDE] = {"occlusion_stride", 0, 65536, 0, 1},
    [DECAM_PARAM_RIDGE] = {"ridge", 0, 1000, 0.1, 0},
    [DECAM_PARAM_BINARY_MASKS] = {"binary_masks", 0, 1, 1, 1},
    [DECAM_PARAM_MASK_SHIFT] = {"mask_shift", 0, 1, 1, 1},
};

const param_info *params_info(decam_param param) {
    if ((int)param < 1 || (int)param > DECAM_PARAM_LAST) return NULL;
    return &PARAMS[param];
}

void params_set_defaults(double *params) {
    params[0] = 0;
    for (int k = 1; k <= DECAM_PARAM_LAST; k++)
        params[k] = PARAMS[k].def;
}
