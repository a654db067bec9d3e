// SPDX-License-Identifier: MIT
/* Writes the malformed kernels the CLI bad-input test feeds to ember. */
#include <stdio.h>
#include <string.h>

#include "boot/elf.h"
#include "elf_builder.h"
#include "util.h"

static uint8_t buf[1 << 16];

static void save(const char *dir, const char *name, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, n, f) != n)
		perror(path);
	if (f)
		fclose(f);
}

static size_t note(uint8_t *out, uint32_t entry)
{
	uint8_t e[4];

	put_le32(e, entry);
	return eb_note(out, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, e, 4);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	uint8_t n[64];
	size_t nl = note(n, 0x1000000);

	/* 32-bit: a 64-bit ELF without the note boots by the Linux 64-bit
	 * boot protocol instead. */
	struct eb_seg nonote[] = { { 1, 0x1000000, 64, 64, NULL } };
	save(dir, "nonote.elf", eb_build(buf, sizeof(buf), 32, nonote, 1));

	struct eb_seg overlap[] = { { 1, 0x1000000, 64, 0x2000, NULL },
				    { 1, 0x1001000, 64, 64, NULL },
				    { 4, 0, nl, nl, n } };
	save(dir, "overlap.elf", eb_build(buf, sizeof(buf), 64, overlap, 3));

	struct eb_seg filesz[] = { { 1, 0x1000000, 128, 64, NULL }, { 4, 0, nl, nl, n } };
	save(dir, "filesz.elf", eb_build(buf, sizeof(buf), 64, filesz, 2));

	/* 16 MiB + 1 MiB: outside an 8 MiB guest. */
	struct eb_seg high[] = { { 1, 0x1000000, 64, 0x100000, NULL }, { 4, 0, nl, nl, n } };
	save(dir, "highseg.elf", eb_build(buf, sizeof(buf), 64, high, 2));

	struct eb_seg ok[] = { { 1, 0x1000000, 64, 64, NULL }, { 4, 0, nl, nl, n } };
	size_t len = eb_build(buf, sizeof(buf), 64, ok, 2);
	put_le32(buf + len - nl + 4, 0x10000); /* note descsz past its segment */
	save(dir, "notepast.elf", len);
	return 0;
}
