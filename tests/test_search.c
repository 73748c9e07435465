/* test_search.c - DE-CAM's search in stages (the experimental keys 1010 ..
 * 1028): coarse-to-fine grids render finer masks later, the prior pass and
 * the exploring phase spend exactly their queries before DE starts, several
 * searches and the removal refinement take their shares of the budget,
 * the deletion steps delete greedily and rank what they chose first,
 * one search per target follows each target, fused maps and black removed
 * regions change what they should, every variant is deterministic by seed
 * and independent of threads and batching, and the combinations they
 * cannot serve are refused. */
#define DECAM_EXPERIMENTAL
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decam.h"
#include "planted.h"

/* ---- a model that sees masks: the image is all ones, the baseline black,
 * so a kept-region image is its mask. It scores the top-left quarter's
 * mean and records, per image, its total variation along rows (about
 * half the grid's side per row for a random binary grid: finer grids, more
 * edges) and its mean and minimum. */
enum { SEEN = 4096 };

typedef struct seeing {
    size_t images;
    double tv[SEEN], mean[SEEN], min[SEEN];
    double quarter[SEEN], opposite[SEEN]; /* the top-left and bottom-right quarters' means */
    int two_outputs; /* 1: output 1 scores the bottom-right quarter */
} seeing;

static int seeing_model(void *user, const float *images, size_t n, float *scores) {
    seeing *s = user;
    for (size_t i = 0; i < n; i++) {
        const float *im = images + i * PW * PH * PC;
        double tv = 0.0, sum = 0.0, lo = INFINITY, quarter = 0.0, opposite = 0.0;
        for (int y = 0; y < PH; y++)
            for (int x = 0; x < PW; x++) {
                float v = im[planted_at(DECAM_LAYOUT_HWC, x, y, 0)];
                if (x + 1 < PW) tv += fabs(im[planted_at(DECAM_LAYOUT_HWC, x + 1, y, 0)] - v);
                sum += v;
                lo = v < lo ? v : lo;
                if (x < PW / 2 && y < PH / 2) quarter += v;
                if (x >= PW / 2 && y >= PH / 2) opposite += v;
            }
        quarter /= PW / 2 * PH / 2;
        opposite /= PW / 2 * PH / 2;
        if (s->images < SEEN) {
            s->tv[s->images] = tv / PH;
            s->mean[s->images] = sum / (PW * PH);
            s->min[s->images] = lo;
            s->quarter[s->images] = quarter;
            s->opposite[s->images] = opposite;
        }
        s->images++;
        if (s->two_outputs) {
            scores[2 * i] = (float)quarter;
            scores[2 * i + 1] = (float)opposite;
        } else {
            scores[i] = (float)quarter;
        }
    }
    return 0;
}

static float ONES[PW * PH * PC];

static decam_ctx *seeing_ctx(seeing *s, double budget) {
    for (size_t i = 0; i < PW * PH * PC; i++)
        ONES[i] = 1.0f;
    decam_ctx *ctx = decam_create();
    assert_non_null(ctx);
    assert_int_equal(decam_set_model(ctx, seeing_model, s), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BASELINE, DECAM_BASELINE_CONSTANT), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, budget), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_POPULATION, 16), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_SEED, 5), DECAM_OK);
    /* The stages before removal and a second search, alone (their own
     * tests set a share and a count; at 12 cells or more both are on),
     * and the removal, when a test sets its share, without the deletion
     * steps (their own test sets them). */
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_REMOVAL_SHARE, 0), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_SEARCHES, 1), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_DELETION_STEPS, 0), DECAM_OK);
    return ctx;
}

static double mean_of(const double *v, size_t first, size_t last) {
    double sum = 0.0;
    for (size_t i = first; i < last; i++)
        sum += v[i];
    return sum / (double)(last - first);
}

/* ---- the stage log: "decam: stage K of N (KIND, grid W x H) from query Q" */

enum { LOGGED = 8 };
typedef struct stage_log {
    int stages;
    char kind[LOGGED][16];
    int grid[LOGGED];
    unsigned long long from[LOGGED];
    size_t images_then[LOGGED]; /* images the model had scored when it was logged */
    const seeing *model;
} stage_log;

static void log_stages(void *user, decam_log_level level, const char *message) {
    stage_log *l = user;
    int k, n, gw, gh;
    unsigned long long q;
    char kind[16];
    (void)level;
    if (sscanf(message, "decam: stage %d of %d (%15[^,], grid %d x %d) from query %llu", &k, &n,
               kind, &gw, &gh, &q) == 6 &&
        l->stages < LOGGED) {
        strcpy(l->kind[l->stages], kind);
        l->grid[l->stages] = gw;
        l->from[l->stages] = q;
        l->images_then[l->stages] = l->model ? l->model->images : 0;
        l->stages++;
    }
}

static void explain_seeing(decam_ctx *ctx, stage_log *l, float *map) {
    if (l) assert_int_equal(decam_set_log(ctx, log_stages, l, DECAM_LOG_DEBUG), DECAM_OK);
    assert_int_equal(decam_explain(ctx, ONES, PW, PH, PC, map), DECAM_OK);
}

/* Grid 4 for the first half of the queries, then 16: the masks the model
 * sees at the end have about four times the edges of the first ones; with
 * grid 16 throughout (refining off) they do not change. */
