/*
 * fuzz_api.c - libFuzzer target that drives the public API from its input:
 * parameter keys and values (in and out of range, NaN included), image
 * sizes within a small cap, both layouts, baseline images, prior maps, and
 * a model whose every answer (a score, NaN, an infinity, a huge value, an
 * error, a force-stop) is drawn from the input too.
 *
 * The only outcomes allowed are documented statuses with a message, maps
 * in [0,1] after success, and statistics that add up. Anything else traps.
 * Sizes and budgets are capped so that one input runs in milliseconds.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decam.h"
#include "reader.h"

static double any_value(reader *r) {
    static const double special[] = {0, 1, -1, 0.5, 2, 64, 65, 1e9, 1e10, -1e10, 4096, 4097};
    uint8_t k = byte(r);
    if (k < 12) return special[k];
    if (k == 12) return NAN;
    if (k == 13) return INFINITY;
    if (k < 128) return (double)(int8_t)byte(r);
    return (double)byte(r) / 64.0;
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

typedef struct model {
    reader *in;
    decam_ctx *ctx;
    int outputs;
    size_t calls;
} model;

/* Each call reads one byte deciding its behaviour. */
static int fuzz_model(void *user, const float *images, size_t n, float *scores) {
    model *m = user;
    uint8_t how = byte(m->in);
    m->calls++;
    if (how == 1) return 3;
    if (how == 2) decam_force_stop(m->ctx);
    for (size_t i = 0; i < n * (size_t)m->outputs; i++) {
        float v = images[(i / (size_t)m->outputs) % n];
        scores[i] = how == 3 ? NAN : how == 4 ? INFINITY : how == 5 ? 3e38f : v;
    }
    return 0;
}

static int documented(decam_status s) { return s >= DECAM_OK && s <= DECAM_ERR_UNSUPPORTED; }

/* The caller's scorer: one byte decides each score (a value, NaN, an
 * infinity, a failure). */
static int fuzz_scorer(void *user, const float *outputs, size_t n, uint32_t target, double *score) {
    reader *in = user;
    uint8_t how = byte(in);
    *score = how == 1 ? NAN : how == 2 ? INFINITY : outputs[target % n];
    return how == 3 ? 5 : 0;
}

/* A scorer from the input: every kind, with layouts, boxes, references and
 * regions in and out of their ranges. */
