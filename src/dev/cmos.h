/* SPDX-License-Identifier: MIT */
/*
 * The PC's CMOS RTC (Motorola MC146818), ports 0x70 (index, bit 7 masks NMI)
 * and 0x71 (data): the wall clock a guest without ACPI expects to find, and
 * 128 bytes of NVRAM.
 *
 * Why it exists: without it every read returns 0xFF, which has the
 * update-in-progress bit set, and Linux's rtc-cmos driver polls for a second
 * before it gives up (cmos_init was the top initcall of a stock Debian kernel,
 * 2.6 s in the lab). With it the probe finishes at once and the guest gets
 * /dev/rtc0 with the host's time.
 *
 * The clock is the host's CLOCK_REALTIME plus an offset the guest sets by
 * writing the time registers with the SET bit of register B, as hwclock does.
 * The update cycle is instantaneous, so UIP never reads 1. No interrupts:
 * alarms, periodic and update-ended interrupts never fire (register C reads
 * 0). Everything here is a pure function of the state and a clock, so tests
 * drive it without /dev/kvm.
 */
#ifndef EMBER_DEV_CMOS_H
#define EMBER_DEV_CMOS_H

#include <pthread.h>
#include <stdint.h>

#include "bus.h"

#define CMOS_SECONDS	 0x00
#define CMOS_MINUTES	 0x02
#define CMOS_HOURS	 0x04
#define CMOS_WEEKDAY	 0x06
#define CMOS_DAY	 0x07
#define CMOS_MONTH	 0x08
#define CMOS_YEAR	 0x09
#define CMOS_REG_A	 0x0a
#define CMOS_REG_B	 0x0b
#define CMOS_REG_C	 0x0c
#define CMOS_REG_D	 0x0d
#define CMOS_CENTURY	 0x32 /* where PC firmware keeps it (ACPI FADT default) */
#define CMOS_SIZE	 128

#define CMOS_A_UIP	 0x80
#define CMOS_B_SET	 0x80
#define CMOS_B_BINARY	 0x04 /* DM: registers in binary, else BCD */
#define CMOS_B_24H	 0x02
#define CMOS_D_VRT	 0x80 /* valid RAM and time */
#define CMOS_HOUR_PM	 0x80 /* in 12-hour mode */

struct cmos {
	pthread_mutex_t lock; /* vCPU threads may access it concurrently */
	uint8_t index;
	uint8_t ram[CMOS_SIZE];
	int64_t offset; /* guest time minus host time, seconds */
	int64_t (*now)(void *ctx); /* host seconds since the epoch, UTC */
	void *ctx;
};

/* Power-on state: 24-hour BCD, the time base divider running, VRT set.
 * `now` NULL means CLOCK_REALTIME. */
void cmos_init(struct cmos *c, int64_t (*now)(void *ctx), void *ctx);
void cmos_destroy(struct cmos *c);

/* One byte at port offset 0 (index) or 1 (data). */
uint8_t cmos_read(struct cmos *c, unsigned port);
void cmos_write(struct cmos *c, unsigned port, uint8_t val);

/* Register at PORT_CMOS_INDEX with length 2. */
extern const struct bus_ops cmos_bus_ops;

struct snap_w;
struct snap_r;
/* The index, the RAM and the guest clock's offset from the host's, for snapshots; cmos_load() checks every field (0 or -EINVAL). */
void cmos_save(struct cmos *k, struct snap_w *w);
int cmos_load(struct cmos *k, struct snap_r *r);

#endif
