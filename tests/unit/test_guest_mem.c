// SPDX-License-Identifier: MIT
#include <errno.h>

#include "boot/layout.h"
#include "guest_mem.h"
#include "harness.h"

TEST(small_ram_one_region)
{
	static uint8_t ram[1 << 20];
	struct guest_mem gm;

	guest_mem_init_buf(&gm, ram, sizeof(ram));
	CHECK_EQ(gm.nregions, 1);
	CHECK(guest_mem_ptr(&gm, 0, sizeof(ram)) == ram);
	/* The range ending exactly at the top of RAM is inside; one more byte
	 * is not. A zero-length range at the very end is fine. */
	CHECK(guest_mem_ptr(&gm, sizeof(ram) - 4, 4) == ram + sizeof(ram) - 4);
	CHECK(guest_mem_ptr(&gm, sizeof(ram) - 4, 5) == NULL);
	CHECK(guest_mem_ptr(&gm, sizeof(ram), 0) == ram + sizeof(ram));
	CHECK(guest_mem_ptr(&gm, sizeof(ram), 1) == NULL);
}

TEST(overflowing_ranges)
{
	static uint8_t ram[4096];
	struct guest_mem gm;
	uint8_t b[4];

	guest_mem_init_buf(&gm, ram, sizeof(ram));
	CHECK(guest_mem_ptr(&gm, UINT64_MAX, 2) == NULL);
	CHECK(guest_mem_ptr(&gm, 16, UINT64_MAX) == NULL);
	CHECK(guest_mem_ptr(&gm, UINT64_MAX - 1, 1) == NULL);
	CHECK_EQ(guest_mem_read(&gm, 4094, b, 4), -EFAULT);
	CHECK_EQ(guest_mem_write(&gm, 4096, b, 1), -EFAULT);
	CHECK_EQ(guest_mem_fill(&gm, 0, 0, 4097), -EFAULT);
	CHECK_EQ(guest_mem_write(&gm, 4092, "abcd", 4), 0);
	CHECK_EQ(guest_mem_read(&gm, 4092, b, 4), 0);
	CHECK(memcmp(b, "abcd", 4) == 0);
}

TEST(split_around_mmio_window)
{
	/* Layout only: a fake base pointer that is never dereferenced. */
	struct guest_mem gm;
	uint8_t *base = (uint8_t *)(uintptr_t)0x100000000000ULL;
	uint64_t size = 5ULL << 30;

	guest_mem_layout(&gm, base, size);
	CHECK_EQ(gm.nregions, 2);
	CHECK_EQ(gm.regions[0].size, LAYOUT_MMIO_START);
	CHECK_EQ(gm.regions[1].gpa, LAYOUT_HIGH_RAM);
	CHECK_EQ(gm.regions[1].size, size - LAYOUT_MMIO_START);
	CHECK(gm.regions[1].host == base + LAYOUT_MMIO_START);
	CHECK_EQ(guest_mem_low_end(&gm), LAYOUT_MMIO_START);
	/* Nothing in the window; ranges may not span the two regions. */
	CHECK(guest_mem_ptr(&gm, LAYOUT_MMIO_START, 1) == NULL);
	CHECK(guest_mem_ptr(&gm, LAYOUT_MMIO_START - 1, 1) == base + LAYOUT_MMIO_START - 1);
	CHECK(guest_mem_ptr(&gm, LAYOUT_MMIO_START - 1, 2) == NULL);
	CHECK(guest_mem_ptr(&gm, LAYOUT_HIGH_RAM, 8) == base + LAYOUT_MMIO_START);
	CHECK(guest_mem_ptr(&gm, LAYOUT_HIGH_RAM + (2ULL << 30) - 8, 8) != NULL);
	CHECK(guest_mem_ptr(&gm, LAYOUT_HIGH_RAM + (2ULL << 30) - 8, 9) == NULL);
	CHECK(guest_mem_contains(&gm, 0, LAYOUT_MMIO_START));
	CHECK(!guest_mem_contains(&gm, 0, LAYOUT_MMIO_START + 1));
}

TEST(exactly_three_gib_has_no_high_region)
{
	struct guest_mem gm;

	guest_mem_layout(&gm, (uint8_t *)(uintptr_t)0x100000000000ULL, LAYOUT_MMIO_START);
	CHECK_EQ(gm.nregions, 1);
	CHECK(guest_mem_ptr(&gm, LAYOUT_HIGH_RAM, 1) == NULL);
}

TEST(map_lazily)
{
	struct guest_mem gm;

	CHECK_EQ(guest_mem_map(&gm, 64ULL << 20, false), 0);
	CHECK(gm.mapped);
	CHECK(!gm.huge);
	CHECK_EQ(guest_mem_write(&gm, (64ULL << 20) - 1, "x", 1), 0);
	guest_mem_unmap(&gm);
	CHECK_EQ(guest_mem_map(&gm, 0, false), -EINVAL);
}

/* KVM uses 2 MiB pages only where host and guest addresses agree modulo
 * 2 MiB: both regions must start 2 MiB-aligned on the host. */
