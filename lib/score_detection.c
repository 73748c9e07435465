/*
 * score_detection.c - D-RISE's score of a detection (Petsiuk et al., "Black-box
 * explanation of object detectors via saliency maps", CVPR 2021): the best
 * over an image's proposals of IoU x class-vector cosine x objectness.
 */
#include <math.h>
#include <stdio.h>

#include "scoring.h"

/* The copy of decam_score_detections()'s inputs: the layout, then n boxes
 * (xyxy, pixels) and n unit class vectors, or n labels. */
typedef struct detections {
    decam_detection_layout layout;
    size_t n;
    float *boxes;        /* n * 4 */
    float *unit_classes; /* n * classes, each of length 1; NULL with labels */
    int32_t *labels;     /* n; NULL with class vectors */
} detections;

/* A proposal's box as x0, y0, x1, y1 in pixels. */
static void proposal_box(const decam_detection_layout *l, const float *row, int width, int height,
                         double box[4]) {
    const float *b = row + l->box_offset;
    double x = b[0], y = b[1], u = b[2], v = b[3];
    switch (l->box_format) {
    case DECAM_BOX_CXCYWH:
        box[0] = x - u / 2, box[1] = y - v / 2, box[2] = x + u / 2, box[3] = y + v / 2;
        break;
    case DECAM_BOX_XYWH: box[0] = x, box[1] = y, box[2] = x + u, box[3] = y + v; break;
    default: box[0] = x, box[1] = y, box[2] = u, box[3] = v; break;
    }
    if (l->normalised) {
        box[0] *= width, box[2] *= width;
        box[1] *= height, box[3] *= height;
    }
}

static double iou(const float *a, const double *b) {
    double w = fmin(a[2], b[2]) - fmax(a[0], b[0]), h = fmin(a[3], b[3]) - fmax(a[1], b[1]);
    if (!(w > 0.0 && h > 0.0)) return 0.0;
    double inter = w * h;
    double area_a = ((double)a[2] - a[0]) * ((double)a[3] - a[1]);
    double area_b = (b[2] - b[0]) * (b[3] - b[1]);
    return inter / (area_a + area_b - inter);
}

/* cos(target's class vector, the proposal's class scores). */
static double class_cosine(const detections *d, uint32_t t, const float *scores) {
    const uint32_t classes = d->layout.classes;
    double dot = 0.0, norm = 0.0;
    for (uint32_t c = 0; c < classes; c++) {
        norm += (double)scores[c] * scores[c];
        if (d->unit_classes) dot += (double)d->unit_classes[(size_t)t * classes + c] * scores[c];
    }
    if (!d->unit_classes) dot = scores[d->labels[t]];
    return norm > 0.0 ? dot / sqrt(norm) : 0.0;
}

static int detection_score(const scorer *s, const float *outputs, size_t n_outputs, uint32_t target,
                           int width, int height, double *score) {
    const detections *d = s->data;
    const decam_detection_layout *l = &d->layout;
    const float *box = d->boxes + (size_t)target * 4;
    double best = 0.0;
    for (uint32_t j = 0; j < l->proposals; j++) {
        const float *row = outputs + (size_t)j * l->stride;
        double b[4];
        proposal_box(l, row, width, height, b);
        double overlap = iou(box, b);
        double objectness = l->objectness >= 0 ? row[l->objectness] : 1.0;
        if (!isfinite(overlap) || !isfinite(objectness)) {
            *score = NAN; /* a NaN or infinity in the proposal */
            return 0;
        }
        if (overlap == 0.0 || objectness == 0.0) continue;
        double s_ij = overlap * class_cosine(d, target, row + l->class_offset) * objectness;
        if (!isfinite(s_ij)) {
            *score = NAN;
            return 0;
        }
        if (s_ij > best) best = s_ij;
    }
    *score = best;
    return 0;
}

static int detection_check(const scorer *s, size_t n_outputs, char *why, size_t size) {
    const detections *d = s->data;
    const size_t need = (size_t)d->layout.proposals * d->layout.stride;
    if (need <= n_outputs) return 0;
    snprintf(why, size, "%u proposals of %u floats need %zu outputs", d->layout.proposals,
             d->layout.stride, need);
    return 1;
}

const scorer_info decam__scorer_detection = {
    .kind = DECAM_SCORER_DETECTION,
    .name = "detection",
    .setter = "decam_score_detections",
    .check = detection_check,
    .score = detection_score,
};

/* ---- decam_score_detections() ------------------------------------------- */

