// SPDX-License-Identifier: MIT
#include "elf_builder.h"

#include <string.h>

#include "util.h"

size_t eb_phdr_off(unsigned bits, unsigned i)
{
	return bits == 64 ? 64 + (size_t)i * 56 : 52 + (size_t)i * 32;
}

size_t eb_note(uint8_t *out, const char *name, uint32_t type, const void *desc, uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;
	size_t np = (namesz + 3) & ~3u, dp = (descsz + 3) & ~3u;

	memset(out, 0, 12 + np + dp);
	put_le32(out, namesz);
	put_le32(out + 4, descsz);
	put_le32(out + 8, type);
	memcpy(out + 12, name, namesz);
	memcpy(out + 12 + np, desc, descsz);
	return 12 + np + dp;
}

size_t eb_build(uint8_t *out, size_t cap, unsigned bits, const struct eb_seg *segs, unsigned n)
{
	size_t off = eb_phdr_off(bits, n);

	for (unsigned i = 0; i < n; i++)
		off += segs[i].filesz;
	if (off > cap)
		return 0;
	memset(out, 0, off);
	memcpy(out, "\177ELF", 4);
	out[4] = bits == 64 ? 2 : 1;
	out[5] = 1;
	out[6] = 1;
	put_le16(out + 16, 2);			/* ET_EXEC */
	put_le16(out + 18, bits == 64 ? 62 : 3); /* EM_X86_64 / EM_386 */
	put_le32(out + 20, 1);
	if (bits == 64) {
		put_le64(out + 24, 0x1000000);	/* e_entry */
		put_le64(out + 32, 64);		/* e_phoff */
		put_le16(out + 52, 64);
		put_le16(out + 54, 56);
		put_le16(out + 56, (uint16_t)n);
		put_le16(out + 58, 64);
	} else {
		put_le32(out + 24, 0x100000);
		put_le32(out + 28, 52);
		put_le16(out + 40, 52);
		put_le16(out + 42, 32);
		put_le16(out + 44, (uint16_t)n);
		put_le16(out + 46, 40);
	}
	off = eb_phdr_off(bits, n);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = out + eb_phdr_off(bits, i);
		const struct eb_seg *s = &segs[i];

		if (bits == 64) {
			put_le32(p, s->type);
			put_le32(p + 4, 5);
			put_le64(p + 8, off);
			put_le64(p + 16, s->paddr + 0xffffffff80000000ULL);
			put_le64(p + 24, s->paddr);
			put_le64(p + 32, s->filesz);
			put_le64(p + 40, s->memsz);
			put_le64(p + 48, 16);
		} else {
			put_le32(p, s->type);
			put_le32(p + 4, (uint32_t)off);
			put_le32(p + 8, (uint32_t)s->paddr);
			put_le32(p + 12, (uint32_t)s->paddr);
			put_le32(p + 16, (uint32_t)s->filesz);
			put_le32(p + 20, (uint32_t)s->memsz);
			put_le32(p + 24, 5);
			put_le32(p + 28, 16);
		}
		if (s->data)
			memcpy(out + off, s->data, s->filesz);
		else
			for (uint64_t j = 0; j < s->filesz; j++)
				out[off + j] = (uint8_t)(j * 7 + i);
		off += s->filesz;
	}
	return off;
}
