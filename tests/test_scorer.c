/* test_scorer.c - the scorers (decam.h section 10): what each makes of a
 * model's outputs, their checks, and every method explaining a planted
 * detector, embedder and segmenter whose right answer is known. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decam.h"

#define W 32
#define H 32

/* Two objects: A in the top left, B in the bottom right. */
static const float BOX_A[4] = {4, 4, 12, 12};
static const float BOX_B[4] = {18, 18, 28, 28};

static void scene(float *image) {
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int a = x >= 4 && x < 12 && y >= 4 && y < 12;
            int b = x >= 18 && x < 28 && y >= 18 && y < 28;
            image[y * W + x] = a || b ? 1.0f : 0.0f;
        }
}

static double mean_in(const float *image, const float *box) {
    double sum = 0.0;
    int n = 0;
    for (int y = (int)box[1]; y < (int)box[3]; y++)
        for (int x = (int)box[0]; x < (int)box[2]; x++, n++)
            sum += image[y * W + x];
    return sum / n;
}

/* A planted detector: three proposals of 7 floats (x0, y0, x1, y1,
 * objectness, two class scores): A of class 1 and B of class 0, each as
 * sure as its box is bright, and a faint whole-frame proposal. */
#define PROPOSALS 3
#define STRIDE    7
static int detector(void *user, const float *images, size_t n, float *out) {
    size_t *calls = user;
    if (calls) (*calls)++;
    for (size_t i = 0; i < n; i++) {
        const float *im = images + i * W * H;
        float *o = out + i * PROPOSALS * STRIDE;
        const float rows[PROPOSALS][STRIDE] = {
            {4, 4, 12, 12, (float)mean_in(im, BOX_A), 0.1f, 0.9f},
            {18, 18, 28, 28, (float)mean_in(im, BOX_B), 0.9f, 0.1f},
            {0, 0, W, H, 0.1f, 0.5f, 0.5f},
        };
        memcpy(o, rows, sizeof rows);
    }
    return 0;
}

static const decam_detection_layout LAYOUT = {
    .size = sizeof(decam_detection_layout),
    .proposals = PROPOSALS,
    .stride = STRIDE,
    .box_format = DECAM_BOX_XYXY,
    .normalised = 0,
    .box_offset = 0,
    .objectness = 4,
    .class_offset = 5,
    .classes = 2,
};

static decam_ctx *detector_ctx(size_t *calls) {
    decam_ctx *ctx = decam_create();
    assert_non_null(ctx);
    assert_int_equal(decam_set_model(ctx, detector, calls), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, PROPOSALS * STRIDE), DECAM_OK);
    float boxes[8];
    memcpy(boxes, BOX_A, sizeof BOX_A);
    memcpy(boxes + 4, BOX_B, sizeof BOX_B);
    const int32_t labels[2] = {1, 0};
    assert_int_equal(decam_score_detections(ctx, &LAYOUT, boxes, labels, NULL, 2), DECAM_OK);
    return ctx;
}

/* Share of the map's mass inside `box`, and whether its peak is there. */
static double energy_in(const float *map, const float *box, int *peak_inside) {
    double in = 0.0, all = 0.0;
    size_t best = 0;
    for (size_t p = 0; p < (size_t)W * H; p++) {
        int x = (int)(p % W), y = (int)(p / W);
        all += map[p];
        if (x >= box[0] && x < box[2] && y >= box[1] && y < box[3]) in += map[p];
        if (map[p] > map[best]) best = p;
    }
    int bx = (int)(best % W), by = (int)(best / W);
    *peak_inside = bx >= box[0] && bx < box[2] && by >= box[1] && by < box[3];
    return all > 0.0 ? in / all : 0.0;
}

/* Both detections of the scene from one run of `method`: each map puts
 * its peak, and most of its mass, on its own box. */
