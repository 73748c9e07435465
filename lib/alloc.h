/*
 * alloc.h - the allocator every part of the library allocates through, so
 * that one place can swap it or count and fail allocations in tests.
 */
#ifndef DECAM_ALLOC_H
#define DECAM_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct decam_allocator {
    void *(*alloc)(void *opaque, size_t size);
    void (*free)(void *opaque, void *ptr);
    void *opaque;
} decam_allocator;

/* The C library's malloc and free: the allocator of contexts created
 * without one, and of the functions that take no context. */
extern const decam_allocator decam__mem_system;

/* n * size bytes, overflow-checked; NULL on failure. */
static inline void *mem_alloc(const decam_allocator *a, size_t n, size_t size) {
    if (size != 0 && n > SIZE_MAX / size) return NULL;
    size_t bytes = n * size;
    return a->alloc(a->opaque, bytes ? bytes : 1);
}

/* As mem_alloc, zero-filled. */
static inline void *mem_calloc(const decam_allocator *a, size_t n, size_t size) {
    void *p = mem_alloc(a, n, size);
    if (p) memset(p, 0, n * size);
    return p;
}

/* Accepts NULL. */
static inline void mem_free(const decam_allocator *a, void *ptr) {
    if (ptr) a->free(a->opaque, ptr);
}

#endif /* DECAM_ALLOC_H */
