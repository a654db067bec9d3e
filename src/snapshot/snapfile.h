/* SPDX-License-Identifier: MIT */
/*
 * The snapshot state file's container: pure functions over byte buffers, no
 * KVM and no files, so the parser is fuzzed and unit-tested alone.
 *
 *   offset 0   "EMBERSNP"                      magic
 *          8   u32 format version              SNAP_VERSION
 *         12   u32 flags                       0
 *         16   u64 body length
 *         24   u32 CRC-32 of the body          (zlib's crc32)
 *         28   u32 CRC-32 of bytes 0..27
 *         32   body: sections, back to back, to the end of the file
 *
 * A section is a u32 tag (four ASCII letters, first letter in the lowest
 * byte), a u32 instance number (the vCPU id, the device slot), a u32 length
 * and that many bytes. Integers are little-endian. Readers take a section's
 * fields with the snap_r_* helpers, which fail (stickily) on a short read,
 * and every section must be consumed exactly: a longer or shorter one than
 * its reader expects is an error, never a silent skip.
 */
#ifndef EMBER_SNAPSHOT_SNAPFILE_H
#define EMBER_SNAPSHOT_SNAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC	 "EMBERSNP"
#define SNAP_VERSION	 1u
#define SNAP_HEADER_SIZE 32u
/* The largest state file ember writes or reads: 64 vCPUs of a few KiB
 * each and 16 devices fit in well under 1 MiB. */
#define SNAP_FILE_MAX	  (16u << 20)
#define SNAP_SECTIONS_MAX 256u

#define SNAP_TAG(a, b, c, d)                                                                       \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

/* A growing buffer. Out of memory sets err; later puts do nothing. */
struct snap_w {
	uint8_t *buf;
	size_t len, cap;
	size_t section; /* offset of the open section's length field, or 0 */
	int err;
};

void snap_w_init(struct snap_w *w);
void snap_w_free(struct snap_w *w);
void snap_put(struct snap_w *w, const void *p, size_t n);
void snap_put_u8(struct snap_w *w, uint8_t v);
void snap_put_u16(struct snap_w *w, uint16_t v);
void snap_put_u32(struct snap_w *w, uint32_t v);
void snap_put_u64(struct snap_w *w, uint64_t v);
/* A NUL-terminated string: u32 length, then the bytes without the NUL. */
void snap_put_str(struct snap_w *w, const char *s);
/* Open a section (closed by the next snap_begin or snap_finish). */
void snap_begin(struct snap_w *w, uint32_t tag, uint32_t instance);
/* Close the last section and fill in the header. The file is w->buf,
 * w->len bytes. 0, or -ENOMEM/-EFBIG with a message. */
int snap_finish(struct snap_w *w);

/* Recompute the header's checksum (after editing bytes 0..27), or the body's
 * and then the header's: for snap_finish() and for tests that forge files. */
void snap_seal_header(uint8_t *h);
void snap_seal_body(uint8_t *buf, size_t len);

/* A bounded reader. The first short read sets err (-EINVAL); after that every
 * read yields zeros. */
struct snap_r {
	const uint8_t *p;
	size_t len, off;
	int err;
};

void snap_r_init(struct snap_r *r, const void *p, size_t len);
void snap_get(struct snap_r *r, void *dst, size_t n);
uint8_t snap_get_u8(struct snap_r *r);
uint16_t snap_get_u16(struct snap_r *r);
uint32_t snap_get_u32(struct snap_r *r);
uint64_t snap_get_u64(struct snap_r *r);
bool snap_get_bool(struct snap_r *r); /* a u8 that must be 0 or 1 */
/* A string written by snap_put_str into dst (cap bytes with its NUL): too
 * long, or an embedded NUL, is an error. */
void snap_get_str(struct snap_r *r, char *dst, size_t cap);
/* After a section's reader: err, or -EINVAL if bytes are left over. */
int snap_r_end(struct snap_r *r);

struct snap_section {
	uint32_t tag, instance, len;
	const uint8_t *data;
};

struct snap_file {
	uint32_t version;
	unsigned nsections;
	struct snap_section sec[SNAP_SECTIONS_MAX];
};

/* Check the header, both checksums and the section framing of a whole state
 * file. 0, or a negative errno with a message that says what is wrong in
 * words a user can act on (not a snapshot, another format version, damaged).
 * f's sections point into buf. */
int snap_parse(const uint8_t *buf, size_t len, struct snap_file *f);

/* The first section with tag and instance, or NULL. */
const struct snap_section *snap_find(const struct snap_file *f, uint32_t tag, uint32_t instance);
/* Four letters of a tag, for messages. */
const char *snap_tag_name(uint32_t tag, char out[5]);

#endif
