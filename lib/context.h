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
#include "params.h"
#include "pool.h"
#include "scorer.h"

struct decam_ctx {
    decam_allocator mem;
    double params[PARAM_SLOTS]; /* indexed by param_slot (params.h) */

    decam_model_fn model;
    void *model_user;
    decam_progress_fn progress;
    void *progress_user;
    decam_log_fn log;
    void *log_user;
    decam_log_level log_level;

    atomic_int stop_requested;
    int busy;         /* inside a run: reconfiguration and re-entry are refused */
    int depth;        /* public calls in progress (a callback may call in again) */
    int free_pending; /* decam_free() was called inside a call: free at its end */
    int in_log;       /* inside the log handler: no messages go to it */

    pool *pool; /* the worker threads, made by the first run that needs them */

    struct session *session; /* the run in progress (session.h), or NULL */
    void (*abandon)(struct session *); /* ends it writing nothing: decam_free() */

    float *baseline; /* decam_set_baseline_image(), in baseline_layout */
    int baseline_w, baseline_h, baseline_c;
    decam_layout baseline_layout;

    scorer scorer; /* decam_score_*(): what a target's score is (scorer.h) */

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
decam_status decam__ctx_fail(decam_ctx *ctx, decam_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Clears the last error; every public entry point starts with it. */
static inline void ctx_clear_error(decam_ctx *ctx) {
    if (ctx) ctx->errmsg[0] = '\0';
}

/* The busy guard, the one every setter uses: refuses a NULL ctx
 * (DECAM_ERR_INVALID_ARGUMENT, no message), clears the last error and
 * refuses the call inside a run (DECAM_ERR_BUSY, naming `who`). */
decam_status decam__ctx_check_idle(decam_ctx *ctx, const char *who);

/* The one guard of every public function that takes a context: refuses a
 * NULL ctx (DECAM_ERR_INVALID_ARGUMENT, no message), enters the call
 * (decam__ctx_leave() must follow whatever happens), clears the last error and,
 * with `configure`, refuses the call inside a run (DECAM_ERR_BUSY). `who`
 * names the function in the message. */
decam_status decam__ctx_enter(decam_ctx *ctx, const char *who, int configure);

/* Leaves a call entered with decam__ctx_enter(): on success the message is ""
 * (whatever a call made from a callback left behind); when the outermost
 * call leaves and decam_free() was called inside it, the context is freed
 * now. Returns status. Do not touch ctx after it. */
decam_status decam__ctx_leave(decam_ctx *ctx, decam_status status);

/* The guard of a getter, a function that only reads: refuses a NULL ctx
 * (DECAM_ERR_INVALID_ARGUMENT, no message) and enters the call, leaving
 * the last message as it is; decam__ctx_leave_getter() must follow. */
decam_status decam__ctx_enter_getter(decam_ctx *ctx);

/* Leaves a getter's call: the message is the getter's own failure's, or
 * the one before the call. Frees the context as decam__ctx_leave() does.
 * Returns status. */
decam_status decam__ctx_leave_getter(decam_ctx *ctx, decam_status status);

/* A getter as its body between the two: a caller may read the statistics
 * of a failed run before its message. */
#define GETTER(ctx, call)                                                                          \
    do {                                                                                           \
        decam_status entered_ = decam__ctx_enter_getter(ctx);                                      \
        if (entered_ != DECAM_OK) return entered_;                                                 \
        return decam__ctx_leave_getter((ctx), (call));                                             \
    } while (0)

/* A public function as its body between decam__ctx_enter() and decam__ctx_leave(). A
 * NULL ctx is refused before anything else. */
#define GUARDED(ctx, who, configure, call)                                                         \
    do {                                                                                           \
        decam_status entered_ = decam__ctx_enter((ctx), (who), (configure));                       \
        if (!(ctx)) return entered_;                                                               \
        return decam__ctx_leave((ctx), entered_ != DECAM_OK ? entered_ : (call));                  \
    } while (0)

/* As decam__ctx_enter() for a const context (getters): no busy check. */
static inline decam_status ctx_enter_const(const decam_ctx *ctx, const char *who) {
    return decam__ctx_enter((decam_ctx *)ctx, who, 0);
}

/* Checks width, height and channels against the limits and stores
 * width*height*channels in *values. `who` names the caller in messages. */
decam_status decam__params_check_image_size(decam_ctx *ctx, const char *who, int width, int height,
                                            int channels, size_t *values);

/* Sends a message to the log handler if one is set and `level` passes. */
void decam__ctx_log(decam_ctx *ctx, decam_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Allocates n * size bytes (overflow-checked) with the context's allocator;
 * NULL on failure, which the caller reports as DECAM_ERR_OUT_OF_MEMORY. */
void *decam__ctx_alloc(decam_ctx *ctx, size_t n, size_t size);
/* As ctx_alloc, zero-filled. */
void *decam__ctx_calloc(decam_ctx *ctx, size_t n, size_t size);
/* Frees memory from ctx_alloc; accepts NULL. */
void decam__ctx_dealloc(decam_ctx *ctx, void *ptr);

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
        if (cond) return decam__ctx_fail((ctx), (status), __VA_ARGS__);                            \
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
            status = decam__ctx_fail((ctx), (st), __VA_ARGS__);                                    \
            goto cleanup;                                                                          \
        }                                                                                          \
    } while (0)

#define GOTO_IF_ERROR(expr)                                                                        \
    do {                                                                                           \
        status = (expr);                                                                           \
        if (status != DECAM_OK) goto cleanup;                                                      \
    } while (0)

#endif /* DECAM_CONTEXT_H */
