/* params.c - one table describes every parameter; the API functions read it. */
#include "params.h"

#include <math.h>

#include "context.h"

typedef struct param_info {
    const char *name;
    double lower, upper, def;
    int whole; /* 1: the value must be a whole number */
} param_info;

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
    [DECAM_PARAM_RISE_GRID] = {"rise_grid", 2, 64, 7, 1},
    [DECAM_PARAM_RISE_KEEP] = {"rise_keep", 0.01, 0.99, 0.5, 0},
    [DECAM_PARAM_OCCLUSION_WINDOW] = {"occlusion_window", 0, 65536, 0, 1},
    [DECAM_PARAM_OCCLUSION_STRIDE] = {"occlusion_stride", 0, 65536, 0, 1},
    [DECAM_PARAM_RIDGE] = {"ridge", 0, 1000, 0.1, 0},
    [DECAM_PARAM_BINARY_MASKS] = {"binary_masks", 0, 1, 1, 1},
    [DECAM_PARAM_MASK_SHIFT] = {"mask_shift", 0, 1, 1, 1},
};

static const param_info *lookup(decam_param param) {
    if ((int)param < 1 || (int)param > DECAM_PARAM_LAST) return NULL;
    return &PARAMS[param];
}

void params_set_defaults(double *params) {
    params[0] = 0;
    for (int k = 1; k <= DECAM_PARAM_LAST; k++)
        params[k] = PARAMS[k].def;
}

decam_status decam_param_bounds(decam_param param, double *lower, double *upper, double *def) {
    const param_info *p = lookup(param);
    if (!p) return DECAM_ERR_UNKNOWN_PARAM;
    if (lower) *lower = p->lower;
    if (upper) *upper = p->upper;
    if (def) *def = p->def;
    return DECAM_OK;
}

const char *decam_param_name(decam_param param) {
    const param_info *p = lookup(param);
    return p ? p->name : NULL;
}

decam_status decam_set_param(decam_ctx *ctx, decam_param param, double value) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    ctx_clear_error(ctx);
    const param_info *p = lookup(param);
    FAIL_IF(!p, ctx, DECAM_ERR_UNKNOWN_PARAM,
            "decam_set_param: no parameter has key %d (keys are 1..%d)", (int)param,
            DECAM_PARAM_LAST);
    FAIL_IF(ctx->busy, ctx, DECAM_ERR_BUSY,
            "decam_set_param: %s cannot change inside decam_explain()", p->name);
    FAIL_IF(!(value >= p->lower && value <= p->upper), ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s = %g is outside its range [%g, %g]", p->name, value, p->lower, p->upper);
    FAIL_IF(p->whole && value != floor(value), ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s = %g must be a whole number in [%g, %g]", p->name, value, p->lower, p->upper);
    ctx->params[param] = value;
    return DECAM_OK;
}

decam_status decam_get_param(const decam_ctx *ctx, decam_param param, double *value) {
    if (!ctx || !value) return DECAM_ERR_INVALID_ARGUMENT;
    if (!lookup(param)) return DECAM_ERR_UNKNOWN_PARAM;
    *value = ctx->params[param];
    return DECAM_OK;
}

decam_status decam_set_image_layout(decam_ctx *ctx, decam_layout layout) {
    return decam_set_param(ctx, DECAM_PARAM_LAYOUT, (double)layout);
}

decam_status decam_reset_params(decam_ctx *ctx) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    ctx_clear_error(ctx);
    FAIL_IF(ctx->busy, ctx, DECAM_ERR_BUSY,
            "decam_reset_params: not allowed inside decam_explain()");
    params_set_defaults(ctx->params);
    return DECAM_OK;
}

decam_status params_check_image_size(decam_ctx *ctx, const char *who, int width, int height,
                                     int channels, size_t *values) {
    FAIL_IF(width < 1 || height < 1 || channels < 1, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: size %d x %d x %d must be positive", who, width, height, channels);
    FAIL_IF(width > PARAMS_MAX_SIDE || height > PARAMS_MAX_SIDE, ctx, DECAM_ERR_TOO_LARGE,
            "%s: %d x %d exceeds the largest side, %d", who, width, height, PARAMS_MAX_SIDE);
    FAIL_IF(channels > PARAMS_MAX_CHANNELS, ctx, DECAM_ERR_TOO_LARGE,
            "%s: %d channels exceed the limit, %d", who, channels, PARAMS_MAX_CHANNELS);
    size_t n = (size_t)width * (size_t)height * (size_t)channels;
    FAIL_IF(n > PARAMS_MAX_VALUES, ctx, DECAM_ERR_TOO_LARGE,
            "%s: %d x %d x %d = %zu values exceed the limit, %zu", who, width, height, channels, n,
            PARAMS_MAX_VALUES);
    *values = n;
    return DECAM_OK;
}
