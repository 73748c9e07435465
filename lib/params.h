/*
 * params.h - the parameter table: names, bounds, defaults, validation; and
 * the image-size limits shared by every entry point that takes an image.
 */
#ifndef DECAM_PARAMS_H
#define DECAM_PARAMS_H

#include <stddef.h>

#include "decam.h"

#define PARAMS_MAX_SIDE     65536
#define PARAMS_MAX_CHANNELS 64
#define PARAMS_MAX_VALUES   ((size_t)2147483647) /* values of one image */

/* Writes every parameter's default into params[0 .. DECAM_PARAM_LAST]. */
void params_set_defaults(double *params);

/* Checks width, height and channels against the limits and stores
 * width*height*channels in *values. `who` names the caller in messages. */
decam_status params_check_image_size(decam_ctx *ctx, const char *who, int width, int height,
                                     int channels, size_t *values);

#endif /* DECAM_PARAMS_H */
