/*
 * scorers.h - the list of scorers, one row each: the decam_scorer value
 * (DECAM_SCORER_<ID>), the name, and the scorer_info its file defines
 * (decam__scorer_<name>). scorer.c builds its table from it, scorer.h its
 * declarations. A pure list: it includes nothing.
 */
#ifndef DECAM_SCORERS_H
#define DECAM_SCORERS_H

#define SCORERS_LIST(X)                                                                            \
    X(OUTPUT, output)                                                                              \
    X(DETECTION, detection)                                                                        \
    X(SIMILARITY, similarity)                                                                      \
    X(REGION, region)                                                                              \
    X(CALLBACK, callback)

#endif /* DECAM_SCORERS_H */
