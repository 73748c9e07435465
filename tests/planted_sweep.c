/*
 * planted_sweep.c - measures parameter settings on the planted models, as
 * docs/method.md reports: for each model (linear, nonlinear) and objective,
 * N scenes (default 30, seeds 100..129), 1000 queries each unless set.
 *
 *     build/default/tests/planted_sweep population=48 area_weight=0.5
 *     N=10 S0=1 build/default/tests/planted_sweep      (the tests' seeds)
 *
 * Arguments are name=value pairs of decam parameters (decam_param_name).
 * Not a test: it prints figures for people to compare.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decam.h"
#include "planted.h"

static int apply(decam_ctx *ctx, const char *arg) {
    char name[64];
    double value;
    if (sscanf(arg, "%63[^=]=%lf", name, &value) != 2) {
        fprintf(stderr, "planted_sweep: expected name=value, got '%s'\n", arg);
        return -1;
    }
    decam_param key;
    if (decam_param_from_name(name, &key) == DECAM_OK) {
        if (decam_set_param(ctx, key, value) == DECAM_OK) return 0;
        fprintf(stderr, "planted_sweep: %s\n", decam_errmsg(ctx));
        return -1;
    }
    fprintf(stderr, "planted_sweep: no parameter named '%s'\n", name);
    return -1;
}

int main(int argc, char **argv) {
    const int n = getenv("N") ? atoi(getenv("N")) : 30;
    const int s0 = getenv("S0") ? atoi(getenv("S0")) : 100;
    static float image[PW * PH * PC], map[PW * PH];
    int total_hits = 0;
    double total_iou = 0.0;
    for (int nonlinear = 0; nonlinear < 2; nonlinear++)
        for (int objective = 0; objective < 3; objective++) {
            int hits = 0;
            double iou = 0.0;
            for (int seed = s0; seed < s0 + n; seed++) {
                planted p = {.nonlinear = nonlinear};
                planted_make(&p, image, (uint64_t)seed, DECAM_LAYOUT_HWC);
                decam_ctx *ctx = decam_create();
                if (!ctx) return 1;
                decam_set_model(ctx, planted_model, &p);
                decam_set_param(ctx, DECAM_PARAM_OBJECTIVE, objective);
                decam_set_param(ctx, DECAM_PARAM_SEED, seed);
                for (int a = 1; a < argc; a++)
                    if (apply(ctx, argv[a]) != 0) return 2;
                decam_status st = decam_explain(ctx, image, PW, PH, PC, map);
                if (st != DECAM_OK) {
                    fprintf(stderr, "planted_sweep: %s\n", decam_errmsg(ctx));
                    return 1;
                }
                hits += planted_pointing_hit(&p, map);
                iou += planted_top_k_iou(&p, map);
                decam_free(ctx);
            }
            printf("%-9s objective %d: pointing game %2d/%d, top-k IoU %.3f\n",
                   nonlinear ? "nonlinear" : "linear", objective, hits, n, iou / n);
            total_hits += hits;
            total_iou += iou / n;
        }
    printf("total: %d/%d hits, mean IoU %.3f\n", total_hits, 6 * n, total_iou / 6);
    return 0;
}
