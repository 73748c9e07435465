/*
 * detect.c - row layouts, detections and box outlines for decam-explain
 * --detector (see detect.h).
 */
#include "detect.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const BOXES[] = {"xyxy", "cxcywh", "xywh"}; /* decam_box order */

static int field(const char *tok, size_t n, const char *key, long *v, int *none) {
    size_t k = strlen(key);
    if (n <= k || strncmp(tok, key, k) || tok[k] != '=') return 0;
    char num[32];
    size_t len = n - k - 1;
    if (len == 0 || len >= sizeof num) return -1;
    memcpy(num, tok + k + 1, len);
    num[len] = '\0';
    if (none && !strcmp(num, "none")) return *none = 1, 1;
    char *end;
    errno = 0;
    *v = strtol(num, &end, 10);
    return errno || *end || *v < 0 || *v > 16777216 ? -1 : 1;
}

int det_layout_parse(const char *spec, det_layout *l, char *err, size_t errlen) {
    *l = (det_layout){.lib = {.size = sizeof l->lib,
                              .box_format = DECAM_BOX_CXCYWH,
                              .normalised = 1,
                              .box_offset = 0,
                              .objectness = 4,
                              .class_offset = 5}};
    for (const char *p = spec ? spec : ""; *p;) {
        size_t n = strcspn(p, ",");
        long v = 0;
        int none = 0, got = 0, k;
        for (k = 0; k < 3 && !(strlen(BOXES[k]) == n && !strncmp(p, BOXES[k], n)); k++)
            ;
        if (k < 3)
            l->lib.box_format = k, got = 1;
        else if (n == 10 && !strncmp(p, "normalised", n))
            l->lib.normalised = 1, got = 1;
        else if (n == 6 && !strncmp(p, "pixels", n))
            l->lib.normalised = 0, got = 1;
        else if ((got = field(p, n, "box", &v, NULL)) > 0)
            l->lib.box_offset = (uint32_t)v;
        else if (got == 0 && (got = field(p, n, "obj", &v, &none)) > 0)
            l->lib.objectness = none ? -1 : (int32_t)v;
        else if (got == 0 && (got = field(p, n, "cls", &v, NULL)) > 0)
            l->lib.class_offset = (uint32_t)v;
        else if (got == 0 && (got = field(p, n, "stride", &v, NULL)) > 0)
            l->lib.stride = (uint32_t)v;
        if (got <= 0) {
            snprintf(err, errlen,
                     "--detector-layout: '%.*s' is none of cxcywh, xyxy, xywh, normalised, "
                     "pixels, box=N, obj=N, obj=none, cls=N, stride=N",
                     (int)(n < 60 ? n : 60), p);
            return -1;
        }
        p += n;
        if (*p == ',') p++;
    }
    char obj[16] = "none";
    if (l->lib.objectness >= 0) snprintf(obj, sizeof obj, "%d", (int)l->lib.objectness);
    snprintf(l->spec, sizeof l->spec, "%s,%s,box=%u,obj=%s,cls=%u", BOXES[l->lib.box_format],
             l->lib.normalised ? "normalised" : "pixels", (unsigned)l->lib.box_offset, obj,
             (unsigned)l->lib.class_offset);
    return 0;
}

int det_layout_fit(det_layout *l, size_t n_outputs, int row, char *err, size_t errlen) {
    decam_detection_layout *d = &l->lib;
    uint32_t stride = d->stride ? d->stride : (uint32_t)(row > 0 ? row : 0);
    if (stride == 0) {
        snprintf(err, errlen,
                 "the model's outputs differ in their last dimension: give the row length "
                 "(--detector-layout stride=N)");
        return -1;
    }
    if (n_outputs % stride) {
        snprintf(err, errlen,
                 "the model writes %zu floats per image, not whole rows of %u (a YOLO-style "
                 "head writes rows of box, objectness and class scores; see "
                 "--detector-layout)",
                 n_outputs, (unsigned)stride);
        return -1;
    }
    const uint32_t last_fixed = d->box_offset + 4 > (uint32_t)(d->objectness + 1)
                                    ? d->box_offset + 4
                                    : (uint32_t)(d->objectness + 1);
    if (last_fixed > stride || d->class_offset >= stride) {
        snprintf(err, errlen,
                 "the model's rows have %u floats: too few for the layout %s (box at %u, "
                 "objectness at %d, classes from %u)",
                 (unsigned)stride, l->spec, (unsigned)d->box_offset, (int)d->objectness,
                 (unsigned)d->class_offset);
        return -1;
    }
    if (n_outputs / stride > 16777216u || stride - d->class_offset > 65536u) {
        snprintf(err, errlen, "the model's %zu rows of %u floats are more than the library takes",
                 n_outputs / stride, (unsigned)stride);
        return -1;
    }
    d->stride = stride;
    d->proposals = (uint32_t)(n_outputs / stride);
    d->classes = stride - d->class_offset;
    return 0;
}

