/* mask.c - gene grid -> mask -> perturbed image, and the baselines. */
#include "mask.h"

#include <math.h>

#include "filter.h"

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Keys' cubic convolution kernel with a = -0.5. */
static double cubic(double x) {
    x = fabs(x);
    if (x < 1.0) return (1.5 * x - 2.5) * x * x + 1.0;
    if (x < 2.0) return ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0;
    return 0.0;
}

/* Taps for coordinates 0..n-1 of n pixels over which n_in cells are
 * stretched, cell and pixel centres aligned: source position
 * (i + 0.5) n_in / n - 0.5. */
static void make_taps(int n_in, int n, int taps, int32_t *index, float *weight) {
    double scale = (double)n_in / n;
    for (int i = 0; i < n; i++) {
        int32_t *idx = index + (size_t)i * taps;
        float *wt = weight + (size_t)i * taps;
        if (taps == 1) {
            idx[0] = clampi((int)floor((i + 0.5) * scale), 0, n_in - 1);
            wt[0] = 1.0f;
            continue;
        }
        double src = (i + 0.5) * scale - 0.5;
        int i0 = (int)floor(src);
        double t = src - i0;
        if (taps == 2) {
            idx[0] = clampi(i0, 0, n_in - 1);
            idx[1] = clampi(i0 + 1, 0, n_in - 1);
            wt[0] = (float)(1.0 - t);
            wt[1] = (float)t;
        } else {
            for (int k = 0; k < 4; k++) {
                idx[k] = clampi(i0 - 1 + k, 0, n_in - 1);
                wt[k] = (float)cubic(t - (k - 1));
            }
        }
    }
}

int decam__upsampler_init_canvas(upsampler *u, const decam_allocator *a, int gw, int gh, int w,
                                 int h, int canvas_w, int canvas_h, decam_upsample method) {
    *u = (upsampler){.gw = gw, .gh = gh, .w = w, .h = h};
    u->taps = method == DECAM_UPSAMPLE_NEAREST ? 1 : method == DECAM_UPSAMPLE_BILINEAR ? 2 : 4;
    u->x_index = mem_alloc(a, (size_t)canvas_w * u->taps, sizeof *u->x_index);
    u->y_index = mem_alloc(a, (size_t)canvas_h * u->taps, sizeof *u->y_index);
    u->x_weight = mem_alloc(a, (size_t)canvas_w * u->taps, sizeof *u->x_weight);
    u->y_weight = mem_alloc(a, (size_t)canvas_h * u->taps, sizeof *u->y_weight);
    if (!u->x_index || !u->y_index || !u->x_weight || !u->y_weight) {
        decam__upsampler_free(u, a);
        return -1;
    }
    make_taps(gw, canvas_w, u->taps, u->x_index, u->x_weight);
    make_taps(gh, canvas_h, u->taps, u->y_index, u->y_weight);
    return 0;
}

int decam__upsampler_init(upsampler *u, const decam_allocator *a, int gw, int gh, int w, int h,
                          decam_upsample method) {
    return decam__upsampler_init_canvas(u, a, gw, gh, w, h, w, h, method);
}

void decam__upsampler_shift(upsampler *u, int shift_x, int shift_y) {
    u->shift_x = shift_x;
    u->shift_y = shift_y;
}

size_t decam__upsampler_rows(const upsampler *u) { return (size_t)u->gh * u->w; }

void decam__upsampler_free(upsampler *u, const decam_allocator *a) {
    mem_free(a, u->x_index);
    mem_free(a, u->y_index);
    mem_free(a, u->x_weight);
    mem_free(a, u->y_weight);
    *u = (upsampler){0};
}

/* One output row: o[x] = sum over k of wt[k] r[k][x], added in k order
 * (the order fixes the rounding). Inlined with a constant `taps`, the sum
 * unrolls and the loop over x vectorises. */
static inline void mix_rows(const float *const *r, const float *wt, int taps, int w,
                            float *restrict o) {
    for (int x = 0; x < w; x++) {
        float v = wt[0] * r[0][x];
        for (int k = 1; k < taps; k++)
            v += wt[k] * r[k][x];
        o[x] = v;
    }
}

