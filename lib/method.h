/*
 * method.h - the black-box methods decam_explain() can run, as one table
 * indexed by decam_method. A method is one file and one row: its name, the
 * least queries it needs, its images per model call, its input check and
 * its run. A row's functions read the parameters; the method itself gets
 * only its own config struct and the run (run.h), never the context.
 *
 * A method spends queries through the run's batcher, reports each step
 * with decam__run_progress(), writes its full-resolution map (any scale) into
 * r->map and hands its unnormalised map to decam__run_keep_raw(); explain.c then
 * smooths, normalises and scores the map.
 */
#ifndef DECAM_METHOD_H
#define DECAM_METHOD_H

#include <stddef.h>
#include <stdint.h>

#include "methods.h"
#include "run.h"

/* What a method may need besides the parameters. */
typedef struct method_inputs {
    int width, height;  /* the image */
    const float *prior; /* decam_set_prior_map(), or NULL */
    int prior_w, prior_h;
} method_inputs;

typedef struct method_info {
    const char *name; /* as decam_method_name() gives it */
    /* Queries the method needs at the least, the fixed three included,
     * and what they pay for (for the message when the budget is short). */
    uint64_t (*min_queries)(const double *params, int width, int height);
    const char *min_queries_what;
    /* Images per model call, DECAM_PARAM_BATCH_SIZE applied. */
    size_t (*batch_cap)(const double *params);
    /* NULL when the inputs suit the parameters, else why not
     * (DECAM_ERR_MISSING_INPUT). NULL function: nothing to check. */
    const char *(*check)(const double *params, const method_inputs *in);
    /* Builds the method's config from the parameters and runs it. */
    decam_status (*run)(run *r, const double *params, const method_inputs *in);
} method_info;

/* The row of method m; NULL if there is none. */
const method_info *decam__method_lookup(decam_method m);

/* DECAM_PARAM_BATCH_SIZE, or `fallback` when it is 0, and at most `most`. */
size_t decam__method_batch_size(const double *params, size_t fallback, size_t most);

/* The rows, one per method file (methods.h lists them). */
#define METHOD_ROW_(id, name) extern const method_info decam__method_##name;
METHODS_LIST(METHOD_ROW_)
#undef METHOD_ROW_

#endif /* DECAM_METHOD_H */
