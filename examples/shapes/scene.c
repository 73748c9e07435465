/*
 * scene.c - deterministic synthetic "shapes" scenes (see scene.h).
 *
 * Rendering, in order (each part has its own random stream derived from the
 * seed, so SCENE_NO_OBJECT reproduces everything except the object):
 *   1. background: blend of two colours c0..c1 driven by a linear gradient
 *      plus two octaves of smooth value noise;
 *   2. 2-4 distractors: soft-edged elongated ellipses (aspect >= 1.6) or
 *      blotches (a few overlapping soft discs), semi-transparent;
 *   3. the object, opaque, anti-aliased by 4x4 supersampling; its colour is
 *      kept at least OBJ_CONTRAST (RGB distance) away from the c0..c1
 *      segment when possible; mask = pixels whose coverage is > 8/16;
 *   4. per-pixel grain (uniform +-GRAIN per channel), then clamp to [0,1].
 * Geometry is expressed relative to the side, so a seed gives the same
 * composition at every size.
 */
#include "scene.h"

#include <math.h>
#include <string.h>

#define SCENE_PI 3.14159265358979323846

#define OBJ_MIN_DIAM 0.20 /* object circumscribed diameter / side */
#define OBJ_MAX_DIAM 0.45
#define OBJ_CONTRAST 0.40 /* wanted RGB distance object colour <-> bg */
#define STAR_INNER   0.45 /* star inner / outer radius */
#define CROSS_WIDTH  0.34 /* cross arm half-width / arm half-length */
#define GRAIN        0.03f
#define SS           4 /* supersampling per axis */

/* ---- random numbers: splitmix64 ---------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Independent stream `stream` of `seed`. */
static rng rng_make(uint64_t seed, uint64_t stream) {
    rng r;
    r.s = mix64(seed ^ mix64(stream * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL));
    return r;
}

static uint64_t rng_next(rng *r) {
    r->s += 0x9E3779B97F4A7C15ULL;
    return mix64(r->s);
}

