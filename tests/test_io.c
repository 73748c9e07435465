/* test_io.c - the optional I/O part (decam_io.h): settings, PNG and JPEG
 * loading (round trips through files the test writes itself with libpng and
 * libjpeg), hostile inputs, saving, and preparing model input (resize,
 * centre crop, normalisation, bytes).
 *
 * Every context is made with a counting allocator (decam_create_advanced),
 * so every test also checks that all memory came back, and allocation
 * failures can be injected; libpng allocates through it too. */
#define _XOPEN_SOURCE 700 /* mkdtemp, dup2, symlink, setrlimit */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "counting.h"
#include <jpeglib.h>
#include <png.h>

#include "context.h"
#include "decam_io.h"
#include "jpeg_write.h"

/* ---------------------------------------------------------------------
 * Log capture
 * --------------------------------------------------------------------- */

typedef struct logbook {
    int warnings, errors;
    char last[256];
} logbook;

static void on_log(void *user, decam_log_level level, const char *message) {
    logbook *log = user;
    if (level == DECAM_LOG_WARNING) log->warnings++;
    if (level == DECAM_LOG_ERROR) log->errors++;
    snprintf(log->last, sizeof log->last, "%s", message);
}

typedef struct fixture {
    decam_ctx *ctx;
    counter mem;
    logbook log;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->mem.fail_at = -1;
    f->ctx = decam_create_advanced(count_alloc, count_free, &f->mem);
    if (!f->ctx) return -1;
    decam_set_log(f->ctx, on_log, &f->log, DECAM_LOG_DEBUG);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    decam_free(f->ctx);
    long live = f->mem.live;
    free(f);
    assert_int_equal(live, 0); /* everything allocated came back */
    return 0;
}

/* ---------------------------------------------------------------------
 * Writing test files with libpng and libjpeg directly
 * --------------------------------------------------------------------- */

typedef struct blob {
    unsigned char *data;
    size_t size;
} blob;

static void blob_append(blob *b, const void *p, size_t n) {
    b->data = realloc(b->data, b->size + n);
    memcpy(b->data + b->size, p, n);
    b->size += n;
}

static void png_blob_write(png_structp png, png_bytep p, size_t n) {
    blob_append(png_get_io_ptr(png), p, n);
}
static void png_blob_flush(png_structp png) { (void)png; }

/* A PNG test image: samples are a deterministic function of (x, y, k). */
typedef struct png_spec {
    int colour_type, depth, interlace;
    int trns; /* add a tRNS chunk */
    int width, height;
} png_spec;

static unsigned sample_at(const png_spec *s, int x, int y, int k) {
    unsigned maxval = (1u << s->depth) - 1;
    unsigned v = (unsigned)(x * 37 + y * 101 + k * 59 + x * y * 7) * 2654435761u >> 7;
    if (s->colour_type == PNG_COLOR_TYPE_PALETTE)
        return v % ((1u << s->depth) < 200 ? (1u << s->depth) : 200);
    return v & maxval;
}

static const int PALETTE_SIZE = 200;
static png_color palette_entry(int i) {
    png_color c = {(png_byte)(i * 7 + 3), (png_byte)(255 - i), (png_byte)(i * 13)};
    return c;
}
static png_byte palette_alpha(int i) { return (png_byte)(i * 29 % 256); }
static const unsigned TRNS_GRAY_8 = 17, TRNS_GRAY_16 = 4660;

static int png_channels(int colour_type) {
    switch (colour_type) {
    case PNG_COLOR_TYPE_GRAY: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1; /* palette index */
    }
}

static blob write_png(const png_spec *s) {
    blob b = {NULL, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_int_equal(setjmp(png_jmpbuf(png)), 0);
    png_set_write_fn(png, &b, png_blob_write, png_blob_flush);
    png_set_IHDR(png, info, (png_uint_32)s->width, (png_uint_32)s->height, s->depth, s->colour_type,
                 s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->colour_type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[256];
        png_byte alpha[256];
        int n = (1 << s->depth) < PALETTE_SIZE ? 1 << s->depth : PALETTE_SIZE;
        for (int i = 0; i < n; i++) {
            pal[i] = palette_entry(i);
            alpha[i] = palette_alpha(i);
        }
        png_set_PLTE(png, info, pal, n);
        if (s->trns) png_set_tRNS(png, info, alpha, n, NULL);
    } else if (s->trns) {
        png_color_16 t;
        memset(&t, 0, sizeof t);
        unsigned key = s->depth == 16 ? TRNS_GRAY_16 : TRNS_GRAY_8 & ((1u << s->depth) - 1);
        t.gray = t.red = t.green = t.blue = (png_uint_16)key;
        png_set_tRNS(png, info, NULL, 0, &t);
    }
    png_write_info(png, info);
    if (s->depth < 8) png_set_packing(png);
    int ch = png_channels(s->colour_type);
    int bytes = s->depth == 16 ? 2 : 1;
    png_bytep rowbuf = malloc((size_t)s->width * (size_t)ch * (size_t)bytes);
    png_bytepp rows = malloc((size_t)s->height * sizeof *rows);
    png_bytep image = malloc((size_t)s->height * (size_t)s->width * (size_t)ch * (size_t)bytes);
    for (int y = 0; y < s->height; y++) {
        rows[y] = image + (size_t)y * (size_t)s->width * (size_t)ch * (size_t)bytes;
        for (int x = 0; x < s->width; x++)
            for (int k = 0; k < ch; k++) {
                unsigned v = sample_at(s, x, y, k);
                png_bytep p = rows[y] + ((size_t)x * (size_t)ch + (size_t)k) * (size_t)bytes;
                if (bytes == 2) {
                    p[0] = (png_byte)(v >> 8);
                    p[1] = (png_byte)v;
                } else {
                    p[0] = (png_byte)v;
                }
            }
    }
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(rowbuf);
    free(image);
    return b;
}

/* What decam should load for pixel (x, y) of a spec, as RGBA in [0,1]. */
static void expected_rgba(const png_spec *s, int x, int y, double rgba[4]) {
    double maxval = (double)((1u << s->depth) - 1);
    int ch = png_channels(s->colour_type);
    unsigned v[4] = {0, 0, 0, 0};
    for (int k = 0; k < ch; k++)
        v[k] = sample_at(s, x, y, k);
    rgba[3] = 1.0;
    switch (s->colour_type) {
    case PNG_COLOR_TYPE_PALETTE: {
        png_color c = palette_entry((int)v[0]);
        rgba[0] = c.red / 255.0;
        rgba[1] = c.green / 255.0;
        rgba[2] = c.blue / 255.0;
        if (s->trns) rgba[3] = palette_alpha((int)v[0]) / 255.0;
        return;
    }
    case PNG_COLOR_TYPE_GRAY:
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        rgba[0] = rgba[1] = rgba[2] = v[0] / maxval;
        if (ch == 2) rgba[3] = v[1] / maxval;
        break;
    default:
        for (int c = 0; c < 3; c++)
            rgba[c] = v[c] / maxval;
        if (ch == 4) rgba[3] = v[3] / maxval;
    }
    if (s->trns) {
        unsigned key = s->depth == 16 ? TRNS_GRAY_16 : TRNS_GRAY_8 & ((1u << s->depth) - 1);
        int all = 1;
        for (int k = 0; k < ch; k++)
            all &= v[k] == key;
        if (all) rgba[3] = 0.0;
    }
}

static double luma(double r, double g, double b) { return 0.299 * r + 0.587 * g + 0.114 * b; }

/* Index of (c, y, x) in a float image of the context's layout. */
static size_t at(decam_layout layout, int w, int h, int channels, int c, int y, int x) {
    if (layout == DECAM_LAYOUT_CHW)
        return ((size_t)c * (size_t)h + (size_t)y) * (size_t)w + (size_t)x;
    return ((size_t)y * (size_t)w + (size_t)x) * (size_t)channels + (size_t)c;
}

/* Loads `b` both ways and checks every value against the spec. */
static void check_png_load(fixture *f, const png_spec *s, const blob *b, int channels,
                           decam_layout layout, const float bg[3]) {
    decam_set_image_layout(f->ctx, layout);
    decam_io_set_background(f->ctx, bg[0], bg[1], bg[2]);
    float *px = NULL;
    int w = 0, h = 0;
    decam_status st = decam_image_load_memory(f->ctx, b->data, b->size, channels, &px, &w, &h);
    if (st != DECAM_OK)
        fail_msg("type %d depth %d: %s", s->colour_type, s->depth, decam_errmsg(f->ctx));
    assert_int_equal(w, s->width);
    assert_int_equal(h, s->height);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double e[4], out[3];
            expected_rgba(s, x, y, e);
            for (int c = 0; c < 3; c++)
                out[c] = e[3] * e[c] + (1 - e[3]) * bg[c];
            if (channels == 1) {
                double want = luma(out[0], out[1], out[2]);
                double got = px[at(layout, w, h, 1, 0, y, x)];
                if (fabs(got - want) > 2e-6)
                    fail_msg("type %d depth %d trns %d il %d (%d,%d) gray: %.7f != %.7f",
                             s->colour_type, s->depth, s->trns, s->interlace, x, y, got, want);
            } else {
                for (int c = 0; c < 3; c++) {
                    double got = px[at(layout, w, h, 3, c, y, x)];
                    if (fabs(got - out[c]) > 2e-6)
                        fail_msg("type %d depth %d trns %d il %d (%d,%d,%d): %.7f != %.7f",
                                 s->colour_type, s->depth, s->trns, s->interlace, x, y, c, got,
                                 out[c]);
                }
            }
        }
    decam_image_free(f->ctx, px);
}

/* A temporary directory for the path tests. */
static char tmpdir[64];

static int make_tmpdir(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/decam-test-io-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const void *data, size_t size) {
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    if (size) assert_int_equal(fwrite(data, 1, size, fp), size);
    assert_int_equal(fclose(fp), 0);
}

/* The tests' JPEG writer (jpeg_write.h), into a blob. */
static blob write_jpeg(const jpeg_spec *s, const unsigned char *samples) {
    unsigned long size = 0;
    unsigned char *out = jpeg_encode(s, samples, &size);
    blob b = {malloc(size), size};
    memcpy(b.data, out, size);
    free(out);
    return b;
}

/* libjpeg's own decode of `b` into `out_colour`; returns malloc'ed samples. */
static unsigned char *reference_jpeg(const blob *b, J_COLOR_SPACE out_colour, int *components,
                                     int *adobe) {
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr err;
    d.err = jpeg_std_error(&err);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, b->data, (unsigned long)b->size);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = out_colour;
    jpeg_start_decompress(&d);
    *components = d.output_components;
    *adobe = d.saw_Adobe_marker;
    size_t stride = (size_t)d.output_width * (size_t)d.output_components;
    unsigned char *px = malloc(stride * d.output_height);
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = px + (size_t)d.output_scanline * stride;
        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    return px;
}

/* A smooth test picture with some structure, `components` per pixel. */
static unsigned char *picture(int w, int h, int components) {
    unsigned char *p = malloc((size_t)w * (size_t)h * (size_t)components);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < components; k++)
                p[((size_t)y * (size_t)w + (size_t)x) * (size_t)components + (size_t)k] =
                    (unsigned char)((x * (3 + k) + y * (5 - k) + ((x / 8 + y / 8) % 2) * 40) % 256);
    return p;
}

/* ---------------------------------------------------------------------
 * Settings
 * --------------------------------------------------------------------- */

