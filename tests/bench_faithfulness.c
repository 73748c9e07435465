/*
 * bench_faithfulness.c - faithfulness per query: DE-CAM, RISE and
 * occlusion explain the project's trained shapes classifier on the same
 * held-out scenes, and decam_evaluate() scores every map with the same
 * model: deletion and insertion AUC, pointing game and energy pointing game
 * against the object's mask. Prints a Markdown table and, with a path
 * argument, writes the rows as CSV for plotting (tests/benchmarks.sh).
 *
 * The score explained is the probability of the scene's true class. Scenes
 * come from seeds 10000.. (the classifier was neither trained nor tested on
 * them). Two scenes run at a time, one context and one CNN workspace each.
 * BENCH_SCENES overrides the number of scenes (default 100).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cnn.h"
#include "decam.h"
#include "scene.h"

enum { FIRST_SEED = 10000, WORKERS = 2 };

typedef struct setting {
    const char *label;
    decam_method method;
    int budget;         /* DE-CAM and RISE */
    int window, stride; /* occlusion */
} setting;

static const setting SETTINGS[] = {
    {"DE-CAM", DECAM_METHOD_DECAM, 250, 0, 0},     {"DE-CAM", DECAM_METHOD_DECAM, 500, 0, 0},
    {"DE-CAM", DECAM_METHOD_DECAM, 1000, 0, 0},    {"DE-CAM", DECAM_METHOD_DECAM, 2000, 0, 0},
    {"RISE", DECAM_METHOD_RISE, 250, 0, 0},        {"RISE", DECAM_METHOD_RISE, 500, 0, 0},
    {"RISE", DECAM_METHOD_RISE, 1000, 0, 0},       {"RISE", DECAM_METHOD_RISE, 2000, 0, 0},
    {"RISE", DECAM_METHOD_RISE, 4000, 0, 0},       {"RISE", DECAM_METHOD_RISE, 8000, 0, 0},
    {"occlusion", DECAM_METHOD_OCCLUSION, 0, 16, 8}, {"occlusion", DECAM_METHOD_OCCLUSION, 0, 16, 4},
    {"occlusion", DECAM_METHOD_OCCLUSION, 0, 8, 4},  {"occlusion", DECAM_METHOD_OCCLUSION, 0, 12, 2},
};
enum { N_SETTINGS = sizeof SETTINGS / sizeof SETTINGS[0] };

typedef struct sums {
    double deletion, insertion, pointing, energy, queries, seconds;
    int n;
} sums;

typedef struct worker {
    const cnn *net;
    void *workspace;
    int first, step, scenes; /* scene indices first, first + step, ... */
    sums total[N_SETTINGS];
    int failed;
} worker;

typedef struct model {
    const cnn *net;
    void *workspace;
    float *logits;
    size_t cap;
} model;

static int cnn_scores(void *user, const float *images, size_t n, float *scores) {
    model *m = user;
    const int k = cnn_num_classes(m->net);
    for (size_t done = 0; done < n; done += m->cap) {
        size_t b = n - done < m->cap ? n - done : m->cap;
        const int side = cnn_input_size(m->net);
        cnn_forward_ws(m->net, images + done * (size_t)side * side * 3, b, m->logits, m->workspace);
        cnn_softmax(m->logits, b, k, scores + done * (size_t)k);
    }
    return 0;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Explains and evaluates one scene with one setting. */
static int measure(decam_ctx *ctx, const setting *s, const float *image, const uint8_t *truth,
                   int side, int label, uint64_t seed, float *map, sums *out) {
    decam_reset_params(ctx);
    decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, SCENE_NUM_CLASSES);
    decam_set_param(ctx, DECAM_PARAM_TARGET, label);
    decam_set_param(ctx, DECAM_PARAM_SEED, (double)seed);
    decam_set_param(ctx, DECAM_PARAM_METHOD, s->method);
    decam_set_param(ctx, DECAM_PARAM_BUDGET, s->budget ? s->budget : 1e6);
    decam_set_param(ctx, DECAM_PARAM_OCCLUSION_WINDOW, s->window);
    decam_set_param(ctx, DECAM_PARAM_OCCLUSION_STRIDE, s->stride);
    double t0 = now();
    if (decam_explain(ctx, image, side, side, 3, map) != DECAM_OK) return -1;
    double secs = now() - t0;
    decam_stats st = {.size = sizeof st};
    decam_get_stats(ctx, &st);
    decam_metrics m = {.size = sizeof m};
    if (decam_evaluate(ctx, image, side, side, 3, map, truth, &m) != DECAM_OK) return -1;
    out->deletion += m.deletion_auc;
    out->insertion += m.insertion_auc;
    out->pointing += m.pointing_game;
    out->energy += m.energy_pointing_game;
    out->queries += (double)st.queries;
    out->seconds += secs;
    out->n++;
    return 0;
}

