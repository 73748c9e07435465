/* reader.h - the fuzz targets' input: a byte stream read from the front,
 * zeros once it runs out, so that every input is a complete program. */
#ifndef FUZZ_READER_H
#define FUZZ_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static inline uint8_t byte(reader *r) {
    if (r->n == 0) return 0;
    r->n--;
    return *r->p++;
}

#endif /* FUZZ_READER_H */
