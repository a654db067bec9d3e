// SPDX-License-Identifier: MIT
/* Writes the fuzz_bzimage seeds: a small ELF wrapped in a bzImage with each
 * payload format. Run from the repo root:
 *   cc -std=gnu11 -D_GNU_SOURCE -Isrc -Itests/unit -o /tmp/bzseeds tests/fuzz/bzseeds.c \
 *	tests/unit/bz_builder.c tests/unit/elf_builder.c src/boot/bzimage.c src/util.c -lz -llzma
 *-lzstd -llz4 -lbz2 /tmp/bzseeds tests/fuzz/corpus/bzimage */
#include <stdio.h>

#include "bz_builder.h"
#include "elf_builder.h"

int main(int argc, char **argv)
{
	static const enum bz_comp f[] = { BZ_COMP_GZIP,	 BZ_COMP_XZ,  BZ_COMP_LZMA,
					  BZ_COMP_BZIP2, BZ_COMP_LZ4, BZ_COMP_ZSTD };
	static uint8_t seg[16384], elf[32768], pay[32768], bz[40000];
	size_t elen;

	if (argc != 2)
		return 2;
	for (size_t i = 0; i < sizeof(seg); i++)
		seg[i] = i < 4096 ? (uint8_t)(i * 13) : 0;
	struct eb_seg s[] = { { 1, 0x100000, sizeof(seg), sizeof(seg), seg } };
	elen = eb_build(elf, sizeof(elf), 64, s, 1);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		size_t plen = bzb_compress(f[i], elf, elen, pay, sizeof(pay));
		size_t len = bzb_wrap(pay, plen, bz, sizeof(bz));
		char path[256];
		FILE *fp;

		snprintf(path, sizeof(path), "%s/seed-%s", argv[1], bzimage_comp_name(f[i]));
		fp = fopen(path, "wb");
		if (!plen || !len || !fp || fwrite(bz, 1, len, fp) != len || fclose(fp))
			return 1;
	}
	return 0;
}
