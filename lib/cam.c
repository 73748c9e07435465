/* cam.c - from search results to the normalised full-resolution map. */
#include "cam.h"

#include <float.h>
#include <math.h>

#include "filter.h"

int cam_accum_init(cam_accum *acc, const decam_allocator *a, size_t dim, int regression) {
    *acc = (cam_accum){.dim = dim};
    acc->sum_wg = mem_calloc(a, dim, sizeof *acc->sum_wg);
    acc->sum_g = mem_calloc(a, dim, sizeof *acc->sum_g);
    if (regression) acc->xtx = mem_calloc(a, dim * dim, sizeof *acc->xtx);
    if (!acc->sum_wg || !acc->sum_g || (regression && !acc->xtx)) {
        cam_accum_free(acc, a);
        return -1;
    }
    return 0;
}

void cam_accum_free(cam_accum *acc, const decam_allocator *a) {
    mem_free(a, acc->sum_wg);
    mem_free(a, acc->sum_g);
    mem_free(a, acc->xtx);
    *acc = (cam_accum){0};
}

double cam_accum_score(cam_accum *acc, double w) {
    /* The contrast is unchanged by a constant shift of the scores, so they
     * are summed relative to the first one: scores that are huge but
     * nearly equal keep their differences, and a constant model sums exact
     * zeros (a flat map) instead of rounding noise. */
    if (acc->count == 0.0) acc->ref = w;
    w -= acc->ref;
    acc->sum_w += w;
    acc->count += 1.0;
    return w;
}

/* One mask's n values into the sums from value `first` on. */
static void add_mask(cam_accum *acc, size_t first, size_t n, const float *m, double w) {
    double *sum_wg = acc->sum_wg + first, *sum_g = acc->sum_g + first;
    for (size_t j = 0; j < n; j++) {
        sum_wg[j] += w * m[j];
        sum_g[j] += m[j];
    }
}

void cam_accum_masks(cam_accum *acc, size_t first, size_t n, const float *masks, size_t stride,
                     const double *weights, size_t count) {
    double *sum_wg = acc->sum_wg + first, *sum_g = acc->sum_g + first;
    size_t i = 0;
    /* Four masks per pass over the sums: a quarter of the sums' memory
     * traffic, and each value still receives its terms in mask order, so
     * the result is bit for bit that of one mask at a time. */
    for (; i + 4 <= count; i += 4) {
        const float *m0 = masks + i * stride, *m1 = m0 + stride, *m2 = m1 + stride,
                    *m3 = m2 + stride;
        const double w0 = weights[i], w1 = weights[i + 1], w2 = weights[i + 2], w3 = weights[i + 3];
        for (size_t j = 0; j < n; j++) {
            double wg = sum_wg[j], g = sum_g[j];
            wg += w0 * m0[j];
            wg += w1 * m1[j];
            wg += w2 * m2[j];
            wg += w3 * m3[j];
            g += m0[j];
            g += m1[j];
            g += m2[j];
            g += m3[j];
            sum_wg[j] = wg;
            sum_g[j] = g;
        }
    }
    for (; i < count; i++)
        add_mask(acc, first, n, masks + i * stride, weights[i]);
}

void cam_accum_add(cam_accum *acc, const double *genes, double w) {
    w = cam_accum_score(acc, w);
    for (size_t j = 0; j < acc->dim; j++) {
        acc->sum_wg[j] += w * genes[j];
        acc->sum_g[j] += genes[j];
    }
    if (acc->xtx)
        for (size_t j = 0; j < acc->dim; j++)
            for (size_t k = 0; k <= j; k++)
                acc->xtx[j * acc->dim + k] += genes[j] * genes[k];
}

/* Solves the symmetric positive definite system A x = b in place by
 * Cholesky (lower triangle of A used and overwritten; b becomes x).
 * Returns -1 if A is not positive definite. */
static int cholesky_solve(double *A, double *b, size_t n) {
    for (size_t j = 0; j < n; j++) {
        double d = A[j * n + j];
        for (size_t k = 0; k < j; k++)
            d -= A[j * n + k] * A[j * n + k];
        if (!(d > 0.0)) return -1;
        d = sqrt(d);
        A[j * n + j] = d;
        for (size_t i = j + 1; i < n; i++) {
            double s = A[i * n + j];
            for (size_t k = 0; k < j; k++)
                s -= A[i * n + k] * A[j * n + k];
            A[i * n + j] = s / d;
        }
    }
    for (size_t i = 0; i < n; i++) { /* L y = b */
        double s = b[i];
        for (size_t k = 0; k < i; k++)
            s -= A[i * n + k] * b[k];
        b[i] = s / A[i * n + i];
    }
    for (size_t i = n; i-- > 0;) { /* L^T x = y */
        double s = b[i];
        for (size_t k = i + 1; k < n; k++)
            s -= A[k * n + i] * b[k];
        b[i] = s / A[i * n + i];
    }
    return 0;
}