/* uniform in [0,1) with 53 bits */
static double rng_unif(rng *r) { return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

static double rng_range(rng *r, double lo, double hi) { return lo + (hi - lo) * rng_unif(r); }

/* uniform integer in [0, n), n > 0 (multiply-shift, bias < 2^-32) */
static int rng_below(rng *r, int n) { return (int)(((rng_next(r) >> 32) * (uint64_t)n) >> 32); }

enum { STREAM_LABEL = 1, STREAM_BG, STREAM_DISTRACT, STREAM_OBJECT, STREAM_GRAIN };

/* ---- small helpers ------------------------------------------------------ */

static double clampd(double v, double lo, double hi) { return v < lo ? lo : (v > hi ? hi : v); }

static double smoothstep(double e0, double e1, double x) {
    double t = clampd((x - e0) / (e1 - e0), 0.0, 1.0);
    return t * t * (3.0 - 2.0 * t);
}

/* Distance from point p to segment a..b in RGB. */
static double dist_to_segment(const double p[3], const double a[3], const double b[3]) {
    double ab[3], ap[3], t = 0.0, l2 = 0.0, d2 = 0.0;
    for (int c = 0; c < 3; c++) {
        ab[c] = b[c] - a[c];
        ap[c] = p[c] - a[c];
        l2 += ab[c] * ab[c];
        t += ab[c] * ap[c];
    }
    t = l2 > 0.0 ? clampd(t / l2, 0.0, 1.0) : 0.0;
    for (int c = 0; c < 3; c++) {
        double d = ap[c] - t * ab[c];
        d2 += d * d;
    }
    return sqrt(d2);
}

/* Blend colour col with opacity alpha into pixel px. */
static void blend(float *px, const double col[3], double alpha) {
    for (int c = 0; c < 3; c++)
        px[c] = (float)((1.0 - alpha) * px[c] + alpha * col[c]);
}

/* ---- value noise ------------------------------------------------------- */

#define NOISE_MAX_G 10

typedef struct noise2 {
    int g; /* lattice has g x g cells */
    double v[NOISE_MAX_G + 1][NOISE_MAX_G + 1];
} noise2;

static void noise_init(noise2 *n, int g, rng *r) {
    n->g = g;
    for (int j = 0; j <= g; j++)
        for (int i = 0; i <= g; i++)
            n->v[j][i] = rng_unif(r);
}

/* u, v in [0,1] */
static double noise_at(const noise2 *n, double u, double v) {
    double x = clampd(u, 0.0, 1.0) * n->g, y = clampd(v, 0.0, 1.0) * n->g;
    int i = (int)x, j = (int)y;
    if (i >= n->g) i = n->g - 1;
    if (j >= n->g) j = n->g - 1;
    double fx = x - i, fy = y - j;
    fx = fx * fx * (3.0 - 2.0 * fx);
    fy = fy * fy * (3.0 - 2.0 * fy);
    double a = n->v[j][i] + fx * (n->v[j][i + 1] - n->v[j][i]);
    double b = n->v[j + 1][i] + fx * (n->v[j + 1][i + 1] - n->v[j + 1][i]);
    return a + fy * (b - a);
}

/* ---- shapes (local frame, circumradius r) ------------------------------- */

static int inside_shape(int label, double u, double v, double r) {
    switch (label) {
    case SCENE_CIRCLE: return u * u + v * v <= r * r;
    case SCENE_SQUARE: {
        double h = r * (1.0 / 1.4142135623730951);
        return fabs(u) <= h && fabs(v) <= h;
    }
    case SCENE_TRIANGLE: {
        /* equilateral, vertex up (-v); inradius r/2; outward edge normals
         * at 90, 210 and 330 degrees (y down) */
        double h = 0.5 * r;
        if (v > h) return 0;
        if (-0.8660254037844386 * u - 0.5 * v > h) return 0;
        if (0.8660254037844386 * u - 0.5 * v > h) return 0;
        return 1;
    }
    case SCENE_STAR: {
        /* 5 points, one pointing up: fold the angle into [0, 36] deg from a
         * point's axis and test against the edge outer-point -> inner-point */
        double rho2 = u * u + v * v;
        if (rho2 > r * r) return 0;
        double ri = STAR_INNER * r;
        if (rho2 <= ri * ri * 0.6545084971874737) /* inner pentagon inradius^2: (ri*cos36)^2 */
            return 1;
        double th = atan2(u, -v); /* 0 at the upward point */
        double sector = 2.0 * SCENE_PI / 5.0;
        th = fmod(th, sector);
        if (th < 0.0) th += sector;
        if (th > 0.5 * sector) th = sector - th;
        double rho = sqrt(rho2);
        double qx = rho * cos(th), qy = rho * sin(th);
        double ax = r, ay = 0.0;
        double bx = ri * 0.8090169943749475, by = ri * 0.5877852522924731;
        /* origin side of the line a->b */
        double cq = (bx - ax) * (qy - ay) - (by - ay) * (qx - ax);
        double co = (bx - ax) * (0.0 - ay) - (by - ay) * (0.0 - ax);
        return (cq >= 0.0) == (co >= 0.0);
    }
    case SCENE_CROSS: {
        double l = r / sqrt(1.0 + CROSS_WIDTH * CROSS_WIDTH);
        double w = CROSS_WIDTH * l;
        double au = fabs(u), av = fabs(v);
        return (au <= w && av <= l) || (av <= w && au <= l);
    }
    default: return 0;
    }
}

/* ---- public ------------------------------------------------------------- */

int scene_label(uint64_t seed) {
    rng r = rng_make(seed, STREAM_LABEL);
    return rng_below(&r, SCENE_NUM_CLASSES);
}

const char *scene_class_name(int label) {
    static const char *const names[SCENE_NUM_CLASSES] = {"circle", "square", "triangle", "star",
                                                         "cross"};
    if (label < 0 || label >= SCENE_NUM_CLASSES) return "unknown";
    return names[label];
}

static void random_colour(rng *r, double col[3], double lo, double hi) {
    for (int c = 0; c < 3; c++)
        col[c] = rng_range(r, lo, hi);
}

static void draw_background(uint64_t seed, int size, float *rgb, double c0[3], double c1[3]) {
    rng r = rng_make(seed, STREAM_BG);
    random_colour(&r, c0, 0.1, 0.9);
    /* c1: c0 moved by 0.15 .. 0.40 in a random direction, clamped */
    double dir[3], n2 = 0.0;
    for (int c = 0; c < 3; c++) {
        dir[c] = rng_range(&r, -1.0, 1.0);
        n2 += dir[c] * dir[c];
    }
    double mag = rng_range(&r, 0.15, 0.40) / sqrt(n2 > 1e-12 ? n2 : 1e-12);
    for (int c = 0; c < 3; c++)
        c1[c] = clampd(c0[c] + mag * dir[c], 0.0, 1.0);

    double phi = rng_range(&r, 0.0, 2.0 * SCENE_PI);
    double gx = cos(phi), gy = sin(phi);
    double wg = rng_range(&r, 0.2, 0.6); /* gradient vs noise weight */
    noise2 n1, n2n;
    noise_init(&n1, 3 + rng_below(&r, 3), &r);  /* 3..5 cells */
    noise_init(&n2n, 7 + rng_below(&r, 4), &r); /* 7..10 cells */

    double inv = 1.0 / size;
    for (int y = 0; y < size; y++) {
        double v = (y + 0.5) * inv;
        for (int x = 0; x < size; x++) {
            double u = (x + 0.5) * inv;
            double tg = 0.5 + (u - 0.5) * gx + (v - 0.5) * gy;
            double tn = (2.0 * noise_at(&n1, u, v) + noise_at(&n2n, u, v)) / 3.0;
            double t = clampd(wg * tg + (1.0 - wg) * tn, 0.0, 1.0);
            float *px = rgb + ((size_t)y * size + x) * 3;
            for (int c = 0; c < 3; c++)
                px[c] = (float)(c0[c] + t * (c1[c] - c0[c]));
        }
    }
}

static int draw_distractors(uint64_t seed, int size, float *rgb) {
    rng r = rng_make(seed, STREAM_DISTRACT);
    int count = 2 + rng_below(&r, 3);
    for (int k = 0; k < count; k++) {
        double col[3];
        random_colour(&r, col, 0.0, 1.0);
        double opacity = rng_range(&r, 0.5, 0.9);
        double cx = rng_range(&r, 0.0, 1.0) * size, cy = rng_range(&r, 0.0, 1.0) * size;
        int is_blotch = rng_unif(&r) < 0.35;
        /* ellipse: semi-axes a (long), b = a / aspect; blotch: up to 5 discs */
        double a = 0, b = 0, ca = 1, sa = 0, ext;
        int nd = 0;
        double dx[5], dy[5], dr[5];
        if (!is_blotch) {
            a = rng_range(&r, 0.06, 0.14) * size;
            b = a / rng_range(&r, 1.6, 2.6);
            double ang = rng_range(&r, 0.0, SCENE_PI);
            ca = cos(ang);
            sa = sin(ang);
            ext = a;
        } else {
            nd = 3 + rng_below(&r, 3);
            ext = 0.0;
            for (int i = 0; i < nd; i++) {
                dx[i] = rng_range(&r, -0.07, 0.07) * size;
                dy[i] = rng_range(&r, -0.07, 0.07) * size;
                dr[i] = rng_range(&r, 0.03, 0.06) * size;
                double e = sqrt(dx[i] * dx[i] + dy[i] * dy[i]) + dr[i];
                if (e > ext) ext = e;
            }
        }
        int x0 = (int)floor(cx - ext - 1), x1 = (int)ceil(cx + ext + 1);
        int y0 = (int)floor(cy - ext - 1), y1 = (int)ceil(cy + ext + 1);
        if (x0 < 0) x0 = 0;
        if (y0 < 0) y0 = 0;
        if (x1 > size) x1 = size;
        if (y1 > size) y1 = size;
        for (int y = y0; y < y1; y++) {
            for (int x = x0; x < x1; x++) {
                double px = x + 0.5 - cx, py = y + 0.5 - cy, alpha;
                if (!is_blotch) {
                    double u = px * ca + py * sa, v = -px * sa + py * ca;
                    double d = sqrt((u / a) * (u / a) + (v / b) * (v / b));
                    alpha = 1.0 - smoothstep(0.55, 1.0, d);
                } else {
                    alpha = 0.0;
                    for (int i = 0; i < nd; i++) {
                        double ex = px - dx[i], ey = py - dy[i];
                        double d = sqrt(ex * ex + ey * ey) / dr[i];
                        double al = 1.0 - smoothstep(0.3, 1.0, d);
                        if (al > alpha) alpha = al;
                    }
                }
                if (alpha > 0.0) blend(rgb + ((size_t)y * size + x) * 3, col, opacity * alpha);
            }
        }
    }
    return count;
}

static size_t draw_object(uint64_t seed, int size, int label, int render, const double c0[3],
                          const double c1[3], float *rgb, uint8_t *mask, scene_info *info) {
    rng r = rng_make(seed, STREAM_OBJECT);
    double rad = 0.5 * rng_range(&r, OBJ_MIN_DIAM, OBJ_MAX_DIAM) * size;
    /* keep the circumscribed circle at least 1 px inside the image */
    double cx = rng_range(&r, rad + 1.0, size - rad - 1.0);
    double cy = rng_range(&r, rad + 1.0, size - rad - 1.0);
    double ang = rng_range(&r, 0.0, 2.0 * SCENE_PI);
    double col[3], best[3] = {0.0, 0.0, 0.0}, best_d = -1.0;
    for (int tries = 0; tries < 64; tries++) {
        random_colour(&r, col, 0.0, 1.0);
        double d = dist_to_segment(col, c0, c1);
        if (d > best_d) {
            best_d = d;
            memcpy(best, col, sizeof best);
        }
        if (d >= OBJ_CONTRAST) break;
    }
    if (info) {
        info->cx = (float)cx;
        info->cy = (float)cy;
        info->radius = (float)rad;
        info->angle = (float)ang;
        for (int c = 0; c < 3; c++)
            info->color[c] = (float)best[c];
    }
    if (!render) return 0;

    double ca = cos(ang), sa = sin(ang);
    int x0 = (int)floor(cx - rad - 1), x1 = (int)ceil(cx + rad + 1);
    int y0 = (int)floor(cy - rad - 1), y1 = (int)ceil(cy + rad + 1);
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > size) x1 = size;
    if (y1 > size) y1 = size;
    size_t area = 0;
    for (int y = y0; y < y1; y++) {
        for (int x = x0; x < x1; x++) {
            int hits = 0;
            for (int sy = 0; sy < SS; sy++) {
                double py = y + (sy + 0.5) / SS - cy;
                for (int sx = 0; sx < SS; sx++) {
                    double px = x + (sx + 0.5) / SS - cx;
                    double u = px * ca + py * sa, v = -px * sa + py * ca;
                    hits += inside_shape(label, u, v, rad);
                }
            }
            if (hits == 0) continue;
            size_t idx = (size_t)y * size + x;
            blend(rgb + idx * 3, best, (double)hits / (SS * SS));
            if (hits * 2 > SS * SS) {
                if (mask) mask[idx] = 1;
                area++;
            }
        }
    }
    return area;
}