static void explains_both_boxes(decam_method method, decam_follow follow) {
    decam_ctx *ctx = detector_ctx(NULL);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_METHOD, method), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_FOLLOW, follow), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 600), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_RISE_GRID, 8), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_OCCLUSION_WINDOW, 8), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_OCCLUSION_STRIDE, 4), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BASELINE, DECAM_BASELINE_CONSTANT), DECAM_OK);
    static float image[W * H], maps[2 * W * H];
    scene(image);
    const uint32_t targets[2] = {0, 1};
    decam_item item = {image, W, H, 1, targets, 2, maps, NULL};
    assert_int_equal(decam_explain_items(ctx, &item, 1), DECAM_OK);
    int peak_a, peak_b;
    double ea = energy_in(maps, BOX_A, &peak_a), eb = energy_in(maps + W * H, BOX_B, &peak_b);
    print_message("energy in its box: A %.3f, B %.3f\n", ea, eb);
    assert_true(peak_a);
    assert_true(peak_b);
    /* More than twice their share of the frame (6% and 10%). */
    assert_true(ea > 2 * 64.0 / (W * H));
    assert_true(eb > 2 * 100.0 / (W * H));
    decam_free(ctx);
}

static void test_decam_explains_each_detection_on_its_own_box(void **state) {
    explains_both_boxes(DECAM_METHOD_DECAM, DECAM_FOLLOW_FIRST);
}
static void test_decam_following_every_detection_explains_each_on_its_own_box(void **state) {
    explains_both_boxes(DECAM_METHOD_DECAM, DECAM_FOLLOW_ALL);
}
static void test_rise_on_detections_is_drise_and_finds_each_box(void **state) {
    explains_both_boxes(DECAM_METHOD_RISE, DECAM_FOLLOW_FIRST);
}
static void test_occlusion_on_detections_finds_each_box(void **state) {
    explains_both_boxes(DECAM_METHOD_OCCLUSION, DECAM_FOLLOW_FIRST);
}

/* ---- what a score is ---------------------------------------------------- */

/* A model that writes the same outputs for every image. */
typedef struct fixed {
    const float *outputs;
    size_t n;
} fixed;
static int fixed_model(void *user, const float *images, size_t n, float *out) {
    const fixed *f = user;
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * f->n, f->outputs, f->n * sizeof *out);
    return 0;
}

/* The score of the unmodified image (decam_stats.score_full) of a run
 * with a model that always writes `outputs`. */
static double full_score(decam_ctx *ctx, const float *outputs, size_t n, int width, int height) {
    fixed f = {outputs, n};
    assert_int_equal(decam_set_model(ctx, fixed_model, &f), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, (double)n), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_METHOD, DECAM_METHOD_RISE), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 8), DECAM_OK);
    float *image = calloc((size_t)width * height, sizeof *image);
    float *map = calloc((size_t)width * height, sizeof *map);
    assert_int_equal(decam_explain(ctx, image, width, height, 1, map), DECAM_OK);
    free(image);
    free(map);
    decam_stats st = {.size = sizeof st};
    assert_int_equal(decam_get_stats(ctx, &st), DECAM_OK);
    return st.score_full;
}

/* IoU 0.5 (a 10 x 10 box in a 10 x 20 proposal) x cosine 0.8 (label 1
 * against class scores 3, 4) x objectness 0.8, the proposal written as
 * normalised centre and size on a 20 x 20 image. */
