/*
 * json.h - reading back what decam-explain wrote: a strict JSON checker and
 * the members of an object, enough to tell a complete record from a partial
 * one and to compare the settings it was made with.
 */
#ifndef DECAM_CLI_JSON_H
#define DECAM_CLI_JSON_H

#include <stddef.h>

typedef struct json_span {
    const char *s;
    size_t n;
} json_span;

/* 1 when s[0..n) is exactly one JSON object (RFC 8259; whitespace around
 * it allowed, nesting up to 32 deep), else 0. NUL bytes are refused. */
int json_is_object(const char *s, size_t n);

/* The value of member `key` of `obj`, an object json_is_object() accepted:
 * 1 with its text in *value, or 0 when it has no such member. Keys are
 * compared as written, so a key spelled with escapes does not match. */
int json_member(json_span obj, const char *key, json_span *value);

#endif /* DECAM_CLI_JSON_H */
