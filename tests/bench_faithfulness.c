/*
 * bench_faithfulness.c - faithfulness per query: DE-CAM, RISE and
 * occlusion explain the project's trained shapes classifier on the same
 * held-out scenes, and decam_evaluate() scores every map with the same
 * model: deletion and insertion AUC, pointing game and energy pointing game
 * against the object's mask. Prints a Markdown table and, with a path
 * argument, writes the rows as CSV for plotting (tests/benchmarks.sh).
 *
 * Two more columns compare maps by Spearman's rank correlation
 * (decam_rank_correlation(), docs/metrics.md): stability, each scene
 * explained again with seed + 7919, for budgets up to 2000 and occlusion
 * (deterministic: it must give 1); randomisation, the trained network's map
 * against the map of a copy re-initialised by cnn_randomize() (explained
 * with seed + 7919, as tests/test_sanity.c does), for budget 1000 and
 * occlusion. "-" (an empty CSV field) where not measured.
 *
 * The score explained is the probability of the scene's true class. Scenes
 * come from seeds 10000.. (the classifier was neither trained nor tested on
 * them). Two scenes run at a time, one context and one CNN workspace each.
 * Environment: BENCH_SCENES, the number of scenes (default 100);
 * BENCH_FIRST_SEED, the first scene's seed (default 10000); BENCH_METHODS,
 * a comma list of decam, rise and occlusion to run only those settings
 * (default all); BENCH_PARAMS, a comma list of name=value parameters set
 * after each setting's own, to measure a variant (docs/method.md, section
 * 9), e.g. BENCH_PARAMS=cr=0.8,population=96.
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
enum { SECOND_SEED = 7919, RANDOM_NET_SEED = 1 };
enum { STABILITY_MAX_BUDGET = 2000, RANDOMISATION_BUDGET = 1000 };

typedef struct setting {
    const char *label;
    decam_method method;
    int budget;         /* DE-CAM and RISE */
    int window, stride; /* occlusion */
} setting;

static const setting SETTINGS[] = {
    {"DE-CAM", DECAM_METHOD_DECAM, 250, 0, 0},
    {"DE-CAM", DECAM_METHOD_DECAM, 500, 0, 0},
    {"DE-CAM", DECAM_METHOD_DECAM, 1000, 0, 0},
    {"DE-CAM", DECAM_METHOD_DECAM, 2000, 0, 0},
    {"RISE", DECAM_METHOD_RISE, 250, 0, 0},
    {"RISE", DECAM_METHOD_RISE, 500, 0, 0},
    {"RISE", DECAM_METHOD_RISE, 1000, 0, 0},
    {"RISE", DECAM_METHOD_RISE, 2000, 0, 0},
    {"RISE", DECAM_METHOD_RISE, 4000, 0, 0},
    {"RISE", DECAM_METHOD_RISE, 8000, 0, 0},
    {"occlusion", DECAM_METHOD_OCCLUSION, 0, 16, 8},
    {"occlusion", DECAM_METHOD_OCCLUSION, 0, 16, 4},
    {"occlusion", DECAM_METHOD_OCCLUSION, 0, 8, 4},
    {"occlusion", DECAM_METHOD_OCCLUSION, 0, 12, 2},
};
enum { N_SETTINGS = sizeof SETTINGS / sizeof SETTINGS[0] };

/* The names BENCH_METHODS accepts, by decam_method. */
static const char *const METHOD_KEYS[] = {"decam", "rise", "occlusion"};

/* Occlusion is measured too: it must come out at exactly 1. */
static int wants_stability(const setting *s) {
    return s->method == DECAM_METHOD_OCCLUSION || s->budget <= STABILITY_MAX_BUDGET;
}

static int wants_randomisation(const setting *s) {
    return s->method == DECAM_METHOD_OCCLUSION || s->budget == RANDOMISATION_BUDGET;
}

typedef struct sums {
    double deletion, insertion, pointing, energy, queries, seconds;
    double stability, randomisation; /* sums of rho, over n_stability ... */
    int n, n_stability, n_randomisation;
} sums;

