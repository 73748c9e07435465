/* session.c - items, requests and the runs behind them (session.h). */
#include "session.h"

#include <math.h>
#include <stdio.h>

#include "batch.h"
#include "method.h"
#include "params.h"
#include "scoring.h"

/* An image of the request: image k of run r's want. */
typedef struct slot {
    run *r;
    size_t k;
} slot;

struct session {
    decam_ctx *ctx;
    const method_info *method;
    decam_item *items; /* the caller's, copied */
    uint32_t *targets; /* every item's targets, copied, one after the other */
    size_t n_items;
    /* One per item: NULL before it starts (i >= next) and once it is
     * done, so a run's memory is held only while it runs. */
    run **runs;
    size_t first;     /* the oldest item not finished */
    size_t next;      /* the first item not started */
    size_t done;      /* items finished */
    size_t active;    /* runs started and not finished */
    size_t load;      /* images their wants may hold at once, at the most */
    size_t cap, room; /* images per request; images the buffers hold */
    size_t values;    /* floats of the largest item */
    size_t n_outputs;
    pool *pool;        /* the context's workers, or NULL with one thread */
    float *images;     /* room * values: the request */
    float *scores;     /* room * n_outputs: the model callback's */
    slot *slots;       /* room: the request's images */
    size_t asked;      /* images of the request handed out; 0: none */
    image_shape shape; /* of the request */
    uint64_t queries, calls;
    double model_seconds, asked_at, started_at;
    run_totals totals;   /* what progress reports tell of all items */
    decam_status status; /* the first failure, or a cancellation */
    char why[256];       /* its message */
    int complete;        /* every item done */
};

/* ---- checks ---------------------------------------------------------- */

/* "items[3]." in a multi-item call, "" in decam_explain()'s. */
static void item_name(char *buf, size_t size, int single, size_t i) {
    if (single)
        buf[0] = '\0';
    else
        snprintf(buf, size, "items[%zu].", i);
}

