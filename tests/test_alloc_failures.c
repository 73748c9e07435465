/* test_alloc_failures.c - every public entry point of decam.h and
 * decam_io.h under allocation failure.
 *
 * The table below has one row per DECAM_API function. Each row's call is
 * run on a fresh context made with a counting allocator, once for every
 * allocation it makes, with that allocation failing: the call must return
 * DECAM_ERR_OUT_OF_MEMORY with a message, leak nothing, and leave the
 * context usable (the same call then succeeds). The list of functions is
 * parsed from the installed headers themselves, so a new entry point
 * without a row here fails test_every_public_function_has_a_row.
 *
 * Built with DECAM_TEST_IO when the I/O part is built; without it only
 * decam.h and decam_image.h are parsed and their rows run. */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#define DECAM_EXPERIMENTAL /* the search's stages, in the decam_explain row */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "counting.h"

#include "decam.h"
#include "decam_image.h"
#include "rank.h"
#ifdef DECAM_TEST_IO
#include "decam_io.h"
#endif

#ifndef DECAM_INCLUDE_DIR
#error "DECAM_INCLUDE_DIR must name the include/ directory"
#endif

/* ---------------------------------------------------------------------
 * What the calls work on
 * --------------------------------------------------------------------- */

#define W 8
#define H 6
#define C 3

typedef struct env {
    decam_ctx *ctx;
    counter mem;
    decam_ctx *spare; /* for decam_free */
    float image[W * H * C], map[W * H], out[4 * W * H * C];
    uint8_t bytes[W * H * C], truth[W * H], rgb[9 * W * H];
    char dir[64], path_png[96], path_jpeg[96];
    uint8_t *png, *jpeg; /* encoded files (malloc) */
    size_t png_size, jpeg_size;
} env;

static env E; /* one per process; the tests run in turn */

static int model(void *user, const float *images, size_t n, float *scores) {
    (void)user;
    for (size_t i = 0; i < n; i++) {
        const float *im = images + i * W * H * C;
        float s = 0.0f;
        for (int k = 0; k < W * H; k++) /* the top-left quarter matters */
            if (k % W < W / 2 && k / W < H / 2) s += im[k * C];
        scores[i] = s;
    }
    return 0;
}

/* Makes E.ctx and gives it what the calls need (none of it under failure). */
static void prepare(void) {
    E.mem.fail_at = -1;
    E.ctx = decam_create_advanced(count_alloc, count_free, &E.mem);
    assert_non_null(E.ctx);
    assert_int_equal(decam_set_model(E.ctx, model, NULL), DECAM_OK);
    assert_int_equal(decam_set_param(E.ctx, DECAM_PARAM_GRID_WIDTH, 4), DECAM_OK);
    assert_int_equal(decam_set_param(E.ctx, DECAM_PARAM_GRID_HEIGHT, 3), DECAM_OK);
    assert_int_equal(decam_set_param(E.ctx, DECAM_PARAM_POPULATION, 8), DECAM_OK);
    assert_int_equal(decam_set_param(E.ctx, DECAM_PARAM_BUDGET, 40), DECAM_OK);
    E.spare = NULL;
}

static void finish(void) {
    decam_free(E.spare);
    decam_free(E.ctx);
    E.ctx = E.spare = NULL;
    assert_int_equal(E.mem.live, 0);
}

/* ---------------------------------------------------------------------
 * One call per public function
 * --------------------------------------------------------------------- */

#define CALL(name) static decam_status call_##name(void)

static decam_status ok_if(int cond) { return cond ? DECAM_OK : DECAM_ERR_INVALID_ARGUMENT; }

CALL(decam_version_number) { return ok_if(decam_version_number() == DECAM_VERSION_NUMBER); }
CALL(decam_version_string) { return ok_if(decam_version_string() != NULL); }
CALL(decam_status_string) { return ok_if(decam_status_string(DECAM_ERR_IO) != NULL); }
CALL(decam_errmsg) { return ok_if(decam_errmsg(E.ctx) != NULL); }
/* decam_create() uses malloc by contract: nothing to inject; it must still
 * give a context that frees cleanly. */