static void test_coarse_to_fine_renders_finer_masks_later(void **state) {
    (void)state;
    float map[PW * PH];
    for (int refine = 0; refine <= 1; refine++) {
        seeing s = {0};
        stage_log l = {.model = &s};
        decam_ctx *ctx = seeing_ctx(&s, 403);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_GRID_WIDTH, 16), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_GRID_HEIGHT, 16), DECAM_OK);
        if (refine) {
            assert_int_equal(decam_set_param(ctx, DECAM_PARAM_REFINE_COARSE_GRID, 4), DECAM_OK);
            assert_int_equal(decam_set_param(ctx, DECAM_PARAM_REFINE_COARSE_SHARE, 0.5), DECAM_OK);
        }
        explain_seeing(ctx, &l, map);
        assert_int_equal(s.images, 403);
        /* image 0 is the full image, the last two the map as a soft mask */
        double early = mean_of(s.tv, 1, 65), late = mean_of(s.tv, 401 - 64, 401);
        printf("# refine %d: edges per row, first 64 masks %.2f, last 64 %.2f\n", refine, early,
               late);
        if (refine) {
            assert_true(late > 2.5 * early);
            assert_int_equal(l.stages, 1);
            assert_string_equal(l.kind[0], "DE");
            assert_int_equal(l.grid[0], 16);
            /* the coarse grid ends once half the method's 400 queries are
             * spent, at a generation's end (16 candidates) */
            assert_true(l.from[0] >= 1 + 200 && l.from[0] < 1 + 200 + 16);
        } else {
            assert_true(late < 1.5 * early && early < 1.5 * late);
            assert_int_equal(l.stages, 0);
        }
        decam_free(ctx);
    }
}

/* The last grid (grid x grid) after a coarse stage at `coarse` that lasts
 * `share` of the method's queries. */
static void set_refining(decam_ctx *ctx, int grid, int coarse, double share) {
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_GRID_WIDTH, grid), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_GRID_HEIGHT, grid), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_REFINE_COARSE_GRID, coarse), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_REFINE_COARSE_SHARE, share), DECAM_OK);
}

/* L-SHADE shrinks its population during the coarse stage; the finer grid
 * still starts from a full population made of the survivors, spends the
 * budget exactly and gives a map in [0, 1] with the scored quarter on top. */
static void test_lshade_refines_from_its_shrunk_population(void **state) {
    (void)state;
    float map[PW * PH];
    seeing s = {0};
    stage_log l = {.model = &s};
    decam_ctx *ctx = seeing_ctx(&s, 603);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_STRATEGY, DECAM_STRATEGY_LSHADE), DECAM_OK);
    set_refining(ctx, 8, 4, 0.7);
    explain_seeing(ctx, &l, map);
    assert_int_equal(s.images, 603);
    assert_int_equal(l.stages, 1);
    assert_int_equal(l.grid[0], 8);
    double inside = 0.0, outside = 0.0;
    for (int y = 0; y < PH; y++)
        for (int x = 0; x < PW; x++) {
            float v = map[y * PW + x];
            assert_true(v >= 0.0f && v <= 1.0f);
            *(x < PW / 2 && y < PH / 2 ? &inside : &outside) += v;
        }
    assert_true(inside / (PW * PH / 4) > outside / (PW * PH * 3 / 4));
    decam_free(ctx);
}

/* With a prior pass of 100 queries: the model has scored the full image
 * and exactly 100 masks when DE starts, and those are random masks that
 * keep about half of the image each. */
static void test_prior_pass_spends_exactly_its_queries_before_the_first_generation(void **state) {
    (void)state;
    float map[PW * PH], plain[PW * PH];
    seeing s = {0};
    stage_log l = {.model = &s};
    decam_ctx *ctx = seeing_ctx(&s, 500);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_PRIOR_PASS_QUERIES, 100), DECAM_OK);
    explain_seeing(ctx, &l, map);
    assert_int_equal(s.images, 500);
    assert_int_equal(l.stages, 1);
    assert_string_equal(l.kind[0], "DE");
    assert_int_equal(l.from[0], 1 + 100);
    assert_int_equal(l.images_then[0], 1 + 100);
    double kept = mean_of(s.mean, 1, 101);
    printf("# prior pass: its masks keep %.3f of the image on average\n", kept);
    assert_true(kept > 0.4 && kept < 0.6);
    decam_free(ctx);

    seeing s2 = {0};
    ctx = seeing_ctx(&s2, 500);
    explain_seeing(ctx, NULL, plain);
    assert_true(memcmp(map, plain, sizeof map) != 0);
    decam_free(ctx);
}

/* An exploring phase of 30% of the method's 300 queries: DE starts at
 * query 1 + 90, and none of the explored scores is bought again (the
 * whole budget is still spent, and the map differs from the defaults'). */
static void test_exploring_phase_ends_at_its_share(void **state) {
    (void)state;
    float map[PW * PH], plain[PW * PH];
    seeing s = {0};
    stage_log l = {.model = &s};
    decam_ctx *ctx = seeing_ctx(&s, 303);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_EXPLORE_SHARE, 0.3), DECAM_OK);
    explain_seeing(ctx, &l, map);
    assert_int_equal(s.images, 303);
    assert_int_equal(l.stages, 1);
    assert_int_equal(l.from[0], 1 + 90);
    decam_free(ctx);
    seeing s2 = {0};
    ctx = seeing_ctx(&s2, 303);
    explain_seeing(ctx, NULL, plain);
    assert_true(memcmp(map, plain, sizeof map) != 0);
    decam_free(ctx);
}

/* The exploring phase runs at the first DE stage's grid, which may be
 * finer than the last one: it keeps its best candidates at that grid
 * (a pool sized for the last grid overflowed; ASan and valgrind see it). */
static void test_exploring_at_a_first_grid_finer_than_the_last(void **state) {
    (void)state;
    float map[PW * PH];
    seeing s = {0};
    stage_log l = {.model = &s};
    decam_ctx *ctx = seeing_ctx(&s, 403);
    set_refining(ctx, 4, 12, 0.6);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_EXPLORE_SHARE, 0.3), DECAM_OK);
    explain_seeing(ctx, &l, map);
    assert_int_equal(s.images, 403);
    assert_int_equal(l.stages, 2);
    assert_int_equal(l.grid[0], 12);
    assert_int_equal(l.grid[1], 4);
    for (int i = 0; i < PW * PH; i++)
        assert_true(map[i] >= 0.0f && map[i] <= 1.0f);
    decam_free(ctx);
}

/* Three searches in the budget: the second and third start at a third and
 * two thirds of the method's 300 queries, afresh (a Latin hypercube keeps
 * both quarters alike, where the search before had come to keep the
 * scored one), or around the previous best (which keeps the scored one). */
