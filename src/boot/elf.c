// SPDX-License-Identifier: MIT
#include "boot/elf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define EI_NIDENT   16
#define ELFCLASS32  1
#define ELFCLASS64  2
#define ELFDATA2LSB 1
#define ET_EXEC	    2
#define EM_386	    3
#define EM_X86_64   62
#define PT_LOAD	    1
#define PT_NOTE	    4
#define SHT_NOTE    7

/* Sizes of the headers we read; e_phentsize/e_shentsize must be at least
 * these (a larger entry is allowed by the ELF spec and skipped over). */
#define EHDR32_SIZE 52
#define EHDR64_SIZE 64
#define PHDR32_SIZE 32
#define PHDR64_SIZE 56
#define SHDR32_SIZE 40
#define SHDR64_SIZE 64

struct raw_hdr {
	uint64_t phoff, shoff;
	uint16_t phentsize, phnum, shentsize, shnum;
};

/* Is [off, off+size) inside a buffer of len bytes? */
static bool in_file(uint64_t off, uint64_t size, size_t len)
{
	uint64_t end;

	return !ckd_add(&end, off, size) && end <= len;
}

static void read_phdr(const struct elf_image *img, const uint8_t *p, uint32_t *type,
		      struct elf_segment *s)
{
	*type = get_le32(p);
	if (img->bits == 64) {
		s->flags = get_le32(p + 4);
		s->offset = get_le64(p + 8);
		s->vaddr = get_le64(p + 16);
		s->paddr = get_le64(p + 24);
		s->filesz = get_le64(p + 32);
		s->memsz = get_le64(p + 40);
		s->align = get_le64(p + 48);
	} else {
		s->offset = get_le32(p + 4);
		s->vaddr = get_le32(p + 8);
		s->paddr = get_le32(p + 12);
		s->filesz = get_le32(p + 16);
		s->memsz = get_le32(p + 20);
		s->flags = get_le32(p + 24);
		s->align = get_le32(p + 28);
	}
}

/* Record one note; interpret the Xen ones ember uses. */
static int take_note(struct elf_image *img, const uint8_t *buf, uint64_t name_off,
		     uint32_t namesz, uint32_t type, uint64_t desc_off, uint32_t descsz,
		     bool from_section)
{
	struct elf_note *n;
	const uint8_t *d = buf + desc_off;
	bool is_xen = namesz == 4 && memcmp(buf + name_off, "Xen", 4) == 0;

	if (img->nnotes >= ELF_MAX_NOTES)
		return ember_seterr(-E2BIG, "more than %d ELF notes", ELF_MAX_NOTES);
	n = &img->notes[img->nnotes++];
	memset(n, 0, sizeof(*n));
	if (namesz) {
		size_t l = namesz < sizeof(n->name) ? namesz : sizeof(n->name) - 1;

		memcpy(n->name, buf + name_off, l);
		n->name[l] = '\0';
	}
	n->type = type;
	n->descsz = descsz;
	n->desc_off = desc_off;
	n->from_section = from_section;

	if (!is_xen)
		return 0;
	if (type == XEN_ELFNOTE_PHYS32_ENTRY && !img->has_pvh) {
		/* Linux emits the entry with _ASM_PTR (8 bytes on x86-64); Xen's
		 * example uses 4. Only a 32-bit physical address is meaningful. */
		if (descsz != 4 && descsz != 8)
			return ember_seterr(-EINVAL,
					    "PVH entry note has a %u-byte descriptor (want 4 or 8)",
					    descsz);
		if (descsz == 8 && get_le32(d + 4) != 0)
			return ember_seterr(-EINVAL, "PVH entry 0x%llx is above 4 GiB",
					    (unsigned long long)get_le64(d));
		img->has_pvh = true;
		img->pvh_entry = get_le32(d);
	} else if (type == XEN_ELFNOTE_PHYS32_RELOC && !img->has_reloc) {
		img->has_reloc = true;
		img->reloc_align = descsz >= 4 ? get_le32(d) : 0;
		img->reloc_min = descsz >= 8 ? get_le32(d + 4) : 0;
		img->reloc_max = descsz >= 12 ? get_le32(d + 8) : 0;
	}
	return 0;
}

