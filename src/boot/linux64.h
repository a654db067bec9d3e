/* SPDX-License-Identifier: MIT */
/*
 * The Linux x86 64-bit boot protocol (Documentation/arch/x86/boot.rst,
 * "64-bit boot protocol"), for kernels without a PVH note: the kernel's
 * segments at their addresses, a boot_params "zero page" with the e820 map,
 * the command line and the initrd, identity-mapped page tables, and vCPU 0
 * in long mode at the ELF entry with RSI = the zero page. Firecracker and
 * Cloud Hypervisor boot every vmlinux this way. The builders are pure (they
 * write through guest_mem).
 */
#ifndef EMBER_BOOT_LINUX64_H
#define EMBER_BOOT_LINUX64_H

#include <stdint.h>

#include "guest_mem.h"

/* boot_params offsets (arch/x86/include/uapi/asm/bootparam.h). */
#define BP_ACPI_RSDP	   0x070 /* u64, protocol 2.14 */
#define BP_EXT_RAMDISK_IMG 0x0c0 /* u32: bits 32-63 of ramdisk_image */
#define BP_EXT_RAMDISK_SZ  0x0c4
#define BP_EXT_CMDLINE	   0x0c8
#define BP_E820_ENTRIES	   0x1e8 /* u8 */
#define BP_HDR		   0x1f1 /* struct setup_header */
#define BP_BOOT_FLAG	   0x1fe /* u16 0xAA55 */
#define BP_HEADER	   0x202 /* u32 "HdrS" */
#define BP_VERSION	   0x206 /* u16 */
#define BP_TYPE_OF_LOADER  0x210 /* u8 */
#define BP_LOADFLAGS	   0x211 /* u8 */
#define BP_RAMDISK_IMAGE   0x218 /* u32 */
#define BP_RAMDISK_SIZE	   0x21c
#define BP_CMD_LINE_PTR	   0x228
#define BP_INITRD_MAX	   0x22c
#define BP_KERNEL_ALIGN	   0x230
#define BP_CMDLINE_SIZE	   0x238
#define BP_E820_TABLE	   0x2d0 /* struct boot_e820_entry[128], 20 bytes each */
#define BP_E820_MAX	   128
#define BP_SIZE		   4096

#define BP_HDRS_MAGIC  0x53726448u /* "HdrS" */
#define BP_PROTOCOL    0x020f	   /* the version ember speaks: 2.15 */
#define BP_LOADER_TYPE 0xff	   /* "undefined": no assigned loader ID */

/* Selectors the protocol requires: __BOOT_CS and __BOOT_DS. */
#define LINUX64_SEL_CODE 0x10
#define LINUX64_SEL_DATA 0x18

struct linux64_boot {
	const char *cmdline;		  /* NUL-terminated; at most LAYOUT_CMDLINE_MAX-1 bytes */
	uint64_t initrd_gpa, initrd_size; /* size 0: none */
	uint64_t rsdp_paddr;		  /* 0: none */
};

/* Write the GDT, page tables, zero page and command line. Returns 0, or
 * -E2BIG (command line too long), -ENOSPC/-EFAULT (does not fit in RAM). */
int linux64_write_boot_data(const struct guest_mem *gm, const struct linux64_boot *b);

struct kvm_regs;
struct kvm_sregs;
/* vCPU 0 for the protocol: long mode, paging on with the identity map,
 * CS = __BOOT_CS, data segments __BOOT_DS, interrupts off, RIP = entry,
 * RSI = the zero page. `sregs` must hold KVM's current values. */
void linux64_boot_regs(uint64_t entry, struct kvm_regs *regs, struct kvm_sregs *sregs);

#endif
