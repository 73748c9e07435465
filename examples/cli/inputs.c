/*
 * inputs.c - collects decam-explain's images (see inputs.h).
 */
#define _POSIX_C_SOURCE 200809L /* scandir, strdup, lstat */
#include "inputs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "out.h"

void inputs_free(input_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].name);
    }
    free(l->v);
    *l = (input_list){0};
}

static int oom(char *err, size_t errlen) {
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int push(input_list *l, const char *path, const char *name, char *err, size_t errlen) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        input *v = realloc(l->v, cap * sizeof *v);
        if (!v) return oom(err, errlen);
        l->v = v;
        l->cap = cap;
    }
    input in = {strdup(path), strdup(name)};
    if (!in.path || !in.name) {
        free(in.path);
        free(in.name);
        return oom(err, errlen);
    }
    l->v[l->n++] = in;
    return 0;
}

int is_folder(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int inputs_add_file(input_list *l, const char *path, char *err, size_t errlen) {
    return push(l, path, base_name(path), err, errlen);
}

static int has_extension(const char *file, const char *exts) {
    const char *dot = strrchr(file, '.');
    if (!dot || dot == file) return 0;
    size_t n = strlen(dot + 1);
    for (const char *p = exts; *p;) {
        size_t k = strcspn(p, ",");
        if (k == n && strncasecmp(p, dot + 1, n) == 0) return 1;
        p += k;
        if (*p == ',') p++;
    }
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* A folder not to search: the output folder, by identity, so that any
 * spelling of its path is recognised. */
typedef struct skip_folder {
    struct stat st;
    int exists, skipped;
} skip_folder;

static int same_file(const struct stat *a, const struct stat *b) {
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Adds the files below dir (relative name rel, "" at the root), sorted by
 * name so that the order is the same on every file system. Symbolic links
 * to folders are not followed (no loops); links to files are. */
static int walk(input_list *l, const char *dir, const char *rel, const char *exts,
                skip_folder *skip, char *err, size_t errlen) {
    struct dirent **entries;
    char shown_buf[256];
    int n = scandir(dir, &entries, NULL, by_name);
    if (n < 0) {
        snprintf(err, errlen, "cannot read folder %s: %s", shown(dir, shown_buf, sizeof shown_buf),
                 strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *e = entries[i]->d_name;
        if (rc == 0 && strcmp(e, ".") && strcmp(e, "..")) {
            size_t dl = strlen(dir), rl = strlen(rel), el = strlen(e);
            char *path = malloc(dl + el + 2), *name = malloc(rl + el + 2);
            if (!path || !name) rc = oom(err, errlen);
            if (rc == 0) {
                sprintf(path, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", e);
                sprintf(name, "%s%s%s", rel, rl ? "/" : "", e);
                struct stat st, lst;
                if (lstat(path, &lst) == 0 && S_ISDIR(lst.st_mode)) {
                    if (skip->exists && same_file(&lst, &skip->st))
                        skip->skipped = 1;
                    else
                        rc = walk(l, path, name, exts, skip, err, errlen);
                } else if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && has_extension(e, exts))
                    rc = push(l, path, name, err, errlen);
            }
            free(path);
            free(name);
        }
        free(entries[i]);
    }
    free(entries);
    return rc;
}

int inputs_add_folder(input_list *l, const char *root, const char *exts, const char *skip,
                      int *skipped, char *err, size_t errlen) {
    skip_folder s = {.exists = skip && stat(skip, &s.st) == 0 && S_ISDIR(s.st.st_mode)};
    struct stat st;
    char a[200];
    *skipped = 0;
    if (s.exists && stat(root, &st) == 0 && same_file(&st, &s.st)) {
        snprintf(err, errlen,
                 "the output folder is the input folder %s: each run would explain the last one's "
                 "panels",
                 shown(root, a, sizeof a));
        return -2;
    }
    int rc = walk(l, root, "", exts, &s, err, errlen);
    *skipped = s.skipped;
    return rc;
}

int inputs_add_list(input_list *l, const char *list_path, char *err, size_t errlen) {
    char shown_buf[256];
    FILE *f = fopen(list_path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open list %s: %s",
                 shown(list_path, shown_buf, sizeof shown_buf), strerror(errno));
        return -1;
    }
    /* Relative paths in the list are relative to the list's folder. */
    const char *slash = strrchr(list_path, '/');
    size_t dirlen = slash ? (size_t)(slash - list_path) + 1 : 0;
    char *line = NULL, *path = NULL;
    size_t cap = 0;
    ssize_t got;
    int rc = 0;
    while (rc == 0 && (got = getline(&line, &cap, f)) >= 0) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        if (got == 0 || line[0] == '#') continue;
        int relative = line[0] != '/';
        free(path);
        path = malloc(dirlen + (size_t)got + 1);
        if (!path) {
            rc = oom(err, errlen);
            break;
        }
        memcpy(path, list_path, relative ? dirlen : 0);
        strcpy(path + (relative ? dirlen : 0), line);
        int plain = relative && strncmp(line, "../", 3) && !strstr(line, "/../");
        rc = push(l, path, plain ? line : base_name(line), err, errlen);
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "cannot read list %s: %s",
                 shown(list_path, shown_buf, sizeof shown_buf), strerror(errno));
        rc = -1;
    }
    free(line);
    free(path);
    fclose(f);
    return rc;
}

static int by_identity(const void *a, const void *b) {
    return strcmp((*(input *const *)a)->name, (*(input *const *)b)->name);
}

int inputs_check_unique(const input_list *l, char *err, size_t errlen) {
    if (l->n < 2) return 0;
    input **sorted = malloc(l->n * sizeof *sorted);
    if (!sorted) return oom(err, errlen);
    for (size_t i = 0; i < l->n; i++)
        sorted[i] = &l->v[i];
    qsort(sorted, l->n, sizeof *sorted, by_identity);
    int rc = 0;
    char a[200], b[200];
    for (size_t i = 1; i < l->n && rc == 0; i++)
        if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) {
            snprintf(err, errlen, "%s and %s would write the same outputs (name %s)",
                     shown(sorted[i - 1]->path, a, sizeof a), shown(sorted[i]->path, b, sizeof b),
                     sorted[i]->name);
            rc = -1;
        }
    free(sorted);
    return rc;
}
