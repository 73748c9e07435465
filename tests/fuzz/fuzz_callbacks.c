/*
 * fuzz_callbacks.c - libFuzzer target whose model, progress and log
 * callbacks misuse the API, each call choosing from the input what it
 * does to the context it was called for: re-enter decam_explain() or
 * decam_evaluate(), call every setter, read parameters and statistics,
 * call the caller-driven functions, force a stop, return an error, or
 * free the context. Rounds run decam_explain(), decam_evaluate(),
 * decam_explain_items() or a caller-driven run whose asks, tells (with
 * scores the input chooses, NaN and wrong counts included), early
 * finishes and cancellations come from the input.
 *
 * Allowed outcomes: inside a run every setter and re-entry is refused
 * with DECAM_ERR_BUSY, getters succeed, the outer call returns a
 * documented status (with a message unless DECAM_OK, and "" after
 * DECAM_OK), no callback runs after a decam_free() from a callback, and
 * the context is gone when the outer call returns (the sanitizers see any
 * use after free or leak).
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decam.h"
#include "reader.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

enum { MAX_SIDE = 12 };

typedef struct state {
    reader in;
    decam_ctx *ctx;
    int freed;   /* decam_free() was called from a callback */
    int running; /* inside decam_explain() or decam_evaluate() */
    int w, h, c;
    float image[MAX_SIDE * MAX_SIDE * 3];
    float map[MAX_SIDE * MAX_SIDE];
    int log_depth;
} state;

static int documented(decam_status s) { return s >= DECAM_OK && s <= DECAM_ERR_UNSUPPORTED; }

/* One misuse, chosen by the input; returns what a callback returning int
 * should return. */
static int misuse(state *s, int in_log) {
    decam_ctx *ctx = s->ctx;
    uint8_t op = byte(&s->in);
    decam_status st = DECAM_OK;
    /* The model and progress callbacks run inside a run; the log handler
     * also hears failures decam_explain() finds before its run begins
     * (sizes, budget), when setters are still allowed. */
    int refused_expected = s->running && !in_log;
    switch (op % 18) {
    case 0: {
        float out[MAX_SIDE * MAX_SIDE];
        st = decam_explain(ctx, s->image, s->w, s->h, s->c, out);
        break;
    }
    case 1: {
        decam_metrics m = {.size = sizeof m};
        st = decam_evaluate(ctx, s->image, s->w, s->h, s->c, s->map, NULL, &m);
        break;
    }
    case 2: st = decam_set_param(ctx, DECAM_PARAM_BUDGET, 5 + byte(&s->in)); break;
    case 3: st = decam_set_model(ctx, NULL, NULL); break;
    case 4: st = decam_set_progress(ctx, NULL, NULL); break;
    case 5: st = decam_set_log(ctx, NULL, NULL, DECAM_LOG_DEBUG); break;
    case 6: st = decam_set_baseline_image(ctx, s->image, s->w, s->h, s->c); break;
    case 7: st = decam_set_prior_map(ctx, s->map, s->w, s->h); break;
    case 8: st = decam_reset_params(ctx); break;
    case 9: {
        double v;
        st = decam_get_param(ctx, DECAM_PARAM_SEED, &v);
        CHECK(st == DECAM_OK);
        refused_expected = 0;
        break;
    }
    case 10: {
        decam_stats stats = {.size = sizeof stats};
        st = decam_get_stats(ctx, &stats);
        CHECK(st == DECAM_OK);
        refused_expected = 0;
        break;
    }
    case 11:
        decam_force_stop(ctx);
        refused_expected = 0;
        break;
    case 12:
        if (!s->freed) decam_free(ctx);
        s->freed = 1;
        refused_expected = 0;
        break;
    case 13: return 1 + byte(&s->in) % 3; /* an error, or a cancellation */
    case 14: {
        decam_request rq = {.size = sizeof rq};
        st = decam_ask(ctx, &rq);
        if (s->running && !in_log) CHECK(st == DECAM_ERR_BUSY);
        refused_expected = 0; /* outside a run: no run to ask */
        break;
    }
    case 15: {
        decam_item it = {.image = s->image, .width = s->w, .height = s->h, .channels = s->c,
                         .saliency_out = s->map};
        st = byte(&s->in) & 1 ? decam_begin(ctx, &it, 1) : decam_explain_items(ctx, &it, 1);
        /* The log handler may have freed the context during the call. */
        if (st == DECAM_OK && !s->running && !s->freed) {
            decam_cancel(ctx); /* a run begun here is abandoned here */
            CHECK(decam_set_param(ctx, DECAM_PARAM_SEED, 1) == 0);
        }
        break;
    }
    default: refused_expected = 0; break; /* behave */
    }
    CHECK(documented(st));
    if (refused_expected) CHECK(st == DECAM_ERR_BUSY);
    return 0;
}

static int model(void *user, const float *images, size_t n, float *scores) {
    state *s = user;
    CHECK(!s->freed); /* no callback after decam_free() */
    const size_t values = (size_t)s->w * s->h * s->c;
    for (size_t i = 0; i < n; i++) {
        double sum = 0;
        for (size_t v = 0; v < values; v += 3)
            sum += images[i * values + v];
        scores[i] = (float)sum;
    }
    return misuse(s, 0);
}

static int progress(void *user, const decam_progress *p) {
    state *s = user;
    CHECK(!s->freed);
    CHECK(p->size >= sizeof *p && p->queries <= p->budget);
    return misuse(s, 0);
}

