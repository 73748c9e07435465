/* filter.c - separable Gaussian blur with edge replication. */
#include "filter.h"

#include <math.h>

int filter_gaussian_radius(double sigma) {
    int r = (int)ceil(3.0 * sigma);
    return r < 1 ? 1 : r;
}

static void make_kernel(float *kernel, int radius, double sigma) {
    /* A sigma whose square underflows (below about 1e-154) would make the
     * centre tap 0 / 0. Its kernel is the limit of the Gaussian as sigma
     * shrinks, the identity, which is also what any sigma below about
     * 0.07 gives once the outer taps underflow in float. */
    if (!(sigma * sigma > 0.0)) {
        for (int i = -radius; i <= radius; i++)
            kernel[i + radius] = i == 0 ? 1.0f : 0.0f;
        return;
    }
    double sum = 0.0;
    for (int i = -radius; i <= radius; i++)
        sum += exp(-0.5 * (i * i) / (sigma * sigma));
    for (int i = -radius; i <= radius; i++)
        kernel[i + radius] = (float)(exp(-0.5 * (i * i) / (sigma * sigma)) / sum);
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Scratch for one blur, allocated once. */
typedef struct blur {
    int width, height, channels, taps; /* taps = 2 radius + 1 */
    int ring;                          /* rows kept of the row pass: min(height, taps) */
    float *kernel;                     /* taps */
    const float **tap;                 /* taps: where each tap reads */
    float *padded;                     /* (width + 2 radius) * channels */
    double *acc;                       /* width * channels */
    float *pass;                       /* ring * width * channels: row y in slot y % ring */
} blur;

/* out[j] = sum over k of kernel[k] b->tap[k][j], for j < n. Each product is
 * rounded to float and the sum kept in double, taps added in order: one
 * output at a time would do the same. Going a tap at a time over all n
 * outputs instead makes the inner loop run over contiguous values, and
 * the compiler vectorises it. */
static void sum_taps(const blur *b, size_t n, float *out) {
    double *acc = b->acc;
    for (size_t j = 0; j < n; j++)
        acc[j] = 0.0;
    for (int k = 0; k < b->taps; k++) {
        const float *src = b->tap[k], wk = b->kernel[k];
        for (size_t j = 0; j < n; j++)
            acc[j] += wk * src[j];
    }
    for (size_t j = 0; j < n; j++)
        out[j] = (float)acc[j];
}

/* Blurs one row along x into `out`. The row is copied with `radius` copies
 * of its end pixels on either side: the neighbours that clamping the index
 * to the row would read. Interleaved channels stay apart, as tap k of
 * every value is k pixels (k * channels values) along. */
static void blur_row(const blur *b, const float *row, float *out) {
    const size_t c = (size_t)b->channels, n = (size_t)b->width * c, radius = b->taps / 2;
    float *p = b->padded;
    for (size_t i = 0; i < radius * c; i++) {
        p[i] = row[i % c];
        p[radius * c + n + i] = row[n - c + i % c];
    }
    for (size_t i = 0; i < n; i++)
        p[radius * c + i] = row[i];
    for (int k = 0; k < b->taps; k++)
        b->tap[k] = p + (size_t)k * c;
    sum_taps(b, n, out);
}

/* Blurs one plane in place: each output row, a whole row at a time, from
 * the row pass of the rows within `radius` of it. Those are made just
 * before they are first needed, from rows not yet overwritten, and kept in
 * a ring of b->ring rows: enough, as no output row needs more. */
static void blur_plane(const blur *b, float *plane) {
    const size_t n = (size_t)b->width * b->channels;
    const int radius = b->taps / 2, last = b->height - 1;
    int made = 0; /* rows of the row pass made so far */
    for (int y = 0; y < b->height; y++) {
        for (; made <= y + radius && made <= last; made++)
            blur_row(b, plane + (size_t)made * n, b->pass + (size_t)(made % b->ring) * n);
        for (int k = 0; k < b->taps; k++)
            b->tap[k] = b->pass + (size_t)(clampi(y - radius + k, 0, last) % b->ring) * n;
        sum_taps(b, n, plane + (size_t)y * n);
    }
}

static void blur_free(blur *b, const decam_allocator *a) {
    mem_free(a, b->kernel);
    mem_free(a, b->tap);
    mem_free(a, b->padded);
    mem_free(a, b->acc);
    mem_free(a, b->pass);
}

int filter_gaussian(const decam_allocator *a, float *data, int width, int height, int planes,
                    int channels, double sigma) {
    const int radius = filter_gaussian_radius(sigma);
    const size_t n = (size_t)width * channels;
    blur b = {.width = width, .height = height, .channels = channels, .taps = 2 * radius + 1};
    b.ring = height < b.taps ? height : b.taps;
    b.kernel = mem_alloc(a, (size_t)b.taps, sizeof *b.kernel);
    b.tap = mem_alloc(a, (size_t)b.taps, sizeof *b.tap);
    b.padded = mem_alloc(a, n + 2 * (size_t)radius * channels, sizeof *b.padded);
    b.acc = mem_alloc(a, n, sizeof *b.acc);
    b.pass = mem_alloc(a, n * b.ring, sizeof *b.pass);
    if (!b.kernel || !b.tap || !b.padded || !b.acc || !b.pass) {
        blur_free(&b, a);
        return -1;
    }
    make_kernel(b.kernel, radius, sigma);
    for (int k = 0; k < planes; k++)
        blur_plane(&b, data + (size_t)k * n * height);
    blur_free(&b, a);
    return 0;
}
