/*
 * planted.c - explains a synthetic model whose score depends only on a
 * hidden rectangle of the image, and prints the map as a text grid with the
 * rectangle marked. Self-contained: builds alone against libdecam.
 *
 *     cc planted.c $(pkg-config --cflags --libs decam) -lm -o planted
 */
#include <decam.h>
#include <stdio.h>
#include <stdlib.h>

#define W 64
#define H 64
#define C 3

/* The hidden region the model looks at. */
typedef struct rect {
    int x0, y0, x1, y1; /* [x0, x1) x [y0, y1) */
} rect;

/* Score: mean of the red channel inside the rectangle (HWC images). */
static int planted_model(void *user, const float *images, size_t n, float *scores) {
    const rect *r = user;
    for (size_t i = 0; i < n; i++) {
        const float *img = images + i * W * H * C;
        double sum = 0.0;
        for (int y = r->y0; y < r->y1; y++)
            for (int x = r->x0; x < r->x1; x++)
                sum += img[(y * W + x) * C + 0];
        scores[i] = (float)(sum / ((r->x1 - r->x0) * (r->y1 - r->y0)));
    }
    return 0;
}

int main(void) {
    rect hidden = {36, 10, 52, 26};
    float *image = malloc(sizeof(float) * W * H * C);
    float *map = malloc(sizeof(float) * W * H);
    if (!image || !map) return 1;
    /* A textured image: every pixel carries some red, so removing any part
     * of the rectangle lowers the score. */
    unsigned s = 12345;
    for (int i = 0; i < W * H * C; i++) {
        s = s * 1103515245u + 12345u;
        image[i] = 0.3f + 0.7f * (float)((s >> 16) & 0x7fff) / 32767.0f;
    }

    decam_ctx *ctx = decam_create();
    if (!ctx) return 1;
    decam_status st = decam_set_model(ctx, planted_model, &hidden);
    if (st == DECAM_OK) st = decam_set_param(ctx, DECAM_PARAM_SEED, 7);
    if (st == DECAM_OK) st = decam_set_param(ctx, DECAM_PARAM_BASELINE, DECAM_BASELINE_CONSTANT);
    if (st == DECAM_OK) st = decam_explain(ctx, image, W, H, C, map);
    if (st != DECAM_OK) {
        fprintf(stderr, "planted: %s: %s\n", decam_status_string(st), decam_errmsg(ctx));
        decam_free(ctx);
        return 1;
    }

    /* The map on an 16 x 16 text grid; [] marks cells inside the rectangle. */
    const char *shades = " .:-=+*#%@";
    int best = 0;
    for (int i = 1; i < W * H; i++)
        if (map[i] > map[best]) best = i;
    printf("libdecam %s - planted rectangle x %d..%d, y %d..%d\n\n", decam_version_string(),
           hidden.x0, hidden.x1 - 1, hidden.y0, hidden.y1 - 1);
    for (int gy = 0; gy < 16; gy++) {
        for (int gx = 0; gx < 16; gx++) {
            int x = gx * 4 + 2, y = gy * 4 + 2;
            int inside = x >= hidden.x0 && x < hidden.x1 && y >= hidden.y0 && y < hidden.y1;
            char c = shades[(int)(map[y * W + x] * 9.0f + 0.5f)];
            printf(inside ? "[%c" : " %c", c);
            printf(inside ? "]" : " ");
        }
        printf("\n");
    }
    int bx = best % W, by = best / W;
    int hit = bx >= hidden.x0 && bx < hidden.x1 && by >= hidden.y0 && by < hidden.y1;

    decam_stats stats = {.size = sizeof stats};
    if (decam_get_stats(ctx, &stats) != DECAM_OK) return 1; /* cannot fail: size is set */
    printf("\nmap maximum at (%d, %d): %s the planted rectangle\n", bx, by,
           hit ? "inside" : "OUTSIDE");
    printf("queries %llu in %llu model calls, %u generations, best fitness %.4f\n",
           (unsigned long long)stats.queries, (unsigned long long)stats.model_calls,
           stats.generations, stats.best_fitness);
    printf("score: full image %.4f, kept region %.4f, region removed %.4f\n", stats.score_full,
           stats.score_keep, stats.score_drop);
    printf("time: %.3f s in the model, %.3f s in the library\n", stats.model_seconds,
           stats.library_seconds);
    decam_free(ctx);
    free(image);
    free(map);
    return hit ? 0 : 2;
}
