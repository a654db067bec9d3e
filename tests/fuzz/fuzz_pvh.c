// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: memory map, initrd placement, start_info and MP table
 * builders. Input: u64 memory size, u64 kernel start, u64 kernel end,
 * u64 initrd size, u16 CPU count, then the command line bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "boot/layout.h"
#include "boot/mptable.h"
#include "boot/pvh.h"
#include "util.h"

static uint8_t ram[2 << 20];
static uint8_t mp[LAYOUT_MPTABLE_MAX];

static void check_memmap(uint64_t size)
{
	struct hvm_memmap_entry map[LAYOUT_MEMMAP_MAX];
	int n = pvh_memmap(size, map, LAYOUT_MEMMAP_MAX);
	uint64_t ram_total = 0;

	if (n < 0) {
		if (size >= LAYOUT_MIN_MEMORY)
			abort();
		return;
	}
	for (int i = 0; i < n; i++) {
		if (map[i].size == 0)
			abort();
		if (i && map[i].addr < map[i - 1].addr + map[i - 1].size)
			abort();
		if (map[i].type == E820_RAM)
			ram_total += map[i].size;
	}
	if (ram_total != size - (LAYOUT_LEGACY_HOLE_END - LAYOUT_LEGACY_HOLE))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t mem, ks, ke, isz, gpa;
	unsigned ncpus;
	char cmdline[LAYOUT_CMDLINE_MAX + 16];
	struct guest_mem gm;
	struct pvh_boot b = { .cmdline = cmdline };
	size_t clen;
	int n;

	if (size < 34)
		return 0;
	mem = get_le64(data);
	ks = get_le64(data + 8);
	ke = get_le64(data + 16);
	isz = get_le64(data + 24);
	ncpus = get_le16(data + 32);
	check_memmap(mem);

	if (ke >= ks && mem >= LAYOUT_MIN_MEMORY &&
	    pvh_place_initrd(mem, ks, ke, isz, &gpa) == 0) {
		uint64_t top = mem < LAYOUT_MMIO_START ? mem : LAYOUT_MMIO_START;

		if ((gpa & 4095) || gpa < LAYOUT_LOW_RESERVED_END || gpa + isz > top ||
		    ranges_overlap(gpa, isz, ks, ke - ks))
			abort();
	}

	clen = size - 34 < sizeof(cmdline) - 1 ? size - 34 : sizeof(cmdline) - 1;
	memcpy(cmdline, data + 34, clen);
	cmdline[clen] = '\0';
	guest_mem_init_buf(&gm, ram, sizeof(ram));
	b.has_initrd = isz & 1;
	b.initrd_gpa = gpa;
	b.initrd_size = isz;
	n = pvh_write_boot_data(&gm, &b);
	if (n == 0 && strlen(cmdline) >= LAYOUT_CMDLINE_MAX)
		abort();

	n = mptable_build(mp, sizeof(mp), (uint32_t)LAYOUT_MPTABLE, ncpus);
	if (n > 0 && (size_t)n != mptable_size(ncpus))
		abort();
	return 0;
}
