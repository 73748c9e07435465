/*
 * bench_overhead.c - what the library itself costs, with a model that does
 * nothing.
 *
 * 1. Overhead: 224 x 224 x 3 float images, batches of 64: queries per
 *    second for each method with 1 and 2 threads, next to a memcpy of the
 *    same bytes (one image per query) timed in the same run. The ratio is
 *    the figure: the library's time per query over memcpy's.
 * 2. Scaling: time per query and peak library memory (counted by the
 *    allocator, exactly) against image size (64 to 1024, square) and DE-CAM
 *    grid size (4 to 32).
 *
 * Medians of REPEATS runs. Prints Markdown tables. Run with
 * `meson test --benchmark --suite overhead` or directly; BENCH_QUICK=1
 * shrinks it for a smoke test, and the argument `overhead` runs part 1
 * alone.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decam.h"

static int repeats = 5;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The model that does nothing, but read one value per image so the
 * compiler cannot tell. */
static int noop_model(void *user, const float *images, size_t n, float *scores) {
    size_t values = *(const size_t *)user;
    for (size_t i = 0; i < n; i++)
        scores[i] = images[i * values] * 0.0f + 0.5f;
    return 0;
}

/* An allocator that counts bytes in use and their peak. */
typedef struct counter {
    size_t now, peak;
} counter;

static void *count_alloc(void *opaque, size_t size) {
    counter *c = opaque;
    size_t *p = malloc(size + sizeof(size_t) * 2);
    if (!p) return NULL;
    p[0] = size;
    c->now += size;
    if (c->now > c->peak) c->peak = c->now;
    return p + 2;
}

static void count_free(void *opaque, void *ptr) {
    counter *c = opaque;
    size_t *p = (size_t *)ptr - 2;
    c->now -= p[0];
    free(p);
}

typedef struct result {
    double seconds; /* median wall time of one explanation */
    double model_seconds;
    unsigned long long queries;
    size_t peak_bytes;
} result;

static float *make_image(int side) {
    size_t n = (size_t)side * side * 3;
    float *img = malloc(n * sizeof *img);
    if (!img) return NULL;
    for (size_t i = 0; i < n; i++)
        img[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
    return img;
}

static int run(decam_method method, int side, int threads, int grid, int budget, result *out) {
    float *image = make_image(side), *map = malloc((size_t)side * side * sizeof *map);
    size_t values = (size_t)side * side * 3;
    double times[32], model[32];
    int ok = image && map;
    counter c = {0, 0};
    for (int r = 0; ok && r < repeats; r++) {
        decam_ctx *ctx = decam_create_advanced(count_alloc, count_free, &c);
        ok = ctx != NULL;
        if (!ok) break;
        decam_set_model(ctx, noop_model, &values);
        decam_set_param(ctx, DECAM_PARAM_METHOD, method);
        decam_set_param(ctx, DECAM_PARAM_THREADS, threads);
        decam_set_param(ctx, DECAM_PARAM_BATCH_SIZE, 64);
        decam_set_param(ctx, DECAM_PARAM_POPULATION, 64);
        decam_set_param(ctx, DECAM_PARAM_GRID_WIDTH, grid);
        decam_set_param(ctx, DECAM_PARAM_GRID_HEIGHT, grid);
        decam_set_param(ctx, DECAM_PARAM_BUDGET, budget);
        double t0 = now();
        decam_status st = decam_explain(ctx, image, side, side, 3, map);
        times[r] = now() - t0;
        decam_stats s = {.size = sizeof s};
        decam_get_stats(ctx, &s);
        model[r] = s.model_seconds;
        out->queries = s.queries;
        if (st != DECAM_OK) {
            fprintf(stderr, "bench: %s\n", decam_errmsg(ctx));
            ok = 0;
        }
        decam_free(ctx);
    }
    if (ok) {
        out->seconds = median(times, repeats);
        out->model_seconds = median(model, repeats);
        out->peak_bytes = c.peak;
    }
    free(image);
    free(map);
    return ok ? 0 : -1;
}

/* Seconds to memcpy `queries` images of `side` x `side` x 3 floats into a
 * batch of 64, median of the repeats. */
static double memcpy_bound(int side, unsigned long long queries) {
    size_t bytes = (size_t)side * side * 3 * sizeof(float);
    float *image = make_image(side);
    char *batch = malloc(bytes * 64);
    double times[32];
    if (!image || !batch) return -1;
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        for (unsigned long long q = 0; q < queries; q++)
            memcpy(batch + (q % 64) * bytes, image, bytes);
        times[r] = now() - t0;
        if (batch[0] == 42) fputs("", stdout); /* keep the copies */
    }
    free(image);
    free(batch);
    return median(times, repeats);
}