static decam_status check_targets(decam_ctx *ctx, const char *who, const decam_item *it,
                                  const char *name, int several_ok) {
    const double *p = ctx->params;
    if (!it->targets) {
        FAIL_IF(it->n_targets > 1, ctx, DECAM_ERR_INVALID_ARGUMENT,
                "%s: %stargets is NULL but %sn_targets = %zu", who, name, name, it->n_targets);
        return decam__scorer_check_target(ctx, "", "target", p[PS_TARGET]);
    }
    FAIL_IF(it->n_targets == 0, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: %sn_targets is 0 but %stargets is set", who, name, name);
    FAIL_IF(it->n_targets > 65536, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: %sn_targets = %zu is more than %d", who, name, it->n_targets, 65536);
    FAIL_IF(it->n_targets > 1 && !several_ok, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: %sn_targets = %zu, but assembly = %s gives one map (use all_evaluated or "
            "regression)",
            who, name, it->n_targets, decam_value_name(DECAM_PARAM_ASSEMBLY, (int)p[PS_ASSEMBLY]));
    char prefix[80], what[64];
    snprintf(prefix, sizeof prefix, "%s: ", who);
    for (size_t t = 0; t < it->n_targets; t++) {
        snprintf(what, sizeof what, "%stargets[%zu]", name, t);
        FORWARD_IF_ERROR(decam__scorer_check_target(ctx, prefix, what, it->targets[t]));
    }
    return DECAM_OK;
}

static decam_status check_baseline(decam_ctx *ctx, const decam_item *it) {
    if (ctx->params[PS_BASELINE] != DECAM_BASELINE_IMAGE) return DECAM_OK;
    FAIL_IF(!ctx->baseline, ctx, DECAM_ERR_MISSING_INPUT,
            "baseline = image, but no baseline image is set (decam_set_baseline_image)");
    FAIL_IF(ctx->baseline_w != it->width || ctx->baseline_h != it->height ||
                ctx->baseline_c != it->channels,
            ctx, DECAM_ERR_MISSING_INPUT,
            "baseline image is %d x %d x %d but the image is %d x %d x %d", ctx->baseline_w,
            ctx->baseline_h, ctx->baseline_c, it->width, it->height, it->channels);
    return DECAM_OK;
}

static decam_status check_item(decam_ctx *ctx, const char *who, const method_info *m,
                               const decam_item *it, size_t i, int mode, size_t *values) {
    char name[40];
    item_name(name, sizeof name, mode == SESSION_SINGLE, i);
    FAIL_IF(!it->image, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: %simage is NULL", who, name);
    FAIL_IF(!it->saliency_out, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: %ssaliency_out is NULL", who,
            name);
    FORWARD_IF_ERROR(
        decam__params_check_image_size(ctx, who, it->width, it->height, it->channels, values));
    FAIL_IF(mode != SESSION_CALLER && !ctx->model, ctx, DECAM_ERR_NO_MODEL,
            "%s: no model callback; call decam_set_model() first", who);
    const double *p = ctx->params;
    FORWARD_IF_ERROR(check_targets(ctx, who, it, name, m->several_targets(p)));
    FORWARD_IF_ERROR(check_baseline(ctx, it));
    const method_inputs in = {it->width, it->height, ctx->prior, ctx->prior_w, ctx->prior_h};
    const char *missing = m->check ? m->check(p, &in) : NULL;
    FAIL_IF(missing, ctx, DECAM_ERR_MISSING_INPUT, "%s", missing);
    uint64_t budget = (uint64_t)p[PS_BUDGET];
    uint64_t need = m->min_queries(p, it->width, it->height);
    /* The budget is the context's; what it must pay for is the item's. */
    char whose[80] = "";
    if (mode != SESSION_SINGLE)
        snprintf(whose, sizeof whose, "%s: items[%zu] (%d x %d): ", who, i, it->width, it->height);
    FAIL_IF(budget < need, ctx, DECAM_ERR_BUDGET_TOO_SMALL,
            "%sbudget = %llu queries is less than %llu, %s", whose, (unsigned long long)budget,
            (unsigned long long)need, m->min_queries_what);
    FAIL_IF(it->stats && it->stats->size < sizeof it->stats->size, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: set %sstats->size to sizeof(decam_stats) first", who, name);
    return DECAM_OK;
}

/* ---- begin ----------------------------------------------------------- */

/* The context's pool for `threads`: made at the first run that needs it,
 * kept, and made again only when the thread count changes. */
static decam_status ensure_pool(decam_ctx *ctx, int threads) {
    if (threads < 2) return DECAM_OK;
    if (decam__pool_threads(ctx->pool) != threads) {
        decam__pool_free(ctx->pool, &ctx->mem);
        ctx->pool = decam__pool_create(&ctx->mem, threads);
        FAIL_IF(!ctx->pool, ctx, DECAM_ERR_OUT_OF_MEMORY, "out of memory for a pool of %d threads",
                threads);
        if (decam__pool_missing(ctx->pool) > 0)
            decam__ctx_log(
                ctx, DECAM_LOG_WARNING,
                "could not start %d of %d threads; their work is done on the calling thread",
                decam__pool_missing(ctx->pool), threads);
    }
    return DECAM_OK;
}

static void session_free(session *s) {
    decam_ctx *ctx = s->ctx;
    for (size_t i = 0; s->runs && i < s->n_items; i++)
        if (s->runs[i]) {
            decam__run_release(s->runs[i]);
            decam__ctx_dealloc(ctx, s->runs[i]);
        }
    decam__ctx_dealloc(ctx, s->items);
    decam__ctx_dealloc(ctx, s->targets);
    decam__ctx_dealloc(ctx, s->runs);
    decam__ctx_dealloc(ctx, s->images);
    decam__ctx_dealloc(ctx, s->scores);
    decam__ctx_dealloc(ctx, s->slots);
    decam__ctx_dealloc(ctx, s);
}

/* Copies the items and their targets (NULL targets: the target
 * parameter): with the run pointers, all that grows with n_items. */
static decam_status copy_items(session *s, const decam_item *items, size_t n_targets) {
    decam_ctx *ctx = s->ctx;
    s->items = decam__ctx_alloc(ctx, s->n_items, sizeof *s->items);
    s->targets = decam__ctx_alloc(ctx, n_targets, sizeof *s->targets);
    s->runs = decam__ctx_calloc(ctx, s->n_items, sizeof *s->runs);
    FAIL_IF(!s->items || !s->targets || !s->runs, ctx, DECAM_ERR_OUT_OF_MEMORY,
            "out of memory for a run of %zu items", s->n_items);
    uint32_t *t = s->targets;
    for (size_t i = 0; i < s->n_items; i++) {
        decam_item it = items[i];
        if (it.targets) {
            for (size_t k = 0; k < it.n_targets; k++)
                t[k] = it.targets[k];
        } else {
            it.n_targets = 1;
            t[0] = (uint32_t)ctx->params[PS_TARGET];
        }
        it.targets = t;
        t += it.n_targets;
        s->items[i] = it;
    }
    return DECAM_OK;
}

/* Images item i's wants hold at once at the most: a step of its method,
 * or all its queries when they are fewer. */
static size_t weight_of(const session *s, size_t i) {
    const double *p = s->ctx->params;
    const decam_item *it = &s->items[i];
    uint64_t step = s->method->step_images(p), spend = (uint64_t)p[PS_BUDGET];
    if (s->method->max_queries) {
        uint64_t most = s->method->max_queries(p, it->width, it->height);
        spend = most < spend ? most : spend;
    }
    return (size_t)(spend < step ? spend : step);
}

/* Images a request holds: the batch size (0: the method's step), and no
 * more than all the items could ever want at once. */
static decam_status allocate_buffers(session *s) {
    decam_ctx *ctx = s->ctx;
    const double *p = ctx->params;
    s->cap = p[PS_BATCH_SIZE] > 0 ? (size_t)p[PS_BATCH_SIZE] : s->method->step_images(p);
    s->room = 0;
    for (size_t i = 0; i < s->n_items && s->room < s->cap; i++)
        s->room += weight_of(s, i);
    if (s->room > s->cap) s->room = s->cap;
    s->images = decam__ctx_alloc(ctx, s->room, s->values * sizeof *s->images);
    s->scores = decam__ctx_alloc(ctx, s->room, s->n_outputs * sizeof *s->scores);
    s->slots = decam__ctx_alloc(ctx, s->room, sizeof *s->slots);
    FAIL_IF(!s->images || !s->scores || !s->slots, ctx, DECAM_ERR_OUT_OF_MEMORY,
            "out of memory for a batch of %zu images of %zu values", s->room, s->values);
    return DECAM_OK;
}

static decam_status check_items(decam_ctx *ctx, const char *who, const method_info *m,
                                const decam_item *items, size_t n_items, int mode, size_t *values,
                                size_t *n_targets) {
    for (size_t i = 0; i < n_items; i++) {
        size_t v = 0;
        FORWARD_IF_ERROR(check_item(ctx, who, m, &items[i], i, mode, &v));
        if (v > *values) *values = v;
        *n_targets += items[i].targets ? items[i].n_targets : 1;
        /* The model callback is not told the size of the images. */
        FAIL_IF(mode == SESSION_CALLBACK &&
                    (items[i].width != items[0].width || items[i].height != items[0].height ||
                     items[i].channels != items[0].channels),
                ctx, DECAM_ERR_INVALID_ARGUMENT,
                "%s: items[%zu] is %d x %d x %d but items[0] is %d x %d x %d; the model "
                "callback cannot tell sizes apart (use decam_begin() and decam_ask())",
                who, i, items[i].width, items[i].height, items[i].channels, items[0].width,
                items[0].height, items[0].channels);
    }
    return DECAM_OK;
}

decam_status decam__session_begin(decam_ctx *ctx, const char *who, const decam_item *items,
                                  size_t n_items, int mode) {
    const method_info *m = decam__method_lookup((decam_method)ctx->params[PS_METHOD]);
    return decam__session_begin_method(ctx, who, m, items, n_items, mode);
}

decam_status decam__session_begin_method(decam_ctx *ctx, const char *who, const method_info *m,
                                         const decam_item *items, size_t n_items, int mode) {
    ctx->raw_w = ctx->raw_h = 0;
    ctx->stats = (decam_stats){.size = sizeof ctx->stats,
                               .score_full = NAN,
                               .score_keep = NAN,
                               .score_drop = NAN,
                               .best_fitness = NAN};
    FAIL_IF(!items, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: items is NULL", who);
    FAIL_IF(n_items == 0 || n_items > UINT32_MAX, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: n_items = %zu must be 1 .. 2^32 - 1", who, n_items);
    const double *p = ctx->params;
    FAIL_IF(!m, ctx, DECAM_ERR_UNSUPPORTED, "%s: method %g is not built in", who, p[PS_METHOD]);
    size_t values = 0, n_targets = 0;
    FORWARD_IF_ERROR(decam__scorer_check_outputs(ctx, who));
    FORWARD_IF_ERROR(check_items(ctx, who, m, items, n_items, mode, &values, &n_targets));
    FORWARD_IF_ERROR(ensure_pool(ctx, (int)p[PS_THREADS]));

    session *s = decam__ctx_calloc(ctx, 1, sizeof *s);
    FAIL_IF(!s, ctx, DECAM_ERR_OUT_OF_MEMORY, "%s: out of memory", who);
    *s = (session){.ctx = ctx,
                   .method = m,
                   .n_items = n_items,
                   .values = values,
                   .n_outputs = (size_t)p[PS_N_OUTPUTS],
                   /* The pool a smaller thread count left is not used. */
                   .pool = p[PS_THREADS] >= 2 ? ctx->pool : NULL,
                   .started_at = decam__batch_now()};
    s->totals =
        (run_totals){.budget = (uint64_t)p[PS_BUDGET] * n_items, .items = (uint32_t)n_items};
    decam_status status = copy_items(s, items, n_targets);
    if (status == DECAM_OK) status = allocate_buffers(s);
    if (status != DECAM_OK) {
        session_free(s);
        return status;
    }
    ctx->session = s;
    ctx->abandon = decam__session_cancel;
    ctx->busy = 1;
    atomic_store(&ctx->stop_requested, ctx->free_pending);
    return DECAM_OK;
}

/* ---- requests ------------------------------------------------------------ */

static decam_termination termination_of(const decam_ctx *ctx, decam_status status) {
    if (status == DECAM_OK) return DECAM_TERMINATION_NONE;
    if (status != DECAM_ERR_CANCELLED) return DECAM_TERMINATION_ERROR;
    return atomic_load(&ctx->stop_requested) ? DECAM_TERMINATION_FORCED
                                             : DECAM_TERMINATION_CANCELLED;
}

/* The statistics of a run that has ended with `status`, into its item's. */
static void record_stats(session *s, run *r, decam_status status) {
    decam_stats *st = &r->stats;
    if (status != DECAM_OK) st->termination = termination_of(s->ctx, status);
    st->queries = r->queries;
    st->model_calls = r->calls;
    st->model_seconds = r->model_seconds;
    st->library_seconds = decam__batch_now() - r->started_at - r->model_seconds;
    if (st->library_seconds < 0) st->library_seconds = 0;
    decam_item *it = &s->items[r->item];
    if (it->stats) ctx_copy_sized(it->stats, st, sizeof *st);
    decam__ctx_log(s->ctx, DECAM_LOG_INFO, "explained %d x %d x %d: %llu queries, %u steps, %s",
                   r->shape.w, r->shape.h, r->shape.c, (unsigned long long)r->queries,
                   st->generations, decam_status_string(status));
}

/* The statistics of an item that never started, when the run ends. */
static void record_unstarted(session *s, size_t i, decam_status status) {
    decam_stats st = {.size = sizeof st,
                      .termination = termination_of(s->ctx, status),
                      .score_full = NAN,
                      .score_keep = NAN,
                      .score_drop = NAN,
                      .best_fitness = NAN};
    if (s->items[i].stats) ctx_copy_sized(s->items[i].stats, &st, sizeof st);
}

/* A run reached RUN_DONE: its statistics, its memory back. */
static void retire(session *s, run *r) {
    const size_t i = r->item;
    record_stats(s, r, DECAM_OK);
    if (i == 0) s->ctx->stats = r->stats;
    decam__run_release(r);
    decam__ctx_dealloc(s->ctx, r);
    s->runs[i] = NULL;
    s->active--;
    s->load -= weight_of(s, i);
    s->done++;
    while (s->first < s->next && !s->runs[s->first])
        s->first++;
    s->totals.items_done = (uint32_t)s->done;
    s->complete = s->done == s->n_items;
}

static decam_status start_item(session *s) {
    decam_ctx *ctx = s->ctx;
    const double *p = ctx->params;
    const size_t i = s->next;
    const decam_item *it = &s->items[i];
    const run_spec spec = {
        .image = it->image,
        .shape = {it->width, it->height, it->channels, (decam_layout)p[PS_LAYOUT]},
        .budget = (uint64_t)p[PS_BUDGET],
        .threads = (int)p[PS_THREADS],
        .pool = s->pool,
        .seed = (uint64_t)p[PS_SEED],
        .method = s->method,
        .targets = it->n_targets,
        .target = it->targets,
        .out = it->saliency_out,
        .keeps_raw = i == 0,
        .item = (uint32_t)i,
        .totals = &s->totals,
    };
    run *r = decam__ctx_calloc(ctx, 1, sizeof *r);
    FAIL_IF(!r, ctx, DECAM_ERR_OUT_OF_MEMORY, "out of memory starting items[%zu]", i);
    s->runs[i] = r;
    s->next++;
    s->active++;
    s->load += weight_of(s, i);
    return decam__run_start(r, ctx, &spec);
}

decam_status decam__session_stop(session *s, decam_status status) {
    if (s->status == DECAM_OK) {
        s->status = status;
        snprintf(s->why, sizeof s->why, "%s", s->ctx->errmsg);
    }
    return status;
}

/* Starts items while the runs in progress cannot fill a request. */
static decam_status start_items(session *s) {
    while (s->next < s->n_items && (s->active == 0 || s->load < s->cap)) {
        decam_status status = start_item(s);
        if (status != DECAM_OK) return decam__session_stop(s, status);
    }
    return DECAM_OK;
}

static int same_shape(const image_shape *a, const image_shape *b) {
    return a->w == b->w && a->h == b->h && a->c == b->c;
}

typedef struct render_job {
    session *s;
    size_t values;
} render_job;

static void render_range(void *job, size_t first, size_t last, int worker) {
    render_job *j = job;
    for (size_t k = first; k < last; k++) {
        const slot *sl = &j->s->slots[k];
        want *w = &sl->r->want;
        w->fill(w->job, sl->k, j->s->images + k * j->values, worker);
    }
}

/* Gathers the waiting images of the oldest runs into a request. */
static size_t gather(session *s) {
    size_t n = 0;
    for (size_t i = s->first; i < s->next && n < s->room; i++) {
        run *r = s->runs[i];
        if (!r) continue; /* done */
        want *w = &r->want;
        if (r->phase == RUN_DONE || w->sent == w->n) continue;
        if (n == 0) s->shape = r->shape;
        if (!same_shape(&s->shape, &r->shape)) continue;
        while (w->sent < w->n && n < s->room)
            s->slots[n++] = (slot){r, w->sent++};
    }
    return n;
}

decam_status decam__session_ask(session *s, decam_request *out) {
    decam_request rq = {.size = sizeof rq, .n_outputs = s->n_outputs};
    if (s->status == DECAM_OK && !s->complete && atomic_load(&s->ctx->stop_requested))
        /* decam_force_stop() between a tell and this ask: no more images. */
        (void)decam__session_stop(
            s, decam__ctx_fail(s->ctx, DECAM_ERR_CANCELLED, "stopped by decam_force_stop()"));
    if (s->status == DECAM_OK && !s->complete && s->asked == 0) {
        decam_status status = start_items(s);
        if (status != DECAM_OK) return status;
        size_t n = gather(s);
        if (n > 0) {
            const size_t values = (size_t)s->shape.w * s->shape.h * s->shape.c;
            render_job job = {s, values};
            decam__pool_run(s->pool, n, render_range, &job);
            s->asked = n;
        }
    }
    if (s->asked > 0 && s->status == DECAM_OK) {
        rq.images = s->images;
        rq.n = s->asked;
        rq.width = s->shape.w;
        rq.height = s->shape.h;
        rq.channels = s->shape.c;
    }
    ctx_copy_sized(out, &rq, sizeof rq);
    s->asked_at = decam__batch_now();
    return DECAM_OK;
}

/* Counts the request's images and call, per run too, and its time. */
static void count_request(session *s) {
    const size_t n = s->asked;
    const double seconds = decam__batch_now() - s->asked_at;
    s->queries += n;
    s->totals.queries = s->queries;
    s->calls++;
    s->model_seconds += seconds;
    run *last = NULL;
    for (size_t j = 0; j < n; j++) {
        run *r = s->slots[j].r;
        r->queries++;
        r->model_seconds += seconds / (double)n;
        if (r != last) r->calls++; /* a run's images sit together */
        last = r;
    }
}

decam_status decam__session_model_failed(session *s, int rc) {
    if (s->status != DECAM_OK) return s->status;
    FAIL_IF(s->asked == 0, s->ctx, DECAM_ERR_INVALID_ARGUMENT,
            "decam_tell_failed: no request to answer; call decam_ask() first");
    count_request(s);
    const size_t n = s->asked;
    s->asked = 0;
    return decam__session_stop(
        s, decam__ctx_fail(s->ctx, DECAM_ERR_MODEL_FAILED,
                           "the model callback returned %d on call %llu (a batch of %zu "
                           "images)",
                           rc, (unsigned long long)s->calls, n));
}

/* Stores the request's target scores, as the scorer makes them from the
 * model's outputs, in the wants; refuses non-finite ones. */
static decam_status store_scores(session *s, const float *scores) {
    const scorer *sc = &s->ctx->scorer;
    for (size_t j = 0; j < s->asked; j++) {
        run *r = s->slots[j].r;
        want *w = &r->want;
        const float *row = scores + j * s->n_outputs;
        for (size_t t = 0; t < r->targets; t++) {
            double v = 0.0;
            FORWARD_IF_ERROR(decam__scorer_apply(s->ctx, sc, row, s->n_outputs, r->target[t],
                                                 r->shape.w, r->shape.h, j, s->calls, &v));
            w->scores[s->slots[j].k * r->targets + t] = v;
        }
        w->scored++;
    }
    return DECAM_OK;
}

decam_status decam__session_tell(session *s, const float *scores, size_t n) {
    decam_ctx *ctx = s->ctx;
    FAIL_IF(s->status != DECAM_OK, ctx, s->status, "decam_tell: the run has stopped (%s)",
            decam_status_string(s->status));
    FAIL_IF(s->asked == 0, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "decam_tell: no request to answer; call decam_ask() first");
    FAIL_IF(!scores, ctx, DECAM_ERR_INVALID_ARGUMENT, "decam_tell: scores is NULL");
    FAIL_IF(n != s->asked, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "decam_tell: n = %zu, but the request has %zu images", n, s->asked);
    count_request(s);
    decam_status status = store_scores(s, scores);
    s->asked = 0;
    if (status != DECAM_OK) return decam__session_stop(s, status);
    if (ctx->free_pending)
        return decam__session_stop(
            s, decam__ctx_fail(ctx, DECAM_ERR_CANCELLED, "stopped: the context is being freed"));
    if (atomic_load(&ctx->stop_requested))
        return decam__session_stop(
            s, decam__ctx_fail(ctx, DECAM_ERR_CANCELLED, "stopped by decam_force_stop()"));
    /* Every run whose want is complete moves on, oldest first. */
    for (size_t i = s->first; i < s->next; i++) {
        run *r = s->runs[i];
        if (!r || r->want.n == 0 || r->want.scored < r->want.n) continue;
        status = decam__run_advance(r, 0);
        if (status != DECAM_OK) return decam__session_stop(s, status);
        if (r->phase == RUN_DONE) retire(s, r);
    }
    return DECAM_OK;
}

/* ---- the end --------------------------------------------------------- */

/* The context's statistics: item 0's (recorded as it ended), with the
 * totals of the session. */
static void end(session *s, decam_status status) {
    decam_ctx *ctx = s->ctx;
    decam_stats total = ctx->stats;
    if (s->next == 0) total.termination = termination_of(ctx, status);
    total.queries = s->queries;
    total.model_calls = s->calls;
    total.model_seconds = s->model_seconds;
    total.library_seconds = decam__batch_now() - s->started_at - s->model_seconds;
    if (total.library_seconds < 0) total.library_seconds = 0;
    ctx->stats = total;
    if (status != DECAM_OK && status != DECAM_ERR_CANCELLED) {
        /* A failed run leaves no map, and holds no memory for one. */
        decam__ctx_dealloc(ctx, ctx->raw);
        ctx->raw = NULL;
        ctx->raw_len = 0;
        ctx->raw_w = ctx->raw_h = 0;
    }
    ctx->session = NULL;
    ctx->busy = 0;
    session_free(s);
}

decam_status decam__session_finish(session *s) {
    decam_ctx *ctx = s->ctx;
    decam_status status = s->status;
    if (status == DECAM_OK && !s->complete)
        status = decam__session_stop(
            s, decam__ctx_fail(ctx, DECAM_ERR_CANCELLED,
                               "decam_finish: the run was ended before it was complete"));
    for (size_t i = 0; i < s->n_items; i++) {
        run *r = s->runs[i];
        const decam_item *it = &s->items[i];
        if (i < s->next && !r) continue; /* done, its statistics written */
        if (!r) {
            /* Never started: zeros for its maps after a cancellation
             * (the queries so far told nothing of it); its statistics
             * say how the run ended. */
            if (status == DECAM_ERR_CANCELLED)
                for (size_t v = 0; v < it->n_targets * (size_t)it->width * it->height; v++)
                    it->saliency_out[v] = 0.0f;
            record_unstarted(s, i, status);
            continue;
        }
        if (r->phase == RUN_DONE) continue;
        if (status == DECAM_ERR_CANCELLED) {
            decam_status st = decam__run_stop(r);
            if (st != DECAM_OK && st != DECAM_ERR_CANCELLED) status = decam__session_stop(s, st);
        }
        record_stats(s, r, status);
        if (i == 0) ctx->stats = r->stats;
    }
    /* The message of what stopped the session, which a later public call
     * (decam_finish() itself) has cleared; logged once already. */
    if (status != DECAM_OK) snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", s->why);
    end(s, status);
    return status;
}

void decam__session_cancel(session *s) {
    for (size_t i = 0; i < s->n_items; i++) {
        run *r = s->runs[i];
        if (i >= s->next) {
            record_unstarted(s, i, DECAM_ERR_CANCELLED);
            continue;
        }
        if (!r || r->phase == RUN_DONE) continue;
        record_stats(s, r, DECAM_ERR_CANCELLED);
        if (i == 0) s->ctx->stats = r->stats;
    }
    end(s, DECAM_ERR_CANCELLED);
}

/* ---- the model callback's loop ---------------------------------------- */

decam_status decam__session_drive(session *s) {
    decam_ctx *ctx = s->ctx;
    for (;;) {
        decam_request rq = {.size = sizeof rq};
        if (decam__session_ask(s, &rq) != DECAM_OK || rq.n == 0) break;
        if (ctx->free_pending) {
            /* decam_free() was called from a callback: none runs again. */
            decam__session_stop(s, decam__ctx_fail(ctx, DECAM_ERR_CANCELLED,
                                                   "stopped: the context is being freed"));
            break;
        }
        int rc = ctx->model(ctx->model_user, rq.images, rq.n, s->scores);
        if (rc != 0) {
            (void)decam__session_model_failed(s, rc);
            break;
        }
        if (decam__session_tell(s, s->scores, rq.n) != DECAM_OK) break;
    }
    return decam__session_finish(s);
}