static void test_searches_share_the_budget_and_start_again(void **state) {
    (void)state;
    float map[PW * PH];
    for (int from_best = 0; from_best <= 1; from_best++) {
        seeing s = {0};
        stage_log l = {.model = &s};
        decam_ctx *ctx = seeing_ctx(&s, 303);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_SEARCHES, 3), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_RESTART_FROM_BEST, from_best), DECAM_OK);
        explain_seeing(ctx, &l, map);
        assert_int_equal(s.images, 303);
        assert_int_equal(l.stages, 2);
        assert_int_equal(l.from[0], 1 + 100);
        assert_int_equal(l.from[1], 1 + 200);
        /* the scored quarter's lead in the generations before and after */
        double before = mean_of(s.quarter, 101 - 16, 101) - mean_of(s.opposite, 101 - 16, 101);
        double after = mean_of(s.quarter, 101, 101 + 16) - mean_of(s.opposite, 101, 101 + 16);
        printf("# searches 3, from best %d: the scored quarter's lead before the restart "
               "%.3f, after %.3f\n",
               from_best, before, after);
        assert_true(before > 0.2);
        if (from_best)
            assert_true(after > 0.2);
        else
            assert_true(fabs(after) < 0.15);
        decam_free(ctx);
    }
}

/* The removal refinement: the last 100 of 500 queries each replace one
 * window by the baseline (black here): first the 3 x 3 partition of the
 * image, tiling it, then, best first, halves of the window that cost the
 * most (inside the scored quarter). Its map alone (weight 1) is higher in
 * the scored quarter. */
static void test_removal_tests_windows_coarse_then_where_they_cost(void **state) {
    (void)state;
    float map[PW * PH];
    seeing s = {0};
    stage_log l = {.model = &s};
    decam_ctx *ctx = seeing_ctx(&s, 503);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_REMOVAL_SHARE, 0.2), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_REMOVAL_WEIGHT, 1), DECAM_OK);
    explain_seeing(ctx, &l, map);
    assert_int_equal(s.images, 503);
    assert_int_equal(l.stages, 1);
    assert_string_equal(l.kind[0], "removal");
    assert_int_equal(l.from[0], 1 + 400);
    double removed = 0.0;
    for (size_t i = 401; i < 410; i++) {
        assert_true(s.min[i] == 0.0); /* one black window on the white image */
        removed += (1.0 - s.mean[i]) * PW * PH;
    }
    assert_true(fabs(removed - PW * PH) < 1e-6);
    /* the next window lies in the costliest one, the top-left ninth */
    const double removed_next = (1.0 - s.mean[410]) * PW * PH;
    const double inside = (1.0 - s.quarter[410]) * (PW / 2) * (PH / 2);
    assert_true(removed_next > 0 && fabs(removed_next - inside) < 1e-6);
    double in = 0.0, out = 0.0;
    for (int y = 0; y < PH; y++)
        for (int x = 0; x < PW; x++)
            *(x < PW / 2 && y < PH / 2 ? &in : &out) += map[y * PW + x];
    assert_true(in / (PW * PH / 4) > 2 * out / (PW * PH * 3 / 4));
    decam_free(ctx);
}

/* A share larger than the windows there are tests each once, and DE has
 * the rest: the budget is spent exactly. On this 64 x 64 image at grid 7
 * there are 509: the 3 x 3 partition (sides 21, 21, 22) halved while a
 * side exceeds half a cell (5 pixels) gives trees of 49 windows under a
 * 21 x 21 one, 61 under 21 x 22 or 22 x 21 and 69 under 22 x 22:
 * 4 x 49 + 4 x 61 + 69 = 509. */
static void test_removal_share_stops_at_the_windows_there_are(void **state) {
    (void)state;
    float map[PW * PH];
    seeing s = {0};
    stage_log l = {.model = &s};
    decam_ctx *ctx = seeing_ctx(&s, 5003);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_REMOVAL_SHARE, 0.9), DECAM_OK);
    explain_seeing(ctx, &l, map);
    assert_int_equal(s.images, 5003);
    assert_int_equal(l.stages, 1);
    assert_int_equal(l.from[0], 1 + 5000 - 509);
    decam_free(ctx);
}

/* ---- the deletion steps: a model of the white image's top-left quarter,
 * its pixels weighted 1 + x + 2y (no two cells cost alike), that records
 * which of the 7 x 7 grid's cells each image has black at its centre. */
typedef struct deleting {
    size_t images;
    uint64_t black[SEEN]; /* bit j * 7 + i: cell (i, j)'s centre is black */
    long zeros[SEEN];     /* black pixels */
    float score[SEEN];
} deleting;

static int cell_edge(int i) { return i * PW / 7; }

static int deleting_model(void *user, const float *images, size_t n, float *scores) {
    deleting *d = user;
    for (size_t i = 0; i < n; i++) {
        const float *im = images + i * PW * PH * PC;
        double sum = 0.0, weight = 0.0;
        long zeros = 0;
        for (int y = 0; y < PH; y++)
            for (int x = 0; x < PW; x++) {
                const float v = im[planted_at(DECAM_LAYOUT_HWC, x, y, 0)];
                zeros += v == 0.0f;
                if (x < PW / 2 && y < PH / 2) sum += (1.0 + x + 2.0 * y) * v;
                if (x < PW / 2 && y < PH / 2) weight += 1.0 + x + 2.0 * y;
            }
        uint64_t black = 0;
        for (int j = 0; j < 7; j++)
            for (int c = 0; c < 7; c++) {
                const int x = (cell_edge(c) + cell_edge(c + 1)) / 2;
                const int y = (cell_edge(j) + cell_edge(j + 1)) / 2;
                if (im[planted_at(DECAM_LAYOUT_HWC, x, y, 0)] == 0.0f)
                    black |= (uint64_t)1 << (j * 7 + c);
            }
        scores[i] = (float)(sum / weight);
        if (d->images < SEEN) {
            d->black[d->images] = black;
            d->zeros[d->images] = zeros;
            d->score[d->images] = scores[i];
        }
        d->images++;
    }
    return 0;
}

