// SPDX-License-Identifier: MIT
#include "boot/bzimage.h"

#include <errno.h>
#include <string.h>

#include "util.h"

static const struct {
	enum bz_comp comp;
	const char *name;
	uint8_t len;
	uint8_t magic[6];
} comps[] = {
	/* The magics Linux's boot/compressed decompressors accept (and the
	 * payload its Makefile builds with each compressor). */
	{ BZ_COMP_GZIP, "gzip", 2, { 0x1f, 0x8b } },
	{ BZ_COMP_XZ, "xz", 6, { 0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00 } },
	/* lzma "alone": properties byte 0x5d (lc=3 lp=0 pb=2) and a
	 * little-endian dictionary size whose low bytes are zero. */
	{ BZ_COMP_LZMA, "lzma", 3, { 0x5d, 0x00, 0x00 } },
	{ BZ_COMP_BZIP2, "bzip2", 3, { 'B', 'Z', 'h' } },
	/* lz4's legacy frame (lz4 -l), the only one Linux's unlz4 reads. */
	{ BZ_COMP_LZ4, "lz4", 4, { 0x02, 0x21, 0x4c, 0x18 } },
	{ BZ_COMP_ZSTD, "zstd", 4, { 0x28, 0xb5, 0x2f, 0xfd } },
	{ BZ_COMP_LZO, "lzo", 4, { 0x89, 0x4c, 0x5a, 0x4f } },
};

enum bz_comp bzimage_comp_detect(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(comps); i++)
		if (len >= comps[i].len && memcmp(p, comps[i].magic, comps[i].len) == 0)
			return comps[i].comp;
	return BZ_COMP_UNKNOWN;
}

const char *bzimage_comp_name(enum bz_comp c)
{
	for (size_t i = 0; i < ARRAY_SIZE(comps); i++)
		if (comps[i].comp == c)
			return comps[i].name;
	return "unknown";
}

int bzimage_parse(const uint8_t *buf, size_t len, struct bzimage_info *info)
{
	uint64_t setup_size, start, end;

	memset(info, 0, sizeof(*info));
	/* Too short for the boot flag and "HdrS": not a bzImage. */
	if (len < BZ_OFF_HEADER + 4 || get_le16(buf + BZ_OFF_BOOT_FLAG) != 0xaa55 ||
	    memcmp(buf + BZ_OFF_HEADER, "HdrS", 4) != 0)
		return -ENOEXEC;
	if (len < BZ_HEADER_END)
		return ember_seterr(-EINVAL, "bzImage: setup header truncated (%zu of %u bytes)",
				    len, BZ_HEADER_END);
	info->version = get_le16(buf + BZ_OFF_VERSION);
	if (info->version < BZ_MIN_VERSION)
		return ember_seterr(-EINVAL,
				    "bzImage: boot protocol %u.%02u is older than 2.08 (no payload "
				    "offset in its header)",
				    info->version >> 8, info->version & 0xff);
	info->setup_sects = buf[BZ_OFF_SETUP_SECTS] ? buf[BZ_OFF_SETUP_SECTS] : 4;
	info->loadflags = buf[BZ_OFF_LOADFLAGS];
	info->kernel_alignment = get_le32(buf + BZ_OFF_KERNEL_ALIGN);
	info->relocatable_kernel = buf[BZ_OFF_RELOCATABLE];
	info->cmdline_size = get_le32(buf + BZ_OFF_CMDLINE_SIZE);
	if (info->version >= 0x020a) {
		info->pref_address = get_le64(buf + BZ_OFF_PREF_ADDRESS);
		info->init_size = get_le32(buf + BZ_OFF_INIT_SIZE);
	}
	if (info->version >= 0x020c)
		info->xloadflags = get_le16(buf + BZ_OFF_XLOADFLAGS);
	info->payload_offset = get_le32(buf + BZ_OFF_PAYLOAD_OFFSET);
	info->payload_length = get_le32(buf + BZ_OFF_PAYLOAD_LENGTH);

	/* The protected-mode code follows the boot sector and the setup
	 * sectors; payload_offset counts from there. All in 64 bits: the
	 * operands are at most 32 bits wide, so these sums cannot wrap. */
	setup_size = ((uint64_t)info->setup_sects + 1) * 512;
	start = setup_size + info->payload_offset;
	end = start + info->payload_length;
	if (end > len)
		return ember_seterr(-EINVAL,
				    "bzImage: payload at byte %llu (%u bytes) runs past the end of "
				    "the file (%zu bytes)",
				    (unsigned long long)start, info->payload_length, len);
	/* Linux appends the uncompressed size to every payload format. */
	if (info->payload_length < 8)
		return ember_seterr(-EINVAL, "bzImage: payload of %u bytes is too short",
				    info->payload_length);
	info->payload_start = start;
	info->comp = bzimage_comp_detect(buf + start, info->payload_length);
	info->size_hint = get_le32(buf + end - 4);
	return 0;
}
