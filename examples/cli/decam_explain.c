/*
 * decam-explain - explains an image classifier's decisions with libdecam:
 * the project's shapes classifier (the demo), or, when built with OpenCV,
 * any ONNX or Caffe classifier that OpenCV's DNN module runs.
 *
 * One image gives a panel (image | map | overlay) and a report; a folder,
 * several files or a list give an output folder with, per image, the
 * panel, the map as a NumPy .npy file and a JSON record, plus a summary.
 * The model is the program's own: libdecam only ever calls it through
 * decam_model_fn. docs/cli.md is the manual. Exit status: 0 on success,
 * 1 when something fails (always with a message), 2 for wrong usage.
 */
#define _XOPEN_SOURCE 700 /* fileno, isatty, clock_gettime; realpath */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "decam.h"
#include "decam_io.h"
#include "detect.h"
#include "inputs.h"
#include "json.h"
#include "out.h"
#include "shapes/cnn.h"
#include "shapes/scene.h"
#ifdef DECAM_EXPLAIN_DNN
#include "dnn_model.h"
#endif

#ifndef SHAPES_WEIGHTS
#define SHAPES_WEIGHTS "shapes.weights"
#endif
#ifndef SHAPES_WEIGHTS_INSTALLED
#define SHAPES_WEIGHTS_INSTALLED SHAPES_WEIGHTS
#endif

#define MAX_SEED     9007199254740991ULL /* 2^53 - 1, DECAM_PARAM_SEED's upper bound */
#define MAX_SETS     32
#define MAX_WARNINGS 8 /* warnings kept per explanation for its record */

static const char USAGE[] =
    "usage: decam-explain [options] IMAGE            explain one image\n"
    "       decam-explain [options] --scene SEED     explain a generated shapes scene\n"
    "       decam-explain [options] INPUT... -o DIR  explain many: files, folders\n"
    "                                                (searched recursively), --list\n"
    "\n"
    "Explains a classifier's score for a class with libdecam. One image gives a\n"
    "panel (image | saliency map | overlay, the top 15% outlined) and a report;\n"
    "many give DIR/NAME.png, DIR/NAME.npy (the map, float32 H x W), DIR/NAME.json\n"
    "per image and DIR/summary.jsonl. Without --model the classifier is the\n"
    "project's 64 x 64 shapes classifier (the demo). docs/cli.md is the manual.\n"
    "\n"
    "model (OpenCV DNN; see --version for whether this build has it):\n"
    "      --model PATH      an ONNX file, or anything cv::dnn::readNet() reads\n"
    "      --config PATH     the network's description (Caffe .prototxt, ...)\n"
    "      --labels PATH     class names, one a line (\"wnid name\" lines too)\n"
    "      --size WxH        the network's input size, or N for N x N (default 224)\n"
    "      --resize MODE     crop (default): shorter side to --shorter, then the\n"
    "                        centre; stretch: the whole image to the input size\n"
    "      --shorter N       shorter side before the crop (default 8/7 of the\n"
    "                        input's shorter side: 256 for 224)\n"
    "      --interp NAME     area (default) or bilinear, for the resize\n"
    "      --scale X         input values v in [0,1] become (v * X - mean) / std\n"
    "      --mean A[,B,C]    per channel, in the network's channel order (default 0)\n"
    "      --std A[,B,C]     per channel (default 1)\n"
    "      --bgr             feed channels as BGR (Caffe); default RGB\n"
    "      --nhwc            the network takes N x H x W x 3; default N x 3 x H x W\n"
    "      --softmax         explain softmax probabilities (for models giving logits)\n"
    "      --batch N         most images per forward pass; 0 = a generation (default)\n"
    "      --scores          print the outputs for the image and exit\n"
    "      --embedder PATH   an embedding model (ONNX, ...): explains the similarity\n"
    "                        of each image's embedding to --reference's, or to its own\n"
    "      --reference IMAGE the image whose embedding is matched (prepared alike)\n"
    "      --similarity KIND cosine (default) or distance (its negative)\n"
    "      --segmenter PATH  a segmenter (output N x C x H x W): explains the mean of\n"
    "                        class --target over --region\n"
    "      --region R        X0,Y0,X1,Y1 in pixels of the input, or all (default)\n"
    "  -w, --weights PATH    shapes classifier weights (default: $DECAM_SHAPES_WEIGHTS,\n"
    "                        else the built-in path)\n";

/* Past the 4095 characters a C99 string literal may hold: a second part. */
static const char USAGE_MORE[] =
    "\n"
    "detector (OpenCV DNN): explains every detection of an image in one run\n"
    "      --detector CFG,WEIGHTS  a darknet detector (size from the cfg), or\n"
    "      --detector MODEL.onnx   an ONNX detector with YOLO-style rows (needs --size)\n"
    "      --detector-layout SPEC  the rows: cxcywh|xyxy|xywh, normalised|pixels,\n"
    "                        box=N, obj=N|none, cls=N, stride=N (default\n"
    "                        cxcywh,normalised,box=0,obj=4,cls=5: darknet, YOLOv5)\n"
    "      --threshold X     a detection's best class score (default 0.5)\n"
    "      --nms X           IoU of non-maximum suppression (default 0.45)\n"
    "      --box X0,Y0,X1,Y1 explain this box (pixels of the input) instead\n"
    "                        (--target: its class; else the best overlapping row's)\n"
    "\n"
    "what to explain:\n"
    "  -t, --target CLASS    a class by number or name, or top (default: the\n"
    "                        predicted class); with --detector, only its detections\n"
    "  -k, --top-k K         explain each of the K best classes, from one run of\n"
    "                        the budget (needs -o DIR when K > 1)\n"
    "  -m, --method NAME     decam (default), rise or occlusion\n"
    "  -O, --objective NAME  preserve (default), delete or both\n"
    "  -b, --budget N        model queries per explanation (default 1000)\n"
    "  -g, --grid N          DE-CAM grid, N x N cells (default 0: from the image's\n"
    "                        size, 12 x 12 at 224 pixels, 7 x 7 at 64)\n"
    "  -s, --seed N          random seed, 0..2^53-1 (default 0); with -o DIR each\n"
    "                        image's seed is drawn from this and its name\n"
    "      --set NAME=VALUE  any library parameter by its name (docs/api.md)\n"
    "      --threads N       library threads building perturbed images (default 1)\n"
    "      --metrics         also measure deletion and insertion AUC (2 x side + 2\n"
    "                        more queries)\n"
    "      --scene SEED      explain generated scene SEED (shapes classifier only);\n"
    "                        its object mask gives the pointing game\n"
    "\n"
    "output:\n"
    "  -o, --output PATH     one image: the panel, .png or .jpg (default\n"
    "                        decam-explain.png); many: the output folder\n"
    "      --json PATH       one image: a JSON report (- for standard output alone)\n"
    "      --map PATH        one image: the map as a .npy file\n"
    "      --list PATH       images listed in PATH, one a line (relative to it)\n"
    "      --ext LIST        extensions searched in folders (default png,jpg,jpeg)\n"
    "      --resume          skip images whose records are whole and made with\n"
    "                        these settings; explain the others again\n"
    "  -j, --jobs N          explain N images at once, one model each (default 1);\n"
    "                        results are identical for any N\n"
    "  -q, --quiet           no progress: a bar on a terminal, else a line per\n"
    "                        image (and every 10 s of a long one)\n"
    "  -h, --help            this text\n"
    "      --version         versions, and whether OpenCV DNN is built in\n";

typedef struct setting {
    decam_param key;
    double value;
} setting;

/* The kind of model explained: what a target is. */
enum { KIND_CLASSIFIER, KIND_DETECTOR, KIND_EMBEDDER, KIND_SEGMENTER };
static const char *const KINDS[] = {"classifier", "detector", "embedder", "segmenter"};
static const char *const SIMILARITIES[] = {"cosine", "distance"};

typedef struct options {
    const char **inputs, **lists;
    int n_inputs, n_lists;
    const char *output, *json, *map, *weights, *target_name, *labels, *ext;
    const char *model, *config;
    const char *detector, *det_layout; /* --detector and --detector-layout as given */
    char *det_files;                   /* --detector CFG,WEIGHTS split: "CFG\0WEIGHTS" */
    const char *det_cfg, *det_weights; /* darknet; else det_weights is the ONNX file */
    float threshold, nms, box[4];
    const char *embedder, *segmenter, *reference; /* --embedder, --segmenter, --reference */
    int kind;                                     /* KIND_* */
    int similarity, similarity_given;             /* a decam_similarity */
    float region[4];                              /* --region, pixels of the input */
    const char *region_text;                      /* as given; NULL: all */
    int region_given;
    int has_box, size_given, interp_given;
    int width, height, shorter, stretch, area, bgr, nhwc, softmax, batch;
    float scale, mean[3], std[3];
    decam_method method;
    decam_objective objective;
    long budget, grid, threads, scene, jobs, top_k;
    unsigned long long seed;
    int has_scene, metrics, quiet, resume, scores, output_given;
    int many; /* an output folder (several images) rather than one panel */
    setting sets[MAX_SETS];
    int n_sets;
} options;

/* Standard output was closed when the program started (fd 1 then holds
 * /dev/null, so that no file we open lands there). */
static int stdout_closed;

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

/* A failure: one line, the caller exits with status 1. */
static int failure(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "decam-explain: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 1;
}

/* ---- option parsing -------------------------------------------------------- */

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_seed(const char *s, unsigned long long *out) {
    char *end;
    if (*s < '0' || *s > '9') return -1; /* strtoull would take "-1" */
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > MAX_SEED) return -1;
    *out = v;
    return 0;
}

static int parse_float(const char *s, float *out) {
    char *end;
    errno = 0;
    *out = strtof(s, &end);
    return end != s && *end == '\0' && !errno && isfinite(*out) ? 0 : -1;
}

/* "a,b,c" or "a" (copied to all three). */
static int parse_triple(const char *s, float v[3]) {
    int n = 0;
    for (const char *p = s; n < 3; n++) {
        char *end;
        v[n] = strtof(p, &end);
        if (end == p || !isfinite(v[n])) return -1;
        if (*end == '\0') break;
        if (*end != ',') return -1;
        p = end + 1;
    }
    if (n == 0) v[1] = v[2] = v[0];
    return n == 0 || n == 2 ? 0 : -1;
}

/* "a,b,c,d": four finite numbers. */
static int parse_quad(const char *s, float v[4]) {
    const char *p = s;
    for (int n = 0; n < 4; n++) {
        char *end;
        v[n] = strtof(p, &end);
        if (end == p || !isfinite(v[n]) || *end != (n < 3 ? ',' : '\0')) return -1;
        p = end + 1;
    }
    return 0;
}

static int parse_size(const char *s, int *w, int *h) {
    long a, b;
    const char *x = strchr(s, 'x');
    if (!x) {
        if (parse_long(s, 1, 16384, &a)) return -1;
        *w = *h = (int)a;
        return 0;
    }
    char first[32];
    if ((size_t)(x - s) >= sizeof first) return -1;
    memcpy(first, s, (size_t)(x - s));
    first[x - s] = '\0';
    if (parse_long(first, 1, 16384, &a) || parse_long(x + 1, 1, 16384, &b)) return -1;
    *w = (int)a;
    *h = (int)b;
    return 0;
}

