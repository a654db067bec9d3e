// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>

#include "boot/elf.h"
#include "elf_builder.h"
#include "harness.h"
#include "util.h"

static uint8_t file[1 << 16];
static struct elf_image img;

/* A Linux-like kernel: two PT_LOADs and a PT_NOTE with the PVH entry. */
static size_t kernel(unsigned bits, uint32_t descsz, uint64_t entry)
{
	uint8_t notes[128];
	uint8_t desc[8];
	size_t nl = eb_note(notes, "GNU", 3, "buildid!", 8);

	put_le64(desc, entry);
	nl += eb_note(notes + nl, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, desc, descsz);
	struct eb_seg segs[] = {
		{ 1, 0x1000000, 0x100, 0x2000, NULL },
		{ 1, 0x1400000, 0x80, 0x80, NULL },
		{ 4, 0, nl, nl, notes },
	};
	return eb_build(file, sizeof(file), bits, segs, 3);
}

TEST(elf64_pvh_8byte_note)
{
	size_t len = kernel(64, 8, 0x1000abc);

	CHECK_EQ(elf_parse(file, len, &img), 0);
	CHECK_EQ(img.bits, 64);
	CHECK(img.has_pvh);
	CHECK_EQ(img.pvh_entry, 0x1000abc);
	CHECK_EQ(img.nsegs, 2);
	CHECK_EQ(img.load_start, 0x1000000);
	CHECK_EQ(img.load_end, 0x1400080);
	CHECK_EQ(img.nnotes, 2);
	CHECK_EQ(img.entry, 0x1000000);
}

TEST(elf32_pvh_4byte_note)
{
	size_t len = kernel(32, 4, 0x1000010);

	CHECK_EQ(elf_parse(file, len, &img), 0);
	CHECK_EQ(img.bits, 32);
	CHECK(img.has_pvh);
	CHECK_EQ(img.pvh_entry, 0x1000010);
}

TEST(no_pvh_note_parses_without_entry)
{
	struct eb_seg segs[] = { { 1, 0x1000000, 16, 16, NULL } };
	size_t len = eb_build(file, sizeof(file), 64, segs, 1);

	CHECK_EQ(elf_parse(file, len, &img), 0);
	CHECK(!img.has_pvh);
}

TEST(pvh_note_high_half_refused)
{
	size_t len = kernel(64, 8, 0x100000000ULL | 0x1000);

	CHECK_EQ(elf_parse(file, len, &img), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "above 4 GiB");
}

TEST(pvh_note_bad_descsz)
{
	size_t len = kernel(64, 2, 0x1000);

	CHECK_EQ(elf_parse(file, len, &img), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "2-byte descriptor");
}

TEST(reloc_note_recorded)
{
	uint8_t notes[128], d[12], e[8] = { 0 };
	size_t nl;

	put_le32(e, 0x1000000);
	put_le32(d, 0x200000);
	put_le32(d + 4, 0x1000000);
	put_le32(d + 8, 0x40000000);
	nl = eb_note(notes, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, e, 4);
	nl += eb_note(notes + nl, "Xen", XEN_ELFNOTE_PHYS32_RELOC, d, 12);
	struct eb_seg segs[] = { { 1, 0x1000000, 16, 16, NULL }, { 4, 0, nl, nl, notes } };
	size_t len = eb_build(file, sizeof(file), 64, segs, 2);

	CHECK_EQ(elf_parse(file, len, &img), 0);
	CHECK(img.has_reloc);
	CHECK_EQ(img.reloc_align, 0x200000);
	CHECK_EQ(img.reloc_max, 0x40000000);
}

TEST(not_elf)
{
	memcpy(file, "MZ\x90\0garbage-garbage", 20);
	CHECK_EQ(elf_parse(file, 20, &img), -ENOEXEC);
	CHECK_EQ(elf_parse(file, 0, &img), -ENOEXEC);
	CHECK_STR_CONTAINS(ember_lasterr(), "not an ELF file");
}

TEST(truncated_header)
{
	size_t len = kernel(64, 8, 0x1000000);

	CHECK(len > 40);
	CHECK_EQ(elf_parse(file, 40, &img), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "truncated ELF header");
}

