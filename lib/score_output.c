/* score_output.c - the default scorer: target k is the model's output k. */
#include "scorer.h"

static int output_score(const scorer *s, const float *outputs, size_t n_outputs, uint32_t target,
                        int width, int height, double *score) {
    *score = outputs[target];
    return 0;
}

const scorer_info decam__scorer_output = {
    .kind = DECAM_SCORER_OUTPUT,
    .name = "output",
    .setter = "decam_score_outputs",
    .score = output_score,
};
