/*
 * method.h - the black-box methods decam_explain() can run, as one table
 * indexed by decam_method. A method is one file and one row: its name, the
 * least queries it needs, its images per model call, its input check and
 * its run. A row's functions read the parameters; the method itself gets
 * only its own config struct and the run (run.h), never the context.
 *
 * A method is a resumable step machine: it wants images scored
 * (decam__run_want), takes their scores in when they come back, reports
 * each step with decam__run_progress(), and at the end writes its
 * full-resolution maps (any scale) into r->map and hands its unnormalised
 * maps to decam__run_keep_raw(); the run then smooths, normalises and
 * scores them. It never waits for the model, so the same code serves the
 * model callback and decam_ask()/decam_tell().
 */
#ifndef DECAM_METHOD_H
#define DECAM_METHOD_H

#include <stddef.h>
#include <stdint.h>

#include "methods.h"
#include "run.h"

/* method_inputs and method_info, the interface every method implements,
 * belong to the run layer that calls them (run.h). */

/* The row of method m; NULL if there is none. */
const method_info *decam__method_lookup(decam_method m);

/* DECAM_PARAM_BATCH_SIZE, or `fallback` when it is 0, and at most `most`. */
size_t decam__method_batch_size(const double *params, size_t fallback, size_t most);

/* The rows, one per method file (methods.h lists them). */
#define METHOD_ROW_(id, name) extern const method_info decam__method_##name;
METHODS_LIST(METHOD_ROW_)
#undef METHOD_ROW_

#endif /* DECAM_METHOD_H */
