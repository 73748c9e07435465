/*
 * cnn.c - inference for the small "shapes" CNN (see cnn.h for the format).
 *
 * Activations are kept HWC in zero-padded buffers ((s+2) x (s+2) x c), so the
 * 3x3 convolution needs no border tests.  Conv weights are repacked at load
 * time into blocks of 8 output channels, [cout/8][3][3][cin][8], so the
 * innermost loop is a fixed-length (8) multiply-add that compilers vectorise
 * at -O2 (plain C, no intrinsics).  Conv + bias + ReLU + 2x2 max pooling are fused; each 2x2 group
 * of outputs is computed together to reuse the weight loads.
 */
#include "cnn.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CB             8           /* output-channel block */
#define MAX_FILE_BYTES (64u << 20) /* refuse anything larger */
#define MAX_CHANNELS   256
#define MAX_CLASSES    256
#define MIN_SIZE       8
#define MAX_SIZE       1024

typedef struct conv_layer {
    int cin, cout, pool;
    int s;    /* input (= conv output) side; pooled output is s/2 */
    float *w; /* packed [cout/CB][3][3][cin][CB] */
    float *b; /* [cout] */
} conv_layer;

struct cnn {
    int size, in_ch, classes, nconv;
    float in_shift, in_scale;
    conv_layer conv[CNN_MAX_CONV];
    float *dw;         /* [classes][clast] */
    float *db;         /* [classes] */
    size_t buf_floats; /* floats per ping-pong buffer */
    void *ws;          /* internal workspace, cnn_workspace_size() bytes */
};

/* ---- loading ------------------------------------------------------------ */

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static uint32_t rd_u32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static float rd_f32(const unsigned char *p) {
    uint32_t u = rd_u32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t fnv1a(const unsigned char *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

/* Read a whole file (at most MAX_FILE_BYTES).  Returns NULL on failure. */
static unsigned char *read_file(const char *path, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, "cannot open '%s'", path);
        return NULL;
    }
    size_t cap = 1u << 16, n = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_FILE_BYTES) {
                free(buf);
                fclose(f);
                set_err(err, errlen, "'%s': file too large", path);
                return NULL;
            }
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                fclose(f);
                set_err(err, errlen, "out of memory");
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        set_err(err, errlen, "'%s': read error", path);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Parse floats [count] at *pos into dst (may be NULL to only validate). */
static int take_floats(const unsigned char *data, size_t *pos, size_t count, float *dst) {
    for (size_t i = 0; i < count; i++) {
        float v = rd_f32(data + *pos + 4 * i);
        if (!isfinite(v)) return -1;
        if (dst) dst[i] = v;
    }
    *pos += 4 * count;
    return 0;
}

void cnn_free(cnn *net) {
    if (!net) return;
    for (int l = 0; l < net->nconv; l++) {
        free(net->conv[l].w);
        free(net->conv[l].b);
    }
    free(net->dw);
    free(net->db);
    free(net->ws);
    free(net);
}

