/*
 * decam-opencv - explains the decision of any classifier OpenCV's DNN module
 * can run (ONNX, Caffe, TensorFlow, ...) with libdecam, and writes an
 * image | saliency map | overlay panel.
 *
 *   decam-opencv model.onnx image.jpg -o panel.png
 *   decam-opencv resnet50.onnx cat.jpg --mean 0.485,0.456,0.406 \
 *       --std 0.229,0.224,0.225 --softmax -o panel.png
 *   decam-opencv net.caffemodel --config deploy.prototxt cat.jpg \
 *       --scale 255 --mean 104,117,123 --bgr -o panel.png
 *
 * The host is C++ because OpenCV's DNN API is; libdecam is called through
 * its plain C API, and the model callback catches every C++ exception so
 * that none crosses the C library. Run `decam-opencv --help` for the
 * options. Exit status: 0 on success, 1 when something fails, 2 for wrong
 * usage.
 */
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <opencv2/dnn.hpp>

#include "decam.h"
#include "decam_io.h"

static const char USAGE[] =
    "usage: decam-opencv [options] MODEL IMAGE\n"
    "\n"
    "Explains a classifier's score for one class on a PNG or JPEG image with\n"
    "libdecam; MODEL is anything cv::dnn::readNet() reads (.onnx; .caffemodel\n"
    "with --config deploy.prototxt; ...). The image is resized to the input\n"
    "size; pixel values v in [0,1] become (v * scale - mean) / std per channel.\n"
    "\n"
    "options:\n"
    "  -o, --output PATH   the panel, PNG (default decam-opencv.png)\n"
    "      --config PATH   the network's description (Caffe .prototxt, ...)\n"
    "      --size WxH      input size, or N for N x N (default 224)\n"
    "      --scale X       multiply [0,1] values by X first (default 1; 255 for\n"
    "                      models trained on 0..255)\n"
    "      --mean A,B,C    subtracted per channel, in the model's channel order\n"
    "                      (default 0); one value for all channels\n"
    "      --std A,B,C     then divided by, per channel (default 1)\n"
    "      --bgr           feed channels as BGR (Caffe); default RGB\n"
    "      --softmax       explain softmax probabilities of the outputs (for\n"
    "                      models that output logits)\n"
    "  -t, --target N      output to explain (default: the largest)\n"
    "  -m, --method NAME   decam (default), rise or occlusion\n"
    "  -b, --budget N      model queries to spend (default 1000)\n"
    "  -g, --grid N        DE-CAM grid, N x N cells (default 7)\n"
    "  -s, --seed N        random seed (default 0); same seed, same map\n"
    "      --batch N       most images per forward pass; 0 = a generation\n"
    "                      (default), 1 for models with a fixed batch of 1\n"
    "      --scores        print the model's outputs for the image and exit\n"
    "  -q, --quiet         no progress bar (there is none unless stderr is a\n"
    "                      terminal)\n"
    "  -h, --help          this text\n";

struct Options {
    const char *model = nullptr, *image = nullptr, *config = "";
    const char *output = "decam-opencv.png";
    int width = 224, height = 224, target = -1, method = 0, grid = 7, batch = 0;
    long budget = 1000, seed = 0;
    float scale = 1, mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
    bool bgr = false, softmax = false, scores = false, quiet = false;
};

/* What the model callback needs. */
struct Host {
    cv::dnn::Net net;
    cv::Mat blob; /* the network's input, reused from batch to batch */
    const Options *opt;
    int outputs = 0;
    std::string error; /* why the callback failed */
};

static int usage_error(const std::string &what) {
    std::fprintf(stderr, "decam-opencv: %s (see decam-opencv --help)\n", what.c_str());
    return 2;
}

static bool parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = std::strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static bool parse_float(const char *s, float *out) {
    char *end;
    *out = std::strtof(s, &end);
    return end != s && *end == '\0' && std::isfinite(*out);
}