static void *work(void *arg) {
    worker *w = arg;
    const int side = cnn_input_size(w->net);
    float *image = malloc(sizeof(float) * side * side * 3), *map = malloc(sizeof(float) * side * side);
    uint8_t *truth = malloc((size_t)side * side);
    model m = {w->net, w->workspace, malloc(sizeof(float) * 64 * SCENE_NUM_CLASSES), 64};
    decam_ctx *ctx = decam_create();
    if (!image || !map || !truth || !m.logits || !ctx) w->failed = 1;
    for (int i = w->first; !w->failed && i < w->scenes; i += w->step) {
        int label;
        uint64_t seed = FIRST_SEED + (uint64_t)i;
        scene_generate(seed, side, image, truth, &label);
        decam_set_model(ctx, cnn_scores, &m);
        for (int k = 0; k < N_SETTINGS && !w->failed; k++) {
            if (measure(ctx, &SETTINGS[k], image, truth, side, label, seed, map, &w->total[k])) {
                fprintf(stderr, "bench: scene %d: %s\n", i, decam_errmsg(ctx));
                w->failed = 1;
            }
        }
        if (w->first == 0) fprintf(stderr, "\rbench: scene %d of %d", i + 1, w->scenes);
    }
    decam_free(ctx);
    free(image);
    free(map);
    free(truth);
    free(m.logits);
    return NULL;
}

int main(int argc, char **argv) {
    const char *weights = getenv("DECAM_SHAPES_WEIGHTS") ? getenv("DECAM_SHAPES_WEIGHTS")
                                                         : SHAPES_WEIGHTS;
    int scenes = getenv("BENCH_SCENES") ? atoi(getenv("BENCH_SCENES")) : 100;
    char err[256];
    cnn *net = cnn_load(weights, err, sizeof err);
    if (!net) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    worker w[WORKERS];
    pthread_t tid[WORKERS];
    for (int t = 0; t < WORKERS; t++) {
        w[t] = (worker){.net = net, .first = t, .step = WORKERS, .scenes = scenes};
        w[t].workspace = malloc(cnn_workspace_size(net));
        pthread_create(&tid[t], NULL, work, &w[t]);
    }
    int failed = 0;
    for (int t = 0; t < WORKERS; t++) {
        pthread_join(tid[t], NULL);
        failed |= w[t].failed;
        free(w[t].workspace);
    }
    fprintf(stderr, "\n");
    cnn_free(net);
    if (failed) return 1;

    FILE *csv = argc > 1 ? fopen(argv[1], "w") : NULL;
    if (csv) fprintf(csv, "method,setting,queries,deletion,insertion,pointing,energy,seconds\n");
    printf("| method | setting | queries per image | deletion AUC (lower is better) | "
           "insertion AUC | insertion - deletion | pointing game | energy pointing game | "
           "seconds per image |\n|---|---|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < N_SETTINGS; k++) {
        sums s = {0};
        for (int t = 0; t < WORKERS; t++) {
            s.deletion += w[t].total[k].deletion;
            s.insertion += w[t].total[k].insertion;
            s.pointing += w[t].total[k].pointing;
            s.energy += w[t].total[k].energy;
            s.queries += w[t].total[k].queries;
            s.seconds += w[t].total[k].seconds;
            s.n += w[t].total[k].n;
        }
        char label[48];
        if (SETTINGS[k].method == DECAM_METHOD_OCCLUSION)
            snprintf(label, sizeof label, "window %d, stride %d", SETTINGS[k].window,
                     SETTINGS[k].stride);
        else
            snprintf(label, sizeof label, "budget %d", SETTINGS[k].budget);
        double n = s.n;
        printf("| %s | %s | %.0f | %.4f | %.4f | %.4f | %.3f | %.3f | %.3f |\n", SETTINGS[k].label,
               label, s.queries / n, s.deletion / n, s.insertion / n,
               (s.insertion - s.deletion) / n, s.pointing / n, s.energy / n, s.seconds / n);
        for (char *c = label; csv && *c; c++)
            if (*c == ',') *c = ';'; /* the CSV's separator */
        if (csv)
            fprintf(csv, "%s,%s,%.0f,%.6f,%.6f,%.6f,%.6f,%.6f\n", SETTINGS[k].label, label,
                    s.queries / n, s.deletion / n, s.insertion / n, s.pointing / n, s.energy / n,
                    s.seconds / n);
    }
    if (csv) fclose(csv);
    printf("\n%d scenes (seeds %d..%d), 64 x 64, the true class's probability explained.\n",
           scenes, FIRST_SEED, FIRST_SEED + scenes - 1);
    return 0;
}