CALL(decam_create) {
    decam_ctx *c = decam_create();
    decam_free(c);
    return c ? DECAM_OK : DECAM_ERR_OUT_OF_MEMORY;
}
CALL(decam_create_advanced) {
    decam_ctx *c = decam_create_advanced(count_alloc, count_free, &E.mem);
    decam_free(c);
    return c ? DECAM_OK : DECAM_ERR_OUT_OF_MEMORY;
}
CALL(decam_free) {
    if (!E.spare) return DECAM_OK;
    decam_free(E.spare);
    E.spare = NULL;
    return DECAM_OK;
}
CALL(decam_set_model) { return decam_set_model(E.ctx, model, NULL); }
/* With two searches and the removal refinement, whose memory the defaults
 * leave out at this size (setting a parameter allocates nothing). */
CALL(decam_explain) {
    if (decam_set_param(E.ctx, DECAM_PARAM_SEARCHES, 2) != DECAM_OK ||
        decam_set_param(E.ctx, DECAM_PARAM_REMOVAL_SHARE, 0.25) != DECAM_OK)
        return DECAM_ERR_INVALID_ARGUMENT;
    return decam_explain(E.ctx, E.image, W, H, C, E.map);
}
CALL(decam_set_param) { return decam_set_param(E.ctx, DECAM_PARAM_SEED, 7); }
/* Two items, the second for two targets (RISE gives several maps whatever
 * the assembly; DE-CAM's default assembly too). */
static decam_item ITEMS[2];
static const uint32_t TWO_TARGETS[2] = {0, 0};
static void make_items(void) {
    for (int i = 0; i < 2; i++)
        ITEMS[i] = (decam_item){.image = E.image, .width = W, .height = H, .channels = C,
                                .saliency_out = E.out + i * W * H};
    ITEMS[1].targets = TWO_TARGETS;
    ITEMS[1].n_targets = 2;
}
CALL(decam_explain_items) {
    make_items();
    return decam_explain_items(E.ctx, ITEMS, 2);
}
/* The caller-driven loop over the two items: the row of each of its calls. */
static decam_status ask_tell(int cancel) {
    make_items();
    static float scores[4096];
    decam_status st = decam_begin(E.ctx, ITEMS, 2);
    if (st != DECAM_OK) return st; /* no run was started */
    for (;;) {
        decam_request rq = {.size = sizeof rq};
        st = decam_ask(E.ctx, &rq);
        if (st != DECAM_OK || rq.n == 0) break;
        if (cancel) {
            decam_cancel(E.ctx);
            return DECAM_OK;
        }
        model(NULL, rq.images, rq.n, scores);
        st = decam_tell(E.ctx, scores, rq.n);
    }
    decam_status fin = decam_finish(E.ctx);
    return st != DECAM_OK ? st : fin;
}
CALL(decam_begin) { return ask_tell(0); }
CALL(decam_ask) { return ask_tell(0); }
CALL(decam_tell) { return ask_tell(0); }
CALL(decam_finish) { return ask_tell(0); }
CALL(decam_cancel) { return ask_tell(1); }
CALL(decam_tell_failed) {
    make_items();
    decam_status st = decam_begin(E.ctx, ITEMS, 2);
    if (st != DECAM_OK) return st;
    decam_request rq = {.size = sizeof rq};
    st = decam_ask(E.ctx, &rq);
    if (st == DECAM_OK) {
        decam_status failed = decam_tell_failed(E.ctx, 3);
        if (failed != DECAM_ERR_MODEL_FAILED) st = DECAM_ERR_INVALID_ARGUMENT;
    }
    decam_status fin = decam_finish(E.ctx);
    if (st != DECAM_OK) return st;
    return fin == DECAM_ERR_MODEL_FAILED ? DECAM_OK : fin;
}
CALL(decam_get_param) {
    double v;
    return decam_get_param(E.ctx, DECAM_PARAM_SEED, &v);
}
CALL(decam_param_bounds) {
    double lo, hi, def;
    return decam_param_bounds(DECAM_PARAM_BUDGET, &lo, &hi, &def);
}
CALL(decam_param_name) { return ok_if(decam_param_name(DECAM_PARAM_BUDGET) != NULL); }
CALL(decam_set_image_layout) { return decam_set_image_layout(E.ctx, DECAM_LAYOUT_HWC); }
CALL(decam_reset_params) { return decam_reset_params(E.ctx); }
CALL(decam_set_baseline_image) { return decam_set_baseline_image(E.ctx, E.image, W, H, C); }
CALL(decam_set_prior_map) { return decam_set_prior_map(E.ctx, E.map, W, H); }
CALL(decam_set_progress) { return decam_set_progress(E.ctx, NULL, NULL); }
CALL(decam_set_log) { return decam_set_log(E.ctx, NULL, NULL, DECAM_LOG_WARNING); }
CALL(decam_force_stop) {
    decam_force_stop(E.ctx);
    return DECAM_OK;
}
CALL(decam_get_stats) {
    decam_stats s;
    s.size = sizeof s;
    return decam_get_stats(E.ctx, &s);
}
/* After a run (made in the call, so its allocations are injected too). */
CALL(decam_get_raw_map) {
    decam_status st = decam_explain(E.ctx, E.image, W, H, C, E.map);
    if (st != DECAM_OK) return st;
    int w, h;
    return decam_get_raw_map(E.ctx, E.out, sizeof E.out / sizeof *E.out, &w, &h);
}
CALL(decam_evaluate) {
    decam_metrics m;
    m.size = sizeof m;
    return decam_evaluate(E.ctx, E.image, W, H, C, E.map, E.truth, &m);
}
CALL(decam_pointing) {
    double hit, energy;
    return decam_pointing(E.map, E.truth, W, H, &hit, &energy);
}
/* decam_rank_correlation() has no context: it allocates with malloc
 * through decam__rank_correlation(), which is run here with the counting
 * allocator instead. */