/* Walk the notes in [off, off+size) of the file. */
static int walk_notes(struct elf_image *img, const uint8_t *buf, uint64_t off, uint64_t size,
		      bool from_section, const char *where, unsigned idx)
{
	uint64_t pos = 0;

	while (size - pos >= 12) {
		const uint8_t *h = buf + off + pos;
		uint32_t namesz = get_le32(h), descsz = get_le32(h + 4), type = get_le32(h + 8);
		uint64_t name_pad, desc_pad, name_off, desc_off, next;
		int err;

		/* Name and descriptor are each padded to 4 bytes (both classes:
		 * Linux and Xen use 4-byte alignment for ELF64 notes too). The
		 * sizes are u32, so these sums cannot overflow 64 bits; the last
		 * descriptor's padding may be cut off by the end of the area. */
		name_pad = ((uint64_t)namesz + 3) & ~3ULL;
		desc_pad = ((uint64_t)descsz + 3) & ~3ULL;
		if (12 + name_pad + descsz > size - pos)
			return ember_seterr(-EINVAL,
					    "%s %u: note at offset %llu (namesz %u, descsz %u) runs "
					    "past its end (%llu bytes)",
					    where, idx, (unsigned long long)pos, namesz, descsz,
					    (unsigned long long)size);
		next = pos + 12 + name_pad + desc_pad;
		name_off = off + pos + 12;
		desc_off = name_off + name_pad;
		err = take_note(img, buf, name_off, namesz, type, desc_off, descsz, from_section);
		if (err)
			return err;
		pos = next > size ? size : next;
	}
	return 0;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct elf_segment *x = a, *y = b;

	return x->paddr < y->paddr ? -1 : x->paddr > y->paddr;
}

static int parse_header(const uint8_t *buf, size_t len, struct elf_image *img, struct raw_hdr *h)
{
	uint16_t type;

	if (len < EI_NIDENT || memcmp(buf, "\177ELF", 4) != 0)
		return ember_seterr(-ENOEXEC, "not an ELF file");
	if (buf[4] != ELFCLASS32 && buf[4] != ELFCLASS64)
		return ember_seterr(-ENOEXEC, "unknown ELF class %u", buf[4]);
	if (buf[5] != ELFDATA2LSB)
		return ember_seterr(-ENOEXEC, "not a little-endian ELF file");
	img->bits = buf[4] == ELFCLASS64 ? 64 : 32;
	if (len < (img->bits == 64 ? EHDR64_SIZE : EHDR32_SIZE))
		return ember_seterr(-EINVAL, "truncated ELF header (%zu bytes)", len);
	type = get_le16(buf + 16);
	img->machine = get_le16(buf + 18);
	if (img->machine != EM_X86_64 && img->machine != EM_386)
		return ember_seterr(-ENOEXEC, "ELF machine %u is not x86", img->machine);
	if (type != ET_EXEC)
		return ember_seterr(-ENOEXEC, "ELF type %u is not an executable", type);
	if (img->bits == 64) {
		img->entry = get_le64(buf + 24);
		h->phoff = get_le64(buf + 32);
		h->shoff = get_le64(buf + 40);
		h->phentsize = get_le16(buf + 54);
		h->phnum = get_le16(buf + 56);
		h->shentsize = get_le16(buf + 58);
		h->shnum = get_le16(buf + 60);
	} else {
		img->entry = get_le32(buf + 24);
		h->phoff = get_le32(buf + 28);
		h->shoff = get_le32(buf + 32);
		h->phentsize = get_le16(buf + 42);
		h->phnum = get_le16(buf + 44);
		h->shentsize = get_le16(buf + 46);
		h->shnum = get_le16(buf + 48);
	}
	return 0;
}

