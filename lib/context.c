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

const decam_allocator decam__mem_system = {system_alloc, system_free, NULL};

decam_ctx *decam_create_advanced(decam_alloc_fn alloc, decam_free_fn free_fn, void *opaque) {
    if (!alloc != !free_fn) return NULL;
    decam_allocator mem = decam__mem_system;
    if (alloc) mem = (decam_allocator){alloc, free_fn, opaque};
    decam_ctx *ctx = mem_calloc(&mem, 1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->mem = mem;
    ctx->log_level = DECAM_LOG_WARNING;
    atomic_init(&ctx->stop_requested, 0);
    decam__params_set_defaults(ctx->params);
    return ctx;
}

decam_ctx *decam_create(void) { return decam_create_advanced(NULL, NULL, NULL); }

static void free_now(decam_ctx *ctx) {
    if (ctx->session) ctx->abandon(ctx->session);
    decam__pool_free(ctx->pool, &ctx->mem);
    decam__ctx_dealloc(ctx, ctx->baseline);
    decam__ctx_dealloc(ctx, ctx->prior);
    decam__ctx_dealloc(ctx, ctx->raw);
    decam__ctx_dealloc(ctx, ctx->io);
    decam__ctx_dealloc(ctx, ctx->scorer.data);
    decam_allocator mem = ctx->mem;
    mem_free(&mem, ctx);
}

void decam_free(decam_ctx *ctx) {
    if (!ctx) return;
    if (ctx->depth > 0) {
        /* Called from a callback: the calls in progress still use the
         * context. Stop the run and free when the outermost call returns. */
        ctx->free_pending = 1;
        atomic_store(&ctx->stop_requested, 1);
        return;
    }
    free_now(ctx);
}

decam_status decam__ctx_check_idle(decam_ctx *ctx, const char *who) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    ctx_clear_error(ctx);
    FAIL_IF(ctx->busy, ctx, DECAM_ERR_BUSY, "%s: not allowed inside a run", who);
    return DECAM_OK;
}

decam_status decam__ctx_enter(decam_ctx *ctx, const char *who, int configure) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    ctx->depth++;
    if (configure) return decam__ctx_check_idle(ctx, who);
    ctx_clear_error(ctx);
    return DECAM_OK;
}

decam_status decam__ctx_leave(decam_ctx *ctx, decam_status status) {
    if (!ctx) return status;
    if (status == DECAM_OK) ctx_clear_error(ctx);
    if (--ctx->depth == 0 && ctx->free_pending) free_now(ctx);
    return status;
}

decam_status decam__ctx_enter_getter(decam_ctx *ctx) {
    if (!ctx) return DECAM_ERR_INVALID_ARGUMENT;
    ctx->depth++;
    return DECAM_OK;
}

decam_status decam__ctx_leave_getter(decam_ctx *ctx, decam_status status) {
    if (--ctx->depth == 0 && ctx->free_pending) free_now(ctx);
    return status;
}

/* Hands a line to the log handler, unless the handler is running already:
 * a handler that calls the library (and fails, and is logged to) would
 * otherwise recurse without end. */
static void to_log(decam_ctx *ctx, decam_log_level level, const char *line) {
    if (ctx->in_log || ctx->free_pending) return; /* nor once the caller let go of it */
    /* The handler may call the library, whose calls set or clear the
     * message; the failure being reported keeps its own. */
    char kept[sizeof ctx->errmsg];
    memcpy(kept, ctx->errmsg, sizeof kept);
    ctx->in_log = 1;
    ctx->depth++; /* a decam_free() from the handler is deferred */
    ctx->log(ctx->log_user, level, line);
    ctx->depth--;
    ctx->in_log = 0;
    memcpy(ctx->errmsg, kept, sizeof kept);
}

decam_status decam__ctx_fail(decam_ctx *ctx, decam_status status, const char *fmt, ...) {
    if (!ctx) return status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->errmsg, sizeof ctx->errmsg, fmt, ap);
    va_end(ap);
    if (ctx->log && ctx->log_level >= DECAM_LOG_ERROR) to_log(ctx, DECAM_LOG_ERROR, ctx->errmsg);
    return status;
}

