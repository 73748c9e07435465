/*
 * test_classifier.c - tests of the shapes CNN inference (examples/shapes/cnn.[ch])
 * against the committed weights and the training program's reference logits.
 *
 * SHAPES_DIR (compile-time define) is the absolute path of examples/shapes.
 * Set SHAPES_TEST_FILTER to a cmocka name pattern (e.g. "test_load_*") to
 * run a subset, e.g. under valgrind.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "cnn.h"
#include "scene.h"

#ifndef SHAPES_DIR
#error "SHAPES_DIR must be defined (absolute path of examples/shapes)"
#endif

#define WEIGHTS_PATH   SHAPES_DIR "/shapes.weights"
#define REFERENCE_PATH SHAPES_DIR "/reference.bin"
#define TEST_SEEDS     2000
#define MIN_ACCURACY   0.95

/* ---- helpers ------------------------------------------------------------ */

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static int spit(const char *path, const unsigned char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static uint32_t rd_u32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static float rd_f32(const unsigned char *p) {
    uint32_t u = rd_u32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static double now_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static cnn *load_or_fail(void) {
    char err[256] = "";
    cnn *net = cnn_load(WEIGHTS_PATH, err, sizeof err);
    if (!net) print_error("cnn_load(%s): %s\n", WEIGHTS_PATH, err);
    assert_non_null(net);
    return net;
}

/* ---- reference logits ---------------------------------------------------- */

/* Reference file: see train.c.  "SHPREF01", u32 version, count, size,
 * channels, classes; per entry u64 seed, u32 label, f32 image[S*S*3],
 * f32 logits[K]. */
static void test_reference_logits(void **state) {
    (void)state;
    cnn *net = load_or_fail();
    size_t len = 0;
    unsigned char *ref = slurp(REFERENCE_PATH, &len);
    assert_non_null(ref);
    assert_true(len >= 28);
    assert_memory_equal(ref, "SHPREF01", 8);
    assert_int_equal(rd_u32(ref + 8), 1);
    const size_t count = rd_u32(ref + 12);
    const int S = (int)rd_u32(ref + 16), C = (int)rd_u32(ref + 20), K = (int)rd_u32(ref + 24);
    assert_true(count >= 1 && count <= 1000);
    assert_int_equal(S, cnn_input_size(net));
    assert_int_equal(C, 3);
    assert_int_equal(K, cnn_num_classes(net));
    assert_int_equal(K, SCENE_NUM_CLASSES);
    const size_t nimg = (size_t)S * S * 3, entry = 12 + 4 * (nimg + (size_t)K);
    assert_int_equal(len, 28 + count * entry);

    float *images = malloc(count * nimg * sizeof(float));
    float *want = malloc(count * (size_t)K * sizeof(float));
    float *got = malloc(count * (size_t)K * sizeof(float));
    float *one = malloc((size_t)K * sizeof(float));
    float *scene = malloc(nimg * sizeof(float));
    uint8_t *mask = malloc((size_t)S * S);
    assert_true(images && want && got && one && scene && mask);
    double max_img_diff = 0.0, max_err = 0.0, max_abs = 0.0;
    for (size_t e = 0; e < count; e++) {
        const unsigned char *p = ref + 28 + e * entry;
        uint64_t seed = (uint64_t)rd_u32(p) | ((uint64_t)rd_u32(p + 4) << 32);
        int label = (int)rd_u32(p + 8), glabel = -1;
        for (size_t i = 0; i < nimg; i++)
            images[e * nimg + i] = rd_f32(p + 12 + 4 * i);
        for (int j = 0; j < K; j++)
            want[e * K + j] = rd_f32(p + 12 + 4 * nimg + 4 * (size_t)j);
        /* the stored scene is still what the generator produces */
        assert_int_equal(scene_generate(seed, S, scene, mask, &glabel), SCENE_OK);
        assert_int_equal(glabel, label);
        for (size_t i = 0; i < nimg; i++) {
            double d = fabs((double)scene[i] - images[e * nimg + i]);
            if (d > max_img_diff) max_img_diff = d;
        }
    }
    /* all images in one call ... */
    cnn_forward(net, images, count, got);
    for (size_t e = 0; e < count; e++) {
        /* ... and one at a time: identical */
        cnn_forward(net, images + e * nimg, 1, one);
        assert_memory_equal(one, got + e * K, (size_t)K * sizeof(float));
        /* Tolerance 1e-5, absolute for logits of magnitude <= 1, otherwise
         * relative to the scene's largest logit magnitude: the two programs
         * sum the convolutions in different orders, so the rounding error of
         * every logit scales with the size of the activations (of the whole
         * logit vector), not with the logit itself, which may be near 0. */
        double scale = 1.0;
        for (int j = 0; j < K; j++)
            if (fabs(want[e * K + j]) > scale) scale = fabs(want[e * K + j]);
        for (int j = 0; j < K; j++) {
            double w = want[e * K + j], g = got[e * K + j];
            double err = fabs(g - w) / scale;
            if (fabs(g - w) > max_abs) max_abs = fabs(g - w);
            if (err > max_err) max_err = err;
            if (err > 1e-5)
                print_error("entry %zu class %d: cnn %.8g, training program %.8g\n", e, j, g, w);
            assert_true(err <= 1e-5);
        }
    }
    print_message("reference: %zu scenes, max logit error %.3g absolute, %.3g relative to "
                  "max(1, largest |logit|); max scene difference %.3g\n",
                  count, max_abs, max_err, max_img_diff);
    assert_true(max_img_diff <= 1e-5);

    free(images);
    free(want);
    free(got);
    free(one);
    free(scene);
    free(mask);
    free(ref);
    cnn_free(net);
}

/* ---- workspace API and softmax ------------------------------------------- */

static void test_forward_ws_and_softmax(void **state) {
    (void)state;
    cnn *net = load_or_fail();
    const int S = cnn_input_size(net), K = cnn_num_classes(net);
    const size_t nimg = (size_t)S * S * 3, n = 4;
    float *images = malloc(n * nimg * sizeof(float));
    uint8_t *mask = malloc((size_t)S * S);
    float *a = malloc(n * K * sizeof(float)), *b = malloc(n * K * sizeof(float));
    float *p = malloc(n * K * sizeof(float));
    void *ws = malloc(cnn_workspace_size(net));
    assert_true(images && mask && a && b && p && ws);
    assert_true(cnn_workspace_size(net) > 0);
    assert_true(cnn_macs(net) > 0);
    for (size_t i = 0; i < n; i++) {
        int label;
        assert_int_equal(scene_generate(3000 + i, S, images + i * nimg, mask, &label), SCENE_OK);
    }
    cnn_forward(net, images, n, a);
    cnn_forward_ws(net, images, n, b, ws);
    assert_memory_equal(a, b, n * K * sizeof(float));

    cnn_predict_proba(net, images, n, p);
    cnn_softmax(a, n, K, b);
    assert_memory_equal(p, b, n * K * sizeof(float));
    cnn_softmax(a, n, K, a); /* in place */
    assert_memory_equal(p, a, n * K * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (int j = 0; j < K; j++) {
            assert_true(p[i * K + j] >= 0.0f && p[i * K + j] <= 1.0f);
            sum += p[i * K + j];
        }
        assert_true(fabs(sum - 1.0) < 1e-5);
    }
    /* softmax of extreme logits stays finite */
    float big[3] = {1000.0f, -1000.0f, 999.0f}, pb[3];
    cnn_softmax(big, 1, 3, pb);
    assert_true(isfinite(pb[0]) && isfinite(pb[1]) && isfinite(pb[2]));
    assert_true(fabs(pb[0] + pb[1] + pb[2] - 1.0) < 1e-6);
    assert_true(pb[0] > pb[2] && pb[2] > pb[1]);

    /* NULL arguments are ignored */
    cnn_forward(NULL, images, n, a);
    cnn_forward(net, NULL, n, a);
    cnn_forward(net, images, n, NULL);
    assert_int_equal(cnn_input_size(NULL), 0);
    cnn_free(NULL);

    free(images);
    free(mask);
    free(a);
    free(b);
    free(p);
    free(ws);
    cnn_free(net);
}

/* ---- accuracy on the test seeds ------------------------------------------ */

static void test_accuracy(void **state) {
    (void)state;
    cnn *net = load_or_fail();
    const int S = cnn_input_size(net), K = cnn_num_classes(net);
    assert_int_equal(K, SCENE_NUM_CLASSES);
    const size_t nimg = (size_t)S * S * 3, batch = 100;
    float *images = malloc(batch * nimg * sizeof(float));
    float *logits = malloc(batch * K * sizeof(float));
    uint8_t *mask = malloc((size_t)S * S);
    int labels[100];
    assert_true(images && logits && mask);
    int correct = 0, per_total[SCENE_NUM_CLASSES] = {0}, per_ok[SCENE_NUM_CLASSES] = {0};
    double t_fwd = 0.0;
    for (int s0 = 0; s0 < TEST_SEEDS; s0 += (int)batch) {
        for (size_t i = 0; i < batch; i++)
            assert_int_equal(
                scene_generate((uint64_t)s0 + i, S, images + i * nimg, mask, &labels[i]), SCENE_OK);
        double t0 = now_sec();
        cnn_forward(net, images, batch, logits);
        t_fwd += now_sec() - t0;
        for (size_t i = 0; i < batch; i++) {
            int best = 0;
            for (int j = 1; j < K; j++)
                if (logits[i * K + j] > logits[i * K + best]) best = j;
            per_total[labels[i]]++;
            if (best == labels[i]) {
                correct++;
                per_ok[labels[i]]++;
            }
        }
    }
    double acc = (double)correct / TEST_SEEDS;
    print_message("accuracy on test seeds 0..%d: %d/%d = %.2f%%\n", TEST_SEEDS - 1, correct,
                  TEST_SEEDS, 100.0 * acc);
    for (int k = 0; k < K; k++)
        print_message("  %-8s %4d/%4d = %.2f%%\n", scene_class_name(k), per_ok[k], per_total[k],
                      100.0 * per_ok[k] / (per_total[k] ? per_total[k] : 1));
    print_message("forward pass: %.1f us/image (%zu MACs/image, single thread)\n",
                  1e6 * t_fwd / TEST_SEEDS, cnn_macs(net));
    assert_true(acc >= MIN_ACCURACY);
    free(images);
    free(logits);
    free(mask);
    cnn_free(net);
}

/* ---- cnn_randomize ---------------------------------------------------------- */

static int accuracy_on(const cnn *net, const float *images, const int *labels, size_t n) {
    const int K = cnn_num_classes(net);
    float *logits = malloc(n * K * sizeof(float));
    assert_non_null(logits);
    cnn_forward(net, images, n, logits);
    int correct = 0;
    for (size_t i = 0; i < n; i++) {
        int best = 0;
        for (int j = 1; j < K; j++)
            if (logits[i * K + j] > logits[i * K + best]) best = j;
        correct += best == labels[i];
    }
    free(logits);
    return correct;
}

/* A seed gives one network, bit for bit; another seed another; and neither
 * knows the shapes any more (chance is 20 %). That the draws are those of
 * shapes-train --seed S was checked by loading the weights the training
 * program writes right after its initialisation: the logits matched bit
 * for bit (see cnn.h). */
static void test_randomize_is_deterministic_and_forgets_the_training(void **state) {
    (void)state;
    cnn *a = load_or_fail(), *b = load_or_fail();
    const int S = cnn_input_size(a), K = cnn_num_classes(a);
    const size_t nimg = (size_t)S * S * 3, n = 200;
    float *images = malloc(n * nimg * sizeof(float));
    float *la = malloc(n * K * sizeof(float)), *lb = malloc(n * K * sizeof(float));
    uint8_t *mask = malloc((size_t)S * S);
    int labels[200];
    assert_true(images && la && lb && mask);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(scene_generate(i, S, images + i * nimg, mask, &labels[i]), SCENE_OK);
    const int trained = accuracy_on(a, images, labels, n);
    cnn_randomize(a, 1);
    cnn_randomize(b, 1);
    cnn_forward(a, images, n, la);
    cnn_forward(b, images, n, lb);
    assert_memory_equal(la, lb, n * K * sizeof(float));
    const int random = accuracy_on(a, images, labels, n);
    cnn_randomize(b, 2);
    cnn_forward(b, images, n, lb);
    assert_true(memcmp(la, lb, n * K * sizeof(float)) != 0);
    for (size_t i = 0; i < n * K; i++)
        assert_true(isfinite(la[i]) && isfinite(lb[i]));
    print_message("cnn_randomize: accuracy on test seeds 0..%zu %d/%zu trained, %d/%zu "
                  "randomised (seed 1), %d/%zu (seed 2)\n",
                  n - 1, trained, n, random, n, accuracy_on(b, images, labels, n), n);
    assert_true(trained >= 190);
    assert_true(random <= 80); /* 40 %: far from trained, whatever the draw */
    cnn_randomize(NULL, 1);    /* ignored */
    free(images);
    free(la);
    free(lb);
    free(mask);
    cnn_free(a);
    cnn_free(b);
}

/* ---- cnn_load error handling --------------------------------------------- */

typedef struct tmpfiles {
    char dir[256];
    char path[320];
    unsigned char *good;
    size_t good_len;
} tmpfiles;

static int setup_tmp(void **state) {
    tmpfiles *t = calloc(1, sizeof *t);
    if (!t) return -1;
    const char *base = getenv("TMPDIR");
    snprintf(t->dir, sizeof t->dir, "%s/shapes-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    t->good = slurp(WEIGHTS_PATH, &t->good_len);
    if (!t->good) {
        rmdir(t->dir);
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int teardown_tmp(void **state) {
    tmpfiles *t = *state;
    if (t->path[0]) unlink(t->path);
    rmdir(t->dir);
    free(t->good);
    free(t);
    return 0;
}

/* Write data to a file in the temp dir and expect cnn_load to reject it with
 * a message containing `expect` (if not NULL). */
static void expect_reject(tmpfiles *t, const char *name, const unsigned char *data, size_t len,
                          const char *expect) {
    snprintf(t->path, sizeof t->path, "%s/%s", t->dir, name);
    assert_int_equal(spit(t->path, data, len), 0);
    char err[256];
    memset(err, 'x', sizeof err);
    cnn *net = cnn_load(t->path, err, sizeof err);
    assert_null(net);
    assert_true(memchr(err, '\0', sizeof err) != NULL);
    assert_true(strlen(err) > 0);
    if (expect && !strstr(err, expect)) print_error("message '%s' lacks '%s'\n", err, expect);
    if (expect) assert_non_null(strstr(err, expect));
    /* a NULL or empty error buffer is fine too */
    assert_null(cnn_load(t->path, NULL, 0));
    assert_null(cnn_load(t->path, err, 0));
    unlink(t->path);
    t->path[0] = '\0';
}

static void test_load_good_copy(void **state) {
    tmpfiles *t = *state;
    snprintf(t->path, sizeof t->path, "%s/copy.weights", t->dir);
    assert_int_equal(spit(t->path, t->good, t->good_len), 0);
    char err[256] = "unchanged?";
    cnn *net = cnn_load(t->path, err, sizeof err);
    assert_non_null(net);
    assert_string_equal(err, "");
    assert_int_equal(cnn_input_size(net), SCENE_DEFAULT_SIZE);
    assert_int_equal(cnn_num_classes(net), SCENE_NUM_CLASSES);
    cnn_free(net);
    unlink(t->path);
    t->path[0] = '\0';
}

static void test_load_missing(void **state) {
    tmpfiles *t = *state;
    char path[400], err[256] = "";
    snprintf(path, sizeof path, "%s/does-not-exist.weights", t->dir);
    assert_null(cnn_load(path, err, sizeof err));
    assert_non_null(strstr(err, "cannot open"));
    assert_null(cnn_load(NULL, err, sizeof err));
    assert_true(strlen(err) > 0);
    /* a directory is not a weights file either */
    assert_null(cnn_load(t->dir, err, sizeof err));
    assert_true(strlen(err) > 0);
}

static void test_load_truncated(void **state) {
    tmpfiles *t = *state;
    expect_reject(t, "empty.weights", t->good, 0, "too short");
    expect_reject(t, "magic-only.weights", t->good, 8, "too short");
    expect_reject(t, "header-only.weights", t->good, 40, NULL);
    expect_reject(t, "half.weights", t->good, t->good_len / 2, "truncated");
    expect_reject(t, "minus1.weights", t->good, t->good_len - 1, "truncated");
    expect_reject(t, "minus4.weights", t->good, t->good_len - 4, "truncated");
}

static void test_load_bad_magic(void **state) {
    tmpfiles *t = *state;
    unsigned char *copy = malloc(t->good_len);
    assert_non_null(copy);
    memcpy(copy, t->good, t->good_len);
    copy[0] ^= 0x20;
    expect_reject(t, "badmagic.weights", copy, t->good_len, "magic");
    /* a text file */
    const char *text = "this is not a weights file, just some text\n";
    expect_reject(t, "text.weights", (const unsigned char *)text, strlen(text), "magic");
    free(copy);
}

/* Sets n bytes at p. Not memset: with -fsanitize=address, gcc 12 takes the
 * heap copy below for a zero-sized object and rejects memset into it
 * (-Warray-bounds, -Wstringop-overflow), a false positive. */
__attribute__((noinline)) static void set_bytes(unsigned char *p, int value, size_t n) {
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)value;
}

static void test_load_bad_header(void **state) {
    tmpfiles *t = *state;
    assert_true(t->good_len > 64); /* the offsets below are inside the header */
    unsigned char *copy = malloc(t->good_len + 16);
    assert_non_null(copy);
    /* version */
    memcpy(copy, t->good, t->good_len);
    copy[8] = 99;
    expect_reject(t, "version.weights", copy, t->good_len, "version");
    /* input size 0 / huge */
    memcpy(copy, t->good, t->good_len);
    set_bytes(copy + 12, 0, 4);
    expect_reject(t, "size0.weights", copy, t->good_len, "bad header");
    memcpy(copy, t->good, t->good_len);
    set_bytes(copy + 12, 0xff, 4);
    expect_reject(t, "sizebig.weights", copy, t->good_len, "bad header");
    /* absurd layer count */
    memcpy(copy, t->good, t->good_len);
    set_bytes(copy + 24, 0xff, 4);
    expect_reject(t, "layers.weights", copy, t->good_len, "bad header");
    /* layer table inconsistent: first layer out channels changed */
    memcpy(copy, t->good, t->good_len);
    copy[36 + 4] ^= 0x10;
    expect_reject(t, "shape.weights", copy, t->good_len, NULL);
    /* NaN input scale */
    memcpy(copy, t->good, t->good_len);
    set_bytes(copy + 32, 0xff, 4);
    expect_reject(t, "nan.weights", copy, t->good_len, NULL);
    /* trailing garbage */
    memcpy(copy, t->good, t->good_len);
    set_bytes(copy + t->good_len, 0, 16);
    expect_reject(t, "long.weights", copy, t->good_len + 16, "expected");
    /* a flipped bit in the weights */
    memcpy(copy, t->good, t->good_len);
    copy[t->good_len / 2] ^= 0x01;
    expect_reject(t, "flip.weights", copy, t->good_len, "checksum");
    free(copy);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_good_copy, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_load_missing, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_load_truncated, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_load_bad_magic, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_load_bad_header, setup_tmp, teardown_tmp),
        cmocka_unit_test(test_reference_logits),
        cmocka_unit_test(test_forward_ws_and_softmax),
        cmocka_unit_test(test_accuracy),
        cmocka_unit_test(test_randomize_is_deterministic_and_forgets_the_training),
    };
    const char *filter = getenv("SHAPES_TEST_FILTER");
    if (filter && *filter) cmocka_set_test_filter(filter);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
