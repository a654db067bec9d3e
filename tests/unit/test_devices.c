// SPDX-License-Identifier: MIT
#include "dev/boot_marker.h"
#include "harness.h"

static int marks;

static void on_mark(void *ctx)
{
	(void)ctx;
	marks++;
}

TEST(boot_marker_magic_only)
{
	struct boot_marker m = { on_mark, NULL };
	uint8_t v = 122;

	boot_marker_bus_ops.write(&m, 0, &v, 1);
	CHECK_EQ(marks, 0);
	v = 123;
	boot_marker_bus_ops.write(&m, 1, &v, 1);
	CHECK_EQ(marks, 0);
	boot_marker_bus_ops.write(&m, 0, &v, 1);
	CHECK_EQ(marks, 1);
}

SUITE(devices, T(boot_marker_magic_only));
