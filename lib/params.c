/* params.c - one table describes every parameter: name, bounds, default,
 * the names of enum values. A pure table: it knows no context (the API
 * functions that read it are in context.c). */
#include "params.h"

#include <string.h>

#include "methods.h"

static const char *const METHOD_NAMES[DECAM_METHOD_COUNT] = {
#define METHOD_NAME_(id, name) [DECAM_METHOD_##id] = #name,
    METHODS_LIST(METHOD_NAME_)
#undef METHOD_NAME_
};
static const char *const LAYOUT_NAMES[DECAM_LAYOUT_COUNT] = {"hwc", "chw"};
static const char *const BASELINE_NAMES[DECAM_BASELINE_COUNT] = {"constant", "mean", "blur",
                                                                 "noise", "image"};
static const char *const UPSAMPLE_NAMES[DECAM_UPSAMPLE_COUNT] = {"nearest", "bilinear", "bicubic"};
static const char *const STRATEGY_NAMES[DECAM_STRATEGY_COUNT] = {"rand1", "best1", "pbest", "shade",
                                                                 "lshade"};
static const char *const OBJECTIVE_NAMES[DECAM_OBJECTIVE_COUNT] = {"preserve", "delete", "both"};
static const char *const ASSEMBLY_NAMES[DECAM_ASSEMBLY_COUNT] = {"best", "population",
                                                                 "all_evaluated", "regression"};
static const char *const INIT_NAMES[DECAM_INIT_COUNT] = {"uniform", "latin_hypercube", "prior"};
static const char *const FOLLOW_NAMES[DECAM_FOLLOW_COUNT] = {"first", "all", "each"};

static const param_info PARAMS[PARAM_SLOTS] = {
#define PARAMS_ROW_(key, name, lower, upper, def, whole, values)                                   \
    {DECAM_PARAM_##key, name, lower, upper, def, whole, values},
    PARAMS_TABLE(PARAMS_ROW_)
#undef PARAMS_ROW_
};

int decam__params_slot(decam_param param) {
    for (int s = 0; s < PARAM_SLOTS; s++)
        if (PARAMS[s].key == param) return s;
    return -1;
}

const param_info *decam__params_info(decam_param param) {
    int s = decam__params_slot(param);
    return s < 0 ? NULL : &PARAMS[s];
}

const param_info *decam__params_row(int slot) {
    return slot >= 0 && slot < PARAM_SLOTS ? &PARAMS[slot] : NULL;
}

const param_info *decam__params_by_name(const char *name) {
    for (int s = 0; name && s < PARAM_SLOTS; s++)
        if (strcmp(PARAMS[s].name, name) == 0) return &PARAMS[s];
    return NULL;
}

void decam__params_set_defaults(double *params) {
    for (int s = 0; s < PARAM_SLOTS; s++)
        params[s] = PARAMS[s].def;
}
