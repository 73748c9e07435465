/*
 * scorers.c - explains three models that are not classifiers: a detector
 * (two detections of one image from one set of queries), an embedder (why
 * the image's embedding matches a reference) and a segmenter (a class over
 * a region of its output map). Each model is planted: its answer depends on
 * a known part of the image, and the program prints where each map peaks.
 * Self-contained: builds alone against libdecam.
 *
 *     cc scorers.c $(pkg-config --cflags --libs decam) -lm -o scorers
 *
 * Exits 0 when every map peaks where the model looks.
 */
#include <decam.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define W 64
#define H 64

typedef struct box {
    int x0, y0, x1, y1; /* [x0, x1) x [y0, y1), pixels */
} box;

static const box CAR = {6, 8, 26, 24}, DOG = {36, 34, 58, 58};

static double mean_in(const float *im, box b) {
    double sum = 0.0;
    for (int y = b.y0; y < b.y1; y++)
        for (int x = b.x0; x < b.x1; x++)
            sum += im[y * W + x];
    return sum / ((b.x1 - b.x0) * (b.y1 - b.y0));
}

/* ---- a detector: 3 proposals of (cx, cy, w, h normalised, objectness,
 * 2 class scores), the layout of a YOLO head ------------------------------ */
#define PROPOSALS 3
#define STRIDE    7
static void proposal(float *row, box b, float objectness, float car, float dog) {
    row[0] = (b.x0 + b.x1) / 2.0f / W, row[1] = (b.y0 + b.y1) / 2.0f / H;
    row[2] = (float)(b.x1 - b.x0) / W, row[3] = (float)(b.y1 - b.y0) / H;
    row[4] = objectness, row[5] = car, row[6] = dog;
}
static int detector(void *user, const float *images, size_t n, float *out) {
    for (size_t i = 0; i < n; i++) {
        const float *im = images + i * W * H;
        float *rows = out + i * PROPOSALS * STRIDE;
        /* Each object is found as surely as its box is still bright. */
        proposal(rows, CAR, (float)mean_in(im, CAR), 0.9f, 0.1f);
        proposal(rows + STRIDE, DOG, (float)mean_in(im, DOG), 0.2f, 0.8f);
        proposal(rows + 2 * STRIDE, (box){0, 0, W, H}, 0.05f, 0.5f, 0.5f);
    }
    return 0;
}

/* ---- an embedder: the means of the four quadrants of the face ----------- */
static const box FACE = {34, 6, 58, 30};
static int embedder(void *user, const float *images, size_t n, float *out) {
    const int mx = (FACE.x0 + FACE.x1) / 2, my = (FACE.y0 + FACE.y1) / 2;
    for (size_t i = 0; i < n; i++) {
        const float *im = images + i * W * H;
        out[4 * i + 0] = (float)mean_in(im, (box){FACE.x0, FACE.y0, mx, my});
        out[4 * i + 1] = (float)mean_in(im, (box){mx, FACE.y0, FACE.x1, my});
        out[4 * i + 2] = (float)mean_in(im, (box){FACE.x0, my, mx, FACE.y1});
        out[4 * i + 3] = (float)mean_in(im, (box){mx, my, FACE.x1, FACE.y1});
    }
    return 0;
}

/* ---- a segmenter: an 8 x 8 grid of two classes (HWC): "object" is the
 * mean brightness of the cell's 8 x 8 pixels, "background" its opposite -- */
#define G 8
static int segmenter(void *user, const float *images, size_t n, float *out) {
    for (size_t i = 0; i < n; i++) {
        const float *im = images + i * W * H;
        for (int cy = 0; cy < G; cy++)
            for (int cx = 0; cx < G; cx++) {
                double m = mean_in(im, (box){cx * 8, cy * 8, cx * 8 + 8, cy * 8 + 8});
                float *cell = out + i * G * G * 2 + (cy * G + cx) * 2;
                cell[0] = (float)(1.0 - m), cell[1] = (float)m;
            }
    }
    return 0;
}

/* Prints where the map peaks and whether it lies in `b`; returns 1 if so. */
static int report(const char *what, const float *map, box b) {
    int best = 0;
    for (int p = 1; p < W * H; p++)
        if (map[p] > map[best]) best = p;
    int x = best % W, y = best / W;
    int inside = x >= b.x0 && x < b.x1 && y >= b.y0 && y < b.y1;
    printf("%-30s peak at (%2d, %2d): %s [%d, %d) x [%d, %d)\n", what, x, y,
           inside ? "inside" : "OUTSIDE", b.x0, b.x1, b.y0, b.y1);
    return inside;
}

