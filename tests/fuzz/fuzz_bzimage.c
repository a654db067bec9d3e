// SPDX-License-Identifier: MIT
/* libFuzzer: a bzImage through the setup-header parser and, when the header
 * holds, its payload through the decompressor of the format its magic names,
 * into a fixed 4 MiB buffer (the cap path is part of what is fuzzed). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "boot/bzimage.h"
#include "boot/decompress.h"

#define OUT_CAP ((size_t)4 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *out;
	struct bzimage_info bi;
	struct decomp_out o;

	if (!out && !(out = malloc(OUT_CAP)))
		return 0;
	if (bzimage_parse(data, size, &bi) != 0)
		return 0;
	if (bi.payload_start + bi.payload_length > size || bi.payload_length < 8)
		__builtin_trap();
	decomp_out_fixed(&o, out, OUT_CAP);
	if (decompress(bi.comp, data + bi.payload_start, bi.payload_length, &o) == 0 &&
	    (o.len == 0 || o.len > OUT_CAP))
		__builtin_trap();
	return 0;
}
