// SPDX-License-Identifier: MIT
#include "dev/ioapic.h"
#include "harness.h"

static struct ioapic io;
static unsigned delivered, last_pin, route_calls;
static struct ioapic_msi last_msg;
static uint32_t last_unmasked;
static bool refuse; /* deliver() answers that no local APIC accepted */

static bool deliver(void *ctx, unsigned pin, const struct ioapic_msi *m)
{
	(void)ctx;
	delivered++;
	last_pin = pin;
	last_msg = *m;
	return !refuse;
}

static void routes(void *ctx, const struct ioapic_msi r[IOAPIC_PINS], uint32_t unmasked)
{
	(void)ctx;
	(void)r;
	route_calls++;
	last_unmasked = unmasked;
}

static void setup(void)
{
	struct ioapic_callbacks cb = { deliver, routes, NULL };

	delivered = route_calls = 0;
	refuse = false;
	ioapic_init(&io, &cb);
}

static void w32(unsigned off, uint32_t v)
{
	ioapic_bus_ops.write(&io, off, (const uint8_t *)&v, 4);
}

static uint32_t r32(unsigned off)
{
	uint32_t v;

	ioapic_bus_ops.read(&io, off, (uint8_t *)&v, 4);
	return v;
}

static void set_rte(unsigned pin, uint64_t e)
{
	w32(IOAPIC_REGSEL, IOAPIC_REG_REDIR + 2 * pin + 1);
	w32(IOAPIC_WINDOW, (uint32_t)(e >> 32));
	w32(IOAPIC_REGSEL, IOAPIC_REG_REDIR + 2 * pin);
	w32(IOAPIC_WINDOW, (uint32_t)e);
}

static uint64_t get_rte(unsigned pin)
{
	uint64_t lo, hi;

	w32(IOAPIC_REGSEL, IOAPIC_REG_REDIR + 2 * pin);
	lo = r32(IOAPIC_WINDOW);
	w32(IOAPIC_REGSEL, IOAPIC_REG_REDIR + 2 * pin + 1);
	hi = r32(IOAPIC_WINDOW);
	return hi << 32 | lo;
}

TEST(registers)
{
	setup();
	io.id = 2u << 24;
	w32(IOAPIC_REGSEL, IOAPIC_REG_VER);
	CHECK_EQ(r32(IOAPIC_WINDOW), 0x170011);
	w32(IOAPIC_REGSEL, IOAPIC_REG_ID);
	CHECK_EQ(r32(IOAPIC_WINDOW), 2u << 24);
	CHECK_EQ(r32(IOAPIC_REGSEL), IOAPIC_REG_ID);
	for (unsigned p = 0; p < IOAPIC_PINS; p++)
		CHECK(get_rte(p) & IOAPIC_RTE_MASKED); /* reset: all masked */
	/* Read-only bits stay; out-of-range registers read 0. */
	set_rte(3, IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR | 0x31);
	CHECK_EQ(get_rte(3), 0x31);
	w32(IOAPIC_REGSEL, 0x40);
	CHECK_EQ(r32(IOAPIC_WINDOW), 0);
	w32(IOAPIC_WINDOW, 0xffffffff); /* ignored */
	ioapic_destroy(&io);
}

TEST(edge_delivery_and_mask)
{
	setup();
	ioapic_set_irq(&io, 4, 1);
	CHECK_EQ(delivered, 0); /* masked */
	ioapic_set_irq(&io, 4, 0);
	set_rte(4, 0x24 | (3ULL << 56));
	CHECK(route_calls > 0);
	CHECK_EQ(last_unmasked, 1u << 4);
	ioapic_set_irq(&io, 4, 1);
	CHECK_EQ(delivered, 1);
	CHECK_EQ(last_pin, 4);
	CHECK_EQ(last_msg.address, 0xfee03000ULL);
	CHECK_EQ(last_msg.data, 0x24);
	ioapic_set_irq(&io, 4, 1); /* no new edge */
	CHECK_EQ(delivered, 1);
	ioapic_set_irq(&io, 4, 0);
	ioapic_set_irq(&io, 4, 1);
	CHECK_EQ(delivered, 2);
	ioapic_set_irq(&io, 99, 1); /* out of range: ignored */
	CHECK_EQ(delivered, 2);
	ioapic_destroy(&io);
}

