/*
 * dnn_model.h - the decam-explain model backend for OpenCV's DNN module,
 * behind a C interface: decam_explain.c stays C, and no C++ exception ever
 * crosses into it or into libdecam (every entry point catches them and
 * returns a message instead).
 *
 * A dnn_model is one loaded network with its preprocessing. It is used by
 * one thread at a time; decam-explain opens one per job.
 */
#ifndef DNN_MODEL_H
#define DNN_MODEL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dnn_options {
    const char *model;  /* .onnx, .caffemodel, ... (anything cv::dnn::readNet reads) */
    const char *config; /* Caffe .prototxt and the like; "" for none */
    int width, height;  /* the network's input size */
    float scale;        /* input values v in [0,1] become (v * scale - mean) / std */
    float mean[3], std[3];
    int bgr;         /* feed channels as B, G, R */
    int nhwc;        /* the network takes N x H x W x 3 instead of N x 3 x H x W */
    int softmax;     /* a softmax over each image's outputs (for logits) */
    int darknet;     /* model is darknet .weights, config its .cfg (readNetFromDarknet) */
    int all_outputs; /* forward every unconnected output layer (a detector's
                        heads) and give each image's rows of all of them, in
                        layer order, back to back */
} dnn_options;

typedef struct dnn_model dnn_model;

/* Reads the network. Returns NULL and writes a one-line reason to err
 * (naming the node for ONNX files OpenCV cannot import). */
dnn_model *dnn_open(const dnn_options *opt, char *err, size_t errlen);

void dnn_close(dnn_model *m);

/* Scores n images, each planar RGB (3 x height x width floats in [0,1]),
 * back to back. Returns the network's outputs, *outputs floats per image,
 * image-major, in memory of the model valid until the next call; or NULL
 * with a one-line reason in err. */
const float *dnn_forward(dnn_model *m, const float *images, size_t n, int *outputs, char *err,
                         size_t errlen);

/* The last dnn_forward()'s row length: the last dimension of its
 * output(s) (a detector's floats per proposal), or 0 when outputs differ
 * in it. */
int dnn_row_length(const dnn_model *m);

/* The shape of the last dnn_forward()'s output, before it was flattened
 * to rows (a segmenter's N x C x H x W): writes up to max dimensions to
 * dims and returns how many the output has (0 for a detector's heads). */
int dnn_output_shape(const dnn_model *m, int *dims, int max);

/* Limits OpenCV's own worker threads (cv::setNumThreads; process-wide). */
void dnn_set_threads(int n);

#ifdef __cplusplus
}
#endif

#endif /* DNN_MODEL_H */
