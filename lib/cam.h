/*
 * cam.h - CAM assembly: grid-resolution importance from the search, and the
 * full-resolution map made from it (upsampled, smoothed, normalised).
 */
#ifndef DECAM_CAM_H
#define DECAM_CAM_H

#include <stddef.h>

#include "alloc.h"

/* Running sums over every evaluated mask: per value (a gene, or a pixel
 * of the rendered mask for DECAM_ASSEMBLY_ALL_EVALUATED), the
 * score-weighted and the plain sum of the mask's values there. O(dim)
 * memory whatever the number of evaluations. */
typedef struct cam_accum {
    size_t dim;
    double *sum_wg; /* sum of w * g_j */
    double *sum_g;  /* sum of g_j */
    double sum_w;   /* sum of w */
    double count;   /* evaluations */
    double ref;     /* the first score: sums hold w - ref (see cam.c) */
    double *xtx;    /* dim * dim: sum of g g^T, for the regression; or NULL */
} cam_accum;

/* Returns 0, or -1 when memory runs out. With `regression` it also keeps
 * the dim x dim sums cam_grid_from_regression() needs. */
int cam_accum_init(cam_accum *acc, const decam_allocator *a, size_t dim, int regression);
void cam_accum_free(cam_accum *acc, const decam_allocator *a);

/* Adds one evaluated mask `genes` with score `w`. */
void cam_accum_add(cam_accum *acc, const double *genes, double w);

/* The same in two steps, so that the per-value sums of large masks can be
 * split over threads: cam_accum_score() counts an evaluation with score w
 * and returns the weight its mask is summed with; cam_accum_masks() adds
 * masks' values with their weights. */
double cam_accum_score(cam_accum *acc, double w);
/* Adds n values of `count` masks to the sums of values first..first+n-1,
 * in mask order: mask i's values at masks + i * stride, with weights[i]. */
void cam_accum_masks(cam_accum *acc, size_t first, size_t n, const float *masks, size_t stride,
                     const double *weights, size_t count);

/* Per value: the mean score of the evaluations weighted by how much the
 * mask kept there (m), minus the mean weighted by how much it removed
 * (1 - m). Values never varied get 0. */
void cam_contrast(const cam_accum *acc, double *out);

/* Per gene, the coefficient of a ridge regression of the score on the
 * genes over every evaluation (centred, penalty `ridge` times the mean
 * gene variance): the score's change per unit of the gene with the other
 * genes held fixed, so genes that DE moved together are told apart.
 * Needs the accumulator made with `regression`. Returns 0, or -1 when
 * scratch memory runs out. */
int cam_grid_from_regression(const cam_accum *acc, double ridge, const decam_allocator *a,
                             double *grid);

/* The fitness-weighted mean of a population (np rows of dim genes): weights
 * are fitness minus the worst fitness; all equal gives the plain mean.
 * Non-finite fitness counts as the worst. */
void cam_grid_from_population(const double *pop, const double *fitness, size_t np, size_t dim,
                              double *grid);

/* Scales n values to [0,1] by min and max; a constant (or non-finite)
 * input gives all zeros. Finite values more than FLT_MAX apart are
 * scaled too (in double). */
void cam_normalise(float *map, size_t n);

/* Makes n double values fit float for the map: when the largest finite
 * magnitude is 2^126 or more (where a value, or the difference of two,
 * would overflow float) or below FLT_MIN (where they would lose their
 * precision as denormals), multiplies every value by the same power of
 * two, exactly, and returns its exponent; otherwise changes nothing and
 * returns 0. The normalised map does not depend on the scale. */
int cam_fit_float(double *v, size_t n);

/* Finishes a full-resolution map of any method (width x height, any
 * scale): smoothed in place by a Gaussian of `sigma` pixels when sigma > 0,
 * then normalised to [0,1]. Returns 0, or -1 when smoothing scratch memory
 * runs out (the map is then untouched). */
int cam_finish(float *map, int width, int height, double sigma, const decam_allocator *a);

/* Area-average of a pw x ph map onto a gw x gh grid, scaled to [0,1]
 * (a constant map gives 0.5 everywhere). Used to seed DE from a prior. */
void cam_grid_from_map(const float *map, int pw, int ph, int gw, int gh, double *grid);

#endif /* DECAM_CAM_H */
