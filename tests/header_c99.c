/* header_c99.c - build-only test: decam.h compiles alone as C99 with
 * -pedantic -Werror (see tests/meson.build). */
#include "decam.h"

int main(void) {
    decam_ctx *ctx = decam_create();
    decam_free(ctx);
    return DECAM_OK;
}