static long cells_area(uint64_t cells) {
    long area = 0;
    for (int k = 0; k < 49; k++)
        if (cells >> k & 1)
            area += (long)(cell_edge(k % 7 + 1) - cell_edge(k % 7)) *
                    (cell_edge(k / 7 + 1) - cell_edge(k / 7));
    return area;
}

static float cell_max(const float *map, int k, int lowest) {
    float v = lowest ? INFINITY : -INFINITY;
    for (int y = cell_edge(k / 7); y < cell_edge(k / 7 + 1); y++)
        for (int x = cell_edge(k % 7); x < cell_edge(k % 7 + 1); x++)
            v = lowest ? fminf(v, map[y * PW + x]) : fmaxf(v, map[y * PW + x]);
    return v;
}

/* The removal's 100 queries of 503 at grid 7, population 16: the steps
 * take 57 (12 candidates, then 11, ... 7: six steps in 3/5 of them). Each
 * step's images hold the cells chosen before and one candidate more,
 * black; the cell chosen is the one whose image scored lowest; and the
 * map ranks the chosen cells above every other pixel, in the order
 * chosen. With 0 steps the removal has the whole 100. */
static void test_deletion_steps_delete_greedily_and_rank_first(void **state) {
    (void)state;
    static float map[PW * PH];
    static deleting d;
    static const int steps = 6, first[] = {12, 11, 10, 9, 8, 7};
    for (int off = 0; off <= 1; off++) {
        d = (deleting){0};
        stage_log l = {0};
        seeing unused = {0};
        decam_ctx *ctx = seeing_ctx(&unused, 503);
        assert_int_equal(decam_set_model(ctx, deleting_model, &d), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_GRID_WIDTH, 7), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_GRID_HEIGHT, 7), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_REMOVAL_SHARE, 0.2), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_DELETION_STEPS, off ? 0 : steps),
                         DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_DELETION_CELLS, 12), DECAM_OK);
        explain_seeing(ctx, &l, map);
        decam_free(ctx);
        assert_int_equal(d.images, 503);
        if (off) { /* the removal alone, to the end */
            assert_int_equal(l.stages, 1);
            assert_int_equal(l.from[0], 1 + 400);
            continue;
        }
        assert_int_equal(l.stages, 2);
        assert_string_equal(l.kind[1], "deletion");
        assert_int_equal(l.from[1], 1 + 443);
        size_t at = 1 + 443; /* the first deletion image: the run's first query is the image */
        uint64_t chosen = 0;
        int order[6];
        for (int j = 0; j < steps; j++) {
            size_t lowest = at;
            for (size_t i = at; i < at + (size_t)first[j]; i++) {
                const uint64_t more = d.black[i] & ~chosen;
                assert_true((d.black[i] & chosen) == chosen);     /* the cells chosen before */
                assert_true(more != 0 && (more & (more - 1)) == 0); /* and one more */
                assert_int_equal(d.zeros[i], cells_area(d.black[i])); /* whole cells, nothing else */
                if (d.score[i] < d.score[lowest]) lowest = i;
            }
            const uint64_t next = d.black[lowest] & ~chosen;
            for (order[j] = 0; !(next >> order[j] & 1); order[j]++) {
            }
            assert_true(order[j] % 7 < 4 && order[j] / 7 < 4); /* in the scored quarter */
            chosen |= next;
            at += (size_t)first[j];
        }
        assert_int_equal(at, 1 + 500);
        float rest = -INFINITY;
        for (int y = 0; y < PH; y++)
            for (int x = 0; x < PW; x++) {
                const int k = (y * 7 / PH) * 7 + x * 7 / PW;
                if (cell_edge(k % 7) <= x && x < cell_edge(k % 7 + 1) && cell_edge(k / 7) <= y &&
                    y < cell_edge(k / 7 + 1) && !(chosen >> k & 1))
                    rest = fmaxf(rest, map[y * PW + x]);
            }
        for (int j = 0; j < steps; j++) {
            const float below = j + 1 < steps ? cell_max(map, order[j + 1], 0) : rest;
            printf("# deletion step %d: cell (%d, %d), map %.3f .. %.3f, then at most %.3f\n",
                   j + 1, order[j] % 7, order[j] / 7, cell_max(map, order[j], 1),
                   cell_max(map, order[j], 0), below);
            assert_true(cell_max(map, order[j], 1) > below);
        }
    }
}

/* The steps' queries: n + (n - 1) + ... for n candidates (DELETION_CELLS,
 * no more than the population), as many steps as fit in 3/5 of the
 * removal's, which tests windows with the rest; the budget is spent
 * exactly. */
static void test_deletion_steps_fit_in_three_fifths_of_the_removal(void **state) {
    (void)state;
    static const struct {
        double budget, steps, cells;
        unsigned long long from; /* the first deletion query */
    } C[] = {{503, 6, 12, 1 + 500 - 57}, /* 100 for removal: 12 + 11 + ... + 7 */
             {253, 6, 12, 1 + 250 - 23}, /* 50: 3/5 is 30, so 12 + 11 */
             {503, 6, 20, 1 + 500 - 58}, /* population 16: 16 + 15 + 14 + 13 */
             {503, 2, 12, 1 + 500 - 23}};
    for (size_t c = 0; c < sizeof C / sizeof C[0]; c++) {
        static float map[PW * PH];
        seeing s = {0};
        stage_log l = {.model = &s};
        decam_ctx *ctx = seeing_ctx(&s, C[c].budget);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_REMOVAL_SHARE, 0.2), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_DELETION_STEPS, C[c].steps), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_DELETION_CELLS, C[c].cells), DECAM_OK);
        explain_seeing(ctx, &l, map);
        decam_free(ctx);
        assert_int_equal(s.images, (size_t)C[c].budget);
        assert_int_equal(l.stages, 2);
        assert_string_equal(l.kind[0], "removal");
        assert_string_equal(l.kind[1], "deletion");
        assert_int_equal(l.from[1], C[c].from);
    }
}

/* follow = each with targets {0, 1} (top-left, bottom-right quarter): two
 * searches of half the queries, the first keeping what output 0 needs,
 * the second what output 1 needs; each map is higher on its quarter. */
