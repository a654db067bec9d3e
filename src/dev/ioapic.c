// SPDX-License-Identifier: MIT
#include "dev/ioapic.h"

#include <errno.h>
#include <string.h>

#include "snapshot/snapfile.h"

void ioapic_init(struct ioapic *io, const struct ioapic_callbacks *cb)
{
	memset(io, 0, sizeof(*io));
	pthread_mutex_init(&io->lock, NULL);
	io->cb = *cb;
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		io->rte[i] = IOAPIC_RTE_MASKED; /* reset state: all masked */
}

void ioapic_destroy(struct ioapic *io)
{
	pthread_mutex_destroy(&io->lock);
}

struct ioapic_msi ioapic_rte_to_msi(uint64_t rte)
{
	uint8_t dest = (uint8_t)(rte >> 56);
	struct ioapic_msi m;

	/* Address: 0xFEE, destination ID in bits 19:12, destination mode in
	 * bit 2. Data: vector, delivery mode in 10:8, trigger mode in bit 15
	 * with level-assert (bit 14) set, as level messages require. */
	m.address =
	    0xfee00000ULL | ((uint64_t)dest << 12) | ((rte & IOAPIC_RTE_DESTMODE) ? 1u << 2 : 0);
	m.data = (uint32_t)(rte & (IOAPIC_RTE_VECTOR | IOAPIC_RTE_DELMODE));
	if (rte & IOAPIC_RTE_LEVEL)
		m.data |= (1u << 15) | (1u << 14);
	return m;
}

/* Fire pin if its entry allows; called with the lock held. */
static void service(struct ioapic *io, unsigned pin)
{
	uint64_t *e = &io->rte[pin];
	struct ioapic_msi m;

	if (*e & IOAPIC_RTE_MASKED)
		return;
	if (*e & IOAPIC_RTE_LEVEL) {
		if (*e & IOAPIC_RTE_REMOTE_IRR)
			return;
		*e |= IOAPIC_RTE_REMOTE_IRR;
	}
	m = ioapic_rte_to_msi(*e);
	if (!io->cb.deliver(io->cb.ctx, pin, &m))
		*e &= ~IOAPIC_RTE_REMOTE_IRR; /* nobody accepted it: nothing to EOI */
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, int level)
{
	uint32_t bit;
	bool rising;

	if (pin >= IOAPIC_PINS)
		return;
	bit = 1u << pin;
	pthread_mutex_lock(&io->lock);
	rising = level && !(io->line & bit);
	if (level)
		io->line |= bit;
	else
		io->line &= ~bit;
	if (level && (rising || (io->rte[pin] & IOAPIC_RTE_LEVEL)))
		service(io, pin);
	pthread_mutex_unlock(&io->lock);
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	pthread_mutex_lock(&io->lock);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t *e = &io->rte[pin];

		if ((*e & IOAPIC_RTE_VECTOR) != vector || !(*e & IOAPIC_RTE_LEVEL) ||
		    !(*e & IOAPIC_RTE_REMOTE_IRR))
			continue;
		*e &= ~IOAPIC_RTE_REMOTE_IRR;
		if (io->line & (1u << pin))
			service(io, pin); /* still asserted: deliver again */
	}
	pthread_mutex_unlock(&io->lock);
}

static void notify_routes(struct ioapic *io)
{
	struct ioapic_msi routes[IOAPIC_PINS];
	uint32_t unmasked = 0;

	if (!io->cb.routes_changed)
		return;
	for (unsigned i = 0; i < IOAPIC_PINS; i++) {
		routes[i] = ioapic_rte_to_msi(io->rte[i]);
		if (!(io->rte[i] & IOAPIC_RTE_MASKED))
			unmasked |= 1u << i;
	}
	io->cb.routes_changed(io->cb.ctx, routes, unmasked);
}

