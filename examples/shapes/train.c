/*
 * train.c - trains the "shapes" CNN from scratch on scenes generated on the
 * fly by scene_generate(), and writes the weights (cnn.h format) plus a
 * reference file of test scenes and this program's logits for them.
 *
 * This is deliberately an independent implementation of the network (it does
 * not use cnn.c): planar CHW activations, im2col + tiled matrix products for
 * the forward pass, explicit backward pass, softmax cross-entropy, Adam with
 * warm-up and cosine decay.
 *
 * Seeds:  TEST      0 .. test_count-1       (only for the final measurement
 *                                            and the reference file)
 *         VALIDATE  500000 .. 500999        (progress report per epoch)
 *         TRAIN     train_base .. train_base+train_size-1 (default 1000000)
 *
 * Determinism: every minibatch is split into NCHUNK fixed chunks with their
 * own gradient accumulators, summed in chunk order; worker threads only
 * decide who computes which chunk, so the result is bit-identical for any
 * --threads value and any scheduling (same binary and machine).
 *
 * Reference file format (little-endian):
 *   "SHPREF01", u32 version (1), u32 count, u32 size S, u32 channels (3),
 *   u32 classes K, then per entry: u64 seed, u32 label,
 *   f32 image[S*S*3] (HWC, exactly scene_generate()'s output),
 *   f32 logits[K] (computed by this program's forward pass).
 */
#define _POSIX_C_SOURCE 200809L

#include "scene.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXL        8
#define MAXC        256
#define NCHUNK      4
#define TP          256 /* column tile of the matrix products */
#define MAX_THREADS NCHUNK
#define VAL_BASE    500000u
#define VAL_COUNT   1000u
#define REF_COUNT   8
#define TRAIN_PI    3.14159265358979323846

/* ---- model ------------------------------------------------------------- */

typedef struct tlayer {
    int cin, cout, pool;
    int s, so;   /* input side, output side (after pooling) */
    int K, P;    /* cin*9, s*s */
    size_t w, b; /* offsets into the parameter vector: W[cout][K], b[cout] */
} tlayer;

#define IN_SHIFT 0.5f /* input normalisation: (x - IN_SHIFT) * IN_SCALE */
#define IN_SCALE 2.0f

typedef struct model {
    int S, classes, nl, clast;
    tlayer L[MAXL];
    size_t dw, db, nparams; /* dense W[classes][clast], b[classes] */
} model;

/* Per-thread activations and scratch. */
typedef struct tws {
    float *x[MAXL + 1]; /* x[l]: input of layer l, CHW; x[nl]: last output */
    float *col[MAXL];   /* im2col of x[l], [K][P] */
    float *a[MAXL];     /* post-ReLU conv output, [cout][P] */
    uint8_t *arg[MAXL]; /* argmax (0..3) of each pooled output */
    float *g0, *g1;     /* gradient ping-pong */
    float *dcol;
    float *hwc;
    uint8_t *mask;
    float feat[MAXC], logits[MAXC];
} tws;

/* ---- rng (training side: init, shuffling, augmentation) ---------------- */

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

typedef struct trng {
    uint64_t s;
} trng;

static uint64_t trng_next(trng *r) {
    r->s += 0x9E3779B97F4A7C15ULL;
    return mix64(r->s);
}