static void test_follow_each_gives_every_target_its_search(void **state) {
    (void)state;
    static float maps[2][PW * PH];
    seeing s = {.two_outputs = 1};
    stage_log l = {.model = &s};
    decam_ctx *ctx = seeing_ctx(&s, 403);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_N_OUTPUTS, 2), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_FOLLOW, DECAM_FOLLOW_EACH), DECAM_OK);
    assert_int_equal(decam_set_log(ctx, log_stages, &l, DECAM_LOG_DEBUG), DECAM_OK);
    const uint32_t targets[2] = {0, 1};
    decam_item it = {.image = ONES, .width = PW, .height = PH, .channels = PC,
                     .targets = targets, .n_targets = 2, .saliency_out = maps[0]};
    assert_int_equal(decam_explain_items(ctx, &it, 1), DECAM_OK);
    assert_int_equal(s.images, 403);
    assert_int_equal(l.stages, 1);
    assert_int_equal(l.from[0], 1 + 200);
    /* the last two generations of each search */
    const double q0 = mean_of(s.quarter, 201 - 32, 201), o0 = mean_of(s.opposite, 201 - 32, 201);
    const double q1 = mean_of(s.quarter, 401 - 32, 401), o1 = mean_of(s.opposite, 401 - 32, 401);
    printf("# follow each: search 1 keeps %.2f / %.2f, search 2 %.2f / %.2f of the quarters\n", q0,
           o0, q1, o1);
    assert_true(q0 > o0 + 0.2 && o1 > q1 + 0.2);
    for (int t = 0; t < 2; t++) {
        double mine = 0.0, other = 0.0;
        for (int y = 0; y < PH; y++)
            for (int x = 0; x < PW; x++) {
                int tl = x < PW / 2 && y < PH / 2, br = x >= PW / 2 && y >= PH / 2;
                if (t == 0 ? tl : br) mine += maps[t][y * PW + x];
                if (t == 0 ? br : tl) other += maps[t][y * PW + x];
            }
        assert_true(mine > 2 * other);
    }
    decam_free(ctx);
}

/* Grid 0 (either side): cells of about a twelfth of 224 pixels, 7 to 12
 * along each side, as the raw map of a grid assembly shows. */
static int constant_model(void *user, const float *images, size_t n, float *scores) {
    (void)user;
    for (size_t i = 0; i < n; i++)
        scores[i] = images[i * 3] > 0.5f ? 1.0f : 0.5f; /* the first pixel: not constant */
    return 0;
}

static void test_grid_zero_follows_the_image_size(void **state) {
    (void)state;
    static const struct {
        int w, h, gw, gh;
    } C[] = {{64, 64, 7, 7}, {224, 224, 12, 12}, {320, 96, 12, 7}, {150, 187, 8, 10}};
    for (size_t c = 0; c < sizeof C / sizeof C[0]; c++) {
        const size_t values = (size_t)C[c].w * C[c].h * 3;
        float *image = calloc(values, sizeof *image), *map = malloc(values / 3 * sizeof *map);
        assert_non_null(image);
        assert_non_null(map);
        image[0] = 1.0f;
        decam_ctx *ctx = decam_create();
        assert_non_null(ctx);
        assert_int_equal(decam_set_model(ctx, constant_model, NULL), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_GRID_WIDTH, 0), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_GRID_HEIGHT, 0), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_ASSEMBLY, DECAM_ASSEMBLY_BEST), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 51), DECAM_OK);
        assert_int_equal(decam_explain(ctx, image, C[c].w, C[c].h, 3, map), DECAM_OK);
        int rw = 0, rh = 0;
        assert_int_equal(decam_get_raw_map(ctx, NULL, 0, &rw, &rh), DECAM_OK);
        printf("# %d x %d: grid %d x %d\n", C[c].w, C[c].h, rw, rh);
        assert_int_equal(rw, C[c].gw);
        assert_int_equal(rh, C[c].gh);
        decam_free(ctx);
        free(image);
        free(map);
    }
}

/* Sigma 0: the blur follows the grid, 16 pixels at 7 cells, 5 at 12, linear
 * between: the maps are those of the sigma stated, bit for bit. */
static int centre_model(void *user, const float *images, size_t n, float *scores) {
    int *side = user; /* width, height, then the most images of a call so far */
    const size_t w = (size_t)side[0], h = (size_t)side[1];
    if ((int)n > side[2]) side[2] = (int)n;
    for (size_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (size_t y = h / 3; y < 2 * h / 3; y++)
            for (size_t x = w / 3; x < 2 * w / 3; x++)
                sum += images[i * w * h * 3 + (y * w + x) * 3 + 1];
        scores[i] = (float)(sum / (double)(w / 3 * (h / 3)));
    }
    return 0;
}

/* Explains the striped w x h image with `key` at 0, then at `stated`:
 * the maps must be equal bit for bit, and differ at stated + 1. Returns
 * the most images the model saw in one call with `key` at 0. */
static int zero_means(decam_param key, int w, int h, double budget, double stated) {
    const size_t hw = (size_t)w * h;
    float *image = malloc(hw * 3 * sizeof *image), *map[3];
    assert_non_null(image);
    for (size_t i = 0; i < hw * 3; i++) /* stripes: what a blur changes */
        image[i] = (float)((i / 3 % (size_t)w / 3) % 2);
    const double values[3] = {0, stated, stated + 1};
    int widest = 0;
    for (int v = 0; v < 3; v++) {
        int side[3] = {w, h, 0};
        map[v] = malloc(hw * sizeof *map[v]);
        assert_non_null(map[v]);
        decam_ctx *ctx = decam_create();
        assert_non_null(ctx);
        assert_int_equal(decam_set_model(ctx, centre_model, side), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, key, values[v]), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, budget), DECAM_OK);
        assert_int_equal(decam_explain(ctx, image, w, h, 3, map[v]), DECAM_OK);
        decam_free(ctx);
        if (v == 0) widest = side[2];
    }
    assert_memory_equal(map[0], map[1], hw * sizeof *map[0]);
    assert_true(memcmp(map[0], map[2], hw * sizeof *map[0]) != 0);
    for (int v = 0; v < 3; v++)
        free(map[v]);
    free(image);
    return widest;
}