void decam__ctx_log(decam_ctx *ctx, decam_log_level level, const char *fmt, ...) {
    if (!ctx || !ctx->log || ctx->in_log || level > ctx->log_level) return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    to_log(ctx, level, line);
}

void *decam__ctx_alloc(decam_ctx *ctx, size_t n, size_t size) {
    return mem_alloc(&ctx->mem, n, size);
}

void *decam__ctx_calloc(decam_ctx *ctx, size_t n, size_t size) {
    return mem_calloc(&ctx->mem, n, size);
}

void decam__ctx_dealloc(decam_ctx *ctx, void *ptr) { mem_free(&ctx->mem, ptr); }

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
    case DECAM_STATUS_COUNT: break;
    }
    return "unknown status";
}

unsigned decam_version_number(void) { return DECAM_VERSION_NUMBER; }
const char *decam_version_string(void) { return DECAM_VERSION_STRING; }

static decam_status set_model(decam_ctx *ctx, decam_model_fn fn, void *user) {
    ctx->model = fn;
    ctx->model_user = user;
    return DECAM_OK;
}

decam_status decam_set_model(decam_ctx *ctx, decam_model_fn fn, void *user) {
    GUARDED(ctx, "decam_set_model", 1, set_model(ctx, fn, user));
}

static decam_status set_progress(decam_ctx *ctx, decam_progress_fn fn, void *user) {
    ctx->progress = fn;
    ctx->progress_user = user;
    return DECAM_OK;
}

decam_status decam_set_progress(decam_ctx *ctx, decam_progress_fn fn, void *user) {
    GUARDED(ctx, "decam_set_progress", 1, set_progress(ctx, fn, user));
}

static decam_status set_log(decam_ctx *ctx, decam_log_fn fn, void *user, decam_log_level level) {
    FAIL_IF(level < DECAM_LOG_ERROR || level > DECAM_LOG_DEBUG, ctx, DECAM_ERR_OUT_OF_RANGE,
            "decam_set_log: max_level %d is not a decam_log_level (0..3)", (int)level);
    ctx->log = fn;
    ctx->log_user = user;
    ctx->log_level = level;
    return DECAM_OK;
}

decam_status decam_set_log(decam_ctx *ctx, decam_log_fn fn, void *user, decam_log_level max_level) {
    GUARDED(ctx, "decam_set_log", 1, set_log(ctx, fn, user, max_level));
}

void decam_force_stop(decam_ctx *ctx) {
    if (ctx) atomic_store(&ctx->stop_requested, 1);
}

/* Copies `n` floats into a fresh context-owned buffer replacing *slot. */
static decam_status replace_buffer(decam_ctx *ctx, float **slot, const float *src, size_t n) {
    float *copy = NULL;
    if (src) {
        copy = decam__ctx_alloc(ctx, n, sizeof *copy);
        FAIL_IF(!copy, ctx, DECAM_ERR_OUT_OF_MEMORY, "out of memory copying %zu values", n);
        memcpy(copy, src, n * sizeof *copy);
    }
    decam__ctx_dealloc(ctx, *slot);
    *slot = copy;
    return DECAM_OK;
}

static decam_status set_baseline_image(decam_ctx *ctx, const float *pixels, int width, int height,
                                       int channels) {
    size_t n = 0;
    if (pixels)
        FORWARD_IF_ERROR(decam__params_check_image_size(ctx, "decam_set_baseline_image", width,
                                                        height, channels, &n));
    FORWARD_IF_ERROR(replace_buffer(ctx, &ctx->baseline, pixels, n));
    ctx->baseline_w = pixels ? width : 0;
    ctx->baseline_h = pixels ? height : 0;
    ctx->baseline_c = pixels ? channels : 0;
    ctx->baseline_layout = (decam_layout)ctx->params[PS_LAYOUT];
    return DECAM_OK;
}