static void test_settings_have_documented_defaults_and_ranges(void **state) {
    fixture *f = *state;
    int w, h, q;
    uint64_t n;
    float bg[3] = {1, 1, 1};
    assert_int_equal(decam_io_get_limits(f->ctx, &w, &h, &n), DECAM_OK);
    assert_int_equal(w, 32768);
    assert_int_equal(h, 32768);
    assert_true(n == (uint64_t)1 << 28);
    assert_int_equal(decam_io_get_limits(f->ctx, NULL, NULL, NULL), DECAM_OK);
    assert_int_equal(decam_io_get_background(f->ctx, bg), DECAM_OK);
    assert_true(bg[0] == 0 && bg[1] == 0 && bg[2] == 0);
    assert_int_equal(decam_io_get_jpeg_quality(f->ctx, &q), DECAM_OK);
    assert_int_equal(q, 90);

    assert_int_equal(decam_io_set_limits(f->ctx, 0, 10, 10), DECAM_ERR_OUT_OF_RANGE);
    assert_int_equal(decam_io_set_limits(f->ctx, 10, -1, 10), DECAM_ERR_OUT_OF_RANGE);
    assert_int_equal(decam_io_set_limits(f->ctx, 10, 10, 0), DECAM_ERR_OUT_OF_RANGE);
    assert_int_equal(decam_io_set_limits(f->ctx, 10, 10, ((uint64_t)1 << 62) + 1),
                     DECAM_ERR_OUT_OF_RANGE);
    assert_non_null(strstr(decam_errmsg(f->ctx), "max_pixels"));
    assert_int_equal(decam_io_set_limits(f->ctx, 100, 200, 300), DECAM_OK);
    assert_int_equal(decam_io_get_limits(f->ctx, &w, &h, &n), DECAM_OK);
    assert_true(w == 100 && h == 200 && n == 300);

    assert_int_equal(decam_io_set_background(f->ctx, -0.1f, 0, 0), DECAM_ERR_OUT_OF_RANGE);
    assert_int_equal(decam_io_set_background(f->ctx, 0, 1.5f, 0), DECAM_ERR_OUT_OF_RANGE);
    assert_int_equal(decam_io_set_background(f->ctx, 0, 0, NAN), DECAM_ERR_OUT_OF_RANGE);
    assert_int_equal(decam_io_set_background(f->ctx, 0.25f, 0.5f, 1.0f), DECAM_OK);
    assert_int_equal(decam_io_get_background(f->ctx, bg), DECAM_OK);
    assert_true(bg[0] == 0.25f && bg[1] == 0.5f && bg[2] == 1.0f);

    assert_int_equal(decam_io_set_jpeg_quality(f->ctx, 0), DECAM_ERR_OUT_OF_RANGE);
    assert_int_equal(decam_io_set_jpeg_quality(f->ctx, 101), DECAM_ERR_OUT_OF_RANGE);
    assert_int_equal(decam_io_set_jpeg_quality(f->ctx, 75), DECAM_OK);
    assert_int_equal(decam_io_get_jpeg_quality(f->ctx, &q), DECAM_OK);
    assert_int_equal(q, 75);

    assert_int_equal(decam_io_set_limits(NULL, 1, 1, 1), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_io_get_limits(NULL, &w, &h, &n), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_io_set_background(NULL, 0, 0, 0), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_io_get_background(f->ctx, NULL), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_io_set_jpeg_quality(NULL, 50), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_io_get_jpeg_quality(f->ctx, NULL), DECAM_ERR_INVALID_ARGUMENT);
    f->ctx->busy = 1;
    assert_int_equal(decam_io_set_limits(f->ctx, 1, 1, 1), DECAM_ERR_BUSY);
    assert_int_equal(decam_io_set_background(f->ctx, 0, 0, 0), DECAM_ERR_BUSY);
    assert_int_equal(decam_io_set_jpeg_quality(f->ctx, 50), DECAM_ERR_BUSY);
    f->ctx->busy = 0;
}

static void test_detect_reads_signatures_not_names(void **state) {
    fixture *f = *state;
    decam_image_format fmt;
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const unsigned char jpg[4] = {0xff, 0xd8, 0xff, 0xe0};
    assert_int_equal(decam_image_detect(f->ctx, png, 8, &fmt), DECAM_OK);
    assert_int_equal(fmt, DECAM_IMAGE_PNG);
    assert_int_equal(decam_image_detect(f->ctx, png, 3, &fmt), DECAM_OK);
    assert_int_equal(fmt, DECAM_IMAGE_PNG); /* a truncated PNG is still a PNG */
    assert_int_equal(decam_image_detect(f->ctx, jpg, 4, &fmt), DECAM_OK);
    assert_int_equal(fmt, DECAM_IMAGE_JPEG);
    assert_int_equal(decam_image_detect(f->ctx, "GIF89a", 6, &fmt), DECAM_OK);
    assert_int_equal(fmt, DECAM_IMAGE_UNKNOWN);
    assert_int_equal(decam_image_detect(f->ctx, NULL, 0, &fmt), DECAM_OK);
    assert_int_equal(fmt, DECAM_IMAGE_UNKNOWN);
    assert_int_equal(decam_image_detect(f->ctx, NULL, 5, &fmt), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_image_detect(f->ctx, png, 8, NULL), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_image_detect(NULL, png, 8, &fmt), DECAM_ERR_INVALID_ARGUMENT);
}

/* ---------------------------------------------------------------------
 * PNG round trips
 * --------------------------------------------------------------------- */

static void test_png_every_colour_type_and_depth_loads_exactly(void **state) {
    fixture *f = *state;
    static const struct {
        int type, depth;
    } cases[] = {
        {PNG_COLOR_TYPE_GRAY, 1},        {PNG_COLOR_TYPE_GRAY, 2},
        {PNG_COLOR_TYPE_GRAY, 4},        {PNG_COLOR_TYPE_GRAY, 8},
        {PNG_COLOR_TYPE_GRAY, 16},       {PNG_COLOR_TYPE_GRAY_ALPHA, 8},
        {PNG_COLOR_TYPE_GRAY_ALPHA, 16}, {PNG_COLOR_TYPE_RGB, 8},
        {PNG_COLOR_TYPE_RGB, 16},        {PNG_COLOR_TYPE_RGB_ALPHA, 8},
        {PNG_COLOR_TYPE_RGB_ALPHA, 16},  {PNG_COLOR_TYPE_PALETTE, 1},
        {PNG_COLOR_TYPE_PALETTE, 2},     {PNG_COLOR_TYPE_PALETTE, 4},
        {PNG_COLOR_TYPE_PALETTE, 8},
    };
    static const float backgrounds[2][3] = {{0, 0, 0}, {0.2f, 0.6f, 1.0f}};
    int checked = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int interlace = 0; interlace < 2; interlace++)
            for (int trns = 0; trns < 2; trns++) {
                int type = cases[i].type;
                /* tRNS exists for gray, RGB and palette images only. */
                if (trns && (type == PNG_COLOR_TYPE_GRAY_ALPHA || type == PNG_COLOR_TYPE_RGB_ALPHA))
                    continue;
                png_spec s = {type, cases[i].depth, interlace, trns, 13, 11};
                blob b = write_png(&s);
                for (int layout = 0; layout < 2; layout++)
                    for (int bgi = 0; bgi < 2; bgi++) {
                        check_png_load(f, &s, &b, 3, (decam_layout)layout, backgrounds[bgi]);
                        check_png_load(f, &s, &b, 1, (decam_layout)layout, backgrounds[bgi]);
                        checked += 2;
                    }
                free(b.data);
            }
    /* 11 colour types/depths x 2 interlacings x with/without tRNS, 4 with
     * alpha x 2 interlacings; 8 loads each. */
    assert_int_equal(checked, (11 * 4 + 4 * 2) * 8);
}

static void test_png_sixteen_bit_keeps_its_precision(void **state) {
    fixture *f = *state;
    png_spec s = {PNG_COLOR_TYPE_GRAY, 16, 0, 0, 4, 1};
    blob b = write_png(&s);
    float *px;
    int w, h;
    assert_int_equal(decam_image_load_memory(f->ctx, b.data, b.size, 1, &px, &w, &h), DECAM_OK);
    for (int x = 0; x < 4; x++)
        assert_true(px[x] == (float)sample_at(&s, x, 0, 0) / 65535.0f);
    /* Not all are multiples of 257 (which 8 bits would give). */
    int fine = 0;
    for (int x = 0; x < 4; x++)
        fine += sample_at(&s, x, 0, 0) % 257 != 0;
    assert_true(fine > 0);
    decam_image_free(f->ctx, px);
    free(b.data);
}

static void test_path_and_buffer_give_identical_pixels(void **state) {
    fixture *f = *state;
    png_spec s = {PNG_COLOR_TYPE_RGB_ALPHA, 16, 1, 0, 31, 17};
    blob png = write_png(&s);
    unsigned char *pic = picture(40, 24, 3);
    jpeg_spec js = {40, 24, 3, JCS_RGB, JCS_YCbCr, 85, 1, 0, 0, 0, 0};
    blob jpg = write_jpeg(&js, pic);
    const blob *files[2] = {&png, &jpg};
    for (int i = 0; i < 2; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/image-%d.noext", tmpdir, i); /* no telling name */
        write_file(path, files[i]->data, files[i]->size);
        for (int channels = 1; channels <= 3; channels += 2) {
            float *a, *b;
            int wa, ha, wb, hb;
            assert_int_equal(decam_image_load(f->ctx, path, channels, &a, &wa, &ha), DECAM_OK);
            assert_int_equal(decam_image_load_memory(f->ctx, files[i]->data, files[i]->size,
                                                     channels, &b, &wb, &hb),
                             DECAM_OK);
            assert_true(wa == wb && ha == hb);
            assert_memory_equal(a, b, (size_t)wa * (size_t)ha * (size_t)channels * sizeof(float));
            decam_image_free(f->ctx, a);
            decam_image_free(f->ctx, b);
        }
    }
    free(png.data);
    free(jpg.data);
    free(pic);
}

/* ---------------------------------------------------------------------
 * JPEG
 * --------------------------------------------------------------------- */

/* Decodes with decam and with libjpeg directly and requires the same
 * bytes (decam's float is byte / 255). */
static void check_jpeg_matches_libjpeg(fixture *f, const blob *b, int w, int h) {
    int comps, adobe;
    for (int layout = 0; layout < 2; layout++) {
        decam_set_image_layout(f->ctx, (decam_layout)layout);
        for (int channels = 1; channels <= 3; channels += 2) {
            float *px;
            int pw, ph;
            decam_status st =
                decam_image_load_memory(f->ctx, b->data, b->size, channels, &px, &pw, &ph);
            if (st != DECAM_OK) fail_msg("%s", decam_errmsg(f->ctx));
            assert_true(pw == w && ph == h);
            /* The file's colour space decides how the reference decodes. */
            struct jpeg_decompress_struct d;
            struct jpeg_error_mgr err;
            d.err = jpeg_std_error(&err);
            jpeg_create_decompress(&d);
            jpeg_mem_src(&d, b->data, (unsigned long)b->size);
            jpeg_read_header(&d, TRUE);
            J_COLOR_SPACE space = d.jpeg_color_space;
            jpeg_destroy_decompress(&d);
            int cmyk = space == JCS_CMYK || space == JCS_YCCK;
            J_COLOR_SPACE want = cmyk ? JCS_CMYK : channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
            if (space == JCS_GRAYSCALE) want = JCS_GRAYSCALE;
            unsigned char *ref = reference_jpeg(b, want, &comps, &adobe);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    const unsigned char *r =
                        ref + ((size_t)y * (size_t)w + (size_t)x) * (size_t)comps;
                    float rgb[3];
                    if (cmyk) {
                        for (int c = 0; c < 3; c++) {
                            unsigned ink = adobe ? r[c] : 255u - r[c];
                            unsigned k = adobe ? r[3] : 255u - r[3];
                            rgb[c] = (float)(ink * k) / 65025.0f;
                        }
                    } else {
                        for (int c = 0; c < 3; c++)
                            rgb[c] = (float)r[comps == 1 ? 0 : c] / 255.0f;
                    }
                    if (channels == 1) {
                        float want_v = comps == 1
                                           ? rgb[0]
                                           : 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
                        assert_float_equal(px[at((decam_layout)layout, w, h, 1, 0, y, x)], want_v,
                                           2e-6);
                    } else {
                        for (int c = 0; c < 3; c++)
                            assert_float_equal(px[at((decam_layout)layout, w, h, 3, c, y, x)],
                                               rgb[c], 2e-6);
                    }
                }
            free(ref);
            decam_image_free(f->ctx, px);
        }
    }
}