static void test_sigma_zero_follows_the_grid(void **state) {
    (void)state;
    static const struct {
        int w, h;
        double sigma;
    } C[] = {{64, 64, 16}, {224, 224, 5}, {150, 150, 16 - 11 * 1 / 5.0}, {224, 64, 16}};
    for (size_t c = 0; c < sizeof C / sizeof C[0]; c++)
        (void)zero_means(DECAM_PARAM_BASELINE_SIGMA, C[c].w, C[c].h, 60, C[c].sigma);
}

/* Searches 0 (the default): two at 10 cells a side or more (190 and 224
 * pixels), one below (64 and 150): the maps are those of the count
 * stated, bit for bit, and not those of one more. */
static void test_searches_zero_follows_the_grid(void **state) {
    (void)state;
    static const struct {
        int side;
        double searches;
    } C[] = {{64, 1}, {150, 1}, {190, 2}, {224, 2}};
    for (size_t c = 0; c < sizeof C / sizeof C[0]; c++)
        (void)zero_means(DECAM_PARAM_SEARCHES, C[c].side, C[c].side, 500, C[c].searches);
}

/* removal_share -1 and searches 0 (the defaults): at 12 cells a side (224
 * pixels) two searches, the second from half the search's queries, and a
 * fifth of the queries for removal, its last 58 for the deletion steps; at
 * 7 (64 pixels) one search and no removal; with a grid assembly, which has
 * no per-pixel map to add them to, neither (and nothing is refused). */
static void test_the_default_searches_and_removal_follow_the_grid(void **state) {
    (void)state;
    static const struct {
        int side, assembly;
        unsigned long long second_from, removal_from, deletion_from; /* 0: no such stage */
    } C[] = {/* 100 removal queries: 42 for windows, 58 = 16 + 15 + 14 + 13 for deletion */
             {224, DECAM_ASSEMBLY_ALL_EVALUATED, 1 + 200, 1 + 400, 1 + 442},
             {64, DECAM_ASSEMBLY_ALL_EVALUATED, 0, 0, 0},
             {224, DECAM_ASSEMBLY_BEST, 0, 0, 0}};
    for (size_t c = 0; c < sizeof C / sizeof C[0]; c++) {
        int side[3] = {C[c].side, C[c].side, 0};
        const size_t hw = (size_t)side[0] * side[1];
        float *image = calloc(hw * 3, sizeof *image), *map = malloc(hw * sizeof *map);
        assert_true(image && map);
        for (size_t i = 0; i < hw * 3; i++)
            image[i] = (float)((i / 3 % (size_t)side[0] / 5) % 2);
        stage_log l = {0};
        decam_ctx *ctx = decam_create();
        assert_non_null(ctx);
        assert_int_equal(decam_set_model(ctx, centre_model, side), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_ASSEMBLY, C[c].assembly), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BUDGET, 503), DECAM_OK);
        assert_int_equal(decam_set_log(ctx, log_stages, &l, DECAM_LOG_DEBUG), DECAM_OK);
        assert_int_equal(decam_explain(ctx, image, side[0], side[1], 3, map), DECAM_OK);
        decam_stats st = {.size = sizeof st};
        assert_int_equal(decam_get_stats(ctx, &st), DECAM_OK);
        assert_int_equal(st.queries, 503);
        int at = 0;
        if (C[c].second_from) {
            assert_string_equal(l.kind[at], "DE");
            assert_int_equal(l.from[at++], C[c].second_from);
        }
        if (C[c].removal_from) {
            assert_string_equal(l.kind[at], "removal");
            assert_int_equal(l.from[at++], C[c].removal_from);
        }
        if (C[c].deletion_from) {
            assert_string_equal(l.kind[at], "deletion");
            assert_int_equal(l.from[at++], C[c].deletion_from);
        }
        assert_int_equal(l.stages, at);
        decam_free(ctx);
        free(image);
        free(map);
    }
}

/* Population 0 (the default): 48 at 7 cells a side, 96 at 12, linear
 * between, no more than one search's queries and never under 48: the maps
 * are those of the population stated, bit for bit, and with batch_size 0
 * no model call holds more than 48 images. */
static void test_population_zero_follows_the_grid_and_the_budget(void **state) {
    (void)state;
    static const struct {
        int w, h;
        double budget, np;
    } C[] = {{64, 64, 500, 48},   {224, 224, 500, 96},
             {224, 224, 150, 58}, /* (150 * (1 - a fifth for removal) - 3) / 2 searches */
             {224, 224, 60, 48},  {150, 150, 500, 58 /* grid 8, one search: 48 + 48 / 5 */}};
    for (size_t c = 0; c < sizeof C / sizeof C[0]; c++) {
        int widest = zero_means(DECAM_PARAM_POPULATION, C[c].w, C[c].h, C[c].budget, C[c].np);
        printf("# %d x %d, budget %g: population %g, at most %d images a call\n", C[c].w, C[c].h,
               C[c].budget, C[c].np, widest);
        assert_true(widest <= 48);
    }
}

/* ---- on the planted models ------------------------------------------------ */

static int explain_planted(const planted *p0, const float *image, const double *keys,
                           const double *values, int n, uint64_t seed, float *map) {
    planted p = *p0;
    decam_ctx *ctx = decam_create();
    assert_non_null(ctx);
    assert_int_equal(decam_set_model(ctx, planted_model, &p), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_SEED, (double)seed), DECAM_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(decam_set_param(ctx, (decam_param)keys[i], values[i]), DECAM_OK);
    decam_status st = decam_explain(ctx, image, PW, PH, PC, map);
    decam_free(ctx);
    return st;
}

/* Each variant: the same seed gives the same map bit for bit, another
 * seed another map, the defaults' map differs, and the planted region is
 * still found (pointing game on 4 of 5 rectangles). */
