/*
 * params.h - the parameter table: names, bounds, defaults, validation; and
 * the image-size limits shared by every entry point that takes an image.
 * A pure table: includes only the public header.
 */
#ifndef DECAM_PARAMS_H
#define DECAM_PARAMS_H

#include <stddef.h>

#include "decam.h"

#define PARAMS_MAX_SIDE     65536
#define PARAMS_MAX_CHANNELS 64
#define PARAMS_MAX_VALUES   ((size_t)2147483647) /* values of one image */

typedef struct param_info {
    const char *name;
    double lower, upper, def;
    int whole; /* 1: the value must be a whole number */
} param_info;

/* The row of a parameter; NULL for an unknown key. */
const param_info *params_info(decam_param param);

/* Writes every parameter's default into params[0 .. DECAM_PARAM_LAST]. */
void params_set_defaults(double *params);

#endif /* DECAM_PARAMS_H */