TEST(truncated_program_headers)
{
	kernel(64, 8, 0x1000000);
	CHECK_EQ(elf_parse(file, 100, &img), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "program headers");
}

TEST(truncated_segment_data)
{
	size_t len = kernel(64, 8, 0x1000000);

	/* Cutting the file inside the last segment's data. */
	CHECK_EQ(elf_parse(file, len - 4, &img), -EINVAL);
}

TEST(wrong_class_endian_machine_type)
{
	size_t len = kernel(64, 8, 0x1000000);

	file[4] = 3;
	CHECK_EQ(elf_parse(file, len, &img), -ENOEXEC);
	file[4] = 2;
	file[5] = 2;
	CHECK_EQ(elf_parse(file, len, &img), -ENOEXEC);
	file[5] = 1;
	put_le16(file + 18, 183); /* aarch64 */
	CHECK_EQ(elf_parse(file, len, &img), -ENOEXEC);
	CHECK_STR_CONTAINS(ember_lasterr(), "not x86");
	put_le16(file + 18, 62);
	put_le16(file + 16, 3); /* ET_DYN */
	CHECK_EQ(elf_parse(file, len, &img), -ENOEXEC);
}

TEST(small_phentsize_and_no_phdrs)
{
	size_t len = kernel(64, 8, 0x1000000);

	put_le16(file + 54, 32);
	CHECK_EQ(elf_parse(file, len, &img), -EINVAL);
	put_le16(file + 54, 56);
	put_le16(file + 56, 0);
	CHECK_EQ(elf_parse(file, len, &img), -EINVAL);
}

TEST(filesz_over_memsz)
{
	struct eb_seg segs[] = { { 1, 0x1000000, 0x40, 0x20, NULL } };
	size_t len = eb_build(file, sizeof(file), 64, segs, 1);

	CHECK_EQ(elf_parse(file, len, &img), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "exceeds memory size");
}

TEST(segment_offset_past_file)
{
	struct eb_seg segs[] = { { 1, 0x1000000, 0x40, 0x40, NULL } };
	size_t len = eb_build(file, sizeof(file), 64, segs, 1);

	put_le64(file + eb_phdr_off(64, 0) + 8, 0xfffffffffffffff0ULL); /* p_offset */
	CHECK_EQ(elf_parse(file, len, &img), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "past the end of the file");
}

TEST(segment_address_overflow)
{
	struct eb_seg segs[] = { { 1, 0xfffffffffffff000ULL, 0x10, 0x2000, NULL } };
	size_t len = eb_build(file, sizeof(file), 64, segs, 1);

	CHECK_EQ(elf_parse(file, len, &img), -ERANGE);
}

TEST(overlapping_segments)
{
	struct eb_seg segs[] = {
		{ 1, 0x1001000, 0x10, 0x10, NULL },
		{ 1, 0x1000000, 0x10, 0x1800, NULL },
	};
	size_t len = eb_build(file, sizeof(file), 64, segs, 2);

	CHECK_EQ(elf_parse(file, len, &img), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "overlap");
}

TEST(adjacent_segments_sorted)
{
	struct eb_seg segs[] = {
		{ 1, 0x1001000, 0x10, 0x10, NULL },
		{ 1, 0x1000000, 0x10, 0x1000, NULL },
	};
	size_t len = eb_build(file, sizeof(file), 64, segs, 2);

	CHECK_EQ(elf_parse(file, len, &img), 0);
	CHECK_EQ(img.segs[0].paddr, 0x1000000);
	CHECK_EQ(img.segs[1].paddr, 0x1001000);
}

TEST(too_many_segments)
{
	struct eb_seg segs[ELF_MAX_SEGMENTS + 1];

	for (unsigned i = 0; i < ARRAY_SIZE(segs); i++)
		segs[i] = (struct eb_seg){ 1, 0x1000000 + i * 0x1000ULL, 4, 4, NULL };
	size_t len = eb_build(file, sizeof(file), 64, segs, ARRAY_SIZE(segs));

	CHECK_EQ(elf_parse(file, len, &img), -E2BIG);
}