static void test_every_variant_is_deterministic_differs_and_finds_the_region(void **state) {
    (void)state;
    static const struct {
        const char *name;
        int n;
        double keys[6], values[6];
    } V[] = {
        {"coarse to fine 4-7-14",
         5,
         {DECAM_PARAM_REFINE_COARSE_GRID, DECAM_PARAM_REFINE_MIDDLE_GRID, DECAM_PARAM_GRID_WIDTH,
          DECAM_PARAM_GRID_HEIGHT, DECAM_PARAM_REFINE_MIDDLE_SHARE},
         {4, 7, 14, 14, 0.6}},
        {"prior pass 150", 1, {DECAM_PARAM_PRIOR_PASS_QUERIES}, {150}},
        {"explore 0.3", 1, {DECAM_PARAM_EXPLORE_SHARE}, {0.3}},
        {"both, fused mean", 2, {DECAM_PARAM_OBJECTIVE, DECAM_PARAM_FUSE_GAMES}, {2, 1}},
        {"both, fused product", 2, {DECAM_PARAM_OBJECTIVE, DECAM_PARAM_FUSE_GAMES}, {2, 2}},
        {"both, drop black",
         2,
         {DECAM_PARAM_OBJECTIVE, DECAM_PARAM_DROP_BLACK},
         {DECAM_OBJECTIVE_BOTH, 1}},
        {"keep target 0.9", 1, {DECAM_PARAM_KEEP_TARGET}, {0.9}},
        {"searches 3", 1, {DECAM_PARAM_SEARCHES}, {3}},
        {"searches 3 from best",
         2,
         {DECAM_PARAM_SEARCHES, DECAM_PARAM_RESTART_FROM_BEST},
         {3, 1}},
        {"removal 0.2", 1, {DECAM_PARAM_REMOVAL_SHARE}, {0.2}},
        {"removal 0.2, smoothing 1",
         2,
         {DECAM_PARAM_REMOVAL_SHARE, DECAM_PARAM_REMOVAL_SMOOTHING},
         {0.2, 1}},
        {"removal 0.3, score units, black",
         3,
         {DECAM_PARAM_REMOVAL_SHARE, DECAM_PARAM_REMOVAL_MIX, DECAM_PARAM_DROP_BLACK},
         {0.3, 2, 1}},
        {"removal 0.3, agreement",
         2,
         {DECAM_PARAM_REMOVAL_SHARE, DECAM_PARAM_REMOVAL_MIX},
         {0.3, 1}},
    };
    float image[PW * PH * PC], a[PW * PH], b[PW * PH], ref[PW * PH];
    for (size_t v = 0; v < sizeof V / sizeof V[0]; v++) {
        int hits = 0;
        for (uint64_t seed = 1; seed <= 5; seed++) {
            planted p = {0};
            planted_make(&p, image, seed, DECAM_LAYOUT_HWC);
            assert_int_equal(explain_planted(&p, image, V[v].keys, V[v].values, V[v].n, seed, a),
                             DECAM_OK);
            hits += planted_pointing_hit(&p, a);
            if (seed > 1) continue;
            assert_int_equal(explain_planted(&p, image, V[v].keys, V[v].values, V[v].n, seed, b),
                             DECAM_OK);
            assert_memory_equal(a, b, sizeof a);
            assert_int_equal(
                explain_planted(&p, image, V[v].keys, V[v].values, V[v].n, seed + 1, b), DECAM_OK);
            assert_true(memcmp(a, b, sizeof a) != 0);
            /* the defaults, with the variant's objective when it has one */
            int n_ref = V[v].keys[0] == DECAM_PARAM_OBJECTIVE ? 1 : 0;
            assert_int_equal(explain_planted(&p, image, V[v].keys, V[v].values, n_ref, seed, ref),
                             DECAM_OK);
            assert_true(memcmp(a, ref, sizeof a) != 0);
        }
        printf("# %-22s: pointing game %d/5\n", V[v].name, hits);
        assert_true(hits >= 4);
    }
}

/* The fused maps differ from each other, not only from the summed game. */
static void test_fused_mean_and_product_differ(void **state) {
    (void)state;
    float image[PW * PH * PC], mean[PW * PH], product[PW * PH];
    planted p = {0};
    planted_make(&p, image, 2, DECAM_LAYOUT_HWC);
    const double keys[] = {DECAM_PARAM_OBJECTIVE, DECAM_PARAM_FUSE_GAMES};
    const double m[] = {DECAM_OBJECTIVE_BOTH, 1}, x[] = {DECAM_OBJECTIVE_BOTH, 2};
    assert_int_equal(explain_planted(&p, image, keys, m, 2, 3, mean), DECAM_OK);
    assert_int_equal(explain_planted(&p, image, keys, x, 2, 3, product), DECAM_OK);
    assert_true(memcmp(mean, product, sizeof mean) != 0);
}

/* A grey image against its blur (grey too): removed regions are black only
 * with drop_black, and only in the removed-region images. */
static void test_drop_black_renders_removed_regions_against_black(void **state) {
    (void)state;
    float map[PW * PH];
    for (int black = 0; black <= 1; black++) {
        seeing s = {0};
        decam_ctx *ctx = seeing_ctx(&s, 203);
        for (size_t i = 0; i < PW * PH * PC; i++)
            ONES[i] = 0.5f;
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_BASELINE, DECAM_BASELINE_BLUR), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_OBJECTIVE, DECAM_OBJECTIVE_BOTH),
                         DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_DROP_BLACK, black), DECAM_OK);
        assert_int_equal(decam_explain(ctx, ONES, PW, PH, PC, map), DECAM_OK);
        int keep_black = 0, drop_black = 0;
        for (size_t i = 1; i + 2 < s.images; i++) { /* keep, drop, keep, ... from image 1 */
            int dark = s.min[i] < 0.05;
            if ((i - 1) % 2 == 0)
                keep_black += dark;
            else
                drop_black += dark;
        }
        printf("# drop_black %d: dark kept-region images %d, dark removed-region images %d\n",
               black, keep_black, drop_black);
        assert_int_equal(keep_black, 0);
        if (black)
            assert_true(drop_black > 50);
        else
            assert_int_equal(drop_black, 0);
        decam_free(ctx);
    }
}

