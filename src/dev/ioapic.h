/* SPDX-License-Identifier: MIT */
/*
 * I/O APIC (82093AA, version 0x11, 24 pins) emulated in ember, for KVM's
 * split irqchip: the local APICs stay in the kernel, the IOAPIC and the
 * legacy PIC and PIT are not there at all. Dropping the in-kernel IOAPIC,
 * PIC and PIT removes their SRCU-synchronised setup and teardown from every
 * VM's start and exit (see bench/README.md), and a Linux KVM guest needs none
 * of the legacy timer hardware (kvm-clock, TSC-deadline, no_timer_check).
 *
 * Each pin's redirection entry becomes an MSI (address, data) message. The
 * model is pure: it hands messages to a callback and tells the VM when the
 * set of routes changed, so that KVM's GSI routing (pin n = GSI n) can mirror
 * it; KVM needs those routes to exit on the EOI of a level-triggered vector.
 */
#ifndef EMBER_DEV_IOAPIC_H
#define EMBER_DEV_IOAPIC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"

#define IOAPIC_PINS	 24
#define IOAPIC_VERSION	 0x11
#define IOAPIC_MMIO_SIZE 0x1000

/* Direct registers (offsets in the MMIO page). */
#define IOAPIC_REGSEL 0x00
#define IOAPIC_WINDOW 0x10

/* Indirect registers. */
#define IOAPIC_REG_ID	 0x00
#define IOAPIC_REG_VER	 0x01
#define IOAPIC_REG_ARB	 0x02
#define IOAPIC_REG_REDIR 0x10

/* Redirection entry bits. */
#define IOAPIC_RTE_VECTOR     0xffULL
#define IOAPIC_RTE_DELMODE    (7ULL << 8)
#define IOAPIC_RTE_DESTMODE   (1ULL << 11)
#define IOAPIC_RTE_DELIVS     (1ULL << 12) /* read-only */
#define IOAPIC_RTE_POLARITY   (1ULL << 13)
#define IOAPIC_RTE_REMOTE_IRR (1ULL << 14) /* read-only */
#define IOAPIC_RTE_LEVEL      (1ULL << 15)
#define IOAPIC_RTE_MASKED     (1ULL << 16)
#define IOAPIC_RTE_RO_BITS    (IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR)

struct ioapic_msi {
	uint64_t address;
	uint32_t data;
};

struct ioapic_callbacks {
	/* Deliver pin's message now (the VM raises GSI `pin`). Returns false
	 * if no local APIC accepted it: the guest aimed it at no CPU, or at
	 * one whose APIC is off. The message is then lost, as on a PC, and a
	 * level pin's Remote IRR stays clear (82093AA: it is set when a local
	 * APIC accepts the interrupt), so the pin is not stuck. */
	bool (*deliver)(void *ctx, unsigned pin, const struct ioapic_msi *msg);
	/* Redirection entries changed: routes[pin] valid where mask bit clear. */
	void (*routes_changed)(void *ctx, const struct ioapic_msi routes[IOAPIC_PINS],
			       uint32_t unmasked);
	void *ctx;
};

struct ioapic {
	pthread_mutex_t lock;
	struct ioapic_callbacks cb;
	uint32_t id;
	uint32_t regsel;
	uint64_t rte[IOAPIC_PINS];
	uint32_t line; /* bit n: pin n's input level */
};

void ioapic_init(struct ioapic *io, const struct ioapic_callbacks *cb);
void ioapic_destroy(struct ioapic *io);

/* Set pin's input level (0 or 1). Edge pins deliver on a rising edge,
 * level pins while high and not awaiting EOI. Out-of-range pins are ignored. */
void ioapic_set_irq(struct ioapic *io, unsigned pin, int level);

/* The guest's local APIC signalled EOI for `vector` (KVM_EXIT_IOAPIC_EOI). */
void ioapic_eoi(struct ioapic *io, uint8_t vector);

/* The MSI message an entry describes (Intel SDM 10.11; 82093AA datasheet). */
struct ioapic_msi ioapic_rte_to_msi(uint64_t rte);

extern const struct bus_ops ioapic_bus_ops;

struct snap_w;
struct snap_r;
/* Every register and the input lines, for snapshots. ioapic_load() checks
 * them (0 or -EINVAL) and hands the routes to cb.routes_changed. */
void ioapic_save(struct ioapic *io, struct snap_w *w);
int ioapic_load(struct ioapic *io, struct snap_r *r);

#endif