static const char *NAMES[] = {"DE-CAM", "RISE", "occlusion"};

static int overhead(void) {
    const int side = 224, budget = 1027; /* DE-CAM: 16 generations of 64, + 3 */
    printf("### Library overhead (no-op model, %d x %d x 3, batch 64)\n\n", side, side);
    printf("| method | threads | queries | ms per explanation | queries/s | memcpy queries/s "
           "| time / memcpy time |\n|---|---|---|---|---|---|---|\n");
    for (int m = 0; m < 3; m++)
        for (int threads = 1; threads <= 2; threads++) {
            result res;
            if (run((decam_method)m, side, threads, 7, budget, &res) != 0) return 1;
            double bound = memcpy_bound(side, res.queries);
            printf("| %s | %d | %llu | %.1f | %.0f | %.0f | %.2f |\n", NAMES[m], threads,
                   res.queries, 1e3 * res.seconds, res.queries / res.seconds, res.queries / bound,
                   res.seconds / bound);
            fflush(stdout);
        }
    return 0;
}

static int scaling(int quick) {
    const int sides[] = {64, 128, 256, 512, 1024}, grids[] = {4, 8, 16, 32};
    const int n_sides = quick ? 2 : 5, n_grids = quick ? 2 : 4;
    printf("\n### Scaling with image size (DE-CAM, grid 7, 1027 queries, batch 64, 1 thread)\n\n");
    printf("| side | ms per explanation | us per query | peak library memory (MiB) | "
           "peak in images (64 batch + ~3) |\n|---|---|---|---|---|\n");
    for (int i = 0; i < n_sides; i++) {
        result res;
        if (run(DECAM_METHOD_DECAM, sides[i], 1, 7, 1027, &res) != 0) return 1;
        double image_mib = (double)sides[i] * sides[i] * 3 * 4 / (1 << 20);
        printf("| %d | %.1f | %.1f | %.1f | %.2f |\n", sides[i], 1e3 * res.seconds,
               1e6 * res.seconds / res.queries, res.peak_bytes / 1048576.0,
               res.peak_bytes / 1048576.0 / image_mib);
        fflush(stdout);
    }
    printf("\n### Scaling with grid size (DE-CAM, 224 x 224, 1027 queries, batch 64)\n\n");
    printf("| grid | ms per explanation | us per query | peak library memory (MiB) |\n"
           "|---|---|---|---|\n");
    for (int i = 0; i < n_grids; i++) {
        result res;
        if (run(DECAM_METHOD_DECAM, 224, 1, grids[i], 1027, &res) != 0) return 1;
        printf("| %d x %d | %.1f | %.1f | %.1f |\n", grids[i], grids[i], 1e3 * res.seconds,
               1e6 * res.seconds / res.queries, res.peak_bytes / 1048576.0);
        fflush(stdout);
    }
    return 0;
}

int main(int argc, char **argv) {
    int quick = getenv("BENCH_QUICK") != NULL;
    int only_overhead = argc > 1 && strcmp(argv[1], "overhead") == 0;
    if (quick) repeats = 1;
    int rc = overhead();
    if (rc == 0 && !only_overhead) rc = scaling(quick);
    return rc;
}
