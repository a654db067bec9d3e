// SPDX-License-Identifier: MIT
#include "boot/decompress.h"

#include <bzlib.h>
#include <errno.h>
#include <limits.h>
#include <lz4.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "util.h"

#define PAGE	    4096u
#define DEFAULT_CAP ((size_t)64 << 20)
/* The libraries count bytes in unsigned int: feed them at most this much. */
#define CHUNK ((size_t)1 << 30)
/* Linux's legacy lz4 blocks decode to 8 MiB each (lib/decompress_unlz4.c). */
#define LZ4_BLOCK	 ((size_t)8 << 20)
#define LZ4_LEGACY_MAGIC 0x184c2102u
/* xz and lzma decoders allocate their dictionary as the header asks: Linux
 * uses 32 MiB (xz) and 64 MiB (lzma -9); refuse the absurd. */
#define LZMA_MEMLIMIT ((uint64_t)512 << 20)

void decomp_out_fixed(struct decomp_out *o, uint8_t *buf, size_t cap)
{
	*o = (struct decomp_out){ .buf = buf, .cap = cap, .max = cap, .memfd = -1 };
}

static size_t page_round(size_t n)
{
	return (n + PAGE - 1) & ~(size_t)(PAGE - 1);
}

int decomp_out_memfd(struct decomp_out *o, size_t hint, size_t max)
{
	size_t cap;
	void *p;
	int fd;

	if (max > DECOMP_MAX_OUT)
		max = DECOMP_MAX_OUT;
	max = page_round(max);
	cap = hint && hint <= max ? page_round(hint) : DEFAULT_CAP < max ? DEFAULT_CAP : max;
	if (cap == 0)
		return ember_seterr(-EINVAL, "decompress: no room for output");
	fd = memfd_create("ember-vmlinux", MFD_CLOEXEC);
	if (fd < 0)
		return ember_seterr(-errno, "memfd_create: %s", strerror(errno));
	if (ftruncate(fd, (off_t)cap) < 0) {
		int err = -errno;

		close(fd);
		return ember_seterr(err, "memfd of %zu bytes: %s", cap, strerror(-err));
	}
	p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		close(fd);
		return ember_seterr(err, "mmap of %zu bytes: %s", cap, strerror(-err));
	}
	*o = (struct decomp_out){ .buf = p, .cap = cap, .max = max, .memfd = fd };
	return 0;
}

void decomp_out_free(struct decomp_out *o)
{
	if (o->memfd < 0)
		return;
	if (o->buf)
		munmap(o->buf, o->cap);
	close(o->memfd);
	o->buf = NULL;
	o->memfd = -1;
}

/* Room for at least `want` more bytes (fewer if max forbids): grow a memfd
 * buffer by doubling. Returns 0, or -EFBIG when the buffer is full and may
 * not grow. */
