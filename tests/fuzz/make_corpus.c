/* make_corpus.c - writes the seed corpora of the fuzz targets, so that no
 * binary file needs to live in git: small PNGs of every colour type and bit
 * depth (interlaced or not, with tRNS, with a text chunk) and small JPEGs
 * of every kind the loader reads (baseline 4:2:0 and 4:4:4, progressive,
 * gray, CMYK, YCCK, restart markers, arithmetic coding).
 *
 * usage: make_corpus PNG_DIR JPEG_DIR   (both must exist) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "../jpeg_write.h"

static int written;

static int write_file(const char *dir, const char *name, const void *data, size_t size) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "make_corpus: cannot write %s\n", path);
        return -1;
    }
    written++;
    return 0;
}

static unsigned char sample(int x, int y, int k) {
    return (unsigned char)((x * 29 + y * 53 + k * 71 + x * y) * 13);
}

static int png_seed(const char *dir, int type, int depth, int interlace, int trns, int text, int w,
                    int h) {
    char name[64];
    snprintf(name, sizeof name, "t%d-d%d-i%d-r%d-x%d-%dx%d.png", type, depth, interlace, trns, text,
             w, h);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        fclose(f);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, type,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    int channels = type == PNG_COLOR_TYPE_GRAY_ALPHA  ? 2
                   : type == PNG_COLOR_TYPE_RGB       ? 3
                   : type == PNG_COLOR_TYPE_RGB_ALPHA ? 4
                                                      : 1;
    int levels = 1 << depth;
    if (type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[256];
        png_byte alpha[256];
        for (int i = 0; i < levels; i++) {
            pal[i].red = (png_byte)(i * 37);
            pal[i].green = (png_byte)(255 - i);
            pal[i].blue = (png_byte)(i * 11);
            alpha[i] = (png_byte)(i * 97);
        }
        png_set_PLTE(png, info, pal, levels);
        if (trns) png_set_tRNS(png, info, alpha, levels, NULL);
    } else if (trns) {
        png_color_16 key = {0, 1, 1, 1, 1};
        png_set_tRNS(png, info, NULL, 0, &key);
    }
    if (text) {
        png_text t;
        memset(&t, 0, sizeof t);
        t.compression = PNG_TEXT_COMPRESSION_zTXt;
        t.key = (png_charp) "Comment";
        t.text = (png_charp) "seed for fuzz_png";
        png_set_text(png, info, &t, 1);
    }
    png_write_info(png, info);
    if (depth < 8) png_set_packing(png);
    int bytes = depth == 16 ? 2 : 1;
    size_t stride = (size_t)w * (size_t)channels * (size_t)bytes;
    png_bytep image = malloc(stride * (size_t)h);
    png_bytepp rows = malloc(sizeof *rows * (size_t)h);
    for (int y = 0; y < h; y++) {
        rows[y] = image + (size_t)y * stride;
        for (int x = 0; x < w; x++)
            for (int k = 0; k < channels * bytes; k++)
                rows[y][(size_t)x * (size_t)channels * (size_t)bytes + (size_t)k] =
                    depth < 8 ? (png_byte)(sample(x, y, k) % levels) : sample(x, y, k);
    }
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(image);
    written++;
    return fclose(f) == 0 ? 0 : -1;
}

static int png_seeds(const char *dir) {
    static const int cases[][2] = {{0, 1},  {0, 2},  {0, 4}, {0, 8},  {0, 16},
                                   {4, 8},  {4, 16}, {2, 8}, {2, 16}, {6, 8},
                                   {6, 16}, {3, 1},  {3, 2}, {3, 4},  {3, 8}};
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int type = cases[i][0], depth = cases[i][1];
        int can_trns = type == 0 || type == 2 || type == 3;
        bad |= png_seed(dir, type, depth, 0, 0, 0, 7, 5);
        bad |= png_seed(dir, type, depth, 1, can_trns, 0, 9, 9);
    }
    bad |= png_seed(dir, 2, 8, 0, 1, 1, 16, 3);
    bad |= png_seed(dir, 0, 8, 0, 0, 0, 1, 1);
    return bad;
}

typedef struct jpeg_seed_spec {
    const char *name;
    jpeg_spec spec;
} jpeg_seed_spec;

static int jpeg_seed(const char *dir, const jpeg_seed_spec *seed) {
    const jpeg_spec *s = &seed->spec;
    const size_t n = (size_t)s->width * s->height * s->components;
    unsigned char *samples = malloc(n);
    if (!samples) return 1;
    for (size_t i = 0; i < n; i++) {
        size_t pixel = i / (size_t)s->components;
        samples[i] = sample((int)(pixel % (size_t)s->width), (int)(pixel / (size_t)s->width),
                            (int)(i % (size_t)s->components));
    }
    unsigned long size = 0;
    unsigned char *out = jpeg_encode(s, samples, &size);
    free(samples);
    int r = write_file(dir, seed->name, out, size);
    free(out);
    return r;
}

static int jpeg_seeds(const char *dir) {
    static const jpeg_seed_spec specs[] = {
        {"baseline-420.jpg", {24, 16, 3, JCS_RGB, JCS_YCbCr, 75, 0, 0, 0, 0, 0}},
        {"baseline-444.jpg", {13, 7, 3, JCS_RGB, JCS_YCbCr, 95, 0, 0, 0, 1, 0}},
        {"progressive.jpg", {24, 16, 3, JCS_RGB, JCS_YCbCr, 80, 1, 0, 0, 0, 0}},
        {"restart.jpg", {32, 16, 3, JCS_RGB, JCS_YCbCr, 80, 0, 0, 0, 0, 1}},
        {"progressive-restart.jpg", {32, 16, 3, JCS_RGB, JCS_YCbCr, 80, 1, 0, 0, 0, 2}},
        {"arithmetic.jpg", {16, 16, 3, JCS_RGB, JCS_YCbCr, 80, 0, 0, 1, 0, 0}},
        {"arithmetic-progressive.jpg", {16, 16, 3, JCS_RGB, JCS_YCbCr, 80, 1, 0, 1, 0, 0}},
        {"rgb.jpg", {8, 8, 3, JCS_RGB, JCS_RGB, 90, 0, 0, 0, 1, 0}},
        {"gray.jpg", {17, 9, 1, JCS_GRAYSCALE, JCS_GRAYSCALE, 85, 0, 0, 0, 0, 0}},
        {"gray-progressive.jpg", {17, 9, 1, JCS_GRAYSCALE, JCS_GRAYSCALE, 85, 1, 0, 0, 0, 0}},
        {"cmyk.jpg", {16, 8, 4, JCS_CMYK, JCS_CMYK, 90, 0, 0, 0, 0, 0}},
        {"ycck.jpg", {16, 8, 4, JCS_CMYK, JCS_YCCK, 90, 0, 0, 0, 0, 0}},
        {"tiny.jpg", {1, 1, 3, JCS_RGB, JCS_YCbCr, 50, 0, 0, 0, 0, 0}},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        bad |= jpeg_seed(dir, &specs[i]);
    return bad;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: make_corpus PNG_DIR JPEG_DIR\n");
        return 2;
    }
    int bad = png_seeds(argv[1]) | jpeg_seeds(argv[2]);
    printf("make_corpus: %d seed files\n", written);
    return bad ? 1 : 0;
}
