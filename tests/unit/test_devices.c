// SPDX-License-Identifier: MIT
#include "dev/boot_marker.h"
#include "dev/i8042.h"
#include "harness.h"

static int resets, marks;

static void on_reset(void *ctx)
{
	(void)ctx;
	resets++;
}

static void on_mark(void *ctx)
{
	(void)ctx;
	marks++;
}

TEST(i8042_status_and_reset)
{
	struct i8042 k = { on_reset, NULL };
	uint8_t v = 0xff;

	i8042_bus_ops.read(&k, 4, &v, 1);
	CHECK_EQ(v, 0); /* nothing pending: probes end at once */
	v = 0xff;
	i8042_bus_ops.read(&k, 0, &v, 1);
	CHECK_EQ(v, 0);
	v = 0xd1;
	i8042_bus_ops.write(&k, 4, &v, 1);
	v = 0xfe;
	i8042_bus_ops.write(&k, 0, &v, 1); /* data port: not a command */
	CHECK_EQ(resets, 0);
	i8042_bus_ops.write(&k, 4, &v, 1);
	CHECK_EQ(resets, 1);
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

SUITE(devices, T(i8042_status_and_reset), T(boot_marker_magic_only));
