// SPDX-License-Identifier: MIT
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>

#include "boot/layout.h"
#include "boot/pvh.h"
#include "harness.h"
#include "util.h"

/* Check the invariants Linux relies on for one memory size. */
static void check_map(uint64_t size)
{
	struct hvm_memmap_entry map[LAYOUT_MEMMAP_MAX];
	uint64_t ram = 0;
	int n = pvh_memmap(size, map, LAYOUT_MEMMAP_MAX);

	CHECK(n > 0 && n <= LAYOUT_MEMMAP_MAX);
	for (int i = 0; i < n; i++) {
		CHECK(map[i].size > 0);
		CHECK_EQ(map[i].reserved, 0);
		if (i > 0)
			CHECK(map[i].addr >= map[i - 1].addr + map[i - 1].size);
		if (map[i].type == E820_RAM) {
			ram += map[i].size;
			/* No RAM in the legacy hole or the MMIO window. */
			CHECK(!ranges_overlap(map[i].addr, map[i].size, LAYOUT_LEGACY_HOLE,
					      LAYOUT_LEGACY_HOLE_END - LAYOUT_LEGACY_HOLE));
			CHECK(!ranges_overlap(map[i].addr, map[i].size, LAYOUT_MMIO_START,
					      LAYOUT_MMIO_END - LAYOUT_MMIO_START));
		}
	}
	CHECK_EQ(ram, size - (LAYOUT_LEGACY_HOLE_END - LAYOUT_LEGACY_HOLE));
	/* RAM below 1 MiB, where Linux puts the AP trampoline. */
	CHECK_EQ(map[0].addr, 0);
	CHECK_EQ(map[0].type, E820_RAM);
	CHECK_EQ(map[1].type, E820_RESERVED);
}

TEST(memmap_many_sizes)
{
	static const uint64_t sizes[] = {
		LAYOUT_MIN_MEMORY, 16ULL << 20, 128ULL << 20, 256ULL << 20, 1ULL << 30,
		LAYOUT_MMIO_START - 4096, LAYOUT_MMIO_START, LAYOUT_MMIO_START + 4096,
		3584ULL << 20, 4ULL << 30, 5ULL << 30, 64ULL << 30, 1ULL << 40,
	};

	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++)
		check_map(sizes[i]);
}

TEST(memmap_crossing_4g)
{
	struct hvm_memmap_entry map[8];
	int n = pvh_memmap(5ULL << 30, map, 8);

	CHECK_EQ(n, 5);
	CHECK_EQ(map[2].addr, 0x100000);
	CHECK_EQ(map[2].size, LAYOUT_MMIO_START - 0x100000);
	CHECK_EQ(map[3].addr, LAYOUT_MMIO_START);
	CHECK_EQ(map[3].type, E820_RESERVED);
	CHECK_EQ(map[4].addr, LAYOUT_HIGH_RAM);
	CHECK_EQ(map[4].size, (5ULL << 30) - LAYOUT_MMIO_START);
	CHECK_EQ(map[4].type, E820_RAM);
}

TEST(memmap_errors)
{
	struct hvm_memmap_entry map[2];

	CHECK_EQ(pvh_memmap(1 << 20, map, 2), -EINVAL);
	CHECK_EQ(pvh_memmap(128 << 20, map, 2), -ENOSPC);
}

