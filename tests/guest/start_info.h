/* SPDX-License-Identifier: MIT */
/*
 * The PVH boot structures, as the guest sees them (pvh-boot.md section 2;
 * Xen's public start_info ABI). All little-endian, address fields u64.
 */
#ifndef TG_START_INFO_H
#define TG_START_INFO_H

#include "tg.h"

#define HVM_START_MAGIC	    0x336ec578
#define HVM_MEMMAP_RAM	    1
#define HVM_MEMMAP_TYPE_MAX 7 /* PMEM: the highest type the ABI defines */

struct hvm_start_info {
	u32 magic;
	u32 version;
	u32 flags;
	u32 nr_modules;
	u64 modlist_paddr;
	u64 cmdline_paddr;
	u64 rsdp_paddr;
	u64 memmap_paddr;
	u32 memmap_entries;
	u32 reserved;
};

struct hvm_modlist_entry {
	u64 paddr;
	u64 size;
	u64 cmdline_paddr;
	u64 reserved;
};

struct hvm_memmap_table_entry {
	u64 addr;
	u64 size;
	u32 type;
	u32 reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry");

#endif
