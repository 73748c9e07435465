/*
 * detect.h - decam-explain's detectors: the row layout of a detector's
 * output (--detector-layout), the detections of one image (a score
 * threshold, then non-maximum suppression as cv::dnn::NMSBoxes does) and
 * box outlines drawn into a panel. Plain C, no OpenCV: the network runs
 * in dnn_model.cpp.
 */
#ifndef DECAM_CLI_DETECT_H
#define DECAM_CLI_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "decam.h"

/* The layout as --detector-layout gives it; proposals and classes are
 * filled in by det_layout_fit() from the model's output. stride is 0
 * until then unless given. */
typedef struct det_layout {
    decam_detection_layout lib;
    char spec[128]; /* the layout written back, for records */
} det_layout;

/* Parses "TOKEN,TOKEN,...": a box format (cxcywh, xyxy or xywh),
 * normalised or pixels, box=N (where the box starts), obj=N or obj=none,
 * cls=N (where the class scores start), stride=N (floats per row; default
 * the output's last dimension). Unnamed fields keep the default,
 * cxcywh,normalised,box=0,obj=4,cls=5 (darknet, YOLOv5). spec NULL gives
 * the default. Returns 0, or -1 with a reason in err. */
int det_layout_parse(const char *spec, det_layout *l, char *err, size_t errlen);

/* Fits the layout to a model writing n_outputs floats per image whose
 * output's last dimension is row (0: unknown): the stride, the number of
 * proposals and of classes. Returns 0, or -1 with a reason in err (the
 * rows do not divide the output, a field lies beyond a row, ...). */
int det_layout_fit(det_layout *l, size_t n_outputs, int row, char *err, size_t errlen);

/* One detection, in pixels of the model's input. */
typedef struct detection {
    float box[4]; /* x0, y0, x1, y1 */
    int cls;      /* the best class */
    float score;  /* its score */
    float objectness;
    uint32_t row; /* the proposal it came from */
} detection;

/* Proposal `row`'s box as x0, y0, x1, y1 in pixels of a width x height
 * input. */
void det_row_box(const det_layout *l, const float *outputs, uint32_t row, int width, int height,
                 float box[4]);

/* The detections of one image's outputs: rows whose best class score is
 * at least threshold, then greedy non-maximum suppression at IoU nms
 * (best first), those of class `only` alone when it is not -1. Best
 * first; *found is malloc'ed (NULL when none). Returns how many, or -1
 * when out of memory. */
long det_find(const det_layout *l, const float *outputs, int width, int height, float threshold,
              float nms, int only, detection **found);

/* IoU of two x0, y0, x1, y1 boxes. */
double det_iou(const float a[4], const float b[4]);

/* Draws a box outline `thick` pixels wide in colour rgb into an image of
 * width x height RGB bytes whose rows are `pitch` bytes apart. */
void det_draw_box(uint8_t *image, int width, int height, size_t pitch, const float box[4],
                  const uint8_t rgb[3], int thick);

/* A distinct colour for detection k. */
const uint8_t *det_colour(int k);

#endif /* DECAM_CLI_DETECT_H */
