/*
 * scene.h - deterministic synthetic "shapes" scenes with ground truth.
 *
 * Each scene is a size x size RGB image (HWC, float in [0,1]) containing
 * exactly one object of one of SCENE_NUM_CLASSES shapes, drawn with random
 * size (20-45 % of the side, as circumscribed diameter), position (fully
 * inside the image), rotation and colour, over a smooth textured background
 * with a few soft distractor blobs (elongated ellipses and blotches, none of
 * which has a class shape).  The label depends on the object's shape only.
 *
 * Everything is a pure function of the 64-bit seed and the size: there is no
 * global state, and the same seed always produces a bit-identical scene with
 * the same build.  The label is the first draw of the seed's random stream,
 * uniform over the classes, so classes are balanced over many seeds.
 *
 * This module does not print, exit or abort.  It is thread-safe.
 */
#ifndef SHAPES_SCENE_H
#define SHAPES_SCENE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum scene_class {
    SCENE_CIRCLE = 0,
    SCENE_SQUARE = 1,
    SCENE_TRIANGLE = 2,
    SCENE_STAR = 3,
    SCENE_CROSS = 4
};

#define SCENE_NUM_CLASSES 5

/* Default image side used for the shipped classifier. */
#define SCENE_DEFAULT_SIZE 64
/* Accepted sizes: SCENE_MIN_SIZE <= size <= SCENE_MAX_SIZE. */
#define SCENE_MIN_SIZE 32
#define SCENE_MAX_SIZE 4096

/* Return codes. */
#define SCENE_OK     0
#define SCENE_EINVAL (-1)

/* Flags for scene_generate_ex(). */
/* Render the identical background and distractors, but leave the object out
 * (the mask is then all zero; the label and info are still reported). */
#define SCENE_NO_OBJECT 1u

/* Optional description of a generated scene. */
typedef struct scene_info {
    int label;           /* shape class, 0 .. SCENE_NUM_CLASSES-1        */
    float cx, cy;        /* object centre in pixels (x right, y down)    */
    float radius;        /* circumscribed radius of the object, pixels   */
    float angle;         /* rotation, radians                            */
    float color[3];      /* object RGB                                   */
    int num_distractors; /* number of distractor blobs drawn             */
    size_t mask_area;    /* number of mask pixels (0 with SCENE_NO_OBJECT) */
} scene_info;

/*
 * Generate the scene for `seed` at `size` x `size` pixels.
 *   rgb   : size*size*3 floats, HWC (row-major, RGB interleaved), in [0,1]
 *   mask  : size*size bytes, 1 where the object covers > 50 % of the pixel
 *   label : the object's class
 * All pointers are required.  Returns SCENE_OK, or SCENE_EINVAL for a NULL
 * pointer or a size outside [SCENE_MIN_SIZE, SCENE_MAX_SIZE] (then nothing is
 * written).
 */
int scene_generate(uint64_t seed, int size, float *rgb, uint8_t *mask, int *label);

/*
 * As scene_generate(), with flags (SCENE_NO_OBJECT) and an optional info
 * record.  rgb is required; mask and info may be NULL.
 */
int scene_generate_ex(uint64_t seed, int size, unsigned flags, float *rgb, uint8_t *mask,
                      scene_info *info);

/* The label scene_generate() will report for `seed` (cheap: no rendering). */
int scene_label(uint64_t seed);

/* "circle", "square", "triangle", "star", "cross"; "unknown" otherwise. */
const char *scene_class_name(int label);

#ifdef __cplusplus
}
#endif

#endif /* SHAPES_SCENE_H */
