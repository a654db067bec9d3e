// SPDX-License-Identifier: MIT
/* mkbzimage FORMAT IN OUT: wrap the file IN (a test guest's ELF) in a
 * synthetic bzImage whose payload is IN compressed as FORMAT (gzip, xz,
 * lzma, bzip2, lz4, zstd), the way Linux's build does. For the CLI tests
 * of ember's bzImage unwrap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bz_builder.h"

int main(int argc, char **argv)
{
	static const enum bz_comp all[] = { BZ_COMP_GZIP,  BZ_COMP_XZ,	BZ_COMP_LZMA,
					    BZ_COMP_BZIP2, BZ_COMP_LZ4, BZ_COMP_ZSTD };
	enum bz_comp c = BZ_COMP_UNKNOWN;
	uint8_t *in, *pay, *bz;
	size_t inlen, plen, len, cap;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: mkbzimage gzip|xz|lzma|bzip2|lz4|zstd IN OUT\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(argv[1], bzimage_comp_name(all[i])) == 0)
			c = all[i];
	f = fopen(argv[2], "rb");
	if (c == BZ_COMP_UNKNOWN || !f || fseek(f, 0, SEEK_END) ||
	    (long)(inlen = (size_t)ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "mkbzimage: bad format or input\n");
		return 1;
	}
	cap = inlen + inlen / 2 + (1 << 16);
	in = malloc(inlen + 1);
	pay = malloc(cap);
	bz = malloc(cap + 4096);
	if (!in || !pay || !bz || fread(in, 1, inlen, f) != inlen)
		return 1;
	fclose(f);
	plen = bzb_compress(c, in, inlen, pay, cap);
	len = plen ? bzb_wrap(pay, plen, bz, cap + 4096) : 0;
	f = fopen(argv[3], "wb");
	if (!len || !f || fwrite(bz, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "mkbzimage: cannot build %s\n", argv[3]);
		return 1;
	}
	return 0;
}