CALL(decam_rank_correlation) {
    const decam_allocator counting = {count_alloc, count_free, &E.mem};
    double rho;
    decam_status st = decam__rank_correlation(&counting, E.map, E.image, W * H, &rho);
    if (st != DECAM_OK) return st;
    return decam_rank_correlation(E.map, E.image, W * H, &rho);
}
/* The scorers: each copies its inputs (one allocation), then the context
 * goes back to the output scorer the other rows use. */
static decam_status scored_then_reset(decam_status st) {
    return st != DECAM_OK ? st : decam_score_outputs(E.ctx);
}
CALL(decam_get_scorer) { return ok_if(decam_get_scorer(E.ctx) == DECAM_SCORER_OUTPUT); }
CALL(decam_scorer_targets) { return ok_if(decam_scorer_targets(E.ctx) == 0); }
CALL(decam_score_outputs) { return decam_score_outputs(E.ctx); }
CALL(decam_score_detections) {
    const decam_detection_layout l = {sizeof l, 2, 6, DECAM_BOX_XYXY, 0, 0, 4, 5, 1};
    const float box[4] = {1, 1, 5, 5};
    const int32_t label = 0;
    return scored_then_reset(decam_score_detections(E.ctx, &l, box, &label, NULL, 1));
}
CALL(decam_score_similarity) {
    return scored_then_reset(
        decam_score_similarity(E.ctx, DECAM_SIMILARITY_COSINE, E.image, 4, 2));
}
CALL(decam_score_regions) {
    const decam_dense_layout l = {sizeof l, W, H, 1, DECAM_LAYOUT_HWC};
    const uint32_t cls = 0;
    return scored_then_reset(decam_score_regions(E.ctx, &l, &cls, E.truth, 1));
}
static int score_first(void *user, const float *out, size_t n, uint32_t t, double *s) {
    *s = out[0];
    return 0;
}
CALL(decam_score_with) { return scored_then_reset(decam_score_with(E.ctx, score_first, NULL, 1)); }
CALL(decam_max_image_side) { return ok_if(decam_max_image_side() > 0); }
CALL(decam_max_image_values) { return ok_if(decam_max_image_values() > 0); }
CALL(decam_max_channels) { return ok_if(decam_max_channels() > 0); }
CALL(decam_item_size) { return ok_if(decam_item_size() == sizeof(decam_item)); }
CALL(decam_request_size) { return ok_if(decam_request_size() == sizeof(decam_request)); }
CALL(decam_param_count) { return ok_if(decam_param_count() > 0); }
CALL(decam_param_key) { return ok_if(decam_param_key(0) != 0); }
CALL(decam_param_from_name) {
    decam_param k;
    return decam_param_from_name("budget", &k);
}
CALL(decam_value_name) { return ok_if(decam_value_name(DECAM_PARAM_METHOD, 1) != NULL); }
CALL(decam_value_from_name) {
    int v;
    return decam_value_from_name(DECAM_PARAM_METHOD, "rise", &v);
}
CALL(decam_progress_size) { return ok_if(decam_progress_size() > 0); }
CALL(decam_stats_size) { return ok_if(decam_stats_size() > 0); }
CALL(decam_metrics_size) { return ok_if(decam_metrics_size() > 0); }