void det_row_box(const det_layout *l, const float *outputs, uint32_t row, int width, int height,
                 float box[4]) {
    const decam_detection_layout *d = &l->lib;
    const float *b = outputs + (size_t)row * d->stride + d->box_offset;
    const float sx = d->normalised ? (float)width : 1, sy = d->normalised ? (float)height : 1;
    const float a = b[0] * sx, c = b[1] * sy, e = b[2] * sx, f = b[3] * sy;
    if (d->box_format == DECAM_BOX_CXCYWH) {
        box[0] = a - e / 2, box[1] = c - f / 2, box[2] = a + e / 2, box[3] = c + f / 2;
    } else if (d->box_format == DECAM_BOX_XYWH) {
        box[0] = a, box[1] = c, box[2] = a + e, box[3] = c + f;
    } else {
        box[0] = a, box[1] = c, box[2] = e, box[3] = f;
    }
}

double det_iou(const float a[4], const float b[4]) {
    const double w = fmin(a[2], b[2]) - fmax(a[0], b[0]), h = fmin(a[3], b[3]) - fmax(a[1], b[1]);
    const double inter = w > 0 && h > 0 ? w * h : 0;
    const double uni =
        (double)(a[2] - a[0]) * (a[3] - a[1]) + (double)(b[2] - b[0]) * (b[3] - b[1]) - inter;
    return uni > 0 ? inter / uni : 0;
}

static int by_score(const void *pa, const void *pb) {
    const detection *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->row < b->row ? -1 : a->row > b->row; /* stable: the first row first */
}

long det_find(const det_layout *l, const float *outputs, int width, int height, float threshold,
              float nms, int only, detection **found) {
    const decam_detection_layout *d = &l->lib;
    detection *c = NULL;
    size_t n = 0, cap = 0;
    *found = NULL;
    for (uint32_t r = 0; r < d->proposals; r++) {
        const float *row = outputs + (size_t)r * d->stride;
        const float *cls = row + d->class_offset;
        uint32_t best = 0;
        for (uint32_t k = 1; k < d->classes; k++)
            if (cls[k] > cls[best]) best = k;
        if (!(cls[best] >= threshold)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            detection *g = realloc(c, cap * sizeof *g);
            if (!g) return free(c), -1;
            c = g;
        }
        detection *e = &c[n++];
        det_row_box(l, outputs, r, width, height, e->box);
        e->cls = (int)best;
        e->score = cls[best];
        e->objectness = d->objectness >= 0 ? row[d->objectness] : 1;
        e->row = r;
    }
    if (n) qsort(c, n, sizeof *c, by_score);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        int keep = c[i].box[2] > c[i].box[0] && c[i].box[3] > c[i].box[1];
        for (size_t j = 0; j < kept && keep; j++)
            keep = det_iou(c[i].box, c[j].box) <= nms;
        if (keep) c[kept++] = c[i];
    }
    size_t out = 0; /* the class asked for, after suppression among all */
    for (size_t i = 0; i < kept; i++)
        if (only < 0 || c[i].cls == only) c[out++] = c[i];
    if (out == 0) {
        free(c);
        return 0;
    }
    *found = c;
    return (long)out;
}

void det_draw_box(uint8_t *image, int width, int height, size_t pitch, const float box[4],
                  const uint8_t rgb[3], int thick) {
    int x0 = (int)lroundf(box[0]), y0 = (int)lroundf(box[1]);
    int x1 = (int)lroundf(box[2]) - 1, y1 = (int)lroundf(box[3]) - 1;
    x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0;
    x1 = x1 >= width ? width - 1 : x1, y1 = y1 >= height ? height - 1 : y1;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            if (x >= x0 + thick && x <= x1 - thick && y >= y0 + thick && y <= y1 - thick) continue;
            memcpy(image + (size_t)y * pitch + 3 * (size_t)x, rgb, 3);
        }
}

const uint8_t *det_colour(int k) {
    static const uint8_t PALETTE[8][3] = {{255, 64, 64}, {64, 255, 64},  {64, 160, 255},
                                          {255, 220, 0}, {255, 64, 255}, {0, 255, 255},
                                          {255, 140, 0}, {160, 100, 255}};
    return PALETTE[k % 8];
}
