/*
 * scoring.h - what every scorer shares (scorer.h has the table): the
 * context's scorer installed and freed, the checks of n_outputs and of
 * targets at the start of a run, and decam__scorer_apply(), which the
 * session and the batcher call for every image and target.
 */
#ifndef DECAM_SCORING_H
#define DECAM_SCORING_H

#include "context.h"
#include "scorer.h"

/* Frees the context's scorer and goes back to the output scorer. */
void decam__scorer_free(decam_ctx *ctx);

/* Makes `data` (a block from decam__ctx_alloc) the context's scorer of
 * `info` with `targets` targets, freeing the previous one. */
void decam__scorer_install(decam_ctx *ctx, const scorer_info *info, void *data, size_t targets);

/* At the start of a run: DECAM_ERR_MISSING_INPUT when DECAM_PARAM_N_OUTPUTS
 * does not suit the scorer. `who` names the public function. */
decam_status decam__scorer_check_outputs(decam_ctx *ctx, const char *who);

/* DECAM_ERR_OUT_OF_RANGE when `target` is not one of the scorer's targets
 * (for the output scorer: not below n_outputs). Messages read
 * "<who><what> = <target> must be below ...". */
decam_status decam__scorer_check_target(decam_ctx *ctx, const char *who, const char *what,
                                        double target);

/* Target t's score of image `image` of model call `call` (both for
 * messages) into *score: DECAM_ERR_BAD_SCORE when it is not finite,
 * DECAM_ERR_MODEL_FAILED when the caller's scorer failed. */
decam_status decam__scorer_apply(decam_ctx *ctx, const scorer *s, const float *outputs,
                                 size_t n_outputs, uint32_t target, int width, int height,
                                 size_t image, uint64_t call, double *score);

#endif /* DECAM_SCORING_H */
