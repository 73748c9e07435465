/* context.c - creating and freeing contexts; errors, logging, allocation. */
#include "context.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

static void *system_alloc(void *opaque, size_t size) {
    (void)opaque;
    return malloc(size);
}

static void system_free(void *opaque, void *ptr) {
    (void)opaque;
    free(ptr);
}

const decam_allocator mem_system = {system_alloc, system_free, NULL};

decam_ctx *decam_create_advanced(decam_alloc_fn alloc, decam_free_fn free_fn, void *opaque) {
    if (!alloc != !free_fn) return NULL;
    decam_allocator mem = mem_system;
    if (alloc) mem = (decam_allocator){alloc, free_fn, opaque};
    decam_ctx *ctx = mem_calloc(&mem, 1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->mem = mem;
    ctx->log_level = DECAM_LOG_WARNING;
    atomic_init(&ctx->stop_requested, 0);
    params_set_defaults(ctx->params);
    return ctx;
}

decam_ctx *decam_create(void) { return decam_create_advanced(NULL, NULL, NULL); }

void decam_free(decam_ctx *ctx) {
    if (!ctx) return;
    ctx_dealloc(ctx, ctx->baseline);
    ctx_dealloc(ctx, ctx->prior);
    ctx_dealloc(ctx, ctx->raw);
    ctx_dealloc(ctx, ctx->io);
    decam_allocator mem = ctx->mem;
    mem_free(&mem, ctx);
}

decam_status ctx_fail(decam_ctx *ctx, decam_status status, const char *fmt, ...) {
    if (!ctx) return status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->errmsg, sizeof ctx->errmsg, fmt, ap);
    va_end(ap);
    if (ctx->log && ctx->log_level >= DECAM_LOG_ERROR)
        ctx->log(ctx->log_user, DECAM_LOG_ERROR, ctx->errmsg);
    return status;
}

void ctx_log(decam_ctx *ctx, decam_log_level level, const char *fmt, ...) {
    if (!ctx || !ctx->log || level > ctx->log_level) return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ctx->log(ctx->log_user, level, line);
}

void *ctx_alloc(decam_ctx *ctx, size_t n, size_t size) { return mem_alloc(&ctx->mem, n, size); }

void *ctx_calloc(decam_ctx *ctx, size_t n, size_t size) { return mem_calloc(&ctx->mem, n, size); }

void ctx_dealloc(decam_ctx *ctx, void *ptr) { mem_free(&ctx->mem, ptr); }

const char *decam_errmsg(const decam_ctx *ctx) { return ctx ? ctx->errmsg : "no context (NULL)"; }

const char *decam_status_string(decam_status status) {
    switch (status) {
    case DECAM_OK: return "success";
    case DECAM_ERR_INVALID_ARGUMENT: return "invalid argument";
    case DECAM_ERR_UNKNOWN_PARAM: return "unknown parameter";
    case DECAM_ERR_OUT_OF_RANGE: return "parameter value out of range";
    case DECAM_ERR_OUT_OF_MEMORY: return "out of memory";
    case DECAM_ERR_TOO_LARGE: return "size exceeds the library's limits";
    case DECAM_ERR_NO_MODEL: return "no model callback set";
    case DECAM_ERR_MODEL_FAILED: return "the model callback failed";
    case DECAM_ERR_BAD_SCORE: return "the model returned a NaN or infinite score";
    case DECAM_ERR_BUDGET_TOO_SMALL: return "query budget too small for one generation";
    case DECAM_ERR_CANCELLED: return "cancelled by the caller";
    case DECAM_ERR_BUSY: return "context is busy in a run";
    case DECAM_ERR_MISSING_INPUT: return "a required input is missing or does not match";
    case DECAM_ERR_IO: return "input/output error";
    case DECAM_ERR_FORMAT: return "unsupported or corrupt image data";
    case DECAM_ERR_UNSUPPORTED: return "feature not built into this library";
    }
    return "unknown status";
}

unsigned decam_version_number(void) { return DECAM_VERSION_NUMBER; }
const char *decam_version_string(void) { return DECAM_VERSION_STRING; }

/* Guards shared by the setters: a NULL context, or one inside a run. */
static decam_status check_configurable(decam_ctx *ctx, const char *fn) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    ctx_clear_error(ctx);
    FAIL_IF(ctx->busy, ctx, DECAM_ERR_BUSY, "%s: not allowed inside decam_explain()", fn);
    return DECAM_OK;
}