int cam_grid_from_regression(const cam_accum *acc, double ridge, const decam_allocator *a,
                             double *grid) {
    const size_t d = acc->dim;
    const double n = acc->count;
    for (size_t j = 0; j < d; j++)
        grid[j] = 0.0;
    if (n < 2.0) return 0;
    double *cov = mem_alloc(a, d * d, sizeof *cov);
    if (!cov) return -1;
    /* Centred sums: cov = sum g g^T - n mu mu^T, grid = sum w g - n mu w_bar
     * (scores are already relative to the first, see cam_accum_add). */
    double trace = 0.0;
    for (size_t j = 0; j < d; j++) {
        const double mj = acc->sum_g[j] / n;
        for (size_t k = 0; k <= j; k++)
            cov[j * d + k] = acc->xtx[j * d + k] - n * mj * (acc->sum_g[k] / n);
        trace += cov[j * d + j];
        grid[j] = acc->sum_wg[j] - mj * acc->sum_w;
    }
    const double lambda = ridge * (trace > 0.0 ? trace / (double)d : 1.0) + 1e-12;
    for (size_t j = 0; j < d; j++)
        cov[j * d + j] += lambda;
    int rc = cholesky_solve(cov, grid, d);
    if (rc != 0)
        for (size_t j = 0; j < d; j++)
            grid[j] = 0.0;
    mem_free(a, cov);
    return 0;
}

void cam_contrast(const cam_accum *acc, double *out) {
    for (size_t j = 0; j < acc->dim; j++) {
        double kept = acc->sum_g[j], removed = acc->count - kept;
        /* 1e-9 of an evaluation: a value that never moved carries no signal. */
        if (kept < 1e-9 || removed < 1e-9) {
            out[j] = 0.0;
            continue;
        }
        out[j] = acc->sum_wg[j] / kept - (acc->sum_w - acc->sum_wg[j]) / removed;
    }
}

void cam_grid_from_population(const double *pop, const double *fitness, size_t np, size_t dim,
                              double *grid) {
    double worst = INFINITY, total = 0.0;
    for (size_t i = 0; i < np; i++)
        if (isfinite(fitness[i]) && fitness[i] < worst) worst = fitness[i];
    for (size_t j = 0; j < dim; j++)
        grid[j] = 0.0;
    for (size_t i = 0; i < np; i++) {
        double w = isfinite(fitness[i]) ? fitness[i] - worst : 0.0;
        total += w;
        for (size_t j = 0; j < dim; j++)
            grid[j] += w * pop[i * dim + j];
    }
    if (total > 0.0) {
        for (size_t j = 0; j < dim; j++)
            grid[j] /= total;
        return;
    }
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < dim; j++)
            grid[j] += pop[i * dim + j] / (double)np;
}

void cam_normalise(float *map, size_t n) {
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        lo = map[i] < lo ? map[i] : lo;
        hi = map[i] > hi ? map[i] : hi;
    }
    const float range = hi - lo;
    if (!(range > 0.0f) || !isfinite(lo) || !isfinite(hi)) {
        for (size_t i = 0; i < n; i++)
            map[i] = 0.0f;
        return;
    }
    if (isfinite(range)) {
        for (size_t i = 0; i < n; i++)
            map[i] = (map[i] - lo) / range;
        return;
    }
    /* Finite values more than FLT_MAX apart: the range overflows float but
     * not double, where the same scaling is done. */
    const double wide = (double)hi - (double)lo;
    for (size_t i = 0; i < n; i++)
        map[i] = (float)(((double)map[i] - lo) / wide);
}

int cam_fit_float(double *v, size_t n) {
    double top = 0.0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]) && fabs(v[i]) > top) top = fabs(v[i]);
    int e;
    frexp(top, &e); /* top in [2^(e-1), 2^e) */
    /* Below 2^126 every value, and any two values' difference, is a
     * finite float; from FLT_MIN up none is denormal. */
    int shift = 0;
    if (e > 126)
        shift = 126 - e;
    else if (top > 0.0 && top < FLT_MIN)
        shift = -e;
    for (size_t i = 0; shift != 0 && i < n; i++)
        v[i] = ldexp(v[i], shift);
    return shift;
}

int cam_finish(float *map, int width, int height, double sigma, const decam_allocator *a) {
    if (sigma > 0.0 && filter_gaussian(a, map, width, height, 1, 1, sigma) != 0) return -1;
    cam_normalise(map, (size_t)width * height);
    return 0;
}

void cam_grid_from_map(const float *map, int pw, int ph, int gw, int gh, double *grid) {
    double lo = INFINITY, hi = -INFINITY;
    for (int gy = 0; gy < gh; gy++) {
        /* Cell gy covers map rows [y0, y1): at least one row each. */
        int y0 = (int)((long long)gy * ph / gh), y1 = (int)((long long)(gy + 1) * ph / gh);
        if (y1 <= y0) y1 = y0 + 1;
        for (int gx = 0; gx < gw; gx++) {
            int x0 = (int)((long long)gx * pw / gw), x1 = (int)((long long)(gx + 1) * pw / gw);
            if (x1 <= x0) x1 = x0 + 1;
            double sum = 0.0;
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++)
                    sum += map[(size_t)y * pw + x];
            double v = sum / ((double)(y1 - y0) * (x1 - x0));
            grid[gy * gw + gx] = v;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    }
    for (int j = 0; j < gw * gh; j++)
        grid[j] = hi > lo ? (grid[j] - lo) / (hi - lo) : 0.5;
}
