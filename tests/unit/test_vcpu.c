// SPDX-License-Identifier: MIT
/* The vCPU's exit dispatch over a fake kvm_run: no /dev/kvm needed. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <unistd.h>

#include "bus.h"
#include "harness.h"
#include "util.h"
#include "vcpu.h"

struct fake_dev {
	uint64_t off;
	uint8_t data[8];
	uint32_t len;
	unsigned writes, reads;
};

static void fd_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct fake_dev *d = opaque;

	d->reads++;
	d->off = off;
	memset(data, 0x5a, len);
}

static void fd_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct fake_dev *d = opaque;

	d->writes++;
	d->off = off;
	d->len = len;
	memcpy(d->data, data, len);
}

static const struct bus_ops fake_ops = { .name = "fake", .read = fd_read, .write = fd_write };

static unsigned eoi_vector, eoi_calls;

static void on_eoi(void *ctx, unsigned vector)
{
	(void)ctx;
	eoi_vector = vector;
	eoi_calls++;
}

#define RUN_SIZE 8192

struct rig {
	struct bus pio, mmio;
	struct fake_dev port_dev, mmio_dev;
	struct vcpu_host host;
	struct vcpus g;
	struct kvm_run *run;
};

static void rig_init(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	bus_init(&r->pio, "port", false);
	bus_init(&r->mmio, "mmio", false);
	bus_register(&r->pio, 0x3f8, 8, &fake_ops, &r->port_dev);
	bus_register(&r->mmio, 0xd0000000, 0x1000, &fake_ops, &r->mmio_dev);
	r->host = (struct vcpu_host){
		.vm_fd = -1,
		.run_size = RUN_SIZE,
		.pio = &r->pio,
		.mmio = &r->mmio,
		.eoi = on_eoi,
		.thread_name = "vcpu %u",
	};
	CHECK_EQ(vcpus_init(&r->g, &r->host, 1), 0);
	r->run = calloc(1, RUN_SIZE);
	r->g.v[0].run = r->run;
	eoi_calls = 0;
}

static void rig_destroy(struct rig *r)
{
	r->g.v[0].run = NULL; /* not an mmap */
	vcpus_destroy(&r->g);
	free(r->run);
	bus_destroy(&r->pio);
	bus_destroy(&r->mmio);
}

TEST(io_exit_reaches_the_port_bus)
{
	struct rig r;
	uint8_t *data;

	rig_init(&r);
	r.run->exit_reason = KVM_EXIT_IO;
	r.run->io.direction = KVM_EXIT_IO_OUT;
	r.run->io.port = 0x3f9;
	r.run->io.size = 1;
	r.run->io.count = 3; /* rep outsb */
	r.run->io.data_offset = 4096;
	data = (uint8_t *)r.run + 4096;
	data[0] = 'a', data[1] = 'b', data[2] = 'c';
	CHECK(vcpu_handle_exit(&r.g.v[0]));
	CHECK_EQ(r.port_dev.writes, 3);
	CHECK_EQ(r.port_dev.off, 1);
	CHECK_EQ(r.port_dev.data[0], 'c');
	CHECK(!vcpus_stopping(&r.g));
	/* An IN fills the kvm_run data area. */
	r.run->io.direction = KVM_EXIT_IO_IN;
	r.run->io.count = 1;
	r.run->io.size = 2;
	CHECK(vcpu_handle_exit(&r.g.v[0]));
	CHECK_EQ(r.port_dev.reads, 1);
	CHECK_EQ(data[0], 0x5a);
	CHECK_EQ(data[1], 0x5a);
	rig_destroy(&r);
}

TEST(malformed_io_exit_stops_the_vm)
{
	struct rig r;

	rig_init(&r);
	r.run->exit_reason = KVM_EXIT_IO;
	r.run->io.direction = KVM_EXIT_IO_OUT;
	r.run->io.size = 1;
	r.run->io.count = 10;
	r.run->io.data_offset = RUN_SIZE - 4; /* 10 bytes past the end */
	vcpu_handle_exit(&r.g.v[0]);
	CHECK_EQ(r.port_dev.writes, 0);
	CHECK(vcpus_stopping(&r.g));
	CHECK_EQ(r.g.exit_status, EMBER_EXIT_ERROR);
	CHECK_STR_CONTAINS(r.g.stop_reason, "malformed I/O exit");
	rig_destroy(&r);
}