static void test_jpeg_variants_decode_as_libjpeg_does(void **state) {
    fixture *f = *state;
    const int w = 37, h = 29;
    unsigned char *rgb = picture(w, h, 3), *gray = picture(w, h, 1), *cmyk = picture(w, h, 4);
    const struct {
        jpeg_spec s;
        const unsigned char *px;
    } cases[] = {
        {{w, h, 3, JCS_RGB, JCS_YCbCr, 75, 0, 0, 0, 0, 0}, rgb}, /* baseline 4:2:0 */
        {{w, h, 3, JCS_RGB, JCS_YCbCr, 95, 0, 0, 0, 1, 0}, rgb}, /* 4:4:4 */
        {{w, h, 3, JCS_RGB, JCS_YCbCr, 80, 1, 0, 0, 0, 0}, rgb}, /* progressive */
        {{w, h, 3, JCS_RGB, JCS_YCbCr, 80, 0, 1, 0, 0, 0}, rgb}, /* restart every MCU row */
        {{w, h, 3, JCS_RGB, JCS_YCbCr, 80, 1, 1, 0, 0, 0}, rgb}, /* progressive + restarts */
        {{w, h, 3, JCS_RGB, JCS_YCbCr, 80, 0, 0, 1, 0, 0}, rgb}, /* arithmetic coding */
        {{w, h, 3, JCS_RGB, JCS_RGB, 90, 0, 0, 0, 1, 0}, rgb},   /* stored as RGB */
        {{w, h, 1, JCS_GRAYSCALE, JCS_GRAYSCALE, 85, 0, 0, 0, 0, 0}, gray},
        {{w, h, 1, JCS_GRAYSCALE, JCS_GRAYSCALE, 85, 1, 0, 0, 0, 0}, gray},
        {{w, h, 4, JCS_CMYK, JCS_CMYK, 90, 0, 0, 0, 0, 0}, cmyk},
        {{w, h, 4, JCS_CMYK, JCS_YCCK, 90, 0, 0, 0, 0, 0}, cmyk},
        {{w, h, 4, JCS_CMYK, JCS_CMYK, 90, 1, 0, 0, 0, 0}, cmyk},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        blob b = write_jpeg(&cases[i].s, cases[i].px);
        check_jpeg_matches_libjpeg(f, &b, w, h);
        free(b.data);
    }
    free(rgb);
    free(gray);
    free(cmyk);
}

/* Flat 16 x 16 blocks survive the DCT nearly unchanged: only the DC
 * coefficient is nonzero, quantised with a small step at high quality. */
static void test_jpeg_decodes_known_pixel_values_within_dct_tolerance(void **state) {
    fixture *f = *state;
    static const unsigned char colours[4][3] = {
        {200, 30, 40}, {20, 180, 60}, {250, 250, 250}, {60, 70, 200}};
    const int w = 32, h = 32;
    unsigned char px[32 * 32 * 3], grey[32 * 32];
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const unsigned char *c = colours[(y / 16) * 2 + x / 16];
            memcpy(px + (y * w + x) * 3, c, 3);
            grey[y * w + x] = c[0];
        }
    for (int q = 90; q <= 100; q += 5)
        for (int full_chroma = 0; full_chroma < 2; full_chroma++) {
            jpeg_spec s = {w, h, 3, JCS_RGB, JCS_YCbCr, q, 0, 0, 0, full_chroma, 0};
            blob b = write_jpeg(&s, px);
            float *out;
            int ow, oh;
            decam_set_image_layout(f->ctx, DECAM_LAYOUT_HWC);
            assert_int_equal(decam_image_load_memory(f->ctx, b.data, b.size, 3, &out, &ow, &oh),
                             DECAM_OK);
            double worst = 0;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    /* With 4:2:0, libjpeg's smooth chroma upsampling blends
                     * colours across block edges: look inside the blocks. */
                    int dx = x % 16, dy = y % 16;
                    if (!full_chroma && (dx < 2 || dx > 13 || dy < 2 || dy > 13)) continue;
                    for (int c = 0; c < 3; c++) {
                        int i = (y * w + x) * 3 + c;
                        worst = fmax(worst, fabs(out[i] * 255.0 - px[i]));
                    }
                }
            /* DC quantisation and YCbCr rounding: a few levels at most. */
            if (worst > 3.0)
                fail_msg("quality %d, 4:%s: off by %.2f levels", q, full_chroma ? "4:4" : "2:0",
                         worst);
            decam_image_free(f->ctx, out);
            free(b.data);
        }
    for (int q = 90; q <= 100; q += 5) {
        blob b;
        float *out;
        int ow, oh;
        double worst;
        jpeg_spec g = {w, h, 1, JCS_GRAYSCALE, JCS_GRAYSCALE, q, 0, 0, 0, 0, 0};
        b = write_jpeg(&g, grey);
        assert_int_equal(decam_image_load_memory(f->ctx, b.data, b.size, 1, &out, &ow, &oh),
                         DECAM_OK);
        worst = 0;
        for (int i = 0; i < w * h; i++)
            worst = fmax(worst, fabs(out[i] * 255.0 - grey[i]));
        if (worst > 1.0) fail_msg("gray quality %d: off by %.2f levels", q, worst);
        decam_image_free(f->ctx, out);
        free(b.data);
    }
}

/* Photoshop's CMYK is inverted (0 = full ink) and has an Adobe marker;
 * libjpeg writes the marker for CMYK, so write the inverted values. */
static void test_jpeg_adobe_cmyk_is_read_as_inverted(void **state) {
    fixture *f = *state;
    const int w = 16, h = 16;
    unsigned char cmyk[16 * 16 * 4];
    for (int i = 0; i < w * h; i++) {
        /* no ink but 50% cyan: stored inverted as (127, 255, 255, 255) */
        cmyk[4 * i + 0] = 127;
        cmyk[4 * i + 1] = 255;
        cmyk[4 * i + 2] = 255;
        cmyk[4 * i + 3] = 255;
    }
    jpeg_spec s = {w, h, 4, JCS_CMYK, JCS_CMYK, 100, 0, 0, 0, 1, 0};
    blob b = write_jpeg(&s, cmyk);
    float *px;
    int pw, ph;
    decam_set_image_layout(f->ctx, DECAM_LAYOUT_HWC);
    assert_int_equal(decam_image_load_memory(f->ctx, b.data, b.size, 3, &px, &pw, &ph), DECAM_OK);
    assert_float_equal(px[0], 127.0 / 255.0, 2.0 / 255.0); /* half red: cyan absorbs red */
    assert_float_equal(px[1], 1.0, 2.0 / 255.0);
    assert_float_equal(px[2], 1.0, 2.0 / 255.0);
    decam_image_free(f->ctx, px);
    free(b.data);
}

/* ---------------------------------------------------------------------
 * Hostile inputs
 * --------------------------------------------------------------------- */

static decam_status load(fixture *f, const void *data, size_t size) {
    float *px = (float *)&px; /* must be reset to NULL on failure */
    int w = -1, h = -1;
    decam_status st = decam_image_load_memory(f->ctx, data, size, 3, &px, &w, &h);
    if (st != DECAM_OK) {
        assert_null(px);
        assert_int_equal(w, 0);
        assert_int_equal(h, 0);
        assert_true(decam_errmsg(f->ctx)[0] != '\0');
    }
    decam_image_free(f->ctx, st == DECAM_OK ? px : NULL);
    return st;
}

static void test_truncated_files_fail_at_every_offset(void **state) {
    fixture *f = *state;
    png_spec s = {PNG_COLOR_TYPE_RGB, 8, 0, 0, 9, 7};
    png_spec si = {PNG_COLOR_TYPE_RGB_ALPHA, 16, 1, 0, 9, 7};
    unsigned char *pic = picture(24, 16, 3);
    jpeg_spec js = {24, 16, 3, JCS_RGB, JCS_YCbCr, 80, 0, 0, 0, 0, 0};
    jpeg_spec jp = {24, 16, 3, JCS_RGB, JCS_YCbCr, 80, 1, 1, 0, 0, 0};
    /* Arithmetic coding reads zeros past the end of its data, so only the
     * missing rest of the file can tell a cut: it must, at every offset. */
    jpeg_spec ja = {24, 16, 3, JCS_RGB, JCS_YCbCr, 80, 0, 0, 1, 0, 0};
    jpeg_spec jap = {24, 16, 3, JCS_RGB, JCS_YCbCr, 80, 1, 0, 1, 0, 0};
    blob files[6] = {write_png(&s),        write_png(&si),       write_jpeg(&js, pic),
                     write_jpeg(&jp, pic), write_jpeg(&ja, pic), write_jpeg(&jap, pic)};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(load(f, files[i].data, files[i].size), DECAM_OK);
        for (size_t n = 0; n < files[i].size; n++) {
            decam_status st = load(f, files[i].data, n);
            if (st != DECAM_ERR_FORMAT)
                fail_msg("file %d cut to %zu of %zu bytes: %s (%s)", i, n, files[i].size,
                         decam_status_string(st), decam_errmsg(f->ctx));
        }
        free(files[i].data);
    }
    /* The message says what happened. */
    blob b = write_png(&s);
    load(f, b.data, b.size / 2);
    assert_non_null(strstr(decam_errmsg(f->ctx), "truncated"));
    free(b.data);
    b = write_jpeg(&js, pic);
    load(f, b.data, b.size / 2);
    assert_non_null(strstr(decam_errmsg(f->ctx), "Premature end of JPEG file"));
    free(b.data);
    free(pic);
}

/* Offset of the first chunk of `type` in a PNG, or 0. */
static size_t find_chunk(const blob *b, const char *type) {
    size_t p = 8;
    while (p + 12 <= b->size) {
        size_t len = (size_t)b->data[p] << 24 | (size_t)b->data[p + 1] << 16 |
                     (size_t)b->data[p + 2] << 8 | b->data[p + 3];
        if (!memcmp(b->data + p + 4, type, 4)) return p;
        p += 12 + len;
    }
    return 0;
}