decam_status decam_set_baseline_image(decam_ctx *ctx, const float *pixels, int width, int height,
                                      int channels) {
    GUARDED(ctx, "decam_set_baseline_image", 1,
            set_baseline_image(ctx, pixels, width, height, channels));
}

static decam_status set_prior_map(decam_ctx *ctx, const float *map, int width, int height) {
    size_t n = 0;
    if (map) {
        FORWARD_IF_ERROR(
            decam__params_check_image_size(ctx, "decam_set_prior_map", width, height, 1, &n));
        for (size_t i = 0; i < n; i++)
            FAIL_IF(!isfinite(map[i]), ctx, DECAM_ERR_INVALID_ARGUMENT,
                    "decam_set_prior_map: map[%zu] is not finite", i);
    }
    FORWARD_IF_ERROR(replace_buffer(ctx, &ctx->prior, map, n));
    ctx->prior_w = map ? width : 0;
    ctx->prior_h = map ? height : 0;
    return DECAM_OK;
}

decam_status decam_set_prior_map(decam_ctx *ctx, const float *map, int width, int height) {
    GUARDED(ctx, "decam_set_prior_map", 1, set_prior_map(ctx, map, width, height));
}

static decam_status get_stats(decam_ctx *ctx, decam_stats *stats) {
    FAIL_IF(!stats, ctx, DECAM_ERR_INVALID_ARGUMENT, "decam_get_stats: stats is NULL");
    FAIL_IF(stats->size < sizeof stats->size, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "decam_get_stats: set stats->size to sizeof(decam_stats) first");
    ctx_copy_sized(stats, &ctx->stats, sizeof ctx->stats);
    return DECAM_OK;
}

/* Getters take a const context and leave the message as it was unless
 * they fail: the context is never a const object, so the cast is defined. */
decam_status decam_get_stats(const decam_ctx *ctx, decam_stats *stats) {
    GETTER((decam_ctx *)ctx, get_stats((decam_ctx *)ctx, stats));
}

/* ---- parameters: the API over params.c's table ---------------------------- */

decam_status decam_param_bounds(decam_param param, double *lower, double *upper, double *def) {
    const param_info *p = decam__params_info(param);
    if (!p) return DECAM_ERR_UNKNOWN_PARAM;
    if (lower) *lower = p->lower;
    if (upper) *upper = p->upper;
    if (def) *def = p->def;
    return DECAM_OK;
}

const char *decam_param_name(decam_param param) {
    const param_info *p = decam__params_info(param);
    return p ? p->name : NULL;
}

decam_param decam_param_key(int index) {
    const param_info *p = decam__params_row(index);
    return p ? p->key : (decam_param)0;
}

decam_status decam_param_from_name(const char *name, decam_param *param) {
    const param_info *p = decam__params_by_name(name);
    if (!p || !param) return p ? DECAM_ERR_INVALID_ARGUMENT : DECAM_ERR_UNKNOWN_PARAM;
    *param = p->key;
    return DECAM_OK;
}

const char *decam_value_name(decam_param param, int value) {
    const param_info *p = decam__params_info(param);
    if (!p || !p->values || value < 0 || value > (int)p->upper) return NULL;
    return p->values[value];
}

decam_status decam_value_from_name(decam_param param, const char *name, int *value) {
    const param_info *p = decam__params_info(param);
    if (!p) return DECAM_ERR_UNKNOWN_PARAM;
    if (!name || !value || !p->values) return DECAM_ERR_INVALID_ARGUMENT;
    for (int v = 0; v <= (int)p->upper; v++)
        if (strcmp(p->values[v], name) == 0) {
            *value = v;
            return DECAM_OK;
        }
    return DECAM_ERR_OUT_OF_RANGE;
}

