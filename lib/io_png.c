/*
 * io_png.c - PNG decoding and encoding through libpng.
 *
 * libpng reports errors by calling our error function, which must not
 * return: it records the message and longjmps back to run_decode() /
 * run_encode(). Everything those jumps must free lives in a job struct that
 * belongs to the caller of the function holding setjmp, never in that
 * function's own locals, so its values stay determinate after the jump
 * (C11 7.13.2.1). libpng allocates through the context's allocator and
 * prints nothing: warnings go to the log handler.
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <png.h>

#include "context.h"
#include "io.h"

/* Largest ancillary chunk libpng may buffer (iCCP, zTXt, ...). */
#define PNG_CHUNK_MAX ((png_alloc_size_t)8 << 20)

typedef struct png_job {
    decam_ctx *ctx;
    const char *source;
    png_structp png;
    png_infop info;
    jmp_buf jump;
    int out_of_memory; /* our allocator failed: libpng's error is OOM */
    char message[200]; /* libpng's error message */
    /* decoding */
    const unsigned char *data;
    size_t size, pos;
    io_image *img;
    unsigned char *rows; /* one row, or the whole image when interlaced */
    /* encoding */
    const uint8_t *pixels;
    int width, height, channels;
    io_buffer *out;
} png_job;

#if defined(__GNUC__)
__attribute__((noreturn))
#endif
static void
on_error(png_structp png, png_const_charp message) {
    png_job *job = png_get_error_ptr(png);
    snprintf(job->message, sizeof job->message, "%s", message ? message : "unknown error");
    longjmp(job->jump, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
    png_job *job = png_get_error_ptr(png);
    decam__ctx_log(job->ctx, DECAM_LOG_WARNING, "%s%sPNG: %s", job->source ? job->source : "",
                   job->source ? ": " : "", message ? message : "");
}

static png_voidp on_malloc(png_structp png, png_alloc_size_t size) {
    png_job *job = png_get_mem_ptr(png);
    void *p = decam__ctx_alloc(job->ctx, size, 1);
    if (!p) job->out_of_memory = 1;
    return p;
}

static void on_free(png_structp png, png_voidp ptr) {
    png_job *job = png_get_mem_ptr(png);
    decam__ctx_dealloc(job->ctx, ptr);
}

static void on_read(png_structp png, png_bytep out, size_t n) {
    png_job *job = png_get_io_ptr(png);
    if (n > job->size - job->pos) png_error(png, "truncated: the data ends before the image does");
    memcpy(out, job->data + job->pos, n);
    job->pos += n;
}

static void on_write(png_structp png, png_bytep bytes, size_t n) {
    png_job *job = png_get_io_ptr(png);
    if (decam__io_buffer_append(job->out, bytes, n) != 0) {
        job->out_of_memory = 1;
        png_error(png, "out of memory for the encoded image");
    }
}

static void on_flush(png_structp png) { (void)png; }

/* The status of a failure that libpng reported, with its message. */
static decam_status jumped(png_job *job, decam_status format_status) {
    if (job->out_of_memory)
        return decam__io_fail(job->ctx, job->source, DECAM_ERR_OUT_OF_MEMORY,
                              "PNG: out of memory (%s)", job->message);
    return decam__io_fail(job->ctx, job->source, format_status, "PNG: %s", job->message);
}

/* ---------------------------------------------------------------------
 * Decoding
 * --------------------------------------------------------------------- */

static uint32_t read_be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Walks the chunk framing up to IEND before libpng sees the data: every
 * chunk must fit in it. libpng only warns about an ancillary chunk longer
 * than its limit and then allocates its length, so a 100-byte file could
 * make it ask for 2 GiB; with the whole file in memory, a length beyond the
 * data is plainly a truncated (or corrupt) file. */
static decam_status check_chunk_framing(png_job *job) {
    const unsigned char *d = job->data;
    const size_t size = job->size;
    size_t p = 8; /* the signature was checked by the caller's detection */
    for (;;) {
        if (size < p || size - p < 12)
            return decam__io_fail(job->ctx, job->source, DECAM_ERR_FORMAT,
                                  "PNG: truncated: the data ends before IEND (%zu bytes)", size);
        const uint32_t length = read_be32(d + p);
        char type[5];
        for (int i = 0; i < 4; i++) {
            unsigned char c = d[p + 4 + (size_t)i];
            type[i] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ? (char)c : '?';
        }
        type[4] = '\0';
        if (length > 0x7fffffffu)
            return decam__io_fail(job->ctx, job->source, DECAM_ERR_FORMAT,
                                  "PNG: %s chunk at byte %zu has an invalid length (%lu)", type, p,
                                  (unsigned long)length);
        if (length > size - p - 12)
            return decam__io_fail(
                job->ctx, job->source, DECAM_ERR_FORMAT,
                "PNG: truncated: the %s chunk at byte %zu (%lu bytes) runs past the "
                "end of the data (%zu bytes)",
                type, p, (unsigned long)length, size);
        if (memcmp(d + p + 4, "IEND", 4) == 0) return DECAM_OK;
        p += 12 + (size_t)length;
    }
}

/* Reads the image rows; called after setjmp, may be left by longjmp. */
static decam_status decode_rows(png_job *job) {
    png_structp png = job->png;
    png_infop info = job->info;
    png_set_read_fn(png, job, on_read);
    /* Let libpng accept every size the format allows; our own limits are
     * checked below, so that a too large image gets DECAM_ERR_TOO_LARGE. */
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_set_chunk_malloc_max(png, PNG_CHUNK_MAX);
    png_read_info(png, info);

    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    png_set_expand(png); /* palette to RGB, gray to 8 bits, tRNS to alpha */
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    int bits = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    /* An interlaced image is buffered whole: count it with the pixels. */
    size_t rows = passes > 1 ? height : 1;
    FORWARD_IF_ERROR(
        decam__io_image_alloc(job->ctx, "PNG", job->img, width, height, (uint64_t)rows * rowbytes));
    job->rows = decam__ctx_alloc(job->ctx, rows, rowbytes);
    if (!job->rows)
        return decam__io_fail(job->ctx, job->source, DECAM_ERR_OUT_OF_MEMORY,
                              "PNG: out of memory for %zu rows of %zu bytes", rows, rowbytes);

    if (passes > 1) {
        /* Adam7: every pass updates the whole image buffer. */
        for (int pass = 0; pass < passes; pass++)
            for (png_uint_32 y = 0; y < height; y++)
                png_read_row(png, job->rows + (size_t)y * rowbytes, NULL);
        for (png_uint_32 y = 0; y < height; y++)
            decam__io_image_put_row(job->img, (int)y, job->rows + (size_t)y * rowbytes, channels,
                                    bits);
    } else {
        for (png_uint_32 y = 0; y < height; y++) {
            png_read_row(png, job->rows, NULL);
            decam__io_image_put_row(job->img, (int)y, job->rows, channels, bits);
        }
    }
    /* Check the chunks after the image too, through IEND: a file cut short
     * there is truncated as well. */
    png_read_end(png, NULL);
    return DECAM_OK;
}

/* Holds the setjmp. Returns 0 if libpng jumped (job->message says why),
 * 1 otherwise with *status set. */
static int run_decode(png_job *job, decam_status *status) {
    if (setjmp(job->jump)) return 0;
    job->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, job, on_error, on_warning, job,
                                        on_malloc, on_free);
    if (job->png) job->info = png_create_info_struct(job->png);
    if (!job->png || !job->info) {
        *status = decam__io_fail(job->ctx, job->source, DECAM_ERR_OUT_OF_MEMORY,
                                 "PNG: out of memory creating the decoder");
        return 1;
    }
    *status = decode_rows(job);
    return 1;
}

