/* docs_params.c DOCS/api.md - fails unless the manual's parameter table
 * says what the library's own table says: every parameter once, with its
 * key, name, default and range (decam_param_bounds()). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decam.h"

/* "1e9", "0.5", "2^53 - 1" (the forms the manual uses). */
static int parse_number(const char *s, double *out) {
    int e;
    char rest[8];
    while (*s == ' ')
        s++;
    if (sscanf(s, "2^%d - 1%7s", &e, rest) == 1) {
        *out = ldexp(1.0, e) - 1.0;
        return 1;
    }
    char *end;
    *out = strtod(s, &end);
    return end != s;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    int seen[DECAM_PARAM_COUNT] = {0}, bad = 0;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        int key;
        char name[64], def[256], range[256];
        /* | key | `name` | default | lower .. upper | meaning | */
        if (sscanf(line, "| %d | `%63[a-z0-9_]` | %255[^|]| %255[^|]|", &key, name, def, range) !=
            4)
            continue;
        decam_param k;
        double lo, hi, d, dlo, dhi, dd;
        if (decam_param_from_name(name, &k) != DECAM_OK) {
            printf("docs_params: %s is not a parameter of the library\n", name);
            bad++;
            continue;
        }
        char *dots = strstr(range, "..");
        if (decam_param_bounds(k, &lo, &hi, &d) != DECAM_OK || !dots || !parse_number(def, &dd) ||
            !parse_number(range, &dlo) || !parse_number(dots + 2, &dhi)) {
            printf("docs_params: cannot read the row of %s\n", name);
            bad++;
            continue;
        }
        for (int i = 0; i < DECAM_PARAM_COUNT; i++)
            if (decam_param_key(i) == k) seen[i]++;
        if ((int)k != key) printf("docs_params: %s has key %d, not %d\n", name, (int)k, key), bad++;
        if (dd != d) printf("docs_params: %s defaults to %g, not %g\n", name, d, dd), bad++;
        if (dlo != lo || dhi != hi)
            printf("docs_params: %s ranges over %g .. %g, not %g .. %g\n", name, lo, hi, dlo, dhi),
                bad++;
    }
    fclose(f);
    for (int i = 0; i < DECAM_PARAM_COUNT; i++)
        if (seen[i] != 1) {
            printf("docs_params: %s appears %d times in the table\n",
                   decam_param_name(decam_param_key(i)), seen[i]);
            bad++;
        }
    if (!bad) printf("docs_params: %d parameters, as the library has them\n", DECAM_PARAM_COUNT);
    return bad != 0;
}
