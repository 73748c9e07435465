/*
 * methods.h - the list of black-box methods, one row each: the decam_method
 * value (DECAM_METHOD_<ID>), the name (decam_value_name()) and the
 * method_info the method's file defines (method_<name>). explain.c builds
 * its table from it, method.h its declarations, params.c the names.
 * A pure list: it includes nothing.
 */
#ifndef DECAM_METHODS_H
#define DECAM_METHODS_H

#define METHODS_LIST(X)                                                                            \
    X(DECAM, decam)                                                                                \
    X(RISE, rise)                                                                                  \
    X(OCCLUSION, occlusion)

#endif /* DECAM_METHODS_H */
