// SPDX-License-Identifier: MIT
#include <errno.h>

#include "bus.h"
#include "harness.h"

static uint64_t last_off;
static uint8_t last_val;

static void r(void *o, uint64_t off, uint8_t *d, uint32_t len)
{
	(void)o;
	last_off = off;
	memset(d, 0x42, len);
}

static void w(void *o, uint64_t off, const uint8_t *d, uint32_t len)
{
	(void)o;
	(void)len;
	last_off = off;
	last_val = d[0];
}

static const struct bus_ops ops = { "t", r, w };

TEST(register_and_overlap)
{
	struct bus b;

	bus_init(&b, "port", false);
	CHECK_EQ(bus_register(&b, 0x3f8, 8, &ops, NULL), 0);
	CHECK_EQ(bus_register(&b, 0x60, 5, &ops, NULL), 0);
	CHECK_EQ(bus_register(&b, 0x3fc, 8, &ops, NULL), -EEXIST);
	CHECK_EQ(bus_register(&b, 0x3f0, 9, &ops, NULL), -EEXIST);
	CHECK_EQ(bus_register(&b, 0x3f0, 8, &ops, NULL), 0); /* adjacent is fine */
	CHECK_EQ(bus_register(&b, 0x10, 0, &ops, NULL), -EINVAL);
	CHECK_EQ(bus_register(&b, UINT64_MAX, 2, &ops, NULL), -EINVAL);
	CHECK_EQ(b.ranges[0].base, 0x60); /* kept sorted */
	bus_destroy(&b);
}

TEST(dispatch_offsets_and_unclaimed)
{
	struct bus b;
	uint8_t d[4] = { 7, 0, 0, 0 };

	bus_init(&b, "mmio", true);
	CHECK_EQ(bus_register(&b, 0x1000, 0x100, &ops, NULL), 0);
	CHECK(bus_access(&b, 0x1010, d, 1, true));
	CHECK_EQ(last_off, 0x10);
	CHECK_EQ(last_val, 7);
	CHECK(bus_access(&b, 0x10fc, d, 4, false));
	CHECK_EQ(d[3], 0x42);
	/* Unclaimed and range-crossing accesses read all-ones. */
	CHECK(!bus_access(&b, 0x2000, d, 4, false));
	CHECK_EQ(d[0], 0xff);
	CHECK(!bus_access(&b, 0x10fe, d, 4, false));
	CHECK_EQ(d[2], 0xff);
	CHECK(!bus_access(&b, 0xfff, d, 1, true));
	CHECK(!bus_access(&b, 0x2000, d, 4, false));
	CHECK_EQ(b.nunhandled, 3);
	CHECK_EQ(b.unhandled[0].count, 2);
	bus_destroy(&b);
}

SUITE(bus, T(register_and_overlap), T(dispatch_offsets_and_unclaimed));
