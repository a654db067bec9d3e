/* SPDX-License-Identifier: MIT */
/*
 * Decompress a bzImage payload (gzip, xz, lzma, bzip2, lz4 legacy, zstd)
 * with Debian's libraries, straight into its final buffer: the caller's, or
 * a memfd mapping sized from the payload's size trailer and grown in place
 * if the trailer lied. The input is hostile: the output is capped, and a
 * stream that is corrupt, ends early or decodes past the cap is an error.
 */
#ifndef EMBER_BOOT_DECOMPRESS_H
#define EMBER_BOOT_DECOMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/bzimage.h"

/* The most a payload may decode to, whatever the caller allows. */
#define DECOMP_MAX_OUT ((size_t)1 << 30)

/*
 * An output buffer. Fixed (memfd < 0): buf[0..cap) is the caller's. Growable
 * (memfd >= 0, from decomp_out_memfd()): buf maps the memfd's first cap
 * bytes, and the decoder grows both up to max.
 */
struct decomp_out {
	uint8_t *buf;
	size_t cap;
	size_t len; /* bytes decoded so far */
	size_t max;
	int memfd;
};

/* A fixed output buffer over the caller's buf[0..cap). */
void decomp_out_fixed(struct decomp_out *o, uint8_t *buf, size_t cap);

/* A growable memfd buffer of `hint` bytes (page-rounded; a hint of 0 or
 * above max gets 64 MiB or max), growable to max (capped at
 * DECOMP_MAX_OUT). Returns 0 or negative errno with a message. */
int decomp_out_memfd(struct decomp_out *o, size_t hint, size_t max);

/* After a successful decompress into a memfd buffer: trim the memfd and
 * its mapping to exactly o->len bytes and make the mapping read-only. */
int decomp_out_finish(struct decomp_out *o);

/* Unmap and close a memfd buffer (nothing for a fixed one). */
void decomp_out_free(struct decomp_out *o);

/*
 * Decompress in[0..inlen) as format c into o, from o->len on. Returns 0
 * with o->len the decoded size; negative errno with a message naming the
 * format and, where the library tells, the input byte offset: -EINVAL for
 * corrupt or truncated data, -EFBIG past the cap, -ENOTSUP for LZO and
 * unknown formats, -ENOMEM. Trailing bytes after the end of the stream
 * (Linux's size trailer) are ignored.
 */
int decompress(enum bz_comp c, const uint8_t *in, size_t inlen, struct decomp_out *o);

#endif
