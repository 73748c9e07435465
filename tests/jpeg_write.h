/*
 * jpeg_write.h - the tests' JPEG encoder (libjpeg-turbo), shared by
 * test_io.c and the fuzzing corpus maker: every encoder setting the
 * loader must cope with, from one spec.
 */
#ifndef DECAM_TESTS_JPEG_WRITE_H
#define DECAM_TESTS_JPEG_WRITE_H

#include <stdio.h> /* jpeglib.h needs FILE */

#include <jpeglib.h>

/* `samples` are width*height*components bytes in in_colour space;
 * jpeg_colour is the colour space stored in the file. Restart markers
 * every restart_rows MCU rows, or (if set) every restart_mcus MCUs. */
typedef struct jpeg_spec {
    int width, height, components;
    J_COLOR_SPACE in_colour, jpeg_colour;
    int quality, progressive, restart_rows, arithmetic, full_chroma, restart_mcus;
} jpeg_spec;

/* The encoded file, in memory that libjpeg allocated (release with
 * free()); its size in *size. */
static inline unsigned char *jpeg_encode(const jpeg_spec *s, const unsigned char *samples,
                                         unsigned long *size) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *out = NULL;
    *size = 0;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, size);
    c.image_width = (JDIMENSION)s->width;
    c.image_height = (JDIMENSION)s->height;
    c.input_components = s->components;
    c.in_color_space = s->in_colour;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, s->jpeg_colour);
    jpeg_set_quality(&c, s->quality, TRUE);
    if (s->progressive) jpeg_simple_progression(&c);
    c.restart_in_rows = s->restart_rows;
    c.restart_interval = (unsigned)s->restart_mcus;
    c.arith_code = s->arithmetic ? TRUE : FALSE;
    if (s->full_chroma)
        for (int i = 0; i < c.num_components; i++)
            c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(samples + (size_t)c.next_scanline * (size_t)s->width *
                                                (size_t)s->components);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    return out;
}

#endif /* DECAM_TESTS_JPEG_WRITE_H */