/* "a,b,c" or "a" (copied to all three). */
static bool parse_triple(const char *s, float v[3]) {
    int n = 0;
    for (const char *p = s; n < 3; n++) {
        char *end;
        v[n] = std::strtof(p, &end);
        if (end == p || !std::isfinite(v[n])) return false;
        if (*end == '\0') break;
        if (*end != ',') return false;
        p = end + 1;
    }
    if (n == 0) v[1] = v[2] = v[0];
    return n == 0 || n == 2;
}

static bool parse_size(const char *s, int *w, int *h) {
    long a, b;
    const char *x = std::strchr(s, 'x');
    if (!x) {
        if (!parse_long(s, 1, 65536, &a)) return false;
        *w = *h = (int)a;
        return true;
    }
    std::string first(s, x);
    if (!parse_long(first.c_str(), 1, 65536, &a) || !parse_long(x + 1, 1, 65536, &b)) return false;
    *w = (int)a;
    *h = (int)b;
    return true;
}

/* Returns 0, an exit status, or -1 for --help. */
static int parse(int argc, char **argv, Options *o) {
    static const char *const methods[] = {"decam", "rise", "occlusion"};
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help") return -1;
        bool *flag = a == "--bgr"                  ? &o->bgr
                     : a == "--softmax"            ? &o->softmax
                     : a == "--scores"             ? &o->scores
                     : a == "-q" || a == "--quiet" ? &o->quiet
                                                   : nullptr;
        if (flag) {
            *flag = true;
            continue;
        }
        if (a.size() < 2 || a[0] != '-') {
            if (o->image) return usage_error("too many arguments ('" + a + "')");
            (o->model ? o->image : o->model) = argv[i];
            continue;
        }
        if (i + 1 >= argc) return usage_error("option " + a + " needs a value");
        const char *v = argv[++i];
        long n;
        bool ok = true;
        if (a == "-o" || a == "--output")
            o->output = v;
        else if (a == "--config")
            o->config = v;
        else if (a == "--size")
            ok = parse_size(v, &o->width, &o->height);
        else if (a == "--scale")
            ok = parse_float(v, &o->scale);
        else if (a == "--mean")
            ok = parse_triple(v, o->mean);
        else if (a == "--std")
            ok = parse_triple(v, o->std) && o->std[0] != 0 && o->std[1] != 0 && o->std[2] != 0;
        else if (a == "-t" || a == "--target")
            ok = parse_long(v, 0, 65535, &n) && (o->target = (int)n, true);
        else if (a == "-m" || a == "--method") {
            ok = false;
            for (int k = 0; k < 3; k++)
                if (!std::strcmp(v, methods[k])) ok = true, o->method = k;
        } else if (a == "-b" || a == "--budget")
            ok = parse_long(v, 1, 1000000000L, &o->budget);
        else if (a == "-g" || a == "--grid")
            ok = parse_long(v, 1, 64, &n) && (o->grid = (int)n, true);
        else if (a == "-s" || a == "--seed")
            ok = parse_long(v, 0, 2147483647L, &o->seed);
        else if (a == "--batch")
            ok = parse_long(v, 0, 65536, &n) && (o->batch = (int)n, true);
        else
            return usage_error("unknown option '" + a + "'");
        if (!ok) return usage_error("bad value '" + std::string(v) + "' for " + a);
    }
    if (!o->image) return usage_error(o->model ? "no image given" : "no model given");
    return 0;
}

/* n planar RGB images in [0,1] (the context's layout, CHW) -> the network's
 * input blob, (n, 3, height, width), preprocessed. */
static void make_blob(const Options &o, const float *images, size_t n, cv::Mat &blob) {
    const int dims[4] = {(int)n, 3, o.height, o.width};
    blob.create(4, dims, CV_32F); /* allocates only when the size changes */
    const size_t plane = (size_t)o.width * o.height;
    float *dst = blob.ptr<float>();
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) {
            const float *src = images + (i * 3 + (o.bgr ? 2 - c : c)) * plane;
            float *d = dst + (i * 3 + c) * plane;
            for (size_t j = 0; j < plane; j++)
                d[j] = (src[j] * o.scale - o.mean[c]) / o.std[c];
        }
}