static int parse_phdrs(const uint8_t *buf, size_t len, struct elf_image *img,
		       const struct raw_hdr *h)
{
	unsigned min = img->bits == 64 ? PHDR64_SIZE : PHDR32_SIZE;
	uint64_t tabsz;
	int err;

	if (h->phnum == 0)
		return ember_seterr(-EINVAL, "ELF file has no program headers");
	if (h->phentsize < min)
		return ember_seterr(-EINVAL, "ELF program header size %u is below %u",
				    h->phentsize, min);
	if (ckd_mul(&tabsz, (uint64_t)h->phentsize, h->phnum) || !in_file(h->phoff, tabsz, len))
		return ember_seterr(-EINVAL, "program headers (%u at offset %llu) run past the "
					     "end of the file (%zu bytes)",
				    h->phnum, (unsigned long long)h->phoff, len);

	for (unsigned i = 0; i < h->phnum; i++) {
		struct elf_segment s;
		uint32_t type;
		uint64_t end;

		read_phdr(img, buf + h->phoff + (uint64_t)i * h->phentsize, &type, &s);
		if (type == PT_NOTE) {
			if (!in_file(s.offset, s.filesz, len))
				return ember_seterr(-EINVAL, "note segment %u runs past the end "
							     "of the file",
						    i);
			err = walk_notes(img, buf, s.offset, s.filesz, false, "segment", i);
			if (err)
				return err;
			continue;
		}
		if (type != PT_LOAD || s.memsz == 0)
			continue;
		if (s.filesz > s.memsz)
			return ember_seterr(-EINVAL,
					    "segment %u: file size 0x%llx exceeds memory size 0x%llx",
					    i, (unsigned long long)s.filesz,
					    (unsigned long long)s.memsz);
		if (!in_file(s.offset, s.filesz, len))
			return ember_seterr(-EINVAL,
					    "segment %u: data at offset 0x%llx+0x%llx runs past the "
					    "end of the file (%zu bytes)",
					    i, (unsigned long long)s.offset,
					    (unsigned long long)s.filesz, len);
		if (ckd_add(&end, s.paddr, s.memsz))
			return ember_seterr(-ERANGE, "segment %u: address 0x%llx + size 0x%llx "
						     "overflows",
					    i, (unsigned long long)s.paddr,
					    (unsigned long long)s.memsz);
		if (img->nsegs >= ELF_MAX_SEGMENTS)
			return ember_seterr(-E2BIG, "more than %d loadable segments",
					    ELF_MAX_SEGMENTS);
		img->segs[img->nsegs++] = s;
	}
	if (img->nsegs == 0)
		return ember_seterr(-EINVAL, "ELF file has no loadable segments");
	qsort(img->segs, img->nsegs, sizeof(img->segs[0]), cmp_seg);
	for (unsigned i = 1; i < img->nsegs; i++) {
		const struct elf_segment *a = &img->segs[i - 1], *b = &img->segs[i];

		if (a->paddr + a->memsz > b->paddr)
			return ember_seterr(-EINVAL,
					    "segments at 0x%llx (0x%llx bytes) and 0x%llx overlap",
					    (unsigned long long)a->paddr,
					    (unsigned long long)a->memsz,
					    (unsigned long long)b->paddr);
	}
	img->load_start = img->segs[0].paddr;
	img->load_end = img->segs[img->nsegs - 1].paddr + img->segs[img->nsegs - 1].memsz;
	return 0;
}

/* Fallback for files whose notes are only in SHT_NOTE sections. */
static int parse_note_sections(const uint8_t *buf, size_t len, struct elf_image *img,
			       const struct raw_hdr *h)
{
	unsigned min = img->bits == 64 ? SHDR64_SIZE : SHDR32_SIZE;
	uint64_t tabsz;

	if (h->shnum == 0 || h->shoff == 0)
		return 0;
	if (h->shentsize < min || ckd_mul(&tabsz, (uint64_t)h->shentsize, h->shnum) ||
	    !in_file(h->shoff, tabsz, len))
		return ember_seterr(-EINVAL, "section headers (%u at offset %llu) are malformed",
				    h->shnum, (unsigned long long)h->shoff);
	for (unsigned i = 0; i < h->shnum && !img->has_pvh; i++) {
		const uint8_t *p = buf + h->shoff + (uint64_t)i * h->shentsize;
		uint64_t off, size;
		int err;

		if (get_le32(p + 4) != SHT_NOTE)
			continue;
		off = img->bits == 64 ? get_le64(p + 24) : get_le32(p + 16);
		size = img->bits == 64 ? get_le64(p + 32) : get_le32(p + 20);
		if (!in_file(off, size, len))
			return ember_seterr(-EINVAL, "note section %u runs past the end of the file",
					    i);
		err = walk_notes(img, buf, off, size, true, "section", i);
		if (err)
			return err;
	}
	return 0;
}

int elf_parse(const uint8_t *buf, size_t len, struct elf_image *img)
{
	struct raw_hdr h = { 0 };
	int err;

	memset(img, 0, sizeof(*img));
	err = parse_header(buf, len, img, &h);
	if (!err)
		err = parse_phdrs(buf, len, img, &h);
	if (!err && !img->has_pvh)
		err = parse_note_sections(buf, len, img, &h);
	return err;
}

