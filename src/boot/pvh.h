/* SPDX-License-Identifier: MIT */
/*
 * The PVH boot handover (Xen's docs/misc/pvh.pandoc, Linux's
 * arch/x86/platform/pvh/): start_info v1, memory map, module list, command
 * line, GDT and the initial vCPU registers. The builders are pure (they write
 * through guest_mem, which tests back with a plain buffer).
 */
#ifndef EMBER_BOOT_PVH_H
#define EMBER_BOOT_PVH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

#define HVM_START_MAGIC 0x336ec578u

/* Guest-visible structures, little-endian as on x86. */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info is 56 bytes");

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry is 32 bytes");

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_memmap_entry) == 24, "hvm_memmap_entry is 24 bytes");

#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3

/*
 * Memory map for `mem_size` bytes of RAM laid out as guest_mem does: RAM below
 * 640 KiB, the legacy hole reserved, RAM from 1 MiB to the MMIO window, the
 * window reserved, RAM above 4 GiB. Sorted, no empty entries.
 * Returns the entry count, or -ENOSPC if `max` is too small, -EINVAL if
 * mem_size is below LAYOUT_MIN_MEMORY.
 */
int pvh_memmap(uint64_t mem_size, struct hvm_memmap_entry *map, unsigned max);

/*
 * Where module 0 (the initrd) goes: the highest page-aligned address below
 * the end of low RAM (and below 4 GiB, as Linux keeps a u32) at which
 * [addr, addr+size) overlaps neither the kernel [kernel_start, kernel_end)
 * nor the boot data below 1 MiB. Returns 0 and *gpa, or -ENOSPC.
 */
int pvh_place_initrd(uint64_t mem_size, uint64_t kernel_start, uint64_t kernel_end,
		     uint64_t size, uint64_t *gpa);

/* What every boot protocol checks first: the command line fits (-E2BIG)
 * and the memory map builds (its entry count, or -ENOSPC/-EINVAL); each
 * with a message. */
int pvh_boot_memmap(const struct guest_mem *gm, const char *cmdline, struct hvm_memmap_entry *map,
		    unsigned max);

struct pvh_boot {
	const char *cmdline; /* NUL-terminated; at most LAYOUT_CMDLINE_MAX-1 bytes */
	bool has_initrd;
	uint64_t initrd_gpa, initrd_size;
	uint64_t rsdp_paddr; /* 0: none */
};

/* Write the GDT, start_info, memory map, module list and command line.
 * Returns 0, or -E2BIG (command line too long), -ENOSPC/-EFAULT (does not fit
 * in guest RAM). */
int pvh_write_boot_data(const struct guest_mem *gm, const struct pvh_boot *b);

/* GDT entries ember writes at LAYOUT_GDT; selectors are index * 8. */
#define PVH_GDT_ENTRIES 4
#define PVH_SEL_CODE	0x08
#define PVH_SEL_DATA	0x10
#define PVH_SEL_TSS	0x18
extern const uint64_t pvh_gdt[PVH_GDT_ENTRIES];

struct kvm_regs;
struct kvm_sregs;
struct kvm_segment;
/* A flat 4 GiB segment as both boot protocols load them: base 0, G=1,
 * present, DPL 0; a 64-bit code segment (L=1, D=0) when code64, else a
 * 32-bit one (D/B=1). */
struct kvm_segment boot_flat_seg(uint16_t sel, uint8_t type, bool code64);
/* Fill the boot vCPU's registers as the PVH ABI requires: 32-bit protected
 * mode, paging off, flat segments matching pvh_gdt, EBX = start_info. `sregs`
 * must hold KVM's current values (only the fields the ABI names change). */
void pvh_boot_regs(uint32_t entry, struct kvm_regs *regs, struct kvm_sregs *sregs);

#endif