static decam_status check_layout(decam_ctx *ctx, const decam_detection_layout *l) {
    const char *who = "decam_score_detections";
    FAIL_IF(l->size < sizeof *l, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: layout->size = %zu, but sizeof(decam_detection_layout) is %zu", who, l->size,
            sizeof *l);
    FAIL_IF(l->proposals < 1 || l->proposals > (1u << 24), ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s: layout->proposals = %u must be 1 .. 2^24", who, l->proposals);
    FAIL_IF(l->classes < 1 || l->classes > 65536, ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s: layout->classes = %u must be 1 .. 65536", who, l->classes);
    FAIL_IF(l->box_format < 0 || l->box_format >= DECAM_BOX_COUNT, ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s: layout->box_format = %d must be 0 .. %d (a decam_box)", who, l->box_format,
            DECAM_BOX_COUNT - 1);
    FAIL_IF(l->normalised != 0 && l->normalised != 1, ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s: layout->normalised = %d must be 0 or 1", who, l->normalised);
    FAIL_IF((uint64_t)l->box_offset + 4 > l->stride, ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s: the box (layout->box_offset = %u, 4 floats) does not fit in a row of "
            "layout->stride = %u",
            who, l->box_offset, l->stride);
    FAIL_IF(l->objectness < -1 || (l->objectness >= 0 && (uint32_t)l->objectness >= l->stride), ctx,
            DECAM_ERR_OUT_OF_RANGE,
            "%s: layout->objectness = %d must be -1 (none) or below layout->stride = %u", who,
            l->objectness, l->stride);
    FAIL_IF((uint64_t)l->class_offset + l->classes > l->stride, ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s: the class scores (layout->class_offset = %u, %u classes) do not fit in a row "
            "of layout->stride = %u",
            who, l->class_offset, l->classes, l->stride);
    FAIL_IF((uint64_t)l->proposals * l->stride > (1u << 24), ctx, DECAM_ERR_OUT_OF_RANGE,
            "%s: %u proposals of %u floats are more than the 2^24 outputs an image may have", who,
            l->proposals, l->stride);
    return DECAM_OK;
}

static decam_status check_targets(decam_ctx *ctx, const decam_detection_layout *l,
                                  const float *boxes, const int32_t *labels,
                                  const float *class_scores, size_t n) {
    const char *who = "decam_score_detections";
    for (size_t t = 0; t < n; t++) {
        const float *b = boxes + 4 * t;
        FAIL_IF(!(isfinite(b[0]) && isfinite(b[1]) && isfinite(b[2]) && isfinite(b[3])), ctx,
                DECAM_ERR_INVALID_ARGUMENT, "%s: box %zu is not finite", who, t);
        FAIL_IF(!(b[2] > b[0] && b[3] > b[1]), ctx, DECAM_ERR_INVALID_ARGUMENT,
                "%s: box %zu (%g, %g, %g, %g) has no area: boxes are x0, y0, x1, y1 with x1 > x0 "
                "and y1 > y0",
                who, t, b[0], b[1], b[2], b[3]);
        if (labels) {
            FAIL_IF(labels[t] < 0 || (uint32_t)labels[t] >= l->classes, ctx,
                    DECAM_ERR_INVALID_ARGUMENT, "%s: labels[%zu] = %d must be 0 .. %u", who, t,
                    labels[t], l->classes - 1);
            continue;
        }
        double norm = 0.0;
        for (uint32_t c = 0; c < l->classes; c++) {
            float v = class_scores[t * l->classes + c];
            FAIL_IF(!isfinite(v), ctx, DECAM_ERR_INVALID_ARGUMENT,
                    "%s: class_scores of detection %zu are not finite", who, t);
            norm += (double)v * v;
        }
        FAIL_IF(norm == 0.0, ctx, DECAM_ERR_INVALID_ARGUMENT,
                "%s: class_scores of detection %zu are all zero", who, t);
    }
    return DECAM_OK;
}

/* One block: the struct, the boxes, then the unit class vectors or labels. */
static decam_status copy_targets(decam_ctx *ctx, const decam_detection_layout *l,
                                 const float *boxes, const int32_t *labels,
                                 const float *class_scores, size_t n) {
    const size_t classes = labels ? 0 : l->classes;
    const size_t bytes = sizeof(detections) + n * 4 * sizeof(float) + n * classes * sizeof(float) +
                         (labels ? n * sizeof(int32_t) : 0);
    detections *d = decam__ctx_alloc(ctx, 1, bytes);
    FAIL_IF(!d, ctx, DECAM_ERR_OUT_OF_MEMORY,
            "decam_score_detections: out of memory for %zu "
            "detections",
            n);
    *d = (detections){.layout = *l, .n = n, .boxes = (float *)(d + 1)};
    d->layout.size = sizeof d->layout;
    memcpy(d->boxes, boxes, n * 4 * sizeof *boxes);
    float *tail = d->boxes + n * 4;
    if (labels) {
        d->labels = (int32_t *)tail;
        memcpy(d->labels, labels, n * sizeof *labels);
    } else {
        d->unit_classes = tail;
        for (size_t t = 0; t < n; t++) {
            const float *v = class_scores + t * classes;
            double norm = 0.0;
            for (size_t c = 0; c < classes; c++)
                norm += (double)v[c] * v[c];
            for (size_t c = 0; c < classes; c++)
                d->unit_classes[t * classes + c] = (float)(v[c] / sqrt(norm));
        }
    }
    decam__scorer_install(ctx, &decam__scorer_detection, d, n);
    return DECAM_OK;
}

static decam_status score_detections(decam_ctx *ctx, const decam_detection_layout *layout,
                                     const float *boxes, const int32_t *labels,
                                     const float *class_scores, size_t n) {
    const char *who = "decam_score_detections";
    FAIL_IF(!layout, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: layout is NULL", who);
    FAIL_IF(!boxes, ctx, DECAM_ERR_INVALID_ARGUMENT, "%s: boxes is NULL", who);
    FAIL_IF(!labels == !class_scores, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: give labels or class_scores, not %s", who, labels ? "both" : "neither");
    FAIL_IF(n == 0 || n > 65536, ctx, DECAM_ERR_INVALID_ARGUMENT,
            "%s: n = %zu detections must be 1 .. 65536", who, n);
    FORWARD_IF_ERROR(check_layout(ctx, layout));
    FORWARD_IF_ERROR(check_targets(ctx, layout, boxes, labels, class_scores, n));
    return copy_targets(ctx, layout, boxes, labels, class_scores, n);
}

decam_status decam_score_detections(decam_ctx *ctx, const decam_detection_layout *layout,
                                    const float *boxes, const int32_t *labels,
                                    const float *class_scores, size_t n) {
    GUARDED(ctx, "decam_score_detections", 1,
            score_detections(ctx, layout, boxes, labels, class_scores, n));
}
