/* alloc_sys.h - the C library's allocator as a decam_allocator, for unit
 * tests of the private parts. */
#ifndef TESTS_ALLOC_SYS_H
#define TESTS_ALLOC_SYS_H

#include <stdlib.h>

#include "alloc.h"

static void *sys_alloc(void *opaque, size_t n) {
    (void)opaque;
    return malloc(n);
}
static void sys_free(void *opaque, void *p) {
    (void)opaque;
    free(p);
}
static const decam_allocator ALLOC = {sys_alloc, sys_free, NULL};

#endif