typedef struct worker {
    const cnn *net, *random_net; /* trained; re-initialised, same shape */
    void *workspace;             /* for either network, one call at a time */
    const int *selected;         /* by setting: run it */
    uint64_t first_seed;
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

/* BENCH_PARAMS, parsed once by main(). */
enum { MAX_OVERRIDES = 16 };
static struct {
    decam_param param;
    double value;
} overrides[MAX_OVERRIDES];
static int n_overrides;

/* Parses "name=value,name=value"; returns -1 (after a message) on an
 * unknown name or a malformed item. Values are checked at each set. */
static int parse_overrides(const char *list) {
    for (const char *item = list; item && *item;) {
        size_t len = strcspn(item, ",");
        char name[64];
        double value;
        int param = 0;
        if (len < sizeof name && n_overrides < MAX_OVERRIDES &&
            sscanf(item, "%63[^=,]=%lf", name, &value) == 2)
            for (int k = 0; k < decam_param_count() && !param; k++)
                if (strcmp(decam_param_name(decam_param_key(k)), name) == 0)
                    param = (int)decam_param_key(k);
        if (!param) {
            fprintf(stderr,
                    "bench: BENCH_PARAMS: bad item '%.*s' (name=value, names as "
                    "decam_param_name gives them)\n",
                    (int)len, item);
            return -1;
        }
        overrides[n_overrides].param = (decam_param)param;
        overrides[n_overrides++].value = value;
        item += len + (item[len] == ',');
    }
    return 0;
}

/* The scene explained by `s` with `seed`, using `m`'s network. */
static int explain(decam_ctx *ctx, model *m, const setting *s, const float *image, int side,
                   int label, uint64_t seed, float *map) {
    decam_reset_params(ctx);
    decam_set_model(ctx, cnn_scores, m);
    decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, SCENE_NUM_CLASSES);
    decam_set_param(ctx, DECAM_PARAM_TARGET, label);
    decam_set_param(ctx, DECAM_PARAM_SEED, (double)seed);
    decam_set_param(ctx, DECAM_PARAM_METHOD, s->method);
    decam_set_param(ctx, DECAM_PARAM_BUDGET, s->budget ? s->budget : 1e6);
    decam_set_param(ctx, DECAM_PARAM_OCCLUSION_WINDOW, s->window);
    decam_set_param(ctx, DECAM_PARAM_OCCLUSION_STRIDE, s->stride);
    for (int k = 0; k < n_overrides; k++)
        if (decam_set_param(ctx, overrides[k].param, overrides[k].value) != DECAM_OK) return -1;
    return decam_explain(ctx, image, side, side, 3, map) == DECAM_OK ? 0 : -1;
}

/* Explains and evaluates one scene with one setting; then its stability
 * and randomisation rho where the setting measures them. `maps` holds two
 * maps. */
static int measure(decam_ctx *ctx, model *trained, model *randomised, const setting *s,
                   const float *image, const uint8_t *truth, int side, int label, uint64_t seed,
                   float *maps, sums *out) {
    const size_t hw = (size_t)side * side;
    float *map = maps, *other = maps + hw;
    double t0 = now();
    if (explain(ctx, trained, s, image, side, label, seed, map)) return -1;
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
    double rho;
    if (wants_stability(s)) {
        if (explain(ctx, trained, s, image, side, label, seed + SECOND_SEED, other) ||
            decam_rank_correlation(map, other, hw, &rho) != DECAM_OK)
            return -1;
        out->stability += rho;
        out->n_stability++;
    }
    if (wants_randomisation(s)) {
        if (explain(ctx, randomised, s, image, side, label, seed + SECOND_SEED, other) ||
            decam_rank_correlation(map, other, hw, &rho) != DECAM_OK)
            return -1;
        out->randomisation += rho;
        out->n_randomisation++;
    }
    return 0;
}

static void *work(void *arg) {
    worker *w = arg;
    const int side = cnn_input_size(w->net);
    const size_t hw = (size_t)side * side;
    float *image = malloc(sizeof(float) * hw * 3), *maps = malloc(sizeof(float) * hw * 2);
    uint8_t *truth = malloc(hw);
    float *logits = malloc(sizeof(float) * 64 * SCENE_NUM_CLASSES * 2);
    model trained = {w->net, w->workspace, logits, 64};
    model randomised = {w->random_net, w->workspace,
                        logits ? logits + 64 * SCENE_NUM_CLASSES : NULL, 64};
    decam_ctx *ctx = decam_create();
    if (!image || !maps || !truth || !logits || !ctx) w->failed = 1;
    for (int i = w->first; !w->failed && i < w->scenes; i += w->step) {
        int label;
        uint64_t seed = w->first_seed + (uint64_t)i;
        scene_generate(seed, side, image, truth, &label);
        for (int k = 0; k < N_SETTINGS && !w->failed; k++) {
            if (!w->selected[k]) continue;
            if (measure(ctx, &trained, &randomised, &SETTINGS[k], image, truth, side, label, seed,
                        maps, &w->total[k])) {
                fprintf(stderr, "bench: scene %d: %s\n", i, decam_errmsg(ctx));
                w->failed = 1;
            }
        }
        if (w->first == 0) fprintf(stderr, "\rbench: scene %d of %d", i + 1, w->scenes);
    }
    decam_free(ctx);
    free(image);
    free(maps);
    free(truth);
    free(logits);
    return NULL;
}

/* Marks the settings whose method BENCH_METHODS names (all without it).
 * Returns -1, with a message, for a name it does not know. */
static int select_settings(const char *list, int *selected) {
    for (int k = 0; k < N_SETTINGS; k++)
        selected[k] = list == NULL;
    if (!list) return 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        int known = 0;
        for (int m = 0; m < 3; m++)
            if (len == strlen(METHOD_KEYS[m]) && strncmp(p, METHOD_KEYS[m], len) == 0) {
                known = 1;
                for (int k = 0; k < N_SETTINGS; k++)
                    if (SETTINGS[k].method == (decam_method)m) selected[k] = 1;
            }
        if (!known && len > 0) {
            fprintf(stderr,
                    "bench: BENCH_METHODS: unknown method '%.*s' (decam, rise, occlusion)\n",
                    (int)len, p);
            return -1;
        }
        p += len + (p[len] == ',');
    }
    return 0;
}