TEST(map_aligned_for_large_pages)
{
	struct guest_mem gm;

	CHECK_EQ(guest_mem_map(&gm, (3ULL << 30) + (6ULL << 20) + 4096, true), 0);
	CHECK_EQ(gm.nregions, 2);
	CHECK_EQ((uintptr_t)gm.regions[0].host % GUEST_MEM_HUGE, 0);
	CHECK_EQ((uintptr_t)gm.regions[1].host % GUEST_MEM_HUGE, 0);
	CHECK_EQ(guest_mem_write(&gm, LAYOUT_HIGH_RAM + (6ULL << 20), "y", 1), 0);
	CHECK_EQ(guest_mem_write(&gm, LAYOUT_HIGH_RAM + (6ULL << 20) + 4096, "y", 1), -EFAULT);
	guest_mem_unmap(&gm);
	CHECK_EQ(guest_mem_map(&gm, 1ULL << 20, true), 0);
	CHECK(!gm.huge); /* nothing above the first 2 MiB to advise */
	guest_mem_unmap(&gm);
}

TEST(map_is_zeroed_buffer_is_not)
{
	static uint8_t ram[4096];
	struct guest_mem gm;

	CHECK_EQ(guest_mem_map(&gm, 4ULL << 20, false), 0);
	CHECK(gm.zeroed);
	guest_mem_unmap(&gm);
	guest_mem_init_buf(&gm, ram, sizeof(ram));
	CHECK(!gm.zeroed);
}

/* Zero pages of the source are left out only while RAM is known zero, page
 * by page of guest-physical address: a range that starts or ends inside a
 * page compares only its part of that page. */
TEST(write_sparse_skips_zero_pages_of_zeroed_ram)
{
	static uint8_t ram[5 * 4096], src[4 * 4096];
	struct guest_mem gm;

	memset(src, 0, sizeof(src));
	src[0] = 1;		  /* page at gpa 0x1800: non-zero */
	src[4096 - 0x800] = 2;	  /* gpa 0x2000, page 2: non-zero */
	/* gpa 0x3000 and 0x4000: zero; last partial page 0x5000-0x5800 is out */
	guest_mem_init_buf(&gm, ram, sizeof(ram));
	memset(ram, 0xee, sizeof(ram));
	gm.zeroed = true; /* a broken promise, so that skipped bytes show */
	CHECK_EQ(guest_mem_write_sparse(&gm, 0x1800, src, 3 * 4096), 0);
	CHECK_EQ(ram[0x17ff], 0xee);
	CHECK_EQ(ram[0x1800], 1);
	CHECK_EQ(ram[0x1fff], 0);
	CHECK_EQ(ram[0x2000], 2);
	CHECK_EQ(ram[0x2fff], 0);
	CHECK_EQ(ram[0x3000], 0xee); /* skipped */
	CHECK_EQ(ram[0x47ff], 0xee);
	CHECK_EQ(ram[0x4800], 0xee); /* past the range */

	/* RAM not known zero: every byte is written. */
	gm.zeroed = false;
	CHECK_EQ(guest_mem_write_sparse(&gm, 0x1800, src, 3 * 4096), 0);
	CHECK_EQ(ram[0x3000], 0);
	CHECK_EQ(ram[0x47ff], 0);
	CHECK_EQ(ram[0x4800], 0xee);

	/* Ranges: ending exactly at the top of RAM is fine, one more is not. */
	CHECK_EQ(guest_mem_write_sparse(&gm, sizeof(ram) - 4096, src, 4096), 0);
	CHECK_EQ(guest_mem_write_sparse(&gm, sizeof(ram) - 4095, src, 4096), -EFAULT);
	CHECK_EQ(guest_mem_write_sparse(&gm, UINT64_MAX, src, 2), -EFAULT);
}

/* hugetlbfs RAM: whole 2 MiB pages only; an empty pool is -ENOMEM at map
 * time (never a SIGBUS later), a stocked one maps aligned, zeroed RAM. */
TEST(map_hugetlb)
{
	struct guest_mem gm = { 0 };
	int err;

	CHECK_EQ(guest_mem_map_hugetlb(&gm, 0), -EINVAL);
	CHECK_EQ(guest_mem_map_hugetlb(&gm, (2ULL << 20) + 4096), -EINVAL);
	err = guest_mem_map_hugetlb(&gm, 4ULL << 20);
	CHECK(err == 0 || err == -ENOMEM);
	if (err == 0) {
		CHECK_EQ((uintptr_t)gm.base % (2u << 20), 0);
		CHECK(gm.zeroed && gm.huge);
		CHECK_EQ(gm.base[(4u << 20) - 1], 0);
		guest_mem_unmap(&gm);
	}
}

SUITE(guest_mem, T(small_ram_one_region), T(overflowing_ranges), T(split_around_mmio_window),
      T(exactly_three_gib_has_no_high_region), T(map_lazily), T(map_aligned_for_large_pages),
      T(map_is_zeroed_buffer_is_not), T(write_sparse_skips_zero_pages_of_zeroed_ram), T(map_hugetlb));