static int check(decam_ctx *ctx, decam_status st, const char *what) {
    if (st == DECAM_OK) return 1;
    fprintf(stderr, "%s: %s: %s\n", what, decam_status_string(st), decam_errmsg(ctx));
    return 0;
}

int main(void) {
    /* A scene: a textured frame, brighter where the objects are. */
    static float image[W * H], maps[2 * W * H];
    unsigned s = 7;
    for (int p = 0; p < W * H; p++) {
        s = s * 1103515245u + 12345u;
        int x = p % W, y = p / W;
        int lit = (x >= CAR.x0 && x < CAR.x1 && y >= CAR.y0 && y < CAR.y1) ||
                  (x >= DOG.x0 && x < DOG.x1 && y >= DOG.y0 && y < DOG.y1) ||
                  (x >= FACE.x0 && x < FACE.x1 && y >= FACE.y0 && y < FACE.y1);
        image[p] = (lit ? 0.6f : 0.1f) + 0.3f * (float)((s >> 16) & 0x7fff) / 32767.0f;
    }
    decam_ctx *ctx = decam_create();
    if (!ctx) return 1;
    int ok =
        check(ctx, decam_set_param(ctx, DECAM_PARAM_BUDGET, 500), "budget") &&
        check(ctx, decam_set_param(ctx, DECAM_PARAM_BASELINE, DECAM_BASELINE_CONSTANT), "baseline");

    /* 1. Two detections from one run: their boxes (x0, y0, x1, y1 in
     * pixels) and labels; the model's proposals are normalised cx, cy, w, h. */
    const decam_detection_layout yolo = {sizeof yolo, PROPOSALS, STRIDE, DECAM_BOX_CXCYWH, 1, 0,
                                         4,           5,         2};
    const float boxes[8] = {CAR.x0, CAR.y0, CAR.x1, CAR.y1, DOG.x0, DOG.y0, DOG.x1, DOG.y1};
    const int32_t labels[2] = {0, 1};
    const uint32_t both[2] = {0, 1};
    decam_item item = {image, W, H, 1, both, 2, maps, NULL};
    ok = ok && check(ctx, decam_set_model(ctx, detector, NULL), "detector") &&
         check(ctx, decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, PROPOSALS * STRIDE), "n_outputs") &&
         check(ctx, decam_score_detections(ctx, &yolo, boxes, labels, NULL, 2), "detections") &&
         check(ctx, decam_explain_items(ctx, &item, 1), "explain detections");
    ok = ok &&
         report("detection 0 (car)", maps, CAR) & report("detection 1 (dog)", maps + W * H, DOG);

    /* 2. Why does the image's embedding match the reference (here its own)? */
    float reference[4];
    ok = ok && check(ctx, decam_set_model(ctx, embedder, NULL), "embedder") &&
         embedder(NULL, image, 1, reference) == 0 &&
         check(ctx, decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, 4), "n_outputs") &&
         check(ctx, decam_score_similarity(ctx, DECAM_SIMILARITY_COSINE, reference, 4, 1),
               "similarity") &&
         check(ctx, decam_set_param(ctx, DECAM_PARAM_TARGET, 0), "target") &&
         check(ctx, decam_explain(ctx, image, W, H, 1, maps), "explain similarity");
    ok = ok && report("similarity to the reference", maps, FACE);

    /* 3. Class "object" over the cells of the dog: the region is a mask of
     * the output's 8 x 8 grid. */
    uint8_t region[G * G] = {0};
    for (int cy = DOG.y0 / 8; cy < (DOG.y1 + 7) / 8; cy++)
        for (int cx = DOG.x0 / 8; cx < (DOG.x1 + 7) / 8; cx++)
            region[cy * G + cx] = 1;
    const decam_dense_layout grid = {sizeof grid, G, G, 2, DECAM_LAYOUT_HWC};
    const uint32_t object = 1;
    ok = ok && check(ctx, decam_set_model(ctx, segmenter, NULL), "segmenter") &&
         check(ctx, decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, G * G * 2), "n_outputs") &&
         check(ctx, decam_score_regions(ctx, &grid, &object, region, 1), "regions") &&
         check(ctx, decam_explain(ctx, image, W, H, 1, maps), "explain region");
    ok = ok && report("class 'object' over the region", maps,
                      (box){DOG.x0 / 8 * 8, DOG.y0 / 8 * 8, W, H});
    decam_free(ctx);
    return ok ? 0 : 1;
}