static void clamp_row(float *o, int w) {
    for (int x = 0; x < w; x++)
        o[x] = o[x] < 0.0f ? 0.0f : o[x] > 1.0f ? 1.0f : o[x];
}

/* Whether none of the n values lies outside [0,1]. (Bitwise |, not ||:
 * no branch, so the loop vectorises.) */
static int within01(const float *v, size_t n) {
    int outside = 0;
    for (size_t i = 0; i < n; i++)
        outside |= (v[i] < 0.0f) | (v[i] > 1.0f);
    return !outside;
}

/* Whether weights that are all >= 0 and, added in order, come to at most
 * 1. Then mix_rows() of values in [0,1] stays in [0,1] and the clamp
 * changes nothing: rounding is monotone, so no product exceeds its weight
 * and no partial sum exceeds the weights' own. Bilinear and nearest
 * weights are such; bicubic ones, with their negative lobes, are not. */
static int convex(const float *wt, int taps) {
    float sum = 0.0f;
    for (int k = 0; k < taps; k++) {
        if (!(wt[k] >= 0.0f)) return 0;
        sum += wt[k];
    }
    return sum <= 1.0f;
}

/* One grid row g resampled to the output width: out[x] = sum over k of
 * weight[k] g[index[k]] for output x's taps, in double. As mix_rows(),
 * inlined with a constant `taps`. */
static inline void resample_row(const upsampler *u, const double *g, int taps, float *out) {
    for (int x = 0; x < u->w; x++) {
        const int32_t *idx = u->x_index + (size_t)(x + u->shift_x) * taps;
        const float *wt = u->x_weight + (size_t)(x + u->shift_x) * taps;
        double acc = 0.0;
        for (int k = 0; k < taps; k++)
            acc += wt[k] * g[idx[k]];
        out[x] = (float)acc;
    }
}

int decam__upsample_across(const upsampler *u, const double *grid, float *restrict rows) {
    for (int gy = 0; gy < u->gh; gy++) {
        const double *g = grid + (size_t)gy * u->gw;
        float *row = rows + (size_t)gy * u->w;
        switch (u->taps) {
        case 1: resample_row(u, g, 1, row); break;
        case 2: resample_row(u, g, 2, row); break;
        default: resample_row(u, g, 4, row); break;
        }
    }
    return within01(rows, decam__upsampler_rows(u));
}

/* Where output row y's taps start in the y tables. */
static size_t y_taps(const upsampler *u, int y) { return (size_t)(y + u->shift_y) * u->taps; }

void decam__upsample_down(const upsampler *u, const float *rows, int rows_within, int y,
                          int clamp01, float *restrict out) {
    const int w = u->w, taps = u->taps;
    const int32_t *idx = u->y_index + y_taps(u, y);
    const float *wt = u->y_weight + y_taps(u, y);
    const float *r[4];
    for (int k = 0; k < taps; k++)
        r[k] = rows + (size_t)idx[k] * w;
    switch (taps) {
    case 1: mix_rows(r, wt, 1, w, out); break;
    case 2: mix_rows(r, wt, 2, w, out); break;
    default: mix_rows(r, wt, 4, w, out); break;
    }
    /* Clamping costs more than the sum: skip it where it cannot matter. */
    if (clamp01 && !(rows_within && convex(wt, taps))) clamp_row(out, w);
}

void decam__upsample(const upsampler *u, const double *grid, float *restrict rows,
                     float *restrict out, int clamp01) {
    const int rows_within = decam__upsample_across(u, grid, rows);
    for (int y = 0; y < u->h; y++)
        decam__upsample_down(u, rows, rows_within, y, clamp01, out + (size_t)y * u->w);
}

/* out[i] = m[i] to[i] + (1 - m[i]) from[i] for n values: one flat loop the
 * compiler vectorises. The convex form is exact at m = 0 and m = 1: the
 * image or the baseline, bit for bit. */
static void blend(const float *restrict from, const float *restrict to, const float *restrict m,
                  size_t n, float *restrict out) {
    for (size_t i = 0; i < n; i++)
        out[i] = m[i] * to[i] + (1.0f - m[i]) * from[i];
}

/* blend() for four interleaved RGB pixels (twelve values, three vectors
 * of four), mask value i for values 3i .. 3i + 2: written so, the compiler
 * spreads the mask with shuffles instead of a buffer. */
