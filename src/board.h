/* SPDX-License-Identifier: MIT */
/*
 * The board: every device of the machine, how each is wired (bus ranges,
 * IOAPIC pins, KVM irqfds and ioeventfds, MSI routes) and the kernel
 * command-line words the virtio devices add. The legacy devices (16550,
 * IOAPIC, i8042, CMOS RTC, boot marker, ACPI power management) are always
 * there; the virtio devices come from the configuration through one table
 * in board.c, in the order Linux probes them: a new device is its own file
 * plus one entry in that table.
 *
 * The board knows the VM only through struct board_env: the VM fd for its
 * KVM wiring, guest memory for the devices, and a stop callback for a guest
 * that resets or a wiring failure.
 */
#ifndef EMBER_BOARD_H
#define EMBER_BOARD_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "boot/layout.h"
#include "bus.h"
#include "config.h"
#include "console_out.h"
#include "dev/acpi_pm.h"
#include "dev/boot_marker.h"
#include "dev/cmos.h"
#include "dev/i8042.h"
#include "dev/ioapic.h"
#include "dev/rate_limiter.h"
#include "dev/uart.h"
#include "guest_mem.h"
#include "vm_virtio.h"

struct trace;
struct virtio_console;

struct board_env {
	int vm_fd;
	const struct guest_mem *mem;
	const struct ember_config *cfg;
	struct trace *trace;	 /* "first console byte", "boot marker"; or NULL */
	struct console_out *out; /* guest console output */
	/* The machine must stop: the guest reset it, or wiring failed. */
	void (*stop)(void *ctx, int status, const char *reason);
	/* The guest wrote the boot marker (called on every write); or NULL. */
	void (*marker)(void *ctx);
	void *ctx;
};

struct board {
	struct board_env env;
	struct bus pio, mmio;
	struct uart uart;
	struct ioapic ioapic;
	struct i8042 i8042;
	struct cmos cmos;
	struct boot_marker marker;
	struct acpi_pm acpi_pm;
	bool legacy_ready;
	struct virtio_console *vcon; /* --console virtio, else NULL */
	unsigned nvirtio;
	struct vm_virtio *virtio[VM_VIRTIO_MAX];
	char devwords[LAYOUT_CMDLINE_MAX]; /* the parameters ember adds, each after a space */
	char cmdline[LAYOUT_CMDLINE_MAX];  /* the configured one with devwords, for Linux */
	/* Console output limit (Firecracker's serial rate_limiter): bytes over
	 * it are dropped and counted, under the UART's lock. */
	struct rate_limiter serial_rl;
	_Atomic uint64_t serial_dropped;
	/* The GSI routes KVM has (under the IOAPIC's lock). */
	struct kvm_irq_routing_entry routes[IOAPIC_PINS];
	unsigned nroutes;
	/* IOAPIC interrupts no local APIC accepted (see on_ioapic_deliver). */
	_Atomic uint64_t irq_dropped;
};

/* The legacy devices on their buses. On error returns negative errno with a
 * message; board_destroy() is safe afterwards. */
int board_create(struct board *b, const struct board_env *env);
/* The virtio devices from the configuration, and the command line with
 * their parameters (b->cmdline). */
int board_add_devices(struct board *b);
/* Start the devices' I/O threads. */
int board_start(struct board *b);
/* Park the device threads between two requests (none in flight), and
 * release them. */
void board_pause(struct board *b);
void board_resume(struct board *b);
/* The VM is stopping: refuse further console input. */
void board_close_input(struct board *b);
void board_destroy(struct board *b);
/* With --debug: what the guest lost (interrupts no CPU accepted). */
void board_report(struct board *b);

/* KVM_EXIT_IOAPIC_EOI (the vCPU's EOI hook; ctx is the board). */
void board_eoi(void *ctx, unsigned vector);

/* Console input for the terminal thread, to the UART or virtio-console:
 * blocks until at least one byte is taken; negative once closed. */
int board_console_input(void *ctx, const uint8_t *buf, size_t len, bool wait);

struct snap_w;
struct snap_file;
/* Every device's state as snapshot sections (the VM paused). */
void board_save(struct board *b, struct snap_w *w);
/* The same back into a board built from the snapshot's configuration (its
 * devices added, not started): each section checked, the live virtio
 * devices restarted. 0, or negative errno with a message. */
int board_load(struct board *b, const struct snap_file *f);
/* Write what the guest wrote to its disks through to storage (a snapshot
 * names the disks by path: their contents belong to it). */
int board_flush_disks(struct board *b);
/* After a restore, once the devices run: make each look at its queues (a
 * notification the snapshot caught in flight is not lost). */
void board_kick_all(struct board *b);

/* The virtio device of `kind` ("blk", "net", ...) and index among its kind
 * (disks[i]), or NULL. */
struct vm_virtio *board_find(struct board *b, const char *kind, unsigned index);

#endif