static void test_detection_score_is_iou_times_class_cosine_times_objectness(void **state) {
    decam_ctx *ctx = decam_create();
    const decam_detection_layout l = {sizeof l, 1, 7, DECAM_BOX_CXCYWH, 1, 0, 4, 5, 2};
    const float box[4] = {0, 0, 10, 10};
    const int32_t label = 1;
    assert_int_equal(decam_score_detections(ctx, &l, box, &label, NULL, 1), DECAM_OK);
    assert_int_equal(decam_get_scorer(ctx), DECAM_SCORER_DETECTION);
    assert_int_equal(decam_scorer_targets(ctx), 1);
    const float outputs[7] = {0.25f, 0.5f, 0.5f, 1.0f, 0.8f, 3.0f, 4.0f};
    assert_float_equal(full_score(ctx, outputs, 7, 20, 20), 0.5 * 0.8 * 0.8, 1e-6);
    /* A class vector instead of the label: cos((3, 4), (4, 3)) = 24 / 25. */
    const float classes[2] = {4.0f, 3.0f};
    assert_int_equal(decam_score_detections(ctx, &l, box, NULL, classes, 1), DECAM_OK);
    assert_float_equal(full_score(ctx, outputs, 7, 20, 20), 0.5 * 0.96 * 0.8, 1e-6);
    /* The same proposal in pixels, corner and size (XYWH). */
    const decam_detection_layout px = {sizeof px, 1, 7, DECAM_BOX_XYWH, 0, 0, 4, 5, 2};
    assert_int_equal(decam_score_detections(ctx, &px, box, &label, NULL, 1), DECAM_OK);
    const float in_pixels[7] = {0, 0, 10, 20, 0.8f, 3.0f, 4.0f};
    assert_float_equal(full_score(ctx, in_pixels, 7, 20, 20), 0.32, 1e-6);
    /* No overlap: 0. */
    const float apart[7] = {12, 12, 5, 5, 0.8f, 3.0f, 4.0f};
    assert_float_equal(full_score(ctx, apart, 7, 20, 20), 0.0, 0.0);
    decam_free(ctx);
}

static void test_similarity_score_is_cosine_or_negative_distance(void **state) {
    decam_ctx *ctx = decam_create();
    const float refs[6] = {1, 0, 0, 0, 3, 4};
    assert_int_equal(decam_score_similarity(ctx, DECAM_SIMILARITY_COSINE, refs, 3, 2), DECAM_OK);
    assert_int_equal(decam_scorer_targets(ctx), 2);
    const float emb[3] = {0, 4, 3};
    /* target 0: cos((1,0,0), (0,4,3)) = 0; target 1: 24 / 25. */
    assert_float_equal(full_score(ctx, emb, 3, 8, 8), 0.0, 1e-12);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_TARGET, 1), DECAM_OK);
    assert_float_equal(full_score(ctx, emb, 3, 8, 8), 0.96, 1e-6);
    assert_int_equal(decam_score_similarity(ctx, DECAM_SIMILARITY_DISTANCE, refs, 3, 2), DECAM_OK);
    /* -|(0,4,3) - (0,3,4)| = -sqrt(2) */
    assert_float_equal(full_score(ctx, emb, 3, 8, 8), -sqrt(2.0), 1e-6);
    /* An all-zero embedding has no direction: cosine 0. */
    assert_int_equal(decam_score_similarity(ctx, DECAM_SIMILARITY_COSINE, refs, 3, 2), DECAM_OK);
    const float zero[3] = {0, 0, 0};
    assert_float_equal(full_score(ctx, zero, 3, 8, 8), 0.0, 0.0);
    decam_free(ctx);
}

/* A 2 x 2 output of three classes: class 2 over the left column. */
static void test_region_score_is_the_class_mean_over_the_region(void **state) {
    decam_ctx *ctx = decam_create();
    const uint8_t left[4] = {1, 0, 1, 0};
    const uint32_t cls = 2;
    const decam_dense_layout hwc = {sizeof hwc, 2, 2, 3, DECAM_LAYOUT_HWC};
    assert_int_equal(decam_score_regions(ctx, &hwc, &cls, left, 1), DECAM_OK);
    /* cells (0,0) (1,0) (0,1) (1,1), three classes each */
    const float out[12] = {0, 0, 1, 0, 0, 9, 0, 0, 3, 0, 0, 9};
    assert_float_equal(full_score(ctx, out, 12, 8, 8), 2.0, 1e-12);
    const decam_dense_layout chw = {sizeof chw, 2, 2, 3, DECAM_LAYOUT_CHW};
    assert_int_equal(decam_score_regions(ctx, &chw, &cls, left, 1), DECAM_OK);
    const float planar[12] = {0, 0, 0, 0, 0, 0, 0, 0, 5, 9, 7, 9};
    assert_float_equal(full_score(ctx, planar, 12, 8, 8), 6.0, 1e-12);
    decam_free(ctx);
}

