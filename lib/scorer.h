/*
 * scorer.h - scorers: what turns the n_outputs floats a model wrote for
 * one image into one score per target (decam.h section 10). A table beside
 * the method table, one file per scorer (scorers.h lists them), in the run
 * layer's path from the model to the methods: the session and the
 * evaluation call decam__scorer_score() for every image and target, and a
 * method only ever sees the scores.
 *
 * A scorer's setter copies what the caller gave into one block (data),
 * which the context owns and frees when another scorer replaces it.
 */
#ifndef DECAM_SCORER_H
#define DECAM_SCORER_H

#include <stddef.h>
#include <stdint.h>

#include "decam.h"
#include "scorers.h"

typedef struct scorer_info scorer_info;

/* The context's scorer. */
typedef struct scorer {
    const scorer_info *info; /* its row; NULL before the first setter: output */
    size_t targets;          /* its targets; 0 for output (targets are outputs) */
    void *data;              /* its copy of the caller's inputs, one block */
    decam_score_fn fn;       /* DECAM_SCORER_CALLBACK's */
    void *user;
} scorer;

struct scorer_info {
    decam_scorer kind;
    const char *name;   /* "detection" */
    const char *setter; /* the public function that sets it, for messages */
    /* 0 when n_outputs floats per image suit the scorer; else writes why
     * into why[size] and returns nonzero. NULL: any count suits. */
    int (*check)(const scorer *s, size_t n_outputs, char *why, size_t size);
    /* Target t's score of one image (width x height pixels) from its
     * outputs. Returns 0, or the caller's nonzero code (callback only). A
     * non-finite output read makes the score non-finite. */
    int (*score)(const scorer *s, const float *outputs, size_t n_outputs, uint32_t target,
                 int width, int height, double *score);
};

#define SCORER_ROW_(id, name) extern const scorer_info decam__scorer_##name;
SCORERS_LIST(SCORER_ROW_)
#undef SCORER_ROW_

/* The scorer's row, the output scorer's when none was set. */
static inline const scorer_info *scorer_row(const scorer *s) {
    return s->info ? s->info : &decam__scorer_output;
}

/* Target t's score of one image: scorer_row(s)->score. */
static inline int decam__scorer_score(const scorer *s, const float *outputs, size_t n_outputs,
                                      uint32_t target, int width, int height, double *score) {
    return scorer_row(s)->score(s, outputs, n_outputs, target, width, height, score);
}

#endif /* DECAM_SCORER_H */
