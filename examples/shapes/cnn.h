/*
 * cnn.h - inference for the small "shapes" CNN (plain C11, libm only).
 *
 * Network: the input is normalised as (x - shift) * scale (per the file),
 * then a chain of conv3x3 (stride 1, zero "same" padding) + bias + ReLU
 * layers, each optionally followed by 2x2/2 max pooling; then global average
 * pooling and one dense layer giving the class logits.  Input is an
 * S x S x 3 image, HWC float (as produced by scene_generate()).
 *
 * Weights file format, version 1 (all integers uint32 and all floats IEEE-754
 * binary32, little-endian; no padding):
 *
 *   offset  size   field
 *   0       8      magic "SHPCNN01"
 *   8       4      version (1)
 *   12      4      S, input side            (8 .. 1024, divisible by 2^#pools)
 *   16      4      input channels           (3)
 *   20      4      number of classes K      (1 .. 256)
 *   24      4      number of conv layers L  (1 .. CNN_MAX_CONV)
 *   28      4      f32 input shift
 *   32      4      f32 input scale          (finite, non-zero)
 *   36      12*L   per layer: in_ch, out_ch, pool (0/1)
 *                  in_ch of layer 0 = input channels; in_ch of layer l+1 =
 *                  out_ch of layer l; out_ch a multiple of 8, <= 256
 *   ...            per layer: weights [out_ch][3][3][in_ch] (ky, kx), then
 *                  bias [out_ch]
 *   ...            dense: weights [K][out_ch of the last layer], bias [K]
 *   end-4   4      FNV-1a 32-bit hash of all preceding bytes
 *
 * The file size must match exactly and every float must be finite.
 *
 * This module does not print, exit or abort.
 */
#ifndef SHAPES_CNN_H
#define SHAPES_CNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CNN_MAGIC    "SHPCNN01"
#define CNN_VERSION  1u
#define CNN_MAX_CONV 8

typedef struct cnn cnn;

/*
 * Load a weights file.  Returns NULL on failure (missing, unreadable,
 * truncated, wrong magic/version, inconsistent shapes, bad hash, non-finite
 * values, out of memory) and then writes a message to err (if err != NULL and
 * errlen > 0; always NUL-terminated).
 */
cnn *cnn_load(const char *path, char *err, size_t errlen);

void cnn_free(cnn *net);

/* Input side S (images are S x S x 3). */
int cnn_input_size(const cnn *net);
int cnn_num_classes(const cnn *net);
/* Multiply-accumulates of one forward pass (conv + dense). */
size_t cnn_macs(const cnn *net);

/*
 * Logits for n images.  images: n * S * S * 3 floats (HWC, image after
 * image); logits: n * num_classes floats.  Uses scratch memory allocated by
 * cnn_load(), so concurrent calls on the same `net` are not allowed (use
 * cnn_forward_ws() for that).  Does nothing if an argument is NULL.
 */
void cnn_forward(const cnn *net, const float *images, size_t n, float *logits);

/*
 * Same, with caller-provided scratch of cnn_workspace_size(net) bytes
 * (suitably aligned for float, e.g. from malloc).  Thread-safe as long as
 * each thread has its own workspace.
 */
size_t cnn_workspace_size(const cnn *net);
void cnn_forward_ws(const cnn *net, const float *images, size_t n, float *logits, void *workspace);

/* Numerically stable softmax of n rows of k logits; probs may equal logits. */
void cnn_softmax(const float *logits, size_t n, int k, float *probs);

/* Class probabilities for n images (cnn_forward + cnn_softmax; same
 * one-caller-at-a-time rule as cnn_forward). */
void cnn_predict_proba(const cnn *net, const float *images, size_t n, float *probs);

/*
 * Re-initialise every weight of a loaded network in place, with the draws
 * shapes-train makes before its first step for `--seed seed` (train.c,
 * params_init): conv weights normal with standard deviation
 * sqrt(2 / (9 * in_ch)) (He), dense weights normal with sqrt(1 / in_ch),
 * biases zero.  The architecture and the input shift and scale are kept.
 * The result is an untrained network of the same shape: the model of the
 * model-randomisation sanity check (Adebayo et al., "Sanity Checks for
 * Saliency Maps", NeurIPS 2018).  Deterministic; does nothing if net is
 * NULL.  Not to be called while another thread runs the same `net`.
 */
void cnn_randomize(cnn *net, uint64_t seed);

#ifdef __cplusplus
}
#endif

#endif /* SHAPES_CNN_H */