typedef struct seen {
    size_t calls;
    int fail;
} seen;
static int scorer_fn(void *user, const float *out, size_t n, uint32_t t, double *s) {
    seen *k = user;
    k->calls++;
    *s = out[0] * (t + 1);
    return k->fail && k->calls == 5 ? 42 : 0;
}

static void test_callers_scorer_is_called_per_image_and_target(void **state) {
    decam_ctx *ctx = decam_create();
    seen k = {0, 0};
    assert_int_equal(decam_score_with(ctx, scorer_fn, &k, 3), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_TARGET, 2), DECAM_OK);
    const float out[2] = {0.5f, 1.0f};
    assert_float_equal(full_score(ctx, out, 2, 8, 8), 1.5, 0.0);
    assert_int_equal(k.calls, 8); /* the budget's eight images, one target */
    /* Its failure stops the run with its code in the message. */
    k = (seen){0, 1};
    fixed f = {out, 2};
    assert_int_equal(decam_set_model(ctx, fixed_model, &f), DECAM_OK);
    float image[64] = {0}, map[64];
    assert_int_equal(decam_explain(ctx, image, 8, 8, 1, map), DECAM_ERR_MODEL_FAILED);
    assert_non_null(strstr(decam_errmsg(ctx), "scorer callback returned 42"));
    decam_free(ctx);
}

/* ---- checks ------------------------------------------------------------- */

static void test_outputs_that_do_not_suit_the_scorer_are_refused_before_any_query(void **state) {
    size_t calls = 0;
    decam_ctx *ctx = detector_ctx(&calls);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, 20), DECAM_OK);
    float image[W * H], map[W * H];
    scene(image);
    assert_int_equal(decam_explain(ctx, image, W, H, 1, map), DECAM_ERR_MISSING_INPUT);
    assert_non_null(strstr(decam_errmsg(ctx), "n_outputs = 20"));
    assert_non_null(strstr(decam_errmsg(ctx), "detection"));
    decam_metrics m = {.size = sizeof m};
    assert_int_equal(decam_evaluate(ctx, image, W, H, 1, map, NULL, &m), DECAM_ERR_MISSING_INPUT);
    assert_int_equal(calls, 0);
    /* A target beyond the scorer's two. */
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, PROPOSALS * STRIDE), DECAM_OK);
    const uint32_t three = 2;
    decam_item item = {image, W, H, 1, &three, 1, map, NULL};
    assert_int_equal(decam_explain_items(ctx, &item, 1), DECAM_ERR_OUT_OF_RANGE);
    assert_non_null(strstr(decam_errmsg(ctx), "items[0].targets[0] = 2 must be below the 2 "
                                              "targets of the detection scorer"));
    assert_int_equal(calls, 0);
    /* Back to the outputs: the target is an output again. */
    assert_int_equal(decam_score_outputs(ctx), DECAM_OK);
    assert_int_equal(decam_get_scorer(ctx), DECAM_SCORER_OUTPUT);
    assert_int_equal(decam_explain_items(ctx, &item, 1), DECAM_OK);
    decam_free(ctx);
}

static void test_a_nan_in_a_proposal_is_a_bad_score(void **state) {
    decam_ctx *ctx = decam_create();
    const decam_detection_layout l = {sizeof l, 1, 7, DECAM_BOX_XYXY, 0, 0, 4, 5, 2};
    const float box[4] = {0, 0, 4, 4};
    const int32_t label = 0;
    assert_int_equal(decam_score_detections(ctx, &l, box, &label, NULL, 1), DECAM_OK);
    const float outputs[7] = {0, 0, 4, 4, NAN, 1, 0};
    fixed f = {outputs, 7};
    assert_int_equal(decam_set_model(ctx, fixed_model, &f), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, 7), DECAM_OK);
    float image[64] = {0}, map[64];
    assert_int_equal(decam_explain(ctx, image, 8, 8, 1, map), DECAM_ERR_BAD_SCORE);
    assert_non_null(strstr(decam_errmsg(ctx), "detection scorer gave NaN"));
    decam_free(ctx);
}

