/*
 * json.c - a strict JSON checker for decam-explain's records (see json.h).
 */
#include "json.h"

#include <string.h>

#define MAX_DEPTH 32

static const char *value(const char *p, const char *e, int depth);

static const char *ws(const char *p, const char *e) {
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_hex(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Each returns the end of what it read, or NULL when it is not JSON. */
static const char *string(const char *p, const char *e) {
    if (p >= e || *p != '"') return NULL;
    for (p++; p < e; p++) {
        const unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c < 0x20) return NULL; /* control characters, NUL among them */
        if (c != '\\') continue;
        if (++p >= e) return NULL;
        if (*p == 'u') {
            for (int i = 0; i < 4; i++)
                if (++p >= e || !is_hex(*p)) return NULL;
        } else if (!*p || !strchr("\"\\/bfnrt", *p))
            return NULL;
    }
    return NULL;
}

static const char *digits(const char *p, const char *e) {
    const char *start = p;
    while (p < e && is_digit(*p))
        p++;
    return p > start ? p : NULL;
}

static const char *number(const char *p, const char *e) {
    if (p < e && *p == '-') p++;
    if (p < e && *p == '0')
        p++;
    else if (!(p = digits(p, e)))
        return NULL;
    if (p < e && *p == '.' && !(p = digits(p + 1, e))) return NULL;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (!(p = digits(p, e))) return NULL;
    }
    return p;
}

static const char *literal(const char *p, const char *e, const char *word) {
    size_t n = strlen(word);
    return (size_t)(e - p) >= n && !memcmp(p, word, n) ? p + n : NULL;
}

/* An object or an array, from its opening bracket. */
static const char *container(const char *p, const char *e, int depth) {
    const int object = *p == '{';
    const char close = object ? '}' : ']';
    if (depth >= MAX_DEPTH) return NULL;
    p = ws(p + 1, e);
    if (p < e && *p == close) return p + 1;
    for (;;) {
        if (object) {
            if (!(p = string(p, e))) return NULL;
            p = ws(p, e);
            if (p >= e || *p != ':') return NULL;
            p = ws(p + 1, e);
        }
        if (!(p = value(p, e, depth + 1))) return NULL;
        p = ws(p, e);
        if (p < e && *p == ',') {
            p = ws(p + 1, e);
            continue;
        }
        return p < e && *p == close ? p + 1 : NULL;
    }
}

static const char *value(const char *p, const char *e, int depth) {
    if (p >= e) return NULL;
    switch (*p) {
    case '{':
    case '[': return container(p, e, depth);
    case '"': return string(p, e);
    case 't': return literal(p, e, "true");
    case 'f': return literal(p, e, "false");
    case 'n': return literal(p, e, "null");
    default: return number(p, e);
    }
}

int json_is_object(const char *s, size_t n) {
    const char *e = s + n, *p = ws(s, e);
    if (p >= e || *p != '{') return 0;
    p = value(p, e, 0);
    return p && ws(p, e) == e;
}

int json_member(json_span obj, const char *key, json_span *out) {
    const char *e = obj.s + obj.n, *p = ws(obj.s, e);
    const size_t klen = strlen(key);
    p = ws(p + 1, e); /* past '{' */
    while (p < e && *p == '"') {
        const char *k = p;
        p = string(p, e);
        const int match = (size_t)(p - k) == klen + 2 && !memcmp(k + 1, key, klen);
        p = ws(ws(p, e) + 1, e); /* past ':' */
        const char *v = p;
        p = value(p, e, 1);
        if (match) {
            *out = (json_span){v, (size_t)(p - v)};
            return 1;
        }
        p = ws(p, e);
        if (p < e && *p == ',') p = ws(p + 1, e);
    }
    return 0;
}