static inline void blend_rgb4(const float *mp, const float *restrict from, const float *restrict to,
                              float *restrict out) {
    for (int j = 0; j < 12; j++)
        out[j] = mp[j / 3] * to[j] + (1.0f - mp[j / 3]) * from[j];
}

/* blend() for np interleaved RGB pixels, mask value p for values 3p..3p+2. */
static void blend_rgb(const float *restrict from, const float *restrict to, const float *restrict m,
                      size_t np, float *restrict out) {
    size_t p = 0;
    for (; p + 4 <= np; p += 4)
        blend_rgb4(m + p, from + 3 * p, to + 3 * p, out + 3 * p);
    for (size_t i = 3 * p; i < 3 * np; i++)
        out[i] = m[i / 3] * to[i] + (1.0f - m[i / 3]) * from[i];
}

/* blend_rgb() with the mask row made as it goes: m[p] = w0 r0[p] +
 * w1 r1[p], the very floats of decam__upsample_down()'s bilinear row where it
 * needs no clamp. The row is neither written nor read back, and the
 * interpolation runs while the blend waits on memory. */
static void blend_rgb_bilinear(const float *restrict from, const float *restrict to,
                               const float *r0, const float *r1, float w0, float w1, size_t np,
                               float *restrict out) {
    size_t p = 0;
    for (; p + 4 <= np; p += 4) {
        float mp[4];
        for (int i = 0; i < 4; i++)
            mp[i] = w0 * r0[p + i] + w1 * r1[p + i];
        blend_rgb4(mp, from + 3 * p, to + 3 * p, out + 3 * p);
    }
    for (; p < np; p++) {
        const float mp = w0 * r0[p] + w1 * r1[p];
        for (size_t i = 3 * p; i < 3 * p + 3; i++)
            out[i] = mp * to[i] + (1.0f - mp) * from[i];
    }
}

/* Composes pixels p0 .. p0 + n - 1 from mask values m[0 .. n-1]. */
static void compose_span(const image_shape *s, const float *from, const float *to, const float *m,
                         size_t p0, size_t n, float *out) {
    const size_t hw = (size_t)s->w * s->h, C = (size_t)s->c;
    if (s->layout == DECAM_LAYOUT_CHW || C == 1) {
        for (size_t c = 0; c < C; c++) {
            const size_t o = c * hw + p0;
            blend(from + o, to + o, m, n, out + o);
        }
        return;
    }
    if (C == 3) {
        blend_rgb(from + 3 * p0, to + 3 * p0, m, n, out + 3 * p0);
        return;
    }
    /* Other interleaved images: the mask is repeated per channel, a block
     * of pixels at a time, into a small buffer, so the blend stays one flat
     * loop. */
    enum { BLOCK_VALUES = 1536 };
    float expanded[BLOCK_VALUES];
    const size_t block = BLOCK_VALUES / C;
    for (size_t k0 = 0; k0 < n; k0 += block) {
        const size_t nk = n - k0 < block ? n - k0 : block;
        for (size_t k = 0; k < nk; k++)
            for (size_t c = 0; c < C; c++)
                expanded[k * C + c] = m[k0 + k];
        const size_t o = (p0 + k0) * C;
        blend(from + o, to + o, expanded, nk * C, out + o);
    }
}

void decam__mask_compose(const image_shape *s, const float *image, const float *base,
                         const float *m, int drop, float *out) {
    /* keep: m image + (1 - m) base; drop: m base + (1 - m) image */
    compose_span(s, drop ? image : base, drop ? base : image, m, 0, (size_t)s->w * s->h, out);
}

size_t decam__mask_group_scratch(const upsampler *u) {
    return MASK_GROUP * (decam__upsampler_rows(u) + (size_t)u->w);
}

void decam__mask_group_begin(mask_group *g, float *scratch) {
    const size_t nr = decam__upsampler_rows(&g->u[0]);
    g->rows = scratch;
    g->out = scratch + MASK_GROUP * nr;
    for (size_t j = 0; j < g->n; j++)
        g->within[j] = decam__upsample_across(&g->u[j], g->grid[j], g->rows + j * nr);
}