cnn *cnn_load(const char *path, char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
    if (!path) {
        set_err(err, errlen, "no path given");
        return NULL;
    }
    size_t len = 0;
    unsigned char *data = read_file(path, &len, err, errlen);
    if (!data) return NULL;

    cnn *net = NULL;
    const size_t hdr = 36;
    if (len < hdr + 4) {
        set_err(err, errlen, "'%s': file too short (%zu bytes) for a weights header", path, len);
        goto fail;
    }
    if (memcmp(data, CNN_MAGIC, 8) != 0) {
        set_err(err, errlen, "'%s': bad magic (not a shapes CNN weights file)", path);
        goto fail;
    }
    uint32_t version = rd_u32(data + 8), size = rd_u32(data + 12), in_ch = rd_u32(data + 16);
    uint32_t classes = rd_u32(data + 20), nconv = rd_u32(data + 24);
    float in_shift = rd_f32(data + 28), in_scale = rd_f32(data + 32);
    if (version != CNN_VERSION) {
        set_err(err, errlen, "'%s': unsupported version %u (expected %u)", path, (unsigned)version,
                (unsigned)CNN_VERSION);
        goto fail;
    }
    if (size < MIN_SIZE || size > MAX_SIZE || in_ch != 3 || classes < 1 || classes > MAX_CLASSES ||
        nconv < 1 || nconv > CNN_MAX_CONV) {
        set_err(err, errlen, "'%s': bad header (size %u, channels %u, classes %u, layers %u)", path,
                (unsigned)size, (unsigned)in_ch, (unsigned)classes, (unsigned)nconv);
        goto fail;
    }
    if (!isfinite(in_shift) || !isfinite(in_scale) || in_scale == 0.0f) {
        set_err(err, errlen, "'%s': bad input normalisation (shift %g, scale %g)", path,
                (double)in_shift, (double)in_scale);
        goto fail;
    }
    if (len < hdr + 12 * (size_t)nconv + 4) {
        set_err(err, errlen, "'%s': truncated layer table", path);
        goto fail;
    }
    /* layer table and expected size */
    uint32_t cin[CNN_MAX_CONV], cout[CNN_MAX_CONV], pool[CNN_MAX_CONV];
    size_t expect = hdr + 12 * (size_t)nconv, s = size, prev = in_ch;
    for (uint32_t l = 0; l < nconv; l++) {
        const unsigned char *p = data + hdr + 12 * (size_t)l;
        cin[l] = rd_u32(p);
        cout[l] = rd_u32(p + 4);
        pool[l] = rd_u32(p + 8);
        if (cin[l] != prev || cout[l] < CB || cout[l] > MAX_CHANNELS || cout[l] % CB != 0 ||
            pool[l] > 1) {
            set_err(err, errlen, "'%s': bad shape for conv layer %u (in %u, out %u, pool %u)", path,
                    (unsigned)l, (unsigned)cin[l], (unsigned)cout[l], (unsigned)pool[l]);
            goto fail;
        }
        if (pool[l]) {
            if (s % 2 != 0 || s < 2) {
                set_err(err, errlen, "'%s': layer %u pools an odd side %zu", path, (unsigned)l, s);
                goto fail;
            }
            s /= 2;
        }
        expect += 4 * ((size_t)cout[l] * 9 * cin[l] + cout[l]);
        prev = cout[l];
    }
    expect += 4 * ((size_t)classes * prev + classes) + 4;
    if (len != expect) {
        set_err(err, errlen, "'%s': size %zu bytes, expected %zu for this architecture%s", path,
                len, expect, len < expect ? " (truncated)" : "");
        goto fail;
    }
    if (fnv1a(data, len - 4) != rd_u32(data + len - 4)) {
        set_err(err, errlen, "'%s': checksum mismatch (corrupt file)", path);
        goto fail;
    }

    net = calloc(1, sizeof *net);
    if (!net) goto oom;
    net->size = (int)size;
    net->in_ch = (int)in_ch;
    net->classes = (int)classes;
    net->in_shift = in_shift;
    net->in_scale = in_scale;
    size_t pos = hdr + 12 * (size_t)nconv;
    size_t side = size, maxbuf = (size_t)(size + 2) * (size + 2) * in_ch;
    for (uint32_t l = 0; l < nconv; l++) {
        conv_layer *cl = &net->conv[l];
        cl->cin = (int)cin[l];
        cl->cout = (int)cout[l];
        cl->pool = (int)pool[l];
        cl->s = (int)side;
        net->nconv = (int)l + 1; /* so cnn_free releases what is allocated */
        size_t nw = (size_t)cl->cout * 9 * cl->cin;
        cl->w = malloc(nw * sizeof(float));
        cl->b = malloc((size_t)cl->cout * sizeof(float));
        float *tmp = malloc(nw * sizeof(float));
        if (!cl->w || !cl->b || !tmp) {
            free(tmp);
            goto oom;
        }
        if (take_floats(data, &pos, nw, tmp) || take_floats(data, &pos, cl->cout, cl->b)) {
            free(tmp);
            set_err(err, errlen, "'%s': non-finite value in conv layer %u", path, (unsigned)l);
            goto fail;
        }
        /* file [co][ky][kx][ci] -> packed [co/CB][ky][kx][ci][CB] */
        for (int co = 0; co < cl->cout; co++)
            for (int k = 0; k < 9; k++)
                for (int ci = 0; ci < cl->cin; ci++)
                    cl->w[(((size_t)(co / CB) * 9 + k) * cl->cin + ci) * CB + co % CB] =
                        tmp[((size_t)co * 9 + k) * cl->cin + ci];
        free(tmp);
        if (cl->pool) side /= 2;
        size_t ob = (side + 2) * (side + 2) * (size_t)cl->cout;
        if (ob > maxbuf) maxbuf = ob;
    }
    int clast = net->conv[nconv - 1].cout;
    net->dw = malloc((size_t)classes * clast * sizeof(float));
    net->db = malloc((size_t)classes * sizeof(float));
    if (!net->dw || !net->db) goto oom;
    if (take_floats(data, &pos, (size_t)classes * clast, net->dw) ||
        take_floats(data, &pos, classes, net->db)) {
        set_err(err, errlen, "'%s': non-finite value in the dense layer", path);
        goto fail;
    }
    net->buf_floats = maxbuf;
    net->ws = malloc(cnn_workspace_size(net));
    if (!net->ws) goto oom;
    free(data);
    return net;

oom:
    set_err(err, errlen, "out of memory loading '%s'", path);
fail:
    free(data);
    cnn_free(net);
    return NULL;
}

