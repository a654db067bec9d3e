/* SPDX-License-Identifier: MIT */
/*
 * "Init reached" marker (Firecracker's boot-timer convention): the guest
 * writes the byte 123 at MMIO LAYOUT_BOOT_MARKER, or to I/O port 0x3f0 as
 * older guests do. Any other value is ignored; reads return 0.
 */
#ifndef EMBER_DEV_BOOT_MARKER_H
#define EMBER_DEV_BOOT_MARKER_H

#include "bus.h"

struct boot_marker {
	void (*marked)(void *ctx); /* called on every write of the magic byte */
	void *ctx;
};

/* The same ops serve the MMIO page and the I/O port. */
extern const struct bus_ops boot_marker_bus_ops;

#endif
