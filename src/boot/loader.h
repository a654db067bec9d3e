/* SPDX-License-Identifier: MIT */
/*
 * Boot preparation: reads the kernel and initrd files into guest RAM and
 * writes the PVH boot data and MP table. The only boot code that does I/O;
 * the parsing and layout it relies on are pure (elf.c, pvh.c, mptable.c).
 */
#ifndef EMBER_BOOT_LOADER_H
#define EMBER_BOOT_LOADER_H

#include <stdint.h>
#include <stdio.h>

#include "guest_mem.h"

struct ember_config;
struct acpi_desc;

/* How vCPU 0 enters the kernel. */
enum boot_protocol {
	BOOT_PVH,     /* 32-bit, at the PVH note's entry, EBX = start_info */
	BOOT_LINUX64, /* 64-bit, at the ELF entry, RSI = boot_params */
};

struct loader_result {
	enum boot_protocol protocol;
	uint64_t entry; /* physical */
	uint64_t kernel_start, kernel_end; /* where it was loaded */
	uint64_t elf_start;		   /* where its ELF headers put it */
	uint64_t initrd_gpa, initrd_size; /* size 0: no initrd */
};

struct trace;

/* Returns 0 or negative errno with a message naming the file and problem.
 * With a trace (--boot-trace), marks "kernel parsed" and, before an initrd,
 * "kernel copied". loader_load() is loader_load_images() (the kernel's
 * segments and the initrd: the bulk of the work, which needs no VM yet)
 * followed by loader_write_boot_data() (start_info or the zero page,
 * command line, memory map, MP table, and with `acpi` the ACPI tables,
 * whose RSDP address goes to the kernel). */
int loader_load(const struct guest_mem *gm, const struct ember_config *cfg, const char *cmdline,
		const struct acpi_desc *acpi, struct loader_result *res, struct trace *t);
int loader_load_images(const struct guest_mem *gm, const struct ember_config *cfg,
		       struct loader_result *res, struct trace *t);
int loader_write_boot_data(const struct guest_mem *gm, const struct ember_config *cfg,
			   const char *cmdline, const struct acpi_desc *acpi,
			   const struct loader_result *res);

/* `ember inspect`: describe what the loader sees in a kernel file. */
int loader_inspect(const char *path, FILE *out);

#endif
