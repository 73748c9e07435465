/* filter.c - separable Gaussian blur with edge replication. */
#include "filter.h"

#include <math.h>

int filter_gaussian_radius(double sigma) {
    int r = (int)ceil(3.0 * sigma);
    return r < 1 ? 1 : r;
}

static void make_kernel(float *kernel, int radius, double sigma) {
    double sum = 0.0;
    for (int i = -radius; i <= radius; i++)
        sum += exp(-0.5 * (i * i) / (sigma * sigma));
    for (int i = -radius; i <= radius; i++)
        kernel[i + radius] = (float)(exp(-0.5 * (i * i) / (sigma * sigma)) / sum);
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Convolves the n elements data[0], data[step], ... in place; `line` keeps
 * a copy of the input. */
static void convolve_line(float *data, int n, size_t step, const float *kernel, int radius,
                          float *line) {
    for (int i = 0; i < n; i++)
        line[i] = data[(size_t)i * step];
    for (int i = 0; i < n; i++) {
        double acc = 0.0;
        if (i >= radius && i + radius < n) {
            for (int k = -radius; k <= radius; k++)
                acc += kernel[k + radius] * line[i + k];
        } else {
            for (int k = -radius; k <= radius; k++)
                acc += kernel[k + radius] * line[clampi(i + k, 0, n - 1)];
        }
        data[(size_t)i * step] = (float)acc;
    }
}

int filter_gaussian(const decam_allocator *a, float *data, int width, int height, int planes,
                    size_t plane_step, size_t stride, double sigma) {
    const int radius = filter_gaussian_radius(sigma);
    float *kernel = mem_alloc(a, 2 * (size_t)radius + 1, sizeof *kernel);
    float *line = mem_alloc(a, (size_t)(width > height ? width : height), sizeof *line);
    if (!kernel || !line) {
        mem_free(a, kernel);
        mem_free(a, line);
        return -1;
    }
    make_kernel(kernel, radius, sigma);
    for (int k = 0; k < planes; k++) {
        float *plane = data + (size_t)k * plane_step;
        for (int y = 0; y < height; y++)
            convolve_line(plane + (size_t)y * width * stride, width, stride, kernel, radius, line);
        for (int x = 0; x < width; x++)
            convolve_line(plane + (size_t)x * stride, height, (size_t)width * stride, kernel,
                          radius, line);
    }
    mem_free(a, kernel);
    mem_free(a, line);
    return 0;
}
