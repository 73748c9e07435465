/*
 * rank.h - Spearman's rank correlation of two maps, behind
 * decam_rank_correlation(). Private: not installed.
 */
#ifndef DECAM_RANK_H
#define DECAM_RANK_H

#include <stddef.h>

#include "alloc.h"
#include "decam.h"

/* decam_rank_correlation() with the allocator to use for its working
 * memory, so that tests can make the allocation fail. */
decam_status decam__rank_correlation(const decam_allocator *a, const float *x, const float *y,
                                     size_t n, double *rho);

#endif /* DECAM_RANK_H */
