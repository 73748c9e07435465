/*
 * score_region.c - a dense output's score (a segmenter's): the mean of one
 * class's output over a region of the output grid, as pytorch-grad-cam's
 * SemanticSegmentationTarget.
 */
#include <math.h>
#include <stdio.h>

#include "scoring.h"

/* The regions as lists of grid cells: region t is cells[first[t] ..
 * first[t + 1] - 1], of class classes[t]. */
typedef struct regions {
    decam_dense_layout layout;
    size_t n;
    uint32_t *classes; /* n */
    size_t *first;     /* n + 1 */
    uint32_t *cells;   /* first[n] */
} regions;

static int region_score(const scorer *s, const float *outputs, size_t n_outputs, uint32_t target,
                        int width, int height, double *score) {
    const regions *g = s->data;
    const size_t cells = (size_t)g->layout.width * g->layout.height;
    const size_t classes = (size_t)g->layout.classes, c = g->classes[target];
    double sum = 0.0;
    for (size_t k = g->first[target]; k < g->first[target + 1]; k++) {
        const size_t p = g->cells[k];
        sum += outputs[g->layout.layout == DECAM_LAYOUT_CHW ? c * cells + p : p * classes + c];
    }
    *score = sum / (double)(g->first[target + 1] - g->first[target]);
    return 0;
}

static int region_check(const scorer *s, size_t n_outputs, char *why, size_t size) {
    const regions *g = s->data;
    const size_t need = (size_t)g->layout.width * g->layout.height * g->layout.classes;
    if (n_outputs == need) return 0;
    snprintf(why, size, "%d x %d cells of %d classes are %zu outputs", g->layout.width,
             g->layout.height, g->layout.classes, need);
    return 1;
}

const scorer_info decam__scorer_region = {
    .kind = DECAM_SCORER_REGION,
    .name = "region",
    .setter = "decam_score_regions",
    .check = region_check,
    .score = region_score,
};

static decam_status check_layout(decam_ctx *ctx, const decam_dense_layout *l) {
    const char *who = "decam_score_regions";
    FAIL_IF(l->size < sizeof *l, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: layout->size = %zu, but sizeof(decam_dense_layout) is %zu", who, l->size,
            sizeof *l);
    FAIL_IF(l->width < 1 || l->height < 1 || l->width > 65536 || l->height > 65536, ctx,
            DECAM_ERR_OUT_OF_RANGE, "%s: layout is %d x %d; each side must be 1 .. 65536", who,
            l->width, l->height);
    FAIL_IF(l->classes < 1 || l->classes > 65536, ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s: layout->classes = %d must be 1 .. 65536", who, l->classes);
    FAIL_IF((uint64_t)l->width * l->height * l->classes > (1u << 24), ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s: %d x %d cells of %d classes are more than the 2^24 outputs an image may have", who,
            l->width, l->height, l->classes);
    FAIL_IF(l->layout < 0 || l->layout >= DECAM_LAYOUT_COUNT, ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s: layout->layout = %d must be 0 .. %d (a decam_layout)", who, l->layout,
            DECAM_LAYOUT_COUNT - 1);
    return DECAM_OK;
}

static decam_status score_regions(decam_ctx *ctx, const decam_dense_layout *layout,
                                  const uint32_t *classes, const uint8_t *masks, size_t n) {
    const char *who = "decam_score_regions";
    FAIL_IF(!layout || !classes || !masks, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: %s is NULL", who,
            !layout    ? "layout"
            : !classes ? "classes"
                       : "masks");
    FAIL_IF(n == 0 || n > 65536, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: n = %zu regions must be 1 .. 65536", who, n);
    FORWARD_IF_ERROR(check_layout(ctx, layout));
    const size_t cells = (size_t)layout->width * layout->height;
    size_t inside = 0;
    for (size_t t = 0; t < n; t++) {
        FAIL_IF(classes[t] >= (uint32_t)layout->classes, ctx, DECAM_ERR_INVALID_ARGUMENT,
                "%s: classes[%zu] = %u must be below layout->classes = %d", who, t, classes[t],
                layout->classes);
        size_t here = 0;
        for (size_t p = 0; p < cells; p++)
            here += masks[t * cells + p] != 0;
        FAIL_IF(here == 0, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: region %zu is empty", who, t);
        inside += here;
    }
    regions *g = decam__ctx_alloc(ctx, 1,
                                  sizeof *g + (n + 1) * sizeof(size_t) + n * sizeof(uint32_t) +
                                      inside * sizeof(uint32_t));
    FAIL_IF(!g, ctx, DECAM_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu regions", who, n);
    *g = (regions){.layout = *layout, .n = n};
    g->first = (size_t *)(g + 1);
    g->classes = (uint32_t *)(g->first + n + 1);
    g->cells = g->classes + n;
    size_t k = 0;
    for (size_t t = 0; t < n; t++) {
        g->classes[t] = classes[t];
        g->first[t] = k;
        for (size_t p = 0; p < cells; p++)
            if (masks[t * cells + p]) g->cells[k++] = (uint32_t)p;
    }
    g->first[n] = k;
    decam__scorer_install(ctx, &decam__scorer_region, g, n);
    return DECAM_OK;
}

decam_status decam_score_regions(decam_ctx *ctx, const decam_dense_layout *layout,
                                 const uint32_t *classes, const uint8_t *masks, size_t n) {
    GUARDED(ctx, "decam_score_regions", 1, score_regions(ctx, layout, classes, masks, n));
}
