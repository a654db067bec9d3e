// SPDX-License-Identifier: MIT
#include "boot/aml.h"

#include <errno.h>
#include <string.h>

#include "util.h"

#define NAMESEG 4

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	a->buf = buf;
	a->cap = cap;
	a->len = 0;
	a->err = 0;
}

static void fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

/* Room for n more bytes, or the sticky -ENOSPC. */
static uint8_t *room(struct aml *a, size_t n)
{
	uint8_t *p;

	if (a->err)
		return NULL;
	if (n > a->cap - a->len) {
		fail(a, -ENOSPC);
		return NULL;
	}
	p = a->buf + a->len;
	a->len += n;
	return p;
}

static void put(struct aml *a, const void *src, size_t n)
{
	uint8_t *p = room(a, n);

	if (p)
		memcpy(p, src, n);
}

static void put1(struct aml *a, uint8_t b)
{
	put(a, &b, 1);
}

static int namechar(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/*
 * NameString (section 20.2.2): an optional root prefix, then one NameSeg,
 * DualNamePrefix and two, or MultiNamePrefix, a count and more. Segments
 * shorter than four characters are padded with '_' as ASL does.
 */
static void namestring(struct aml *a, const char *path)
{
	uint8_t segs[255][NAMESEG];
	unsigned nsegs = 0;
	const char *s = path;

	if (*s == '\\') {
		put1(a, AML_ROOT_CHAR);
		s++;
	}
	while (*s) {
		size_t n = strcspn(s, ".");

		if (n == 0 || n > NAMESEG || nsegs == ARRAY_SIZE(segs)) {
			fail(a, -EINVAL);
			return;
		}
		memset(segs[nsegs], '_', NAMESEG);
		for (size_t i = 0; i < n; i++) {
			if (!namechar(s[i], i == 0)) {
				fail(a, -EINVAL);
				return;
			}
			segs[nsegs][i] = (uint8_t)s[i];
		}
		nsegs++;
		s += n;
		if (*s == '.' && *++s == '\0') {
			fail(a, -EINVAL); /* trailing dot */
			return;
		}
	}
	if (nsegs == 0) {
		put1(a, 0); /* NullName */
		return;
	}
	if (nsegs == 2) {
		put1(a, AML_DUAL_NAME);
	} else if (nsegs > 2) {
		put1(a, AML_MULTI_NAME);
		put1(a, (uint8_t)nsegs);
	}
	put(a, segs, (size_t)nsegs * NAMESEG);
}

/* A one-byte PkgLength placeholder; aml_close() widens it as needed. */
static size_t pkg_open(struct aml *a)
{
	size_t mark = a->len;

	put1(a, 0);
	return mark;
}

size_t aml_scope_open(struct aml *a, const char *path)
{
	size_t mark;

	put1(a, AML_SCOPE_OP);
	mark = pkg_open(a);
	namestring(a, path);
	return mark;
}

size_t aml_device_open(struct aml *a, const char *path)
{
	size_t mark;

	put1(a, AML_EXT_OP);
	put1(a, AML_DEVICE_OP);
	mark = pkg_open(a);
	namestring(a, path);
	return mark;
}

size_t aml_package_open(struct aml *a, uint8_t nelems)
{
	size_t mark;

	put1(a, AML_PACKAGE_OP);
	mark = pkg_open(a);
	put1(a, nelems);
	return mark;
}

/*
 * PkgLength (section 20.2.4) counts itself and the body. Up to 63 it is one
 * byte; beyond, bits 7-6 of the lead byte give the number of bytes that
 * follow (1-3), its bits 3-0 the low nibble, and each following byte the
 * next 8 bits: at most 2^28 - 1.
 */
static unsigned pkglen_size(size_t body, size_t *total)
{
	static const size_t limit[] = { 0x40, 1u << 12, 1u << 20, 1u << 28 };

	for (unsigned k = 1; k <= 4; k++) {
		if (body + k < limit[k - 1]) {
			*total = body + k;
			return k;
		}
	}
	return 0;
}

void aml_close(struct aml *a, size_t mark)
{
	size_t body, total;
	unsigned k;
	uint8_t *p;

	if (a->err)
		return;
	body = a->len - mark - 1;
	k = pkglen_size(body, &total);
	if (k == 0) {
		fail(a, -ENOSPC);
		return;
	}
	if (k > 1) {
		if (!room(a, k - 1))
			return;
		memmove(a->buf + mark + k, a->buf + mark + 1, body);
	}
	p = a->buf + mark;
	if (k == 1) {
		p[0] = (uint8_t)total;
		return;
	}
	p[0] = (uint8_t)((k - 1) << 6 | (total & 0x0f));
	for (unsigned i = 1; i < k; i++)
		p[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
}

long aml_pkglen_decode(const uint8_t *p, size_t avail, unsigned *nbytes)
{
	unsigned follow;
	long v;

	if (avail == 0)
		return -1;
	follow = p[0] >> 6;
	if (follow == 0) {
		*nbytes = 1;
		return p[0] & 0x3f;
	}
	if (avail < 1 + (size_t)follow || (p[0] & 0x30))
		return -1;
	v = p[0] & 0x0f;
	for (unsigned i = 1; i <= follow; i++)
		v |= (long)p[i] << (4 + 8 * (i - 1));
	*nbytes = 1 + follow;
	return v;
}

void aml_name(struct aml *a, const char *path)
{
	put1(a, AML_NAME_OP);
	namestring(a, path);
}

void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t b[9];
	size_t n;

	if (v == 0) {
		put1(a, AML_ZERO_OP);
		return;
	}
	if (v == 1) {
		put1(a, AML_ONE_OP);
		return;
	}
	if (v <= UINT8_MAX) {
		b[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= UINT16_MAX) {
		b[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= UINT32_MAX) {
		b[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		b[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	put_le64(b + 1, v); /* only the first n bytes are emitted */
	put(a, b, 1 + n);
}

void aml_string(struct aml *a, const char *s)
{
	for (const char *c = s; *c; c++) {
		if (*c < 0x20 || *c > 0x7e) {
			fail(a, -EINVAL);
			return;
		}
	}
	put1(a, AML_STRING_PREFIX);
	put(a, s, strlen(s) + 1);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The compressed EISA ID: each letter as 5 bits (A = 1), then the four hex
 * digits, 32 bits in all, stored most significant byte first (so "PNP"
 * comes out as the bytes 0x41 0xD0).
 */
void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;
	uint8_t b[5];

	if (strlen(id) != 7) {
		fail(a, -EINVAL);
		return;
	}
	for (unsigned i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			fail(a, -EINVAL);
			return;
		}
		v = v << 5 | (uint32_t)(id[i] - 'A' + 1);
	}
	for (unsigned i = 3; i < 7; i++) {
		int h = hexval(id[i]);

		if (h < 0) {
			fail(a, -EINVAL);
			return;
		}
		v = v << 4 | (uint32_t)h;
	}
	b[0] = AML_DWORD_PREFIX;
	b[1] = (uint8_t)(v >> 24);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 8);
	b[4] = (uint8_t)v;
	put(a, b, sizeof(b));
}

void aml_buffer(struct aml *a, const uint8_t *bytes, size_t n)
{
	size_t mark;

	put1(a, AML_BUFFER_OP);
	mark = pkg_open(a);
	aml_integer(a, n);
	put(a, bytes, n);
	aml_close(a, mark);
}

/* --- resource templates --------------------------------------------------- */

void aml_res_init(struct aml_res *r)
{
	r->len = 0;
	r->err = 0;
}

static uint8_t *res_room(struct aml_res *r, size_t n)
{
	uint8_t *p;

	if (r->err)
		return NULL;
	if (n > sizeof(r->b) - r->len) {
		r->err = -ENOSPC;
		return NULL;
	}
	p = r->b + r->len;
	r->len += n;
	return p;
}

/* Small I/O Port Descriptor (6.4.2.5): tag 0x47, 7 bytes of data. */
void aml_res_io(struct aml_res *r, uint16_t base, uint8_t len)
{
	uint8_t *p = res_room(r, 8);

	if (!p)
		return;
	p[0] = 0x47;
	p[1] = 0x01; /* decodes 16 address bits */
	put_le16(p + 2, base);
	put_le16(p + 4, base);
	p[6] = 1; /* alignment: min == max, so any */
	p[7] = len;
}

/* Small IRQ Descriptor (6.4.2.1), the two-byte form: tag 0x22, the IRQ
 * mask; without the flags byte it means edge, active high, exclusive. */
void aml_res_irq(struct aml_res *r, unsigned irq)
{
	uint8_t *p;

	if (irq > 15) {
		if (!r->err)
			r->err = -EINVAL;
		return;
	}
	p = res_room(r, 3);
	if (!p)
		return;
	p[0] = 0x22;
	put_le16(p + 1, (uint16_t)(1u << irq));
}

/* Large 32-Bit Fixed Memory Range Descriptor (6.4.3.4): tag 0x86, 9 bytes. */
void aml_res_mem32(struct aml_res *r, uint32_t base, uint32_t len)
{
	uint8_t *p = res_room(r, 12);

	if (!p)
		return;
	p[0] = 0x86;
	put_le16(p + 1, 9);
	p[3] = 0x01; /* read-write */
	put_le32(p + 4, base);
	put_le32(p + 8, len);
}

/* Large Extended Interrupt Descriptor (6.4.3.6): tag 0x89, one interrupt,
 * no resource source: 6 bytes of data. */
void aml_res_ext_irq(struct aml_res *r, uint8_t flags, uint32_t gsi)
{
	uint8_t *p = res_room(r, 9);

	if (!p)
		return;
	p[0] = 0x89;
	put_le16(p + 1, 6);
	p[3] = flags;
	p[4] = 1;
	put_le32(p + 5, gsi);
}

/* End Tag (6.4.2.9): tag 0x79 and a checksum byte, 0 meaning none. */
void aml_res_end(struct aml_res *r)
{
	uint8_t *p = res_room(r, 2);

	if (!p)
		return;
	p[0] = 0x79;
	p[1] = 0;
}