/* PNG's CRC-32 (ISO 3309), bit by bit. */
static uint32_t png_crc(const unsigned char *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Rewrites the IHDR size and fixes its CRC. */
static void set_png_size(blob *b, uint32_t w, uint32_t h) {
    size_t p = find_chunk(b, "IHDR");
    put32(b->data + p + 8, w);
    put32(b->data + p + 12, h);
    put32(b->data + p + 8 + 13, png_crc(b->data + p + 4, 17));
}

static void test_bad_crcs_are_format_errors_except_in_ancillary_chunks(void **state) {
    fixture *f = *state;
    png_spec s = {PNG_COLOR_TYPE_RGB, 8, 0, 0, 9, 7};
    const char *critical[2] = {"IHDR", "IDAT"};
    for (int i = 0; i < 2; i++) {
        blob b = write_png(&s);
        size_t p = find_chunk(&b, critical[i]);
        size_t len = (size_t)b.data[p] << 24 | (size_t)b.data[p + 1] << 16 |
                     (size_t)b.data[p + 2] << 8 | b.data[p + 3];
        b.data[p + 8 + len] ^= 0x55; /* first CRC byte */
        assert_int_equal(load(f, b.data, b.size), DECAM_ERR_FORMAT);
        assert_non_null(strstr(decam_errmsg(f->ctx), "CRC"));
        free(b.data);
    }
    /* A damaged text chunk is dropped with a warning. */
    blob b = write_png(&s);
    size_t iend = find_chunk(&b, "IEND");
    static const char text[] = "Comment\0hello";
    unsigned char chunk[12 + sizeof text - 1];
    put32(chunk, sizeof text - 1);
    memcpy(chunk + 4, "tEXt", 4);
    memcpy(chunk + 8, text, sizeof text - 1);
    put32(chunk + 8 + sizeof text - 1, png_crc(chunk + 4, 4 + sizeof text - 1) ^ 1u);
    blob c = {NULL, 0};
    blob_append(&c, b.data, iend);
    blob_append(&c, chunk, sizeof chunk);
    blob_append(&c, b.data + iend, b.size - iend);
    f->log.warnings = 0;
    assert_int_equal(load(f, c.data, c.size), DECAM_OK);
    assert_true(f->log.warnings >= 1);
    assert_non_null(strstr(f->log.last, "CRC"));
    free(b.data);
    free(c.data);
}

static void test_huge_headers_are_refused_before_pixel_memory(void **state) {
    fixture *f = *state;
    png_spec s = {PNG_COLOR_TYPE_RGB, 8, 0, 0, 9, 7};
    blob b = write_png(&s);
    set_png_size(&b, 100000, 100000);
    f->mem.largest = 0;
    assert_int_equal(load(f, b.data, b.size), DECAM_ERR_TOO_LARGE);
    assert_non_null(strstr(decam_errmsg(f->ctx), "100000 x 100000"));
    assert_true(f->mem.largest < 1 << 20); /* no pixel buffer was asked for */
    /* An ancillary chunk claiming 2 GiB in a small file (found by fuzzing:
     * libpng only warns about the length, then allocates it). */
    blob c = {NULL, 0};
    size_t iend = find_chunk(&b, "IEND");
    static const unsigned char huge_chunk[16] = {0x7a, 0,   0,   0x22, 'z', 'T', 'X',  't',
                                                 'C',  'o', 'm', 'm',  0,   0,   0x78, 0x9c};
    blob_append(&c, b.data, iend);
    blob_append(&c, huge_chunk, sizeof huge_chunk);
    blob_append(&c, b.data + iend, b.size - iend);
    set_png_size(&c, 9, 7);
    f->mem.largest = 0;
    assert_int_equal(load(f, c.data, c.size), DECAM_ERR_FORMAT);
    assert_non_null(strstr(decam_errmsg(f->ctx), "zTXt chunk"));
    assert_true(f->mem.largest < 1 << 20);
    free(c.data);
    /* The largest PNG allowed: 2^31 - 1 on a side. */
    set_png_size(&b, 0x7fffffff, 0x7fffffff);
    assert_int_equal(load(f, b.data, b.size), DECAM_ERR_TOO_LARGE);
    free(b.data);

    /* JPEG: patch the SOF0 size to 40000 x 40000. */
    unsigned char *pic = picture(16, 16, 3);
    jpeg_spec js = {16, 16, 3, JCS_RGB, JCS_YCbCr, 80, 0, 0, 0, 0, 0};
    blob j = write_jpeg(&js, pic);
    size_t sof = 2;
    while (!(j.data[sof] == 0xff && j.data[sof + 1] == 0xc0))
        sof++;
    j.data[sof + 5] = 40000 >> 8;
    j.data[sof + 6] = 40000 & 0xff;
    j.data[sof + 7] = 40000 >> 8;
    j.data[sof + 8] = 40000 & 0xff;
    f->mem.largest = 0;
    assert_int_equal(load(f, j.data, j.size), DECAM_ERR_TOO_LARGE);
    assert_true(f->mem.largest < 1 << 20);
    /* The most a JPEG header can claim, 65535 x 65535, is beyond libjpeg's
     * own limit (65500); that is too large as well. */
    j.data[sof + 5] = j.data[sof + 6] = j.data[sof + 7] = j.data[sof + 8] = 0xff;
    assert_int_equal(load(f, j.data, j.size), DECAM_ERR_TOO_LARGE);
    assert_non_null(strstr(decam_errmsg(f->ctx), "65500"));
    free(j.data);
    free(pic);
}

static void test_limits_apply_to_width_height_and_pixels(void **state) {
    fixture *f = *state;
    png_spec s = {PNG_COLOR_TYPE_GRAY, 8, 0, 0, 20, 10};
    blob b = write_png(&s);
    assert_int_equal(decam_io_set_limits(f->ctx, 19, 100, 1000), DECAM_OK);
    assert_int_equal(load(f, b.data, b.size), DECAM_ERR_TOO_LARGE);
    assert_int_equal(decam_io_set_limits(f->ctx, 100, 9, 1000), DECAM_OK);
    assert_int_equal(load(f, b.data, b.size), DECAM_ERR_TOO_LARGE);
    assert_int_equal(decam_io_set_limits(f->ctx, 100, 100, 199), DECAM_OK);
    assert_int_equal(load(f, b.data, b.size), DECAM_ERR_TOO_LARGE);
    assert_int_equal(decam_io_set_limits(f->ctx, 20, 10, 200), DECAM_OK);
    assert_int_equal(load(f, b.data, b.size), DECAM_OK);
    free(b.data);
}

static void test_zero_sizes_are_format_errors(void **state) {
    fixture *f = *state;
    png_spec s = {PNG_COLOR_TYPE_RGB, 8, 0, 0, 9, 7};
    blob b = write_png(&s);
    set_png_size(&b, 0, 7);
    assert_int_equal(load(f, b.data, b.size), DECAM_ERR_FORMAT);
    set_png_size(&b, 9, 0);
    assert_int_equal(load(f, b.data, b.size), DECAM_ERR_FORMAT);
    free(b.data);
    unsigned char *pic = picture(16, 16, 3);
    jpeg_spec js = {16, 16, 3, JCS_RGB, JCS_YCbCr, 80, 0, 0, 0, 0, 0};
    blob j = write_jpeg(&js, pic);
    size_t sof = 2;
    while (!(j.data[sof] == 0xff && j.data[sof + 1] == 0xc0))
        sof++;
    j.data[sof + 5] = j.data[sof + 6] = 0; /* height 0 */
    assert_int_equal(load(f, j.data, j.size), DECAM_ERR_FORMAT);
    free(j.data);
    free(pic);
}

/* libjpeg-turbo's 8-bit decoder reads neither lossless (SOF3) nor 12-bit
 * JPEG; both are refused with a message naming the reason. */
static void test_unsupported_jpeg_variants_are_format_errors(void **state) {
    fixture *f = *state;
    unsigned char *pic = picture(16, 16, 3);
    jpeg_spec js = {16, 16, 3, JCS_RGB, JCS_YCbCr, 80, 0, 0, 0, 0, 0};
    blob j = write_jpeg(&js, pic);
    size_t sof = 2;
    while (!(j.data[sof] == 0xff && j.data[sof + 1] == 0xc0))
        sof++;
    j.data[sof + 1] = 0xc3; /* lossless */
    assert_int_equal(load(f, j.data, j.size), DECAM_ERR_FORMAT);
    assert_non_null(strstr(decam_errmsg(f->ctx), "SOF type 0xc3"));
    j.data[sof + 1] = 0xc0;
    j.data[sof + 4] = 12; /* 12-bit samples */
    assert_int_equal(load(f, j.data, j.size), DECAM_ERR_FORMAT);
    assert_non_null(strstr(decam_errmsg(f->ctx), "precision 12"));
    free(j.data);
    free(pic);
}

static void test_non_images_empty_missing_and_directories(void **state) {
    fixture *f = *state;
    float *px;
    int w, h;
    char path[160];
    static const char text[] = "hello, this is not an image\n";
    assert_int_equal(load(f, text, sizeof text), DECAM_ERR_FORMAT);
    assert_non_null(strstr(decam_errmsg(f->ctx), "not a PNG or JPEG"));
    assert_int_equal(load(f, "GIF89a\1\0\1\0", 10), DECAM_ERR_FORMAT);
    assert_non_null(strstr(decam_errmsg(f->ctx), "GIF"));
    assert_int_equal(load(f, "", 0), DECAM_ERR_FORMAT);
    assert_int_equal(load(f, NULL, 0), DECAM_ERR_FORMAT);

    snprintf(path, sizeof path, "%s/text.png", tmpdir); /* the name lies */
    write_file(path, text, sizeof text);
    assert_int_equal(decam_image_load(f->ctx, path, 3, &px, &w, &h), DECAM_ERR_FORMAT);
    assert_non_null(strstr(decam_errmsg(f->ctx), "text.png"));
    snprintf(path, sizeof path, "%s/empty.jpg", tmpdir);
    write_file(path, "", 0);
    assert_int_equal(decam_image_load(f->ctx, path, 3, &px, &w, &h), DECAM_ERR_FORMAT);
    assert_non_null(strstr(decam_errmsg(f->ctx), "empty"));
    snprintf(path, sizeof path, "%s/missing.png", tmpdir);
    assert_int_equal(decam_image_load(f->ctx, path, 3, &px, &w, &h), DECAM_ERR_IO);
    assert_non_null(strstr(decam_errmsg(f->ctx), "No such file"));
    assert_null(px);
    assert_int_equal(decam_image_load(f->ctx, tmpdir, 3, &px, &w, &h), DECAM_ERR_IO);
    assert_non_null(strstr(decam_errmsg(f->ctx), "directory"));
    if (geteuid() != 0) { /* root reads everything */
        snprintf(path, sizeof path, "%s/secret.png", tmpdir);
        write_file(path, text, sizeof text);
        chmod(path, 0);
        assert_int_equal(decam_image_load(f->ctx, path, 3, &px, &w, &h), DECAM_ERR_IO);
    }
}

static void test_bad_arguments_are_refused(void **state) {
    fixture *f = *state;
    png_spec s = {PNG_COLOR_TYPE_GRAY, 8, 0, 0, 4, 4};
    blob b = write_png(&s);
    float *px;
    int w, h;
    assert_int_equal(decam_image_load_memory(NULL, b.data, b.size, 3, &px, &w, &h),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_image_load_memory(f->ctx, b.data, b.size, 2, &px, &w, &h),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(f->ctx), "channels"));
    assert_int_equal(decam_image_load_memory(f->ctx, b.data, b.size, 3, NULL, &w, &h),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_image_load_memory(f->ctx, NULL, 10, 3, &px, &w, &h),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_image_load(f->ctx, NULL, 3, &px, &w, &h), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_image_load(f->ctx, "x.png", 4, &px, &w, &h), DECAM_ERR_INVALID_ARGUMENT);
    decam_image_free(f->ctx, NULL);
    decam_image_free(NULL, NULL);
    free(b.data);
}

/* Deterministic corruption: flip, set and cut bytes of valid files. Any
 * status but a crash, a leak or a print is fine; the counts are logged. */
static void test_corrupted_files_never_crash_or_leak(void **state) {
    fixture *f = *state;
    png_spec ps[3] = {{PNG_COLOR_TYPE_PALETTE, 4, 1, 1, 19, 13},
                      {PNG_COLOR_TYPE_RGB_ALPHA, 16, 0, 0, 19, 13},
                      {PNG_COLOR_TYPE_GRAY, 2, 1, 1, 19, 13}};
    unsigned char *pic = picture(40, 24, 3);
    jpeg_spec js[2] = {{40, 24, 3, JCS_RGB, JCS_YCbCr, 80, 0, 1, 0, 0, 0},
                       {40, 24, 3, JCS_RGB, JCS_YCbCr, 80, 1, 0, 0, 0, 0}};
    blob files[5] = {write_png(&ps[0]), write_png(&ps[1]), write_png(&ps[2]),
                     write_jpeg(&js[0], pic), write_jpeg(&js[1], pic)};
    uint64_t seed = 12345;
    int counts[16] = {0};
    for (int i = 0; i < 5; i++) {
        unsigned char *copy = malloc(files[i].size);
        for (int trial = 0; trial < 400; trial++) {
            memcpy(copy, files[i].data, files[i].size);
            int edits = 1 + trial % 4;
            for (int e = 0; e < edits; e++) {
                seed = seed * 6364136223846793005u + 1442695040888963407u;
                size_t pos = (size_t)(seed >> 33) % files[i].size;
                copy[pos] = (unsigned char)(seed >> 20);
            }
            decam_status st = load(f, copy, files[i].size);
            assert_true(st == DECAM_OK || st == DECAM_ERR_FORMAT || st == DECAM_ERR_TOO_LARGE);
            counts[st]++;
        }
        free(copy);
        free(files[i].data);
    }
    print_message("corrupted files: %d ok, %d format errors, %d too large\n", counts[DECAM_OK],
                  counts[DECAM_ERR_FORMAT], counts[DECAM_ERR_TOO_LARGE]);
    free(pic);
}