static uint32_t read_indirect(struct ioapic *io)
{
	uint32_t r = io->regsel;

	switch (r) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		return io->id;
	case IOAPIC_REG_VER:
		return ((IOAPIC_PINS - 1) << 16) | IOAPIC_VERSION;
	}
	if (r >= IOAPIC_REG_REDIR && r < IOAPIC_REG_REDIR + 2 * IOAPIC_PINS) {
		uint64_t e = io->rte[(r - IOAPIC_REG_REDIR) / 2];

		return (r & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
	}
	return 0;
}

static void write_indirect(struct ioapic *io, uint32_t v)
{
	uint32_t r = io->regsel;
	unsigned pin;
	uint64_t old, e;

	if (r == IOAPIC_REG_ID) {
		io->id = v & 0x0f000000u;
		return;
	}
	if (r < IOAPIC_REG_REDIR || r >= IOAPIC_REG_REDIR + 2 * IOAPIC_PINS)
		return; /* version, arbitration and the rest are read-only */
	pin = (r - IOAPIC_REG_REDIR) / 2;
	old = io->rte[pin];
	if (r & 1)
		e = (old & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		e = (old & ~0xffffffffULL) | v;
	e = (e & ~IOAPIC_RTE_RO_BITS) | (old & IOAPIC_RTE_RO_BITS);
	/* Switching a pin to edge clears a pending remote IRR: this is how
	 * Linux acknowledges level interrupts on IOAPICs without an EOI
	 * register (version 0x11). */
	if (!(e & IOAPIC_RTE_LEVEL))
		e &= ~IOAPIC_RTE_REMOTE_IRR;
	io->rte[pin] = e;
	if (e != old)
		notify_routes(io);
	/* Unmasking a level pin whose line is high delivers it. */
	if ((old & IOAPIC_RTE_MASKED) && !(e & IOAPIC_RTE_MASKED) && (e & IOAPIC_RTE_LEVEL) &&
	    (io->line & (1u << pin)))
		service(io, pin);
}

static void ioapic_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct ioapic *io = opaque;
	uint32_t v = 0;

	pthread_mutex_lock(&io->lock);
	if (off == IOAPIC_REGSEL)
		v = io->regsel;
	else if (off == IOAPIC_WINDOW)
		v = read_indirect(io);
	pthread_mutex_unlock(&io->lock);
	/* Registers are 32-bit; narrower reads see the low bytes, wider reads
	 * zeros above. */
	memset(data, 0, len);
	memcpy(data, &v, len < 4 ? len : 4);
}

static void ioapic_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct ioapic *io = opaque;
	uint32_t v = 0;

	memcpy(&v, data, len < 4 ? len : 4);
	pthread_mutex_lock(&io->lock);
	if (off == IOAPIC_REGSEL)
		io->regsel = v & 0xff;
	else if (off == IOAPIC_WINDOW)
		write_indirect(io, v);
	pthread_mutex_unlock(&io->lock);
}

const struct bus_ops ioapic_bus_ops = {
	.name = "ioapic",
	.read = ioapic_read,
	.write = ioapic_write,
};

void ioapic_save(struct ioapic *io, struct snap_w *w)
{
	pthread_mutex_lock(&io->lock);
	snap_put_u32(w, io->id);
	snap_put_u32(w, io->regsel);
	snap_put_u32(w, io->line);
	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		snap_put_u64(w, io->rte[i]);
	pthread_mutex_unlock(&io->lock);
}

int ioapic_load(struct ioapic *io, struct snap_r *r)
{
	uint32_t id = snap_get_u32(r), regsel = snap_get_u32(r), line = snap_get_u32(r);
	uint64_t rte[IOAPIC_PINS];

	for (unsigned i = 0; i < IOAPIC_PINS; i++)
		rte[i] = snap_get_u64(r);
	if (snap_r_end(r) || (line >> IOAPIC_PINS))
		return -EINVAL;
	pthread_mutex_lock(&io->lock);
	io->id = id;
	io->regsel = regsel;
	io->line = line;
	memcpy(io->rte, rte, sizeof(rte));
	/* The routes KVM delivers the virtio interrupts by (irqfds). */
	notify_routes(io);
	pthread_mutex_unlock(&io->lock);
	return 0;
}
