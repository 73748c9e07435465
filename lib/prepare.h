/*
 * prepare.h - private interface of image preparation (prepare.c, declared
 * publicly in decam_image.h): float image strides per layout and the
 * float-to-byte rounding that rendering shares. Built with or without the
 * I/O part. Private: not installed.
 */
#ifndef DECAM_PREPARE_H
#define DECAM_PREPARE_H

#include <stddef.h>
#include <stdint.h>

#include "context.h"
#include "decam_image.h"

/* Where value (c, y, x) of a float image lies: c*chan + y*row + x*px. */
typedef struct io_strides {
    size_t chan, row, px;
} io_strides;

static inline io_strides io_layout_strides(decam_layout layout, int width, int height,
                                           int channels) {
    io_strides s;
    if (layout == DECAM_LAYOUT_CHW) {
        s.chan = (size_t)width * (size_t)height;
        s.row = (size_t)width;
        s.px = 1;
    } else {
        s.chan = 1;
        s.row = (size_t)width * (size_t)channels;
        s.px = (size_t)channels;
    }
    return s;
}

/* The layout of float images on this context. */
static inline decam_layout io_layout(const decam_ctx *ctx) {
    return (decam_layout)ctx->params[PS_LAYOUT];
}

/* A float in [0,1] as a byte: 255 v rounded (halves up), clamped; NaN
 * gives 0. */
uint8_t decam__io_to_byte(float v);

#endif /* DECAM_PREPARE_H */