int cnn_input_size(const cnn *net) { return net ? net->size : 0; }

int cnn_num_classes(const cnn *net) { return net ? net->classes : 0; }

size_t cnn_macs(const cnn *net) {
    if (!net) return 0;
    size_t m = 0;
    for (int l = 0; l < net->nconv; l++) {
        const conv_layer *cl = &net->conv[l];
        m += (size_t)cl->s * cl->s * cl->cout * 9 * cl->cin;
    }
    return m + (size_t)net->classes * net->conv[net->nconv - 1].cout;
}

size_t cnn_workspace_size(const cnn *net) {
    if (!net) return 0;
    /* two ping-pong buffers + pooled features */
    return (2 * net->buf_floats + MAX_CHANNELS) * sizeof(float);
}

/* ---- random initialisation (as train.c's params_init) -------------------- */

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* train.c's generator, draw for draw: splitmix64, 53-bit uniforms, and one
 * Box-Muller normal (the cosine branch) per two uniforms. */
typedef struct init_rng {
    uint64_t s;
} init_rng;

static double init_uniform(init_rng *r) {
    r->s += 0x9E3779B97F4A7C15ULL;
    return (double)(mix64(r->s) >> 11) * (1.0 / 9007199254740992.0);
}

static double init_normal(init_rng *r) {
    double u1 = init_uniform(r), u2 = init_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

void cnn_randomize(cnn *net, uint64_t seed) {
    if (!net) return;
    init_rng r = {mix64(seed ^ 0x5EEDC0DEULL)};
    for (int l = 0; l < net->nconv; l++) {
        conv_layer *cl = &net->conv[l];
        const int k = 9 * cl->cin; /* train.c draws [co][ci*9 + ky*3 + kx] */
        const double sd = sqrt(2.0 / k);
        for (int co = 0; co < cl->cout; co++)
            for (int ci = 0; ci < cl->cin; ci++)
                for (int t = 0; t < 9; t++) /* t = ky*3 + kx */
                    cl->w[(((size_t)(co / CB) * 9 + t) * cl->cin + ci) * CB + co % CB] =
                        (float)(sd * init_normal(&r));
        memset(cl->b, 0, (size_t)cl->cout * sizeof *cl->b);
    }
    const int clast = net->conv[net->nconv - 1].cout;
    const double sd = sqrt(1.0 / clast);
    for (size_t i = 0; i < (size_t)net->classes * clast; i++)
        net->dw[i] = (float)(sd * init_normal(&r));
    memset(net->db, 0, (size_t)net->classes * sizeof *net->db);
}

/* ---- forward ------------------------------------------------------------ */

/* Zero the 1-pixel border of a padded (s+2)^2 x c buffer. */
static void zero_border(float *buf, int s, int c) {
    size_t row = (size_t)(s + 2) * c;
    memset(buf, 0, row * sizeof(float));
    memset(buf + (size_t)(s + 1) * row, 0, row * sizeof(float));
    for (int y = 1; y <= s; y++) {
        memset(buf + (size_t)y * row, 0, (size_t)c * sizeof(float));
        memset(buf + (size_t)y * row + (size_t)(s + 1) * c, 0, (size_t)c * sizeof(float));
    }
}

/*
 * Conv outputs for the 2x2 block with top-left output pixel (y, x) and one
 * block of CB output channels.  `in` is the padded input, `rs` its row stride
 * in floats, `wb` the packed weights of the block.  Results in a[4][CB]
 * (row-major within the block), without bias.
 */
static void conv_block2x2(const float *restrict in, size_t rs, int cin, const float *restrict wb,
                          int y, int x, float a[restrict 4][CB]) {
    /* local accumulators: no aliasing with the inputs, so they stay in
     * registers and the k loops vectorise */
    float a0[CB], a1[CB], a2[CB], a3[CB];
    for (int k = 0; k < CB; k++)
        a0[k] = a1[k] = a2[k] = a3[k] = 0.0f;
    for (int ky = 0; ky < 3; ky++) {
        for (int kx = 0; kx < 3; kx++) {
            const float *i0 = in + (size_t)(y + ky) * rs + (size_t)(x + kx) * cin;
            const float *i1 = i0 + cin;
            const float *i2 = i0 + rs;
            const float *i3 = i2 + cin;
            const float *wp = wb + (size_t)(ky * 3 + kx) * cin * CB;
            for (int ci = 0; ci < cin; ci++) {
                const float *w = wp + (size_t)ci * CB;
                const float v0 = i0[ci], v1 = i1[ci], v2 = i2[ci], v3 = i3[ci];
                /* keep k a loop: GCC then vectorises it (2 x 4 floats);
                 * fully unrolled, -O3 vectorises the ci loop as an in-order
                 * reduction instead, which is ~3x slower */
#pragma GCC unroll 1
                for (int k = 0; k < CB; k++) {
                    a0[k] += v0 * w[k];
                    a1[k] += v1 * w[k];
                    a2[k] += v2 * w[k];
                    a3[k] += v3 * w[k];
                }
            }
        }
    }
    for (int k = 0; k < CB; k++) {
        a[0][k] = a0[k];
        a[1][k] = a1[k];
        a[2][k] = a2[k];
        a[3][k] = a3[k];
    }
}

/* Single output pixel (used only for non-pooled layers with odd side). */
static void conv_pixel(const float *in, size_t rs, int cin, const float *wb, int y, int x,
                       float a[CB]) {
    for (int k = 0; k < CB; k++)
        a[k] = 0.0f;
    for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++) {
            const float *ip = in + (size_t)(y + ky) * rs + (size_t)(x + kx) * cin;
            const float *wp = wb + (size_t)(ky * 3 + kx) * cin * CB;
            for (int ci = 0; ci < cin; ci++) {
                float v = ip[ci];
#pragma GCC unroll 1
                for (int k = 0; k < CB; k++)
                    a[k] += v * wp[(size_t)ci * CB + k];
            }
        }
}