TEST(note_sizes_past_segment)
{
	uint8_t notes[64];
	uint8_t e[4] = { 0, 0, 0, 1 };
	size_t nl = eb_note(notes, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, e, 4);

	put_le32(notes + 4, 0x7fffffff); /* descsz */
	struct eb_seg segs[] = { { 1, 0x1000000, 16, 16, NULL }, { 4, 0, nl, nl, notes } };
	size_t len = eb_build(file, sizeof(file), 64, segs, 2);

	CHECK_EQ(elf_parse(file, len, &img), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "runs past its end");
	put_le32(notes + 4, 4);
	put_le32(notes, 0xffffffff); /* namesz */
	len = eb_build(file, sizeof(file), 64, segs, 2);
	CHECK_EQ(elf_parse(file, len, &img), -EINVAL);
}

TEST(note_segment_past_file)
{
	size_t len = kernel(64, 8, 0x1000000);

	put_le64(file + eb_phdr_off(64, 2) + 32, 0x100000); /* PT_NOTE p_filesz */
	CHECK_EQ(elf_parse(file, len, &img), -EINVAL);
}

TEST(note_in_section_only)
{
	/* ELF64 with one PT_LOAD and the Xen note reachable only through a
	 * SHT_NOTE section header. */
	uint8_t notes[64], e[4];
	size_t nl, len, sh;

	put_le32(e, 0x1000020);
	nl = eb_note(notes, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, e, 4);
	struct eb_seg segs[] = { { 1, 0x1000000, 0x40, 0x40, NULL } };
	len = eb_build(file, sizeof(file), 64, segs, 1);
	memcpy(file + len, notes, nl);
	sh = len + nl;
	memset(file + sh, 0, 128);
	put_le32(file + sh + 64 + 4, 7);	    /* section 1: SHT_NOTE */
	put_le64(file + sh + 64 + 24, len);  /* sh_offset */
	put_le64(file + sh + 64 + 32, nl);   /* sh_size */
	put_le64(file + 40, sh);	     /* e_shoff */
	put_le16(file + 58, 64);
	put_le16(file + 60, 2);
	CHECK_EQ(elf_parse(file, sh + 128, &img), 0);
	CHECK(img.has_pvh);
	CHECK_EQ(img.pvh_entry, 0x1000020);
	CHECK(img.notes[0].from_section);
	put_le64(file + sh + 64 + 32, 0x10000000); /* section past the file */
	CHECK_EQ(elf_parse(file, sh + 128, &img), -EINVAL);
}

TEST(load_copies_and_zeroes)
{
	static uint8_t ram[32 << 20];
	struct guest_mem gm;
	size_t len = kernel(64, 8, 0x1000000);

	guest_mem_init_buf(&gm, ram, sizeof(ram));
	memset(ram, 0xaa, sizeof(ram));
	CHECK_EQ(elf_parse(file, len, &img), 0);
	CHECK_EQ(elf_load(&img, file, len, &gm, 0x100000), 0);
	CHECK_EQ(ram[0x1000000 + 1], 7);      /* pattern j*7 + i */
	CHECK_EQ(ram[0x1000000 + 0x100], 0);  /* .bss zeroed */
	CHECK_EQ(ram[0x1000000 + 0x1fff], 0);
	CHECK_EQ(ram[0x1000000 + 0x2000], 0xaa); /* nothing past memsz */
}

TEST(load_outside_ram_or_low)
{
	static uint8_t ram[16 << 20];
	struct guest_mem gm;
	size_t len = kernel(64, 8, 0x1000000);

	guest_mem_init_buf(&gm, ram, sizeof(ram)); /* ends exactly at 0x1000000 */
	CHECK_EQ(elf_parse(file, len, &img), 0);
	CHECK_EQ(elf_load(&img, file, len, &gm, 0x100000), -ERANGE);
	CHECK_STR_CONTAINS(ember_lasterr(), "outside guest RAM");
	CHECK_EQ(elf_load(&img, file, len, &gm, 0x2000000), -ERANGE);
	CHECK_STR_CONTAINS(ember_lasterr(), "boot data");
}