/* Both methods, growing and shrinking. */
CALL(decam_image_resize) {
    static const int sizes[3][2] = {{3, 2}, {13, 11}, {W, H}};
    for (int m = 0; m < 2; m++)
        for (int i = 0; i < 3; i++) {
            decam_status st = decam_image_resize(E.ctx, E.image, W, H, C, E.out, sizes[i][0],
                                                 sizes[i][1], (decam_resize_method)m);
            if (st != DECAM_OK) return st;
        }
    return DECAM_OK;
}
CALL(decam_image_center_crop) {
    return decam_image_center_crop(E.ctx, E.image, W, H, C, E.out, 4, 4);
}
static const float MEAN[3] = {0.485f, 0.456f, 0.406f}, STD[3] = {0.229f, 0.224f, 0.225f};
CALL(decam_image_normalize) {
    memcpy(E.out, E.image, sizeof E.image);
    return decam_image_normalize(E.ctx, E.out, W, H, C, MEAN, STD);
}
CALL(decam_image_denormalize) {
    memcpy(E.out, E.image, sizeof E.image);
    return decam_image_denormalize(E.ctx, E.out, W, H, C, MEAN, STD);
}
CALL(decam_image_to_bytes) { return decam_image_to_bytes(E.ctx, E.image, W, H, C, E.bytes); }
CALL(decam_image_from_bytes) { return decam_image_from_bytes(E.ctx, E.bytes, W, H, C, E.out); }
#ifdef DECAM_TEST_IO
CALL(decam_io_set_limits) { return decam_io_set_limits(E.ctx, 100, 100, 10000); }
CALL(decam_io_get_limits) {
    int w, h;
    uint64_t p;
    return decam_io_get_limits(E.ctx, &w, &h, &p);
}
CALL(decam_io_set_input_limits) { return decam_io_set_input_limits(E.ctx, 1000, 100, 1 << 24); }
CALL(decam_io_get_input_limits) {
    uint64_t base, ratio, memory;
    return decam_io_get_input_limits(E.ctx, &base, &ratio, &memory);
}
CALL(decam_io_set_background) { return decam_io_set_background(E.ctx, 0.5f, 0.5f, 0.5f); }
CALL(decam_io_get_background) {
    float rgb[3];
    return decam_io_get_background(E.ctx, rgb);
}
CALL(decam_io_set_jpeg_quality) { return decam_io_set_jpeg_quality(E.ctx, 75); }
CALL(decam_io_get_jpeg_quality) {
    int q;
    return decam_io_get_jpeg_quality(E.ctx, &q);
}
CALL(decam_image_detect) {
    decam_image_format f;
    return decam_image_detect(E.ctx, E.png, E.png_size, &f);
}
/* Loads the PNG, then the JPEG: both decoders' allocations are injected. */
static decam_status load_both(int from_memory) {
    for (int i = 0; i < 2; i++) {
        float *px;
        int w, h;
        decam_status st =
            from_memory ? decam_image_load_memory(E.ctx, i ? E.jpeg : E.png,
                                                  i ? E.jpeg_size : E.png_size, C, &px, &w, &h)
                        : decam_image_load(E.ctx, i ? E.path_jpeg : E.path_png, C, &px, &w, &h);
        if (st != DECAM_OK) return st;
        decam_image_free(E.ctx, px);
    }
    return DECAM_OK;
}
CALL(decam_image_load) { return load_both(0); }
CALL(decam_image_load_memory) { return load_both(1); }
CALL(decam_image_free) {
    float *px;
    int w, h;
    decam_status st = decam_image_load_memory(E.ctx, E.png, E.png_size, 1, &px, &w, &h);
    decam_image_free(E.ctx, st == DECAM_OK ? px : NULL);
    return st;
}
CALL(decam_colormap_value) {
    float rgb[3];
    return decam_colormap_value(E.ctx, DECAM_COLORMAP_TURBO, 0.3f, rgb);
}
CALL(decam_render_colormap) {
    return decam_render_colormap(E.ctx, E.map, W, H, DECAM_COLORMAP_JET, E.rgb);
}
CALL(decam_render_overlay) {
    return decam_render_overlay(E.ctx, E.image, W, H, C, E.map, DECAM_COLORMAP_VIRIDIS, 0.5f,
                                E.rgb);
}
CALL(decam_render_contour) {
    static const uint8_t white[3] = {255, 255, 255};
    return decam_render_contour(E.ctx, E.map, W, H, 0.25f, white, E.rgb);
}
CALL(decam_render_panel) {
    return decam_render_panel(E.ctx, E.image, W, H, C, E.map, DECAM_COLORMAP_INFERNO, 0.5f, 0.2f,
                              E.rgb);
}
/* Each format in turn, to a path in this test's directory. */
CALL(decam_image_save) {
    decam_status st = decam_image_save(E.ctx, E.path_png, DECAM_IMAGE_PNG, E.bytes, W, H, C);
    if (st != DECAM_OK) return st;
    return decam_image_save(E.ctx, E.path_jpeg, DECAM_IMAGE_JPEG, E.bytes, W, H, C);
}
CALL(decam_image_save_memory) {
    for (int f = DECAM_IMAGE_PNG; f <= DECAM_IMAGE_JPEG; f++) {
        uint8_t *data;
        size_t size;
        decam_status st =
            decam_image_save_memory(E.ctx, (decam_image_format)f, E.bytes, W, H, C, &data, &size);
        if (st != DECAM_OK) return st;
        decam_image_free(E.ctx, data);
    }
    return DECAM_OK;
}
#endif