static decam_status set_param(decam_ctx *ctx, decam_param param, double value) {
    const int slot = decam__params_slot(param);
    const param_info *p = decam__params_row(slot);
    FAIL_IF(!p, ctx, DECAM_ERR_UNKNOWN_PARAM,
            "decam_set_param: no parameter has key %d (see decam_param_key())", (int)param);
    FORWARD_IF_ERROR(decam__ctx_check_idle(ctx, p->name));
    FAIL_IF(!(value >= p->lower && value <= p->upper), ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s = %g is outside its range [%g, %g]", p->name, value, p->lower, p->upper);
    FAIL_IF(p->whole && value != floor(value), ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s = %g must be a whole number in [%g, %g]", p->name, value, p->lower, p->upper);
    FAIL_IF(slot == PS_POPULATION && value > 0 && value < 4, ctx, DECAM_ERR_OUT_OF_RANGE,
            "population = %g: 0 (from the image) or 4 .. %g candidates", value, p->upper);
    ctx->params[slot] = value;
    return DECAM_OK;
}

decam_status decam_set_param(decam_ctx *ctx, decam_param param, double value) {
    GUARDED(ctx, "decam_set_param", 0, set_param(ctx, param, value));
}

static decam_status get_param(decam_ctx *ctx, decam_param param, double *value) {
    FAIL_IF(!value, ctx, DECAM_ERR_INVALID_ARGUMENT, "decam_get_param: value is NULL");
    const int slot = decam__params_slot(param);
    FAIL_IF(slot < 0, ctx, DECAM_ERR_UNKNOWN_PARAM, "decam_get_param: no parameter has key %d",
            (int)param);
    *value = ctx->params[slot];
    return DECAM_OK;
}

decam_status decam_get_param(const decam_ctx *ctx, decam_param param, double *value) {
    GETTER((decam_ctx *)ctx, get_param((decam_ctx *)ctx, param, value));
}

decam_status decam_set_image_layout(decam_ctx *ctx, decam_layout layout) {
    return decam_set_param(ctx, DECAM_PARAM_LAYOUT, (double)layout);
}

static decam_status reset_params(decam_ctx *ctx) {
    decam__params_set_defaults(ctx->params);
    return DECAM_OK;
}

decam_status decam_reset_params(decam_ctx *ctx) {
    GUARDED(ctx, "decam_reset_params", 1, reset_params(ctx));
}

decam_status decam__params_check_image_size(decam_ctx *ctx, const char *who, int width, int height,
                                            int channels, size_t *values) {
    FAIL_IF(width < 1 || height < 1 || channels < 1, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: size %d x %d x %d must be positive", who, width, height, channels);
    FAIL_IF(width > PARAMS_MAX_SIDE || height > PARAMS_MAX_SIDE, ctx, DECAM_ERR_TOO_LARGE,
            "%s: %d x %d exceeds the largest side, %d", who, width, height, PARAMS_MAX_SIDE);
    FAIL_IF(channels > PARAMS_MAX_CHANNELS, ctx, DECAM_ERR_TOO_LARGE,
            "%s: %d channels exceed the limit, %d", who, channels, PARAMS_MAX_CHANNELS);
    size_t n = (size_t)width * (size_t)height * (size_t)channels;
    FAIL_IF(n > PARAMS_MAX_VALUES, ctx, DECAM_ERR_TOO_LARGE,
            "%s: %d x %d x %d = %zu values exceed the limit, %zu", who, width, height, channels, n,
            PARAMS_MAX_VALUES);
    *values = n;
    return DECAM_OK;
}

int decam_max_image_side(void) { return PARAMS_MAX_SIDE; }
size_t decam_max_image_values(void) { return PARAMS_MAX_VALUES; }
int decam_max_channels(void) { return PARAMS_MAX_CHANNELS; }
int decam_param_count(void) { return PARAM_SLOTS; }
size_t decam_progress_size(void) { return sizeof(decam_progress); }
size_t decam_item_size(void) { return sizeof(decam_item); }
size_t decam_request_size(void) { return sizeof(decam_request); }
size_t decam_stats_size(void) { return sizeof(decam_stats); }
size_t decam_metrics_size(void) { return sizeof(decam_metrics); }