/* ---------------------------------------------------------------------
 * Memory bounded by the input, not only by the header
 * --------------------------------------------------------------------- */

/* The offset of the first marker `m` (FF m) after SOI. */
static size_t find_marker(const blob *b, unsigned char m) {
    for (size_t i = 2; i + 1 < b->size; i++)
        if (b->data[i] == 0xff && b->data[i + 1] == m) return i;
    fail_msg("marker %02x not found", m);
    return 0;
}

/* A flat arithmetic-coded JPEG whose header is made to claim 16384 x
 * 16384: about 200 bytes (the file had 211). */
static blob tiny_arithmetic_jpeg(unsigned w, unsigned h) {
    unsigned char *flat = calloc(16 * 16, 1);
    memset(flat, 128, 16 * 16);
    jpeg_spec js = {16, 16, 1, JCS_GRAYSCALE, JCS_GRAYSCALE, 80, 0, 0, 1, 0, 0};
    blob j = write_jpeg(&js, flat);
    free(flat);
    size_t sof = find_marker(&j, 0xc9); /* SOF9: sequential, arithmetic */
    j.data[sof + 5] = (unsigned char)(h >> 8);
    j.data[sof + 6] = (unsigned char)(h & 0xff);
    j.data[sof + 7] = (unsigned char)(w >> 8);
    j.data[sof + 8] = (unsigned char)(w & 0xff);
    return j;
}

static void test_small_inputs_cannot_claim_huge_images(void **state) {
    fixture *f = *state;
    /* JPEG, arithmetic-coded, 16384 x 16384 (3 GiB of float RGB) in ~200
     * bytes: refused before any pixel memory. */
    blob j = tiny_arithmetic_jpeg(16384, 16384);
    assert_true(j.size < 400);
    f->mem.largest = 0;
    assert_int_equal(load(f, j.data, j.size), DECAM_ERR_TOO_LARGE);
    assert_non_null(strstr(decam_errmsg(f->ctx), "cannot justify"));
    assert_true(f->mem.largest < 1 << 20);
    free(j.data);

    /* PNG: a 68-byte interlaced 16-bit RGBA file claiming 16384 x 16384
     * (on main it asked for the 3 GiB float image, then 2 GiB of rows). */
    png_spec s = {PNG_COLOR_TYPE_RGB_ALPHA, 16, 1, 0, 1, 1};
    blob p = write_png(&s);
    set_png_size(&p, 16384, 16384);
    assert_true(p.size < 100);
    f->mem.largest = 0;
    assert_int_equal(load(f, p.data, p.size), DECAM_ERR_TOO_LARGE);
    assert_true(f->mem.largest < 1 << 20);
    /* With the pixel bound off, the memory bound still holds: 3 GiB of
     * floats plus 2 GiB of interlaced rows exceed the default 4 GiB. */
    assert_int_equal(decam_io_set_input_limits(f->ctx, 0, 0, (uint64_t)1 << 32), DECAM_OK);
    f->mem.largest = 0;
    assert_int_equal(load(f, p.data, p.size), DECAM_ERR_TOO_LARGE);
    assert_non_null(strstr(decam_errmsg(f->ctx), "of them the decoder's"));
    assert_true(f->mem.largest < 1 << 20);
    free(p.data);

    /* The bound is settable, and bytes after the image do not count. */
    png_spec small = {PNG_COLOR_TYPE_GRAY, 8, 0, 0, 64, 64};
    blob g = write_png(&small);
    assert_int_equal(decam_io_set_input_limits(f->ctx, 0, 1, (uint64_t)1 << 32), DECAM_OK);
    assert_int_equal(load(f, g.data, g.size), DECAM_ERR_TOO_LARGE); /* 4096 px, < 4096 bytes */
    unsigned char *padded = calloc(g.size + 8192, 1);
    memcpy(padded, g.data, g.size);
    assert_int_equal(load(f, padded, g.size + 8192), DECAM_ERR_TOO_LARGE);
    free(padded);
    assert_int_equal(decam_io_set_input_limits(f->ctx, 0, 4096, (uint64_t)1 << 32), DECAM_OK);
    assert_int_equal(load(f, g.data, g.size), DECAM_OK);
    uint64_t base, ratio, memory;
    assert_int_equal(decam_io_get_input_limits(f->ctx, &base, &ratio, &memory), DECAM_OK);
    assert_true(base == 0 && ratio == 4096 && memory == (uint64_t)1 << 32);
    assert_int_equal(decam_io_set_input_limits(f->ctx, 0, 1, 0), DECAM_ERR_OUT_OF_RANGE);
    assert_int_equal(decam_io_set_input_limits(f->ctx, (uint64_t)1 << 63, 1, 1),
                     DECAM_ERR_OUT_OF_RANGE);
    free(g.data);
}

/* The decoders' whole-image buffers count: an interlaced PNG keeps all
 * its rows, a progressive JPEG all its coefficients. */
static void test_decoder_buffers_count_towards_the_memory_limit(void **state) {
    fixture *f = *state;
    const uint64_t floats = 128 * 128 * 3 * sizeof(float); /* loaded as RGB */
    for (int interlace = 0; interlace < 2; interlace++) {
        png_spec s = {PNG_COLOR_TYPE_RGB_ALPHA, 16, interlace, 0, 128, 128};
        blob p = write_png(&s);
        /* Room for the floats, the file and a row, not 128 rows of 1 KiB. */
        assert_int_equal(decam_io_set_input_limits(f->ctx, 0, 0, floats + p.size + 65536),
                         DECAM_OK);
        decam_status st = load(f, p.data, p.size);
        assert_int_equal(st, interlace ? DECAM_ERR_TOO_LARGE : DECAM_OK);
        free(p.data);
    }
    unsigned char *pic = picture(128, 128, 3);
    for (int progressive = 0; progressive < 2; progressive++) {
        jpeg_spec js = {128, 128, 3, JCS_RGB, JCS_YCbCr, 80, progressive, 0, 0, 0, 0};
        blob j = write_jpeg(&js, pic);
        /* 4:2:0: 1.5 samples a pixel, 2 bytes each: 48 KiB of coefficients. */
        assert_int_equal(decam_io_set_input_limits(f->ctx, 0, 0, floats + j.size + 16384),
                         DECAM_OK);
        decam_status st = load(f, j.data, j.size);
        assert_int_equal(st, progressive ? DECAM_ERR_TOO_LARGE : DECAM_OK);
        free(j.data);
    }
    free(pic);
}

/* Scan data cut short and closed with EOI. libjpeg warns for Huffman
 * coding (an error here). Arithmetic coding defines the data after a
 * marker as zeros, and libjpeg's encoder relies on that (it drops the
 * final zero bytes), so a real image whose last rows cost nothing ends
 * its data just as early as a cut one: that is not an error, and a rule
 * on where the data ends would refuse such images (measured: 15 of the 16
 * 256 x 256 images with 32 to 256 flat rows at the bottom, in steps of 32,
 * sequential and progressive). What the
 * library does refuse: a cut before a restart marker (the marker is
 * missing: FORMAT), and any claim larger than the data justifies
 * (test_small_inputs_cannot_claim_huge_images). */
static void test_jpeg_scan_data_cut_short(void **state) {
    fixture *f = *state;
    unsigned char *pic = picture(64, 64, 3);
    for (int arithmetic = 0; arithmetic < 2; arithmetic++)
        for (int progressive = 0; progressive < 2; progressive++) {
            /* Arithmetic files are tried with a restart every MCU row. */
            jpeg_spec js = {64,          64,         3,          JCS_RGB, JCS_YCbCr, 90,
                            progressive, arithmetic, arithmetic, 0,       0};
            blob j = write_jpeg(&js, pic);
            assert_int_equal(load(f, j.data, j.size), DECAM_OK);
            size_t sos = find_marker(&j, 0xda);
            size_t data = sos + 2 + ((size_t)j.data[sos + 2] << 8 | j.data[sos + 3]);
            /* Keep a tenth of the first scan's data, then EOI. */
            size_t keep = data + (j.size - data) / 10;
            j.data[keep] = 0xff;
            j.data[keep + 1] = 0xd9;
            decam_status st = load(f, j.data, keep + 2);
            if (st != DECAM_ERR_FORMAT)
                fail_msg("arithmetic %d progressive %d: %s", arithmetic, progressive,
                         decam_status_string(st));
            free(j.data);
        }
    /* Arithmetic-coded images whose bottom rows are flat end their data
     * long before their last row, and load. */
    for (int flat = 32; flat <= 256; flat += 112)
        for (int progressive = 0; progressive < 2; progressive++) {
            unsigned char *img = picture(256, 256, 3);
            memset(img + (size_t)(256 - flat) * 256 * 3, 0, (size_t)flat * 256 * 3);
            jpeg_spec js = {256, 256, 3, JCS_RGB, JCS_YCbCr, 80, progressive, 0, 1, 0, 0};
            blob j = write_jpeg(&js, img);
            if (load(f, j.data, j.size) != DECAM_OK)
                fail_msg("%d flat rows, progressive %d: %s", flat, progressive,
                         decam_errmsg(f->ctx));
            free(j.data);
            free(img);
        }
    free(pic);
}

/* A file is read only up to the end of its image, and never beyond the
 * memory limit: a 2 GiB sparse file holding a 4 x 3 image. */
static void test_files_are_read_only_as_far_as_the_image_goes(void **state) {
    fixture *f = *state;
    unsigned char *pic = picture(4, 3, 3);
    png_spec s = {PNG_COLOR_TYPE_RGB, 8, 0, 0, 4, 3};
    blob p = write_png(&s);
    jpeg_spec js = {4, 3, 3, JCS_RGB, JCS_YCbCr, 90, 0, 0, 0, 0, 0};
    blob j = write_jpeg(&js, pic);
    const blob *files[2] = {&p, &j};
    char path[128];
    snprintf(path, sizeof path, "%s/sparse.img", tmpdir);
    for (int i = 0; i < 2; i++) {
        write_file(path, files[i]->data, files[i]->size);
        assert_int_equal(truncate(path, (off_t)1 << 31), 0); /* a hole: no disk used */
        float *px;
        int w, h;
        f->mem.largest = 0;
        assert_int_equal(decam_image_load(f->ctx, path, 3, &px, &w, &h), DECAM_OK);
        assert_true(w == 4 && h == 3);
        assert_true(f->mem.largest < 1 << 20);
        decam_image_free(f->ctx, px);
    }
    /* A PNG without IEND, followed by 2 GiB of zeros: not a chunk (its
     * type is not letters), so reading stops there and the file is
     * truncated. */
    size_t iend = find_chunk(&p, "IEND");
    write_file(path, p.data, iend);
    assert_int_equal(truncate(path, (off_t)1 << 31), 0);
    float *px;
    int w, h;
    f->mem.largest = 0;
    assert_int_equal(decam_image_load(f->ctx, path, 3, &px, &w, &h), DECAM_ERR_FORMAT);
    assert_true(f->mem.largest < 1 << 20);
    /* A JPEG without EOI followed by 2 GiB of zeros (valid entropy-coded
     * bytes): read up to the memory limit, then refused. */
    size_t eoi = j.size - 2;
    assert_true(j.data[eoi] == 0xff && j.data[eoi + 1] == 0xd9);
    write_file(path, j.data, eoi);
    assert_int_equal(truncate(path, (off_t)1 << 31), 0);
    assert_int_equal(decam_io_set_input_limits(f->ctx, 1 << 22, 1024, 1 << 20), DECAM_OK);
    f->mem.largest = 0;
    assert_int_equal(decam_image_load(f->ctx, path, 3, &px, &w, &h), DECAM_ERR_TOO_LARGE);
    assert_non_null(strstr(decam_errmsg(f->ctx), "before the image ends"));
    assert_true(f->mem.largest <= 2 << 20);
    unlink(path);
    free(p.data);
    free(j.data);
    free(pic);
}

