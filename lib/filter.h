/*
 * filter.h - separable Gaussian smoothing of one plane of floats; used for
 * the blur baseline (per channel) and for smoothing the final map.
 */
#ifndef DECAM_FILTER_H
#define DECAM_FILTER_H

#include <stddef.h>

#include "alloc.h"

/* Taps on each side of the centre for `sigma` (ceil(3 sigma), at least 1). */
int filter_gaussian_radius(double sigma);

/* Blurs, in place, `planes` width x height planes: element (x, y) of plane
 * k is data[k * plane_step + (y * width + x) * stride]. So an interleaved
 * image is (planes = channels, plane_step = 1, stride = channels) and a
 * planar one (planes = channels, plane_step = width * height, stride = 1).
 * Borders replicate the edge value. Returns 0, or -1 when scratch memory
 * runs out (data untouched). */
int filter_gaussian(const decam_allocator *a, float *data, int width, int height, int planes,
                    size_t plane_step, size_t stride, double sigma);

#endif /* DECAM_FILTER_H */