TEST(place_checks_every_segment)
{
	static uint8_t ram[0x1400080];
	struct guest_mem gm;
	size_t len = kernel(64, 8, 0x1000000);

	CHECK_EQ(elf_parse(file, len, &img), 0);
	guest_mem_init_buf(&gm, ram, sizeof(ram)); /* the last segment ends at the top */
	CHECK_EQ(elf_place(&img, &gm, 0x100000), 0);
	guest_mem_init_buf(&gm, ram, sizeof(ram) - 1);
	CHECK_EQ(elf_place(&img, &gm, 0x100000), -ERANGE);
	CHECK_STR_CONTAINS(ember_lasterr(), "segment at 0x1400000-0x1400080 is outside guest RAM");
	guest_mem_init_buf(&gm, ram, sizeof(ram));
	CHECK_EQ(elf_place(&img, &gm, 0x1000001), -ERANGE);
	CHECK_STR_CONTAINS(ember_lasterr(), "starts below 0x1000001");
}

TEST(load_into_zeroed_ram_leaves_bss_alone)
{
	static uint8_t ram[32 << 20];
	struct guest_mem gm;
	size_t len = kernel(64, 8, 0x1000000);

	/* gm.zeroed promises RAM reads as zero: .bss is not written, which the
	 * marker (a broken promise) shows. */
	guest_mem_init_buf(&gm, ram, sizeof(ram));
	gm.zeroed = true;
	ram[0x1000000 + 0x100] = 0x5a;
	CHECK_EQ(elf_parse(file, len, &img), 0);
	CHECK_EQ(elf_load(&img, file, len, &gm, 0x100000), 0);
	CHECK_EQ(ram[0x1000000 + 1], 7);
	CHECK_EQ(ram[0x1000000 + 0x100], 0x5a);
}

/* A 48 MiB image with Debian 13's note (align 2 MiB, min 16 MiB, max the
 * last byte of the first GiB), its PVH entry 0x100 bytes in. */
static void reloc_image(struct elf_image *im, uint32_t align, uint32_t min, uint32_t max)
{
	memset(im, 0, sizeof(*im));
	im->nsegs = 2;
	im->segs[0] = (struct elf_segment){ .paddr = 0x1000000, .memsz = 0x1000000,
					    .align = 0x1000 };
	im->segs[1] = (struct elf_segment){ .paddr = 0x2000000, .memsz = 0x2000000,
					    .align = 0x400000 };
	im->load_start = 0x1000000;
	im->load_end = 0x4000000;
	im->has_pvh = true;
	im->pvh_entry = 0x1000100;
	im->has_reloc = true;
	im->reloc_align = align;
	im->reloc_min = min;
	im->reloc_max = max;
}

