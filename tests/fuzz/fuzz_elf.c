// SPDX-License-Identifier: MIT
/* libFuzzer harness: the ELF/note parser and segment loader on hostile bytes. */
#include <stdlib.h>
#include <string.h>

#include "boot/elf.h"

static uint8_t ram[4 << 20];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct elf_image img;
	struct guest_mem gm;

	if (elf_parse(data, size, &img) != 0)
		return 0;
	/* Invariants the loader relies on. */
	if (img.nsegs == 0 || img.nsegs > ELF_MAX_SEGMENTS || img.load_end < img.load_start)
		abort();
	for (unsigned i = 0; i < img.nsegs; i++) {
		const struct elf_segment *s = &img.segs[i];

		if (s->filesz > s->memsz || s->offset > size || s->filesz > size - s->offset)
			abort();
		if (i && img.segs[i - 1].paddr + img.segs[i - 1].memsz > s->paddr)
			abort();
	}
	for (unsigned i = 0; i < img.nnotes; i++)
		if (img.notes[i].desc_off > size || img.notes[i].descsz > size - img.notes[i].desc_off)
			abort();
	guest_mem_init_buf(&gm, ram, sizeof(ram));
	gm.zeroed = size & 1; /* both copy paths; ram's contents do not matter */
	if (img.has_reloc) {
		/* The loader's placement: any start the range allows keeps the
		 * image inside the RAM offered and aligned; load at the last. */
		uint64_t first, last, align, span = img.load_end - img.load_start;

		if (elf_reloc_range(&img, 0x100000, sizeof(ram), &first, &last, &align) == 0) {
			if (first > last || first < 0x100000 || first % align || last % align ||
			    last + span > sizeof(ram))
				abort();
			elf_relocate(&img, last);
			if (img.load_start != last || img.load_end != last + span)
				abort();
		}
	}
	elf_load(&img, data, size, &gm, 0x100000);
	return 0;
}