TEST(initrd_placement)
{
	uint64_t gpa = 0;

	/* Top of RAM, page-aligned. */
	CHECK_EQ(pvh_place_initrd(128 << 20, 0x1000000, 0x2000000, 5000, &gpa), 0);
	CHECK_EQ(gpa, (128 << 20) - 8192);
	CHECK_EQ(gpa & 4095, 0);
	/* Above 3 GiB of RAM the initrd stays below the MMIO window. */
	CHECK_EQ(pvh_place_initrd(5ULL << 30, 0x1000000, 0x2000000, 1 << 20, &gpa), 0);
	CHECK_EQ(gpa, LAYOUT_MMIO_START - (1 << 20));
	/* Kernel at the top: goes below it instead. */
	CHECK_EQ(pvh_place_initrd(32 << 20, 0x1000000, 32 << 20, 4 << 20, &gpa), 0);
	CHECK_EQ(gpa, 0x1000000 - (4 << 20));
	CHECK(!ranges_overlap(gpa, 4 << 20, 0x1000000, 16 << 20));
	/* Does not fit anywhere. */
	CHECK_EQ(pvh_place_initrd(32 << 20, 0x1000000, 32 << 20, 15 << 20, &gpa), 0);
	CHECK_EQ(gpa, 0x100000); /* exactly down to 1 MiB */
	CHECK_EQ(pvh_place_initrd(32 << 20, 0x1000000, 32 << 20, (15 << 20) + 1, &gpa), -ENOSPC);
	CHECK_EQ(pvh_place_initrd(32 << 20, 0x1000000, 0x1100000, 64 << 20, &gpa), -ENOSPC);
	CHECK_EQ(pvh_place_initrd(32 << 20, 0x1000000, 0x1100000, 0, &gpa), -ENOSPC);
	/* Found by fuzz_pvh: a kernel above the top of RAM must not pull the
	 * initrd up with it. */
	CHECK_EQ(pvh_place_initrd(16 << 20, 32 << 20, 48 << 20, (16 << 20) - 1, &gpa), -ENOSPC);
	CHECK_EQ(pvh_place_initrd(16 << 20, 32 << 20, 48 << 20, 4 << 20, &gpa), 0);
	CHECK(gpa + (4 << 20) <= (16 << 20));
}

static uint8_t ram[2 << 20];

TEST(boot_data_layout)
{
	struct guest_mem gm;
	struct hvm_start_info si;
	struct hvm_modlist_entry mod;
	struct hvm_memmap_entry e;
	struct pvh_boot b = { .cmdline = "console=ttyS0 x=\"y z\"", .has_initrd = true,
			      .initrd_gpa = 0x1f0000, .initrd_size = 1234 };
	char cmd[64];

	guest_mem_init_buf(&gm, ram, sizeof(ram));
	memset(ram, 0xee, sizeof(ram));
	CHECK_EQ(pvh_write_boot_data(&gm, &b), 0);
	CHECK_EQ(guest_mem_read(&gm, LAYOUT_START_INFO, &si, sizeof(si)), 0);
	CHECK_EQ(si.magic, HVM_START_MAGIC);
	CHECK_EQ(si.version, 1);
	CHECK_EQ(si.flags, 0);
	CHECK_EQ(si.nr_modules, 1);
	CHECK_EQ(si.modlist_paddr, LAYOUT_MODLIST);
	CHECK_EQ(si.cmdline_paddr, LAYOUT_CMDLINE);
	CHECK_EQ(si.rsdp_paddr, 0);
	CHECK_EQ(si.memmap_paddr, LAYOUT_MEMMAP);
	CHECK_EQ(si.memmap_entries, 4); /* RAM, hole, RAM, MMIO window */
	CHECK_EQ(si.reserved, 0);
	/* All boot data below 1 GiB (Linux's early page tables). */
	CHECK(si.memmap_paddr < (1 << 30) && si.cmdline_paddr < (1 << 30));
	CHECK_EQ(guest_mem_read(&gm, LAYOUT_MODLIST, &mod, sizeof(mod)), 0);
	CHECK_EQ(mod.paddr, 0x1f0000);
	CHECK_EQ(mod.size, 1234);
	CHECK_EQ(mod.cmdline_paddr, 0);
	CHECK_EQ(guest_mem_read(&gm, LAYOUT_MEMMAP + 2 * sizeof(e), &e, sizeof(e)), 0);
	CHECK_EQ(e.addr, 0x100000);
	CHECK_EQ(e.size, sizeof(ram) - 0x100000);
	CHECK_EQ(guest_mem_read(&gm, LAYOUT_CMDLINE, cmd, strlen(b.cmdline) + 1), 0);
	CHECK(strcmp(cmd, b.cmdline) == 0);
	CHECK_EQ(get_le64(ram + LAYOUT_GDT + 8), pvh_gdt[1]);
	/* Boot data areas do not overlap each other. */
	CHECK(LAYOUT_START_INFO + sizeof(si) <= LAYOUT_MODLIST);
	CHECK(LAYOUT_MODLIST + LAYOUT_MODLIST_MAX * sizeof(mod) <= LAYOUT_MEMMAP);
	CHECK(LAYOUT_MEMMAP + LAYOUT_MEMMAP_MAX * sizeof(e) <= LAYOUT_CMDLINE);
	CHECK(LAYOUT_CMDLINE + LAYOUT_CMDLINE_MAX <= LAYOUT_LEGACY_HOLE);
}