static double trng_unif(trng *r) {
    return (double)(trng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double trng_normal(trng *r) {
    double u1 = trng_unif(r), u2 = trng_unif(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * TRAIN_PI * u2);
}

/* ---- small helpers ------------------------------------------------------ */

static double now_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *xcalloc(size_t n, size_t sz) {
    void *p = calloc(n ? n : 1, sz);
    if (!p) {
        fprintf(stderr, "shapes-train: out of memory\n");
        exit(1);
    }
    return p;
}

/* dot product with 8 independent lanes (vectorisable without reassociation) */
static float dot(const float *a, const float *b, int n) {
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += a[i + j] * b[i + j];
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void axpy(float *y, float a, const float *x, int n) {
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

/* ---- model setup -------------------------------------------------------- */

/* arch: comma-separated channel counts, 'p' suffix = 2x2 max pool after */
static int model_init(model *m, int S, int classes, const char *arch) {
    memset(m, 0, sizeof *m);
    m->S = S;
    m->classes = classes;
    int cin = 3, s = S;
    size_t off = 0;
    const char *p = arch;
    while (*p) {
        char *end;
        long c = strtol(p, &end, 10);
        if (end == p || c < 8 || c > MAXC || c % 8 != 0 || m->nl >= MAXL) return -1;
        tlayer *L = &m->L[m->nl++];
        L->cin = cin;
        L->cout = (int)c;
        L->pool = (*end == 'p');
        if (L->pool) end++;
        L->s = s;
        if (L->pool) {
            if (s % 2) return -1;
            s /= 2;
        }
        L->so = s;
        L->K = cin * 9;
        L->P = L->s * L->s;
        L->w = off;
        off += (size_t)L->cout * L->K;
        L->b = off;
        off += (size_t)L->cout;
        cin = (int)c;
        if (*end == ',')
            end++;
        else if (*end)
            return -1;
        p = end;
    }
    if (m->nl == 0) return -1;
    m->clast = cin;
    m->dw = off;
    off += (size_t)classes * cin;
    m->db = off;
    off += (size_t)classes;
    m->nparams = off;
    return 0;
}

static void params_init(const model *m, float *prm, uint64_t seed) {
    trng r = {mix64(seed ^ 0x5EEDC0DEULL)};
    memset(prm, 0, m->nparams * sizeof(float));
    for (int l = 0; l < m->nl; l++) {
        const tlayer *L = &m->L[l];
        double sd = sqrt(2.0 / L->K); /* He */
        for (size_t i = 0; i < (size_t)L->cout * L->K; i++)
            prm[L->w + i] = (float)(sd * trng_normal(&r));
    }
    double sd = sqrt(1.0 / m->clast);
    for (size_t i = 0; i < (size_t)m->classes * m->clast; i++)
        prm[m->dw + i] = (float)(sd * trng_normal(&r));
}

static void tws_init(tws *w, const model *m) {
    size_t gmax = 0, cmax = 0;
    for (int l = 0; l < m->nl; l++) {
        const tlayer *L = &m->L[l];
        w->x[l] = xcalloc((size_t)L->cin * L->P, sizeof(float));
        w->col[l] = xcalloc((size_t)L->K * L->P, sizeof(float));
        w->a[l] = xcalloc((size_t)L->cout * L->P, sizeof(float));
        w->arg[l] = xcalloc((size_t)L->cout * L->so * L->so, 1);
        size_t g = (size_t)(L->cin > L->cout ? L->cin : L->cout) * L->P;
        if (g > gmax) gmax = g;
        if ((size_t)L->K * L->P > cmax) cmax = (size_t)L->K * L->P;
    }
    const tlayer *last = &m->L[m->nl - 1];
    w->x[m->nl] = xcalloc((size_t)last->cout * last->so * last->so, sizeof(float));
    w->g0 = xcalloc(gmax, sizeof(float));
    w->g1 = xcalloc(gmax, sizeof(float));
    w->dcol = xcalloc(cmax, sizeof(float));
    w->hwc = xcalloc((size_t)m->S * m->S * 3, sizeof(float));
    w->mask = xcalloc((size_t)m->S * m->S, 1);
}

static void tws_free(tws *w, const model *m) {
    for (int l = 0; l < m->nl; l++) {
        free(w->x[l]);
        free(w->col[l]);
        free(w->a[l]);
        free(w->arg[l]);
    }
    free(w->x[m->nl]);
    free(w->g0);
    free(w->g1);
    free(w->dcol);
    free(w->hwc);
    free(w->mask);
}

/* ---- input -------------------------------------------------------------- */

/* HWC scene -> normalised CHW x, with dihedral transform op (bit0 flip x, bit1 flip y,
 * bit2 transpose); op 0 is the identity. */
static void load_input(const float *hwc, int S, int op, float *x) {
    for (int y = 0; y < S; y++)
        for (int xx = 0; xx < S; xx++) {
            int sy = y, sx = xx;
            if (op & 4) {
                int t = sy;
                sy = sx;
                sx = t;
            }
            if (op & 1) sx = S - 1 - sx;
            if (op & 2) sy = S - 1 - sy;
            const float *src = hwc + ((size_t)sy * S + sx) * 3;
            for (int c = 0; c < 3; c++)
                x[(size_t)c * S * S + (size_t)y * S + xx] = (src[c] - IN_SHIFT) * IN_SCALE;
        }
}

/* ---- forward ------------------------------------------------------------ */

static void im2col(const float *x, int cin, int s, float *col) {
    const int P = s * s;
    for (int ci = 0; ci < cin; ci++)
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
                float *row = col + (size_t)(ci * 9 + ky * 3 + kx) * P;
                const float *plane = x + (size_t)ci * P;
                for (int y = 0; y < s; y++) {
                    float *r = row + (size_t)y * s;
                    int yy = y + ky - 1;
                    if (yy < 0 || yy >= s) {
                        memset(r, 0, (size_t)s * sizeof(float));
                        continue;
                    }
                    const float *src = plane + (size_t)yy * s;
                    /* r[x] = src[x + kx - 1] */
                    if (kx == 0) {
                        r[0] = 0.0f;
                        memcpy(r + 1, src, (size_t)(s - 1) * sizeof(float));
                    } else if (kx == 1) {
                        memcpy(r, src, (size_t)s * sizeof(float));
                    } else {
                        memcpy(r, src + 1, (size_t)(s - 1) * sizeof(float));
                        r[s - 1] = 0.0f;
                    }
                }
            }
}

static void col2im_add(const float *col, int cin, int s, float *dx) {
    const int P = s * s;
    memset(dx, 0, (size_t)cin * P * sizeof(float));
    for (int ci = 0; ci < cin; ci++)
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
                const float *row = col + (size_t)(ci * 9 + ky * 3 + kx) * P;
                float *plane = dx + (size_t)ci * P;
                for (int y = 0; y < s; y++) {
                    int yy = y + ky - 1;
                    if (yy < 0 || yy >= s) continue;
                    const float *r = row + (size_t)y * s;
                    float *dst = plane + (size_t)yy * s;
                    int x0 = kx == 0 ? 1 : 0, x1 = kx == 2 ? s - 1 : s;
                    for (int xx = x0; xx < x1; xx++)
                        dst[xx + kx - 1] += r[xx];
                }
            }
}

static void forward(const model *m, const float *prm, tws *w) {
    for (int l = 0; l < m->nl; l++) {
        const tlayer *L = &m->L[l];
        const float *W = prm + L->w, *B = prm + L->b;
        float *col = w->col[l], *a = w->a[l];
        im2col(w->x[l], L->cin, L->s, col);
        for (int p0 = 0; p0 < L->P; p0 += TP) {
            int n = L->P - p0 < TP ? L->P - p0 : TP;
            for (int co = 0; co < L->cout; co++) {
                float *z = a + (size_t)co * L->P + p0;
                const float *wr = W + (size_t)co * L->K;
                for (int i = 0; i < n; i++)
                    z[i] = B[co];
                for (int k = 0; k < L->K; k++)
                    axpy(z, wr[k], col + (size_t)k * L->P + p0, n);
                for (int i = 0; i < n; i++)
                    z[i] = z[i] > 0.0f ? z[i] : 0.0f;
            }
        }
        float *out = w->x[l + 1];
        if (L->pool) {
            const int s = L->s, so = L->so;
            for (int c = 0; c < L->cout; c++)
                for (int py = 0; py < so; py++)
                    for (int px = 0; px < so; px++) {
                        const float *q = a + (size_t)c * L->P + (size_t)(2 * py) * s + 2 * px;
                        float v[4] = {q[0], q[1], q[s], q[s + 1]};
                        int best = 0;
                        for (int j = 1; j < 4; j++)
                            if (v[j] > v[best]) best = j;
                        size_t o = (size_t)c * so * so + (size_t)py * so + px;
                        out[o] = v[best];
                        w->arg[l][o] = (uint8_t)best;
                    }
        } else {
            memcpy(out, a, (size_t)L->cout * L->P * sizeof(float));
        }
    }
    const tlayer *last = &m->L[m->nl - 1];
    const int n = last->so * last->so;
    for (int c = 0; c < m->clast; c++) {
        const float *p = w->x[m->nl] + (size_t)c * n;
        double s = 0.0;
        for (int i = 0; i < n; i++)
            s += p[i];
        w->feat[c] = (float)(s / n);
    }
    for (int j = 0; j < m->classes; j++) {
        const float *wr = prm + m->dw + (size_t)j * m->clast;
        double s = prm[m->db + j];
        for (int c = 0; c < m->clast; c++)
            s += (double)wr[c] * w->feat[c];
        w->logits[j] = (float)s;
    }
}

/* ---- backward ------------------------------------------------------------ */

/* Softmax cross-entropy: returns the loss, writes dlogits (unscaled). */
static float softmax_xent(const float *logits, int k, int label, float *dl) {
    double mx = logits[0], sum = 0.0;
    for (int j = 1; j < k; j++)
        if (logits[j] > mx) mx = logits[j];
    for (int j = 0; j < k; j++)
        sum += exp(logits[j] - mx);
    for (int j = 0; j < k; j++)
        dl[j] = (float)(exp(logits[j] - mx) / sum) - (j == label ? 1.0f : 0.0f);
    return (float)(log(sum) + mx - logits[label]);
}

/* Accumulates gradients into g (same layout as the parameters). */
static void backward(const model *m, const float *prm, tws *w, const float *dl, float *g) {
    /* dense + global average pooling */
    float df[MAXC];
    for (int c = 0; c < m->clast; c++)
        df[c] = 0.0f;
    for (int j = 0; j < m->classes; j++) {
        const float *wr = prm + m->dw + (size_t)j * m->clast;
        float *gw = g + m->dw + (size_t)j * m->clast;
        for (int c = 0; c < m->clast; c++) {
            gw[c] += dl[j] * w->feat[c];
            df[c] += dl[j] * wr[c];
        }
        g[m->db + j] += dl[j];
    }
    const tlayer *last = &m->L[m->nl - 1];
    const int nlast = last->so * last->so;
    float *dout = w->g0, *din = w->g1;
    for (int c = 0; c < m->clast; c++)
        for (int i = 0; i < nlast; i++)
            dout[(size_t)c * nlast + i] = df[c] / (float)nlast;

    for (int l = m->nl - 1; l >= 0; l--) {
        const tlayer *L = &m->L[l];
        const float *W = prm + L->w, *a = w->a[l], *col = w->col[l];
        float *gW = g + L->w, *gB = g + L->b;
        /* da (in din's buffer), masked by the ReLU */
        float *da = din;
        if (L->pool) {
            const int s = L->s, so = L->so;
            memset(da, 0, (size_t)L->cout * L->P * sizeof(float));
            for (int c = 0; c < L->cout; c++)
                for (int py = 0; py < so; py++)
                    for (int px = 0; px < so; px++) {
                        size_t o = (size_t)c * so * so + (size_t)py * so + px;
                        int b = w->arg[l][o];
                        da[(size_t)c * L->P + (size_t)(2 * py + b / 2) * s + 2 * px + b % 2] =
                            dout[o];
                    }
        } else {
            memcpy(da, dout, (size_t)L->cout * L->P * sizeof(float));
        }
        for (size_t i = 0; i < (size_t)L->cout * L->P; i++)
            if (!(a[i] > 0.0f)) da[i] = 0.0f;
        /* weight and bias gradients */
        for (int p0 = 0; p0 < L->P; p0 += TP) {
            int n = L->P - p0 < TP ? L->P - p0 : TP;
            for (int co = 0; co < L->cout; co++) {
                const float *d = da + (size_t)co * L->P + p0;
                float *gw = gW + (size_t)co * L->K;
                for (int k = 0; k < L->K; k++)
                    gw[k] += dot(d, col + (size_t)k * L->P + p0, n);
            }
        }
        for (int co = 0; co < L->cout; co++) {
            const float *d = da + (size_t)co * L->P;
            float s = 0.0f;
            for (int i = 0; i < L->P; i++)
                s += d[i];
            gB[co] += s;
        }
        if (l == 0) break;
        /* input gradient: dcol = W^T da, then col2im */
        for (int p0 = 0; p0 < L->P; p0 += TP) {
            int n = L->P - p0 < TP ? L->P - p0 : TP;
            for (int k = 0; k < L->K; k++)
                memset(w->dcol + (size_t)k * L->P + p0, 0, (size_t)n * sizeof(float));
            for (int co = 0; co < L->cout; co++) {
                const float *d = da + (size_t)co * L->P + p0;
                const float *wr = W + (size_t)co * L->K;
                for (int k = 0; k < L->K; k++)
                    axpy(w->dcol + (size_t)k * L->P + p0, wr[k], d, n);
            }
        }
        col2im_add(w->dcol, L->cin, L->s, dout); /* dout now = grad of x[l] */
    }
}

/* ---- weights / reference output ------------------------------------------ */

static void put_u32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void put_f32(unsigned char *p, float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    put_u32(p, u);
}

static int save_weights(const model *m, const float *prm, const char *path) {
    size_t n = 36 + 12 * (size_t)m->nl + 4 * m->nparams + 4;
    unsigned char *buf = xcalloc(n, 1), *p = buf;
    memcpy(p, "SHPCNN01", 8);
    put_u32(p + 8, 1);
    put_u32(p + 12, (uint32_t)m->S);
    put_u32(p + 16, 3);
    put_u32(p + 20, (uint32_t)m->classes);
    put_u32(p + 24, (uint32_t)m->nl);
    put_f32(p + 28, IN_SHIFT);
    put_f32(p + 32, IN_SCALE);
    p += 36;
    for (int l = 0; l < m->nl; l++, p += 12) {
        put_u32(p, (uint32_t)m->L[l].cin);
        put_u32(p + 4, (uint32_t)m->L[l].cout);
        put_u32(p + 8, (uint32_t)m->L[l].pool);
    }
    for (int l = 0; l < m->nl; l++) {
        const tlayer *L = &m->L[l];
        /* ours: [co][ci*9 + ky*3 + kx]; file: [co][ky][kx][ci] */
        for (int co = 0; co < L->cout; co++)
            for (int k = 0; k < 9; k++)
                for (int ci = 0; ci < L->cin; ci++, p += 4)
                    put_f32(p, prm[L->w + (size_t)co * L->K + (size_t)ci * 9 + k]);
        for (int co = 0; co < L->cout; co++, p += 4)
            put_f32(p, prm[L->b + co]);
    }
    for (size_t i = 0; i < (size_t)m->classes * m->clast; i++, p += 4)
        put_f32(p, prm[m->dw + i]);
    for (int j = 0; j < m->classes; j++, p += 4)
        put_f32(p, prm[m->db + j]);
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n - 4; i++) {
        h ^= buf[i];
        h *= 16777619u;
    }
    put_u32(p, h);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(buf, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    free(buf);
    if (!ok) fprintf(stderr, "shapes-train: cannot write '%s': %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

static int save_reference(const model *m, const float *prm, tws *w, const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "shapes-train: cannot write '%s': %s\n", path, strerror(errno));
        return -1;
    }
    unsigned char hdr[28];
    memcpy(hdr, "SHPREF01", 8);
    put_u32(hdr + 8, 1);
    put_u32(hdr + 12, REF_COUNT);
    put_u32(hdr + 16, (uint32_t)m->S);
    put_u32(hdr + 20, 3);
    put_u32(hdr + 24, (uint32_t)m->classes);
    int ok = fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr;
    size_t nimg = (size_t)m->S * m->S * 3;
    unsigned char *buf = xcalloc(12 + 4 * (nimg + (size_t)m->classes), 1);
    for (uint64_t seed = 0; seed < REF_COUNT && ok; seed++) {
        int label;
        scene_generate(seed, m->S, w->hwc, w->mask, &label);
        load_input(w->hwc, m->S, 0, w->x[0]);
        forward(m, prm, w);
        unsigned char *p = buf;
        put_u32(p, (uint32_t)seed);
        put_u32(p + 4, (uint32_t)(seed >> 32));
        put_u32(p + 8, (uint32_t)label);
        p += 12;
        for (size_t i = 0; i < nimg; i++, p += 4)
            put_f32(p, w->hwc[i]);
        for (int j = 0; j < m->classes; j++, p += 4)
            put_f32(p, w->logits[j]);
        ok = fwrite(buf, 1, (size_t)(p - buf), f) == (size_t)(p - buf);
    }
    free(buf);
    if (fclose(f) != 0) ok = 0;
    if (!ok) fprintf(stderr, "shapes-train: error writing '%s'\n", path);
    return ok ? 0 : -1;
}

/* ---- parallel jobs -------------------------------------------------------- */

typedef struct shared {
    const model *m;
    float *prm;
    /* training step */
    const uint64_t *batch_seeds;
    const uint8_t *batch_ops;
    int batch;
    float *cgrad[NCHUNK];
    double closs[NCHUNK];
    int ccorrect[NCHUNK];
    /* evaluation */
    uint64_t eval_base;
    int eval_n;
    int nthreads;
} shared;

typedef struct worker {
    shared *sh;
    tws ws;
    int id;
    /* evaluation results */
    int correct;
    int confusion[SCENE_NUM_CLASSES][SCENE_NUM_CLASSES];
} worker;

static void *train_job(void *arg) {
    worker *wk = arg;
    shared *sh = wk->sh;
    const model *m = sh->m;
    float dl[MAXC];
    for (int c = wk->id; c < NCHUNK; c += sh->nthreads) {
        float *g = sh->cgrad[c];
        memset(g, 0, m->nparams * sizeof(float));
        double loss = 0.0;
        int correct = 0;
        int i0 = c * sh->batch / NCHUNK, i1 = (c + 1) * sh->batch / NCHUNK;
        for (int i = i0; i < i1; i++) {
            int label;
            scene_generate(sh->batch_seeds[i], m->S, wk->ws.hwc, wk->ws.mask, &label);
            load_input(wk->ws.hwc, m->S, sh->batch_ops[i], wk->ws.x[0]);
            forward(m, sh->prm, &wk->ws);
            int best = 0;
            for (int j = 1; j < m->classes; j++)
                if (wk->ws.logits[j] > wk->ws.logits[best]) best = j;
            correct += best == label;
            loss += softmax_xent(wk->ws.logits, m->classes, label, dl);
            backward(m, sh->prm, &wk->ws, dl, g);
        }
        sh->closs[c] = loss;
        sh->ccorrect[c] = correct;
    }
    return NULL;
}

static void *eval_job(void *arg) {
    worker *wk = arg;
    shared *sh = wk->sh;
    const model *m = sh->m;
    int i0 = (int)((long long)wk->id * sh->eval_n / sh->nthreads);
    int i1 = (int)((long long)(wk->id + 1) * sh->eval_n / sh->nthreads);
    wk->correct = 0;
    memset(wk->confusion, 0, sizeof wk->confusion);
    for (int i = i0; i < i1; i++) {
        int label;
        scene_generate(sh->eval_base + (uint64_t)i, m->S, wk->ws.hwc, wk->ws.mask, &label);
        load_input(wk->ws.hwc, m->S, 0, wk->ws.x[0]);
        forward(m, sh->prm, &wk->ws);
        int best = 0;
        for (int j = 1; j < m->classes; j++)
            if (wk->ws.logits[j] > wk->ws.logits[best]) best = j;
        wk->correct += best == label;
        if (label < SCENE_NUM_CLASSES && best < SCENE_NUM_CLASSES) wk->confusion[label][best]++;
    }
    return NULL;
}

static void run_jobs(worker *wk, int nthreads, void *(*fn)(void *)) {
    pthread_t th[MAX_THREADS];
    for (int t = 1; t < nthreads; t++)
        if (pthread_create(&th[t], NULL, fn, &wk[t]) != 0) {
            fprintf(stderr, "shapes-train: pthread_create failed\n");
            exit(1);
        }
    fn(&wk[0]);
    for (int t = 1; t < nthreads; t++)
        pthread_join(th[t], NULL);
}

static int evaluate(worker *wk, shared *sh, uint64_t base, int n,
                    int confusion[SCENE_NUM_CLASSES][SCENE_NUM_CLASSES]) {
    sh->eval_base = base;
    sh->eval_n = n;
    run_jobs(wk, sh->nthreads, eval_job);
    int correct = 0;
    if (confusion) memset(confusion, 0, sizeof(int) * SCENE_NUM_CLASSES * SCENE_NUM_CLASSES);
    for (int t = 0; t < sh->nthreads; t++) {
        correct += wk[t].correct;
        if (confusion)
            for (int a = 0; a < SCENE_NUM_CLASSES; a++)
                for (int b = 0; b < SCENE_NUM_CLASSES; b++)
                    confusion[a][b] += wk[t].confusion[a][b];
    }
    return correct;
}

/* ---- main ------------------------------------------------------------------ */

static void usage(void) {
    printf("usage: shapes-train [options]\n"
           "  --out PATH         weights file to write (default shapes.weights)\n"
           "  --ref PATH         reference file to write (default reference.bin)\n"
           "  --seed S           training seed: init, shuffling, augmentation (default 1)\n"
           "  --epochs E         passes over the training set (default 8)\n"
           "  --train-size N     number of training scenes (default 40000)\n"
           "  --train-base B     first training scene seed (default 1000000)\n"
           "  --batch B          minibatch size (default 64)\n"
           "  --lr LR            peak Adam learning rate (default 0.002)\n"
           "  --threads T        worker threads, 1..%d (default 2; result does not depend on it)\n"
           "  --size S           scene side (default %d)\n"
           "  --arch A           conv channels, 'p' = 2x2 max pool\n"
           "                     (default 8p,16p,32p,64p,64,64)\n"
           "  --test-count N     test scenes, seeds 0..N-1 (default 2000)\n"
           "  --no-augment       disable random flips/transposes\n",
           MAX_THREADS, SCENE_DEFAULT_SIZE);
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv) {
    const char *out = "shapes.weights", *ref = "reference.bin", *arch = "8p,16p,32p,64p,64,64";
    long seed = 1, epochs = 8, train_size = 40000, train_base = 1000000, batch = 64;
    long nthreads = 2, size = SCENE_DEFAULT_SIZE, test_count = 2000;
    double lr = 0.002;
    int augment = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            return 0;
        } else if (!strcmp(a, "--no-augment")) {
            augment = 0;
            continue;
        } else if (!v) {
            bad = 1;
        } else if (!strcmp(a, "--out")) {
            out = v;
        } else if (!strcmp(a, "--ref")) {
            ref = v;
        } else if (!strcmp(a, "--arch")) {
            arch = v;
        } else if (!strcmp(a, "--seed")) {
            bad = parse_long(v, 0, 0x7fffffffL, &seed);
        } else if (!strcmp(a, "--epochs")) {
            bad = parse_long(v, 1, 100000, &epochs);
        } else if (!strcmp(a, "--train-size")) {
            bad = parse_long(v, 1, 100000000, &train_size);
        } else if (!strcmp(a, "--train-base")) {
            bad = parse_long(v, 0, 0x7fffffffL, &train_base);
        } else if (!strcmp(a, "--batch")) {
            bad = parse_long(v, NCHUNK, 4096, &batch);
        } else if (!strcmp(a, "--threads")) {
            bad = parse_long(v, 1, MAX_THREADS, &nthreads);
        } else if (!strcmp(a, "--size")) {
            bad = parse_long(v, SCENE_MIN_SIZE, 1024, &size);
        } else if (!strcmp(a, "--test-count")) {
            bad = parse_long(v, 1, 1000000, &test_count);
        } else if (!strcmp(a, "--lr")) {
            char *end;
            lr = strtod(v, &end);
            bad = end == v || *end || !(lr > 0.0 && lr < 1.0);
        } else {
            fprintf(stderr, "shapes-train: unknown option '%s'\n", a);
            usage();
            return 2;
        }
        if (bad) {
            fprintf(stderr, "shapes-train: bad or missing value for '%s'\n", a);
            return 2;
        }
        i++;
    }
    /* keep the three seed ranges disjoint */
    long long tb = train_base, te = train_base + train_size;
    if (tb < test_count || (tb < (long long)VAL_BASE + VAL_COUNT && te > (long long)VAL_BASE) ||
        (long long)VAL_BASE < test_count) {
        fprintf(stderr,
                "shapes-train: training seeds [%lld, %lld) overlap the test seeds "
                "[0, %ld) or validation seeds [%u, %u)\n",
                tb, te, test_count, VAL_BASE, VAL_BASE + VAL_COUNT);
        return 2;
    }
    if (train_size < batch) {
        fprintf(stderr, "shapes-train: --train-size must be >= --batch\n");
        return 2;
    }

    model m;
    if (model_init(&m, (int)size, SCENE_NUM_CLASSES, arch) != 0) {
        fprintf(stderr, "shapes-train: bad --arch '%s' for size %ld\n", arch, size);
        return 2;
    }
    size_t macs = (size_t)m.classes * m.clast;
    for (int l = 0; l < m.nl; l++)
        macs += (size_t)m.L[l].cout * m.L[l].K * m.L[l].P;
    printf("shapes-train: size %ld, arch %s, %zu parameters, %zu MACs/image\n", size, arch,
           m.nparams, macs);
    printf("  seed %ld, epochs %ld, train seeds [%ld, %ld), batch %ld, lr %g, threads %ld, "
           "augment %s\n",
           seed, epochs, train_base, train_base + train_size, batch, lr, nthreads,
           augment ? "on" : "off");
    fflush(stdout);

    float *prm = xcalloc(m.nparams, sizeof(float));
    float *mom1 = xcalloc(m.nparams, sizeof(float));
    float *mom2 = xcalloc(m.nparams, sizeof(float));
    params_init(&m, prm, (uint64_t)seed);

    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.m = &m;
    sh.prm = prm;
    sh.batch = (int)batch;
    sh.nthreads = (int)nthreads;
    for (int c = 0; c < NCHUNK; c++)
        sh.cgrad[c] = xcalloc(m.nparams, sizeof(float));
    worker wk[MAX_THREADS];
    memset(wk, 0, sizeof wk);
    for (int t = 0; t < nthreads; t++) {
        wk[t].sh = &sh;
        wk[t].id = t;
        tws_init(&wk[t].ws, &m);
    }
    uint64_t *order = xcalloc((size_t)train_size, sizeof(uint64_t));
    for (long i = 0; i < train_size; i++)
        order[i] = (uint64_t)(train_base + i);
    uint64_t *bseeds = xcalloc((size_t)batch, sizeof(uint64_t));
    uint8_t *bops = xcalloc((size_t)batch, 1);
    sh.batch_seeds = bseeds;
    sh.batch_ops = bops;

    trng r = {mix64((uint64_t)seed ^ 0xDA7A5EEDULL)};
    const long steps_per_epoch = train_size / batch;
    const long total_steps = steps_per_epoch * epochs;
    const long warmup = total_steps / 50 < 200 ? total_steps / 50 : 200;
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    long step = 0;
    double t_start = now_sec();

    for (long ep = 0; ep < epochs; ep++) {
        double t_ep = now_sec(), eloss = 0.0;
        long ecorrect = 0;
        for (long i = train_size - 1; i > 0; i--) { /* Fisher-Yates */
            long j = (long)(trng_next(&r) % (uint64_t)(i + 1));
            uint64_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (long s = 0; s < steps_per_epoch; s++, step++) {
            for (long i = 0; i < batch; i++) {
                bseeds[i] = order[s * batch + i];
                bops[i] = augment ? (uint8_t)(trng_next(&r) >> 61) : 0;
            }
            run_jobs(wk, (int)nthreads, train_job);
            /* reduce in chunk order, then Adam */
            double lr_t;
            if (step < warmup)
                lr_t = lr * (double)(step + 1) / (double)warmup;
            else {
                double pr = (double)(step - warmup) / (double)(total_steps - warmup);
                lr_t = lr * (0.01 + 0.99 * 0.5 * (1.0 + cos(TRAIN_PI * pr)));
            }
            double bc1 = 1.0 - pow(b1, (double)(step + 1)), bc2 = 1.0 - pow(b2, (double)(step + 1));
            float inv_b = 1.0f / (float)batch;
            for (size_t k = 0; k < m.nparams; k++) {
                float gsum = 0.0f;
                for (int c = 0; c < NCHUNK; c++)
                    gsum += sh.cgrad[c][k];
                float gk = gsum * inv_b;
                mom1[k] = (float)(b1 * mom1[k] + (1.0 - b1) * gk);
                mom2[k] = (float)(b2 * mom2[k] + (1.0 - b2) * (double)gk * gk);
                prm[k] -= (float)(lr_t * (mom1[k] / bc1) / (sqrt(mom2[k] / bc2) + eps));
            }
            for (int c = 0; c < NCHUNK; c++) {
                eloss += sh.closs[c];
                ecorrect += sh.ccorrect[c];
            }
            if ((s + 1) % 100 == 0) {
                printf("  epoch %ld step %ld/%ld  loss %.4f  train acc %.2f%%  lr %.5f  %.0fs\n",
                       ep + 1, s + 1, steps_per_epoch, eloss / ((s + 1) * batch),
                       100.0 * ecorrect / ((s + 1) * batch), lr_t, now_sec() - t_start);
                fflush(stdout);
            }
        }
        int vc = evaluate(wk, &sh, VAL_BASE, VAL_COUNT, NULL);
        printf("epoch %ld/%ld: loss %.4f  train acc %.2f%%  val acc %.2f%% (%u scenes)  "
               "epoch %.1fs  total %.1fs\n",
               ep + 1, epochs, eloss / (steps_per_epoch * batch),
               100.0 * ecorrect / (steps_per_epoch * batch), 100.0 * vc / VAL_COUNT, VAL_COUNT,
               now_sec() - t_ep, now_sec() - t_start);
        fflush(stdout);
    }
    double t_train = now_sec() - t_start;

    int conf[SCENE_NUM_CLASSES][SCENE_NUM_CLASSES];
    int tc = evaluate(wk, &sh, 0, (int)test_count, conf);
    printf("training time %.1f s\n", t_train);
    printf("TEST accuracy (seeds 0..%ld): %d/%ld = %.2f%%\n", test_count - 1, tc, test_count,
           100.0 * tc / test_count);
    printf("confusion (rows = true, cols = predicted):\n%10s", "");
    for (int b = 0; b < SCENE_NUM_CLASSES; b++)
        printf("%9s", scene_class_name(b));
    printf("\n");
    for (int a = 0; a < SCENE_NUM_CLASSES; a++) {
        printf("%10s", scene_class_name(a));
        for (int b = 0; b < SCENE_NUM_CLASSES; b++)
            printf("%9d", conf[a][b]);
        printf("\n");
    }
    int rc = 0;
    if (save_weights(&m, prm, out) != 0 || save_reference(&m, prm, &wk[0].ws, ref) != 0)
        rc = 1;
    else
        printf("wrote %s and %s\n", out, ref);

    for (int t = 0; t < nthreads; t++)
        tws_free(&wk[t].ws, &m);
    for (int c = 0; c < NCHUNK; c++)
        free(sh.cgrad[c]);
    free(order);
    free(bseeds);
    free(bops);
    free(prm);
    free(mom1);
    free(mom2);
    return rc;
}
