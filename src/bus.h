/* SPDX-License-Identifier: MIT */
/*
 * I/O buses: one for x86 ports, one for MMIO. Devices register half-open
 * address ranges with an ops table; the vCPU loop dispatches exits here and
 * handlers see the offset from their base. Registration happens before the
 * vCPUs start; afterwards the bus is read-only, so dispatch takes no lock
 * (devices lock their own state).
 */
#ifndef EMBER_BUS_H
#define EMBER_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct bus_ops {
	const char *name;
	/* len is 1, 2, 4 or 8; reads must fill all len bytes. */
	void (*read)(void *opaque, uint64_t off, uint8_t *data, uint32_t len);
	void (*write)(void *opaque, uint64_t off, const uint8_t *data, uint32_t len);
};

struct bus_range {
	uint64_t base, len;
	const struct bus_ops *ops;
	void *opaque;
};

#define BUS_MAX_RANGES	  32
#define BUS_MAX_UNHANDLED 64

struct bus_unhandled {
	uint64_t addr;
	uint64_t count;
	bool write;
};

struct bus {
	const char *name; /* "port" or "mmio", for messages */
	unsigned nranges;
	struct bus_range ranges[BUS_MAX_RANGES]; /* sorted by base */
	bool debug;	/* count accesses nobody handles */
	pthread_mutex_t lock; /* guards unhandled[] (debug only) */
	unsigned nunhandled;
	struct bus_unhandled unhandled[BUS_MAX_UNHANDLED];
	uint64_t unhandled_other; /* accesses past the table */
};

void bus_init(struct bus *bus, const char *name, bool debug);
void bus_destroy(struct bus *bus);

/* Returns 0, -EEXIST if [base, base+len) overlaps a registered range,
 * -EINVAL for an empty or overflowing range, -ENOSPC when the table is full. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque);

/* Dispatch one access. An access that no device claims, or that crosses the
 * end of a device's range, reads as all-ones and writes are dropped (what a
 * PC does for unclaimed ports). Returns true if a device handled it. */
bool bus_access(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool write);

/* Print the unhandled-access counts (--debug) to stderr. */
void bus_report(struct bus *bus);

#endif