TEST(no_initrd_leaves_modlist_zero)
{
	struct guest_mem gm;
	struct hvm_start_info si;
	struct pvh_boot b = { .cmdline = "" };

	guest_mem_init_buf(&gm, ram, sizeof(ram));
	CHECK_EQ(pvh_write_boot_data(&gm, &b), 0);
	CHECK_EQ(guest_mem_read(&gm, LAYOUT_START_INFO, &si, sizeof(si)), 0);
	CHECK_EQ(si.nr_modules, 0);
	CHECK_EQ(si.modlist_paddr, 0);
	CHECK_EQ(ram[LAYOUT_CMDLINE], 0);
}

TEST(cmdline_limit)
{
	struct guest_mem gm;
	char *s = malloc(LAYOUT_CMDLINE_MAX + 1);
	struct pvh_boot b = { .cmdline = s };

	guest_mem_init_buf(&gm, ram, sizeof(ram));
	memset(s, 'a', LAYOUT_CMDLINE_MAX - 1);
	s[LAYOUT_CMDLINE_MAX - 1] = '\0';
	CHECK_EQ(pvh_write_boot_data(&gm, &b), 0); /* 2047 bytes + NUL fit */
	CHECK_EQ(ram[LAYOUT_CMDLINE + LAYOUT_CMDLINE_MAX - 1], 0);
	memset(s, 'a', LAYOUT_CMDLINE_MAX);
	s[LAYOUT_CMDLINE_MAX] = '\0';
	CHECK_EQ(pvh_write_boot_data(&gm, &b), -E2BIG);
	free(s);
}

TEST(boot_registers)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	memset(&s, 0x5a, sizeof(s));
	pvh_boot_regs(0x1000abc, &r, &s);
	CHECK_EQ(r.rip, 0x1000abc);
	CHECK_EQ(r.rbx, LAYOUT_START_INFO);
	CHECK_EQ(r.rflags, 2);
	CHECK_EQ(s.cr0, 0x11);
	CHECK_EQ(s.cr4, 0);
	CHECK_EQ(s.efer, 0);
	CHECK_EQ(s.cs.selector, PVH_SEL_CODE);
	CHECK_EQ(s.cs.db, 1);
	CHECK_EQ(s.cs.l, 0);
	CHECK_EQ(s.cs.limit, 0xffffffff);
	CHECK_EQ(s.ss.selector, PVH_SEL_DATA);
	CHECK_EQ(s.ds.type, 3);
	CHECK_EQ(s.tr.selector, PVH_SEL_TSS);
	CHECK_EQ(s.tr.type, 0xb);
	CHECK_EQ(s.tr.limit, 0x67);
	CHECK_EQ(s.gdt.base, LAYOUT_GDT);
	CHECK_EQ(s.gdt.limit, 31);
	/* The GDT bytes agree with the cached segment state. */
	CHECK_EQ((pvh_gdt[PVH_SEL_CODE / 8] >> 40) & 0xf, s.cs.type);
	CHECK_EQ((pvh_gdt[PVH_SEL_DATA / 8] >> 40) & 0xf, s.ds.type);
	CHECK_EQ((pvh_gdt[PVH_SEL_TSS / 8] >> 40) & 0xf, s.tr.type);
}

SUITE(pvh, T(memmap_many_sizes), T(memmap_crossing_4g), T(memmap_errors), T(initrd_placement),
      T(boot_data_layout), T(no_initrd_leaves_modlist_zero), T(cmdline_limit),
      T(boot_registers));
