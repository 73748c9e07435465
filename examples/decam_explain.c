/*
 * decam-explain - explains the shapes classifier's decision on an image
 * file or a generated scene, and writes an image | map | overlay panel.
 *
 * An example of a host application: the model (examples/shapes/cnn.c) is
 * the program's own, libdecam only ever calls it through decam_model_fn.
 * Run `decam-explain --help` for the options. Exit status: 0 on success,
 * 1 when something fails (the library's message is printed), 2 for wrong
 * usage.
 */
#define _POSIX_C_SOURCE 200809L /* fileno, isatty */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decam.h"
#include "decam_io.h"
#include "shapes/cnn.h"
#include "shapes/scene.h"

#ifndef SHAPES_WEIGHTS
#define SHAPES_WEIGHTS "shapes.weights"
#endif

static const char USAGE[] =
    "usage: decam-explain [options] IMAGE        explain a PNG or JPEG file\n"
    "       decam-explain [options] --scene SEED explain a generated scene\n"
    "\n"
    "Explains the shapes classifier's score for one class with libdecam and\n"
    "writes a panel: image | saliency map | overlay (with the top 15% outlined).\n"
    "\n"
    "options:\n"
    "  -m, --method NAME     decam (default), rise or occlusion\n"
    "  -b, --budget N        model queries to spend (default 1000)\n"
    "  -g, --grid N          DE-CAM grid, N x N cells (default 7)\n"
    "  -s, --seed N          random seed (default 0); same seed, same map\n"
    "  -t, --target CLASS    class to explain, by name or number (default: the\n"
    "                        predicted class)\n"
    "  -O, --objective NAME  preserve (default), delete or both\n"
    "  -j, --threads N       threads building perturbed images (default 1)\n"
    "  -o, --output PATH     the panel, PNG (default decam-explain.png)\n"
    "      --json PATH       also write a JSON report (- for standard output)\n"
    "      --metrics         also measure deletion and insertion AUC\n"
    "                        (2 x side + 2 more queries)\n"
    "      --scene SEED      explain generated scene SEED instead of a file;\n"
    "                        its object mask gives the pointing game\n"
    "  -w, --weights PATH    classifier weights (default: $DECAM_SHAPES_WEIGHTS,\n"
    "                        else " SHAPES_WEIGHTS ")\n"
    "  -q, --quiet           no progress bar (there is none unless stderr is a\n"
    "                        terminal)\n"
    "  -h, --help            this text\n";

typedef struct options {
    const char *image_path, *output, *json, *weights, *target_name;
    decam_method method;
    decam_objective objective;
    long budget, grid, seed, threads, scene;
    int has_scene, metrics, quiet;
} options;