static int pick(const char *s, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

static const char *const METHODS[] = {"decam", "rise", "occlusion"};
static const char *const OBJECTIVES[] = {"preserve", "delete", "both"};

/* Levenshtein distance between a[0..na) and b, for "did you mean"; large
 * for names too long to be a parameter's. */
static int edit_distance(const char *a, size_t na, const char *b) {
    const size_t nb = strlen(b);
    int row[64];
    if (na >= 64 || nb >= 64) return 64;
    for (size_t j = 0; j <= nb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            const int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

/* --set with a key no parameter has: the nearest name, when one is near. */
static int unknown_param(const char *key, size_t n) {
    const char *near = NULL;
    int best = (n >= 6 ? (int)n / 3 : 1) + 1; /* a slip, or one in three letters */
    for (int i = 0; i < decam_param_count(); i++) {
        const char *name = decam_param_name(decam_param_key(i));
        int d = name ? edit_distance(key, n, name) : 64;
        if (d < best) best = d, near = name;
    }
    if (near)
        return usage_error("--set: unknown parameter '%.*s' (did you mean '%s'?)", (int)n, key,
                           near);
    return usage_error("--set: unknown parameter '%.*s' (docs/api.md lists them)", (int)n, key);
}

/* --set NAME=VALUE: the key by the library's own names; the value a
 * number or, for an enum parameter, one of its values' names
 * (baseline=constant). */
static int parse_set(const char *s, options *o) {
    const char *eq = strchr(s, '=');
    if (!eq) return usage_error("--set '%s' is not NAME=VALUE", s);
    if (o->n_sets == MAX_SETS) return usage_error("more than %d --set options", MAX_SETS);
    char key[64];
    decam_param k;
    const size_t n = (size_t)(eq - s);
    if (n >= sizeof key) return unknown_param(s, n);
    memcpy(key, s, n);
    key[n] = '\0';
    if (decam_param_from_name(key, &k) != DECAM_OK) return unknown_param(s, n);
    char *end;
    errno = 0;
    double v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end || errno) {
        int named;
        decam_status st = decam_value_from_name(k, eq + 1, &named);
        if (st == DECAM_ERR_INVALID_ARGUMENT)
            return usage_error("--set %s: '%s' is not a number", key, eq + 1);
        if (st != DECAM_OK) {
            text names = {0};
            for (int i = 0; decam_value_name(k, i); i++)
                text_printf(&names, "%s%s", i ? ", " : "", decam_value_name(k, i));
            int rc = usage_error("--set %s: '%s' is neither a number nor one of: %s", key, eq + 1,
                                 names.failed || !names.s ? "..." : names.s);
            text_free(&names);
            return rc;
        }
        v = named;
    }
    o->sets[o->n_sets++] = (setting){k, v};
    return 0;
}

static const char *const VALUED[] = {
    "-m",          "--method",     "-O",       "--objective", "-b",
    "--budget",    "-g",           "--grid",   "-s",          "--seed",
    "-j",          "--threads",    "--scene",  "-t",          "--target",
    "-o",          "--output",     "--json",   "-w",          "--weights",
    "--model",     "--config",     "--labels", "--size",      "--resize",
    "--shorter",   "--interp",     "--scale",  "--mean",      "--std",
    "--batch",     "-k",           "--top-k",  "--map",       "--list",
    "--ext",       "--jobs",       "--set",    "--detector",  "--detector-layout",
    "--threshold", "--nms",        "--box",    "--embedder",  "--segmenter",
    "--reference", "--similarity", "--region"};
static const char *const FLAGS[] = {"-h",       "--help",   "--metrics", "-q",
                                    "--quiet",  "--bgr",    "--nhwc",    "--softmax",
                                    "--scores", "--resume", "--version"};
#define COUNT(a) ((int)(sizeof(a) / sizeof *(a)))

/* One option with its value; returns 0 or the exit status. */
static int parse_option(const char *a, const char *v, options *o) {
    long n;
    int k;
    if (!strcmp(a, "-m") || !strcmp(a, "--method")) {
        if ((k = pick(v, METHODS, 3)) < 0) return usage_error("unknown method '%s'", v);
        o->method = (decam_method)k;
    } else if (!strcmp(a, "-O") || !strcmp(a, "--objective")) {
        if ((k = pick(v, OBJECTIVES, 3)) < 0) return usage_error("unknown objective '%s'", v);
        o->objective = (decam_objective)k;
    } else if (!strcmp(a, "-b") || !strcmp(a, "--budget")) {
        if (parse_long(v, 1, 1000000000L, &o->budget))
            return usage_error("budget '%s' is not a whole number in 1..1e9", v);
    } else if (!strcmp(a, "-g") || !strcmp(a, "--grid")) {
        if (parse_long(v, 0, 64, &o->grid))
            return usage_error("grid '%s' is not a whole number in 0..64", v);
    } else if (!strcmp(a, "-s") || !strcmp(a, "--seed")) {
        if (parse_seed(v, &o->seed))
            return usage_error("seed '%s' is not a whole number in 0..%llu", v, MAX_SEED);
    } else if (!strcmp(a, "--threads")) {
        if (parse_long(v, 1, 64, &o->threads))
            return usage_error("threads '%s' is not a whole number in 1..64", v);
    } else if (!strcmp(a, "-j") || !strcmp(a, "--jobs")) {
        if (parse_long(v, 1, 256, &o->jobs))
            return usage_error("jobs '%s' is not a whole number in 1..256", v);
    } else if (!strcmp(a, "-k") || !strcmp(a, "--top-k")) {
        if (parse_long(v, 1, 1000, &o->top_k))
            return usage_error("top-k '%s' is not a whole number in 1..1000", v);
    } else if (!strcmp(a, "--scene")) {
        if (parse_long(v, 0, LONG_MAX, &o->scene))
            return usage_error("scene '%s' is not a whole number >= 0", v);
        o->has_scene = 1;
    } else if (!strcmp(a, "--size")) {
        if (parse_size(v, &o->width, &o->height))
            return usage_error("size '%s' is not N or WxH in 1..16384", v);
        o->size_given = 1;
    } else if (!strcmp(a, "--threshold")) {
        if (parse_float(v, &o->threshold) || !(o->threshold > 0))
            return usage_error("threshold '%s' is not a number above 0", v);
    } else if (!strcmp(a, "--nms")) {
        if (parse_float(v, &o->nms) || o->nms < 0 || o->nms > 1)
            return usage_error("nms '%s' is not a number in 0..1", v);
    } else if (!strcmp(a, "--box")) {
        float b[4];
        if (parse_quad(v, b) || !(b[2] > b[0]) || !(b[3] > b[1]))
            return usage_error("box '%s' is not X0,Y0,X1,Y1 with X1 > X0 and Y1 > Y0", v);
        memcpy(o->box, b, sizeof b);
        o->has_box = 1;
    } else if (!strcmp(a, "--region")) {
        float b[4];
        if (strcmp(v, "all") &&
            (parse_quad(v, b) || !(b[2] > b[0]) || !(b[3] > b[1]) || b[0] < 0 || b[1] < 0))
            return usage_error("region '%s' is not all or X0,Y0,X1,Y1 with 0 <= X0 < X1 and "
                               "0 <= Y0 < Y1",
                               v);
        if (strcmp(v, "all")) memcpy(o->region, b, sizeof b);
        o->region_text = strcmp(v, "all") ? v : NULL;
        o->region_given = 1;
    } else if (!strcmp(a, "--similarity")) {
        if ((k = pick(v, SIMILARITIES, 2)) < 0)
            return usage_error("unknown similarity '%s' (cosine or distance)", v);
        o->similarity = k, o->similarity_given = 1;
    } else if (!strcmp(a, "--embedder")) {
        o->embedder = v;
    } else if (!strcmp(a, "--segmenter")) {
        o->segmenter = v;
    } else if (!strcmp(a, "--reference")) {
        o->reference = v;
    } else if (!strcmp(a, "--detector")) {
        o->detector = v;
    } else if (!strcmp(a, "--detector-layout")) {
        o->det_layout = v;
    } else if (!strcmp(a, "--shorter")) {
        if (parse_long(v, 1, 65536, &n)) return usage_error("shorter '%s' is not 1..65536", v);
        o->shorter = (int)n;
    } else if (!strcmp(a, "--resize")) {
        if ((k = pick(v, (const char *const[]){"crop", "stretch"}, 2)) < 0)
            return usage_error("unknown resize mode '%s' (crop or stretch)", v);
        o->stretch = k;
    } else if (!strcmp(a, "--interp")) {
        if ((k = pick(v, (const char *const[]){"bilinear", "area"}, 2)) < 0)
            return usage_error("unknown interpolation '%s' (area or bilinear)", v);
        o->area = k;
        o->interp_given = 1;
    } else if (!strcmp(a, "--scale")) {
        if (parse_float(v, &o->scale)) return usage_error("scale '%s' is not a number", v);
    } else if (!strcmp(a, "--mean")) {
        if (parse_triple(v, o->mean)) return usage_error("mean '%s' is not A or A,B,C", v);
    } else if (!strcmp(a, "--std")) {
        if (parse_triple(v, o->std) || !o->std[0] || !o->std[1] || !o->std[2])
            return usage_error("std '%s' is not A or A,B,C, nonzero", v);
    } else if (!strcmp(a, "--batch")) {
        if (parse_long(v, 0, 65536, &n)) return usage_error("batch '%s' is not 0..65536", v);
        o->batch = (int)n;
    } else if (!strcmp(a, "-t") || !strcmp(a, "--target"))
        o->target_name = v;
    else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
        o->output = v, o->output_given = 1;
    else if (!strcmp(a, "--json"))
        o->json = v;
    else if (!strcmp(a, "--map"))
        o->map = v;
    else if (!strcmp(a, "-w") || !strcmp(a, "--weights"))
        o->weights = v;
    else if (!strcmp(a, "--model"))
        o->model = v;
    else if (!strcmp(a, "--config"))
        o->config = v;
    else if (!strcmp(a, "--labels"))
        o->labels = v;
    else if (!strcmp(a, "--ext"))
        o->ext = v;
    else if (!strcmp(a, "--list"))
        o->lists[o->n_lists++] = v;
    else if (!strcmp(a, "--set"))
        return parse_set(v, o);
    return 0;
}

static int parse_flag(const char *a, options *o) {
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) return -1;
    if (!strcmp(a, "--version")) return -2;
    if (!strcmp(a, "--metrics")) o->metrics = 1;
    if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) o->quiet = 1;
    if (!strcmp(a, "--bgr")) o->bgr = 1;
    if (!strcmp(a, "--nhwc")) o->nhwc = 1;
    if (!strcmp(a, "--softmax")) o->softmax = 1;
    if (!strcmp(a, "--scores")) o->scores = 1;
    if (!strcmp(a, "--resume")) o->resume = 1;
    return 0;
}

/* The format -o's extension names; UNKNOWN for any other. */
static decam_image_format format_of(const char *path) {
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) return DECAM_IMAGE_UNKNOWN;
    if (!strcasecmp(dot, ".png")) return DECAM_IMAGE_PNG;
    if (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg")) return DECAM_IMAGE_JPEG;
    return DECAM_IMAGE_UNKNOWN;
}

/* The input size a darknet cfg's [net] section gives, when it does. */
static void cfg_size(const char *cfg, int *width, int *height) {
    FILE *f = fopen(cfg, "r");
    char line[256];
    int net = 0, w = 0, h = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (line[0] == '[') {
            if (net) break;
            net = !strncmp(line, "[net]", 5) || !strncmp(line, "[network]", 9);
        } else if (net) {
            sscanf(line, " width = %d", &w);
            sscanf(line, " height = %d", &h);
        }
    }
    if (f) fclose(f);
    if (w > 0 && h > 0 && w <= 16384 && h <= 16384) *width = w, *height = h;
}

/* --detector and the options it takes or refuses; 0 or the exit status. */
static int check_detector(options *o) {
    if (!o->detector) {
        if (o->det_layout || o->has_box || o->threshold || o->nms >= 0)
            return usage_error("--detector-layout, --threshold, --nms and --box need --detector");
        return 0;
    }
    if (o->model) return usage_error("give --model (a classifier) or --detector, not both");
    o->kind = KIND_DETECTOR;
    if (o->has_scene) return usage_error("--scene is for the shapes classifier");
    if (o->top_k > 1 || o->scores || o->metrics)
        return usage_error("--top-k, --scores and --metrics are for classifiers: a detector's "
                           "detections are explained together");
    if (o->has_box && o->target_name && !strcmp(o->target_name, "top"))
        return usage_error("--box takes --target CLASS, not top");
    det_layout l;
    char err[256];
    if (det_layout_parse(o->det_layout, &l, err, sizeof err)) return usage_error("%s", err);
    const char *comma = strchr(o->detector, ',');
    if (comma) {
        o->det_files = strdup(o->detector);
        if (!o->det_files) return failure("out of memory");
        o->det_files[comma - o->detector] = '\0';
        o->det_cfg = o->det_files;
        o->det_weights = o->det_files + (comma - o->detector) + 1;
        if (!*o->det_cfg || !*o->det_weights || strchr(o->det_weights, ','))
            return usage_error("--detector '%s' is not CFG,WEIGHTS or MODEL", o->detector);
        if (!o->size_given) cfg_size(o->det_cfg, &o->width, &o->height);
    } else {
        o->det_weights = o->detector;
        if (!o->size_given)
            return usage_error("--detector %s: give the network's input size (--size WxH)",
                               o->detector);
    }
    if (!o->threshold) o->threshold = 0.5f;
    if (o->nms < 0) o->nms = 0.45f;
    o->stretch = 1; /* the whole image, as detectors are run: no crop, no letterbox */
    if (!o->interp_given) o->area = 0;
    return 0;
}

/* --embedder and --segmenter and the options they take or refuse; 0 or
 * the exit status. Either becomes the model (o->model), prepared as
 * --model's classifiers are. */
static int check_scorer(options *o) {
    if (!o->embedder && !o->segmenter) {
        if (o->reference || o->similarity_given)
            return usage_error("--reference and --similarity need --embedder");
        if (o->region_given) return usage_error("--region needs --segmenter");
        return 0;
    }
    const char *flag = o->embedder ? "--embedder" : "--segmenter";
    if (o->embedder && o->segmenter) return usage_error("give --embedder or --segmenter, not both");
    if (o->model || o->detector)
        return usage_error("give one model: --model, --detector, --embedder or --segmenter");
    if (o->has_scene) return usage_error("--scene is for the shapes classifier");
    if (o->top_k > 1 || o->scores)
        return usage_error("--top-k and --scores are for classifiers, not %s", flag);
    if (o->embedder) {
        if (o->region_given) return usage_error("--region is for --segmenter");
        if (o->target_name || o->labels)
            return usage_error("--embedder explains a similarity, not a class: --target and "
                               "--labels are for classifiers and segmenters");
        o->model = o->embedder, o->kind = KIND_EMBEDDER;
        return 0;
    }
    if (o->reference || o->similarity_given)
        return usage_error("--reference and --similarity are for --embedder");
    if (!o->target_name || !strcmp(o->target_name, "top"))
        return usage_error("--segmenter needs --target CLASS: the class whose output over "
                           "--region is explained");
    o->model = o->segmenter, o->kind = KIND_SEGMENTER;
    return 0;
}

/* What the options mean together; returns 0 or the exit status. */
static int check_options(options *o) {
    size_t olen = strlen(o->output);
    o->many = o->n_lists > 0 || o->n_inputs > 1 ||
              (o->output_given && (is_folder(o->output) || (olen && o->output[olen - 1] == '/')));
    for (int i = 0; i < o->n_inputs && !o->many; i++)
        o->many = is_folder(o->inputs[i]);
#ifndef DECAM_EXPLAIN_DNN
    if (o->model) return usage_error("--model: this decam-explain was built without OpenCV");
    if (o->detector) return usage_error("--detector: this decam-explain was built without OpenCV");
    if (o->embedder || o->segmenter)
        return usage_error("%s: this decam-explain was built without OpenCV",
                           o->embedder ? "--embedder" : "--segmenter");
#endif
    int rc = check_scorer(o);
    if (rc) return rc;
    rc = check_detector(o);
    if (rc) return rc;
    if (o->has_scene && o->model) return usage_error("--scene is for the shapes classifier");
    if (o->has_scene && (o->n_inputs || o->n_lists))
        return usage_error("give images or --scene, not both");
    if (!o->has_scene && !o->n_inputs && !o->n_lists) return usage_error("no image given");
    if (o->target_name && o->top_k > 1) return usage_error("give --target or --top-k, not both");
    if (o->many) {
        if (o->has_scene) return usage_error("--scene writes one panel: -o names a file");
        if (!o->output_given) return usage_error("several images need an output folder (-o DIR)");
        if (o->json || o->map || o->scores)
            return usage_error("--json, --map and --scores are for one image; with -o DIR "
                               "each image has its record and map");
        return 0;
    }
    if (o->top_k > 1) return usage_error("--top-k %ld needs an output folder (-o DIR)", o->top_k);
    if (o->resume || o->jobs > 1)
        return usage_error("--resume and --jobs need an output folder (-o DIR)");
    if (format_of(o->output) == DECAM_IMAGE_UNKNOWN)
        return usage_error("cannot tell the panel's format from '%s' (use .png, .jpg or .jpeg)",
                           o->output);
    if (o->map) {
        size_t n = strlen(o->map);
        if (n < 4 || strcmp(o->map + n - 4, ".npy"))
            return usage_error("--map '%s' must end in .npy", o->map);
    }
    return 0;
}

/* Parses argv; returns 0, or the exit status (-1: --help, -2: --version). */
static int parse(int argc, char **argv, options *o) {
    *o = (options){.output = "decam-explain.png",
                   .budget = 1000,
                   .grid = 0,
                   .threads = 1,
                   .jobs = 1,
                   .top_k = 1,
                   .width = 224,
                   .height = 224,
                   .scale = 1,
                   .std = {1, 1, 1},
                   .ext = "png,jpg,jpeg",
                   .area = 1,
                   .nms = -1};
    o->weights = getenv("DECAM_SHAPES_WEIGHTS");
    if (!o->weights)
        o->weights = access(SHAPES_WEIGHTS, R_OK) == 0 ? SHAPES_WEIGHTS : SHAPES_WEIGHTS_INSTALLED;
    o->inputs = calloc((size_t)argc, sizeof *o->inputs);
    o->lists = calloc((size_t)argc, sizeof *o->lists);
    if (!o->inputs || !o->lists) return failure("out of memory");
    int only_inputs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_inputs && !strcmp(a, "--")) {
            only_inputs = 1;
            continue;
        }
        if (only_inputs || a[0] != '-' || a[1] == '\0') {
            o->inputs[o->n_inputs++] = a;
            continue;
        }
        int rc;
        if (pick(a, VALUED, COUNT(VALUED)) >= 0) {
            if (i + 1 >= argc) return usage_error("option %s needs a value", a);
            rc = parse_option(a, argv[++i], o);
        } else if (pick(a, FLAGS, COUNT(FLAGS)) >= 0)
            rc = parse_flag(a, o);
        else
            return usage_error("unknown option '%s'", a);
        if (rc) return rc;
    }
    return check_options(o);
}

/* ---- labels ------------------------------------------------------------------ */

typedef struct labels {
    char **name; /* display name */
    char **id;   /* WordNet id or NULL */
    int n;
} labels;

static void labels_free(labels *l) {
    for (int i = 0; i < l->n; i++) {
        free(l->name[i]);
        free(l->id[i]);
    }
    free(l->name);
    free(l->id);
    *l = (labels){0};
}