static void log_handler(void *user, decam_log_level level, const char *message) {
    state *s = user;
    CHECK(!s->freed);
    CHECK(message && !strchr(message, '\n'));
    (void)level;
    /* Never called from inside itself. */
    CHECK(s->log_depth == 0);
    s->log_depth++;
    misuse(s, 1);
    s->log_depth--;
}

/* A caller-driven run of one or two items, every step chosen by the
 * input. Returns the status the run ended with. */
static decam_status ask_tell_round(state *s) {
    decam_ctx *ctx = s->ctx;
    static float maps[2][MAX_SIDE * MAX_SIDE * 2];
    static float scores[4096];
    static const uint32_t targets[2] = {0, 0};
    decam_item items[2];
    for (int i = 0; i < 2; i++)
        items[i] = (decam_item){.image = s->image, .width = s->w, .height = s->h,
                                .channels = s->c, .saliency_out = maps[i]};
    items[1].targets = targets;
    items[1].n_targets = 1 + byte(&s->in) % 2;
    decam_status st = decam_begin(ctx, items, 1 + byte(&s->in) % 2);
    if (st != DECAM_OK || s->freed) return st;
    for (int step = 0; step < 400; step++) {
        uint8_t op = byte(&s->in);
        if (op % 16 == 14) return decam_finish(ctx); /* early */
        if (op % 16 == 15) {
            decam_cancel(ctx);
            return DECAM_OK;
        }
        decam_request rq = {.size = sizeof rq};
        st = decam_ask(ctx, &rq);
        CHECK(documented(st));
        if (s->freed) return st;
        if (st != DECAM_OK || rq.n == 0) break;
        CHECK(rq.n <= sizeof scores / sizeof scores[0]);
        CHECK(rq.width == s->w && rq.height == s->h && rq.channels == s->c);
        for (size_t i = 0; i < rq.n; i++)
            scores[i] = (float)(i % 5) + (float)byte(&s->in) / 64.0f;
        if (op % 16 == 13) scores[byte(&s->in) % rq.n] = NAN;
        size_t n = op % 16 == 12 ? rq.n + 1 : rq.n;
        st = decam_tell(ctx, scores, n);
        CHECK(documented(st));
        if (s->freed) return st;
        if (n != rq.n) CHECK(st == DECAM_ERR_INVALID_ARGUMENT);
        if (st != DECAM_OK && st != DECAM_ERR_INVALID_ARGUMENT) break;
    }
    st = decam_finish(ctx);
    CHECK(st != DECAM_ERR_BUSY);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static state s;
    memset(&s, 0, sizeof s);
    s.in = (reader){data, size};
    s.ctx = decam_create();
    if (!s.ctx) return 0;
    s.w = 2 + byte(&s.in) % (MAX_SIDE - 1);
    s.h = 2 + byte(&s.in) % (MAX_SIDE - 1);
    s.c = 1 + byte(&s.in) % 3;
    for (int i = 0; i < s.w * s.h * s.c; i++)
        s.image[i] = (float)byte(&s.in) / 255.0f;
    for (int i = 0; i < s.w * s.h; i++)
        s.map[i] = (float)(i % 7);
    decam_ctx *ctx = s.ctx;
    CHECK(decam_set_model(ctx, model, &s) == DECAM_OK);
    if (byte(&s.in) & 1) CHECK(decam_set_progress(ctx, progress, &s) == DECAM_OK);
    if (byte(&s.in) & 1) CHECK(decam_set_log(ctx, log_handler, &s, DECAM_LOG_DEBUG) == DECAM_OK);
    CHECK(decam_set_param(ctx, DECAM_PARAM_BUDGET, 20 + byte(&s.in) % 60) == DECAM_OK);
    CHECK(decam_set_param(ctx, DECAM_PARAM_POPULATION, 4 + byte(&s.in) % 8) == DECAM_OK);
    CHECK(decam_set_param(ctx, DECAM_PARAM_METHOD, byte(&s.in) % 3) == DECAM_OK);
    CHECK(decam_set_param(ctx, DECAM_PARAM_THREADS, 1 + byte(&s.in) % 3) == DECAM_OK);
    CHECK(decam_set_param(ctx, DECAM_PARAM_OCCLUSION_WINDOW, 4) == DECAM_OK);
    CHECK(decam_set_param(ctx, DECAM_PARAM_EVAL_STEP, 8) == DECAM_OK);

    int rounds = 1 + byte(&s.in) % 3;
    for (int k = 0; k < rounds && !s.freed; k++) {
        decam_status st;
        s.running = 1;
        uint8_t kind = byte(&s.in) % 4;
        if (kind == 0) {
            st = decam_explain(ctx, s.image, s.w, s.h, s.c, s.map);
        } else if (kind == 1) {
            decam_metrics m = {.size = sizeof m};
            st = decam_evaluate(ctx, s.image, s.w, s.h, s.c, s.map, NULL, &m);
        } else if (kind == 2) {
            decam_item it = {.image = s.image, .width = s.w, .height = s.h, .channels = s.c,
                             .saliency_out = s.map};
            st = decam_explain_items(ctx, &it, 1);
        } else {
            st = ask_tell_round(&s);
        }
        s.running = 0;
        CHECK(documented(st));
        if (s.freed) break; /* the context is gone: never touch it again */
        if (st == DECAM_OK)
            CHECK(decam_errmsg(ctx)[0] == '\0');
        else
            CHECK(decam_errmsg(ctx)[0] != '\0' || st == DECAM_ERR_INVALID_ARGUMENT);
        /* Outside a run, the same misuse is allowed or refused normally. */
        if (!s.freed) misuse(&s, 0);
    }
    if (!s.freed) decam_free(ctx);
    return 0;
}
