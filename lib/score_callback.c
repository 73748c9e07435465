/* score_callback.c - the caller's own scorer (decam_score_with()). */
#include "scoring.h"

static int callback_score(const scorer *s, const float *outputs, size_t n_outputs, uint32_t target,
                          int width, int height, double *score) {
    return s->fn(s->user, outputs, n_outputs, target, score);
}

const scorer_info decam__scorer_callback = {
    .kind = DECAM_SCORER_CALLBACK,
    .name = "callback",
    .setter = "decam_score_with",
    .score = callback_score,
};

static decam_status score_with(decam_ctx *ctx, decam_score_fn fn, void *user, size_t n_targets) {
    FAIL_IF(!fn, ctx, DECAM_ERR_INVALID_ARGUMENT, "decam_score_with: fn is NULL");
    FAIL_IF(n_targets == 0 || n_targets > 65536, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "decam_score_with: n_targets = %zu must be 1 .. 65536", n_targets);
    decam__scorer_install(ctx, &decam__scorer_callback, NULL, n_targets);
    ctx->scorer.fn = fn;
    ctx->scorer.user = user;
    return DECAM_OK;
}

decam_status decam_score_with(decam_ctx *ctx, decam_score_fn fn, void *user, size_t n_targets) {
    GUARDED(ctx, "decam_score_with", 1, score_with(ctx, fn, user, n_targets));
}