/* ---------------------------------------------------------------------
 * The table
 * --------------------------------------------------------------------- */

typedef struct entry {
    const char *name;
    decam_status (*call)(void);
} entry;

#define ROW(name)                                                                                  \
    { #name, call_##name }

static const entry ENTRIES[] = {
    ROW(decam_version_number),
    ROW(decam_version_string),
    ROW(decam_status_string),
    ROW(decam_errmsg),
    ROW(decam_create),
    ROW(decam_create_advanced),
    ROW(decam_free),
    ROW(decam_set_model),
    ROW(decam_explain),
    ROW(decam_explain_items),
    ROW(decam_begin),
    ROW(decam_ask),
    ROW(decam_tell),
    ROW(decam_finish),
    ROW(decam_cancel),
    ROW(decam_tell_failed),
    ROW(decam_set_param),
    ROW(decam_get_param),
    ROW(decam_param_bounds),
    ROW(decam_param_name),
    ROW(decam_set_image_layout),
    ROW(decam_reset_params),
    ROW(decam_set_baseline_image),
    ROW(decam_set_prior_map),
    ROW(decam_set_progress),
    ROW(decam_set_log),
    ROW(decam_force_stop),
    ROW(decam_get_stats),
    ROW(decam_get_raw_map),
    ROW(decam_evaluate),
    ROW(decam_pointing),
    ROW(decam_rank_correlation),
    ROW(decam_get_scorer),
    ROW(decam_scorer_targets),
    ROW(decam_score_outputs),
    ROW(decam_score_detections),
    ROW(decam_score_similarity),
    ROW(decam_score_regions),
    ROW(decam_score_with),
    ROW(decam_max_image_side),
    ROW(decam_max_image_values),
    ROW(decam_max_channels),
    ROW(decam_item_size),
    ROW(decam_request_size),
    ROW(decam_param_count),
    ROW(decam_param_key),
    ROW(decam_param_from_name),
    ROW(decam_value_name),
    ROW(decam_value_from_name),
    ROW(decam_progress_size),
    ROW(decam_stats_size),
    ROW(decam_metrics_size),
    ROW(decam_image_resize),
    ROW(decam_image_center_crop),
    ROW(decam_image_normalize),
    ROW(decam_image_denormalize),
    ROW(decam_image_to_bytes),
    ROW(decam_image_from_bytes),
#ifdef DECAM_TEST_IO
    ROW(decam_io_set_limits),
    ROW(decam_io_get_limits),
    ROW(decam_io_set_input_limits),
    ROW(decam_io_get_input_limits),
    ROW(decam_io_set_background),
    ROW(decam_io_get_background),
    ROW(decam_io_set_jpeg_quality),
    ROW(decam_io_get_jpeg_quality),
    ROW(decam_image_detect),
    ROW(decam_image_load),
    ROW(decam_image_load_memory),
    ROW(decam_image_free),
    ROW(decam_colormap_value),
    ROW(decam_render_colormap),
    ROW(decam_render_overlay),
    ROW(decam_render_contour),
    ROW(decam_render_panel),
    ROW(decam_image_save),
    ROW(decam_image_save_memory),
#endif
};
#define N_ENTRIES (sizeof ENTRIES / sizeof ENTRIES[0])

static const entry *find_entry(const char *name) {
    for (size_t i = 0; i < N_ENTRIES; i++)
        if (strcmp(ENTRIES[i].name, name) == 0) return &ENTRIES[i];
    return NULL;
}

/* The names of the DECAM_API functions a header declares: the identifier
 * before the first '(' after each "DECAM_API" (the macro's own
 * definitions give no decam_ name and are skipped). Returns the count. */
static int parse_header(const char *file, char names[][64], int max) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", DECAM_INCLUDE_DIR, file);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    static char text[1 << 17];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    assert_true(len < sizeof text - 1); /* read whole */
    text[len] = '\0';
    int n = 0;
    for (const char *p = strstr(text, "DECAM_API"); p; p = strstr(p + 1, "DECAM_API")) {
        const char *paren = strchr(p, '(');
        if (!paren) break;
        const char *end = paren;
        while (end > p && end[-1] == ' ')
            end--;
        const char *start = end;
        while (start > p && (start[-1] == '_' || (start[-1] >= 'a' && start[-1] <= 'z') ||
                             (start[-1] >= '0' && start[-1] <= '9')))
            start--;
        if (end - start < 7 || strncmp(start, "decam_", 6) != 0) continue;
        assert_true(n < max);
        snprintf(names[n], 64, "%.*s", (int)(end - start), start);
        n++;
    }
    return n;
}