static int out_reserve(struct decomp_out *o, size_t want)
{
	size_t need, cap = o->cap;
	void *p;

	if (o->cap - o->len >= want)
		return 0;
	if (o->memfd < 0 || o->cap >= o->max)
		return o->cap > o->len ? 0 : -EFBIG;
	if (ckd_add(&need, o->len, want) || need > o->max)
		need = o->max;
	while (cap < need)
		cap = cap > o->max / 2 ? o->max : cap * 2;
	if (ftruncate(o->memfd, (off_t)cap) < 0)
		return ember_seterr(-errno, "growing the output to %zu bytes: %s", cap,
				    strerror(errno));
	p = mremap(o->buf, o->cap, cap, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return ember_seterr(-errno, "growing the output to %zu bytes: %s", cap,
				    strerror(errno));
	o->buf = p;
	o->cap = cap;
	return 0;
}

int decomp_out_finish(struct decomp_out *o)
{
	size_t keep = page_round(o->len);

	if (o->memfd < 0)
		return 0;
	if (keep < o->cap) {
		munmap(o->buf + keep, o->cap - keep);
		o->cap = keep;
	}
	if (ftruncate(o->memfd, (off_t)o->len) < 0)
		return ember_seterr(-errno, "memfd: %s", strerror(errno));
	if (o->cap && mprotect(o->buf, o->cap, PROT_READ) < 0)
		return ember_seterr(-errno, "mprotect: %s", strerror(errno));
	return 0;
}

static int too_big(const char *fmt, const struct decomp_out *o, size_t at)
{
	return ember_seterr(-EFBIG,
			    "%s payload: decodes to more than %zu bytes (at input byte %zu)", fmt,
			    o->max, at);
}

static int truncated(const char *fmt, size_t inlen)
{
	return ember_seterr(-EINVAL,
			    "%s payload: truncated (all %zu bytes read before the end "
			    "of the stream)",
			    fmt, inlen);
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Feed the next piece of input to a library that counts in unsigned int:
 * *fed is how much of in[] was handed over so far. */
static size_t next_feed(size_t inlen, size_t *fed)
{
	size_t n = min_sz(inlen - *fed, CHUNK);

	*fed += n;
	return n;
}

/* Make room in o for the next decode call: -EFBIG becomes the "decodes to
 * more than" message. */
static int reserve(const char *fmt, struct decomp_out *o, size_t want, size_t at)
{
	int err = out_reserve(o, want);

	return err == -EFBIG ? too_big(fmt, o, at) : err;
}

static int do_gzip(const uint8_t *in, size_t inlen, struct decomp_out *o)
{
	z_stream s = { 0 };
	size_t fed = 0;
	int r, err = 0;

	/* 16 + MAX_WBITS: a gzip wrapper, its CRC32 and size checked. */
	if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK)
		return ember_seterr(-ENOMEM, "gzip payload: cannot start zlib");
	for (;;) {
		uInt room;

		if (s.avail_in == 0 && fed < inlen) {
			s.next_in = (Bytef *)in + fed;
			s.avail_in = (uInt)next_feed(inlen, &fed);
		}
		err = reserve("gzip", o, PAGE, fed - s.avail_in);
		if (err)
			break;
		s.next_out = o->buf + o->len;
		s.avail_out = room = (uInt)min_sz(o->cap - o->len, CHUNK);
		r = inflate(&s, Z_NO_FLUSH);
		o->len += room - s.avail_out;
		if (r == Z_STREAM_END)
			break;
		if (r == Z_BUF_ERROR && s.avail_in == 0 && fed == inlen) {
			err = truncated("gzip", inlen);
			break;
		}
		if (r != Z_OK && r != Z_BUF_ERROR) {
			err = ember_seterr(r == Z_MEM_ERROR ? -ENOMEM : -EINVAL,
					   "gzip payload: corrupt data at byte %zu: %s",
					   fed - s.avail_in, s.msg ? s.msg : "inflate failed");
			break;
		}
	}
	inflateEnd(&s);
	return err;
}

static const char *lzma_why(lzma_ret r)
{
	switch (r) {
	case LZMA_FORMAT_ERROR:
		return "not in the expected format";
	case LZMA_OPTIONS_ERROR:
		return "unsupported options";
	case LZMA_DATA_ERROR:
		return "corrupt data";
	case LZMA_MEMLIMIT_ERROR:
	case LZMA_MEM_ERROR:
		return "needs too much memory";
	default:
		return "decoder error";
	}
}

/* xz (.xz container: CRC32 checked, the x86 BCJ filter Linux uses) and
 * lzma (the legacy .lzma "alone" format, end marker or known size). */
static int do_lzma(bool xz, const uint8_t *in, size_t inlen, struct decomp_out *o)
{
	const char *fmt = xz ? "xz" : "lzma";
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret r;
	int err = 0;

	/* No LZMA_CONCATENATED: the stream ends at its footer, and the size
	 * trailer after it is not read as stream padding. */
	r = xz ? lzma_stream_decoder(&s, LZMA_MEMLIMIT, 0) : lzma_alone_decoder(&s, LZMA_MEMLIMIT);
	if (r != LZMA_OK)
		return ember_seterr(-ENOMEM, "%s payload: cannot start liblzma", fmt);
	s.next_in = in;
	s.avail_in = inlen;
	for (;;) {
		size_t room;

		err = reserve(fmt, o, PAGE, (size_t)s.total_in);
		if (err)
			break;
		s.next_out = o->buf + o->len;
		s.avail_out = room = o->cap - o->len;
		r = lzma_code(&s, LZMA_RUN);
		o->len += room - s.avail_out;
		if (r == LZMA_STREAM_END)
			break;
		if (r == LZMA_BUF_ERROR && s.avail_in == 0) {
			err = truncated(fmt, inlen);
			break;
		}
		if (r != LZMA_OK && r != LZMA_BUF_ERROR) {
			err = ember_seterr(
			    r == LZMA_MEM_ERROR || r == LZMA_MEMLIMIT_ERROR ? -ENOMEM : -EINVAL,
			    "%s payload: %s at byte %llu", fmt, lzma_why(r),
			    (unsigned long long)s.total_in);
			break;
		}
	}
	lzma_end(&s);
	return err;
}

static int do_bzip2(const uint8_t *in, size_t inlen, struct decomp_out *o)
{
	bz_stream s = { 0 };
	size_t fed = 0;
	int r, err = 0;

	if (BZ2_bzDecompressInit(&s, 0, 0) != BZ_OK)
		return ember_seterr(-ENOMEM, "bzip2 payload: cannot start libbz2");
	for (;;) {
		unsigned room;

		if (s.avail_in == 0 && fed < inlen) {
			s.next_in = (char *)in + fed;
			s.avail_in = (unsigned)next_feed(inlen, &fed);
		}
		err = reserve("bzip2", o, PAGE, fed - s.avail_in);
		if (err)
			break;
		s.next_out = (char *)o->buf + o->len;
		s.avail_out = room = (unsigned)min_sz(o->cap - o->len, CHUNK);
		r = BZ2_bzDecompress(&s);
		o->len += room - s.avail_out;
		if (r == BZ_STREAM_END)
			break;
		if (r != BZ_OK) {
			err = ember_seterr(
			    r == BZ_MEM_ERROR ? -ENOMEM : -EINVAL,
			    "bzip2 payload: corrupt data at byte %zu (libbz2 error %d)",
			    fed - s.avail_in, r);
			break;
		}
		/* BZ_OK with all input read and room left: it wants more. */
		if (s.avail_in == 0 && fed == inlen && s.avail_out) {
			err = truncated("bzip2", inlen);
			break;
		}
	}
	BZ2_bzDecompressEnd(&s);
	return err;
}

static int do_zstd(const uint8_t *in, size_t inlen, struct decomp_out *o)
{
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_inBuffer ib = { in, inlen, 0 };
	int err = 0;

	if (!d)
		return ember_seterr(-ENOMEM, "zstd payload: cannot start libzstd");
	for (;;) {
		ZSTD_outBuffer ob;
		size_t r;

		err = reserve("zstd", o, PAGE, ib.pos);
		if (err)
			break;
		ob = (ZSTD_outBuffer){ o->buf + o->len, o->cap - o->len, 0 };
		r = ZSTD_decompressStream(d, &ob, &ib);
		o->len += ob.pos;
		if (ZSTD_isError(r)) {
			err = ember_seterr(
			    ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? -ENOMEM
										 : -EINVAL,
			    "zstd payload: %s at byte %zu", ZSTD_getErrorName(r), ib.pos);
			break;
		}
		if (r == 0) /* the frame is complete and flushed */
			break;
		if (ib.pos == ib.size && ob.pos < ob.size) {
			err = truncated("zstd", inlen);
			break;
		}
	}
	ZSTD_freeDCtx(d);
	return err;
}

/*
 * Linux's lz4 payload (lz4 -l): the legacy magic, then blocks, each a LE32
 * compressed length and LZ4 data decoding to at most 8 MiB; the magic may
 * recur (concatenated files) and the payload ends with Linux's 4-byte size
 * trailer, which is what is left when exactly 4 bytes remain.
 */
static int do_lz4(const uint8_t *in, size_t inlen, struct decomp_out *o)
{
	size_t pos = 4, bound = (size_t)LZ4_compressBound((int)LZ4_BLOCK);
	uint8_t *scratch = NULL;
	int err = 0;

	while (pos < inlen && inlen - pos != 4) {
		size_t at = pos, csize, room;
		uint8_t *dst;
		int n;

		if (inlen - pos < 4) {
			err = truncated("lz4", inlen);
			break;
		}
		csize = get_le32(in + pos);
		pos += 4;
		if (csize == LZ4_LEGACY_MAGIC)
			continue;
		if (csize == 0 || csize > bound) {
			err = ember_seterr(-EINVAL,
					   "lz4 payload: block at byte %zu has a bad length %zu",
					   at, csize);
			break;
		}
		if (csize > inlen - pos) {
			err = truncated("lz4", inlen);
			break;
		}
		err = reserve("lz4", o, LZ4_BLOCK, at);
		if (err)
			break;
		room = o->cap - o->len;
		dst = o->buf + o->len;
		/* Too little room for a whole block (a fixed buffer, or the cap):
		 * decode into scratch to tell a block too large from a bad one. */
		if (room < LZ4_BLOCK) {
			if (!scratch && !(scratch = malloc(LZ4_BLOCK))) {
				err = ember_seterr(-ENOMEM, "lz4 payload: out of memory");
				break;
			}
			dst = scratch;
		}
		n = LZ4_decompress_safe((const char *)in + pos, (char *)dst, (int)csize,
					(int)LZ4_BLOCK);
		if (n < 0) {
			err = ember_seterr(-EINVAL, "lz4 payload: corrupt block at byte %zu", at);
			break;
		}
		if ((size_t)n > room) {
			err = too_big("lz4", o, at);
			break;
		}
		if (dst == scratch)
			memcpy(o->buf + o->len, scratch, (size_t)n);
		o->len += (size_t)n;
		pos += csize;
	}
	free(scratch);
	return err;
}

static int decode(enum bz_comp c, const uint8_t *in, size_t inlen, struct decomp_out *o)
{
	switch (c) {
	case BZ_COMP_GZIP:
		return do_gzip(in, inlen, o);
	case BZ_COMP_XZ:
		return do_lzma(true, in, inlen, o);
	case BZ_COMP_LZMA:
		return do_lzma(false, in, inlen, o);
	case BZ_COMP_BZIP2:
		return do_bzip2(in, inlen, o);
	case BZ_COMP_ZSTD:
		return do_zstd(in, inlen, o);
	case BZ_COMP_LZ4:
		return do_lz4(in, inlen, o);
	case BZ_COMP_LZO:
		/* Debian ships liblzo2, but no distribution kernel uses LZO
		 * (Debian: xz, Fedora and Ubuntu: zstd): not worth a library. */
		return ember_seterr(-ENOTSUP, "LZO-compressed kernels are not supported (rebuild "
					      "with another CONFIG_KERNEL_ compression)");
	default:
		return ember_seterr(-ENOTSUP,
				    "unknown payload compression (magic %02x %02x %02x "
				    "%02x)",
				    inlen > 0 ? in[0] : 0, inlen > 1 ? in[1] : 0,
				    inlen > 2 ? in[2] : 0, inlen > 3 ? in[3] : 0);
	}
}

int decompress(enum bz_comp c, const uint8_t *in, size_t inlen, struct decomp_out *o)
{
	size_t start = o->len;
	int err = decode(c, in, inlen, o);

	if (!err && o->len == start)
		err = ember_seterr(-EINVAL, "%s payload: decodes to nothing", bzimage_comp_name(c));
	return err;
}