static void test_bad_scorer_inputs_are_refused_with_a_message(void **state) {
    decam_ctx *ctx = decam_create();
    const float box[4] = {0, 0, 4, 4}, flat[4] = {2, 0, 2, 4};
    const int32_t label = 0, far = 2;
    decam_detection_layout l = {sizeof l, 1, 7, DECAM_BOX_XYXY, 0, 0, 4, 5, 2};
    assert_int_equal(decam_score_detections(ctx, &l, box, &label, box, 1),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_score_detections(ctx, &l, box, NULL, NULL, 1),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_score_detections(ctx, &l, flat, &label, NULL, 1),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(ctx), "no area"));
    assert_int_equal(decam_score_detections(ctx, &l, box, &far, NULL, 1),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_score_detections(ctx, &l, box, &label, NULL, 0),
                     DECAM_ERR_INVALID_ARGUMENT);
    l.classes = 3; /* 5 + 3 > 7 */
    assert_int_equal(decam_score_detections(ctx, &l, box, &label, NULL, 1), DECAM_ERR_OUT_OF_RANGE);
    assert_non_null(strstr(decam_errmsg(ctx), "class scores"));
    l.classes = 2;
    l.objectness = 7;
    assert_int_equal(decam_score_detections(ctx, &l, box, &label, NULL, 1), DECAM_ERR_OUT_OF_RANGE);
    l.objectness = 4;
    l.size = 8;
    assert_int_equal(decam_score_detections(ctx, &l, box, &label, NULL, 1),
                     DECAM_ERR_INVALID_ARGUMENT);
    const float zero[2] = {0, 0};
    assert_int_equal(decam_score_similarity(ctx, DECAM_SIMILARITY_COSINE, zero, 2, 1),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_score_similarity(ctx, (decam_similarity)7, box, 2, 1),
                     DECAM_ERR_OUT_OF_RANGE);
    const decam_dense_layout d = {sizeof d, 2, 2, 1, DECAM_LAYOUT_HWC};
    const uint8_t empty[4] = {0, 0, 0, 0};
    const uint32_t cls = 0, cls_far = 1;
    assert_int_equal(decam_score_regions(ctx, &d, &cls, empty, 1), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_score_regions(ctx, &d, &cls_far, (const uint8_t *)"\1\1\1\1", 1),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_score_with(ctx, NULL, NULL, 1), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_score_with(ctx, scorer_fn, NULL, 0), DECAM_ERR_INVALID_ARGUMENT);
    /* Every refusal left the scorer as it was. */
    assert_int_equal(decam_get_scorer(ctx), DECAM_SCORER_OUTPUT);
    assert_int_equal(decam_score_outputs(NULL), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_get_scorer(NULL), DECAM_SCORER_OUTPUT);
    decam_free(ctx);
}

static decam_ctx *busy_ctx;
static int set_scorer_inside(void *user, const float *images, size_t n, float *out) {
    int *status = user;
    *status = decam_score_outputs(busy_ctx);
    memset(out, 0, n * sizeof *out);
    return 0;
}

static void test_scorer_cannot_change_inside_a_run(void **state) {
    busy_ctx = decam_create();
    int status = -1;
    assert_int_equal(decam_set_model(busy_ctx, set_scorer_inside, &status), DECAM_OK);
    float image[64] = {0}, map[64];
    assert_int_equal(decam_set_param(busy_ctx, DECAM_PARAM_BUDGET, 60), DECAM_OK);
    assert_int_equal(decam_explain(busy_ctx, image, 8, 8, 1, map), DECAM_OK);
    assert_int_equal(status, DECAM_ERR_BUSY);
    decam_free(busy_ctx);
}

/* ---- metrics and memory ------------------------------------------------- */

/* decam_evaluate() with the detection scorer: a map on box A deletes
 * detection A sooner, and inserts it sooner, than a map on box B does. */