/* Wrong usage: one line, exit status 2. */
static int usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "decam-explain: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see decam-explain --help)\n");
    va_end(ap);
    return 2;
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int pick(const char *s, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

/* The value of enum parameter `param` named s, or -1; the names are the
 * library's (decam_value_name). */
static int pick_value(const char *s, decam_param param) {
    int v;
    return decam_value_from_name(param, s, &v) == DECAM_OK ? v : -1;
}

/* Parses argv; returns 0, or the exit status to leave with (-1: --help). */
static int parse(int argc, char **argv, options *o) {
    *o = (options){.output = "decam-explain.png", .budget = 1000, .grid = 7, .threads = 1};
    o->weights = getenv("DECAM_SHAPES_WEIGHTS") ? getenv("DECAM_SHAPES_WEIGHTS") : SHAPES_WEIGHTS;
    static const char *const valued[] = {
        "-m",       "--method", "-O",       "--objective", "-b",        "--budget", "-g",
        "--grid",   "-s",       "--seed",   "-j",          "--threads", "--scene",  "-t",
        "--target", "-o",       "--output", "--json",      "-w",        "--weights"};
    static const char *const flags[] = {"-h", "--help", "--metrics", "-q", "--quiet"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        if (a[0] == '-' && a[1] != '\0') {
            int takes = pick(a, valued, 20) >= 0;
            if (!takes && pick(a, flags, 5) < 0) return usage_error("unknown option '%s'", a);
            if (takes) {
                if (i + 1 >= argc) return usage_error("option %s needs a value", a);
                v = argv[++i];
            }
        }
        int k;
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return -1;
        else if (!strcmp(a, "--metrics"))
            o->metrics = 1;
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
            o->quiet = 1;
        else if (!strcmp(a, "-m") || !strcmp(a, "--method")) {
            if ((k = pick_value(v, DECAM_PARAM_METHOD)) < 0)
                return usage_error("unknown method '%s'", v);
            o->method = (decam_method)k;
        } else if (!strcmp(a, "-O") || !strcmp(a, "--objective")) {
            if ((k = pick_value(v, DECAM_PARAM_OBJECTIVE)) < 0)
                return usage_error("unknown objective '%s'", v);
            o->objective = (decam_objective)k;
        } else if (!strcmp(a, "-b") || !strcmp(a, "--budget")) {
            if (parse_long(v, 1, 1000000000L, &o->budget))
                return usage_error("budget '%s' is not a whole number in 1..1e9", v);
        } else if (!strcmp(a, "-g") || !strcmp(a, "--grid")) {
            if (parse_long(v, 1, 64, &o->grid))
                return usage_error("grid '%s' is not a whole number in 1..64", v);
        } else if (!strcmp(a, "-s") || !strcmp(a, "--seed")) {
            if (parse_long(v, 0, LONG_MAX, &o->seed))
                return usage_error("seed '%s' is not a whole number >= 0", v);
        } else if (!strcmp(a, "-j") || !strcmp(a, "--threads")) {
            if (parse_long(v, 1, 64, &o->threads))
                return usage_error("threads '%s' is not a whole number in 1..64", v);
        } else if (!strcmp(a, "--scene")) {
            if (parse_long(v, 0, LONG_MAX, &o->scene))
                return usage_error("scene '%s' is not a whole number >= 0", v);
            o->has_scene = 1;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--target"))
            o->target_name = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            o->output = v;
        else if (!strcmp(a, "--json"))
            o->json = v;
        else if (!strcmp(a, "-w") || !strcmp(a, "--weights"))
            o->weights = v;
        else if (o->image_path)
            return usage_error("more than one image given ('%s')", a);
        else
            o->image_path = a;
    }
    if (!o->image_path && !o->has_scene) return usage_error("no image given");
    if (o->image_path && o->has_scene) return usage_error("give an image or --scene, not both");
    return 0;
}

/* ---- the model: the shapes CNN, scoring class probabilities ------------- */

static int cnn_model(void *user, const float *images, size_t n, float *scores) {
    cnn_predict_proba(user, images, n, scores);
    return 0;
}

/* ---- progress bar ---------------------------------------------------------- */

static int progress_bar(void *user, const decam_progress *p) {
    (void)user;
    int width = 40, filled = p->budget ? (int)(width * p->queries / p->budget) : 0;
    fprintf(stderr, "\r[%-*.*s] %llu/%llu queries", width, filled,
            "########################################", (unsigned long long)p->queries,
            (unsigned long long)p->budget);
    return 0;
}

/* ---- the image --------------------------------------------------------------- */

/* The model's input: a generated scene, or the file centre-cropped to a
 * square and resized (area averaging when shrinking) to side x side. */
static decam_status load_input(decam_ctx *ctx, const options *o, int side, float *input,
                               uint8_t *truth, int *label) {
    if (o->has_scene) {
        scene_generate((uint64_t)o->scene, side, input, truth, label);
        return DECAM_OK;
    }
    float *pixels = NULL, *square = NULL;
    int w, h;
    decam_status st = decam_image_load(ctx, o->image_path, 3, &pixels, &w, &h);
    if (st != DECAM_OK) return st;
    int crop = w < h ? w : h;
    square = malloc((size_t)crop * crop * 3 * sizeof *square);
    if (!square) st = DECAM_ERR_OUT_OF_MEMORY;
    if (st == DECAM_OK) st = decam_image_center_crop(ctx, pixels, w, h, 3, square, crop, crop);
    if (st == DECAM_OK)
        st = decam_image_resize(ctx, square, crop, crop, 3, input, side, side, DECAM_RESIZE_AREA);
    decam_image_free(ctx, pixels);
    free(square);
    *label = -1;
    return st;
}

/* The panel at 4x the model's side, so that a person can see it. */
static decam_status write_panel(decam_ctx *ctx, const char *path, const float *input,
                                const float *map, int side) {
    const int big = 4 * side;
    float *image = malloc((size_t)big * big * 3 * sizeof *image);
    float *bigmap = malloc((size_t)big * big * sizeof *bigmap);
    uint8_t *panel = malloc((size_t)3 * big * big * 3);
    decam_status st = image && bigmap && panel ? DECAM_OK : DECAM_ERR_OUT_OF_MEMORY;
    if (st == DECAM_OK)
        st = decam_image_resize(ctx, input, side, side, 3, image, big, big, DECAM_RESIZE_BILINEAR);
    if (st == DECAM_OK)
        st = decam_image_resize(ctx, map, side, side, 1, bigmap, big, big, DECAM_RESIZE_BILINEAR);
    if (st == DECAM_OK)
        st = decam_render_panel(ctx, image, big, big, 3, bigmap, DECAM_COLORMAP_JET, 0.5f, 0.15f,
                                panel);
    if (st == DECAM_OK) st = decam_image_save(ctx, path, DECAM_IMAGE_PNG, panel, 3 * big, big, 3);
    free(image);
    free(bigmap);
    free(panel);
    return st;
}

static int argmax(const float *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

/* FNV-1a of the map's bytes: a fingerprint for comparing runs. */
static unsigned long long map_checksum(const float *map, size_t n) {
    const unsigned char *b = (const unsigned char *)map;
    unsigned long long h = 1469598103934665603ULL;
    for (size_t i = 0; i < n * sizeof *map; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static int resolve_target(const options *o, int predicted, int classes, int *target) {
    if (!o->target_name) {
        *target = predicted;
        return 0;
    }
    for (int c = 0; c < classes; c++)
        if (strcmp(o->target_name, scene_class_name(c)) == 0) {
            *target = c;
            return 0;
        }
    long k;
    if (parse_long(o->target_name, 0, classes - 1, &k) == 0) {
        *target = (int)k;
        return 0;
    }
    return usage_error("unknown target class '%s'", o->target_name);
}

typedef struct report {
    int label, predicted, target;
    float probs[SCENE_NUM_CLASSES];
    decam_stats stats;
    decam_metrics metrics;
    double pointing, energy;
    unsigned long long checksum;
} report;

static void print_report(FILE *f, const options *o, const report *r, int json) {
    const decam_stats *s = &r->stats;
    const char *truth = r->label >= 0 ? scene_class_name(r->label) : NULL;
    if (!json) {
        if (truth) fprintf(f, "true class:  %s\n", truth);
        fprintf(f, "prediction:  %s (p = %.4f)\n", scene_class_name(r->predicted),
                r->probs[r->predicted]);
        fprintf(f, "explained:   %s, score %.4f, %s\n", scene_class_name(r->target), s->score_full,
                decam_value_name(DECAM_PARAM_METHOD, o->method));
        fprintf(f, "queries:     %llu in %.3f s (%.3f s in the model)\n",
                (unsigned long long)s->queries, s->model_seconds + s->library_seconds,
                s->model_seconds);
        fprintf(f, "map region:  kept %.4f, removed %.4f\n", s->score_keep, s->score_drop);
        if (truth)
            fprintf(f, "on object:   pointing game %s, energy %.3f\n",
                    r->pointing > 0.5 ? "hit" : "miss", r->energy);
        if (o->metrics)
            fprintf(f, "metrics:     deletion AUC %.4f, insertion AUC %.4f (%llu queries)\n",
                    r->metrics.deletion_auc, r->metrics.insertion_auc,
                    (unsigned long long)r->metrics.queries);
        fprintf(f, "map:         %s (checksum %016llx)\n", o->output, r->checksum);
        return;
    }
    fprintf(f, "{\n  \"source\": ");
    if (o->has_scene)
        fprintf(f, "{\"scene\": %ld, \"class\": \"%s\"},\n", o->scene, truth);
    else {
        fprintf(f, "{\"file\": ");
        json_string(f, o->image_path);
        fprintf(f, "},\n");
    }
    fprintf(f, "  \"prediction\": \"%s\",\n  \"probabilities\": [", scene_class_name(r->predicted));
    for (int c = 0; c < SCENE_NUM_CLASSES; c++)
        fprintf(f, "%s%.6f", c ? ", " : "", r->probs[c]);
    fprintf(f, "],\n  \"target\": \"%s\",\n  \"method\": \"%s\",\n", scene_class_name(r->target),
            decam_value_name(DECAM_PARAM_METHOD, o->method));
    fprintf(f, "  \"budget\": %ld,\n  \"seed\": %ld,\n  \"queries\": %llu,\n", o->budget, o->seed,
            (unsigned long long)s->queries);
    fprintf(f, "  \"seconds\": %.6f,\n  \"model_seconds\": %.6f,\n",
            s->model_seconds + s->library_seconds, s->model_seconds);
    fprintf(f, "  \"score_full\": %.6f,\n  \"score_keep\": %.6f,\n  \"score_drop\": %.6f,\n",
            s->score_full, s->score_keep, s->score_drop);
    if (truth)
        fprintf(f, "  \"pointing_game\": %s,\n  \"energy_pointing_game\": %.6f,\n",
                r->pointing > 0.5 ? "true" : "false", r->energy);
    if (o->metrics)
        fprintf(f, "  \"deletion_auc\": %.6f,\n  \"insertion_auc\": %.6f,\n",
                r->metrics.deletion_auc, r->metrics.insertion_auc);
    fprintf(f, "  \"map_checksum\": \"%016llx\",\n  \"output\": ", r->checksum);
    json_string(f, o->output);
    fprintf(f, "\n}\n");
}

/* Everything after the options: returns the exit status. */
static int explain(const options *o, cnn *net, decam_ctx *ctx) {
    const int side = cnn_input_size(net), classes = cnn_num_classes(net);
    float *input = malloc((size_t)side * side * 3 * sizeof *input);
    float *map = malloc((size_t)side * side * sizeof *map);
    uint8_t *truth = malloc((size_t)side * side);
    report r = {.stats = {.size = sizeof r.stats}, .metrics = {.size = sizeof r.metrics}};
    int status = 1;
    decam_status st = input && map && truth ? DECAM_OK : DECAM_ERR_OUT_OF_MEMORY;
    if (st == DECAM_OK) st = load_input(ctx, o, side, input, truth, &r.label);
    if (st == DECAM_OK) {
        cnn_predict_proba(net, input, 1, r.probs);
        r.predicted = argmax(r.probs, classes);
        if (resolve_target(o, r.predicted, classes, &r.target) != 0) {
            status = 2;
            goto done;
        }
        decam_set_model(ctx, cnn_model, net);
        decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, classes);
        decam_set_param(ctx, DECAM_PARAM_TARGET, r.target);
        decam_set_param(ctx, DECAM_PARAM_METHOD, o->method);
        decam_set_param(ctx, DECAM_PARAM_OBJECTIVE, o->objective);
        decam_set_param(ctx, DECAM_PARAM_BUDGET, (double)o->budget);
        decam_set_param(ctx, DECAM_PARAM_GRID_WIDTH, (double)o->grid);
        decam_set_param(ctx, DECAM_PARAM_GRID_HEIGHT, (double)o->grid);
        decam_set_param(ctx, DECAM_PARAM_SEED, (double)o->seed);
        decam_set_param(ctx, DECAM_PARAM_THREADS, (double)o->threads);
        if (!o->quiet && isatty(fileno(stderr))) decam_set_progress(ctx, progress_bar, NULL);
        st = decam_explain(ctx, input, side, side, 3, map);
        if (ctx && !o->quiet && isatty(fileno(stderr))) fprintf(stderr, "\n");
        decam_get_stats(ctx, &r.stats);
    }
    if (st == DECAM_OK && o->has_scene)
        st = decam_pointing(map, truth, side, side, &r.pointing, &r.energy);
    if (st == DECAM_OK && o->metrics) {
        decam_set_progress(ctx, NULL, NULL);
        st = decam_evaluate(ctx, input, side, side, 3, map, NULL, &r.metrics);
    }
    if (st == DECAM_OK) st = write_panel(ctx, o->output, input, map, side);
    if (st != DECAM_OK) {
        fprintf(stderr, "decam-explain: %s: %s\n", decam_status_string(st),
                decam_errmsg(ctx)[0] ? decam_errmsg(ctx) : "(no detail)");
        goto done;
    }
    r.checksum = map_checksum(map, (size_t)side * side);
    print_report(stdout, o, &r, 0);
    status = 0;
    if (o->json) {
        FILE *f = strcmp(o->json, "-") ? fopen(o->json, "w") : stdout;
        if (!f) {
            fprintf(stderr, "decam-explain: cannot write %s: %s\n", o->json, strerror(errno));
            status = 1;
        } else {
            print_report(f, o, &r, 1);
            if (f != stdout && fclose(f) != 0) status = 1;
        }
    }
done:
    free(input);
    free(map);
    free(truth);
    return status;
}

int main(int argc, char **argv) {
    options o;
    int rc = parse(argc, argv, &o);
    if (rc == -1) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (rc != 0) return rc;
    char err[256];
    cnn *net = cnn_load(o.weights, err, sizeof err);
    if (!net) {
        fprintf(stderr, "decam-explain: cannot load the classifier: %s\n", err);
        return 1;
    }
    decam_ctx *ctx = decam_create();
    if (!ctx) {
        fprintf(stderr, "decam-explain: out of memory\n");
        cnn_free(net);
        return 1;
    }
    rc = explain(&o, net, ctx);
    decam_free(ctx);
    cnn_free(net);
    return rc;
}
