// header_cxx.cpp - build-only test: decam.h compiles alone as C++ and its
// functions link from C++ (extern "C").
#include "decam.h"

int main() {
    decam_ctx *ctx = decam_create();
    decam_status st = decam_set_param(ctx, DECAM_PARAM_BUDGET, 100.0);
    decam_free(ctx);
    return st == DECAM_OK ? 0 : 1;
}