TEST(mmio_exit_and_eoi)
{
	struct rig r;

	rig_init(&r);
	r.run->exit_reason = KVM_EXIT_MMIO;
	r.run->mmio.phys_addr = 0xd0000010;
	r.run->mmio.len = 4;
	r.run->mmio.is_write = 1;
	memcpy(r.run->mmio.data, "\x01\x02\x03\x04", 4);
	CHECK(vcpu_handle_exit(&r.g.v[0]));
	CHECK_EQ(r.mmio_dev.writes, 1);
	CHECK_EQ(r.mmio_dev.off, 0x10);
	CHECK_EQ(r.mmio_dev.len, 4);
	r.run->mmio.len = 9; /* more than the data array */
	vcpu_handle_exit(&r.g.v[0]);
	CHECK_EQ(r.mmio_dev.writes, 1);
	CHECK(vcpus_stopping(&r.g));
	rig_destroy(&r);

	rig_init(&r);
	r.run->exit_reason = KVM_EXIT_IOAPIC_EOI;
	r.run->eoi.vector = 0x31;
	CHECK(vcpu_handle_exit(&r.g.v[0]));
	CHECK_EQ(eoi_calls, 1);
	CHECK_EQ(eoi_vector, 0x31);
	rig_destroy(&r);
}

TEST(guest_resets_and_failures)
{
	struct rig r;
	uint64_t n = 0;

	rig_init(&r);
	r.run->exit_reason = KVM_EXIT_SHUTDOWN;
	CHECK(!vcpu_handle_exit(&r.g.v[0]));
	CHECK(vcpus_stopping(&r.g));
	CHECK_EQ(r.g.exit_status, EMBER_EXIT_OK);
	CHECK_STR_CONTAINS(r.g.stop_reason, "triple fault");
	/* The stop fd wakes an event loop. */
	CHECK_EQ(read(r.g.stop_fd, &n, sizeof(n)), sizeof(n));
	CHECK_EQ(n, 1);
	/* The first reason wins. */
	vcpus_stop(&r.g, EMBER_EXIT_ERROR, "later");
	CHECK_EQ(r.g.exit_status, EMBER_EXIT_OK);
	rig_destroy(&r);

	rig_init(&r);
	r.run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	r.run->system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
	CHECK(!vcpu_handle_exit(&r.g.v[0]));
	CHECK_EQ(r.g.exit_status, EMBER_EXIT_OK);
	CHECK_STR_CONTAINS(r.g.stop_reason, "shut down");
	rig_destroy(&r);

	rig_init(&r);
	r.run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	r.run->internal.suberror = 1;
	CHECK(!vcpu_handle_exit(&r.g.v[0]));
	CHECK_EQ(r.g.exit_status, EMBER_EXIT_GUEST_ERR);
	CHECK_STR_CONTAINS(r.g.stop_reason, "KVM internal error");
	rig_destroy(&r);

	rig_init(&r);
	r.run->exit_reason = 0x7777;
	CHECK(!vcpu_handle_exit(&r.g.v[0]));
	CHECK_EQ(r.g.exit_status, EMBER_EXIT_GUEST_ERR);
	CHECK_STR_CONTAINS(r.g.stop_reason, "unexpected exit");
	rig_destroy(&r);
}

TEST(pause_with_no_vcpu_inside_returns)
{
	struct rig r;

	rig_init(&r);
	vcpus_pause(&r.g); /* nothing runs: nothing to wait for */
	CHECK(atomic_load(&r.g.flags) & VCPUS_PAUSE);
	vcpus_resume(&r.g);
	CHECK(!(atomic_load(&r.g.flags) & VCPUS_PAUSE));
	rig_destroy(&r);
}

SUITE(vcpu, T(io_exit_reaches_the_port_bus), T(malformed_io_exit_stops_the_vm),
      T(mmio_exit_and_eoi), T(guest_resets_and_failures), T(pause_with_no_vcpu_inside_returns));
