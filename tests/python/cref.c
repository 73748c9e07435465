/*
 * cref.c - reference maps computed by C alone, for the Python binding's
 * tests to compare against bit for bit.
 *
 *   cref planted SEED NONLINEAR LAYOUT METHOD BUDGET OUT
 *       the planted-region model of tests/planted.h (LAYOUT 0 HWC, 1 CHW;
 *       METHOD a decam_method)
 *   cref shapes WEIGHTS SCENE SIZE TARGET BUDGET OUT
 *       the shapes classifier (examples/shapes/cnn.c) scoring class
 *       probabilities on generated scene SCENE; TARGET -1 = predicted class
 *
 * OUT receives the image (W*H*C floats, in LAYOUT) then the map (W*H
 * floats), raw, in the machine's byte order. Every other parameter keeps
 * its default; the seed is 0. Exit status 0, or 1 with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "decam.h"
#include "planted.h"
#include "scene.h"

static int fail(const char *what, decam_ctx *ctx) {
    fprintf(stderr, "cref: %s%s%s\n", what, ctx ? ": " : "", ctx ? decam_errmsg(ctx) : "");
    return 1;
}

static int write_out(const char *path, const float *image, size_t image_n, const float *map,
                     size_t map_n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t ok = fwrite(image, sizeof *image, image_n, f) + fwrite(map, sizeof *map, map_n, f);
    return fclose(f) == 0 && ok == image_n + map_n ? 0 : -1;
}

static int proba_model(void *user, const float *images, size_t n, float *scores) {
    cnn_predict_proba(user, images, n, scores);
    return 0;
}

static int run_planted(char **a) {
    static float image[PW * PH * PC], map[PW * PH];
    planted p = {0};
    p.nonlinear = atoi(a[1]);
    planted_make(&p, image, strtoull(a[0], NULL, 10), (decam_layout)atoi(a[2]));
    decam_ctx *ctx = decam_create();
    if (!ctx) return fail("out of memory", NULL);
    decam_status st = decam_set_model(ctx, planted_model, &p);
    if (st == DECAM_OK) st = decam_set_image_layout(ctx, p.layout);
    if (st == DECAM_OK) st = decam_set_param(ctx, DECAM_PARAM_METHOD, atof(a[3]));
    if (st == DECAM_OK) st = decam_set_param(ctx, DECAM_PARAM_BUDGET, atof(a[4]));
    if (st == DECAM_OK) st = decam_explain(ctx, image, PW, PH, PC, map);
    int rc = st != DECAM_OK ? fail("explain", ctx) : 0;
    if (!rc && write_out(a[5], image, sizeof image / sizeof *image, map, PW * PH))
        rc = fail("cannot write the output", NULL);
    decam_free(ctx);
    return rc;
}

static int run_shapes(char **a) {
    char err[256];
    cnn *net = cnn_load(a[0], err, sizeof err);
    if (!net) return fail(err, NULL);
    const int size = atoi(a[2]), classes = cnn_num_classes(net);
    if (size != cnn_input_size(net)) {
        cnn_free(net);
        return fail("SIZE differs from the classifier's input size", NULL);
    }
    float *image = malloc(sizeof *image * size * size * 3),
          *map = malloc(sizeof *map * size * size);
    uint8_t *mask = malloc((size_t)size * size);
    float probs[256];
    int label, target = atoi(a[3]), rc = 0;
    decam_ctx *ctx = decam_create();
    if (!image || !map || !mask || !ctx ||
        scene_generate(strtoull(a[1], NULL, 10), size, image, mask, &label) != SCENE_OK) {
        rc = fail("cannot make the scene", NULL);
        goto done;
    }
    if (target < 0) {
        cnn_predict_proba(net, image, 1, probs);
        target = 0;
        for (int k = 1; k < classes; k++)
            if (probs[k] > probs[target]) target = k;
    }
    decam_status st = decam_set_model(ctx, proba_model, net);
    if (st == DECAM_OK) st = decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, classes);
    if (st == DECAM_OK) st = decam_set_param(ctx, DECAM_PARAM_TARGET, target);
    if (st == DECAM_OK) st = decam_set_param(ctx, DECAM_PARAM_BUDGET, atof(a[4]));
    if (st == DECAM_OK) st = decam_explain(ctx, image, size, size, 3, map);
    if (st != DECAM_OK)
        rc = fail("explain", ctx);
    else if (write_out(a[5], image, (size_t)size * size * 3, map, (size_t)size * size))
        rc = fail("cannot write the output", NULL);
done:
    decam_free(ctx);
    cnn_free(net);
    free(image);
    free(map);
    free(mask);
    return rc;
}

int main(int argc, char **argv) {
    if (argc == 8 && strcmp(argv[1], "planted") == 0) return run_planted(argv + 2);
    if (argc == 8 && strcmp(argv[1], "shapes") == 0) return run_shapes(argv + 2);
    fprintf(stderr, "usage: cref planted SEED NONLINEAR LAYOUT METHOD BUDGET OUT\n"
                    "       cref shapes WEIGHTS SCENE SIZE TARGET BUDGET OUT\n");
    return 2;
}
