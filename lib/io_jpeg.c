/*
 * io_jpeg.c - JPEG decoding and encoding through libjpeg(-turbo).
 *
 * libjpeg's error_exit must not return: ours records the message and
 * longjmps back to run_decode() / run_encode(). As in io_png.c, what must be
 * freed after the jump lives in a job struct owned by the caller of the
 * function holding setjmp. libjpeg's default handlers print to stderr; all
 * three are replaced, so nothing is printed: warnings go to the log handler.
 *
 * libjpeg turns corrupt data into warnings and decodes on (filling what is
 * missing with gray). Those that mean the pixels are wrong (truncation, bad
 * entropy-coded data) are made errors here; harmless ones stay warnings.
 *
 * libjpeg's working memory comes from its own allocator (it has no hook for
 * ours); it is bounded by the size limits, checked before decoding starts,
 * and all of it is released by jpeg_destroy_*().
 */
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "context.h"
#include "io.h"

/* Most scans a progressive file may have. Each scan revisits the whole
 * coefficient buffer, so a small file with thousands of tiny scans costs
 * minutes of CPU; real encoders write about ten. libjpeg-turbo's own tools
 * offer the same guard (djpeg -maxscans). */
#define JPEG_MAX_SCANS 1000

typedef struct jpeg_job {
    decam_ctx *ctx;
    const char *source;
    struct jpeg_error_mgr err;
    jmp_buf jump;
    int out_of_memory;
    int too_large; /* libjpeg refused the size (over 65500 on a side) */
    char message[JMSG_LENGTH_MAX + 64];
    /* decoding */
    struct jpeg_decompress_struct d;
    struct jpeg_progress_mgr progress;
    int decompress_created;
    const unsigned char *data;
    size_t size;
    io_image *img;
    unsigned char *row;
    /* encoding */
    struct jpeg_compress_struct c;
    struct jpeg_destination_mgr dest;
    int compress_created;
    const uint8_t *pixels;
    int width, height, channels, quality;
    io_buffer *out;
    unsigned char chunk[16384];
} jpeg_job;

#if defined(__GNUC__)
__attribute__((noreturn))
#endif
static void
jump_out(jpeg_job *job) {
    longjmp(job->jump, 1);
}

#if defined(__GNUC__)
__attribute__((noreturn))
#endif
static void
on_error_exit(j_common_ptr cinfo) {
    jpeg_job *job = cinfo->client_data;
    (*cinfo->err->format_message)(cinfo, job->message);
    if (cinfo->err->msg_code == JERR_OUT_OF_MEMORY) job->out_of_memory = 1;
    if (cinfo->err->msg_code == JERR_IMAGE_TOO_BIG || cinfo->err->msg_code == JERR_NO_BACKING_STORE)
        job->too_large = 1;
    jump_out(job);
}

/* Warnings that mean the decoded pixels would be wrong. */
static int fatal_warning(int code) {
    switch (code) {
    case JWRN_JPEG_EOF:   /* truncated file */
    case JWRN_HIT_MARKER: /* entropy-coded segment cut short */
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC: /* restart markers out of order */
    case JWRN_NOT_SEQUENTIAL:
    case JWRN_BOGUS_PROGRESSION: return 1;
    default: return 0;
    }
}

static void on_emit_message(j_common_ptr cinfo, int level) {
    jpeg_job *job = cinfo->client_data;
    if (level >= 0) return; /* trace messages */
    if (fatal_warning(cinfo->err->msg_code)) {
        (*cinfo->err->format_message)(cinfo, job->message);
        jump_out(job);
    }
    /* Harmless; tell the log handler once per image, as libjpeg does. */
    if (cinfo->err->num_warnings++ == 0) {
        char text[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, text);
        decam__ctx_log(job->ctx, DECAM_LOG_WARNING, "%s%sJPEG: %s", job->source ? job->source : "",
                       job->source ? ": " : "", text);
    }
}

static void on_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void on_progress(j_common_ptr cinfo) {
    jpeg_job *job = cinfo->client_data;
    if (!cinfo->is_decompressor) return;
    if (job->d.input_scan_number > JPEG_MAX_SCANS) {
        snprintf(job->message, sizeof job->message, "more than %d scans (corrupt or hostile file)",
                 JPEG_MAX_SCANS);
        jump_out(job);
    }
}

static void setup_errors(jpeg_job *job) {
    jpeg_std_error(&job->err);
    job->err.error_exit = on_error_exit;
    job->err.emit_message = on_emit_message;
    job->err.output_message = on_output_message;
}

static decam_status jumped(jpeg_job *job, decam_status format_status) {
    if (job->out_of_memory)
        return decam__io_fail(job->ctx, job->source, DECAM_ERR_OUT_OF_MEMORY,
                              "JPEG: out of memory (%s)", job->message);
    if (job->too_large)
        return decam__io_fail(job->ctx, job->source, DECAM_ERR_TOO_LARGE, "JPEG: %s", job->message);
    return decam__io_fail(job->ctx, job->source, format_status, "JPEG: %s", job->message);
}