decam_status decam__io_png_decode(decam_ctx *ctx, const unsigned char *data, size_t size,
                                  io_image *img) {
    png_job job;
    memset(&job, 0, sizeof job);
    job.ctx = ctx;
    job.source = img->source;
    job.data = data;
    job.size = size;
    job.img = img;
    decam_status status = check_chunk_framing(&job);
    if (status == DECAM_OK && !run_decode(&job, &status)) status = jumped(&job, DECAM_ERR_FORMAT);
    if (job.png) png_destroy_read_struct(&job.png, job.info ? &job.info : NULL, NULL);
    decam__ctx_dealloc(ctx, job.rows);
    if (status != DECAM_OK) {
        decam__ctx_dealloc(ctx, img->pixels);
        img->pixels = NULL;
    }
    return status;
}

/* ---------------------------------------------------------------------
 * Encoding
 * --------------------------------------------------------------------- */

static void encode_rows(png_job *job) {
    static const int colour_types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                        PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    png_structp png = job->png;
    png_set_write_fn(png, job, on_write, on_flush);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_set_IHDR(png, job->info, (png_uint_32)job->width, (png_uint_32)job->height, 8,
                 colour_types[job->channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, job->info);
    const size_t stride = (size_t)job->width * (size_t)job->channels;
    for (int y = 0; y < job->height; y++)
        png_write_row(png, job->pixels + (size_t)y * stride);
    png_write_end(png, NULL);
}

static int run_encode(png_job *job, decam_status *status) {
    if (setjmp(job->jump)) return 0;
    job->png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, job, on_error, on_warning, job,
                                         on_malloc, on_free);
    if (job->png) job->info = png_create_info_struct(job->png);
    if (!job->png || !job->info) {
        *status = decam__io_fail(job->ctx, NULL, DECAM_ERR_OUT_OF_MEMORY,
                                 "PNG: out of memory creating the encoder");
        return 1;
    }
    encode_rows(job);
    *status = DECAM_OK;
    return 1;
}

decam_status decam__io_png_encode(decam_ctx *ctx, const uint8_t *pixels, int width, int height,
                                  int channels, io_buffer *out) {
    png_job job;
    memset(&job, 0, sizeof job);
    job.ctx = ctx;
    job.pixels = pixels;
    job.width = width;
    job.height = height;
    job.channels = channels;
    job.out = out;
    decam_status status = DECAM_OK;
    /* The pixels are ours to trust, so a libpng error here is not the
     * data's fault: report it as an I/O failure of the encoder. */
    if (!run_encode(&job, &status)) status = jumped(&job, DECAM_ERR_IO);
    if (job.png) png_destroy_write_struct(&job.png, job.info ? &job.info : NULL);
    return status;
}
