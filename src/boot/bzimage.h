/* SPDX-License-Identifier: MIT */
/*
 * bzImage recognition: the x86 boot protocol's setup header and the
 * compressed payload it points at (Documentation/arch/x86/boot.rst). Pure:
 * a byte buffer in, a struct out, no I/O.
 */
#ifndef EMBER_BOOT_BZIMAGE_H
#define EMBER_BOOT_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

/* The compression of a bzImage payload, told by its first bytes. */
enum bz_comp {
	BZ_COMP_UNKNOWN = 0,
	BZ_COMP_GZIP,
	BZ_COMP_XZ,
	BZ_COMP_LZMA,
	BZ_COMP_BZIP2,
	BZ_COMP_LZ4,
	BZ_COMP_ZSTD,
	BZ_COMP_LZO, /* recognised, not supported */
};

/* The setup header fields a loader needs. Fields newer than the image's
 * protocol version read as zero. */
struct bzimage_info {
	uint16_t version;     /* boot protocol, e.g. 0x020f for 2.15 */
	unsigned setup_sects; /* 512-byte setup sectors (0 in the file means 4) */
	uint8_t loadflags;
	uint8_t relocatable_kernel;
	uint16_t xloadflags; /* 2.12+ */
	uint32_t kernel_alignment;
	uint32_t cmdline_size;	 /* 2.06+ */
	uint64_t pref_address;	 /* 2.10+ */
	uint32_t init_size;	 /* 2.10+ */
	uint32_t payload_offset; /* from the start of the protected-mode code */
	uint32_t payload_length;
	uint64_t payload_start; /* the payload's offset in the file */
	enum bz_comp comp;
	uint32_t size_hint; /* last 4 bytes of the payload (LE): uncompressed size */
};

/* Setup header offsets in the file (boot.rst, "The real-mode kernel header"). */
#define BZ_OFF_SETUP_SECTS    0x1f1
#define BZ_OFF_BOOT_FLAG      0x1fe
#define BZ_OFF_HEADER	      0x202
#define BZ_OFF_VERSION	      0x206
#define BZ_OFF_LOADFLAGS      0x211
#define BZ_OFF_KERNEL_ALIGN   0x230
#define BZ_OFF_RELOCATABLE    0x234
#define BZ_OFF_XLOADFLAGS     0x236
#define BZ_OFF_CMDLINE_SIZE   0x238
#define BZ_OFF_PAYLOAD_OFFSET 0x248
#define BZ_OFF_PAYLOAD_LENGTH 0x24c
#define BZ_OFF_PREF_ADDRESS   0x258
#define BZ_OFF_INIT_SIZE      0x260
#define BZ_HEADER_END	      0x264  /* the fields above all lie below */
#define BZ_MIN_VERSION	      0x0208 /* the first with payload_offset/length */

/*
 * Parse a bzImage held in buf[0..len). Returns 0 and fills *info; -ENOEXEC
 * (no message) when buf is not a bzImage at all (no boot flag or no "HdrS"),
 * so a caller can try another format; -EINVAL with a message for a bzImage
 * that is malformed: protocol older than 2.08, payload outside the file or
 * too short to hold its size trailer. An unknown compression is not an
 * error here (comp is BZ_COMP_UNKNOWN): the decompressor refuses it.
 */
int bzimage_parse(const uint8_t *buf, size_t len, struct bzimage_info *info);

/* The compression whose magic starts p[0..len); BZ_COMP_UNKNOWN if none. */
enum bz_comp bzimage_comp_detect(const uint8_t *p, size_t len);

/* "gzip", "xz", ...; "unknown" for BZ_COMP_UNKNOWN. */
const char *bzimage_comp_name(enum bz_comp c);

#endif
