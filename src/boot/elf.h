/* SPDX-License-Identifier: MIT */
/*
 * vmlinux parser: ELF32/ELF64 little-endian x86 executables. Pure functions
 * over a byte buffer: no I/O, no globals (messages via ember_seterr()).
 *
 * elf_parse() returns 0 with the PT_LOAD list and the notes it understood, or
 *   -ENOEXEC  not an ELF file / not x86 / not an executable
 *   -EINVAL   malformed (headers or notes run past the file, filesz > memsz,
 *             overlapping segments, a bad PVH descriptor)
 *   -ERANGE   arithmetic overflow in an offset or address
 *   -E2BIG    more segments or notes than ember keeps
 * A kernel without the PVH note still parses (has_pvh false) so that
 * `ember inspect` can describe it; the loader refuses it.
 */
#ifndef EMBER_BOOT_ELF_H
#define EMBER_BOOT_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

#define ELF_MAX_SEGMENTS 32
#define ELF_MAX_NOTES	 64

/* Xen ELF notes (xen/include/public/elfnote.h). */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define XEN_ELFNOTE_PHYS32_RELOC 19

struct elf_segment {
	uint64_t offset, paddr, vaddr, filesz, memsz;
	uint64_t align; /* p_align */
	uint32_t flags;
};

struct elf_note {
	char name[16]; /* truncated, NUL-terminated copy of the note name */
	uint32_t type;
	uint32_t descsz;
	uint64_t desc_off; /* file offset of the descriptor */
	bool from_section; /* found through SHT_NOTE, not PT_NOTE */
};

struct elf_image {
	unsigned bits; /* 32 or 64 */
	uint16_t machine;
	uint64_t entry; /* e_entry: the native entry, not the PVH one */
	unsigned nsegs;
	struct elf_segment segs[ELF_MAX_SEGMENTS]; /* PT_LOAD, sorted by paddr */
	uint64_t load_start, load_end; /* [lowest paddr, highest paddr+memsz) */
	unsigned nnotes;
	struct elf_note notes[ELF_MAX_NOTES];
	bool has_pvh;
	uint32_t pvh_entry;
	bool has_reloc; /* XEN_ELFNOTE_PHYS32_RELOC present */
	uint32_t reloc_align, reloc_min, reloc_max;
};

int elf_parse(const uint8_t *buf, size_t len, struct elf_image *img);

/* Check that every PT_LOAD segment [p_paddr, p_paddr+p_memsz) lies in guest
 * RAM and not below `min_paddr` (the boot data area). Returns 0 or -ERANGE
 * with a message naming the segment. Call before writing any segment: on
 * success guest_mem_ptr() succeeds for each segment's whole range. */
int elf_place(const struct elf_image *img, const struct guest_mem *gm, uint64_t min_paddr);

/* elf_place(), then copy every PT_LOAD segment from `buf` (the file elf_parse()
 * read) to its p_paddr and zero its tail (.bss) unless gm->zeroed. */
int elf_load(const struct elf_image *img, const uint8_t *buf, size_t len,
	     const struct guest_mem *gm, uint64_t min_paddr);

/*
 * Relocatable PVH kernels (XEN_ELFNOTE_PHYS32_RELOC: align, min, max; Linux
 * 6.12+). The image [load_start, load_end) may start at any multiple of
 * `align` from which it stays inside [min, max] (max: the highest address of
 * its last byte). elf_reloc_range() intersects that with the RAM the loader
 * offers, [lo, hi), and returns the first and last acceptable start (both
 * multiples of *align). align defaults to the largest PT_LOAD p_align (at
 * least 4 KiB), min to 0, max to 0xffffffff. Returns 0, -ENOEXEC without the
 * note, -EINVAL for an alignment that is not a power of two or min > max,
 * -ENOSPC when no start fits. Pure.
 */
int elf_reloc_range(const struct elf_image *img, uint64_t lo, uint64_t hi, uint64_t *first,
		    uint64_t *last, uint64_t *align);

/* Move the image so that it starts at `start`: every segment's paddr, the
 * load range and the PVH entry shift by the same delta. The caller checked
 * `start` with elf_reloc_range(). */
void elf_relocate(struct elf_image *img, uint64_t start);

/* The physical address of the ELF entry point (e_entry), which a vmlinux
 * gives either as a physical address inside a segment or as a virtual one
 * (then translated through the segment holding it). Returns 0 or -ENOEXEC
 * (no segment holds it). */
int elf_entry_paddr(const struct elf_image *img, uint64_t *paddr);

#endif