static float relu(float v) { return v > 0.0f ? v : 0.0f; }

/* One conv layer: padded input -> padded output (border zeroed). */
static void conv_layer_forward(const conv_layer *cl, const float *in, float *out) {
    const int s = cl->s, cin = cl->cin, cout = cl->cout;
    const size_t rs = (size_t)(s + 2) * cin;
    const int so = cl->pool ? s / 2 : s;
    const size_t ors = (size_t)(so + 2) * cout;
    float a[4][CB];
    zero_border(out, so, cout);
    for (int cb = 0; cb < cout / CB; cb++) {
        const float *wb = cl->w + (size_t)cb * 9 * cin * CB;
        const float *bias = cl->b + (size_t)cb * CB;
        if (cl->pool) {
            for (int py = 0; py < so; py++)
                for (int px = 0; px < so; px++) {
                    conv_block2x2(in, rs, cin, wb, 2 * py, 2 * px, a);
                    float *o = out + (size_t)(py + 1) * ors + (size_t)(px + 1) * cout + cb * CB;
                    for (int k = 0; k < CB; k++) {
                        float m = a[0][k];
                        if (a[1][k] > m) m = a[1][k];
                        if (a[2][k] > m) m = a[2][k];
                        if (a[3][k] > m) m = a[3][k];
                        o[k] = relu(m + bias[k]);
                    }
                }
        } else if (s % 2 == 0) {
            for (int y = 0; y < s; y += 2)
                for (int x = 0; x < s; x += 2) {
                    conv_block2x2(in, rs, cin, wb, y, x, a);
                    for (int q = 0; q < 4; q++) {
                        float *o = out + (size_t)(y + q / 2 + 1) * ors +
                                   (size_t)(x + q % 2 + 1) * cout + cb * CB;
                        for (int k = 0; k < CB; k++)
                            o[k] = relu(a[q][k] + bias[k]);
                    }
                }
        } else {
            for (int y = 0; y < s; y++)
                for (int x = 0; x < s; x++) {
                    conv_pixel(in, rs, cin, wb, y, x, a[0]);
                    float *o = out + (size_t)(y + 1) * ors + (size_t)(x + 1) * cout + cb * CB;
                    for (int k = 0; k < CB; k++)
                        o[k] = relu(a[0][k] + bias[k]);
                }
        }
    }
}

