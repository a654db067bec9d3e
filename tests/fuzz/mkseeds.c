// SPDX-License-Identifier: MIT
/* Writes the fuzzers' seed corpus (run by `make fuzz-seeds`; the output is
 * committed under tests/fuzz/corpus/). */
#include <stdio.h>
#include <string.h>

#include "boot/elf.h"
#include "elf_builder.h"
#include "util.h"

static uint8_t buf[8192];

static void save(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(p, 1, n, f) != n) {
		perror(path);
		return;
	}
	fclose(f);
}

static size_t kernel(unsigned bits, uint32_t descsz)
{
	uint8_t notes[128], e[8] = { 0 };
	size_t nl;

	put_le32(e, 0x1000000);
	nl = eb_note(notes, "GNU", 3, "12345678", 8);
	nl += eb_note(notes + nl, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, e, descsz);
	struct eb_seg segs[] = {
		{ 1, 0x1000000, 64, 0x1000, NULL },
		{ 1, 0x1200000, 32, 32, NULL },
		{ 4, 0, nl, nl, notes },
	};
	return eb_build(buf, sizeof(buf), bits, segs, 3);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/fuzz/corpus";
	char path[256];
	uint8_t p[64] = { 0 };
	static const uint64_t mems[] = { 128ULL << 20, 3584ULL << 20, 5ULL << 30 };

	snprintf(path, sizeof(path), "%s/elf/elf64-note8", dir);
	save(path, buf, kernel(64, 8));
	snprintf(path, sizeof(path), "%s/elf/elf32-note4", dir);
	save(path, buf, kernel(32, 4));
	for (unsigned i = 0; i < 3; i++) {
		put_le64(p, mems[i]);
		put_le64(p + 8, 0x1000000);
		put_le64(p + 16, 0x2000000);
		put_le64(p + 24, 5001);
		put_le16(p + 32, (uint16_t)(1 << i));
		memcpy(p + 34, "console=ttyS0 reboot=k", 22);
		snprintf(path, sizeof(path), "%s/pvh/seed%u", dir, i);
		save(path, p, 56);
	}
	return 0;
}
