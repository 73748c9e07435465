/*
 * mask.h - mask encoding: a gene grid becomes a full-resolution mask, and a
 * mask becomes a perturbed image against a baseline. Knows images, not
 * models.
 */
#ifndef DECAM_MASK_H
#define DECAM_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "decam.h"
#include "rng.h"

/* Separable resampling from a gw x gh grid to a w x h image. Each output
 * column and row reads `taps` grid cells (1 nearest, 2 bilinear, 4 bicubic)
 * with precomputed indices and weights, so upsampling allocates nothing.
 * The grid may be stretched over a larger canvas of which the output is a
 * window: RISE's randomly shifted masks. The tables cover the canvas and
 * are read-only once made: copies of an upsampler share them, each with
 * its own window, and threads may share one, each with its own `rows`
 * scratch. */
typedef struct upsampler {
    int gw, gh, w, h, taps;
    int shift_x, shift_y;       /* the window's corner on the canvas */
    int32_t *x_index, *y_index; /* canvas_w * taps, canvas_h * taps */
    float *x_weight, *y_weight;
} upsampler;

/* Prepares `u` for a grid stretched over the w x h image itself; returns
 * 0, or -1 when memory runs out (nothing to free). */
int decam__upsampler_init(upsampler *u, const decam_allocator *a, int gw, int gh, int w, int h,
                          decam_upsample method);
/* As decam__upsampler_init(), but the grid is stretched over a canvas_w x
 * canvas_h canvas (at least w x h) and the output is the w x h window of
 * it at (0, 0) until decam__upsampler_shift() moves it. */
int decam__upsampler_init_canvas(upsampler *u, const decam_allocator *a, int gw, int gh, int w,
                                 int h, int canvas_w, int canvas_h, decam_upsample method);
/* Frees the tables (once, not per copy); safe on a zeroed upsampler. */
void decam__upsampler_free(upsampler *u, const decam_allocator *a);

/* Moves the window to start at (shift_x, shift_y) on the canvas, with
 * 0 <= shift_x <= canvas_w - w and 0 <= shift_y <= canvas_h - h. Free:
 * the tables already cover the canvas. */
void decam__upsampler_shift(upsampler *u, int shift_x, int shift_y);

/* Floats of `rows` scratch that decam__upsample() needs: gh * w. */
size_t decam__upsampler_rows(const upsampler *u);

/* Resamples `grid` (gh rows of gw values) into `out` (h rows of w values),
 * using `rows` (decam__upsampler_rows() floats) as scratch. With clamp01 the
 * result is clamped to [0,1], as masks must be. */
void decam__upsample(const upsampler *u, const double *grid, float *rows, float *out, int clamp01);

/* decam__upsample() in its two passes, for callers that want the mask a row at
 * a time. decam__upsample_across() resamples each grid row to the output width
 * (gh rows of w values into `rows`, decam__upsampler_rows() floats) and returns
 * whether they all lie within [0,1]; decam__upsample_down() makes output row y
 * (w values) from them, given that answer. */
int decam__upsample_across(const upsampler *u, const double *grid, float *rows);
void decam__upsample_down(const upsampler *u, const float *rows, int rows_within, int y,
                          int clamp01, float *out);

/* Up to MASK_GROUP masks made again a row at a time, for sums over many
 * masks (RISE's map, DE-CAM's pixel sums): cheaper than keeping whole
 * masks, which would go out to memory and back. The caller sets n, u[]
 * (copies sharing tables, with their windows) and grid[], then calls
 * decam__mask_group_begin() once and decam__mask_group_row() per output row. */
enum { MASK_GROUP = 4 };
typedef struct mask_group {
    size_t n;
    upsampler u[MASK_GROUP];
    const double *grid[MASK_GROUP];
    int within[MASK_GROUP]; /* decam__upsample_across()'s answers */
    float *rows, *out;      /* in the scratch: the passes across; one row per mask */
} mask_group;

/* Floats of scratch a group of masks from `u` needs (more than
 * decam__mask_compose_grid() needs, so one scratch serves both). */
size_t decam__mask_group_scratch(const upsampler *u);
void decam__mask_group_begin(mask_group *g, float *scratch);
/* Row y of the group's masks, clamped to [0,1]: mask j's w values start
 * at the result + j * w. Valid until the next call. */
const float *decam__mask_group_row(mask_group *g, int y);

/* Describes an image's shape and layout for compositing. */
typedef struct image_shape {
    int w, h, c;
    decam_layout layout;
} image_shape;

/* Writes the perturbed image for mask m (w*h values in [0,1]):
 * keep (drop = 0): m*image + (1-m)*base; drop (drop = 1): (1-m)*image + m*base. */
void decam__mask_compose(const image_shape *s, const float *image, const float *base,
                         const float *m, int drop, float *out);

/* decam__mask_compose() with the mask that decam__upsample(u, grid, ..., clamp01 = 1)
 * makes, made a row at a time and used while it is in cache: the same
 * image, without a whole mask written out and read back. `scratch` holds
 * decam__mask_compose_grid_scratch(u) floats. */
void decam__mask_compose_grid(const image_shape *s, const float *image, const float *base,
                              const upsampler *u, const double *grid, float *scratch, int drop,
                              float *out);
size_t decam__mask_compose_grid_scratch(const upsampler *u);

/* Settings of a baseline: the DECAM_PARAM_BASELINE* parameters. */
typedef struct baseline_spec {
    decam_baseline kind;
    double value;        /* DECAM_BASELINE_CONSTANT */
    double sigma;        /* DECAM_BASELINE_BLUR */
    const float *caller; /* DECAM_BASELINE_IMAGE, in caller_layout */
    decam_layout caller_layout;
} baseline_spec;

/* Fills `out` (same shape as image) with the baseline. Draws from `r` only
 * for DECAM_BASELINE_NOISE. Returns 0, or -1 when scratch memory runs out. */
int decam__mask_baseline(const image_shape *s, const float *image, const baseline_spec *spec,
                         rng *r, const decam_allocator *a, float *out);

#endif /* DECAM_MASK_H */
