/*
 * filter.h - separable Gaussian smoothing of planes of floats; used for
 * the blur baseline, the insertion metric's start and smoothing the final map.
 */
#ifndef DECAM_FILTER_H
#define DECAM_FILTER_H

#include <stddef.h>

#include "alloc.h"

/* Taps on each side of the centre for `sigma` (ceil(3 sigma), at least 1). */
int decam__filter_gaussian_radius(double sigma);

/* Blurs, in place, `planes` consecutive width x height planes, each with
 * `channels` interleaved values per pixel (value c of pixel (x, y) at
 * (y * width + x) * channels + c); channels are blurred apart. So an
 * interleaved image is (planes 1, channels C) and a planar one (planes C,
 * channels 1). Borders replicate the edge value. Returns 0, or -1 when
 * scratch memory runs out (data untouched). */
int decam__filter_gaussian(const decam_allocator *a, float *data, int width, int height, int planes,
                           int channels, double sigma);

#endif /* DECAM_FILTER_H */
