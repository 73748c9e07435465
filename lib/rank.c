/*
 * rank.c - decam_rank_correlation(): Spearman's rank correlation of two
 * maps, ties given their average rank. docs/metrics.md has the definition
 * and its two uses (stability across seeds, the model-randomisation check).
 */
#include "rank.h"

#include <math.h>
#include <stdlib.h>

typedef struct ranked {
    float value;
    size_t index;
} ranked;

/* Ascending; ties by position, so the order (and every sum below) is
 * deterministic whatever qsort does with equal keys. */
static int by_value(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->value != y->value) return x->value < y->value ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index ? 1 : 0;
}

static void sort_values(const float *v, size_t n, ranked *order) {
    for (size_t i = 0; i < n; i++)
        order[i] = (ranked){v[i], i};
    qsort(order, n, sizeof *order, by_value);
}

/* The end of the run of equal values that starts at sorted position i. */
static size_t tie_end(const ranked *order, size_t n, size_t i) {
    size_t j = i + 1;
    while (j < n && order[j].value == order[i].value)
        j++;
    return j;
}

/* The average rank of sorted positions [i, j), (i + 1 + j) / 2, minus the
 * mean rank (n + 1) / 2. Exact in double: halves of integers below 2^52. */
static double centred_rank(size_t i, size_t j, size_t n) {
    return 0.5 * ((double)(i + j) - (double)n);
}

/* Pearson's correlation of the average ranks. x's centred ranks are kept
 * by pixel; y's are computed run by run while walking y's order, so one
 * sort buffer and one array of doubles suffice. */
static double spearman(const float *x, const float *y, size_t n, ranked *order, double *rank_x) {
    sort_values(x, n, order);
    for (size_t i = 0; i < n;) {
        size_t j = tie_end(order, n, i);
        for (size_t k = i; k < j; k++)
            rank_x[order[k].index] = centred_rank(i, j, n);
        i = j;
    }
    sort_values(y, n, order);
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = tie_end(order, n, i);
        const double ry = centred_rank(i, j, n);
        for (size_t k = i; k < j; k++) {
            const double rx = rank_x[order[k].index];
            sxy += rx * ry;
            sxx += rx * rx;
            syy += ry * ry;
        }
        i = j;
    }
    if (sxx == 0.0 || syy == 0.0) return 0.0; /* a constant map: no ranking */
    /* sqrt of the product, not the product of roots: identical maps then
     * give exactly 1, since sqrt(s * s) == s in IEEE arithmetic. */
    double rho = sxy / sqrt(sxx * syy);
    return rho > 1.0 ? 1.0 : rho < -1.0 ? -1.0 : rho;
}

decam_status decam__rank_correlation(const decam_allocator *a, const float *x, const float *y,
                                     size_t n, double *rho) {
    if (!x || !y || !rho || n < 2) return DECAM_ERR_INVALID_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || !isfinite(y[i])) return DECAM_ERR_INVALID_ARGUMENT;
    ranked *order = mem_alloc(a, n, sizeof *order);
    double *rank_x = mem_alloc(a, n, sizeof *rank_x);
    decam_status status = DECAM_ERR_OUT_OF_MEMORY;
    if (order && rank_x) {
        *rho = spearman(x, y, n, order, rank_x);
        status = DECAM_OK;
    }
    mem_free(a, order);
    mem_free(a, rank_x);
    return status;
}

decam_status decam_rank_correlation(const float *a, const float *b, size_t n, double *rho) {
    return decam__rank_correlation(&decam__mem_system, a, b, n, rho);
}