/* sum / n with `decimals` decimals into buf, or `none` when nothing was
 * measured (n == 0). */
static const char *mean_or(double sum, int n, int decimals, const char *none, char *buf,
                           size_t size) {
    if (n == 0) return none;
    snprintf(buf, size, "%.*f", decimals, sum / n);
    return buf;
}

int main(int argc, char **argv) {
    const char *weights =
        getenv("DECAM_SHAPES_WEIGHTS") ? getenv("DECAM_SHAPES_WEIGHTS") : SHAPES_WEIGHTS;
    int scenes = getenv("BENCH_SCENES") ? atoi(getenv("BENCH_SCENES")) : 100;
    const uint64_t first_seed =
        getenv("BENCH_FIRST_SEED") ? strtoull(getenv("BENCH_FIRST_SEED"), NULL, 10) : FIRST_SEED;
    int selected[N_SETTINGS];
    if (select_settings(getenv("BENCH_METHODS"), selected)) return 2;
    if (parse_overrides(getenv("BENCH_PARAMS"))) return 2;
    char err[256];
    cnn *net = cnn_load(weights, err, sizeof err);
    cnn *random_net = cnn_load(weights, err, sizeof err);
    if (!net || !random_net) {
        fprintf(stderr, "bench: %s\n", err);
        cnn_free(net);
        return 1;
    }
    cnn_randomize(random_net, RANDOM_NET_SEED);
    worker w[WORKERS];
    pthread_t tid[WORKERS];
    for (int t = 0; t < WORKERS; t++) {
        w[t] = (worker){.net = net,
                        .random_net = random_net,
                        .selected = selected,
                        .first_seed = first_seed,
                        .first = t,
                        .step = WORKERS,
                        .scenes = scenes};
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
    cnn_free(random_net);
    if (failed) return 1;

    FILE *csv = argc > 1 ? fopen(argv[1], "w") : NULL;
    if (csv)
        fprintf(csv, "method,setting,queries,deletion,insertion,pointing,energy,seconds,"
                     "stability,randomisation\n");
    printf("| method | setting | queries per image | deletion AUC (lower is better) | "
           "insertion AUC | insertion - deletion | pointing game | energy pointing game | "
           "seconds per image | stability (rho, two seeds) | randomisation (rho, trained vs "
           "random) |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < N_SETTINGS; k++) {
        if (!selected[k]) continue;
        sums s = {0};
        for (int t = 0; t < WORKERS; t++) {
            s.deletion += w[t].total[k].deletion;
            s.insertion += w[t].total[k].insertion;
            s.pointing += w[t].total[k].pointing;
            s.energy += w[t].total[k].energy;
            s.queries += w[t].total[k].queries;
            s.seconds += w[t].total[k].seconds;
            s.stability += w[t].total[k].stability;
            s.randomisation += w[t].total[k].randomisation;
            s.n += w[t].total[k].n;
            s.n_stability += w[t].total[k].n_stability;
            s.n_randomisation += w[t].total[k].n_randomisation;
        }
        char label[48], stability[2][32], randomisation[2][32]; /* table, CSV */
        if (SETTINGS[k].method == DECAM_METHOD_OCCLUSION)
            snprintf(label, sizeof label, "window %d, stride %d", SETTINGS[k].window,
                     SETTINGS[k].stride);
        else
            snprintf(label, sizeof label, "budget %d", SETTINGS[k].budget);
        const int ns = s.n_stability, nr = s.n_randomisation;
        double n = s.n;
        printf("| %s | %s | %.0f | %.4f | %.4f | %.4f | %.3f | %.3f | %.3f | %s | %s |\n",
               SETTINGS[k].label, label, s.queries / n, s.deletion / n, s.insertion / n,
               (s.insertion - s.deletion) / n, s.pointing / n, s.energy / n, s.seconds / n,
               mean_or(s.stability, ns, 3, "-", stability[0], sizeof stability[0]),
               mean_or(s.randomisation, nr, 3, "-", randomisation[0], sizeof randomisation[0]));
        for (char *c = label; csv && *c; c++)
            if (*c == ',') *c = ';'; /* the CSV's separator */
        if (csv)
            fprintf(csv, "%s,%s,%.0f,%.6f,%.6f,%.6f,%.6f,%.6f,%s,%s\n", SETTINGS[k].label, label,
                    s.queries / n, s.deletion / n, s.insertion / n, s.pointing / n, s.energy / n,
                    s.seconds / n,
                    mean_or(s.stability, ns, 6, "", stability[1], sizeof stability[1]),
                    mean_or(s.randomisation, nr, 6, "", randomisation[1], sizeof randomisation[1]));
    }
    if (csv) fclose(csv);
    printf("\n%d scenes (seeds %llu..%llu), 64 x 64, the true class's probability explained.\n",
           scenes, (unsigned long long)first_seed,
           (unsigned long long)(first_seed + (uint64_t)scenes - 1));
    return 0;
}
