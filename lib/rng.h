/*
 * rng.h - the context's random generator: xoshiro256** seeded by splitmix64.
 * Every random draw of the library comes from one of these, so a seed fixes
 * a run bit for bit.
 */
#ifndef DECAM_RNG_H
#define DECAM_RNG_H

#include <stdint.h>

typedef struct rng {
    uint64_t s[4];
} rng;

/* Seeds the generator; every seed (0 included) gives a valid state. */
void decam__rng_seed(rng *r, uint64_t seed);

/* The next 64 random bits. */
uint64_t decam__rng_next(rng *r);

/* Uniform in [0, 1), 53 bits. */
double decam__rng_uniform(rng *r);

/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint32_t decam__rng_below(rng *r, uint32_t n);

/* Standard normal (Box-Muller; draws two uniforms each call). */
double decam__rng_normal(rng *r);

#endif /* DECAM_RNG_H */
