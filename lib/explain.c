/*
 * explain.c - the public calls that explain: decam_explain() and
 * decam_explain_items(), which answer a session's requests (session.h)
 * with the model callback, and the caller-driven decam_begin(),
 * decam_ask(), decam_tell(), decam_finish() and decam_cancel(), which
 * hand them to the caller. Also the method table (method.h).
 */
#include <math.h>

#include "context.h"
#include "method.h"
#include "params.h"
#include "session.h"

/* The table, indexed by decam_method, from methods.h's list. */
static const method_info *const METHODS[DECAM_METHOD_COUNT] = {
#define METHOD_ROW_(id, name) [DECAM_METHOD_##id] = &decam__method_##name,
    METHODS_LIST(METHOD_ROW_)
#undef METHOD_ROW_
};

const method_info *decam__method_lookup(decam_method m) {
    if ((int)m < 0 || (size_t)m >= sizeof METHODS / sizeof METHODS[0]) return NULL;
    return METHODS[m];
}

size_t decam__method_batch_size(const double *params, size_t fallback, size_t most) {
    size_t cap = (size_t)params[PS_BATCH_SIZE];
    if (cap == 0) cap = fallback;
    return cap > most ? most : cap;
}

/* ---- the model callback's loop ---------------------------------------- */

/* decam_explain() and decam_explain_items(): checks, a session, the loop. */
static decam_status explain_items(decam_ctx *ctx, const char *who, const decam_item *items,
                                  size_t n_items, int single) {
    FORWARD_IF_ERROR(
        decam__session_begin(ctx, who, items, n_items, single ? SESSION_SINGLE : SESSION_CALLBACK));
    return decam__session_drive(ctx->session);
}

decam_status decam_explain(decam_ctx *ctx, const float *image, int width, int height, int channels,
                           float *saliency_out) {
    const decam_item item = {.image = image,
                             .width = width,
                             .height = height,
                             .channels = channels,
                             .saliency_out = saliency_out};
    GUARDED(ctx, "decam_explain", 1, explain_items(ctx, "decam_explain", &item, 1, 1));
}

decam_status decam_explain_items(decam_ctx *ctx, const decam_item *items, size_t n_items) {
    GUARDED(ctx, "decam_explain_items", 1,
            explain_items(ctx, "decam_explain_items", items, n_items, 0));
}

/* ---- the caller-driven run ----------------------------------------------- */

/* The session of a caller-driven call, or why there is none to use. */
static decam_status session_of(decam_ctx *ctx, const char *who, session **s) {
    FAIL_IF(ctx->depth > 1, ctx, DECAM_ERR_BUSY, "%s: not allowed from inside a callback", who);
    FAIL_IF(!ctx->session, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: no run in progress; call decam_begin() first", who);
    *s = ctx->session;
    return DECAM_OK;
}

static decam_status begin(decam_ctx *ctx, const decam_item *items, size_t n_items) {
    /* A run begun from a callback would outlive the call that invoked it. */
    FAIL_IF(ctx->depth > 1, ctx, DECAM_ERR_BUSY, "decam_begin: not allowed from inside a callback");
    return decam__session_begin(ctx, "decam_begin", items, n_items, SESSION_CALLER);
}

decam_status decam_begin(decam_ctx *ctx, const decam_item *items, size_t n_items) {
    GUARDED(ctx, "decam_begin", 1, begin(ctx, items, n_items));
}

static decam_status ask(decam_ctx *ctx, decam_request *request) {
    FAIL_IF(!request, ctx, DECAM_ERR_INVALID_ARGUMENT, "decam_ask: request is NULL");
    FAIL_IF(request->size < sizeof request->size, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "decam_ask: set request->size to sizeof(decam_request) first");
    session *s = NULL;
    FORWARD_IF_ERROR(session_of(ctx, "decam_ask", &s));
    return decam__session_ask(s, request);
}

decam_status decam_ask(decam_ctx *ctx, decam_request *request) {
    GUARDED(ctx, "decam_ask", 0, ask(ctx, request));
}

static decam_status tell(decam_ctx *ctx, const float *scores, size_t n) {
    session *s = NULL;
    FORWARD_IF_ERROR(session_of(ctx, "decam_tell", &s));
    return decam__session_tell(s, scores, n);
}

decam_status decam_tell(decam_ctx *ctx, const float *scores, size_t n) {
    GUARDED(ctx, "decam_tell", 0, tell(ctx, scores, n));
}

static decam_status tell_failed(decam_ctx *ctx, int code) {
    session *s = NULL;
    FORWARD_IF_ERROR(session_of(ctx, "decam_tell_failed", &s));
    return decam__session_model_failed(s, code);
}

decam_status decam_tell_failed(decam_ctx *ctx, int code) {
    GUARDED(ctx, "decam_tell_failed", 0, tell_failed(ctx, code));
}

static decam_status finish(decam_ctx *ctx) {
    session *s = NULL;
    FORWARD_IF_ERROR(session_of(ctx, "decam_finish", &s));
    return decam__session_finish(s);
}

decam_status decam_finish(decam_ctx *ctx) { GUARDED(ctx, "decam_finish", 0, finish(ctx)); }

void decam_cancel(decam_ctx *ctx) {
    if (!ctx || ctx->depth > 0) return;             /* refused from a callback: nothing happens */
    (void)decam__ctx_enter(ctx, "decam_cancel", 0); /* a call that succeeds: "" */
    if (ctx->session) decam__session_cancel(ctx->session);
    (void)decam__ctx_leave(ctx, DECAM_OK);
}

/* ---- results ------------------------------------------------------------- */

static decam_status get_raw_map(decam_ctx *ctx, float *map, size_t capacity, int *width,
                                int *height) {
    FAIL_IF(ctx->raw_w == 0, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "decam_get_raw_map: the last run left no map");
    if (width) *width = ctx->raw_w;
    if (height) *height = ctx->raw_h;
    if (!map) return DECAM_OK;
    FAIL_IF(capacity < ctx->raw_len, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "decam_get_raw_map: capacity = %zu is less than the map's %zu values", capacity,
            ctx->raw_len);
    for (size_t i = 0; i < ctx->raw_len; i++)
        map[i] = ctx->raw[i];
    return DECAM_OK;
}

decam_status decam_get_raw_map(const decam_ctx *ctx, float *map, size_t capacity, int *width,
                               int *height) {
    decam_ctx *c = (decam_ctx *)ctx; /* never a const object: see decam_get_stats() */
    GETTER(c, get_raw_map(c, map, capacity, width, height));
}