static int public_functions(char names[][64], int max) {
    int n = parse_header("decam.h", names, max);
    assert_true(n >= 30); /* the parser found the declarations */
    int k = parse_header("decam_image.h", names + n, max - n);
    assert_true(k >= 6);
    n += k;
#ifdef DECAM_TEST_IO
    int m = parse_header("decam_io.h", names + n, max - n);
    assert_true(m >= 15);
    n += m;
#endif
    return n;
}

/* ---------------------------------------------------------------------
 * Tests
 * --------------------------------------------------------------------- */

static void test_every_public_function_has_a_row(void **state) {
    (void)state;
    static char names[256][64];
    int n = public_functions(names, 256);
    int missing = 0;
    for (int i = 0; i < n; i++)
        if (!find_entry(names[i])) {
            print_error("%s has no row in this test's table\n", names[i]);
            missing++;
        }
    assert_int_equal(missing, 0);
    /* And no row names a function the headers no longer declare. */
    for (size_t i = 0; i < N_ENTRIES; i++) {
        int found = 0;
        for (int k = 0; k < n && !found; k++)
            found = strcmp(names[k], ENTRIES[i].name) == 0;
        if (!found) fail_msg("row %s names no public function", ENTRIES[i].name);
    }
    assert_int_equal((size_t)n, N_ENTRIES);
}

/* Runs one row under every allocation failure; returns the number of
 * allocations the call makes when none fails. */