static void add_grain(uint64_t seed, int size, float *rgb) {
    rng r = rng_make(seed, STREAM_GRAIN);
    size_t n = (size_t)size * size * 3;
    for (size_t i = 0; i < n; i++) {
        /* 24 random bits -> [-GRAIN, GRAIN) */
        float g = ((float)(rng_next(&r) >> 40) * (1.0f / 8388608.0f) - 1.0f) * GRAIN;
        float v = rgb[i] + g;
        rgb[i] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
}

int scene_generate_ex(uint64_t seed, int size, unsigned flags, float *rgb, uint8_t *mask,
                      scene_info *info) {
    if (!rgb || size < SCENE_MIN_SIZE || size > SCENE_MAX_SIZE) return SCENE_EINVAL;
    int label = scene_label(seed);
    double c0[3], c1[3];
    if (mask) memset(mask, 0, (size_t)size * size);
    draw_background(seed, size, rgb, c0, c1);
    int nd = draw_distractors(seed, size, rgb);
    size_t area =
        draw_object(seed, size, label, !(flags & SCENE_NO_OBJECT), c0, c1, rgb, mask, info);
    add_grain(seed, size, rgb);
    if (info) {
        info->label = label;
        info->num_distractors = nd;
        info->mask_area = area;
    }
    return SCENE_OK;
}

int scene_generate(uint64_t seed, int size, float *rgb, uint8_t *mask, int *label) {
    if (!rgb || !mask || !label || size < SCENE_MIN_SIZE || size > SCENE_MAX_SIZE)
        return SCENE_EINVAL;
    *label = scene_label(seed);
    return scene_generate_ex(seed, size, 0u, rgb, mask, NULL);
}
