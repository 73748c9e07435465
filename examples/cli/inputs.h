/*
 * inputs.h - the images decam-explain is given: files, folders searched
 * recursively by extension, and list files. Each image gets a name, its
 * identity: the path below the folder it was found in, the path as a list
 * file writes it (when relative and without ".."), else the file's own
 * name. Outputs are named after it and each image's seed is drawn from it,
 * so results depend neither on the order nor on how the work is shared.
 */
#ifndef DECAM_CLI_INPUTS_H
#define DECAM_CLI_INPUTS_H

#include <stddef.h>

typedef struct input {
    char *path; /* as opened */
    char *name; /* identity, relative, '/'-separated */
} input;

typedef struct input_list {
    input *v;
    size_t n, cap;
} input_list;

void inputs_free(input_list *l);

/* Each returns 0, or -1 with a one-line reason in err. */
int inputs_add_file(input_list *l, const char *path, char *err, size_t errlen);
/* exts: comma-separated extensions without the dot, compared ignoring case.
 * skip: NULL, or a folder (the output folder) not searched wherever it lies
 * below root; *skipped says whether it was met. Returns -2 when root is
 * that folder itself. */
int inputs_add_folder(input_list *l, const char *root, const char *exts, const char *skip,
                      int *skipped, char *err, size_t errlen);
int inputs_add_list(input_list *l, const char *list_path, char *err, size_t errlen);

/* -1 (with the name in err) when two inputs share a name: they would write
 * the same outputs. */
int inputs_check_unique(const input_list *l, char *err, size_t errlen);

/* 1 if path names a directory. */
int is_folder(const char *path);

#endif /* DECAM_CLI_INPUTS_H */
