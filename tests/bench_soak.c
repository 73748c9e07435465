/*
 * bench_soak.c - 10,000 small explanations in one process: prints the
 * resident set size at the start and the end, and the rate. Fails (exit 1)
 * if the RSS grew by 1 MiB or more, or if any explanation failed.
 * Run with `meson test --benchmark --suite soak`.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "decam.h"

enum { W = 24, H = 24, C = 3, RUNS = 10000 };

static int bright_corner(void *user, const float *images, size_t n, float *scores) {
    (void)user;
    for (size_t i = 0; i < n; i++) {
        const float *img = images + i * W * H * C;
        double s = 0.0;
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++)
                s += img[(y * W + x) * C];
        scores[i] = (float)(s / 64.0);
    }
    return 0;
}

/* Resident set size in KiB, from /proc (0 where there is none). */
static long rss_kib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (!f) return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
    return resident * 4;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int explain_once(unsigned run, const float *image, float *map) {
    decam_ctx *ctx = decam_create();
    if (!ctx) return 1;
    decam_set_model(ctx, bright_corner, NULL);
    decam_set_param(ctx, DECAM_PARAM_SEED, run);
    decam_set_param(ctx, DECAM_PARAM_GRID_WIDTH, 4);
    decam_set_param(ctx, DECAM_PARAM_GRID_HEIGHT, 4);
    decam_set_param(ctx, DECAM_PARAM_POPULATION, 8);
    decam_set_param(ctx, DECAM_PARAM_BUDGET, 60);
    decam_set_param(ctx, DECAM_PARAM_BASELINE, (double)(run % 5 == 4 ? 0 : run % 5));
    decam_status st = decam_explain(ctx, image, W, H, C, map);
    decam_free(ctx);
    return st != DECAM_OK;
}

int main(void) {
    static float image[W * H * C], map[W * H];
    for (int i = 0; i < W * H * C; i++)
        image[i] = (float)((i * 7919) % 101) / 100.0f;
    int failed = 0;
    /* Warm up the allocator's arenas before the first reading. */
    for (unsigned r = 0; r < 100; r++)
        failed += explain_once(r, image, map);
    long start = rss_kib();
    double t0 = now();
    for (unsigned r = 0; r < RUNS; r++)
        failed += explain_once(r, image, map);
    double secs = now() - t0;
    long end = rss_kib();
    printf("soak: %d explanations (%dx%dx%d, 60 queries each) in %.2f s: %.0f per second, "
           "%.0f queries per second\n",
           RUNS, W, H, C, secs, RUNS / secs, RUNS * 60.0 / secs);
    printf("soak: RSS %ld KiB at start, %ld KiB at end, growth %ld KiB (limit 1024)\n", start, end,
           end - start);
    printf("soak: %d failed explanations\n", failed);
    return failed || end - start >= 1024;
}