decam_status decam_set_model(decam_ctx *ctx, decam_model_fn fn, void *user) {
    FORWARD_IF_ERROR(check_configurable(ctx, "decam_set_model"));
    ctx->model = fn;
    ctx->model_user = user;
    return DECAM_OK;
}

decam_status decam_set_progress(decam_ctx *ctx, decam_progress_fn fn, void *user) {
    FORWARD_IF_ERROR(check_configurable(ctx, "decam_set_progress"));
    ctx->progress = fn;
    ctx->progress_user = user;
    return DECAM_OK;
}

decam_status decam_set_log(decam_ctx *ctx, decam_log_fn fn, void *user, decam_log_level max_level) {
    FORWARD_IF_ERROR(check_configurable(ctx, "decam_set_log"));
    FAIL_IF(max_level < DECAM_LOG_ERROR || max_level > DECAM_LOG_DEBUG, ctx, DECAM_ERR_OUT_OF_RANGE,
            "decam_set_log: max_level %d is not a decam_log_level (0..3)", (int)max_level);
    ctx->log = fn;
    ctx->log_user = user;
    ctx->log_level = max_level;
    return DECAM_OK;
}

void decam_force_stop(decam_ctx *ctx) {
    if (ctx) atomic_store(&ctx->stop_requested, 1);
}

/* Copies `n` floats into a fresh context-owned buffer replacing *slot. */
static decam_status replace_buffer(decam_ctx *ctx, float **slot, const float *src, size_t n) {
    float *copy = NULL;
    if (src) {
        copy = ctx_alloc(ctx, n, sizeof *copy);
        FAIL_IF(!copy, ctx, DECAM_ERR_OUT_OF_MEMORY, "out of memory copying %zu values", n);
        memcpy(copy, src, n * sizeof *copy);
    }
    ctx_dealloc(ctx, *slot);
    *slot = copy;
    return DECAM_OK;
}

decam_status decam_set_baseline_image(decam_ctx *ctx, const float *pixels, int width, int height,
                                      int channels) {
    FORWARD_IF_ERROR(check_configurable(ctx, "decam_set_baseline_image"));
    size_t n = 0;
    if (pixels)
        FORWARD_IF_ERROR(
            params_check_image_size(ctx, "decam_set_baseline_image", width, height, channels, &n));
    FORWARD_IF_ERROR(replace_buffer(ctx, &ctx->baseline, pixels, n));
    ctx->baseline_w = pixels ? width : 0;
    ctx->baseline_h = pixels ? height : 0;
    ctx->baseline_c = pixels ? channels : 0;
    ctx->baseline_layout = (decam_layout)ctx->params[DECAM_PARAM_LAYOUT];
    return DECAM_OK;
}

decam_status decam_set_prior_map(decam_ctx *ctx, const float *map, int width, int height) {
    FORWARD_IF_ERROR(check_configurable(ctx, "decam_set_prior_map"));
    size_t n = 0;
    if (map) {
        FORWARD_IF_ERROR(params_check_image_size(ctx, "decam_set_prior_map", width, height, 1, &n));
        for (size_t i = 0; i < n; i++)
            FAIL_IF(!isfinite(map[i]), ctx, DECAM_ERR_INVALID_ARGUMENT,
                    "decam_set_prior_map: map[%zu] is not finite", i);
    }
    FORWARD_IF_ERROR(replace_buffer(ctx, &ctx->prior, map, n));
    ctx->prior_w = map ? width : 0;
    ctx->prior_h = map ? height : 0;
    return DECAM_OK;
}

decam_status decam_get_stats(const decam_ctx *ctx, decam_stats *stats) {
    if (!ctx || !stats || stats->size < sizeof stats->size) return DECAM_ERR_INVALID_ARGUMENT;
    ctx_copy_sized(stats, &ctx->stats, sizeof ctx->stats);
    return DECAM_OK;
}

int decam_max_image_side(void) { return PARAMS_MAX_SIDE; }
size_t decam_max_image_values(void) { return PARAMS_MAX_VALUES; }
int decam_max_channels(void) { return PARAMS_MAX_CHANNELS; }
int decam_param_last(void) { return DECAM_PARAM_LAST; }
size_t decam_progress_size(void) { return sizeof(decam_progress); }
size_t decam_stats_size(void) { return sizeof(decam_stats); }
size_t decam_metrics_size(void) { return sizeof(decam_metrics); }