TEST(reloc_range_edges)
{
	struct elf_image im;
	uint64_t f, l, a;

	reloc_image(&im, 0x200000, 0x1000000, 0x3fffffff);
	/* 256 MiB of RAM: the last start leaves the last byte at 256 MiB - 1. */
	CHECK_EQ(elf_reloc_range(&im, 0x100000, 0x10000000, &f, &l, &a), 0);
	CHECK_EQ(f, 0x1000000);
	CHECK_EQ(l, 0xd000000);
	CHECK_EQ(a, 0x200000);
	/* Plenty of RAM: max bounds it; the last byte lands exactly on max. */
	CHECK_EQ(elf_reloc_range(&im, 0x100000, 0xc0000000, &f, &l, &a), 0);
	CHECK_EQ(l, 0x3d000000);
	CHECK_EQ(l + 0x3000000 - 1, 0x3fffffff);
	/* RAM below min: lo is raised to min, rounded up to the alignment. */
	reloc_image(&im, 0x200000, 0x1000001, 0x3fffffff);
	CHECK_EQ(elf_reloc_range(&im, 0x100000, 0xc0000000, &f, &l, &a), 0);
	CHECK_EQ(f, 0x1200000);
	/* Exactly one place: [min, max] is the image's size. */
	reloc_image(&im, 0x200000, 0x1000000, 0x3ffffff);
	CHECK_EQ(elf_reloc_range(&im, 0x100000, 0xc0000000, &f, &l, &a), 0);
	CHECK_EQ(f, 0x1000000);
	CHECK_EQ(l, 0x1000000);
	/* One byte less: nowhere. RAM that ends too early: nowhere. */
	reloc_image(&im, 0x200000, 0x1000000, 0x3fffffe);
	CHECK_EQ(elf_reloc_range(&im, 0x100000, 0xc0000000, &f, &l, &a), -ENOSPC);
	reloc_image(&im, 0x200000, 0x1000000, 0x3fffffff);
	CHECK_EQ(elf_reloc_range(&im, 0x100000, 0x3ffffff, &f, &l, &a), -ENOSPC);
	CHECK_EQ(elf_reloc_range(&im, 0x100000, 0x4000000, &f, &l, &a), 0);
	CHECK_EQ(elf_reloc_range(&im, 0x100000, 0, &f, &l, &a), -ENOSPC);
	/* Defaults: align from the largest p_align, max 4 GiB - 1. */
	reloc_image(&im, 0, 0, 0);
	CHECK_EQ(elf_reloc_range(&im, 0x100000, 0x200000000ULL, &f, &l, &a), 0);
	CHECK_EQ(a, 0x400000);
	CHECK_EQ(f, 0x400000);
	CHECK_EQ(l, 0xfd000000);
	/* Malformed notes and no note. */
	reloc_image(&im, 0x300000, 0x1000000, 0x3fffffff);
	CHECK_EQ(elf_reloc_range(&im, 0x100000, 0xc0000000, &f, &l, &a), -EINVAL);
	reloc_image(&im, 0x200000, 0x2000000, 0x1000000);
	CHECK_EQ(elf_reloc_range(&im, 0x100000, 0xc0000000, &f, &l, &a), -EINVAL);
	im.has_reloc = false;
	CHECK_EQ(elf_reloc_range(&im, 0x100000, 0xc0000000, &f, &l, &a), -ENOEXEC);
}

TEST(relocate_moves_everything)
{
	struct elf_image im;

	reloc_image(&im, 0x200000, 0x1000000, 0x3fffffff);
	elf_relocate(&im, 0x7200000);
	CHECK_EQ(im.load_start, 0x7200000);
	CHECK_EQ(im.load_end, 0xa200000);
	CHECK_EQ(im.segs[0].paddr, 0x7200000);
	CHECK_EQ(im.segs[1].paddr, 0x8200000);
	CHECK_EQ(im.pvh_entry, 0x7200100);
	elf_relocate(&im, 0x1000000); /* and back down */
	CHECK_EQ(im.pvh_entry, 0x1000100);
	CHECK_EQ(im.segs[1].paddr, 0x2000000);
}

TEST(entry_paddr_physical_or_virtual)
{
	struct elf_image im;
	uint64_t p;

	reloc_image(&im, 0, 0, 0);
	im.segs[0].vaddr = 0xffffffff81000000ULL;
	im.entry = 0x1000040;
	CHECK_EQ(elf_entry_paddr(&im, &p), 0);
	CHECK_EQ(p, 0x1000040);
	im.entry = 0xffffffff81000080ULL;
	CHECK_EQ(elf_entry_paddr(&im, &p), 0);
	CHECK_EQ(p, 0x1000080);
	im.entry = 0x5000000;
	CHECK_EQ(elf_entry_paddr(&im, &p), -ENOEXEC);
}

SUITE(elf, T(elf64_pvh_8byte_note), T(elf32_pvh_4byte_note), T(no_pvh_note_parses_without_entry),
      T(pvh_note_high_half_refused), T(pvh_note_bad_descsz), T(reloc_note_recorded), T(not_elf),
      T(truncated_header), T(truncated_program_headers), T(truncated_segment_data),
      T(wrong_class_endian_machine_type), T(small_phentsize_and_no_phdrs), T(filesz_over_memsz),
      T(segment_offset_past_file), T(segment_address_overflow), T(overlapping_segments),
      T(adjacent_segments_sorted), T(too_many_segments), T(note_sizes_past_segment),
      T(note_segment_past_file), T(note_in_section_only), T(load_copies_and_zeroes),
      T(load_outside_ram_or_low), T(place_checks_every_segment),
      T(load_into_zeroed_ram_leaves_bss_alone), T(reloc_range_edges),
      T(relocate_moves_everything), T(entry_paddr_physical_or_virtual));
