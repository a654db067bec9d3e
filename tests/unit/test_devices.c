// SPDX-License-Identifier: MIT
#include "dev/boot_marker.h"
#include "dev/ioapic.h"
#include "harness.h"
#include "vm_virtio.h"

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

/* Virtio pins: distinct, on the IOAPIC, and never a legacy device's IRQ
 * (Linux requests those without IRQF_SHARED). */
TEST(virtio_pins_avoid_legacy_irqs)
{
	unsigned seen = 0;

	for (unsigned i = 0; i < VM_VIRTIO_MAX; i++) {
		unsigned pin = vm_virtio_pin(i);

		CHECK(pin >= 5 && pin < IOAPIC_PINS);
		CHECK(pin != 8 && pin != 12);
		CHECK(!(seen & (1u << pin)));
		seen |= 1u << pin;
	}
	CHECK_EQ(vm_virtio_pin(0), 5);
}

SUITE(devices, T(virtio_pins_avoid_legacy_irqs), T(boot_marker_magic_only));