/* The network's outputs for n images, one row of floats per image. */
static cv::Mat forward(Host &h, const float *images, size_t n) {
    make_blob(*h.opt, images, n, h.blob);
    h.net.setInput(h.blob);
    cv::Mat out = h.net.forward().reshape(1, (int)n); /* (n, k) whatever the trailing dims */
    if (h.opt->softmax)
        for (int i = 0; i < out.rows; i++) {
            float *r = out.ptr<float>(i);
            float top = *std::max_element(r, r + out.cols);
            double sum = 0;
            for (int k = 0; k < out.cols; k++)
                sum += r[k] = std::exp(r[k] - top);
            for (int k = 0; k < out.cols; k++)
                r[k] = (float)(r[k] / sum);
        }
    return out;
}

extern "C" {
/* The libdecam model callback: no C++ exception may leave it. */
static int model_fn(void *user, const float *images, size_t n, float *scores) {
    Host *h = static_cast<Host *>(user);
    try {
        cv::Mat out = forward(*h, images, n);
        if (out.cols != h->outputs) {
            h->error = "the network gave " + std::to_string(out.cols) + " outputs per image for " +
                       std::to_string(n) + " images, " + std::to_string(h->outputs) +
                       " for one (use --batch 1 for a model with a fixed batch size)";
            return 1;
        }
        std::memcpy(scores, out.ptr<float>(), n * (size_t)h->outputs * sizeof *scores);
        return 0;
    } catch (const std::exception &e) {
        h->error = e.what();
        return 1;
    }
}

static int progress_bar(void *, const decam_progress *p) {
    const int width = 40, filled = p->budget ? (int)(width * p->queries / p->budget) : 0;
    std::fprintf(stderr, "\r[%-*.*s] %llu/%llu queries", width, filled,
                 "########################################", (unsigned long long)p->queries,
                 (unsigned long long)p->budget);
    return 0;
}
}

/* The panel, scaled up by a whole factor so that a person can see it. */
static decam_status write_panel(decam_ctx *ctx, const Options &o, const float *image,
                                const float *map) {
    const int k = std::max(1, 256 / std::max(o.width, o.height));
    const int w = k * o.width, h = k * o.height;
    std::vector<float> big((size_t)w * h * 3), bigmap((size_t)w * h);
    std::vector<uint8_t> panel((size_t)w * h * 9);
    decam_status st = decam_image_resize(ctx, image, o.width, o.height, 3, big.data(), w, h,
                                         DECAM_RESIZE_BILINEAR);
    if (st == DECAM_OK)
        st = decam_image_resize(ctx, map, o.width, o.height, 1, bigmap.data(), w, h,
                                DECAM_RESIZE_BILINEAR);
    if (st == DECAM_OK)
        st = decam_render_panel(ctx, big.data(), w, h, 3, bigmap.data(), DECAM_COLORMAP_JET, 0.5f,
                                0.15f, panel.data());
    if (st == DECAM_OK)
        st = decam_image_save(ctx, o.output, DECAM_IMAGE_PNG, panel.data(), 3 * w, h, 3);
    return st;
}

/* The image file, resized to the input size, planar RGB in [0,1]. */
static decam_status load_input(decam_ctx *ctx, const Options &o, std::vector<float> &input) {
    float *pixels = nullptr;
    int w, h;
    decam_status st = decam_image_load(ctx, o.image, 3, &pixels, &w, &h);
    input.resize((size_t)o.width * o.height * 3);
    if (st == DECAM_OK)
        st = decam_image_resize(ctx, pixels, w, h, 3, input.data(), o.width, o.height,
                                DECAM_RESIZE_AREA);
    decam_image_free(ctx, pixels);
    return st;
}

/* A failure of the library: its message, and the callback's reason. */
static int failed(decam_ctx *ctx, decam_status st, const Host &host) {
    std::fprintf(stderr, "decam-opencv: %s: %s%s%s\n", decam_status_string(st), decam_errmsg(ctx),
                 host.error.empty() ? "" : ": ", host.error.c_str());
    return 1;
}

