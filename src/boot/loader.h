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

struct loader_result {
	uint32_t entry; /* PVH entry point */
	uint64_t kernel_start, kernel_end;
	uint64_t initrd_gpa, initrd_size; /* size 0: no initrd */
};

struct trace;

/* Returns 0 or negative errno with a message naming the file and problem.
 * With a trace (--boot-trace), marks "kernel parsed" and, before an initrd,
 * "kernel copied". */
int loader_load(const struct guest_mem *gm, const struct ember_config *cfg, const char *cmdline,
		struct loader_result *res, struct trace *t);

/* `ember inspect`: describe what the loader sees in a kernel file. */
int loader_inspect(const char *path, FILE *out);

#endif