/* The staged and fused variants, several searches and the removal
 * refinement with its deletion steps (4 by default), all at once, give
 * the same map whatever the thread count and batch size. */
static void test_staged_map_does_not_depend_on_threads_or_batching(void **state) {
    (void)state;
    float image[PW * PH * PC], ref[PW * PH];
    planted p = {0};
    planted_make(&p, image, 6, DECAM_LAYOUT_HWC);
    decam_ctx *ctx = decam_create();
    assert_non_null(ctx);
    assert_int_equal(decam_set_model(ctx, planted_model, &p), DECAM_OK);
    const double keys[] = {DECAM_PARAM_OBJECTIVE,
                           DECAM_PARAM_FUSE_GAMES,
                           DECAM_PARAM_DROP_BLACK,
                           DECAM_PARAM_PRIOR_PASS_QUERIES,
                           DECAM_PARAM_EXPLORE_SHARE,
                           DECAM_PARAM_REFINE_COARSE_GRID,
                           DECAM_PARAM_REFINE_MIDDLE_GRID,
                           DECAM_PARAM_REFINE_MIDDLE_SHARE,
                           DECAM_PARAM_GRID_WIDTH,
                           DECAM_PARAM_GRID_HEIGHT,
                           DECAM_PARAM_SEARCHES,
                           DECAM_PARAM_REMOVAL_SHARE,
                           DECAM_PARAM_REMOVAL_SMOOTHING,
                           DECAM_PARAM_SEED};
    const double values[] = {DECAM_OBJECTIVE_BOTH, 2, 1, 101, 0.4, 4, 7, 0.7, 10, 10, 2, 0.2, 1, 9};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(decam_set_param(ctx, (decam_param)keys[i], values[i]), DECAM_OK);
    stage_log l = {0};
    assert_int_equal(decam_set_log(ctx, log_stages, &l, DECAM_LOG_DEBUG), DECAM_OK);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, ref), DECAM_OK);
    assert_int_equal(decam_set_log(ctx, NULL, NULL, DECAM_LOG_DEBUG), DECAM_OK);
    assert_true(l.stages >= 2); /* the removal and the deletion steps ran, last */
    assert_string_equal(l.kind[l.stages - 2], "removal");
    assert_string_equal(l.kind[l.stages - 1], "deletion");
    const double threads[] = {1, 3}, batches[] = {0, 1, 7, 1000};
    assert_int_equal(planted_maps_differing(ctx, image, ref, threads, 2, batches, 4), 0);
    decam_free(ctx);
}

/* What the stages cannot serve is refused with a message that says why. */
static void test_variants_refuse_what_they_cannot_serve(void **state) {
    (void)state;
    float image[PW * PH * PC], map[PW * PH];
    planted p = {0};
    planted_make(&p, image, 1, DECAM_LAYOUT_HWC);
    decam_ctx *ctx = decam_create();
    assert_non_null(ctx);
    assert_int_equal(decam_set_model(ctx, planted_model, &p), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_PRIOR_PASS_QUERIES, 50), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_ASSEMBLY, DECAM_ASSEMBLY_BEST), DECAM_OK);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_ERR_MISSING_INPUT);
    assert_non_null(strstr(decam_errmsg(ctx), "all_evaluated"));
    assert_int_equal(decam_reset_params(ctx), DECAM_OK);
    assert_int_equal(decam_set_param(ctx, DECAM_PARAM_FUSE_GAMES, 1), DECAM_OK);
    assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_ERR_MISSING_INPUT);
    assert_non_null(strstr(decam_errmsg(ctx), "objective = both"));
    const decam_param need_pixels[] = {DECAM_PARAM_SEARCHES, DECAM_PARAM_REMOVAL_SHARE,
                                       DECAM_PARAM_FOLLOW};
    const double values[] = {2, 0.2, DECAM_FOLLOW_EACH};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(decam_reset_params(ctx), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, need_pixels[i], values[i]), DECAM_OK);
        assert_int_equal(decam_set_param(ctx, DECAM_PARAM_ASSEMBLY, DECAM_ASSEMBLY_POPULATION),
                         DECAM_OK);
        assert_int_equal(decam_explain(ctx, image, PW, PH, PC, map), DECAM_ERR_MISSING_INPUT);
        assert_non_null(strstr(decam_errmsg(ctx), "all_evaluated"));
    }
    decam_free(ctx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coarse_to_fine_renders_finer_masks_later),
        cmocka_unit_test(test_lshade_refines_from_its_shrunk_population),
        cmocka_unit_test(test_prior_pass_spends_exactly_its_queries_before_the_first_generation),
        cmocka_unit_test(test_exploring_phase_ends_at_its_share),
        cmocka_unit_test(test_exploring_at_a_first_grid_finer_than_the_last),
        cmocka_unit_test(test_searches_share_the_budget_and_start_again),
        cmocka_unit_test(test_removal_tests_windows_coarse_then_where_they_cost),
        cmocka_unit_test(test_removal_share_stops_at_the_windows_there_are),
        cmocka_unit_test(test_deletion_steps_delete_greedily_and_rank_first),
        cmocka_unit_test(test_deletion_steps_fit_in_three_fifths_of_the_removal),
        cmocka_unit_test(test_follow_each_gives_every_target_its_search),
        cmocka_unit_test(test_grid_zero_follows_the_image_size),
        cmocka_unit_test(test_sigma_zero_follows_the_grid),
        cmocka_unit_test(test_searches_zero_follows_the_grid),
        cmocka_unit_test(test_the_default_searches_and_removal_follow_the_grid),
        cmocka_unit_test(test_population_zero_follows_the_grid_and_the_budget),
        cmocka_unit_test(test_every_variant_is_deterministic_differs_and_finds_the_region),
        cmocka_unit_test(test_fused_mean_and_product_differ),
        cmocka_unit_test(test_drop_black_renders_removed_regions_against_black),
        cmocka_unit_test(test_staged_map_does_not_depend_on_threads_or_batching),
        cmocka_unit_test(test_variants_refuse_what_they_cannot_serve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