/* "n01440764 tench": a WordNet id, then the name. */
static int is_wnid(const char *s, size_t n) {
    if (n != 9 || s[0] != 'n') return 0;
    for (size_t i = 1; i < 9; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static int labels_load(const char *path, labels *l) {
    char buf[256];
    FILE *f = fopen(path, "r");
    if (!f)
        return failure("cannot read labels %s: %s", shown(path, buf, sizeof buf), strerror(errno));
    char *line = NULL;
    size_t cap = 0, room = 0;
    ssize_t got;
    int rc = 0;
    while (rc == 0 && (got = getline(&line, &cap, f)) >= 0) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        if ((size_t)l->n == room) {
            room = room ? 2 * room : 1024;
            char **a = realloc(l->name, room * sizeof *a);
            if (a) l->name = a;
            char **b = a ? realloc(l->id, room * sizeof *b) : NULL;
            if (b) l->id = b;
            if (!a || !b) {
                rc = failure("out of memory");
                break;
            }
        }
        size_t sp = strcspn(line, " \t");
        int wn = line[sp] && is_wnid(line, sp);
        l->id[l->n] = wn ? strndup(line, sp) : NULL;
        l->name[l->n] = strdup(wn ? line + sp + 1 : line);
        if (!l->name[l->n] || (wn && !l->id[l->n])) rc = failure("out of memory");
        l->n++;
    }
    if (rc == 0 && ferror(f))
        rc = failure("cannot read labels %s: %s", shown(path, buf, sizeof buf), strerror(errno));
    if (rc == 0 && l->n == 0) rc = failure("labels %s: no names", shown(path, buf, sizeof buf));
    free(line);
    fclose(f);
    return rc;
}

/* ---- the model --------------------------------------------------------------- */

/* One model instance: used by one thread. */
typedef struct model {
    cnn *net; /* the shapes classifier, or */
#ifdef DECAM_EXPLAIN_DNN
    dnn_model *dnn; /* an OpenCV network */
#endif
    int width, height, outputs;
    int row;            /* a detector's output's last dimension (0: unknown) */
    int shape[8], dims; /* the output's shape before it was flattened (dims of them) */
    decam_layout layout;
    char error[512]; /* why the last call failed */
} model;

static void model_close(model *m) {
    cnn_free(m->net);
#ifdef DECAM_EXPLAIN_DNN
    dnn_close(m->dnn);
#endif
    *m = (model){0};
}

static int model_open(const options *o, model *m, char *err, size_t errlen) {
    *m = (model){0};
#ifdef DECAM_EXPLAIN_DNN
    if (o->model || o->detector) {
        char buf[256];
        const char *file = o->detector ? o->det_weights : o->model;
        /* OpenCV's own message for a missing file names neither it nor why. */
        const char *need[2] = {o->det_cfg, file};
        for (int i = 0; i < 2; i++)
            if (need[i] && access(need[i], R_OK) != 0) {
                snprintf(err, errlen, "cannot read %s: %s", shown(need[i], buf, sizeof buf),
                         strerror(errno));
                return -1;
            }
        dnn_options d = {.model = file,
                         .config = o->detector ? (o->det_cfg ? o->det_cfg : "")
                                   : o->config ? o->config
                                               : "",
                         .darknet = o->det_cfg != NULL,
                         .all_outputs = o->detector != NULL,
                         .width = o->width,
                         .height = o->height,
                         .scale = o->scale,
                         .bgr = o->bgr,
                         .nhwc = o->nhwc,
                         .softmax = o->softmax};
        memcpy(d.mean, o->mean, sizeof d.mean);
        memcpy(d.std, o->std, sizeof d.std);
        char why[400];
        m->dnn = dnn_open(&d, why, sizeof why);
        if (!m->dnn) {
            snprintf(err, errlen, "cannot read %s: %s",
                     shown(o->detector ? o->detector : o->model, buf, sizeof buf), why);
            return -1;
        }
        m->width = o->width, m->height = o->height, m->layout = DECAM_LAYOUT_CHW;
        return 0;
    }
#endif
    char why[256];
    m->net = cnn_load(o->weights, why, sizeof why);
    if (!m->net) {
        snprintf(err, errlen, "cannot load the classifier: %s", why);
        return -1;
    }
    m->width = m->height = cnn_input_size(m->net);
    m->outputs = cnn_num_classes(m->net);
    m->layout = DECAM_LAYOUT_HWC;
    return 0;
}

/* Scores n images into scores (n * m->outputs floats); 0 or nonzero with
 * the reason in m->error. */
static int model_scores(model *m, const float *images, size_t n, float *scores) {
    if (m->net) {
        cnn_predict_proba(m->net, images, n, scores);
        return 0;
    }
#ifdef DECAM_EXPLAIN_DNN
    int k = 0;
    const float *out = dnn_forward(m->dnn, images, n, &k, m->error, sizeof m->error);
    if (!out) return 1;
    if (m->outputs && k != m->outputs) {
        snprintf(m->error, sizeof m->error,
                 "the network gave %d outputs per image for %zu images, %d for one (use "
                 "--batch 1 for a model with a fixed batch size)",
                 k, n, m->outputs);
        return 1;
    }
    m->outputs = k;
    memcpy(scores, out, n * (size_t)k * sizeof *scores);
    return 0;
#else
    return 1;
#endif
}

static int model_fn(void *user, const float *images, size_t n, float *scores) {
    return model_scores(user, images, n, scores);
}

/* The number of outputs of a network: one forward pass of a gray image. */
static int model_probe(model *m) {
    if (m->outputs) return 0;
#ifdef DECAM_EXPLAIN_DNN
    size_t count = (size_t)m->width * m->height * 3;
    float *gray = malloc(count * sizeof *gray);
    if (!gray) return snprintf(m->error, sizeof m->error, "out of memory"), 1;
    for (size_t i = 0; i < count; i++)
        gray[i] = 0.5f;
    int k = 0;
    const float *out = dnn_forward(m->dnn, gray, 1, &k, m->error, sizeof m->error);
    free(gray);
    if (!out) return 1;
    m->outputs = k;
    m->row = dnn_row_length(m->dnn);
    m->dims = dnn_output_shape(m->dnn, m->shape, 8);
#endif
    return 0;
}

/* ---- labels and targets -------------------------------------------------------- */

typedef struct classes {
    labels names; /* from --labels; empty for the shapes classifier */
    int shapes;   /* names come from scene_class_name() */
    int outputs;  /* floats the model writes per image */
    int targets;  /* classes: the outputs, or a detector's classes */
    int detector; /* --detector: det holds its rows' layout */
    det_layout det;
    int kind;                 /* KIND_* */
    float *reference;         /* --embedder --reference: its embedding (outputs floats) */
    decam_dense_layout dense; /* --segmenter: the output's grid of classes */
    uint8_t *region;          /* its cells in --region (dense.width x dense.height) */
    int cells[4];             /* the cells' bounds, x0, y0, x1, y1 (x1, y1 excluded) */
    uint32_t dense_class;     /* --target's class */
} classes;

static const char *class_name(const classes *c, int k) {
    if (c->shapes) return k >= 0 && k < SCENE_NUM_CLASSES ? scene_class_name(k) : NULL;
    return k >= 0 && k < c->names.n ? c->names.name[k] : NULL;
}

/* The fixed target of --target, or -1 for the predicted (top) classes. */
static int resolve_target(const options *o, const classes *c, int *target) {
    *target = -1;
    if (!o->target_name || !strcmp(o->target_name, "top")) return 0;
    long k;
    if (parse_long(o->target_name, 0, 65535, &k) == 0) {
        if (k >= c->targets)
            return usage_error("target %ld: the model has %d %s (0..%d)", k, c->targets,
                               c->detector ? "classes" : "outputs", c->targets - 1);
        *target = (int)k;
        return 0;
    }
    /* A name two classes share names neither: ImageNet has two "crane"s. */
    text shared = {0};
    int found = 0;
    for (int i = 0; i < c->targets; i++) {
        const char *name = class_name(c, i);
        if ((name && !strcmp(name, o->target_name)) ||
            (!c->shapes && i < c->names.n && c->names.id[i] &&
             !strcmp(c->names.id[i], o->target_name))) {
            text_printf(&shared, "%s%d", found ? ", " : "", i);
            if (!found++) *target = i;
        }
    }
    int rc = 0;
    if (found > 1) {
        *target = -1;
        rc = usage_error("target '%s' names %d classes: %s (give the number)", o->target_name,
                         found, shared.failed ? "..." : shared.s);
    } else if (!found)
        rc = usage_error("unknown target class '%s'%s", o->target_name,
                         c->shapes || c->names.n ? "" : " (no --labels given)");
    text_free(&shared);
    return rc;
}

/* ---- one worker: a context, a model and the buffers of one image ------------ */

typedef struct worker {
    const options *o;
    const classes *cls;
    model m;
    decam_ctx *ctx;
    float *input, *probs;
    float *maps; /* one map per target of a run (--top-k of them) */
    float *map;  /* the one being written: maps, or one of its maps */
    uint8_t *truth;
    int label;                        /* the scene's true class, or -1 */
    char why[768];                    /* the library's message of the last failed call */
    const char *name;                 /* the image's name, for the library's warnings */
    int bar;                          /* a progress bar is on standard error */
    int lines;                        /* progress lines instead (not a terminal) */
    double *last_line;                /* when one was printed (shared by the jobs) */
    double own_last_line;             /* last_line of a worker alone */
    pthread_mutex_t *lock;            /* guards *last_line and stderr; NULL alone */
    double image_start;               /* when the image's run began */
    char warnings[MAX_WARNINGS][256]; /* the explanation's warnings, kept */
    int n_warnings;                   /* how many (those kept and the rest) */
    const char *settings;             /* what the records were made with */
} worker;

static void worker_free(worker *w) {
    free(w->input);
    free(w->maps);
    free(w->probs);
    free(w->truth);
    decam_free(w->ctx);
    model_close(&w->m);
}

static int apply_params(decam_ctx *ctx, const options *o, int outputs, char *err, size_t errlen) {
    const setting base[] = {
        {DECAM_PARAM_N_OUTPUTS, outputs},
        {DECAM_PARAM_METHOD, o->method},
        {DECAM_PARAM_OBJECTIVE, o->objective},
        {DECAM_PARAM_BUDGET, (double)o->budget},
        {DECAM_PARAM_GRID_WIDTH, (double)o->grid},
        {DECAM_PARAM_GRID_HEIGHT, (double)o->grid},
        {DECAM_PARAM_THREADS, (double)o->threads},
        {DECAM_PARAM_BATCH_SIZE, o->batch},
        /* An image's detections share one run; the search keeps them all,
         * as chosen in docs/method.md section 11. --set follow= decides. */
        {DECAM_PARAM_FOLLOW, o->detector ? DECAM_FOLLOW_ALL : DECAM_FOLLOW_FIRST}};
    for (int i = 0; i < COUNT(base) + o->n_sets; i++) {
        const setting *s = i < COUNT(base) ? &base[i] : &o->sets[i - COUNT(base)];
        if (decam_set_param(ctx, s->key, s->value) != DECAM_OK) {
            snprintf(err, errlen, "%s", decam_errmsg(ctx));
            return -1;
        }
    }
    return 0;
}

/* The library's warnings (a flat map, say): one line each on standard
 * error with the image's name, and kept for the image's record. Errors
 * are not repeated: the failing call's status and message report them. */
static void on_log(void *user, decam_log_level level, const char *message) {
    worker *w = user;
    char a[256], b[256];
    if (level != DECAM_LOG_WARNING) return;
    fprintf(stderr, "%sdecam-explain: %s: warning: %s\n", w->bar ? "\r\033[K" : "",
            shown(w->name ? w->name : "", a, sizeof a), shown(message, b, sizeof b));
    if (w->n_warnings < MAX_WARNINGS)
        snprintf(w->warnings[w->n_warnings], sizeof w->warnings[0], "%s", message);
    w->n_warnings++;
}

static void json_warnings(text *t, const worker *w) {
    text_append(t, "[", 1);
    for (int i = 0; i < w->n_warnings && i < MAX_WARNINGS; i++) {
        if (i) text_append(t, ", ", 2);
        text_json_string(t, w->warnings[i]);
    }
    text_append(t, "]", 1);
}

static int worker_init(worker *w, const options *o, const classes *cls, char *err, size_t errlen) {
    *w = (worker){.o = o, .cls = cls, .label = -1};
    w->last_line = &w->own_last_line;
    if (model_open(o, &w->m, err, errlen)) return -1;
    w->m.outputs = cls->outputs;
    size_t px = (size_t)w->m.width * w->m.height;
    w->ctx = decam_create();
    w->input = malloc(px * 3 * sizeof *w->input);
    w->maps = malloc((size_t)o->top_k * px * sizeof *w->maps);
    w->map = w->maps;
    w->probs = malloc((size_t)cls->outputs * sizeof *w->probs);
    w->truth = malloc(px);
    if (!w->ctx || !w->input || !w->maps || !w->probs || !w->truth) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (decam_set_image_layout(w->ctx, w->m.layout) != DECAM_OK ||
        decam_set_model(w->ctx, model_fn, &w->m) != DECAM_OK ||
        decam_set_log(w->ctx, on_log, w, DECAM_LOG_WARNING) != DECAM_OK ||
        apply_params(w->ctx, o, cls->outputs, err, errlen))
        return -1;
    return 0;
}

/* Keeps the library's message of a call that failed, read at once: the
 * next call on the context (even a getter) may clear it. Returns st. */
static decam_status noted(worker *w, decam_status st) {
    if (st != DECAM_OK) shown(decam_errmsg(w->ctx), w->why, sizeof w->why);
    return st;
}

/* The library's failure as one line: the message noted() kept. */
static void library_error(const worker *w, decam_status st, char *err, size_t errlen) {
    snprintf(err, errlen, "%s: %.500s%s%.400s", decam_status_string(st),
             w->why[0] ? w->why : "(no detail)",
             st == DECAM_ERR_MODEL_FAILED && w->m.error[0] ? ": " : "",
             st == DECAM_ERR_MODEL_FAILED ? w->m.error : "");
}

/* The model's input from the file: for the shapes classifier the centred
 * square, area-resized (as its training scenes were drawn); for a network
 * the shorter side resized to --shorter and the centre cropped, or the
 * whole image stretched. */
static decam_status prepare_file(worker *w, const char *path) {
    const options *o = w->o;
    decam_ctx *ctx = w->ctx;
    const int W = w->m.width, H = w->m.height;
    float *pixels = NULL, *mid = NULL;
    int iw, ih;
    decam_status st = noted(w, decam_image_load(ctx, path, 3, &pixels, &iw, &ih));
    if (st != DECAM_OK) return st;
    if (w->m.net) { /* the shapes classifier */
        int crop = iw < ih ? iw : ih;
        mid = malloc((size_t)crop * crop * 3 * sizeof *mid);
        st = noted(w, mid ? decam_image_center_crop(ctx, pixels, iw, ih, 3, mid, crop, crop)
                          : DECAM_ERR_OUT_OF_MEMORY);
        if (st == DECAM_OK)
            st = noted(
                w, decam_image_resize(ctx, mid, crop, crop, 3, w->input, W, H, DECAM_RESIZE_AREA));
    } else if (o->stretch) {
        st = noted(w, decam_image_resize(ctx, pixels, iw, ih, 3, w->input, W, H,
                                         o->area ? DECAM_RESIZE_AREA : DECAM_RESIZE_BILINEAR));
    } else {
        int side = W < H ? W : H;
        int shorter = o->shorter ? o->shorter : (side * 8 + 3) / 7; /* 224 -> 256 */
        double f = (double)shorter / (iw < ih ? iw : ih);
        int rw = (int)lround(iw * f), rh = (int)lround(ih * f);
        if (rw < W) rw = W;
        if (rh < H) rh = H;
        mid = malloc((size_t)rw * rh * 3 * sizeof *mid);
        st = noted(w, mid ? decam_image_resize(ctx, pixels, iw, ih, 3, mid, rw, rh,
                                               o->area ? DECAM_RESIZE_AREA : DECAM_RESIZE_BILINEAR)
                          : DECAM_ERR_OUT_OF_MEMORY);
        if (st == DECAM_OK)
            st = noted(w, decam_image_center_crop(ctx, mid, rw, rh, 3, w->input, W, H));
    }
    decam_image_free(ctx, pixels);
    free(mid);
    return st;
}

/* What one explanation gives. */
typedef struct result {
    int predicted, target, rank;
    unsigned long long seed;
    decam_stats stats;
    decam_metrics metrics;
    double pointing, energy, seconds;
    unsigned long long checksum;
    int peak_x, peak_y;
} result;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* FNV-1a of the map's bytes: a fingerprint for comparing runs. */
static unsigned long long map_checksum(const float *map, size_t n) {
    const unsigned char *b = (const unsigned char *)map;
    unsigned long long h = 1469598103934665603ULL;
    for (size_t i = 0; i < n * sizeof *map; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

/* The image's scores and its classes ranked best first (ties by index). */
static int rank_classes(worker *w, int *order, int k, char *err, size_t errlen) {
    if (model_scores(&w->m, w->input, 1, w->probs)) {
        snprintf(err, errlen, "the model failed: %s", w->m.error);
        return -1;
    }
    const int n = w->cls->outputs;
    for (int i = 0; i < k; i++) {
        int best = -1;
        for (int c = 0; c < n; c++) {
            int used = 0;
            for (int j = 0; j < i; j++)
                used |= order[j] == c;
            if (!used && !isnan(w->probs[c]) && (best < 0 || w->probs[c] > w->probs[best]))
                best = c;
        }
        order[i] = best < 0 ? 0 : best;
    }
    return 0;
}

static int progress_bar(void *user, const decam_progress *p) {
    (void)user;
    int width = 40, filled = p->budget ? (int)(width * p->queries / p->budget) : 0;
    fprintf(stderr, "\r[%-*.*s] %llu/%llu queries", width, filled,
            "########################################", (unsigned long long)p->queries,
            (unsigned long long)p->budget);
    return 0;
}

#define LINE_EVERY 10.0 /* seconds between progress lines during one image */

/* Off a terminal (CI, nohup): a line at most every LINE_EVERY seconds
 * while an image runs, so that a long run shows it is alive. */
static int progress_lines(void *user, const decam_progress *p) {
    worker *w = user;
    const double t = now();
    char a[256];
    if (w->lock) pthread_mutex_lock(w->lock);
    if (t - *w->last_line >= LINE_EVERY) {
        *w->last_line = t;
        fprintf(stderr, "decam-explain: %s: %llu/%llu queries, %.0f s\n",
                shown(w->name ? w->name : "", a, sizeof a), (unsigned long long)p->queries,
                (unsigned long long)p->budget, t - w->image_start);
    }
    if (w->lock) pthread_mutex_unlock(w->lock);
    return 0;
}

/* Explains w->input for n targets in one run of the budget (every map
 * from the same queries, decam_explain_items()) with seed: the maps into
 * w->maps, one after the other, and r[0 .. n-1]. The library scores the
 * kept and removed images for the first target only: the others' are NaN
 * here, and their score_full the caller's to fill. */
static int explain_targets(worker *w, const int *targets, int n, unsigned long long seed, int bar,
                           result *r, char *err, size_t errlen) {
    const int W = w->m.width, H = w->m.height;
    const size_t px = (size_t)W * H;
    uint32_t *ids = malloc((size_t)n * sizeof *ids);
    for (int i = 0; i < n; i++) {
        if (ids) ids[i] = (uint32_t)targets[i];
        r[i].target = targets[i];
        r[i].seed = seed;
        r[i].stats = (decam_stats){.size = sizeof r[i].stats};
        r[i].metrics = (decam_metrics){.size = sizeof r[i].metrics};
        r[i].pointing = r[i].energy = NAN;
    }
    double t0 = now();
    w->image_start = t0;
    if (!w->lock) *w->last_line = t0; /* alone: the first line after LINE_EVERY */
    decam_progress_fn progress = bar ? progress_bar : w->lines ? progress_lines : NULL;
    decam_status st = ids ? DECAM_OK : DECAM_ERR_OUT_OF_MEMORY;
    if (st == DECAM_OK) st = noted(w, decam_set_param(w->ctx, DECAM_PARAM_TARGET, targets[0]));
    if (st == DECAM_OK) st = noted(w, decam_set_param(w->ctx, DECAM_PARAM_SEED, (double)seed));
    if (st == DECAM_OK) st = noted(w, decam_set_progress(w->ctx, progress, w));
    if (st == DECAM_OK) {
        const decam_item item = {w->input, W, H, 3, ids, (size_t)n, w->maps, &r[0].stats};
        st = noted(w, decam_explain_items(w->ctx, &item, 1));
        if (bar) fprintf(stderr, "\n");
    }
    for (int i = 1; st == DECAM_OK && i < n; i++) {
        r[i].stats = r[0].stats;
        r[i].stats.score_full = r[i].stats.score_keep = r[i].stats.score_drop = NAN;
    }
    if (st == DECAM_OK && w->o->has_scene) {
        st = decam_pointing(w->maps, w->truth, W, H, &r[0].pointing, &r[0].energy);
        if (st != DECAM_OK) snprintf(w->why, sizeof w->why, "the pointing game failed");
    }
    if (st == DECAM_OK && w->o->metrics) decam_set_progress(w->ctx, NULL, NULL);
    for (int i = 0; st == DECAM_OK && w->o->metrics && i < n; i++) {
        st = noted(w, decam_set_param(w->ctx, DECAM_PARAM_TARGET, targets[i]));
        if (st == DECAM_OK)
            st = noted(w, decam_evaluate(w->ctx, w->input, W, H, 3, w->maps + (size_t)i * px, NULL,
                                         &r[i].metrics));
    }
    free(ids);
    if (st != DECAM_OK) {
        library_error(w, st, err, errlen);
        return -1;
    }
    const double seconds = now() - t0; /* of the one run */
    for (int i = 0; i < n; i++) {
        const float *map = w->maps + (size_t)i * px;
        r[i].seconds = seconds;
        r[i].checksum = map_checksum(map, px);
        size_t peak = 0;
        for (size_t j = 1; j < px; j++)
            if (map[j] > map[peak]) peak = j;
        r[i].peak_x = (int)(peak % (size_t)W);
        r[i].peak_y = (int)(peak / (size_t)W);
    }
    return 0;
}

/* Saves width x height RGB bytes as `format`; `synced`: through
 * write_file_atomic(). */
static decam_status save_rgb(worker *w, const char *path, decam_image_format format, int synced,
                             const uint8_t *rgb, int width, int height) {
    decam_ctx *ctx = w->ctx;
    if (!synced) return noted(w, decam_image_save(ctx, path, format, rgb, width, height, 3));
    uint8_t *data = NULL;
    size_t size = 0;
    char why[256], buf[256];
    decam_status st =
        noted(w, decam_image_save_memory(ctx, format, rgb, width, height, 3, &data, &size));
    if (st == DECAM_OK && write_file_atomic(path, data, size, why, sizeof why)) {
        snprintf(w->why, sizeof w->why, "cannot write %s: %s", shown(path, buf, sizeof buf), why);
        st = DECAM_ERR_IO;
    }
    decam_image_free(ctx, data);
    return st;
}

/* The panel, scaled up by a whole factor so that a person can see it (4x
 * for the 64 x 64 shapes input, 1x from 256 up), encoded as `format`;
 * `synced`: through write_file_atomic(), on the disk before it is renamed
 * into place (an output folder's panels, which a record vouches for). */
static decam_status write_panel(worker *w, const char *path, decam_image_format format,
                                int synced) {
    const int W = w->m.width, H = w->m.height, side = W > H ? W : H;
    const int k = side >= 256 ? 1 : 256 / side;
    const int bw = k * W, bh = k * H;
    float *image = malloc((size_t)bw * bh * 3 * sizeof *image);
    float *bigmap = malloc((size_t)bw * bh * sizeof *bigmap);
    uint8_t *panel = malloc((size_t)3 * bw * bh * 3);
    decam_ctx *ctx = w->ctx;
    decam_status st = image && bigmap && panel ? DECAM_OK : DECAM_ERR_OUT_OF_MEMORY;
    if (st == DECAM_OK)
        st = noted(
            w, decam_image_resize(ctx, w->input, W, H, 3, image, bw, bh, DECAM_RESIZE_BILINEAR));
    if (st == DECAM_OK) {
        /* The map is one channel: its layout does not matter. */
        st = noted(w,
                   decam_image_resize(ctx, w->map, W, H, 1, bigmap, bw, bh, DECAM_RESIZE_BILINEAR));
    }
    if (st == DECAM_OK)
        st = noted(w, decam_render_panel(ctx, image, bw, bh, 3, bigmap, DECAM_COLORMAP_JET, 0.5f,
                                         0.15f, panel));
    if (st == DECAM_OK) st = save_rgb(w, path, format, synced, panel, 3 * bw, bh);
    free(image);
    free(bigmap);
    free(panel);
    return st;
}

static int write_npy(const worker *w, const char *path, char *err, size_t errlen) {
    text t = {0};
    text_npy(&t, w->map, w->m.width, w->m.height);
    int rc = t.failed ? (snprintf(err, errlen, "out of memory"), -1)
                      : write_file_atomic(path, t.s, t.len, err, errlen);
    text_free(&t);
    return rc;
}

/* ---- one image: the report ------------------------------------------------------- */

static void json_label(text *t, const classes *c, int k) {
    const char *name = class_name(c, k);
    if (name)
        text_json_string(t, name);
    else
        text_append(t, "null", 4);
}

/* Whether the image's outputs are probabilities: the shapes classifier's
 * and --softmax's are; any other model's only when they are, on this
 * image, in [0, 1] and sum to 1. Logits are "scores", never "p". */
static int are_probabilities(const worker *w) {
    if (w->m.net || w->o->softmax) return 1;
    double sum = 0;
    for (int k = 0; k < w->cls->outputs; k++) {
        if (!(w->probs[k] >= 0 && w->probs[k] <= 1)) return 0;
        sum += w->probs[k];
    }
    return fabs(sum - 1) < 1e-3;
}

static void print_text_report(FILE *f, const worker *w, const result *r) {
    const options *o = w->o;
    const decam_stats *s = &r->stats;
    const classes *c = w->cls;
    char a[64], b[64];
    const char *truth = w->label >= 0 ? scene_class_name(w->label) : NULL;
#define NAME(buf, k)                                                                               \
    (class_name(c, k) ? class_name(c, k) : (snprintf(buf, sizeof buf, "class %d", k), buf))
    if (truth) fprintf(f, "true class:  %s\n", truth);
    fprintf(f, "prediction:  %s (%s = %.4f)\n", NAME(a, r->predicted),
            are_probabilities(w) ? "p" : "score", w->probs[r->predicted]);
    fprintf(f, "explained:   %s, score %.4f, %s\n", NAME(b, r->target), s->score_full,
            METHODS[o->method]);
#undef NAME
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
    fprintf(f, "peak:        x %d, y %d\n", r->peak_x, r->peak_y);
    fprintf(f, "panel:       %s\n", o->output);
    if (o->map)
        fprintf(f, "map:         %s (checksum %016llx)\n", o->map, r->checksum);
    else
        fprintf(f, "map:         checksum %016llx (--map writes it)\n", r->checksum);
}

static void json_report(text *t, const worker *w, const result *r) {
    const options *o = w->o;
    const decam_stats *s = &r->stats;
    const classes *c = w->cls;
    const char *truth = w->label >= 0 ? scene_class_name(w->label) : NULL;
    text_printf(t, "{\n  \"source\": ");
    if (o->has_scene)
        text_printf(t, "{\"scene\": %ld, \"class\": \"%s\"},\n", o->scene, truth);
    else {
        text_printf(t, "{\"file\": ");
        text_json_string(t, o->inputs[0]);
        text_printf(t, "},\n");
    }
    text_printf(t, "  \"prediction\": ");
    json_label(t, c, r->predicted);
    text_printf(t, ",\n  \"prediction_index\": %d,\n", r->predicted);
    if (c->outputs <= 64) {
        text_printf(t, "  \"%s\": [", are_probabilities(w) ? "probabilities" : "scores");
        for (int k = 0; k < c->outputs; k++) {
            if (k) text_append(t, ", ", 2);
            text_json_number(t, "%.6f", w->probs[k]);
        }
        text_printf(t, "],\n");
    }
    text_printf(t, "  \"target\": ");
    json_label(t, c, r->target);
    text_printf(t, ",\n  \"target_index\": %d,\n  \"method\": \"%s\",\n", r->target,
                METHODS[o->method]);
    text_printf(t, "  \"budget\": %ld,\n  \"seed\": %llu,\n  \"queries\": %llu,\n", o->budget,
                r->seed, (unsigned long long)s->queries);
    text_printf(t, "  \"model_calls\": %llu,\n", (unsigned long long)s->model_calls);
    const struct {
        const char *key;
        double v;
    } nums[] = {{"seconds", s->model_seconds + s->library_seconds},
                {"model_seconds", s->model_seconds},
                {"score_full", s->score_full},
                {"score_keep", s->score_keep},
                {"score_drop", s->score_drop}};
    for (int i = 0; i < COUNT(nums); i++) {
        text_printf(t, "  \"%s\": ", nums[i].key);
        text_json_number(t, "%.6f", nums[i].v);
        text_printf(t, ",\n");
    }
    if (truth) {
        text_printf(t, "  \"pointing_game\": %s,\n  \"energy_pointing_game\": ",
                    r->pointing > 0.5 ? "true" : "false");
        text_json_number(t, "%.6f", r->energy);
        text_printf(t, ",\n");
    }
    if (o->metrics) {
        text_printf(t, "  \"deletion_auc\": ");
        text_json_number(t, "%.6f", r->metrics.deletion_auc);
        text_printf(t, ",\n  \"insertion_auc\": ");
        text_json_number(t, "%.6f", r->metrics.insertion_auc);
        text_printf(t, ",\n");
    }
    text_printf(t, "  \"warnings\": ");
    json_warnings(t, w);
    text_printf(t, ",\n  \"peak\": [%d, %d],\n", r->peak_x, r->peak_y);
    text_printf(t, "  \"map_checksum\": \"%016llx\",\n  \"output\": ", r->checksum);
    text_json_string(t, o->output);
    text_printf(t, "\n}\n");
}

/* Writes all of t to stdout; 0 or a message and 1. */
static int to_stdout(const void *data, size_t n) {
    if (stdout_closed) return failure("cannot write to standard output: it is closed");
    if (fwrite(data, 1, n, stdout) != n || fflush(stdout) != 0)
        return failure("cannot write to standard output: %s", strerror(errno));
    return 0;
}

/* Writes an image's record `t` into the file `rec` atomically; 0, or -1
 * with the reason in err. */
static int write_record(const char *rec, const text *t, char *err, size_t errlen) {
    char why[256], buf[256];
    if (t->failed) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (write_file_atomic(rec, t->s, t->len, why, sizeof why)) {
        snprintf(err, errlen, "cannot write %s: %s", shown(rec, buf, sizeof buf), why);
        return -1;
    }
    return 0;
}

/* One image's JSON report: to standard output with --json -, else into
 * the --json file (atomically). Frees the text; returns the exit status. */
static int emit_json(const options *o, text *t) {
    char err[256], buf[256];
    int rc = 0;
    if (t->failed)
        rc = failure("out of memory");
    else if (!strcmp(o->json, "-"))
        rc = to_stdout(t->s, t->len);
    else if (write_file_atomic(o->json, t->s, t->len, err, sizeof err))
        rc = failure("cannot write %s: %s", shown(o->json, buf, sizeof buf), err);
    text_free(t);
    return rc;
}

static int print_scores(worker *w) {
    text t = {0};
    for (int k = 0; k < w->cls->outputs; k++) {
        const char *name = class_name(w->cls, k);
        text_printf(&t, "%d\t%.9g\t%s\n", k, (double)w->probs[k], name ? name : "");
    }
    int rc = t.failed ? failure("out of memory") : to_stdout(t.s, t.len);
    text_free(&t);
    return rc;
}

static int explain_single_detections(worker *w);
static int explain_single_scorer(worker *w);

/* One image (a file or a scene): the panel at -o, the report, --json and
 * --map. Returns the exit status. */
static int explain_single(worker *w) {
    const options *o = w->o;
    char err[1024], buf[256], scene[32];
    decam_status st = DECAM_OK;
    snprintf(scene, sizeof scene, "scene %ld", o->scene);
    w->name = o->has_scene ? scene : o->inputs[0];
    w->bar = !o->quiet && isatty(fileno(stderr));
    if (o->has_scene)
        scene_generate((uint64_t)o->scene, w->m.width, w->input, w->truth, &w->label);
    else
        st = prepare_file(w, o->inputs[0]);
    if (st != DECAM_OK) {
        library_error(w, st, err, sizeof err);
        return failure("%s", err);
    }
    if (w->cls->detector) return explain_single_detections(w);
    if (w->cls->kind >= KIND_EMBEDDER) return explain_single_scorer(w);
    result r = {.rank = 1};
    int order[1];
    if (rank_classes(w, order, 1, err, sizeof err)) return failure("%s", err);
    if (o->scores) return print_scores(w);
    r.predicted = order[0];
    int target;
    if (resolve_target(o, w->cls, &target)) return 2;
    if (target < 0) target = r.predicted;
    const int bar = !o->quiet && isatty(fileno(stderr));
    w->lines = !o->quiet && !bar;
    if (explain_targets(w, &target, 1, o->seed, bar, &r, err, sizeof err))
        return failure("%s", err);
    st = write_panel(w, o->output, format_of(o->output), 0);
    if (st != DECAM_OK) {
        library_error(w, st, err, sizeof err);
        return failure("%s", err);
    }
    if (o->map && write_npy(w, o->map, err, sizeof err))
        return failure("cannot write %s: %s", shown(o->map, buf, sizeof buf), err);
    int json_stdout = o->json && !strcmp(o->json, "-");
    if (!json_stdout) {
        /* The text report, unless standard output carries the JSON alone. */
        if (stdout_closed) return failure("cannot write to standard output: it is closed");
        print_text_report(stdout, w, &r);
        if (fflush(stdout) != 0 || ferror(stdout))
            return failure("cannot write to standard output: %s", strerror(errno));
    }
    if (!o->json) return 0;
    text t = {0};
    json_report(&t, w, &r);
    return emit_json(o, &t);
}

/* ---- many images: the output folder ------------------------------------------------ */

/* splitmix64's finaliser: every bit of the input moves every bit. */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The seed of an image: from --seed and its name alone, within the
 * library's range, so that no order or sharing of the work changes it. */
static unsigned long long image_seed(unsigned long long seed, const char *name) {
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (unsigned long long)(mix64(h ^ mix64(seed + 0x9e3779b97f4a7c15ULL)) & MAX_SEED);
}

typedef struct job_state {
    const options *o;
    const char *settings; /* settings_json(), in every record */
    const classes *cls;
    const input_list *in;
    char **errors; /* per image: why it failed, or NULL */
    char *done;    /* per image: 1 explained, 2 skipped (resumed) */
    size_t next, finished, explained, skipped, failed;
    double start, last_line;
    int bar, lines; /* a progress bar (a terminal), or lines (not -q) */
    pthread_mutex_t lock;
} job_state;

/* DIR/NAME[.RANK].EXT */
static char *output_path(const options *o, const char *name, int rank, const char *ext) {
    size_t n = strlen(o->output) + strlen(name) + strlen(ext) + 32;
    char *p = malloc(n);
    if (!p) return NULL;
    size_t ol = strlen(o->output);
    const char *sep = ol && o->output[ol - 1] == '/' ? "" : "/";
    if (o->top_k > 1)
        snprintf(p, n, "%s%s%s.%d%s", o->output, sep, name, rank, ext);
    else
        snprintf(p, n, "%s%s%s%s", o->output, sep, name, ext);
    return p;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The base name of an output, as the record names it. */
static const char *leaf(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The record of one explanation, one line of JSON. */
static void json_record(text *t, const worker *w, const input *in, const result *r,
                        const char *panel, const char *npy) {
    const options *o = w->o;
    const decam_stats *s = &r->stats;
    text_printf(t, "{\"image\": ");
    text_json_string(t, in->name);
    text_printf(t, ", \"file\": ");
    text_json_string(t, in->path);
    text_printf(t, ", \"rank\": %d, \"class\": %d, \"label\": ", r->rank, r->target);
    json_label(t, w->cls, r->target);
    text_printf(t, ", \"score\": ");
    text_json_number(t, "%.6g", s->score_full);
    text_printf(t, ", \"predicted\": %d, \"predicted_label\": ", r->predicted);
    json_label(t, w->cls, r->predicted);
    text_printf(t, ", \"predicted_score\": ");
    text_json_number(t, "%.6g", w->probs[r->predicted]);
    text_printf(t, ", \"method\": \"%s\", \"objective\": \"%s\", \"budget\": %ld, \"seed\": %llu",
                METHODS[o->method], OBJECTIVES[o->objective], o->budget, r->seed);
    text_printf(t, ", \"queries\": %llu", (unsigned long long)s->queries);
    const struct {
        const char *key, *fmt;
        double v;
    } nums[] = {{"score_keep", "%.6g", s->score_keep},
                {"score_drop", "%.6g", s->score_drop},
                {"seconds", "%.4f", r->seconds},
                {"model_seconds", "%.4f", s->model_seconds}};
    for (int i = 0; i < COUNT(nums); i++) {
        text_printf(t, ", \"%s\": ", nums[i].key);
        text_json_number(t, nums[i].fmt, nums[i].v);
    }
    if (o->metrics) {
        text_printf(t, ", \"deletion_auc\": ");
        text_json_number(t, "%.6g", r->metrics.deletion_auc);
        text_printf(t, ", \"insertion_auc\": ");
        text_json_number(t, "%.6g", r->metrics.insertion_auc);
        text_printf(t, ", \"metric_queries\": %llu", (unsigned long long)r->metrics.queries);
    }
    text_printf(t, ", \"warnings\": ");
    json_warnings(t, w);
    text_printf(t, ", \"peak\": [%d, %d], \"map_checksum\": \"%016llx\", \"map\": ", r->peak_x,
                r->peak_y, r->checksum);
    text_json_string(t, leaf(npy));
    text_printf(t, ", \"panel\": ");
    text_json_string(t, leaf(panel));
    text_printf(t, ", \"settings\": %s}\n", w->settings);
}

/* ---- what a record was made with: --resume reuses only its own ------------- */

/* A file's identity: its real path, size and modification time (ns), or
 * null when none is given. */
static void json_file_identity(text *t, const char *path) {
    struct stat st;
    if (!path || !path[0]) {
        text_append(t, "null", 4);
        return;
    }
    char *real = realpath(path, NULL);
    text_printf(t, "{\"path\": ");
    text_json_string(t, real ? real : path);
    free(real);
    if (stat(path, &st) == 0)
        text_printf(t, ", \"size\": %lld, \"mtime\": %lld}", (long long)st.st_size,
                    (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
    else
        text_printf(t, ", \"size\": null, \"mtime\": null}");
}

/* The members of a record's "settings", in the order written. */
static const char *const SETTINGS_KEYS[] = {
    "libdecam",  "model",  "config", "labels", "size",   "resize",  "shorter", "interp",
    "scale",     "mean",   "std",    "bgr",    "nhwc",   "softmax", "batch",   "method",
    "objective", "budget", "grid",   "seed",   "target", "top_k",   "metrics", "sets"};

/* Everything that makes an output folder's files what they are, as one
 * line of JSON: the library, the model's and its files' identities, the
 * input preparation and every explanation setting, --set included. A
 * record is reused only when its "settings" are these, byte for byte. */
static void settings_json(text *t, const options *o, const classes *cls) {
    static const char *const BOOL[] = {"false", "true"};
    int target;
    resolve_target(o, cls, &target); /* checked in setup() */
    text_printf(t, "{\"libdecam\": ");
    text_json_string(t, decam_version_string());
    text_printf(t, ", \"model\": ");
    json_file_identity(t, o->detector ? o->det_weights : o->model ? o->model : o->weights);
    text_printf(t, ", \"config\": ");
    json_file_identity(t, o->detector ? o->det_cfg : o->config);
    text_printf(t, ", \"labels\": ");
    json_file_identity(t, o->labels);
    text_printf(t, ", \"size\": [%d, %d], \"resize\": \"%s\", \"shorter\": %d, \"interp\": \"%s\"",
                o->width, o->height, o->stretch ? "stretch" : "crop", o->shorter,
                o->area ? "area" : "bilinear");
    text_printf(t, ", \"scale\": %.9g, \"mean\": [%.9g, %.9g, %.9g], \"std\": [%.9g, %.9g, %.9g]",
                o->scale, o->mean[0], o->mean[1], o->mean[2], o->std[0], o->std[1], o->std[2]);
    text_printf(t, ", \"bgr\": %s, \"nhwc\": %s, \"softmax\": %s, \"batch\": %d", BOOL[o->bgr],
                BOOL[o->nhwc], BOOL[o->softmax], o->batch);
    text_printf(t, ", \"method\": \"%s\", \"objective\": \"%s\", \"budget\": %ld, \"grid\": %ld",
                METHODS[o->method], OBJECTIVES[o->objective], o->budget, o->grid);
    text_printf(t, ", \"seed\": %llu, \"target\": ", o->seed);
    if (target < 0)
        text_printf(t, "\"top\"");
    else
        text_printf(t, "%d", target);
    text_printf(t, ", \"top_k\": %ld, \"metrics\": %s, \"sets\": [", o->top_k, BOOL[o->metrics]);
    for (int i = 0; i < o->n_sets; i++)
        text_printf(t, "%s[\"%s\", %.17g]", i ? ", " : "", decam_param_name(o->sets[i].key),
                    o->sets[i].value);
    text_printf(t, "]");
    if (cls->detector) {
        text_printf(
            t, ", \"detector\": \"%s\", \"detector_layout\": ", o->det_cfg ? "darknet" : "onnx");
        text_json_string(t, cls->det.spec);
        text_printf(t, ", \"stride\": %u, \"threshold\": %.6g, \"nms\": %.6g, \"box\": ",
                    (unsigned)cls->det.lib.stride, o->threshold, o->nms);
        if (o->has_box)
            text_printf(t, "[%.9g, %.9g, %.9g, %.9g]", o->box[0], o->box[1], o->box[2], o->box[3]);
        else
            text_printf(t, "null");
    }
    if (o->kind >= KIND_EMBEDDER) {
        text_printf(t, ", \"scorer\": \"%s\", \"reference\": ", KINDS[o->kind]);
        json_file_identity(t, o->reference);
        text_printf(t, ", \"similarity\": ");
        if (o->kind == KIND_EMBEDDER)
            text_printf(t, "\"%s\"", SIMILARITIES[o->similarity]);
        else
            text_printf(t, "null");
        text_printf(t, ", \"region\": ");
        if (o->kind == KIND_SEGMENTER && o->region_text)
            text_printf(t, "[%.9g, %.9g, %.9g, %.9g]", o->region[0], o->region[1], o->region[2],
                        o->region[3]);
        else
            text_printf(t, o->kind == KIND_SEGMENTER ? "\"all\"" : "null");
    }
    text_printf(t, "}");
}

/* The fields every record has, and those of --metrics. */
static const char *const RECORD_KEYS[] = {"image",
                                          "file",
                                          "rank",
                                          "class",
                                          "label",
                                          "score",
                                          "predicted",
                                          "predicted_label",
                                          "predicted_score",
                                          "method",
                                          "objective",
                                          "budget",
                                          "seed",
                                          "queries",
                                          "score_keep",
                                          "score_drop",
                                          "seconds",
                                          "model_seconds",
                                          "warnings",
                                          "peak",
                                          "map_checksum",
                                          "map",
                                          "panel",
                                          "settings"};
static const char *const METRIC_KEYS[] = {"deletion_auc", "insertion_auc", "metric_queries"};
/* A detector's record instead. */
static const char *const DET_RECORD_KEYS[] = {
    "image",   "file",    "detections",    "threshold", "method", "objective", "budget",  "seed",
    "queries", "seconds", "model_seconds", "warnings",  "map",    "panel",     "settings"};
/* The settings a detector adds. */
static const char *const DET_SETTINGS_KEYS[] = {
    "detector", "detector_layout", "stride", "threshold", "nms", "box"};
/* An embedder's or a segmenter's record, and the settings they add. */
static const char *const SCORER_RECORD_KEYS[] = {
    "image",    "file", "scorer",       "score",      "method",  "objective",
    "budget",   "seed", "queries",      "score_keep", "seconds", "model_seconds",
    "warnings", "peak", "map_checksum", "map",        "panel",   "settings"};
static const char *const EMBEDDER_KEYS[] = {"reference", "similarity"};
static const char *const SEGMENTER_KEYS[] = {"class", "region", "cells"};
static const char *const SCORER_SETTINGS_KEYS[] = {"scorer", "reference", "similarity", "region"};

/* The keys a record of this run must hold: n of them through keys(i). */
static const char *record_key(const options *o, int i) {
#define TAKE(a)                                                                                    \
    do {                                                                                           \
        if (i < COUNT(a)) return a[i];                                                             \
        i -= COUNT(a);                                                                             \
    } while (0)
    if (o->kind == KIND_DETECTOR) {
        TAKE(DET_RECORD_KEYS);
        return NULL;
    }
    if (o->kind == KIND_CLASSIFIER)
        TAKE(RECORD_KEYS);
    else {
        TAKE(SCORER_RECORD_KEYS);
        if (o->kind == KIND_EMBEDDER)
            TAKE(EMBEDDER_KEYS);
        else
            TAKE(SEGMENTER_KEYS);
    }
    if (o->metrics) TAKE(METRIC_KEYS);
    return NULL;
#undef TAKE
}

/* The keys of a record's settings for this run, through settings_key(i). */
static const char *settings_key(const options *o, int i) {
    if (i < COUNT(SETTINGS_KEYS)) return SETTINGS_KEYS[i];
    i -= COUNT(SETTINGS_KEYS);
    if (o->kind == KIND_DETECTOR) return i < COUNT(DET_SETTINGS_KEYS) ? DET_SETTINGS_KEYS[i] : NULL;
    if (o->kind >= KIND_EMBEDDER)
        return i < COUNT(SCORER_SETTINGS_KEYS) ? SCORER_SETTINGS_KEYS[i] : NULL;
    return NULL;
}

static int span_is(json_span v, const char *s) { return v.n == strlen(s) && !memcmp(v.s, s, v.n); }

/* Reads a record into *t: 0 when it is complete, one line ending in a
 * newline that is one JSON object with every field the CLI writes; else
 * -1 and why. (No newline inside: JSON strings escape theirs.) */
static int read_record(const options *o, const char *path, text *t, char *why, size_t n) {
    char buf[256];
    FILE *f = fopen(path, "rb");
    if (!f) return snprintf(why, n, "cannot read it: %s", strerror(errno)), -1;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        text_append(t, chunk, got);
    int bad = ferror(f);
    fclose(f);
    if (bad || t->failed) return snprintf(why, n, "cannot read it"), -1;
    const char *nl = t->len ? memchr(t->s, '\n', t->len) : NULL;
    if (!nl || nl != t->s + t->len - 1 || !json_is_object(t->s, t->len))
        return snprintf(why, n, "it is %s", t->len ? "not one whole line of JSON" : "empty"), -1;
    json_span rec = {t->s, t->len}, v;
    const char *key;
    for (int i = 0; (key = record_key(o, i)) != NULL; i++)
        if (!json_member(rec, key, &v))
            return snprintf(why, n, "it has no \"%s\"", shown(key, buf, sizeof buf)), -1;
    return 0;
}

/* Whether rank's record of an image can stand: complete, for this image
 * and rank, made with these settings, its panel and map there. 0, or -1
 * and why. */
static int record_reusable(const options *o, const char *settings, const input *in, int rank,
                           char *why, size_t n) {
    char *rec = output_path(o, in->name, rank, ".json");
    char *png = output_path(o, in->name, rank, ".png");
    char *npy = output_path(o, in->name, rank, ".npy");
    text t = {0}, want = {0};
    char num[32], a[96], b[96], part[512];
    int rc = -1;
    json_span v, old, now;
    if (!rec || !png || !npy) {
        snprintf(why, n, "out of memory");
        goto done;
    }
    if (read_record(o, rec, &t, part, sizeof part)) {
        snprintf(why, n, "its record %s: %s", leaf(rec), part);
        goto done;
    }
    json_span r = {t.s, t.len}, cur = {settings, strlen(settings)};
    text_json_string(&want, in->name);
    snprintf(num, sizeof num, "%d", rank);
    if (want.failed || !json_member(r, "image", &v) || !span_is(v, want.s) ||
        (o->kind == KIND_CLASSIFIER && (!json_member(r, "rank", &v) || !span_is(v, num)))) {
        snprintf(why, n, "its record %s is another image's", leaf(rec));
        goto done;
    }
    json_member(r, "settings", &v);
    const char *key;
    for (int i = 0; (key = settings_key(o, i)) != NULL; i++) {
        json_member(cur, key, &now);
        if (!json_is_object(v.s, v.n) || !json_member(v, key, &old)) {
            snprintf(why, n, "its record %s has no setting \"%s\"", leaf(rec), key);
            goto done;
        }
        if (old.n != now.n || memcmp(old.s, now.s, old.n)) {
            snprintf(a, sizeof a, "%.*s", (int)(old.n < 80 ? old.n : 80), old.s);
            snprintf(b, sizeof b, "%.*s", (int)(now.n < 80 ? now.n : 80), now.s);
            snprintf(why, n, "its record %s was made with another %s (%s, now %s)", leaf(rec), key,
                     a, b);
            goto done;
        }
    }
    if (v.n != cur.n || memcmp(v.s, cur.s, v.n)) {
        snprintf(why, n, "its record %s was made with other settings", leaf(rec));
        goto done;
    }
    if (!exists(png) || !exists(npy)) {
        snprintf(why, n, "%s is missing", leaf(exists(png) ? npy : png));
        goto done;
    }
    rc = 0;
done:
    text_free(&t);
    text_free(&want);
    free(rec);
    free(png);
    free(npy);
    return rc;
}

/* --resume: 1 when every record of the image can stand. Else 0; when a
 * record is there but cannot stand, says why the image is explained again
 * and removes the records, so that none outlives the outputs it vouched
 * for if this run stops half way. */
static int resumable(const options *o, const char *settings, const input *in, int bar,
                     pthread_mutex_t *lock) {
    char why[768], a[256];
    int any = 0, good = 1;
    for (int r = 1; r <= o->top_k; r++) {
        char *rec = output_path(o, in->name, r, ".json");
        any |= rec && exists(rec);
        free(rec);
    }
    if (!any) return 0;
    for (int r = 1; r <= o->top_k && good; r++)
        good = record_reusable(o, settings, in, r, why, sizeof why) == 0;
    if (good) return 1;
    pthread_mutex_lock(lock);
    fprintf(stderr, "%sdecam-explain: %s: explaining again: %s\n", bar ? "\r\033[K" : "",
            shown(in->name, a, sizeof a), why);
    pthread_mutex_unlock(lock);
    for (int r = 1; r <= o->top_k; r++) {
        char *rec = output_path(o, in->name, r, ".json");
        if (rec) unlink(rec);
        free(rec);
    }
    return 0;
}

static void json_scorer_record(text *t, const worker *w, const char *name, const char *file,
                               const result *r, const char *panel, const char *npy,
                               const char *settings);

/* One explanation's three files, the record last. */
static int write_outputs(worker *w, const input *in, const result *r, char *err, size_t errlen) {
    const options *o = w->o;
    char *panel = output_path(o, in->name, r->rank, ".png");
    char *npy = output_path(o, in->name, r->rank, ".npy");
    char *rec = output_path(o, in->name, r->rank, ".json");
    char why[512], buf[256];
    text t = {0};
    int rc = -1;
    if (!panel || !npy || !rec) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (make_parent_dirs(panel, why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", shown(panel, buf, sizeof buf), why);
        goto done;
    }
    decam_status st = write_panel(w, panel, DECAM_IMAGE_PNG, 1);
    if (st != DECAM_OK) {
        library_error(w, st, err, errlen);
        goto done;
    }
    if (write_npy(w, npy, why, sizeof why)) {
        snprintf(err, errlen, "cannot write %s: %s", shown(npy, buf, sizeof buf), why);
        goto done;
    }
    if (w->cls->kind >= KIND_EMBEDDER)
        json_scorer_record(&t, w, in->name, in->path, r, panel, npy, w->settings);
    else
        json_record(&t, w, in, r, panel, npy);
    if (write_record(rec, &t, err, errlen)) goto done;
    rc = 0;
done:
    text_free(&t);
    free(panel);
    free(npy);
    free(rec);
    return rc;
}

/* ---- detectors: every detection of an image from one run ------------------------- */

/* What explaining one image's detections gives. */
typedef struct det_result {
    detection *found; /* best first */
    long n;
    float *maps; /* n maps of the input's size, one after the other */
    int *peak;   /* x, y of each map's maximum */
    unsigned long long seed;
    decam_stats stats;
    double seconds;
} det_result;

static void det_result_free(det_result *d) {
    free(d->found);
    free(d->maps);
    free(d->peak);
    *d = (det_result){0};
}

/* --box: the box given, with the class of --target (target >= 0) or of
 * the proposal overlapping it most among those scoring above 0. 1, 0
 * when no proposal overlaps it, -1 when out of memory. */
static long given_box(const worker *w, int target, detection **found) {
    const det_layout *l = &w->cls->det;
    const decam_detection_layout *d = &l->lib;
    detection best = {.row = UINT32_MAX};
    double most = 0;
    memcpy(best.box, w->o->box, sizeof best.box);
    for (uint32_t r = 0; r < d->proposals; r++) {
        const float *row = w->probs + (size_t)r * d->stride, *cls = row + d->class_offset;
        uint32_t k = target >= 0 ? (uint32_t)target : 0;
        for (uint32_t j = 1; target < 0 && j < d->classes; j++)
            if (cls[j] > cls[k]) k = j;
        float b[4];
        det_row_box(l, w->probs, r, w->m.width, w->m.height, b);
        const double v = det_iou(b, best.box);
        if (!(cls[k] > 0) || v <= 0 || v < most || (v == most && cls[k] <= best.score)) continue;
        most = v;
        best.cls = (int)k, best.score = cls[k], best.row = r;
        best.objectness = d->objectness >= 0 ? row[d->objectness] : 1;
    }
    *found = NULL;
    if (best.row == UINT32_MAX) return 0;
    if (!(*found = malloc(sizeof best))) return -1;
    **found = best;
    return 1;
}

/* Runs the detector on w->input, finds what to explain and explains all of
 * it in one run (one target per detection) into d. 0 (d->n may be 0:
 * nothing to explain), or -1 with the reason in err. */
static int explain_detections(worker *w, unsigned long long seed, int bar, det_result *d, char *err,
                              size_t errlen) {
    const options *o = w->o;
    const classes *c = w->cls;
    const decam_detection_layout *dl = &c->det.lib;
    const int W = w->m.width, H = w->m.height;
    *d = (det_result){.seed = seed, .stats = {.size = sizeof d->stats}};
    double t0 = now();
    if (model_scores(&w->m, w->input, 1, w->probs))
        return snprintf(err, errlen, "the detector failed: %s", w->m.error), -1;
    int target;
    resolve_target(o, c, &target); /* checked before any image */
    d->n = o->has_box ? given_box(w, target, &d->found)
                      : det_find(&c->det, w->probs, W, H, o->threshold, o->nms, target, &d->found);
    if (d->n < 0) return snprintf(err, errlen, "out of memory"), -1;
    if (d->n == 0 && o->has_box)
        return snprintf(err, errlen, "no proposal of the detector overlaps the box%s",
                        target >= 0 ? " with a score for that class" : ""),
               -1;
    if (d->n == 0) return d->seconds = now() - t0, 0;
    const size_t n = (size_t)d->n, px = (size_t)W * H;
    const int one_hot = o->has_box && target >= 0; /* a class asked for, not the row's */
    float *boxes = malloc(n * 4 * sizeof *boxes);
    float *vectors = malloc(n * dl->classes * sizeof *vectors);
    int32_t *ids = malloc(n * sizeof *ids);
    uint32_t *targets = malloc(n * sizeof *targets);
    d->maps = malloc(n * px * sizeof *d->maps);
    d->peak = malloc(n * 2 * sizeof *d->peak);
    decam_status st = boxes && vectors && ids && targets && d->maps && d->peak
                          ? DECAM_OK
                          : DECAM_ERR_OUT_OF_MEMORY;
    for (size_t i = 0; st == DECAM_OK && i < n; i++) {
        memcpy(boxes + 4 * i, d->found[i].box, sizeof d->found[i].box);
        memcpy(vectors + i * dl->classes,
               w->probs + (size_t)d->found[i].row * dl->stride + dl->class_offset,
               dl->classes * sizeof *vectors);
        ids[i] = d->found[i].cls;
        targets[i] = (uint32_t)i;
    }
    if (st == DECAM_OK)
        st = noted(w, decam_score_detections(w->ctx, dl, boxes, one_hot ? ids : NULL,
                                             one_hot ? NULL : vectors, n));
    if (st == DECAM_OK) st = noted(w, decam_set_param(w->ctx, DECAM_PARAM_SEED, (double)seed));
    w->image_start = now();
    if (!w->lock) *w->last_line = w->image_start;
    if (st == DECAM_OK)
        st = noted(w, decam_set_progress(w->ctx,
                                         bar        ? progress_bar
                                         : w->lines ? progress_lines
                                                    : NULL,
                                         w));
    if (st == DECAM_OK) {
        const decam_item item = {w->input, W, H, 3, targets, n, d->maps, &d->stats};
        st = noted(w, decam_explain_items(w->ctx, &item, 1));
        if (bar) fprintf(stderr, "\n");
    }
    free(boxes);
    free(vectors);
    free(ids);
    free(targets);
    if (st != DECAM_OK) {
        library_error(w, st, err, errlen);
        return -1;
    }
    d->seconds = now() - t0;
    for (size_t i = 0; i < n; i++) {
        const float *m = d->maps + i * px;
        size_t peak = 0;
        for (size_t j = 1; j < px; j++)
            if (m[j] > m[peak]) peak = j;
        d->peak[2 * i] = (int)(peak % (size_t)W);
        d->peak[2 * i + 1] = (int)(peak / (size_t)W);
    }
    return 0;
}

/* The panel of a detector: the image with every box, then per detection
 * its map over the image, the top 15 % outlined in white and its box in
 * its colour; side by side, scaled as write_panel() scales. */
static decam_status write_det_panel(worker *w, const det_result *d, const char *path,
                                    decam_image_format format, int synced) {
    const int W = w->m.width, H = w->m.height, side = W > H ? W : H;
    const int k = side >= 256 ? 1 : 256 / side;
    const int bw = k * W, bh = k * H, tiles = 1 + (int)d->n;
    const size_t pitch = (size_t)3 * bw * tiles, tile = (size_t)3 * bw * bh;
    float *image = malloc((size_t)bw * bh * 3 * sizeof *image);
    float *bigmap = malloc((size_t)bw * bh * sizeof *bigmap);
    uint8_t *one = malloc(tile), *panel = malloc(tile * (size_t)tiles);
    decam_ctx *ctx = w->ctx;
    static const uint8_t WHITE[3] = {255, 255, 255};
    decam_status st = image && bigmap && one && panel ? DECAM_OK : DECAM_ERR_OUT_OF_MEMORY;
    if (st == DECAM_OK)
        st = noted(
            w, decam_image_resize(ctx, w->input, W, H, 3, image, bw, bh, DECAM_RESIZE_BILINEAR));
    for (int t = 0; st == DECAM_OK && t < tiles; t++) {
        if (t == 0) {
            st = noted(w, decam_image_to_bytes(ctx, image, bw, bh, 3, one));
        } else {
            const float *map = d->maps + (size_t)(t - 1) * W * H;
            st = noted(
                w, decam_image_resize(ctx, map, W, H, 1, bigmap, bw, bh, DECAM_RESIZE_BILINEAR));
            if (st == DECAM_OK)
                st = noted(w, decam_render_overlay(ctx, image, bw, bh, 3, bigmap,
                                                   DECAM_COLORMAP_JET, 0.5f, one));
            if (st == DECAM_OK)
                st = noted(w, decam_render_contour(ctx, bigmap, bw, bh, 0.15f, WHITE, one));
        }
        for (long i = 0; st == DECAM_OK && i < d->n; i++) {
            if (t && i != t - 1) continue;
            float b[4];
            for (int j = 0; j < 4; j++)
                b[j] = d->found[i].box[j] * (float)k;
            det_draw_box(one, bw, bh, (size_t)3 * bw, b, det_colour((int)i), 2);
        }
        for (int y = 0; st == DECAM_OK && y < bh; y++)
            memcpy(panel + (size_t)y * pitch + (size_t)t * 3 * bw, one + (size_t)y * 3 * bw,
                   (size_t)3 * bw);
    }
    if (st == DECAM_OK) st = save_rgb(w, path, format, synced, panel, tiles * bw, bh);
    free(image);
    free(bigmap);
    free(one);
    free(panel);
    return st;
}

static int write_det_npy(const worker *w, const det_result *d, const char *path, char *err,
                         size_t errlen) {
    static const float none = 0;
    text t = {0};
    text_npy_stack(&t, d->maps ? d->maps : &none, (int)d->n, w->m.width, w->m.height);
    int rc = t.failed ? (snprintf(err, errlen, "out of memory"), -1)
                      : write_file_atomic(path, t.s, t.len, err, errlen);
    text_free(&t);
    return rc;
}

/* A detector's record (settings NULL: the one-image JSON report), one
 * line. */
static void json_det_record(text *t, const worker *w, const char *name, const char *file,
                            const det_result *d, const char *panel, const char *npy,
                            const char *settings) {
    const options *o = w->o;
    const int px = w->m.width * w->m.height;
    text_printf(t, "{\"image\": ");
    text_json_string(t, name);
    text_printf(t, ", \"file\": ");
    text_json_string(t, file);
    text_printf(t, ", \"detections\": [");
    for (long i = 0; i < d->n; i++) {
        const detection *e = &d->found[i];
        text_printf(t, "%s{\"box\": [", i ? ", " : "");
        for (int j = 0; j < 4; j++) {
            if (j) text_append(t, ", ", 2);
            text_json_number(t, "%.2f", e->box[j]);
        }
        text_printf(t, "], \"class\": %d, \"label\": ", e->cls);
        json_label(t, w->cls, e->cls);
        text_printf(t, ", \"score\": ");
        text_json_number(t, "%.6g", e->score);
        text_printf(t, ", \"objectness\": ");
        text_json_number(t, "%.6g", e->objectness);
        text_printf(t, ", \"map\": ");
        if (npy)
            text_json_string(t, leaf(npy));
        else
            text_append(t, "null", 4);
        text_printf(t, ", \"map_index\": %ld, \"peak\": [%d, %d], \"map_checksum\": \"%016llx\"}",
                    i, d->peak[2 * i], d->peak[2 * i + 1],
                    map_checksum(d->maps + (size_t)i * px, (size_t)px));
    }
    text_printf(t, "], \"threshold\": ");
    text_json_number(t, "%.6g", o->has_box ? NAN : o->threshold);
    text_printf(t, ", \"method\": \"%s\", \"objective\": \"%s\", \"budget\": %ld, \"seed\": %llu",
                METHODS[o->method], OBJECTIVES[o->objective], o->budget, d->seed);
    text_printf(t, ", \"queries\": %llu, \"seconds\": ", (unsigned long long)d->stats.queries);
    text_json_number(t, "%.4f", d->seconds);
    text_printf(t, ", \"model_seconds\": ");
    text_json_number(t, "%.4f", d->stats.model_seconds);
    text_printf(t, ", \"warnings\": ");
    json_warnings(t, w);
    text_printf(t, ", \"map\": ");
    if (npy)
        text_json_string(t, leaf(npy));
    else
        text_append(t, "null", 4);
    text_printf(t, ", \"panel\": ");
    text_json_string(t, leaf(panel));
    if (settings) text_printf(t, ", \"settings\": %s", settings);
    text_printf(t, "}\n");
}

/* "no detection" as one line, for an image where none scores enough. */
static void say_none(const worker *w, const char *name) {
    char a[256];
    fprintf(stderr, "%sdecam-explain: %s: no detection scores %g or more%s\n",
            w->bar ? "\r\033[K" : "", shown(name, a, sizeof a), (double)w->o->threshold,
            w->o->target_name ? " for that class" : "");
}

/* One image in an output folder: its panel, maps and record, the record
 * last. */
static int explain_image_detections(worker *w, const input *in, char *err, size_t errlen) {
    const options *o = w->o;
    det_result d;
    char *panel = output_path(o, in->name, 1, ".png");
    char *npy = output_path(o, in->name, 1, ".npy");
    char *rec = output_path(o, in->name, 1, ".json");
    char why[512], buf[256];
    text t = {0};
    int rc = -1;
    if (explain_detections(w, image_seed(o->seed, in->name), 0, &d, err, errlen)) goto done;
    if (!panel || !npy || !rec) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (d.n == 0) say_none(w, in->name);
    if (make_parent_dirs(panel, why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", shown(panel, buf, sizeof buf), why);
        goto done;
    }
    decam_status st = write_det_panel(w, &d, panel, DECAM_IMAGE_PNG, 1);
    if (st != DECAM_OK) {
        library_error(w, st, err, errlen);
        goto done;
    }
    if (write_det_npy(w, &d, npy, why, sizeof why)) {
        snprintf(err, errlen, "cannot write %s: %s", shown(npy, buf, sizeof buf), why);
        goto done;
    }
    json_det_record(&t, w, in->name, in->path, &d, panel, npy, w->settings);
    if (write_record(rec, &t, err, errlen)) goto done;
    rc = 0;
done:
    det_result_free(&d);
    text_free(&t);
    free(panel);
    free(npy);
    free(rec);
    return rc;
}

/* One image and a panel path: the panel, --map, the report and --json. */
static int explain_single_detections(worker *w) {
    const options *o = w->o;
    char err[1024], buf[256], a[64];
    det_result d;
    const int bar = !o->quiet && isatty(fileno(stderr));
    w->lines = !o->quiet && !bar;
    if (explain_detections(w, o->seed, bar, &d, err, sizeof err)) return failure("%s", err);
    int rc = 0;
    decam_status st = write_det_panel(w, &d, o->output, format_of(o->output), 0);
    if (st != DECAM_OK) {
        library_error(w, st, err, sizeof err);
        rc = failure("%s", err);
    }
    if (rc == 0 && o->map && write_det_npy(w, &d, o->map, err, sizeof err))
        rc = failure("cannot write %s: %s", shown(o->map, buf, sizeof buf), err);
    const int json_stdout = o->json && !strcmp(o->json, "-");
    text t = {0};
    if (rc == 0 && !json_stdout) {
        if (d.n == 0)
            text_printf(&t, "no detection scores %g or more%s\n", (double)o->threshold,
                        o->target_name ? " for that class" : "");
        for (long i = 0; i < d.n; i++) {
            const detection *e = &d.found[i];
            const char *name = class_name(w->cls, e->cls);
            if (!name) snprintf(a, sizeof a, "class %d", e->cls), name = a;
            text_printf(&t,
                        "detection %ld: %s, score %.4f, box [%.1f, %.1f, %.1f, %.1f], peak x "
                        "%d, y %d\n",
                        i + 1, name, e->score, e->box[0], e->box[1], e->box[2], e->box[3],
                        d.peak[2 * i], d.peak[2 * i + 1]);
        }
        if (d.n)
            text_printf(&t, "queries:     %llu in %.3f s (%.3f s in the model), %s, one run\n",
                        (unsigned long long)d.stats.queries, d.seconds, d.stats.model_seconds,
                        METHODS[o->method]);
        text_printf(&t, "panel:       %s\n", o->output);
        if (o->map)
            text_printf(&t, "map:         %s (%ld x %d x %d)\n", o->map, d.n, w->m.height,
                        w->m.width);
        rc = t.failed ? failure("out of memory") : to_stdout(t.s, t.len);
    }
    text_free(&t);
    if (rc == 0 && o->json) {
        text j = {0};
        json_det_record(&j, w, o->inputs[0], o->inputs[0], &d, o->output, o->map, NULL);
        rc = emit_json(o, &j);
    }
    det_result_free(&d);
    return rc;
}

/* ---- embedders and segmenters: a scorer between the model and the method ---- */

/* Sets the scorer of --embedder (the similarity to --reference's
 * embedding, or to the image's own) or --segmenter (--target's mean over
 * --region) for the image in w->input; its one target is 0. */
static int set_scorer(worker *w, char *err, size_t errlen) {
    const classes *c = w->cls;
    decam_status st;
    if (c->kind == KIND_EMBEDDER) {
        const float *ref = c->reference;
        if (!ref) {
            if (model_scores(&w->m, w->input, 1, w->probs))
                return snprintf(err, errlen, "the model failed: %s", w->m.error), -1;
            ref = w->probs;
        }
        st = noted(w, decam_score_similarity(w->ctx, (decam_similarity)w->o->similarity, ref,
                                             (size_t)c->outputs, 1));
    } else
        st = noted(w, decam_score_regions(w->ctx, &c->dense, &c->dense_class, c->region, 1));
    if (st != DECAM_OK) {
        library_error(w, st, err, errlen);
        return -1;
    }
    return 0;
}

static void json_path_or_null(text *t, const char *path) {
    if (path)
        text_json_string(t, leaf(path));
    else
        text_append(t, "null", 4);
}

/* The record of an embedder's or a segmenter's explanation, one line
 * (settings NULL: the one-image JSON report). */
static void json_scorer_record(text *t, const worker *w, const char *name, const char *file,
                               const result *r, const char *panel, const char *npy,
                               const char *settings) {
    const options *o = w->o;
    const classes *c = w->cls;
    const decam_stats *s = &r->stats;
    text_printf(t, "{\"image\": ");
    text_json_string(t, name);
    text_printf(t, ", \"file\": ");
    text_json_string(t, file);
    text_printf(t, ", \"scorer\": \"%s\"", KINDS[c->kind]);
    if (c->kind == KIND_EMBEDDER) {
        text_printf(t, ", \"reference\": ");
        if (o->reference)
            text_json_string(t, o->reference);
        else
            text_append(t, "null", 4);
        text_printf(t, ", \"similarity\": \"%s\", \"dimensions\": %d", SIMILARITIES[o->similarity],
                    c->outputs);
    } else {
        text_printf(t, ", \"class\": %u, \"label\": ", (unsigned)c->dense_class);
        json_label(t, c, (int)c->dense_class);
        text_printf(t, ", \"region\": ");
        if (o->region_text)
            text_printf(t, "[%.9g, %.9g, %.9g, %.9g]", o->region[0], o->region[1], o->region[2],
                        o->region[3]);
        else
            text_printf(t, "\"all\"");
        text_printf(t, ", \"cells\": [%d, %d, %d, %d], \"grid\": [%d, %d]", c->cells[0],
                    c->cells[1], c->cells[2], c->cells[3], (int)c->dense.width,
                    (int)c->dense.height);
    }
    text_printf(t, ", \"score\": ");
    text_json_number(t, "%.6g", s->score_full);
    text_printf(t, ", \"method\": \"%s\", \"objective\": \"%s\", \"budget\": %ld, \"seed\": %llu",
                METHODS[o->method], OBJECTIVES[o->objective], o->budget, r->seed);
    text_printf(t, ", \"queries\": %llu, \"score_keep\": ", (unsigned long long)s->queries);
    text_json_number(t, "%.6g", s->score_keep);
    text_printf(t, ", \"score_drop\": ");
    text_json_number(t, "%.6g", s->score_drop);
    text_printf(t, ", \"seconds\": ");
    text_json_number(t, "%.4f", r->seconds);
    text_printf(t, ", \"model_seconds\": ");
    text_json_number(t, "%.4f", s->model_seconds);
    if (o->metrics) {
        text_printf(t, ", \"deletion_auc\": ");
        text_json_number(t, "%.6g", r->metrics.deletion_auc);
        text_printf(t, ", \"insertion_auc\": ");
        text_json_number(t, "%.6g", r->metrics.insertion_auc);
        text_printf(t, ", \"metric_queries\": %llu", (unsigned long long)r->metrics.queries);
    }
    text_printf(t, ", \"warnings\": ");
    json_warnings(t, w);
    text_printf(t, ", \"peak\": [%d, %d], \"map_checksum\": \"%016llx\", \"map\": ", r->peak_x,
                r->peak_y, r->checksum);
    json_path_or_null(t, npy);
    text_printf(t, ", \"panel\": ");
    json_path_or_null(t, panel);
    if (settings) text_printf(t, ", \"settings\": %s", settings);
    text_printf(t, "}\n");
}

/* One image in an output folder: its panel, map and record. */
static int explain_image_scorer(worker *w, const input *in, char *err, size_t errlen) {
    result r = {.rank = 1};
    static const int zero = 0;
    if (set_scorer(w, err, errlen) ||
        explain_targets(w, &zero, 1, image_seed(w->o->seed, in->name), 0, &r, err, errlen))
        return -1;
    return write_outputs(w, in, &r, err, errlen);
}

/* One image and a panel path: the panel, --map, the report and --json. */
static int explain_single_scorer(worker *w) {
    const options *o = w->o;
    const classes *c = w->cls;
    char err[1024], buf[256], a[64];
    result r = {.rank = 1};
    static const int zero = 0;
    const int bar = !o->quiet && isatty(fileno(stderr));
    w->lines = !o->quiet && !bar;
    if (set_scorer(w, err, sizeof err) ||
        explain_targets(w, &zero, 1, o->seed, bar, &r, err, sizeof err))
        return failure("%s", err);
    decam_status st = write_panel(w, o->output, format_of(o->output), 0);
    if (st != DECAM_OK) {
        library_error(w, st, err, sizeof err);
        return failure("%s", err);
    }
    if (o->map && write_npy(w, o->map, err, sizeof err))
        return failure("cannot write %s: %s", shown(o->map, buf, sizeof buf), err);
    const int json_stdout = o->json && !strcmp(o->json, "-");
    text t = {0};
    int rc = 0;
    if (!json_stdout) {
        const decam_stats *s = &r.stats;
        if (c->kind == KIND_EMBEDDER) {
            text_printf(&t, "explained:   the %s similarity of its %d-float embedding to ",
                        SIMILARITIES[o->similarity], c->outputs);
            if (o->reference)
                text_printf(&t, "%s's\n", shown(o->reference, buf, sizeof buf));
            else
                text_printf(&t, "its own\n");
            text_printf(&t, "similarity:  %.4f\n", s->score_full);
        } else {
            const char *name = class_name(c, (int)c->dense_class);
            if (!name) snprintf(a, sizeof a, "class %u", (unsigned)c->dense_class), name = a;
            text_printf(&t,
                        "explained:   %s, its mean over cells [%d, %d, %d, %d) of the %d x %d "
                        "output, score %.4f\n",
                        name, c->cells[0], c->cells[1], c->cells[2], c->cells[3],
                        (int)c->dense.width, (int)c->dense.height, s->score_full);
        }
        text_printf(&t, "queries:     %llu in %.3f s (%.3f s in the model), %s\n",
                    (unsigned long long)s->queries, s->model_seconds + s->library_seconds,
                    s->model_seconds, METHODS[o->method]);
        text_printf(&t, "map region:  kept %.4f, removed %.4f\n", s->score_keep, s->score_drop);
        if (o->metrics)
            text_printf(&t, "metrics:     deletion AUC %.4f, insertion AUC %.4f (%llu queries)\n",
                        r.metrics.deletion_auc, r.metrics.insertion_auc,
                        (unsigned long long)r.metrics.queries);
        text_printf(&t, "peak:        x %d, y %d\n", r.peak_x, r.peak_y);
        text_printf(&t, "panel:       %s\n", o->output);
        if (o->map)
            text_printf(&t, "map:         %s (checksum %016llx)\n", o->map, r.checksum);
        else
            text_printf(&t, "map:         checksum %016llx (--map writes it)\n", r.checksum);
        rc = t.failed ? failure("out of memory") : to_stdout(t.s, t.len);
    }
    text_free(&t);
    if (rc == 0 && o->json) {
        text j = {0};
        json_scorer_record(&j, w, o->inputs[0], o->inputs[0], &r, o->output, o->map, NULL);
        rc = emit_json(o, &j);
    }
    return rc;
}

static int explain_image(worker *w, const input *in, int bar, char *err, size_t errlen) {
    const options *o = w->o;
    w->name = in->name;
    w->bar = bar;
    w->n_warnings = 0;
    decam_status st = prepare_file(w, in->path);
    if (st != DECAM_OK) {
        library_error(w, st, err, errlen);
        return -1;
    }
    if (w->cls->detector) return explain_image_detections(w, in, err, errlen);
    if (w->cls->kind >= KIND_EMBEDDER) return explain_image_scorer(w, in, err, errlen);
    /* --top-k K: the K best classes from one run of the budget. */
    const int k = (int)o->top_k;
    const size_t px = (size_t)w->m.width * w->m.height;
    int *order = malloc((size_t)k * sizeof *order);
    result *r = calloc((size_t)k, sizeof *r);
    if (!order || !r) {
        free(order);
        free(r);
        return snprintf(err, errlen, "out of memory"), -1;
    }
    int fixed, rc;
    resolve_target(o, w->cls, &fixed); /* checked before any image; then k is 1 */
    rc = rank_classes(w, order, k, err, errlen);
    const int predicted = order[0];
    if (rc == 0 && fixed >= 0) order[0] = fixed;
    if (rc == 0)
        rc = explain_targets(w, order, k, image_seed(o->seed, in->name), 0, r, err, errlen);
    for (int i = 0; rc == 0 && i < k; i++) {
        r[i].rank = i + 1;
        r[i].predicted = predicted;
        if (i) r[i].stats.score_full = w->probs[order[i]]; /* the unmasked image's */
        w->map = w->maps + (size_t)i * px;
        rc = write_outputs(w, in, &r[i], err, errlen);
    }
    w->map = w->maps;
    free(order);
    free(r);
    return rc;
}

/* The time the images left should take, as M:SS, from those explained
 * (or failed) so far; "--:--" before the first. */
static void eta_text(const job_state *s, char *eta, size_t n) {
    const size_t worked = s->explained + s->failed, left = s->in->n - s->finished;
    snprintf(eta, n, "--:--");
    if (worked > 0) {
        double secs = (now() - s->start) / (double)worked * (double)left;
        snprintf(eta, n, "%d:%02d", (int)(secs / 60), (int)fmod(secs, 60));
    }
}

/* Off a terminal: one line per image done (under s->lock). */
static void progress_line(job_state *s) {
    char eta[32];
    eta_text(s, eta, sizeof eta);
    s->last_line = now();
    fprintf(stderr,
            "decam-explain: %zu/%zu images (%zu explained, %zu skipped, %zu failed), %.1f s, "
            "ETA %s\n",
            s->finished, s->in->n, s->explained, s->skipped, s->failed, s->last_line - s->start,
            eta);
}

static void draw_bar(const job_state *s) {
    const size_t total = s->in->n;
    char eta[32];
    eta_text(s, eta, sizeof eta);
    int width = 30, filled = total ? (int)(width * s->finished / total) : width;
    fprintf(stderr, "\r[%-*.*s] %zu/%zu images, ETA %s ", width, filled,
            "##############################", s->finished, total, eta);
}

static void *job_main(void *arg) {
    job_state *s = arg;
    worker w;
    char err[1024];
    int ok = worker_init(&w, s->o, s->cls, err, sizeof err) == 0;
    w.settings = s->settings;
    w.lines = s->lines;
    w.lock = &s->lock;
    w.last_line = &s->last_line;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        size_t i = s->next++;
        pthread_mutex_unlock(&s->lock);
        if (i >= s->in->n) break;
        const input *in = &s->in->v[i];
        int skipped = s->o->resume && resumable(s->o, s->settings, in, s->bar, &s->lock);
        int failed = 0;
        if (!skipped) failed = !ok || explain_image(&w, in, s->bar, err, sizeof err);
        pthread_mutex_lock(&s->lock);
        if (failed) {
            char buf[256];
            s->errors[i] = strdup(err);
            s->failed++;
            fprintf(stderr, "%sdecam-explain: %s: %s\n", s->bar ? "\r\033[K" : "",
                    shown(in->path, buf, sizeof buf), err);
        } else {
            s->done[i] = skipped ? 2 : 1;
            skipped ? s->skipped++ : s->explained++;
        }
        s->finished++;
        if (s->bar) draw_bar(s);
        if (s->lines) progress_line(s);
        pthread_mutex_unlock(&s->lock);
    }
    worker_free(&w);
    return NULL;
}

/* DIR/summary.jsonl: every record in input order, and a line for each
 * image that failed. */
static int write_summary(const job_state *s, const char *path) {
    const options *o = s->o;
    text t = {0};
    char err[512], buf[256];
    int rc = 0, unreadable = 0;
    for (size_t i = 0; i < s->in->n && rc == 0; i++) {
        const input *in = &s->in->v[i];
        if (s->errors[i] || !s->done[i]) {
            text_printf(&t, "{\"image\": ");
            text_json_string(&t, in->name);
            text_printf(&t, ", \"file\": ");
            text_json_string(&t, in->path);
            text_printf(&t, ", \"error\": ");
            text_json_string(&t, s->errors[i] ? s->errors[i] : "not explained");
            text_printf(&t, "}\n");
            continue;
        }
        /* Each record checked again: the summary is one JSON line per
         * record, whatever happened to the files. */
        for (int r = 1; r <= o->top_k && rc == 0; r++) {
            char *rec = output_path(o, in->name, r, ".json");
            text one = {0};
            if (!rec)
                rc = failure("out of memory");
            else if (read_record(o, rec, &one, err, sizeof err) == 0)
                text_append(&t, one.s, one.len);
            else {
                text_printf(&t, "{\"image\": ");
                text_json_string(&t, in->name);
                text_printf(&t, ", \"file\": ");
                text_json_string(&t, in->path);
                char why[768];
                snprintf(why, sizeof why, "its record %s: %s", leaf(rec), err);
                text_printf(&t, ", \"rank\": %d, \"error\": ", r);
                text_json_string(&t, why);
                text_printf(&t, "}\n");
                fprintf(stderr, "decam-explain: %s: %s\n", shown(rec, buf, sizeof buf), err);
                unreadable++;
            }
            text_free(&one);
            free(rec);
        }
    }
    if (rc == 0 && t.failed) rc = failure("out of memory");
    if (rc == 0 && write_file_atomic(path, t.s ? t.s : "", t.len, err, sizeof err))
        rc = failure("cannot write %s: %s", shown(path, buf, sizeof buf), err);
    if (rc == 0 && unreadable) rc = failure("%d records could not be read back", unreadable);
    text_free(&t);
    return rc;
}

static int explain_many(const options *o, const classes *cls, const input_list *in) {
    char buf[256], why[256];
    char *summary =
        output_path(&(options){.output = o->output, .top_k = 1}, "summary", 1, ".jsonl");
    if (!summary) return failure("out of memory");
    /* The folder and the ones leading to it (-o runs/today/ is fine). */
    if (make_parent_dirs(summary, why, sizeof why) || !is_folder(o->output)) {
        free(summary);
        if (!is_folder(o->output) && exists(o->output))
            return failure("%s is not a folder", shown(o->output, buf, sizeof buf));
        return failure("cannot create %s: %s", shown(o->output, buf, sizeof buf), why);
    }
    text settings = {0};
    settings_json(&settings, o, cls);
    if (settings.failed) {
        free(summary);
        return failure("out of memory");
    }
    job_state s = {.o = o,
                   .settings = settings.s,
                   .cls = cls,
                   .in = in,
                   .start = now(),
                   .bar = !o->quiet && isatty(fileno(stderr)),
                   .lines = !o->quiet && !isatty(fileno(stderr))};
    s.last_line = s.start;
    s.errors = calloc(in->n ? in->n : 1, sizeof *s.errors);
    s.done = calloc(in->n ? in->n : 1, 1);
    if (!summary || !s.errors || !s.done) {
        free(summary);
        text_free(&settings);
        free(s.errors);
        free(s.done);
        return failure("out of memory");
    }
    pthread_mutex_init(&s.lock, NULL);
    if (s.bar) draw_bar(&s);
    const int jobs = (size_t)o->jobs > in->n ? (int)(in->n ? in->n : 1) : (int)o->jobs;
    pthread_t *threads = calloc((size_t)jobs, sizeof *threads);
    int started = 0;
    for (; threads && started < jobs; started++)
        if (pthread_create(&threads[started], NULL, job_main, &s) != 0) break;
    if (started == 0) job_main(&s); /* no thread could start: do the work here */
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    pthread_mutex_destroy(&s.lock);
    if (s.bar) fprintf(stderr, "\n");
    int rc = write_summary(&s, summary);
    if (rc == 0) {
        text t = {0};
        text_printf(&t,
                    "%zu image%s: %zu explained, %zu skipped (outputs exist), %zu failed, in %.1f "
                    "s; summary ",
                    in->n, in->n == 1 ? "" : "s", s.explained, s.skipped, s.failed,
                    now() - s.start);
        text_append(&t, summary, strlen(summary));
        text_append(&t, "\n", 1);
        rc = t.failed ? failure("out of memory") : to_stdout(t.s, t.len);
        text_free(&t);
    }
    if (rc == 0 && s.failed) rc = failure("%zu of %zu images failed", s.failed, in->n);
    for (size_t i = 0; i < in->n; i++)
        free(s.errors[i]);
    free(s.errors);
    free(s.done);
    free(summary);
    text_free(&settings);
    return rc;
}

/* ---- main ------------------------------------------------------------------------- */

/* Keeps file descriptors 0-2 open, so that no file we open becomes
 * standard output by accident; remembers that stdout was closed. */
static void guard_std_fds(void) {
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        if (fd == 1) stdout_closed = 1;
        int got = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (got >= 0 && got != fd) close(got);
    }
}

static int collect_inputs(const options *o, input_list *in) {
    char err[768];
    for (int i = 0; i < o->n_inputs; i++) {
        const char *p = o->inputs[i];
        int skipped = 0, rc;
        if (o->many && is_folder(p))
            rc = inputs_add_folder(in, p, o->ext, o->output, &skipped, err, sizeof err);
        else
            rc = inputs_add_file(in, p, err, sizeof err);
        if (rc == -2) return usage_error("%s", err);
        if (rc) return failure("%s", err);
        if (skipped) {
            /* Else each run would explain the last run's panels. */
            char a[256];
            fprintf(stderr, "decam-explain: not searching %s for images: it is the output folder\n",
                    shown(o->output, a, sizeof a));
        }
    }
    for (int i = 0; i < o->n_lists; i++)
        if (inputs_add_list(in, o->lists[i], err, sizeof err)) return failure("%s", err);
    if (o->many && in->n == 0) return failure("no images found (extensions %s)", o->ext);
    if (inputs_check_unique(in, err, sizeof err)) return usage_error("%s", err);
    return 0;
}

/* --segmenter: the output's grid from its shape (N x C x H x W, or
 * C x H x W), and the cells of --region (pixels of the input) on it:
 * every cell the region overlaps. 0 or the exit status. */
static int dense_setup(const options *o, classes *cls, const int *shape, int dims) {
    char buf[256];
    if (dims < 3 || (dims == 4 && shape[0] != 1) || dims > 4 ||
        (long long)shape[dims - 3] * shape[dims - 2] * shape[dims - 1] != cls->outputs)
        return failure("%s: the output is not N x C x H x W (a segmenter's classes by rows "
                       "by columns): it has %d dimensions",
                       shown(o->segmenter, buf, sizeof buf), dims);
    const int C = shape[dims - 3], gh = shape[dims - 2], gw = shape[dims - 1];
    if (C > 65536) return failure("%s: %d classes, more than 65536", o->segmenter, C);
    cls->dense = (decam_dense_layout){sizeof cls->dense, gw, gh, C, DECAM_LAYOUT_CHW};
    cls->targets = C;
    int *b = cls->cells;
    b[0] = b[1] = 0, b[2] = gw, b[3] = gh;
    if (o->region_text) {
        const float *r = o->region;
        if (r[2] > (float)o->width || r[3] > (float)o->height)
            return usage_error("--region %s lies outside the %d x %d input", o->region_text,
                               o->width, o->height);
        b[0] = (int)floor(r[0] * gw / o->width), b[1] = (int)floor(r[1] * gh / o->height);
        b[2] = (int)ceil(r[2] * gw / o->width), b[3] = (int)ceil(r[3] * gh / o->height);
    }
    cls->region = calloc((size_t)gw * gh, 1);
    if (!cls->region) return failure("out of memory");
    for (int y = b[1]; y < b[3]; y++)
        memset(cls->region + (size_t)y * gw + b[0], 1, (size_t)(b[2] - b[0]));
    return 0;
}

/* --embedder --reference: its embedding, the image prepared as the
 * inputs are. 0 or the exit status. */
static int reference_setup(const options *o, classes *cls) {
    worker w;
    char err[1024], buf[256];
    int rc = 0;
    if (access(o->reference, R_OK) != 0)
        return failure("cannot read %s: %s", shown(o->reference, buf, sizeof buf), strerror(errno));
    cls->reference = malloc((size_t)cls->outputs * sizeof *cls->reference);
    if (!cls->reference) return failure("out of memory");
    if (worker_init(&w, o, cls, err, sizeof err))
        rc = failure("%s", err);
    else {
        decam_status st = prepare_file(&w, o->reference);
        if (st != DECAM_OK) {
            library_error(&w, st, err, sizeof err);
            rc = failure("the reference %s: %s", shown(o->reference, buf, sizeof buf), err);
        } else if (model_scores(&w.m, w.input, 1, cls->reference))
            rc = failure("the model failed on the reference %s: %s",
                         shown(o->reference, buf, sizeof buf), w.m.error);
    }
    worker_free(&w);
    return rc;
}

/* Opens the model once in the main thread: the number of outputs, the
 * labels, the target and every parameter checked before any image. */
static int setup(const options *o, classes *cls) {
    model m;
    char err[768];
    if (model_open(o, &m, err, sizeof err)) return failure("%s", err);
    int rc = model_probe(&m) ? failure("the model failed on a test image: %s", m.error) : 0;
    cls->outputs = cls->targets = m.outputs;
    cls->shapes = m.net != NULL;
    cls->kind = o->kind;
    const int row = m.row, dims = m.dims;
    int shape[8];
    memcpy(shape, m.shape, sizeof shape);
    model_close(&m);
    if (rc) return rc;
    if (o->kind == KIND_SEGMENTER && (rc = dense_setup(o, cls, shape, dims))) return rc;
    if (o->detector) {
        char buf[256];
        cls->detector = 1;
        det_layout_parse(o->det_layout, &cls->det, err, sizeof err); /* checked in parse() */
        if (det_layout_fit(&cls->det, (size_t)cls->outputs, row, err, sizeof err))
            return failure("%s: %s", shown(o->detector, buf, sizeof buf), err);
        cls->targets = (int)cls->det.lib.classes;
    }
    if (o->labels) {
        if ((rc = labels_load(o->labels, &cls->names))) return rc;
        if (cls->names.n != cls->targets)
            return usage_error("%s has %d names, the model %d %s", o->labels, cls->names.n,
                               cls->targets, cls->detector ? "classes" : "outputs");
        cls->shapes = 0;
    }
    if (o->top_k > cls->outputs)
        return usage_error("--top-k %ld: the model has %d outputs", o->top_k, cls->outputs);
    int target;
    if ((rc = resolve_target(o, cls, &target))) return rc;
    cls->dense_class = target < 0 ? 0 : (uint32_t)target;
    decam_ctx *ctx = decam_create();
    if (!ctx) return failure("out of memory");
    rc = apply_params(ctx, o, cls->outputs, err, sizeof err) ? usage_error("%s", err) : 0;
    decam_free(ctx);
    if (rc == 0 && o->kind == KIND_EMBEDDER && o->reference) rc = reference_setup(o, cls);
    return rc;
}

static int run(const options *o) {
    classes cls = {0};
    input_list in = {0};
    int rc = collect_inputs(o, &in);
    if (rc == 0) rc = setup(o, &cls);
#ifdef DECAM_EXPLAIN_DNN
    /* Parallel jobs replace OpenCV's own threads, which would fight over
     * the same cores. */
    if (rc == 0 && (o->model || o->detector) && o->jobs > 1) dnn_set_threads(1);
#endif
    if (rc == 0 && o->many)
        rc = explain_many(o, &cls, &in);
    else if (rc == 0) {
        worker w;
        char err[768];
        rc = worker_init(&w, o, &cls, err, sizeof err) ? failure("%s", err) : explain_single(&w);
        worker_free(&w);
    }
    labels_free(&cls.names);
    free(cls.reference);
    free(cls.region);
    inputs_free(&in);
    return rc;
}

static int print_version(void) {
    char s[256];
    snprintf(s, sizeof s, "decam-explain %s (libdecam %s), OpenCV DNN: %s\n", DECAM_VERSION_STRING,
             decam_version_string(),
#ifdef DECAM_EXPLAIN_DNN
             "yes"
#else
             "no"
#endif
    );
    return to_stdout(s, strlen(s));
}

int main(int argc, char **argv) {
    guard_std_fds();
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is a write error with a message */
    options o;
    int rc = parse(argc, argv, &o);
    if (rc == -1)
        rc = to_stdout(USAGE, sizeof USAGE - 1) || to_stdout(USAGE_MORE, sizeof USAGE_MORE - 1);
    else if (rc == -2)
        rc = print_version();
    else if (rc == 0)
        rc = run(&o);
    free(o.inputs);
    free(o.lists);
    free(o.det_files);
    return rc;
}