int elf_place(const struct elf_image *img, const struct guest_mem *gm, uint64_t min_paddr)
{
	for (unsigned i = 0; i < img->nsegs; i++) {
		const struct elf_segment *s = &img->segs[i];

		if (s->paddr < min_paddr)
			return ember_seterr(-ERANGE,
					    "segment at 0x%llx starts below 0x%llx (boot data area)",
					    (unsigned long long)s->paddr,
					    (unsigned long long)min_paddr);
		if (!guest_mem_contains(gm, s->paddr, s->memsz))
			return ember_seterr(-ERANGE,
					    "segment at 0x%llx-0x%llx is outside guest RAM "
					    "(%llu MiB)",
					    (unsigned long long)s->paddr,
					    (unsigned long long)(s->paddr + s->memsz),
					    (unsigned long long)(gm->size >> 20));
	}
	return 0;
}

int elf_load(const struct elf_image *img, const uint8_t *buf, size_t len,
	     const struct guest_mem *gm, uint64_t min_paddr)
{
	int err = elf_place(img, gm, min_paddr);

	if (err)
		return err;
	for (unsigned i = 0; i < img->nsegs; i++) {
		const struct elf_segment *s = &img->segs[i];
		uint8_t *dst = guest_mem_ptr(gm, s->paddr, s->memsz);

		if (!dst || !in_file(s->offset, s->filesz, len))
			return -EINVAL; /* elf_place() and elf_parse() refused these */
		guest_mem_write_sparse(gm, s->paddr, buf + s->offset, s->filesz);
		/* RAM that reads as zero already (fresh anonymous memory) keeps
		 * .bss untouched: no page faults, no RSS for it. */
		if (!gm->zeroed)
			memset(dst + s->filesz, 0, (size_t)(s->memsz - s->filesz));
	}
	return 0;
}

int elf_reloc_range(const struct elf_image *img, uint64_t lo, uint64_t hi, uint64_t *first,
		    uint64_t *last, uint64_t *align)
{
	uint64_t a = img->reloc_align, min = img->reloc_min, max = img->reloc_max;
	uint64_t size = img->load_end - img->load_start, top, f, l;

	if (!img->has_reloc)
		return -ENOEXEC;
	if (a == 0) {
		a = 4096;
		for (unsigned i = 0; i < img->nsegs; i++)
			if (img->segs[i].align > a)
				a = img->segs[i].align;
	}
	if (max == 0)
		max = 0xffffffffULL;
	if (a & (a - 1) || min > max)
		return -EINVAL;
	/* The image's last byte at most min(max, hi - 1). */
	top = max < hi - 1 ? max : hi - 1;
	if (hi == 0 || size == 0 || size - 1 > top)
		return -ENOSPC;
	l = align_down_u64(top - (size - 1), a);
	if (!align_up_u64(min > lo ? min : lo, a, &f) || f > l)
		return -ENOSPC;
	*first = f;
	*last = l;
	*align = a;
	return 0;
}

void elf_relocate(struct elf_image *img, uint64_t start)
{
	uint64_t delta = start - img->load_start; /* modulo 2^64: a move down too */

	for (unsigned i = 0; i < img->nsegs; i++)
		img->segs[i].paddr += delta;
	img->load_start = start;
	img->load_end += delta;
	if (img->has_pvh)
		img->pvh_entry = (uint32_t)(img->pvh_entry + delta);
}

int elf_entry_paddr(const struct elf_image *img, uint64_t *paddr)
{
	uint64_t e = img->entry;

	for (unsigned i = 0; i < img->nsegs; i++) {
		const struct elf_segment *s = &img->segs[i];

		if (e >= s->paddr && e - s->paddr < s->memsz) {
			*paddr = e;
			return 0;
		}
	}
	for (unsigned i = 0; i < img->nsegs; i++) {
		const struct elf_segment *s = &img->segs[i];

		if (e >= s->vaddr && e - s->vaddr < s->memsz) {
			*paddr = s->paddr + (e - s->vaddr);
			return 0;
		}
	}
	return ember_seterr(-ENOEXEC, "entry point 0x%llx is in no loadable segment",
			    (unsigned long long)e);
}
