/*
 * planted.h - synthetic models whose right answer is known by construction:
 * the score depends only on a hidden rectangle of the image. Shared by the
 * end-to-end tests.
 */
#ifndef TESTS_PLANTED_H
#define TESTS_PLANTED_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decam.h"

enum { PW = 64, PH = 64, PC = 3 };

typedef struct planted {
    int x0, y0, x1, y1; /* the rectangle [x0, x1) x [y0, y1) */
    int nonlinear;      /* 0: mean red inside; 1: share of red pixels > 0.5 */
    decam_layout layout;
    int calls;        /* model calls so far */
    int fail_on_call; /* > 0: return an error on that call */
    float bad_score;  /* written instead when poison_on_call is reached */
    int poison_on_call;
} planted;

static inline size_t planted_at(decam_layout layout, int x, int y, int c) {
    return layout == DECAM_LAYOUT_CHW ? ((size_t)c * PH + y) * PW + x
                                      : ((size_t)y * PW + x) * PC + c;
}

static inline int planted_model(void *user, const float *images, size_t n, float *scores) {
    planted *p = user;
    p->calls++;
    if (p->fail_on_call && p->calls == p->fail_on_call) return -7;
    for (size_t i = 0; i < n; i++) {
        const float *img = images + i * PW * PH * PC;
        double acc = 0.0;
        for (int y = p->y0; y < p->y1; y++)
            for (int x = p->x0; x < p->x1; x++) {
                float red = img[planted_at(p->layout, x, y, 0)];
                acc += p->nonlinear ? (red > 0.5f) : red;
            }
        scores[i] = (float)(acc / ((p->x1 - p->x0) * (p->y1 - p->y0)));
        if (p->poison_on_call && p->calls == p->poison_on_call) scores[i] = p->bad_score;
    }
    return 0;
}

/* A small deterministic generator for test data. */
static inline uint32_t planted_rand(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*s >> 33);
}

/* A random rectangle of 12..28 pixels a side, and an image with a dark
 * textured background and a bright textured rectangle (red 0.6..1). */
static inline void planted_make(planted *p, float *image, uint64_t seed, decam_layout layout) {
    uint64_t s = seed * 2654435761u + 1;
    int w = 12 + (int)(planted_rand(&s) % 17), h = 12 + (int)(planted_rand(&s) % 17);
    p->x0 = (int)(planted_rand(&s) % (unsigned)(PW - w + 1));
    p->y0 = (int)(planted_rand(&s) % (unsigned)(PH - h + 1));
    p->x1 = p->x0 + w;
    p->y1 = p->y0 + h;
    p->layout = layout;
    for (int y = 0; y < PH; y++)
        for (int x = 0; x < PW; x++) {
            int inside = x >= p->x0 && x < p->x1 && y >= p->y0 && y < p->y1;
            for (int c = 0; c < PC; c++) {
                float u = (float)(planted_rand(&s) % 1000) / 1000.0f;
                image[planted_at(layout, x, y, c)] = inside && c == 0 ? 0.6f + 0.4f * u : 0.3f * u;
            }
        }
}

/* Explains `image` (HWC) with `ctx` once for every pair of thread count
 * and batch size; returns how many maps differ from `ref` bit for bit, or
 * -1 if an explanation fails. Leaves the last pair set. */
static inline int planted_maps_differing(decam_ctx *ctx, const float *image, const float *ref,
                                         const double *threads, int n_threads,
                                         const double *batches, int n_batches) {
    float map[PW * PH];
    int differing = 0;
    for (int t = 0; t < n_threads; t++)
        for (int b = 0; b < n_batches; b++) {
            decam_set_param(ctx, DECAM_PARAM_THREADS, threads[t]);
            decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, batches[b]);
            if (decam_explain(ctx, image, PW, PH, PC, map) != DECAM_OK) return -1;
            differing += memcmp(ref, map, sizeof map) != 0;
        }
    return differing;
}

static inline int planted_inside(const planted *p, int x, int y) {
    return x >= p->x0 && x < p->x1 && y >= p->y0 && y < p->y1;
}

typedef struct planted_px {
    float v;
    int i;
} planted_px;

static inline int planted_by_value_desc(const void *a, const void *b) {
    const planted_px *x = a, *y = b;
    if (x->v != y->v) return x->v > y->v ? -1 : 1;
    return x->i - y->i;
}

/* IoU between the rectangle and the map's top pixels, as many as the
 * rectangle has (ties broken by position). */
static inline double planted_top_k_iou(const planted *p, const float *map) {
    planted_px *px = malloc(sizeof *px * PW * PH);
    if (!px) return -1.0;
    for (int i = 0; i < PW * PH; i++)
        px[i] = (planted_px){map[i], i};
    qsort(px, PW * PH, sizeof px[0], planted_by_value_desc);
    int k = (p->x1 - p->x0) * (p->y1 - p->y0), hit = 0;
    for (int j = 0; j < k; j++)
        hit += planted_inside(p, px[j].i % PW, px[j].i / PW);
    free(px);
    return (double)hit / (2.0 * k - hit);
}

/* Pointing game: is the map's maximum (first, in row-major order) inside? */
static inline int planted_pointing_hit(const planted *p, const float *map) {
    int best = 0;
    for (int i = 1; i < PW * PH; i++)
        if (map[i] > map[best]) best = i;
    return planted_inside(p, best % PW, best / PW);
}

#endif