static int explain(const Options &o, Host &host, decam_ctx *ctx) {
    std::vector<float> input, map((size_t)o.width * o.height);
    decam_status st = load_input(ctx, o, input);
    if (st != DECAM_OK) return failed(ctx, st, host);

    /* One forward pass of the image alone: the number of outputs and the
     * predicted one. */
    cv::Mat probe = forward(host, input.data(), 1);
    host.outputs = probe.cols;
    if (o.scores) {
        for (int k = 0; k < probe.cols; k++)
            std::printf("%s%.9g", k ? " " : "", (double)probe.at<float>(0, k));
        std::printf("\n");
        return 0;
    }
    cv::Point top;
    cv::minMaxLoc(probe, nullptr, nullptr, nullptr, &top);
    const int target = o.target >= 0 ? o.target : top.x;

    st = decam_set_model(ctx, model_fn, &host);
    const struct {
        decam_param key;
        double value;
    } params[] = {{DECAM_PARAM_N_OUTPUTS, (double)host.outputs},
                  {DECAM_PARAM_TARGET, (double)target},
                  {DECAM_PARAM_METHOD, (double)o.method},
                  {DECAM_PARAM_BUDGET, (double)o.budget},
                  {DECAM_PARAM_GRID_WIDTH, (double)o.grid},
                  {DECAM_PARAM_GRID_HEIGHT, (double)o.grid},
                  {DECAM_PARAM_SEED, (double)o.seed},
                  {DECAM_PARAM_BATCH_SIZE, (double)o.batch}};
    for (const auto &p : params)
        if (st == DECAM_OK) st = decam_set_param(ctx, p.key, p.value);
    const bool bar = !o.quiet && isatty(fileno(stderr));
    if (bar && st == DECAM_OK) st = decam_set_progress(ctx, progress_bar, nullptr);
    if (st == DECAM_OK) st = decam_explain(ctx, input.data(), o.width, o.height, 3, map.data());
    if (bar) std::fprintf(stderr, "\n");
    if (st == DECAM_OK) st = write_panel(ctx, o, input.data(), map.data());
    if (st != DECAM_OK) return failed(ctx, st, host);

    decam_stats s = {};
    s.size = sizeof s;
    if (decam_get_stats(ctx, &s) != DECAM_OK) return failed(ctx, DECAM_ERR_INVALID_ARGUMENT, host);
    const size_t peak = (size_t)(std::max_element(map.begin(), map.end()) - map.begin());
    std::printf("target %d score %.6f\n", target, s.score_full);
    std::printf("queries %llu in %llu model calls, %.2f s (%.2f s in the model)\n",
                (unsigned long long)s.queries, (unsigned long long)s.model_calls,
                s.model_seconds + s.library_seconds, s.model_seconds);
    std::printf("peak x %zu y %zu\n", peak % (size_t)o.width, peak / (size_t)o.width);
    std::printf("panel %s\n", o.output);
    return 0;
}

int main(int argc, char **argv) {
    Options o;
    int rc = parse(argc, argv, &o);
    if (rc == -1) {
        std::fputs(USAGE, stdout);
        return 0;
    }
    if (rc) return rc;

    Host host;
    host.opt = &o;
    try {
        host.net = cv::dnn::readNet(o.model, o.config);
    } catch (const cv::Exception &e) {
        std::fprintf(stderr, "decam-opencv: cannot read %s: %s\n", o.model, e.what());
        return 1;
    }
    decam_ctx *ctx = decam_create();
    if (!ctx || decam_set_image_layout(ctx, DECAM_LAYOUT_CHW) != DECAM_OK) {
        std::fprintf(stderr, "decam-opencv: out of memory\n");
        decam_free(ctx);
        return 1;
    }
    try {
        rc = explain(o, host, ctx);
    } catch (const std::exception &e) { /* the probe runs outside the library */
        std::fprintf(stderr, "decam-opencv: %s\n", e.what());
        rc = 1;
    }
    decam_free(ctx);
    return rc;
}