static decam_status set_scorer(decam_ctx *ctx, reader *in, const float *image) {
    float floats[64];
    for (int i = 0; i < 64; i++)
        floats[i] = (float)any_value(in);
    switch (byte(in) % 5) {
    case 0: return decam_score_outputs(ctx);
    case 1: {
        decam_detection_layout l = {
            .size = byte(in) % 8 ? sizeof l : 8,
            .proposals = byte(in) % 4,
            .stride = byte(in) % 12,
            .box_format = byte(in) % 4,
            .normalised = byte(in) % 3,
            .box_offset = byte(in) % 8,
            .objectness = (int)(byte(in) % 10) - 2,
            .class_offset = byte(in) % 8,
            .classes = byte(in) % 4,
        };
        int32_t labels[4];
        for (int i = 0; i < 4; i++)
            labels[i] = (int32_t)(byte(in) % 5) - 1;
        uint8_t which = byte(in) % 3;
        return decam_score_detections(ctx, &l, floats, which != 1 ? labels : NULL,
                                      which != 0 ? floats + 16 : NULL, byte(in) % 4);
    }
    case 2:
        return decam_score_similarity(ctx, (decam_similarity)(byte(in) % 3), floats, byte(in) % 9,
                                      byte(in) % 3);
    case 3: {
        decam_dense_layout l = {sizeof l, byte(in) % 4, byte(in) % 4, byte(in) % 4, byte(in) % 3};
        uint32_t classes[2] = {byte(in) % 4, byte(in) % 4};
        uint8_t masks[32];
        for (int i = 0; i < 32; i++)
            masks[i] = byte(in) & 1;
        (void)image;
        return decam_score_regions(ctx, &l, classes, masks, byte(in) % 3);
    }
    default: return decam_score_with(ctx, fuzz_scorer, in, byte(in) % 3);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    reader in = {data, size};
    decam_ctx *ctx = decam_create();
    if (!ctx) return 0;
    int w = 1 + byte(&in) % 16, h = 1 + byte(&in) % 16, c = 1 + byte(&in) % 4;
    size_t values = (size_t)w * h * c;
    float *image = malloc(values * sizeof *image), *map = calloc((size_t)w * h, sizeof *map);
    if (!image || !map) goto done;
    for (size_t i = 0; i < values; i++)
        image[i] = (float)byte(&in) / 255.0f;

    model m = {&in, ctx, 1, 0};
    CHECK(decam_set_model(ctx, fuzz_model, &m) == DECAM_OK);
    int settings = byte(&in) % 24;
    for (int k = 0; k < settings; k++) {
        uint8_t op = byte(&in);
        decam_status s;
        if (op < 200) {
            /* Every key, and unknown keys too. */
            int i = op % (DECAM_PARAM_COUNT + 3);
            decam_param key = i < DECAM_PARAM_COUNT ? decam_param_key(i) : (decam_param)(1000 * i);
            double v = any_value(&in);
            s = decam_set_param(ctx, key, v);
            if (s == DECAM_OK) {
                double got;
                CHECK(decam_get_param(ctx, key, &got) == DECAM_OK && got == v);
            }
        } else if (op < 220) {
            s = decam_set_baseline_image(ctx, byte(&in) & 1 ? image : NULL, w, h, c);
        } else if (op < 235) {
            for (int i = 0; i < w * h; i++)
                map[i] = (float)(i % 5);
            s = decam_set_prior_map(ctx, byte(&in) & 1 ? map : NULL, w, h);
        } else if (op < 248) {
            s = set_scorer(ctx, &in, image);
        } else {
            s = decam_reset_params(ctx);
        }
        CHECK(documented(s));
        CHECK(s == DECAM_OK || decam_errmsg(ctx)[0] != '\0');
    }
    /* Caps that keep one input fast; the values themselves were fuzzed. */
    double v;
    decam_get_param(ctx, DECAM_PARAM_BUDGET, &v);
    if (v > 150) decam_set_param(ctx, DECAM_PARAM_BUDGET, 150);
    decam_get_param(ctx, DECAM_PARAM_POPULATION, &v);
    if (v > 16) decam_set_param(ctx, DECAM_PARAM_POPULATION, 16);
    decam_get_param(ctx, DECAM_PARAM_BASELINE_SIGMA, &v);
    if (v > 8) decam_set_param(ctx, DECAM_PARAM_BASELINE_SIGMA, 8);
    decam_get_param(ctx, DECAM_PARAM_SMOOTHING, &v);
    if (v > 8) decam_set_param(ctx, DECAM_PARAM_SMOOTHING, 8);
    decam_get_param(ctx, DECAM_PARAM_N_OUTPUTS, &v);
    if (v > 8) decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, 8);
    decam_get_param(ctx, DECAM_PARAM_ASSEMBLY, &v);
    if (v == DECAM_ASSEMBLY_REGRESSION) { /* O(grid^2) per evaluation */
        decam_get_param(ctx, DECAM_PARAM_GRID_WIDTH, &v);
        if (v > 16) decam_set_param(ctx, DECAM_PARAM_GRID_WIDTH, 16);
        decam_get_param(ctx, DECAM_PARAM_GRID_HEIGHT, &v);
        if (v > 16) decam_set_param(ctx, DECAM_PARAM_GRID_HEIGHT, 16);
    }
    decam_get_param(ctx, DECAM_PARAM_N_OUTPUTS, &v);
    m.outputs = (int)v;

    decam_status s = decam_explain(ctx, image, w, h, c, map);
    CHECK(documented(s));
    CHECK(s == DECAM_OK || decam_errmsg(ctx)[0] != '\0');
    decam_stats st = {.size = sizeof st};
    CHECK(decam_get_stats(ctx, &st) == DECAM_OK);
    CHECK(st.model_calls == m.calls);
    decam_get_param(ctx, DECAM_PARAM_BUDGET, &v);
    CHECK(st.queries <= (uint64_t)v);
    if (s == DECAM_OK || s == DECAM_ERR_CANCELLED)
        for (int i = 0; i < w * h; i++)
            CHECK(map[i] >= 0.0f && map[i] <= 1.0f);
    if (s == DECAM_OK) {
        int rw = 0, rh = 0;
        CHECK(decam_get_raw_map(ctx, NULL, 0, &rw, &rh) == DECAM_OK);
        CHECK(rw >= 1 && rh >= 1 && rw <= 64 && rh <= 64);
    }
done:
    free(image);
    free(map);
    decam_free(ctx);
    return 0;
}