static long run_row(const entry *e) {
    for (long k = 0;; k++) {
        prepare();
        E.spare = decam_create_advanced(count_alloc, count_free, &E.mem);
        assert_non_null(E.spare);
        const long base_calls = E.mem.calls, base_live = E.mem.live;
        E.mem.fail_at = base_calls + k;
        decam_status st = e->call();
        const int injected = E.mem.calls > E.mem.fail_at;
        E.mem.fail_at = -1;
        if (!injected) {
            if (st != DECAM_OK)
                fail_msg("%s: %s (%s) with no failure", e->name, decam_status_string(st),
                         decam_errmsg(E.ctx));
            finish();
            return k;
        }
        if (st != DECAM_ERR_OUT_OF_MEMORY)
            fail_msg("%s, allocation %ld failing: %s (%s), not out of memory", e->name, k,
                     decam_status_string(st), decam_errmsg(E.ctx));
        if (E.mem.live != base_live)
            fail_msg("%s, allocation %ld failing: %ld allocations leaked", e->name, k,
                     E.mem.live - base_live);
        /* Functions without a context report by status alone. */
        const int has_message = strcmp(e->name, "decam_rank_correlation") != 0 &&
                                strcmp(e->name, "decam_create_advanced") != 0;
        if (has_message && decam_errmsg(E.ctx)[0] == '\0')
            fail_msg("%s, allocation %ld failing: no message", e->name, k);
        st = e->call(); /* the context is still usable */
        if (st != DECAM_OK)
            fail_msg("%s after allocation %ld failed: %s (%s)", e->name, k, decam_status_string(st),
                     decam_errmsg(E.ctx));
        finish();
    }
}

static void test_every_entry_point_survives_every_allocation_failure(void **state) {
    (void)state;
    long total = 0;
    int allocating = 0;
    for (size_t i = 0; i < N_ENTRIES; i++) {
        long n = run_row(&ENTRIES[i]);
        if (n > 0) {
            print_message("%-26s %4ld allocations, each failed in turn\n", ENTRIES[i].name, n);
            allocating++;
        }
        total += n;
    }
    print_message("%zu entry points, %d of them allocate; %ld failures injected\n", N_ENTRIES,
                  allocating, total);
    assert_true(allocating >= 8);
}

static int setup_group(void **state) {
    (void)state;
    for (int i = 0; i < W * H * C; i++)
        E.image[i] = (float)((i * 37) % 101) / 100.0f;
    for (int i = 0; i < W * H; i++) {
        E.map[i] = (float)((i * 13) % 17) / 16.0f;
        E.truth[i] = (uint8_t)(i % W < W / 2);
    }
    for (int i = 0; i < W * H * C; i++)
        E.bytes[i] = (uint8_t)(i * 7);
    snprintf(E.dir, sizeof E.dir, "/tmp/decam-alloc-XXXXXX");
    if (!mkdtemp(E.dir)) return -1;
    snprintf(E.path_png, sizeof E.path_png, "%s/a.png", E.dir);
    snprintf(E.path_jpeg, sizeof E.path_jpeg, "%s/a.jpg", E.dir);
#ifdef DECAM_TEST_IO
    /* The files the loaders read, written by the library itself. */
    decam_ctx *ctx = decam_create();
    uint8_t *data;
    size_t size;
    if (decam_image_save_memory(ctx, DECAM_IMAGE_PNG, E.bytes, W, H, C, &data, &size) != DECAM_OK)
        return -1;
    E.png = malloc(size);
    memcpy(E.png, data, size);
    E.png_size = size;
    decam_image_free(ctx, data);
    if (decam_image_save_memory(ctx, DECAM_IMAGE_JPEG, E.bytes, W, H, C, &data, &size) != DECAM_OK)
        return -1;
    E.jpeg = malloc(size);
    memcpy(E.jpeg, data, size);
    E.jpeg_size = size;
    decam_image_free(ctx, data);
    if (decam_image_save(ctx, E.path_png, DECAM_IMAGE_PNG, E.bytes, W, H, C) != DECAM_OK ||
        decam_image_save(ctx, E.path_jpeg, DECAM_IMAGE_JPEG, E.bytes, W, H, C) != DECAM_OK)
        return -1;
    decam_free(ctx);
#endif
    return 0;
}

static int teardown_group(void **state) {
    (void)state;
    unlink(E.path_png);
    unlink(E.path_jpeg);
    free(E.png);
    free(E.jpeg);
    /* Fails if a failed save left a temporary file behind. */
    return rmdir(E.dir) == 0 ? 0 : -1;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_public_function_has_a_row),
        cmocka_unit_test(test_every_entry_point_survives_every_allocation_failure),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
