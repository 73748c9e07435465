/*
 * context.h - the context behind the opaque decam_ctx, and the small error,
 * allocation and logging helpers every part of the library uses.
 * Private: not installed.
 */
#ifndef DECAM_CONTEXT_H
#define DECAM_CONTEXT_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "alloc.h"
#include "decam.h"

struct decam_ctx {
    decam_allocator mem;
    double params[DECAM_PARAM_LAST + 1]; /* indexed by decam_param */

    decam_model_fn model;
    void *model_user;
    decam_progress_fn progress;
    void *progress_user;
    decam_log_fn log;
    void *log_user;
    decam_log_level log_level;

    atomic_int stop_requested;
    int busy; /* inside decam_explain(): reconfiguration is refused */

    float *baseline; /* decam_set_baseline_image(), in baseline_layout */
    int baseline_w, baseline_h, baseline_c;
    decam_layout baseline_layout;

    float *prior; /* decam_set_prior_map() */
    int prior_w, prior_h;

    decam_stats stats; /* of the last run */
    float *raw;        /* the last run's unnormalised map (decam_get_raw_map) */
    size_t raw_len;    /* floats allocated */
    int raw_w, raw_h;  /* its size; 0 when the last run left none */

    /* The optional I/O part's own state (decam_io.h), opaque here: NULL
     * until it is first needed, freed by decam_free() with ctx_dealloc. */
    void *io;

    char errmsg[256];
};

/* Records `status` with a printf-style message in the context (and the log
 * handler at ERROR level) and returns status. ctx may be NULL. */
decam_status ctx_fail(decam_ctx *ctx, decam_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Clears the last error; every public entry point starts with it. */
static inline void ctx_clear_error(decam_ctx *ctx) {
    if (ctx) ctx->errmsg[0] = '\0';
}

/* Sends a message to the log handler if one is set and `level` passes. */
void ctx_log(decam_ctx *ctx, decam_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Allocates n * size bytes (overflow-checked) with the context's allocator;
 * NULL on failure, which the caller reports as DECAM_ERR_OUT_OF_MEMORY. */
void *ctx_alloc(decam_ctx *ctx, size_t n, size_t size);
/* As ctx_alloc, zero-filled. */
void *ctx_calloc(decam_ctx *ctx, size_t n, size_t size);
/* Frees memory from ctx_alloc; accepts NULL. */
void ctx_dealloc(decam_ctx *ctx, void *ptr);

/* Copies a struct that begins with its size (decam_stats, decam_metrics)
 * into the caller's, whose `size` field says how much room it has: only
 * the fields that fit are written, and `size` ends as the bytes written. */
static inline void ctx_copy_sized(void *dst, const void *src, size_t full) {
    size_t room = *(const size_t *)dst, n = room < full ? room : full;
    memcpy(dst, src, n);
    *(size_t *)dst = n;
}

/* Fail with `status` and a message when `cond` holds. */
#define FAIL_IF(cond, ctx, status, ...)                                                            \
    do {                                                                                           \
        if (cond) return ctx_fail((ctx), (status), __VA_ARGS__);                                   \
    } while (0)

/* Return a failure status unchanged (its message is already recorded). */
#define FORWARD_IF_ERROR(expr)                                                                     \
    do {                                                                                           \
        decam_status forward_status_ = (expr);                                                     \
        if (forward_status_ != DECAM_OK) return forward_status_;                                   \
    } while (0)

/* In a function with a `status` variable and a `cleanup:` label: record a
 * failure and jump to the cleanup. */
#define GOTO_FAIL_IF(cond, ctx, st, ...)                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            status = ctx_fail((ctx), (st), __VA_ARGS__);                                           \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

#define GOTO_IF_ERROR(expr)                                                                        \
    do {                                                                                           \
        status = (expr);                                                                           \
        if (status != DECAM_OK) goto cleanup;                                                      \
    } while (0)

#endif /* DECAM_CONTEXT_H */
