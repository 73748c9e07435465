/* fuzz_image.c - libFuzzer target: the PNG loader, or with -DFUZZ_JPEG the
 * JPEG loader (decam_image_load_memory). Built twice and run by
 * tests/fuzz/run.sh, as fuzz_png and fuzz_jpeg.
 *
 * Inputs that do not start like the format are given its signature (PNG's
 * 8 bytes, JPEG's SOI marker), so that the fuzzer spends its time inside
 * the decoder and io_png.c / io_jpeg.c, not in detection. The
 * last byte picks gray or RGB output and the layout; the limits are lowered
 * so that a hostile header cannot ask for gigabytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decam_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef FUZZ_JPEG
static const uint8_t SIGNATURE[3] = {0xff, 0xd8, 0xff};
#else
static const uint8_t SIGNATURE[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    decam_ctx *ctx = decam_create();
    if (!ctx) return 0;
    decam_io_set_limits(ctx, 4096, 4096, (uint64_t)1 << 22);
    int mode = size ? data[size - 1] : 0;
    decam_set_image_layout(ctx, (mode & 2) ? DECAM_LAYOUT_CHW : DECAM_LAYOUT_HWC);
    decam_io_set_background(ctx, 0.25f, 0.5f, 0.75f);

    uint8_t *input = malloc(size + sizeof SIGNATURE);
    size_t n = size;
    if (input) {
        if (size >= sizeof SIGNATURE && memcmp(data, SIGNATURE, sizeof SIGNATURE) == 0) {
            memcpy(input, data, size);
        } else {
            memcpy(input, SIGNATURE, sizeof SIGNATURE);
            if (size) memcpy(input + sizeof SIGNATURE, data, size);
            n = size + sizeof SIGNATURE;
        }
        float *px = NULL;
        int w = 0, h = 0;
        decam_status st = decam_image_load_memory(ctx, input, n, (mode & 1) ? 1 : 3, &px, &w, &h);
        if (st == DECAM_OK) {
            /* Touch every value: ASan sees any short allocation. */
            volatile float sum = 0;
            size_t count = (size_t)w * (size_t)h * ((mode & 1) ? 1u : 3u);
            for (size_t i = 0; i < count; i++)
                sum += px[i];
            (void)sum;
        } else if (px || w || h) {
            abort(); /* failures must leave no output behind */
        }
        decam_image_free(ctx, px);
        free(input);
    }
    decam_free(ctx);
    return 0;
}