TEST(level_remote_irr_and_eoi)
{
	setup();
	set_rte(9, 0x41 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_DESTMODE | (1ULL << 56));
	ioapic_set_irq(&io, 9, 1);
	CHECK_EQ(delivered, 1);
	CHECK_EQ(last_msg.data, 0x41 | (1u << 15) | (1u << 14));
	CHECK_EQ(last_msg.address, 0xfee01004ULL);
	CHECK(get_rte(9) & IOAPIC_RTE_REMOTE_IRR);
	ioapic_set_irq(&io, 9, 1); /* awaiting EOI: nothing */
	CHECK_EQ(delivered, 1);
	ioapic_eoi(&io, 0x42); /* other vector */
	CHECK_EQ(delivered, 1);
	ioapic_eoi(&io, 0x41); /* still asserted: redeliver */
	CHECK_EQ(delivered, 2);
	ioapic_set_irq(&io, 9, 0);
	ioapic_eoi(&io, 0x41);
	CHECK_EQ(delivered, 2);
	CHECK(!(get_rte(9) & IOAPIC_RTE_REMOTE_IRR));
	/* Masked while asserted, then unmasked: delivered on unmask. */
	set_rte(9, 0x41 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED);
	ioapic_set_irq(&io, 9, 1);
	CHECK_EQ(delivered, 2);
	set_rte(9, 0x41 | IOAPIC_RTE_LEVEL);
	CHECK_EQ(delivered, 3);
	/* Linux's EOI on 0x11 IOAPICs: flip to edge, clearing remote IRR. */
	set_rte(9, 0x41 | IOAPIC_RTE_MASKED);
	CHECK(!(get_rte(9) & IOAPIC_RTE_REMOTE_IRR));
	ioapic_destroy(&io);
}

/* A message no local APIC accepted (the guest aimed it at no CPU): lost.
 * A level pin then has no Remote IRR to wait on: the next assertion, an
 * unmask or an EOI of its vector may deliver again, and nothing is stuck. */
TEST(undelivered_leaves_remote_irr_clear)
{
	setup();
	set_rte(9, 0x41 | IOAPIC_RTE_LEVEL | (0x0eULL << 56));
	refuse = true;
	ioapic_set_irq(&io, 9, 1);
	CHECK_EQ(delivered, 1);
	CHECK(!(get_rte(9) & IOAPIC_RTE_REMOTE_IRR));
	ioapic_set_irq(&io, 9, 1); /* level and high, no Remote IRR: tried again */
	CHECK_EQ(delivered, 2);
	/* Retargeted and unmasked again with the line high: accepted now. */
	set_rte(9, 0x41 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED);
	refuse = false;
	set_rte(9, 0x41 | IOAPIC_RTE_LEVEL);
	CHECK_EQ(delivered, 3);
	CHECK(get_rte(9) & IOAPIC_RTE_REMOTE_IRR);
	/* The EOI re-delivers (line still high) to a CPU that refuses. */
	refuse = true;
	ioapic_eoi(&io, 0x41);
	CHECK_EQ(delivered, 4);
	CHECK(!(get_rte(9) & IOAPIC_RTE_REMOTE_IRR));
	/* Edge pins have no Remote IRR either way. */
	set_rte(4, 0x24);
	ioapic_set_irq(&io, 4, 1);
	CHECK_EQ(delivered, 5);
	CHECK_EQ(get_rte(4), 0x24);
	ioapic_destroy(&io);
}

SUITE(ioapic, T(registers), T(edge_delivery_and_mask), T(level_remote_irr_and_eoi),
      T(undelivered_leaves_remote_irr_clear));
