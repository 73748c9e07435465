/* scoring.c - what every scorer shares (scoring.h). */
#include "scoring.h"

#include <math.h>

decam_scorer decam_get_scorer(const decam_ctx *ctx) {
    return ctx ? scorer_row(&ctx->scorer)->kind : DECAM_SCORER_OUTPUT;
}

size_t decam_scorer_targets(const decam_ctx *ctx) { return ctx ? ctx->scorer.targets : 0; }

void decam__scorer_free(decam_ctx *ctx) {
    decam__ctx_dealloc(ctx, ctx->scorer.data);
    ctx->scorer = (scorer){0};
}

void decam__scorer_install(decam_ctx *ctx, const scorer_info *info, void *data, size_t targets) {
    decam__scorer_free(ctx);
    ctx->scorer = (scorer){.info = info, .data = data, .targets = targets};
}

static decam_status score_outputs(decam_ctx *ctx) {
    decam__scorer_free(ctx);
    return DECAM_OK;
}

decam_status decam_score_outputs(decam_ctx *ctx) {
    GUARDED(ctx, "decam_score_outputs", 1, score_outputs(ctx));
}

decam_status decam__scorer_check_outputs(decam_ctx *ctx, const char *who) {
    const scorer *s = &ctx->scorer;
    const scorer_info *row = scorer_row(s);
    char why[160];
    FAIL_IF(row->check && row->check(s, (size_t)ctx->params[PS_N_OUTPUTS], why, sizeof why), ctx,
            DECAM_ERR_MISSING_INPUT, "%s: n_outputs = %g does not suit the %s scorer (%s): %s", who,
            ctx->params[PS_N_OUTPUTS], row->name, row->setter, why);
    return DECAM_OK;
}

decam_status decam__scorer_check_target(decam_ctx *ctx, const char *who, const char *what,
                                        double target) {
    const scorer *s = &ctx->scorer;
    if (!s->info || s->info->kind == DECAM_SCORER_OUTPUT) {
        FAIL_IF(target >= ctx->params[PS_N_OUTPUTS], ctx, DECAM_ERR_OUT_OF_RANGE,
                "%s%s = %g must be below n_outputs = %g", who, what, target,
                ctx->params[PS_N_OUTPUTS]);
        return DECAM_OK;
    }
    FAIL_IF(target >= (double)s->targets, ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s%s = %g must be below the %zu targets of the %s scorer (%s)", who, what, target,
            s->targets, s->info->name, s->info->setter);
    return DECAM_OK;
}

decam_status decam__scorer_apply(decam_ctx *ctx, const scorer *s, const float *outputs,
                                 size_t n_outputs, uint32_t target, int width, int height,
                                 size_t image, uint64_t call, double *score) {
    const scorer_info *row = scorer_row(s);
    int rc = row->score(s, outputs, n_outputs, target, width, height, score);
    FAIL_IF(rc != 0, ctx, DECAM_ERR_MODEL_FAILED,
            "the scorer callback returned %d for target %u of image %zu in call %llu", rc,
            (unsigned)target, image, (unsigned long long)call);
    if (isfinite(*score)) return DECAM_OK;
    const char *what = isnan(*score) ? "NaN" : "an infinite score";
    FAIL_IF(row->kind == DECAM_SCORER_OUTPUT, ctx, DECAM_ERR_BAD_SCORE,
            "the model returned %s for output %u of image %zu in call %llu", what,
            (unsigned)target, image, (unsigned long long)call);
    return decam__ctx_fail(ctx, DECAM_ERR_BAD_SCORE,
                           "the %s scorer gave %s for target %u of image %zu in call %llu%s",
                           row->name, what, (unsigned)target, image, (unsigned long long)call,
                           row->kind == DECAM_SCORER_CALLBACK
                               ? ""
                               : " (the model's outputs hold a NaN or an infinity)");
}
