/* counting.h - an allocator for decam_create_advanced() and the private
 * parts' decam_allocator that counts what is live, remembers the largest
 * request and fails one chosen allocation: the tests of allocation
 * failures and of memory bounds, and fuzz_prepare, share it. */
#ifndef TESTS_COUNTING_H
#define TESTS_COUNTING_H

#include <stdlib.h>

typedef struct counter {
    long live;      /* allocations not yet freed */
    long calls;     /* allocations attempted */
    long fail_at;   /* fail the allocation with this index; -1: never */
    size_t largest; /* largest single request */
    size_t bytes;   /* every request added up */
} counter;

static void *count_alloc(void *opaque, size_t size) {
    counter *c = opaque;
    long call = c->calls++;
    if (size > c->largest) c->largest = size;
    c->bytes += size;
    if (call == c->fail_at) return NULL;
    void *p = malloc(size);
    if (p) c->live++;
    return p;
}

static void count_free(void *opaque, void *p) {
    counter *c = opaque;
    if (p) c->live--;
    free(p);
}

#endif