static void test_evaluate_measures_a_detection(void **state) {
    decam_ctx *ctx = detector_ctx(NULL);
    static float image[W * H], on_a[W * H], on_b[W * H];
    scene(image);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            on_a[y * W + x] = (x >= 4 && x < 12 && y >= 4 && y < 12) ? 1.0f : 0.1f * (x + y) / 64;
            on_b[y * W + x] = (x >= 18 && x < 28 && y >= 18 && y < 28) ? 1.0f : 0.1f * (x + y) / 64;
        }
    decam_metrics a = {.size = sizeof a}, b = {.size = sizeof b};
    assert_int_equal(decam_evaluate(ctx, image, W, H, 1, on_a, NULL, &a), DECAM_OK);
    assert_int_equal(decam_evaluate(ctx, image, W, H, 1, on_b, NULL, &b), DECAM_OK);
    assert_float_equal(a.score_full, 1.0 * 0.9 / sqrt(0.82), 1e-5);
    assert_true(a.deletion_auc < b.deletion_auc - 0.2);
    assert_true(a.insertion_auc > b.insertion_auc + 0.2);
    decam_free(ctx);
}

/* Bytes in use at the most, through decam_create_advanced(). */
typedef struct peak {
    size_t live, most;
} peak;
static void *peak_alloc(void *opaque, size_t size) {
    peak *p = opaque;
    size_t *block = malloc(size + sizeof(max_align_t));
    if (!block) return NULL;
    *block = size;
    p->live += size;
    if (p->live > p->most) p->most = p->live;
    return (char *)block + sizeof(max_align_t);
}
static void peak_free(void *opaque, void *ptr) {
    peak *p = opaque;
    size_t *block = (size_t *)((char *)ptr - sizeof(max_align_t));
    p->live -= *block;
    free(block);
}

static size_t peak_bytes(decam_method method, double budget) {
    peak p = {0, 0};
    decam_ctx *ctx = decam_create_advanced(peak_alloc, peak_free, &p);
    assert_int_equal(decam_set_model(ctx, detector, NULL), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, PROPOSALS * STRIDE), DECAM_OK);
    const int32_t label = 1;
    assert_int_equal(decam_score_detections(ctx, &LAYOUT, BOX_A, &label, NULL, 1), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_METHOD, method), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, budget), DECAM_OK);
    static float image[W * H], map[W * H];
    scene(image);
    assert_int_equal(decam_explain(ctx, image, W, H, 1, map), DECAM_OK);
    decam_free(ctx);
    assert_int_equal(p.live, 0);
    return p.most;
}

/* The number of masks does not decide the memory: 8 times the queries,
 * the same peak (D-RISE's reference code holds every mask at once). */
static void test_memory_does_not_grow_with_the_number_of_masks(void **state) {
    for (int m = 0; m < DECAM_METHOD_COUNT; m++) {
        if (m == DECAM_METHOD_OCCLUSION) continue; /* its queries are its windows */
        size_t small = peak_bytes((decam_method)m, 500), large = peak_bytes((decam_method)m, 4000);
        print_message("%s: peak %zu bytes at 500 queries, %zu at 4000\n",
                      m == DECAM_METHOD_DECAM ? "decam" : "rise", small, large);
        assert_true(large <= small + small / 10);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detection_score_is_iou_times_class_cosine_times_objectness),
        cmocka_unit_test(test_similarity_score_is_cosine_or_negative_distance),
        cmocka_unit_test(test_region_score_is_the_class_mean_over_the_region),
        cmocka_unit_test(test_callers_scorer_is_called_per_image_and_target),
        cmocka_unit_test(test_outputs_that_do_not_suit_the_scorer_are_refused_before_any_query),
        cmocka_unit_test(test_a_nan_in_a_proposal_is_a_bad_score),
        cmocka_unit_test(test_bad_scorer_inputs_are_refused_with_a_message),
        cmocka_unit_test(test_scorer_cannot_change_inside_a_run),
        cmocka_unit_test(test_decam_explains_each_detection_on_its_own_box),
        cmocka_unit_test(test_decam_following_every_detection_explains_each_on_its_own_box),
        cmocka_unit_test(test_rise_on_detections_is_drise_and_finds_each_box),
        cmocka_unit_test(test_occlusion_on_detections_finds_each_box),
        cmocka_unit_test(test_evaluate_measures_a_detection),
        cmocka_unit_test(test_memory_does_not_grow_with_the_number_of_masks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
