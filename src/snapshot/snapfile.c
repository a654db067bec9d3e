// SPDX-License-Identifier: MIT
#include "snapshot/snapfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util.h"

static uint32_t crc(const uint8_t *p, size_t n)
{
	uLong c = crc32(0L, Z_NULL, 0);

	/* zlib takes a uInt length: feed large buffers in pieces. */
	while (n) {
		uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;

		c = crc32(c, p, k);
		p += k;
		n -= k;
	}
	return (uint32_t)c;
}

static void le_put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le_get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* --- writer ------------------------------------------------------------- */

void snap_w_init(struct snap_w *w)
{
	memset(w, 0, sizeof(*w));
	/* Room for the header, filled in by snap_finish(). */
	snap_put(w, NULL, SNAP_HEADER_SIZE);
}

void snap_w_free(struct snap_w *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void snap_put(struct snap_w *w, const void *p, size_t n)
{
	if (w->err)
		return;
	if (n > SNAP_FILE_MAX || w->len + n > SNAP_FILE_MAX) {
		w->err = -EFBIG;
		return;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		uint8_t *b;

		while (cap < w->len + n)
			cap *= 2;
		b = realloc(w->buf, cap);
		if (!b) {
			w->err = -ENOMEM;
			return;
		}
		w->buf = b;
		w->cap = cap;
	}
	if (p)
		memcpy(w->buf + w->len, p, n);
	else
		memset(w->buf + w->len, 0, n);
	w->len += n;
}

static void put_le(struct snap_w *w, uint64_t v, unsigned n)
{
	uint8_t b[8];

	le_put(b, v, n);
	snap_put(w, b, n);
}

void snap_put_u8(struct snap_w *w, uint8_t v)
{
	snap_put(w, &v, 1);
}

void snap_put_u16(struct snap_w *w, uint16_t v)
{
	put_le(w, v, 2);
}

void snap_put_u32(struct snap_w *w, uint32_t v)
{
	put_le(w, v, 4);
}

void snap_put_u64(struct snap_w *w, uint64_t v)
{
	put_le(w, v, 8);
}

void snap_put_str(struct snap_w *w, const char *s)
{
	size_t n = strlen(s);

	snap_put_u32(w, (uint32_t)n);
	snap_put(w, s, n);
}

static void close_section(struct snap_w *w)
{
	if (!w->section || w->err)
		return;
	le_put(w->buf + w->section, w->len - w->section - 4, 4);
	w->section = 0;
}

void snap_begin(struct snap_w *w, uint32_t tag, uint32_t instance)
{
	close_section(w);
	snap_put_u32(w, tag);
	snap_put_u32(w, instance);
	if (!w->err)
		w->section = w->len;
	snap_put_u32(w, 0);
}

int snap_finish(struct snap_w *w)
{
	uint8_t *h;

	close_section(w);
	if (w->err)
		return ember_seterr(w->err, "snapshot state: %s",
				    w->err == -EFBIG ? "larger than ember's 16 MiB limit"
						     : "out of memory");
	h = w->buf;
	memcpy(h, SNAP_MAGIC, 8);
	le_put(h + 8, SNAP_VERSION, 4);
	le_put(h + 12, 0, 4);
	le_put(h + 16, w->len - SNAP_HEADER_SIZE, 8);
	snap_seal_body(h, w->len);
	return 0;
}

void snap_seal_header(uint8_t *h)
{
	le_put(h + 28, crc(h, 28), 4);
}

void snap_seal_body(uint8_t *buf, size_t len)
{
	le_put(buf + 24, crc(buf + SNAP_HEADER_SIZE, len - SNAP_HEADER_SIZE), 4);
	snap_seal_header(buf);
}

/* --- reader ------------------------------------------------------------- */

void snap_r_init(struct snap_r *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->err = 0;
}

void snap_get(struct snap_r *r, void *dst, size_t n)
{
	if (r->err || n > r->len - r->off) {
		r->err = -EINVAL;
		if (dst)
			memset(dst, 0, n);
		return;
	}
	if (dst)
		memcpy(dst, r->p + r->off, n);
	r->off += n;
}

static uint64_t get_le(struct snap_r *r, unsigned n)
{
	uint8_t b[8];

	snap_get(r, b, n);
	return le_get(b, n);
}

uint8_t snap_get_u8(struct snap_r *r)
{
	return (uint8_t)get_le(r, 1);
}

uint16_t snap_get_u16(struct snap_r *r)
{
	return (uint16_t)get_le(r, 2);
}

uint32_t snap_get_u32(struct snap_r *r)
{
	return (uint32_t)get_le(r, 4);
}

uint64_t snap_get_u64(struct snap_r *r)
{
	return get_le(r, 8);
}

bool snap_get_bool(struct snap_r *r)
{
	uint8_t v = snap_get_u8(r);

	if (v > 1)
		r->err = -EINVAL;
	return v == 1;
}

void snap_get_str(struct snap_r *r, char *dst, size_t cap)
{
	uint32_t n = snap_get_u32(r);

	dst[0] = '\0';
	if (r->err)
		return;
	if (n >= cap) {
		r->err = -EINVAL;
		return;
	}
	snap_get(r, dst, n);
	dst[r->err ? 0 : n] = '\0';
	if (!r->err && strlen(dst) != n)
		r->err = -EINVAL;
}

int snap_r_end(struct snap_r *r)
{
	if (r->err)
		return r->err;
	return r->off == r->len ? 0 : -EINVAL;
}

/* --- the whole file ------------------------------------------------------ */

const char *snap_tag_name(uint32_t tag, char out[5])
{
	for (unsigned i = 0; i < 4; i++) {
		char c = (char)(tag >> (8 * i));

		out[i] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	out[4] = '\0';
	return out;
}

int snap_parse(const uint8_t *buf, size_t len, struct snap_file *f)
{
	uint64_t body;
	size_t off;

	memset(f, 0, sizeof(*f));
	if (len < 8 || memcmp(buf, SNAP_MAGIC, 8) != 0)
		return ember_seterr(-EINVAL, "not an ember snapshot (no EMBERSNP header)");
	if (len < SNAP_HEADER_SIZE)
		return ember_seterr(-EINVAL, "damaged: truncated inside its %u-byte header",
				    SNAP_HEADER_SIZE);
	if (crc(buf, 28) != (uint32_t)le_get(buf + 28, 4))
		return ember_seterr(-EINVAL, "damaged: header checksum mismatch");
	f->version = (uint32_t)le_get(buf + 8, 4);
	if (f->version != SNAP_VERSION)
		return ember_seterr(-EPROTO,
				    "format version %u; this ember (%s) reads version %u only",
				    f->version, EMBER_VERSION, SNAP_VERSION);
	if (le_get(buf + 12, 4) != 0)
		return ember_seterr(-EPROTO, "unknown header flags 0x%x",
				    (unsigned)le_get(buf + 12, 4));
	body = le_get(buf + 16, 8);
	if (body != len - SNAP_HEADER_SIZE)
		return ember_seterr(-EINVAL,
				    "damaged: %zu bytes after the header, the header says %llu%s",
				    len - SNAP_HEADER_SIZE, (unsigned long long)body,
				    body > len - SNAP_HEADER_SIZE ? " (truncated?)" : "");
	if (crc(buf + SNAP_HEADER_SIZE, len - SNAP_HEADER_SIZE) != (uint32_t)le_get(buf + 24, 4))
		return ember_seterr(-EINVAL, "damaged: checksum mismatch");
	for (off = SNAP_HEADER_SIZE; off < len;) {
		struct snap_section *s;

		if (len - off < 12)
			return ember_seterr(-EINVAL, "damaged: a section header is cut short");
		if (f->nsections == SNAP_SECTIONS_MAX)
			return ember_seterr(-EINVAL, "more than %u sections", SNAP_SECTIONS_MAX);
		s = &f->sec[f->nsections++];
		s->tag = (uint32_t)le_get(buf + off, 4);
		s->instance = (uint32_t)le_get(buf + off + 4, 4);
		s->len = (uint32_t)le_get(buf + off + 8, 4);
		off += 12;
		if (s->len > len - off) {
			char t[5];

			return ember_seterr(-EINVAL, "damaged: section %s runs past the end",
					    snap_tag_name(s->tag, t));
		}
		s->data = buf + off;
		off += s->len;
	}
	return 0;
}

const struct snap_section *snap_find(const struct snap_file *f, uint32_t tag, uint32_t instance)
{
	for (unsigned i = 0; i < f->nsections; i++)
		if (f->sec[i].tag == tag && f->sec[i].instance == instance)
			return &f->sec[i];
	return NULL;
}
