/*
 * score_similarity.c - an embedding model's score: the similarity of the
 * image's embedding to a reference (cosine, or the negative distance), so
 * that "why do these two faces match" is one run.
 */
#include <math.h>
#include <stdio.h>

#include "scoring.h"

typedef struct reference_set {
    decam_similarity kind;
    size_t dim, n;
    float *unit; /* n * dim: the references, of length 1 for cosine */
} reference_set;

static int similarity_score(const scorer *s, const float *outputs, size_t n_outputs,
                            uint32_t target, int width, int height, double *score) {
    const reference_set *r = s->data;
    const float *ref = r->unit + (size_t)target * r->dim;
    double sum = 0.0, norm = 0.0;
    if (r->kind == DECAM_SIMILARITY_COSINE) {
        for (size_t i = 0; i < r->dim; i++) {
            sum += (double)ref[i] * outputs[i];
            norm += (double)outputs[i] * outputs[i];
        }
        /* An all-zero embedding points nowhere: no similarity. */
        *score = norm > 0.0 ? sum / sqrt(norm) : (isfinite(norm) ? 0.0 : NAN);
        return 0;
    }
    for (size_t i = 0; i < r->dim; i++) {
        double d = (double)outputs[i] - ref[i];
        sum += d * d;
    }
    *score = -sqrt(sum);
    return 0;
}

static int similarity_check(const scorer *s, size_t n_outputs, char *why, size_t size) {
    const reference_set *r = s->data;
    if (n_outputs == r->dim) return 0;
    snprintf(why, size, "the references have %zu values, the embedding must too", r->dim);
    return 1;
}

const scorer_info decam__scorer_similarity = {
    .kind = DECAM_SCORER_SIMILARITY,
    .name = "similarity",
    .setter = "decam_score_similarity",
    .check = similarity_check,
    .score = similarity_score,
};

static decam_status score_similarity(decam_ctx *ctx, decam_similarity kind, const float *refs,
                                     size_t dim, size_t n) {
    const char *who = "decam_score_similarity";
    FAIL_IF((int)kind < 0 || kind >= DECAM_SIMILARITY_COUNT, ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s: kind = %d must be 0 .. %d (a decam_similarity)", who, (int)kind,
            DECAM_SIMILARITY_COUNT - 1);
    FAIL_IF(!refs, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: references is NULL", who);
    FAIL_IF(dim == 0 || dim > (1u << 24), ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: dim = %zu must be 1 .. 2^24", who, dim);
    FAIL_IF(n == 0 || n > 65536, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: n = %zu references must be 1 .. 65536", who, n);
    for (size_t t = 0; t < n; t++) {
        double norm = 0.0;
        for (size_t i = 0; i < dim; i++) {
            float v = refs[t * dim + i];
            FAIL_IF(!isfinite(v), ctx, DECAM_ERR_INVALID_ARGUMENT,
                    "%s: references[%zu] is not finite", who, t * dim + i);
            norm += (double)v * v;
        }
        FAIL_IF(kind == DECAM_SIMILARITY_COSINE && norm == 0.0, ctx, DECAM_ERR_INVALID_ARGUMENT,
                "%s: reference %zu is all zero, which has no direction", who, t);
    }
    reference_set *r = decam__ctx_alloc(ctx, 1, sizeof *r + n * dim * sizeof(float));
    FAIL_IF(!r, ctx, DECAM_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu references of %zu values",
            who, n, dim);
    *r = (reference_set){.kind = kind, .dim = dim, .n = n, .unit = (float *)(r + 1)};
    for (size_t t = 0; t < n; t++) {
        const float *v = refs + t * dim;
        double norm = 0.0;
        for (size_t i = 0; i < dim && kind == DECAM_SIMILARITY_COSINE; i++)
            norm += (double)v[i] * v[i];
        const double scale = kind == DECAM_SIMILARITY_COSINE ? 1.0 / sqrt(norm) : 1.0;
        for (size_t i = 0; i < dim; i++)
            r->unit[t * dim + i] = (float)(v[i] * scale);
    }
    decam__scorer_install(ctx, &decam__scorer_similarity, r, n);
    return DECAM_OK;
}

decam_status decam_score_similarity(decam_ctx *ctx, decam_similarity kind, const float *references,
                                    size_t dim, size_t n) {
    GUARDED(ctx, "decam_score_similarity", 1, score_similarity(ctx, kind, references, dim, n));
}