/* ---------------------------------------------------------------------
 * Decoding
 * --------------------------------------------------------------------- */

/* Chooses libjpeg's output colour space; sets *cmyk for 4-channel output. */
static decam_status choose_colour_space(jpeg_job *job, int *cmyk) {
    j_decompress_ptr d = &job->d;
    *cmyk = 0;
    switch (d->jpeg_color_space) {
    case JCS_GRAYSCALE: d->out_color_space = JCS_GRAYSCALE; return DECAM_OK;
    case JCS_YCbCr:
    case JCS_RGB:
        /* For gray, libjpeg gives Y (0.299 R + 0.587 G + 0.114 B). */
        d->out_color_space = job->img->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
        return DECAM_OK;
    case JCS_CMYK:
    case JCS_YCCK:
        d->out_color_space = JCS_CMYK;
        *cmyk = 1;
        return DECAM_OK;
    default:
        return decam__io_fail(job->ctx, job->source, DECAM_ERR_FORMAT,
                              "JPEG: unsupported colour space (%d components)", d->num_components);
    }
}

/* The whole-image coefficient buffer libjpeg keeps for a progressive or
 * multi-scan file (2 bytes per coefficient, blocks padded to whole MCUs);
 * 0 for a single interleaved scan, which is decoded row by row. */
static uint64_t coefficient_bytes(j_decompress_ptr d) {
    if (!d->progressive_mode && d->comps_in_scan >= d->num_components) return 0;
    int max_h = 1, max_v = 1;
    for (int c = 0; c < d->num_components; c++) {
        if (d->comp_info[c].h_samp_factor > max_h) max_h = d->comp_info[c].h_samp_factor;
        if (d->comp_info[c].v_samp_factor > max_v) max_v = d->comp_info[c].v_samp_factor;
    }
    uint64_t total = 0;
    for (int c = 0; c < d->num_components; c++) {
        const uint64_t h = (uint64_t)d->comp_info[c].h_samp_factor;
        const uint64_t v = (uint64_t)d->comp_info[c].v_samp_factor;
        uint64_t bw =
            ((uint64_t)d->image_width * h + 8 * (uint64_t)max_h - 1) / (8 * (uint64_t)max_h);
        uint64_t bh =
            ((uint64_t)d->image_height * v + 8 * (uint64_t)max_v - 1) / (8 * (uint64_t)max_v);
        bw = (bw + h - 1) / h * h;
        bh = (bh + v - 1) / v * v;
        total += bw * bh * (uint64_t)DCTSIZE2 * sizeof(JCOEF);
    }
    return total;
}

static decam_status decode_rows(jpeg_job *job) {
    j_decompress_ptr d = &job->d;
    setup_errors(job);
    d->err = &job->err;
    d->client_data = job;
    job->decompress_created = 1; /* jpeg_destroy is safe from here on */
    jpeg_create_decompress(d);
    job->progress.progress_monitor = on_progress;
    d->progress = &job->progress;
    jpeg_mem_src(d, job->data, (unsigned long)job->size);
    jpeg_read_header(d, TRUE);

    const uint64_t coefficients = coefficient_bytes(d);
    FORWARD_IF_ERROR(decam__io_image_alloc(job->ctx, "JPEG", job->img, d->image_width,
                                           d->image_height, coefficients));
    /* libjpeg's own allocations stay within what is left of the limit
     * (io_image_alloc checked that the sum fits). */
    const uint64_t used = (uint64_t)job->img->input_size + (uint64_t)job->img->width *
                                                               (uint64_t)job->img->height *
                                                               (uint64_t)job->img->channels * 4u;
    const uint64_t left = decam__io_settings(job->ctx)->max_memory - used;
    d->mem->max_memory_to_use = left > (uint64_t)LONG_MAX ? LONG_MAX : (long)left;
    int cmyk;
    FORWARD_IF_ERROR(choose_colour_space(job, &cmyk));
    jpeg_start_decompress(d);
    if (d->output_width != (JDIMENSION)job->img->width ||
        d->output_height != (JDIMENSION)job->img->height)
        return decam__io_fail(job->ctx, job->source, DECAM_ERR_FORMAT,
                              "JPEG: decoder output %u x %u differs from the header's %d x %d",
                              d->output_width, d->output_height, job->img->width, job->img->height);
    job->row = decam__ctx_alloc(job->ctx, d->output_width, (size_t)d->output_components);
    if (!job->row)
        return decam__io_fail(job->ctx, job->source, DECAM_ERR_OUT_OF_MEMORY,
                              "JPEG: out of memory for a row");
    while (d->output_scanline < d->output_height) {
        int y = (int)d->output_scanline;
        JSAMPROW row = job->row;
        if (jpeg_read_scanlines(d, &row, 1) != 1)
            return decam__io_fail(job->ctx, job->source, DECAM_ERR_FORMAT,
                                  "JPEG: the decoder stopped at row %d", y);
        if (cmyk)
            decam__io_image_put_row_cmyk(job->img, y, job->row, d->saw_Adobe_marker);
        else
            decam__io_image_put_row(job->img, y, job->row, d->output_components, 8);
    }
    jpeg_finish_decompress(d);
    return DECAM_OK;
}