const float *decam__mask_group_row(mask_group *g, int y) {
    const size_t nr = decam__upsampler_rows(&g->u[0]), w = (size_t)g->u[0].w;
    for (size_t j = 0; j < g->n; j++)
        decam__upsample_down(&g->u[j], g->rows + j * nr, g->within[j], y, 1, g->out + j * w);
    return g->out;
}

size_t decam__mask_compose_grid_scratch(const upsampler *u) {
    return decam__upsampler_rows(u) + (size_t)u->w;
}

void decam__mask_compose_grid(const image_shape *s, const float *image, const float *base,
                              const upsampler *u, const double *grid, float *scratch, int drop,
                              float *out) {
    const float *from = drop ? image : base, *to = drop ? base : image;
    float *rows = scratch, *m = scratch + decam__upsampler_rows(u);
    const int rows_within = decam__upsample_across(u, grid, rows);
    const int rgb_bilinear = s->c == 3 && s->layout == DECAM_LAYOUT_HWC && u->taps == 2;
    for (int y = 0; y < s->h; y++) {
        const size_t p0 = (size_t)y * s->w;
        const int32_t *idx = u->y_index + y_taps(u, y);
        const float *wt = u->y_weight + y_taps(u, y);
        /* The usual case (RGB, bilinear, nothing to clamp: DE-CAM's and
         * RISE's defaults) makes the mask inside the blend. */
        if (rgb_bilinear && rows_within && convex(wt, 2)) {
            blend_rgb_bilinear(from + 3 * p0, to + 3 * p0, rows + (size_t)idx[0] * s->w,
                               rows + (size_t)idx[1] * s->w, wt[0], wt[1], (size_t)s->w,
                               out + 3 * p0);
        } else {
            decam__upsample_down(u, rows, rows_within, y, 1, m);
            compose_span(s, from, to, m, p0, (size_t)s->w, out);
        }
    }
}

/* Value (x, y, c) of an image of shape s stored in `layout`. */
static size_t at(const image_shape *s, decam_layout layout, size_t p, int c) {
    return layout == DECAM_LAYOUT_CHW ? (size_t)c * s->w * s->h + p : p * s->c + c;
}

static void channel_range(const image_shape *s, const float *image, int c, double *lo, double *hi,
                          double *mean) {
    const size_t hw = (size_t)s->w * s->h;
    double mn = INFINITY, mx = -INFINITY, sum = 0.0;
    for (size_t p = 0; p < hw; p++) {
        double v = image[at(s, s->layout, p, c)];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        sum += v;
    }
    *lo = mn;
    *hi = mx;
    *mean = sum / (double)hw;
}

int decam__mask_baseline(const image_shape *s, const float *image, const baseline_spec *spec,
                         rng *r, const decam_allocator *a, float *out) {
    const size_t hw = (size_t)s->w * s->h;
    switch (spec->kind) {
    case DECAM_BASELINE_CONSTANT:
        for (size_t i = 0; i < hw * s->c; i++)
            out[i] = (float)spec->value;
        return 0;
    case DECAM_BASELINE_MEAN:
    case DECAM_BASELINE_NOISE:
        for (int c = 0; c < s->c; c++) {
            double lo, hi, mean;
            channel_range(s, image, c, &lo, &hi, &mean);
            for (size_t p = 0; p < hw; p++)
                out[at(s, s->layout, p, c)] = spec->kind == DECAM_BASELINE_MEAN
                                                  ? (float)mean
                                                  : (float)(lo + (hi - lo) * decam__rng_uniform(r));
        }
        return 0;
    case DECAM_BASELINE_IMAGE:
        for (int c = 0; c < s->c; c++)
            for (size_t p = 0; p < hw; p++)
                out[at(s, s->layout, p, c)] = spec->caller[at(s, spec->caller_layout, p, c)];
        return 0;
    case DECAM_BASELINE_BLUR: {
        const int chw = s->layout == DECAM_LAYOUT_CHW;
        for (size_t i = 0; i < hw * s->c; i++)
            out[i] = image[i];
        return decam__filter_gaussian(a, out, s->w, s->h, chw ? s->c : 1, chw ? 1 : s->c,
                                      spec->sigma);
    }
    case DECAM_BASELINE_COUNT: break; /* not a baseline */
    }
    return 0;
}
