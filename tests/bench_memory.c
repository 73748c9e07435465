/* bench_memory.c - the library's peak memory explaining a detection at a
 * detector's sizes (a 320 x 320 RGB input, 1500 proposals of 85 floats)
 * against the number of masks: DE-CAM and D-RISE (RISE, grid 16, keep
 * 0.5) at 250 to 4000 queries, two detections per run. The model is a
 * stand-in that writes a fixed proposal table (the library's memory does
 * not depend on what the model computes); the bytes are counted through
 * decam_create_advanced(). Prints a table; docs/benchmarks.md quotes it.
 *
 *     build/tests/bench_memory
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decam.h"

#define SIDE      320
#define PROPOSALS 1500
#define STRIDE    85

typedef struct peak {
    size_t live, most;
} peak;

/* Each block carries its size in front, so free can count it. */
static void *peak_alloc(void *opaque, size_t size) {
    peak *p = opaque;
    size_t *block = malloc(size + 16);
    if (!block) return NULL;
    *block = size;
    p->live += size;
    if (p->live > p->most) p->most = p->live;
    return (char *)block + 16;
}

static void peak_free(void *opaque, void *ptr) {
    peak *p = opaque;
    size_t *block = (size_t *)((char *)ptr - 16);
    p->live -= *block;
    free(block);
}

/* Two objects, each found as surely as its box is bright; the other rows
 * are empty, as most of a real detector's are. */
static int detector(void *user, const float *images, size_t n, float *out) {
    memset(out, 0, n * PROPOSALS * STRIDE * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        const float *im = images + i * SIDE * SIDE * 3;
        float *rows = out + i * PROPOSALS * STRIDE;
        const float boxes[2][4] = {{0.3f, 0.3f, 0.2f, 0.2f}, {0.7f, 0.6f, 0.3f, 0.4f}};
        for (int b = 0; b < 2; b++) {
            int x = (int)(boxes[b][0] * SIDE), y = (int)(boxes[b][1] * SIDE);
            memcpy(rows + b * STRIDE, boxes[b], sizeof boxes[b]);
            rows[b * STRIDE + 4] = im[(y * SIDE + x) * 3];
            rows[b * STRIDE + 5 + 16 * b] = 1.0f;
        }
    }
    return 0;
}

static int measure(int method, double budget, size_t *bytes, double *queries) {
    peak p = {0, 0};
    decam_ctx *ctx = decam_create_advanced(peak_alloc, peak_free, &p);
    if (!ctx) return 1;
    static float image[SIDE * SIDE * 3];
    static float maps[2 * SIDE * SIDE];
    for (size_t i = 0; i < sizeof image / sizeof *image; i++)
        image[i] = 0.5f + 0.4f * (float)((i * 2654435761u) % 1000) / 1000.0f;
    const decam_detection_layout yolo = {sizeof yolo, PROPOSALS, STRIDE, DECAM_BOX_CXCYWH, 1, 0,
                                         4,           5,         80};
    const float boxes[8] = {64, 64, 128, 128, 176, 128, 272, 256};
    const int32_t labels[2] = {0, 16};
    const uint32_t targets[2] = {0, 1};
    decam_item item = {image, SIDE, SIDE, 3, targets, 2, maps, NULL};
    decam_status st = decam_set_model(ctx, detector, NULL);
    if (!st) st = decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, PROPOSALS * STRIDE);
    if (!st) st = decam_score_detections(ctx, &yolo, boxes, labels, NULL, 2);
    if (!st) st = decam_set_param(ctx, DECAM_PARAM_METHOD, method);
    if (!st) st = decam_set_param(ctx, DECAM_PARAM_BUDGET, budget);
    if (!st) st = decam_set_param(ctx, DECAM_PARAM_RISE_GRID, 16);
    if (!st) st = decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, 64);
    if (!st) st = decam_explain_items(ctx, &item, 1);
    decam_stats stats = {.size = sizeof stats};
    if (!st) st = decam_get_stats(ctx, &stats);
    if (st) fprintf(stderr, "bench_memory: %s\n", decam_errmsg(ctx));
    decam_free(ctx);
    *bytes = p.most;
    *queries = (double)stats.queries;
    return st != DECAM_OK;
}

int main(void) {
    const double budgets[] = {250, 500, 1000, 4000};
    printf("peak bytes the library holds, 320 x 320 x 3, 1500 x 85 outputs, 2 detections, "
           "batch 64\n\n");
    printf("| method | queries | peak MiB | all masks at once, MiB (N x 320 x 320 floats) |\n");
    printf("|---|---|---|---|\n");
    for (int m = 0; m < 2; m++)
        for (size_t b = 0; b < sizeof budgets / sizeof *budgets; b++) {
            size_t bytes;
            double queries;
            if (measure(m == 0 ? DECAM_METHOD_DECAM : DECAM_METHOD_RISE, budgets[b], &bytes,
                        &queries))
                return 1;
            printf("| %s | %.0f | %.1f | %.1f |\n", m == 0 ? "DE-CAM" : "D-RISE (grid 16)", queries,
                   bytes / 1048576.0, queries * SIDE * SIDE * 4 / 1048576.0);
        }
    return 0;
}