static int run_decode(jpeg_job *job, decam_status *status) {
    if (setjmp(job->jump)) return 0;
    *status = decode_rows(job);
    return 1;
}

decam_status decam__io_jpeg_decode(decam_ctx *ctx, const unsigned char *data, size_t size,
                                   io_image *img) {
    if (size > ULONG_MAX)
        return decam__io_fail(ctx, img->source, DECAM_ERR_TOO_LARGE,
                              "JPEG: %zu bytes are more than libjpeg can read", size);
    jpeg_job *job = decam__ctx_calloc(ctx, 1, sizeof *job);
    if (!job)
        return decam__io_fail(ctx, img->source, DECAM_ERR_OUT_OF_MEMORY, "JPEG: out of memory");
    job->ctx = ctx;
    job->source = img->source;
    job->data = data;
    job->size = size;
    job->img = img;
    decam_status status = DECAM_OK;
    if (!run_decode(job, &status)) status = jumped(job, DECAM_ERR_FORMAT);
    if (job->decompress_created) jpeg_destroy_decompress(&job->d);
    decam__ctx_dealloc(ctx, job->row);
    decam__ctx_dealloc(ctx, job);
    if (status != DECAM_OK) {
        decam__ctx_dealloc(ctx, img->pixels);
        img->pixels = NULL;
    }
    return status;
}

/* ---------------------------------------------------------------------
 * Encoding
 * --------------------------------------------------------------------- */

static void dest_init(j_compress_ptr c) {
    jpeg_job *job = c->client_data;
    job->dest.next_output_byte = job->chunk;
    job->dest.free_in_buffer = sizeof job->chunk;
}

static void flush_chunk(jpeg_job *job, size_t n) {
    if (decam__io_buffer_append(job->out, job->chunk, n) != 0) {
        job->out_of_memory = 1;
        snprintf(job->message, sizeof job->message, "no memory for the encoded image");
        jump_out(job);
    }
}

static boolean dest_empty(j_compress_ptr c) {
    jpeg_job *job = c->client_data;
    flush_chunk(job, sizeof job->chunk);
    dest_init(c);
    return TRUE;
}

static void dest_term(j_compress_ptr c) {
    jpeg_job *job = c->client_data;
    flush_chunk(job, sizeof job->chunk - job->dest.free_in_buffer);
}

static void encode_rows(jpeg_job *job) {
    j_compress_ptr c = &job->c;
    setup_errors(job);
    c->err = &job->err;
    c->client_data = job;
    job->compress_created = 1;
    jpeg_create_compress(c);
    job->dest.init_destination = dest_init;
    job->dest.empty_output_buffer = dest_empty;
    job->dest.term_destination = dest_term;
    c->dest = &job->dest;
    c->image_width = (JDIMENSION)job->width;
    c->image_height = (JDIMENSION)job->height;
    c->input_components = job->channels;
    c->in_color_space = job->channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(c);
    jpeg_set_quality(c, job->quality, TRUE);
    if (job->channels == 3 && job->quality >= 90) {
        /* 4:4:4: keep sharp colour edges, as saliency overlays have. */
        c->comp_info[0].h_samp_factor = 1;
        c->comp_info[0].v_samp_factor = 1;
    }
    jpeg_start_compress(c, TRUE);
    const size_t stride = (size_t)job->width * (size_t)job->channels;
    while (c->next_scanline < c->image_height) {
        /* libjpeg does not write through the row pointer. */
        JSAMPROW row = (JSAMPROW)(job->pixels + (size_t)c->next_scanline * stride);
        jpeg_write_scanlines(c, &row, 1);
    }
    jpeg_finish_compress(c);
}

static int run_encode(jpeg_job *job) {
    if (setjmp(job->jump)) return 0;
    encode_rows(job);
    return 1;
}

decam_status decam__io_jpeg_encode(decam_ctx *ctx, const uint8_t *pixels, int width, int height,
                                   int channels, int quality, io_buffer *out) {
    jpeg_job *job = decam__ctx_calloc(ctx, 1, sizeof *job);
    if (!job) return decam__ctx_fail(ctx, DECAM_ERR_OUT_OF_MEMORY, "JPEG: out of memory");
    job->ctx = ctx;
    job->pixels = pixels;
    job->width = width;
    job->height = height;
    job->channels = channels;
    job->quality = quality;
    job->out = out;
    decam_status status = DECAM_OK;
    /* The arguments were checked, so a libjpeg error here is the encoder's
     * failure, not the data's. */
    if (!run_encode(job)) status = jumped(job, DECAM_ERR_IO);
    if (job->compress_created) jpeg_destroy_compress(&job->c);
    decam__ctx_dealloc(ctx, job);
    return status;
}