/* ---------------------------------------------------------------------
 * Messages stay one line
 * --------------------------------------------------------------------- */

/* Whether s is valid UTF-8 with no control character (one printable line). */
static int one_valid_line(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p < 0x20 || *p == 0x7f) return 0;
        int extra = *p < 0x80             ? 0
                    : (*p & 0xe0) == 0xc0 ? 1
                    : (*p & 0xf0) == 0xe0 ? 2
                    : (*p & 0xf8) == 0xf0 ? 3
                                          : -1;
        if (extra < 0) return 0;
        if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) return 0; /* C1 control */
        if (*p == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) return 0;
        p++;
        for (int k = 0; k < extra; k++, p++)
            if ((*p & 0xc0) != 0x80) return 0;
    }
    return 1;
}

static void test_messages_quote_paths_on_one_line(void **state) {
    fixture *f = *state;
    float *px;
    int w, h;
    char path[512];
    /* Control characters in a path (none of these files exists). */
    static const char *names[] = {"new\nline.png",   "tab\tand\rreturn.png", "bell\a.png",
                                  "nel\xc2\x85.png", "sep\xe2\x80\xa8.png",  "del\x7f.png"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        assert_int_equal(decam_image_load(f->ctx, path, 3, &px, &w, &h), DECAM_ERR_IO);
        if (!one_valid_line(decam_errmsg(f->ctx)))
            fail_msg("path %zu: message is not one line: %s", i, decam_errmsg(f->ctx));
        assert_non_null(strstr(decam_errmsg(f->ctx), "\\x"));
        assert_true(one_valid_line(f->log.last)); /* the log handler got the same */
        uint8_t rgb[3] = {0, 0, 0};
        snprintf(path, sizeof path, "%s/no-such-dir/%s", tmpdir, names[i]);
        assert_int_equal(decam_image_save(f->ctx, path, DECAM_IMAGE_PNG, rgb, 1, 1, 3),
                         DECAM_ERR_IO);
        assert_true(one_valid_line(decam_errmsg(f->ctx)));
    }
    snprintf(path, sizeof path, "%s/new\nline.png", tmpdir);
    assert_int_equal(decam_image_load(f->ctx, path, 3, &px, &w, &h), DECAM_ERR_IO);
    assert_non_null(strstr(decam_errmsg(f->ctx), "new\\x0aline.png"));
    /* Long paths of 2-, 3- and 4-byte characters, at every alignment: the
     * tail shown starts on a character boundary. */
    static const char *chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    for (int c = 0; c < 3; c++)
        for (int shift = 0; shift < 4; shift++) {
            int o = snprintf(path, sizeof path, "%s/%.*s", tmpdir, shift, "aaaa");
            for (int k = 0; k < 60; k++)
                o += snprintf(path + o, sizeof path - (size_t)o, "%s", chars[c]);
            snprintf(path + o, sizeof path - (size_t)o, "%s", ".png");
            assert_int_equal(decam_image_load(f->ctx, path, 3, &px, &w, &h), DECAM_ERR_IO);
            if (!one_valid_line(decam_errmsg(f->ctx)))
                fail_msg("char %d shift %d: cut inside a character: %s", c, shift,
                         decam_errmsg(f->ctx));
            assert_non_null(strstr(decam_errmsg(f->ctx), "'..."));
            assert_non_null(strstr(decam_errmsg(f->ctx), ".png'"));
        }
}

/* Every allocation the library makes (libpng's included) may fail: the
 * call then returns DECAM_ERR_OUT_OF_MEMORY and frees what it had. */
static void test_allocation_failures_are_reported_and_leak_nothing(void **state) {
    fixture *f = *state;
    png_spec s = {PNG_COLOR_TYPE_PALETTE, 8, 1, 1, 12, 9};
    blob png = write_png(&s);
    unsigned char *pic = picture(12, 9, 3);
    jpeg_spec js = {12, 9, 3, JCS_RGB, JCS_YCbCr, 80, 1, 0, 0, 0, 0};
    blob jpg = write_jpeg(&js, pic);
    const blob *files[2] = {&png, &jpg};
    for (int i = 0; i < 2; i++) {
        int failures = 0;
        for (long k = 0;; k++) {
            f->mem.calls = 0;
            f->mem.fail_at = k;
            long before = f->mem.live;
            decam_status st = load(f, files[i]->data, files[i]->size);
            assert_int_equal(f->mem.live, before);
            f->mem.fail_at = -1;
            if (st == DECAM_OK) break;
            assert_int_equal(st, DECAM_ERR_OUT_OF_MEMORY);
            failures++;
        }
        assert_true(failures >= 3);
    }
    /* Encoders too. */
    for (int format = DECAM_IMAGE_PNG; format <= DECAM_IMAGE_JPEG; format++) {
        for (long k = 0;; k++) {
            uint8_t *data;
            size_t size;
            f->mem.calls = 0;
            f->mem.fail_at = k;
            decam_status st = decam_image_save_memory(f->ctx, (decam_image_format)format, pic, 12,
                                                      9, 3, &data, &size);
            f->mem.fail_at = -1;
            if (st == DECAM_OK) {
                decam_image_free(f->ctx, data);
                break;
            }
            assert_int_equal(st, DECAM_ERR_OUT_OF_MEMORY);
            assert_null(data);
        }
    }
    free(png.data);
    free(jpg.data);
    free(pic);
}

/* libpng and libjpeg print to stderr by default; decam must not. */
static void test_hostile_inputs_print_nothing(void **state) {
    fixture *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/stderr.txt", tmpdir);
    fflush(stderr);
    int saved = dup(2);
    FILE *capture = fopen(path, "w");
    dup2(fileno(capture), 2);
    decam_set_log(f->ctx, NULL, NULL, DECAM_LOG_DEBUG); /* no handler at all */

    png_spec s = {PNG_COLOR_TYPE_RGB, 8, 0, 0, 9, 7};
    blob b = write_png(&s);
    for (size_t n = 0; n < b.size; n += 7)
        load(f, b.data, n);
    b.data[find_chunk(&b, "IDAT") + 10] ^= 0xff;
    load(f, b.data, b.size);
    unsigned char *pic = picture(24, 16, 3);
    jpeg_spec js = {24, 16, 3, JCS_RGB, JCS_YCbCr, 80, 1, 0, 0, 0, 0};
    blob j = write_jpeg(&js, pic);
    for (size_t n = 0; n < j.size; n += 5)
        load(f, j.data, n);
    for (size_t p = 200; p < j.size; p += 17)
        j.data[p] ^= 0x5a;
    load(f, j.data, j.size);

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(capture);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    free(b.data);
    free(j.data);
    free(pic);
}

/* ---------------------------------------------------------------------
 * Saving
 * --------------------------------------------------------------------- */

static void test_png_save_round_trips_every_channel_count(void **state) {
    fixture *f = *state;
    const int w = 23, h = 11;
    for (int channels = 1; channels <= 4; channels++) {
        unsigned char *px = picture(w, h, channels);
        uint8_t *data;
        size_t size;
        assert_int_equal(
            decam_image_save_memory(f->ctx, DECAM_IMAGE_PNG, px, w, h, channels, &data, &size),
            DECAM_OK);
        /* Read back with libpng itself. */
        png_image img;
        memset(&img, 0, sizeof img);
        img.version = PNG_IMAGE_VERSION;
        assert_true(png_image_begin_read_from_memory(&img, data, size));
        assert_int_equal(img.width, w);
        assert_int_equal(PNG_IMAGE_SAMPLE_CHANNELS(img.format), channels);
        unsigned char *back = malloc(PNG_IMAGE_SIZE(img));
        assert_true(png_image_finish_read(&img, NULL, back, 0, NULL));
        assert_memory_equal(back, px, (size_t)w * (size_t)h * (size_t)channels);
        free(back);
        decam_image_free(f->ctx, data);
        free(px);
    }
}

static void test_save_to_path_matches_save_to_memory_and_loads_back(void **state) {
    fixture *f = *state;
    const int w = 40, h = 24;
    unsigned char *px = picture(w, h, 3);
    for (int format = DECAM_IMAGE_PNG; format <= DECAM_IMAGE_JPEG; format++) {
        char path[128];
        snprintf(path, sizeof path, "%s/saved-%d", tmpdir, format);
        uint8_t *data;
        size_t size;
        assert_int_equal(decam_image_save(f->ctx, path, (decam_image_format)format, px, w, h, 3),
                         DECAM_OK);
        assert_int_equal(
            decam_image_save_memory(f->ctx, (decam_image_format)format, px, w, h, 3, &data, &size),
            DECAM_OK);
        FILE *fp = fopen(path, "rb");
        unsigned char *file = malloc(size + 1);
        assert_int_equal(fread(file, 1, size + 1, fp), size);
        fclose(fp);
        assert_memory_equal(file, data, size);
        free(file);
        float *back;
        int bw, bh;
        decam_set_image_layout(f->ctx, DECAM_LAYOUT_HWC);
        assert_int_equal(decam_image_load(f->ctx, path, 3, &back, &bw, &bh), DECAM_OK);
        double worst = 0, mean = 0;
        for (int i = 0; i < w * h * 3; i++) {
            double e = fabs(round(back[i] * 255.0) - px[i]);
            worst = fmax(worst, e);
            mean += e / (w * h * 3);
        }
        if (format == DECAM_IMAGE_PNG)
            assert_true(worst == 0);
        else if (mean > 2.0) /* quality 90, 4:4:4, a picture with hard edges */
            fail_msg("JPEG round trip: mean error %.2f levels (worst %.0f)", mean, worst);
        decam_image_free(f->ctx, back);
        decam_image_free(f->ctx, data);
    }
    free(px);
}

static void test_jpeg_quality_setting_changes_the_file(void **state) {
    fixture *f = *state;
    unsigned char *px = picture(64, 64, 3);
    size_t sizes[2];
    int qualities[2] = {20, 95};
    for (int i = 0; i < 2; i++) {
        uint8_t *data;
        assert_int_equal(decam_io_set_jpeg_quality(f->ctx, qualities[i]), DECAM_OK);
        assert_int_equal(
            decam_image_save_memory(f->ctx, DECAM_IMAGE_JPEG, px, 64, 64, 3, &data, &sizes[i]),
            DECAM_OK);
        decam_image_free(f->ctx, data);
    }
    assert_true(sizes[0] < sizes[1]);
    free(px);
}

