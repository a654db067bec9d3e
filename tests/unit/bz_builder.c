// SPDX-License-Identifier: MIT
#include "bz_builder.h"

#include <bzlib.h>
#include <lz4.h>
#include <lzma.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "util.h"

#define SETUP_SECTS 1
#define PAYLOAD_OFF 0x40

static size_t gzip(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	z_stream s = { 0 };
	size_t n = 0;

	if (deflateInit2(&s, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return 0;
	s.next_in = (Bytef *)in;
	s.avail_in = (uInt)len;
	s.next_out = out;
	s.avail_out = (uInt)cap;
	if (deflate(&s, Z_FINISH) == Z_STREAM_END)
		n = s.total_out;
	deflateEnd(&s);
	return n;
}

static size_t lzma_alone(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_options_lzma opt;
	size_t n = 0;

	if (lzma_lzma_preset(&opt, 6) || lzma_alone_encoder(&s, &opt) != LZMA_OK)
		return 0;
	s.next_in = in;
	s.avail_in = len;
	s.next_out = out;
	s.avail_out = cap;
	if (lzma_code(&s, LZMA_FINISH) == LZMA_STREAM_END)
		n = (size_t)s.total_out;
	lzma_end(&s);
	return n;
}

static size_t lz4_legacy(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	const size_t block = (size_t)8 << 20;
	size_t n = 4;

	if (cap < 4)
		return 0;
	put_le32(out, 0x184c2102);
	for (size_t pos = 0; pos < len; pos += block) {
		size_t chunk = len - pos < block ? len - pos : block;
		int c;

		if (cap - n < 4)
			return 0;
		c = LZ4_compress_default(
		    (const char *)in + pos, (char *)out + n + 4, (int)chunk,
		    (int)(cap - n - 4 > 0x7fffffff ? 0x7fffffff : cap - n - 4));
		if (c <= 0)
			return 0;
		put_le32(out + n, (uint32_t)c);
		n += 4 + (size_t)c;
	}
	return n;
}

size_t bzb_compress(enum bz_comp c, const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned bn;

	switch (c) {
	case BZ_COMP_GZIP:
		return gzip(in, len, out, cap); /* gzip's own trailer is the size */
	case BZ_COMP_XZ:
		/* Linux: xz --check=crc32 --x86 --lzma2=dict=32MiB; the
		 * decoder does not care about the filters chosen. */
		if (lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, in, len, out, &n, cap) !=
		    LZMA_OK)
			return 0;
		break;
	case BZ_COMP_LZMA:
		n = lzma_alone(in, len, out, cap);
		break;
	case BZ_COMP_BZIP2:
		bn = (unsigned)cap;
		if (BZ2_bzBuffToBuffCompress((char *)out, &bn, (char *)in, (unsigned)len, 9, 0,
					     0) != BZ_OK)
			return 0;
		n = bn;
		break;
	case BZ_COMP_LZ4:
		n = lz4_legacy(in, len, out, cap);
		break;
	case BZ_COMP_ZSTD:
		n = ZSTD_compress(out, cap, in, len, 19);
		if (ZSTD_isError(n))
			return 0;
		break;
	default:
		return 0;
	}
	if (n == 0 || cap - n < 4)
		return 0;
	put_le32(out + n, (uint32_t)len); /* Linux's size_append */
	return n + 4;
}

size_t bzb_wrap(const uint8_t *payload, size_t plen, uint8_t *out, size_t cap)
{
	size_t start = (SETUP_SECTS + 1) * 512 + PAYLOAD_OFF, len = start + plen + 16;

	if (len > cap)
		return 0;
	memset(out, 0, len);
	out[BZ_OFF_SETUP_SECTS] = SETUP_SECTS;
	put_le16(out + BZ_OFF_BOOT_FLAG, 0xaa55);
	memcpy(out + BZ_OFF_HEADER, "HdrS", 4);
	put_le16(out + BZ_OFF_VERSION, 0x020f);
	out[BZ_OFF_LOADFLAGS] = 1; /* LOADED_HIGH */
	put_le32(out + BZ_OFF_KERNEL_ALIGN, 0x200000);
	out[BZ_OFF_RELOCATABLE] = 1;
	put_le16(out + BZ_OFF_XLOADFLAGS, 0x7f);
	put_le32(out + BZ_OFF_CMDLINE_SIZE, 2047);
	put_le32(out + BZ_OFF_PAYLOAD_OFFSET, PAYLOAD_OFF);
	put_le32(out + BZ_OFF_PAYLOAD_LENGTH, (uint32_t)plen);
	put_le64(out + BZ_OFF_PREF_ADDRESS, 0x1000000);
	put_le32(out + BZ_OFF_INIT_SIZE, 0x2000000);
	memcpy(out + start, payload, plen);
	memset(out + start + plen, 0x90, 16);
	return len;
}