void cnn_forward_ws(const cnn *net, const float *images, size_t n, float *logits, void *workspace) {
    if (!net || !images || !logits || !workspace) return;
    float *buf[2];
    buf[0] = workspace;
    buf[1] = buf[0] + net->buf_floats;
    float *feat = buf[1] + net->buf_floats;
    const int S = net->size, C = net->in_ch;
    const size_t img_floats = (size_t)S * S * C;

    for (size_t i = 0; i < n; i++) {
        const float *img = images + i * img_floats;
        /* input -> padded buffer 0 */
        zero_border(buf[0], S, C);
        for (int y = 0; y < S; y++) {
            float *dst = buf[0] + ((size_t)(y + 1) * (S + 2) + 1) * C;
            const float *src = img + (size_t)y * S * C;
            for (int j = 0; j < S * C; j++)
                dst[j] = (src[j] - net->in_shift) * net->in_scale;
        }
        int cur = 0, side = S;
        for (int l = 0; l < net->nconv; l++) {
            conv_layer_forward(&net->conv[l], buf[cur], buf[cur ^ 1]);
            cur ^= 1;
            if (net->conv[l].pool) side /= 2;
        }
        /* global average pooling and dense layer, accumulated in double
         * (negligible cost; keeps the logits within a few float roundings of
         * the training program's) */
        const int c = net->conv[net->nconv - 1].cout;
        const float *a = buf[cur];
        for (int k = 0; k < c; k++) {
            double sum = 0.0;
            for (int y = 1; y <= side; y++)
                for (int x = 1; x <= side; x++)
                    sum += a[((size_t)y * (side + 2) + x) * c + k];
            feat[k] = (float)(sum / (side * side));
        }
        float *out = logits + i * (size_t)net->classes;
        for (int j = 0; j < net->classes; j++) {
            const float *w = net->dw + (size_t)j * c;
            double acc = net->db[j];
            for (int k = 0; k < c; k++)
                acc += (double)w[k] * feat[k];
            out[j] = (float)acc;
        }
    }
}

void cnn_forward(const cnn *net, const float *images, size_t n, float *logits) {
    if (!net) return;
    cnn_forward_ws(net, images, n, logits, net->ws);
}

void cnn_softmax(const float *logits, size_t n, int k, float *probs) {
    if (!logits || !probs || k <= 0) return;
    for (size_t i = 0; i < n; i++) {
        const float *l = logits + i * (size_t)k;
        float *p = probs + i * (size_t)k;
        float m = l[0];
        for (int j = 1; j < k; j++)
            if (l[j] > m) m = l[j];
        double sum = 0.0;
        for (int j = 0; j < k; j++) {
            p[j] = expf(l[j] - m);
            sum += p[j];
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < k; j++)
            p[j] *= inv;
    }
}

void cnn_predict_proba(const cnn *net, const float *images, size_t n, float *probs) {
    if (!net || !images || !probs) return;
    cnn_forward(net, images, n, probs);
    cnn_softmax(probs, n, net->classes, probs);
}