static void test_save_refuses_what_the_format_cannot_hold(void **state) {
    fixture *f = *state;
    uint8_t px[4 * 4 * 4] = {0};
    uint8_t *data = (uint8_t *)px;
    size_t size = 1;
    assert_int_equal(decam_image_save_memory(f->ctx, DECAM_IMAGE_JPEG, px, 4, 4, 4, &data, &size),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_null(data);
    assert_int_equal(size, 0);
    assert_int_equal(decam_image_save_memory(f->ctx, DECAM_IMAGE_JPEG, px, 4, 4, 2, &data, &size),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_image_save_memory(f->ctx, DECAM_IMAGE_PNG, px, 4, 4, 5, &data, &size),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(
        decam_image_save_memory(f->ctx, DECAM_IMAGE_JPEG, px, 70000, 1, 3, &data, &size),
        DECAM_ERR_TOO_LARGE);
    assert_int_equal(
        decam_image_save_memory(f->ctx, DECAM_IMAGE_UNKNOWN, px, 4, 4, 3, &data, &size),
        DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_image_save_memory(f->ctx, DECAM_IMAGE_PNG, px, 0, 4, 3, &data, &size),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_image_save_memory(f->ctx, DECAM_IMAGE_PNG, NULL, 4, 4, 3, &data, &size),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_image_save_memory(f->ctx, DECAM_IMAGE_PNG, px, 4, 4, 3, NULL, &size),
                     DECAM_ERR_INVALID_ARGUMENT);
    char path[160];
    snprintf(path, sizeof path, "%s/no/such/dir/out.png", tmpdir);
    assert_int_equal(decam_image_save(f->ctx, path, DECAM_IMAGE_PNG, px, 4, 4, 3), DECAM_ERR_IO);
    assert_non_null(strstr(decam_errmsg(f->ctx), "No such file"));
    assert_int_equal(decam_image_save(f->ctx, tmpdir, DECAM_IMAGE_PNG, px, 4, 4, 3), DECAM_ERR_IO);
    struct stat st;
    assert_int_equal(stat(tmpdir, &st), 0); /* the directory is still there */
    assert_true(S_ISDIR(st.st_mode));
}

/* ---------------------------------------------------------------------
 * A log handler that frees the context during an I/O call
 * --------------------------------------------------------------------- */

static void free_on_log(void *user, decam_log_level level, const char *message) {
    (void)level;
    (void)message;
    decam_free(user);
}

/* Each call fails, logs its message, and the handler frees the context:
 * the free waits until the call returns, and nothing is leaked. */
static void test_free_from_the_log_handler_during_an_io_call_is_deferred(void **state) {
    (void)state;
    for (int call = 0; call < 4; call++) {
        counter mem = {.fail_at = -1};
        decam_ctx *ctx = decam_create_advanced(count_alloc, count_free, &mem);
        assert_non_null(ctx);
        assert_int_equal(decam_set_log(ctx, free_on_log, ctx, DECAM_LOG_DEBUG), DECAM_OK);
        float *px = NULL, img[12] = {0}, out[12];
        int w, h;
        uint8_t bytes[12] = {0};
        decam_status st;
        switch (call) {
        case 0: st = decam_image_load_memory(ctx, "not an image", 12, 3, &px, &w, &h); break;
        case 1: st = decam_image_resize(ctx, img, 2, 2, 3, out, 0, 2, DECAM_RESIZE_AREA); break;
        case 2: st = decam_io_set_jpeg_quality(ctx, 0); break;
        default: st = decam_image_save_memory(ctx, DECAM_IMAGE_PNG, bytes, 2, 2, 9, NULL, NULL);
        }
        assert_int_not_equal(st, DECAM_OK);
        assert_null(px);
        if (mem.live != 0) fail_msg("call %d: %ld allocations left", call, mem.live);
    }
}

/* ---------------------------------------------------------------------
 * A failed save destroys nothing
 * --------------------------------------------------------------------- */

/* A directory of its own inside tmpdir, so that leftovers can be counted. */
static void make_save_dir(char *dir, size_t n, const char *name) {
    snprintf(dir, n, "%s/%s", tmpdir, name);
    assert_int_equal(mkdir(dir, 0755), 0);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void assert_file_holds(const char *path, const char *text) {
    char buf[64] = {0};
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    assert_int_equal(n, strlen(text));
    assert_string_equal(buf, text);
}

/* Noise, so that the PNG cannot compress below the file size limit. */
static uint8_t *noise_pixels(int w, int h) {
    uint8_t *px = malloc((size_t)w * (size_t)h * 3);
    uint32_t x = 12345;
    for (int i = 0; i < w * h * 3; i++) {
        x = x * 1664525u + 1013904223u;
        px[i] = (uint8_t)(x >> 24);
    }
    return px;
}

/* Saves with writes beyond 4 KiB failing (EFBIG), as a full disk would make
 * them fail: a real write error, confined to this process and to files in
 * the test's own directory. */
static decam_status save_with_a_full_disk(decam_ctx *ctx, const char *path) {
    uint8_t *px = noise_pixels(64, 64);
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 4096;
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    decam_status status = decam_image_save(ctx, path, DECAM_IMAGE_PNG, px, 64, 64, 3);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, was);
    free(px);
    return status;
}

static void test_failed_save_keeps_the_old_file_and_leaves_nothing(void **state) {
    fixture *f = *state;
    char dir[160], path[200];
    make_save_dir(dir, sizeof dir, "full-disk");
    snprintf(path, sizeof path, "%s/out.png", dir);
    write_file(path, "old contents", 12);
    assert_int_equal(save_with_a_full_disk(f->ctx, path), DECAM_ERR_IO);
    assert_non_null(strstr(decam_errmsg(f->ctx), "File too large"));
    assert_file_holds(path, "old contents");
    assert_int_equal(count_entries(dir), 1); /* no temporary file is left */

    /* A path that did not exist does not exist after a failed save. */
    snprintf(path, sizeof path, "%s/new.png", dir);
    assert_int_equal(save_with_a_full_disk(f->ctx, path), DECAM_ERR_IO);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(count_entries(dir), 1);
}

static void test_save_through_a_symlink_keeps_the_link(void **state) {
    fixture *f = *state;
    char dir[160], target[200], link[200];
    make_save_dir(dir, sizeof dir, "symlink");
    snprintf(target, sizeof target, "%s/target.png", dir);
    snprintf(link, sizeof link, "%s/link.png", dir);
    write_file(target, "old contents", 12);
    assert_int_equal(symlink("target.png", link), 0);

    assert_int_equal(save_with_a_full_disk(f->ctx, link), DECAM_ERR_IO);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_file_holds(target, "old contents");
    assert_int_equal(count_entries(dir), 2);

    const uint8_t px[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    assert_int_equal(decam_image_save(f->ctx, link, DECAM_IMAGE_PNG, px, 2, 2, 3), DECAM_OK);
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    float *pixels;
    int w, h;
    assert_int_equal(decam_image_load(f->ctx, target, 3, &pixels, &w, &h), DECAM_OK);
    assert_int_equal(w, 2);
    decam_image_free(f->ctx, pixels);
    assert_int_equal(count_entries(dir), 2);
}

static void test_save_replaces_a_file_and_keeps_its_mode(void **state) {
    fixture *f = *state;
    char dir[160], path[200];
    make_save_dir(dir, sizeof dir, "mode");
    snprintf(path, sizeof path, "%s/out.png", dir);
    write_file(path, "old contents", 12);
    assert_int_equal(chmod(path, 0640), 0);
    const uint8_t px[3] = {9, 8, 7};
    assert_int_equal(decam_image_save(f->ctx, path, DECAM_IMAGE_PNG, px, 1, 1, 3), DECAM_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_true(st.st_size > 12);
    assert_int_equal(count_entries(dir), 1);
}

/* Names of 242 to 255 bytes are legal; the temporary file beside them
 * must fit in a name too. Both a new file and a replaced one. */
static void test_save_takes_the_longest_legal_names(void **state) {
    fixture *f = *state;
    char dir[160], path[512];
    make_save_dir(dir, sizeof dir, "long-names");
    const uint8_t px[3] = {9, 8, 7};
    for (int len = 240; len <= 255; len++) {
        int at = snprintf(path, sizeof path, "%s/", dir);
        for (int i = 0; i < len; i++)
            path[at + i] = (char)('a' + i % 26);
        path[at + len] = '\0';
        assert_int_equal(decam_image_save(f->ctx, path, DECAM_IMAGE_PNG, px, 1, 1, 3), DECAM_OK);
        assert_int_equal(decam_image_save(f->ctx, path, DECAM_IMAGE_PNG, px, 1, 1, 3), DECAM_OK);
        float *pixels;
        int w, h;
        assert_int_equal(decam_image_load(f->ctx, path, 3, &pixels, &w, &h), DECAM_OK);
        decam_image_free(f->ctx, pixels);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(count_entries(dir), 0); /* no temporary file is left */
    }
}

/* A link to a file that does not exist yet: fopen() creates the file it
 * names, and so does the save; the link stays a link. */
static void test_save_through_a_dangling_symlink_creates_its_target(void **state) {
    fixture *f = *state;
    char dir[160], link[200], target[200], sub[200], link2[200];
    make_save_dir(dir, sizeof dir, "dangling");
    snprintf(link, sizeof link, "%s/link.png", dir);
    snprintf(target, sizeof target, "%s/target.png", dir);
    assert_int_equal(symlink("target.png", link), 0);
    const uint8_t px[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    assert_int_equal(decam_image_save(f->ctx, link, DECAM_IMAGE_PNG, px, 2, 2, 3), DECAM_OK);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(lstat(target, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(count_entries(dir), 2);
    /* A chain of links, one relative to a directory of its own. */
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(link2, sizeof link2, "%s/sub/chain.png", dir);
    assert_int_equal(symlink("../link2.png", link2), 0);
    snprintf(link, sizeof link, "%s/link2.png", dir);
    assert_int_equal(symlink("sub/end.png", link), 0);
    assert_int_equal(decam_image_save(f->ctx, link2, DECAM_IMAGE_PNG, px, 2, 2, 3), DECAM_OK);
    snprintf(target, sizeof target, "%s/sub/end.png", dir);
    float *pixels;
    int w, h;
    assert_int_equal(decam_image_load(f->ctx, target, 3, &pixels, &w, &h), DECAM_OK);
    assert_int_equal(w, 2);
    decam_image_free(f->ctx, pixels);
    assert_int_equal(lstat(link2, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    /* A link into a directory that does not exist fails as fopen() would. */
    snprintf(link, sizeof link, "%s/nowhere.png", dir);
    assert_int_equal(symlink("missing/x.png", link), 0);
    assert_int_equal(decam_image_save(f->ctx, link, DECAM_IMAGE_PNG, px, 2, 2, 3), DECAM_ERR_IO);
    /* A loop fails too. */
    snprintf(link, sizeof link, "%s/loop.png", dir);
    assert_int_equal(symlink("loop.png", link), 0);
    assert_int_equal(decam_image_save(f->ctx, link, DECAM_IMAGE_PNG, px, 2, 2, 3), DECAM_ERR_IO);
}

/* A FIFO stands for every path that is not a regular file (devices such as
 * /dev/stdout): written in place, never replaced or removed. */
static void test_save_to_a_fifo_writes_into_it(void **state) {
    fixture *f = *state;
    char dir[160], path[200];
    make_save_dir(dir, sizeof dir, "fifo");
    snprintf(path, sizeof path, "%s/pipe", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    int reader = open(path, O_RDWR | O_NONBLOCK); /* keeps a reader: open never blocks */
    assert_true(reader >= 0);
    const uint8_t px[3] = {9, 8, 7};
    assert_int_equal(decam_image_save(f->ctx, path, DECAM_IMAGE_PNG, px, 1, 1, 3), DECAM_OK);
    unsigned char head[8];
    assert_int_equal(read(reader, head, sizeof head), 8);
    assert_memory_equal(head, "\x89PNG\r\n\x1a\n", 8);
    close(reader);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(count_entries(dir), 1);
}

/* ---------------------------------------------------------------------
 * Preparing model input
 * --------------------------------------------------------------------- */

static void fill(float *p, int w, int h, int c) {
    for (int i = 0; i < w * h * c; i++)
        p[i] = (float)((i * 7919) % 1000) / 999.0f;
}

static void test_resize_to_the_same_size_copies_exactly(void **state) {
    fixture *f = *state;
    float src[13 * 7 * 3], dst[13 * 7 * 3];
    fill(src, 13, 7, 3);
    for (int m = 0; m < 2; m++) {
        assert_int_equal(
            decam_image_resize(f->ctx, src, 13, 7, 3, dst, 13, 7, (decam_resize_method)m),
            DECAM_OK);
        assert_memory_equal(src, dst, sizeof src);
    }
}

static void test_resize_keeps_a_constant_image_constant(void **state) {
    fixture *f = *state;
    static float src[50 * 40 * 3], dst[33 * 80 * 3]; /* the largest size below */
    for (size_t i = 0; i < sizeof src / sizeof *src; i++)
        src[i] = 0.375f;
    static const int sizes[][2] = {{97, 13}, {7, 3}, {50, 40}, {1, 1}, {33, 80}};
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < 5; k++) {
            int dw = sizes[k][0], dh = sizes[k][1];
            assert_int_equal(
                decam_image_resize(f->ctx, src, 50, 40, 3, dst, dw, dh, (decam_resize_method)m),
                DECAM_OK);
            for (int i = 0; i < dw * dh * 3; i++)
                assert_float_equal(dst[i], 0.375f, 1e-6);
        }
}

static void test_bilinear_aligns_pixel_centres(void **state) {
    fixture *f = *state;
    const float src[2] = {0.0f, 1.0f};
    float dst[4];
    assert_int_equal(decam_image_resize(f->ctx, src, 2, 1, 1, dst, 4, 1, DECAM_RESIZE_BILINEAR),
                     DECAM_OK);
    assert_float_equal(dst[0], 0.0f, 1e-7);
    assert_float_equal(dst[1], 0.25f, 1e-7);
    assert_float_equal(dst[2], 0.75f, 1e-7);
    assert_float_equal(dst[3], 1.0f, 1e-7);
}

static void test_area_shrink_by_two_is_the_mean_of_2x2_blocks(void **state) {
    fixture *f = *state;
    float src[8 * 6 * 2], dst[4 * 3 * 2];
    fill(src, 8, 6, 2);
    decam_set_image_layout(f->ctx, DECAM_LAYOUT_HWC);
    assert_int_equal(decam_image_resize(f->ctx, src, 8, 6, 2, dst, 4, 3, DECAM_RESIZE_AREA),
                     DECAM_OK);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++)
            for (int c = 0; c < 2; c++) {
                float m =
                    (src[((2 * y) * 8 + 2 * x) * 2 + c] + src[((2 * y) * 8 + 2 * x + 1) * 2 + c] +
                     src[((2 * y + 1) * 8 + 2 * x) * 2 + c] +
                     src[((2 * y + 1) * 8 + 2 * x + 1) * 2 + c]) /
                    4;
                assert_float_equal(dst[(y * 4 + x) * 2 + c], m, 1e-6);
            }
    /* A non-integer factor keeps the mean. */
    static float big[10 * 10], small[3 * 3];
    fill(big, 10, 10, 1);
    assert_int_equal(decam_image_resize(f->ctx, big, 10, 10, 1, small, 3, 3, DECAM_RESIZE_AREA),
                     DECAM_OK);
    double mb = 0, ms = 0;
    for (int i = 0; i < 100; i++)
        mb += big[i] / 100.0;
    for (int i = 0; i < 9; i++)
        ms += small[i] / 9.0;
    assert_float_equal(mb, ms, 1e-5);
}

static void test_resize_and_crop_agree_between_layouts(void **state) {
    fixture *f = *state;
    enum { W = 21, H = 15, C = 3, DW = 10, DH = 8, CW = 6, CH = 5 };
    float hwc[W * H * C], chw[W * H * C], rh[DW * DH * C], rc[DW * DH * C], ch_[CW * CH * C],
        cc[CW * CH * C];
    fill(hwc, W, H, C);
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                chw[(c * H + y) * W + x] = hwc[(y * W + x) * C + c];
    for (int m = 0; m < 2; m++) {
        decam_set_image_layout(f->ctx, DECAM_LAYOUT_HWC);
        assert_int_equal(
            decam_image_resize(f->ctx, hwc, W, H, C, rh, DW, DH, (decam_resize_method)m), DECAM_OK);
        decam_set_image_layout(f->ctx, DECAM_LAYOUT_CHW);
        assert_int_equal(
            decam_image_resize(f->ctx, chw, W, H, C, rc, DW, DH, (decam_resize_method)m), DECAM_OK);
        for (int c = 0; c < C; c++)
            for (int y = 0; y < DH; y++)
                for (int x = 0; x < DW; x++)
                    assert_true(rc[(c * DH + y) * DW + x] == rh[(y * DW + x) * C + c]);
    }
    decam_set_image_layout(f->ctx, DECAM_LAYOUT_HWC);
    assert_int_equal(decam_image_center_crop(f->ctx, hwc, W, H, C, ch_, CW, CH), DECAM_OK);
    decam_set_image_layout(f->ctx, DECAM_LAYOUT_CHW);
    assert_int_equal(decam_image_center_crop(f->ctx, chw, W, H, C, cc, CW, CH), DECAM_OK);
    const int x0 = (W - CW) / 2, y0 = (H - CH) / 2; /* 7, 5 */
    for (int c = 0; c < C; c++)
        for (int y = 0; y < CH; y++)
            for (int x = 0; x < CW; x++) {
                assert_true(ch_[(y * CW + x) * C + c] == hwc[((y0 + y) * W + x0 + x) * C + c]);
                assert_true(cc[(c * CH + y) * CW + x] == ch_[(y * CW + x) * C + c]);
            }
}

static void test_preparation_refuses_bad_arguments(void **state) {
    fixture *f = *state;
    float a[16] = {0}, b[16];
    assert_int_equal(decam_image_resize(f->ctx, a, 4, 4, 1, a, 4, 4, DECAM_RESIZE_AREA),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_image_resize(f->ctx, a, 4, 4, 1, b, 0, 4, DECAM_RESIZE_AREA),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_image_resize(f->ctx, a, 4, 4, 1, b, 4, 4, (decam_resize_method)7),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_image_resize(f->ctx, NULL, 4, 4, 1, b, 4, 4, DECAM_RESIZE_AREA),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_image_resize(f->ctx, a, 70000, 1, 1, b, 4, 4, DECAM_RESIZE_AREA),
                     DECAM_ERR_TOO_LARGE);
    assert_int_equal(decam_image_resize(NULL, a, 4, 4, 1, b, 4, 4, DECAM_RESIZE_AREA),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_image_center_crop(f->ctx, a, 4, 4, 1, b, 5, 2),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(f->ctx), "does not fit"));
    assert_int_equal(decam_image_center_crop(f->ctx, a, 4, 4, 0, b, 2, 2),
                     DECAM_ERR_INVALID_ARGUMENT);
}

static void test_normalize_and_denormalize_are_inverse(void **state) {
    fixture *f = *state;
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
    float px[5 * 4 * 3], orig[5 * 4 * 3];
    fill(px, 5, 4, 3);
    memcpy(orig, px, sizeof px);
    decam_set_image_layout(f->ctx, DECAM_LAYOUT_CHW);
    assert_int_equal(decam_image_normalize(f->ctx, px, 5, 4, 3, mean, sd), DECAM_OK);
    assert_float_equal(px[20 * 2 + 3], (orig[20 * 2 + 3] - mean[2]) / sd[2], 1e-6); /* plane 2 */
    assert_int_equal(decam_image_denormalize(f->ctx, px, 5, 4, 3, mean, sd), DECAM_OK);
    for (int i = 0; i < 60; i++)
        assert_float_equal(px[i], orig[i], 1e-6);
    const float zero[3] = {0.2f, 0.0f, 0.2f}, nan_mean[3] = {0, NAN, 0};
    assert_int_equal(decam_image_normalize(f->ctx, px, 5, 4, 3, mean, zero),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(decam_errmsg(f->ctx), "std[1]"));
    assert_int_equal(decam_image_normalize(f->ctx, px, 5, 4, 3, nan_mean, sd),
                     DECAM_ERR_INVALID_ARGUMENT);
    assert_memory_equal(px, px, sizeof px);
    for (int i = 0; i < 60; i++)
        assert_float_equal(px[i], orig[i], 1e-6); /* untouched */
    assert_int_equal(decam_image_normalize(f->ctx, NULL, 5, 4, 3, mean, sd),
                     DECAM_ERR_INVALID_ARGUMENT);
}

static void test_bytes_conversion_rounds_clamps_and_round_trips(void **state) {
    fixture *f = *state;
    const float src[6] = {-0.5f, 0.0f, 0.5f, 1.0f, 7.0f, NAN};
    uint8_t out[6];
    assert_int_equal(decam_image_to_bytes(f->ctx, src, 6, 1, 1, out), DECAM_OK);
    const uint8_t want[6] = {0, 0, 128, 255, 255, 0};
    assert_memory_equal(out, want, 6);
    uint8_t all[256 * 3], back[256 * 3];
    for (int i = 0; i < 256 * 3; i++)
        all[i] = (uint8_t)(i * 31);
    float fl[256 * 3];
    for (int layout = 0; layout < 2; layout++) {
        decam_set_image_layout(f->ctx, (decam_layout)layout);
        assert_int_equal(decam_image_from_bytes(f->ctx, all, 16, 16, 3, fl), DECAM_OK);
        assert_int_equal(decam_image_to_bytes(f->ctx, fl, 16, 16, 3, back), DECAM_OK);
        assert_memory_equal(all, back, sizeof all);
    }
    assert_true(fl[1] == all[3] / 255.0f); /* CHW: plane 0, pixel 1 */
    assert_int_equal(decam_image_to_bytes(f->ctx, src, 6, 1, 5, out), DECAM_ERR_INVALID_ARGUMENT);
    assert_int_equal(decam_image_from_bytes(f->ctx, NULL, 6, 1, 1, fl), DECAM_ERR_INVALID_ARGUMENT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_settings_have_documented_defaults_and_ranges, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_detect_reads_signatures_not_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_png_every_colour_type_and_depth_loads_exactly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_png_sixteen_bit_keeps_its_precision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_and_buffer_give_identical_pixels, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jpeg_variants_decode_as_libjpeg_does, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jpeg_decodes_known_pixel_values_within_dct_tolerance,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_jpeg_adobe_cmyk_is_read_as_inverted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_files_fail_at_every_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_crcs_are_format_errors_except_in_ancillary_chunks,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_headers_are_refused_before_pixel_memory, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_limits_apply_to_width_height_and_pixels, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zero_sizes_are_format_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_jpeg_variants_are_format_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_non_images_empty_missing_and_directories, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupted_files_never_crash_or_leak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_inputs_cannot_claim_huge_images, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_decoder_buffers_count_towards_the_memory_limit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jpeg_scan_data_cut_short, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_are_read_only_as_far_as_the_image_goes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_messages_quote_paths_on_one_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allocation_failures_are_reported_and_leak_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_inputs_print_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_png_save_round_trips_every_channel_count, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_save_to_path_matches_save_to_memory_and_loads_back,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_jpeg_quality_setting_changes_the_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_save_refuses_what_the_format_cannot_hold, setup,
                                        teardown),
        cmocka_unit_test(test_free_from_the_log_handler_during_an_io_call_is_deferred),
        cmocka_unit_test_setup_teardown(test_failed_save_keeps_the_old_file_and_leaves_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_through_a_symlink_keeps_the_link, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_save_replaces_a_file_and_keeps_its_mode, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_save_to_a_fifo_writes_into_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_takes_the_longest_legal_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_through_a_dangling_symlink_creates_its_target,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_resize_to_the_same_size_copies_exactly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_resize_keeps_a_constant_image_constant, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bilinear_aligns_pixel_centres, setup, teardown),
        cmocka_unit_test_setup_teardown(test_area_shrink_by_two_is_the_mean_of_2x2_blocks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_resize_and_crop_agree_between_layouts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_preparation_refuses_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normalize_and_denormalize_are_inverse, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bytes_conversion_rounds_clamps_and_round_trips, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
