// SPDX-License-Identifier: MIT
/*
 * The snapshot state file without KVM: the container (header, checksums,
 * sections), the configuration section, and each device's state through a
 * save and a load, plus the refusals a damaged or hostile file must meet.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dev/cmos.h"
#include "dev/i8042.h"
#include "dev/ioapic.h"
#include "dev/uart.h"
#include "dev/virtio_mmio.h"
#include "harness.h"
#include "snapshot/snapfile.h"
#include "snapshot/snapshot.h"
#include "snapshot/vcpu_state.h"
#include "util.h"

#define TAG_X SNAP_TAG('T', 'E', 'S', 'T')

/* A two-section file. */
static void build(struct snap_w *w)
{
	snap_w_init(w);
	snap_begin(w, TAG_X, 0);
	snap_put_u32(w, 0x11223344);
	snap_put_str(w, "hello");
	snap_begin(w, TAG_X, 7);
	snap_put_u64(w, 42);
	CHECK_EQ(snap_finish(w), 0);
}

TEST(container_round_trip)
{
	struct snap_w w;
	struct snap_file *f = malloc(sizeof(*f));
	struct snap_r r;
	char s[16];

	build(&w);
	CHECK(memcmp(w.buf, SNAP_MAGIC, 8) == 0);
	CHECK_EQ(snap_parse(w.buf, w.len, f), 0);
	CHECK_EQ(f->nsections, 2);
	CHECK(snap_find(f, TAG_X, 7) != NULL);
	CHECK(snap_find(f, TAG_X, 3) == NULL);
	snap_r_init(&r, f->sec[0].data, f->sec[0].len);
	CHECK_EQ(snap_get_u32(&r), 0x11223344);
	snap_get_str(&r, s, sizeof(s));
	CHECK(strcmp(s, "hello") == 0);
	CHECK_EQ(snap_r_end(&r), 0);
	/* A reader that asks for more than the section has fails, sticky. */
	snap_r_init(&r, f->sec[1].data, f->sec[1].len);
	CHECK_EQ(snap_get_u64(&r), 42);
	CHECK_EQ(snap_get_u8(&r), 0);
	CHECK_EQ(snap_r_end(&r), -EINVAL);
	/* Left-over bytes are an error too. */
	snap_r_init(&r, f->sec[0].data, f->sec[0].len);
	snap_get_u32(&r);
	CHECK_EQ(snap_r_end(&r), -EINVAL);
	snap_w_free(&w);
	free(f);
}

TEST(container_refuses_every_damage)
{
	struct snap_w w;
	struct snap_file *f = malloc(sizeof(*f));
	uint8_t *b;

	build(&w);
	b = malloc(w.len);
	/* Every truncation. */
	for (size_t n = 0; n < w.len; n++) {
		memcpy(b, w.buf, n);
		CHECK(snap_parse(b, n, f) < 0);
	}
	CHECK_STR_CONTAINS(ember_lasterr(), "damaged");
	/* Every single bit flipped. */
	for (size_t i = 0; i < w.len * 8; i++) {
		memcpy(b, w.buf, w.len);
		b[i / 8] ^= (uint8_t)(1u << (i % 8));
		CHECK(snap_parse(b, w.len, f) < 0);
	}
	/* Another format version without the header checksum to match. */
	memcpy(b, w.buf, w.len);
	b[8] = 2;
	CHECK(snap_parse(b, w.len, f) < 0);
	CHECK_STR_CONTAINS(ember_lasterr(), "damaged: header checksum");
	memcpy(b, "ELF!SNAP", 8);
	CHECK(snap_parse(b, w.len, f) < 0);
	CHECK_STR_CONTAINS(ember_lasterr(), "not an ember snapshot");
	snap_w_free(&w);
	free(b);
	free(f);
}

TEST(container_names_another_version)
{
	struct snap_w w;
	struct snap_file *f = malloc(sizeof(*f));

	build(&w);
	/* Version 2 with a valid header checksum: ember says which version. */
	w.buf[8] = 2;
	snap_seal_header(w.buf);
	CHECK_EQ(snap_parse(w.buf, w.len, f), -EPROTO);
	CHECK_STR_CONTAINS(ember_lasterr(), "format version 2");
	snap_w_free(&w);
	free(f);
}

TEST(container_framing_is_checked)
{
	struct snap_w w;
	struct snap_file *f = malloc(sizeof(*f));

	build(&w);
	/* A section length that runs past the end, with both checksums
	 * right: the framing check still refuses it. */
	w.buf[SNAP_HEADER_SIZE + 8] = 0xff;
	snap_seal_body(w.buf, w.len);
	CHECK(snap_parse(w.buf, w.len, f) < 0);
	CHECK_STR_CONTAINS(ember_lasterr(), "runs past the end");
	snap_w_free(&w);
	free(f);
}

static void config_sample(struct ember_config *c)
{
	config_init_run(c);
	strcpy(c->kernel, "/k/vmlinux");
	strcpy(c->cmdline, "console=ttyS0");
	c->mem_size = 128ULL << 20;
	c->ncpus = 2;
	c->ndisks = 2;
	strcpy(c->disks[0].path, "/d/root.img");
	strcpy(c->disks[0].id, "rootfs");
	c->disks[1].ro = true;
	strcpy(c->disks[1].path, "/d/data.img");
	c->disks[1].rl.bandwidth = (struct token_bucket_config){ true, 1000, 5, 100 };
	c->root_disk = 0;
	c->nnets = 1;
	strcpy(c->nets[0].id, "eth0");
	strcpy(c->nets[0].tap, "tap0");
	c->nets[0].has_mac = true;
	c->nets[0].mac[5] = 7;
	c->vsock.enabled = true;
	c->vsock.cid = 3;
	strcpy(c->vsock.uds, "/tmp/v.sock");
	c->rng.enabled = true;
}

/* A state file with META, VMEM, CONF, a clock and n vCPU sections that the
 * config check only counts. */
static void build_state(struct snap_w *w, const struct ember_config *c, unsigned ncpu_secs)
{
	snap_w_init(w);
	snapshot_save_meta(w, c, false);
	snap_begin(w, SNAP_TAG('C', 'L', 'O', 'K'), 0);
	snap_put_u64(w, 1);
	snap_put_u32(w, 0);
	snap_put_u64(w, 0);
	snap_put_u64(w, 0);
	for (unsigned i = 0; i < ncpu_secs; i++) {
		snap_begin(w, SNAP_TAG('V', 'C', 'P', 'U'), i);
		snap_put_u32(w, i);
	}
	CHECK_EQ(snap_finish(w), 0);
}

TEST(config_round_trip_and_checks)
{
	struct ember_config *c = malloc(sizeof(*c)), *d = malloc(sizeof(*d));
	struct snapshot_image *img = calloc(1, sizeof(*img));
	struct snap_file *f = malloc(sizeof(*f));
	struct snap_w w;

	config_sample(c);
	build_state(&w, c, 2);
	CHECK_EQ(snap_parse(w.buf, w.len, f), 0);
	config_init_run(d);
	CHECK_EQ(snapshot_parse_config(f, d, img), 0);
	CHECK_EQ(d->mem_size, c->mem_size);
	CHECK_EQ(d->ncpus, 2);
	CHECK_EQ(d->ndisks, 2);
	CHECK(strcmp(d->disks[1].path, "/d/data.img") == 0 && d->disks[1].ro);
	CHECK_EQ(d->disks[1].rl.bandwidth.size, 1000);
	CHECK_EQ(d->root_disk, 0);
	CHECK(strcmp(d->nets[0].tap, "tap0") == 0 && d->nets[0].mac[5] == 7);
	CHECK(d->vsock.enabled && d->vsock.cid == 3);
	CHECK(strcmp(d->vsock.uds, "/tmp/v.sock") == 0);
	CHECK_EQ(img->mem_size, 128ULL << 20);
	CHECK_EQ(img->clock.clock, 1);
	snap_w_free(&w);

	/* One vCPU section short. */
	build_state(&w, c, 1);
	CHECK_EQ(snap_parse(w.buf, w.len, f), 0);
	CHECK(snapshot_parse_config(f, d, img) < 0);
	CHECK_STR_CONTAINS(ember_lasterr(), "no state for vCPU 1 of 2");
	snap_w_free(&w);

	/* Values no configuration can have. */
	c->ncpus = 0;
	build_state(&w, c, 0);
	CHECK_EQ(snap_parse(w.buf, w.len, f), 0);
	CHECK(snapshot_parse_config(f, d, img) < 0);
	CHECK_STR_CONTAINS(ember_lasterr(), "configuration");
	snap_w_free(&w);
	config_sample(c);
	c->mem_size += 100; /* not whole pages */
	build_state(&w, c, 2);
	CHECK_EQ(snap_parse(w.buf, w.len, f), 0);
	CHECK(snapshot_parse_config(f, d, img) < 0);
	snap_w_free(&w);
	free(c);
	free(d);
	free(img);
	free(f);
}

static void nop_irq(void *ctx, int level)
{
	(void)ctx;
	(void)level;
}

static void nop_tx(void *ctx, uint8_t b)
{
	(void)ctx;
	(void)b;
}

TEST(legacy_devices_round_trip)
{
	static const struct uart_callbacks ucb = { .tx = nop_tx, .irq = nop_irq };
	struct uart u1, u2;
	struct ioapic io1, io2;
	struct cmos c1, c2;
	struct snap_w w;
	struct snap_r r;
	const uint8_t in[3] = { 'a', 'b', 'c' };

	uart_init(&u1, &ucb);
	uart_init(&u2, &ucb);
	u1.ier = UART_IER_RDI;
	u1.mcr = UART_MCR_OUT2;
	u1.lcr = 3;
	CHECK_EQ(uart_input(&u1, in, 3, false), 3);
	snap_w_init(&w);
	uart_save(&u1, &w);
	snap_r_init(&r, w.buf + SNAP_HEADER_SIZE, w.len - SNAP_HEADER_SIZE);
	CHECK_EQ(uart_load(&u2, &r), 0);
	CHECK_EQ(u2.rx_count, 3);
	CHECK_EQ(u2.rx[0], 'a');
	CHECK_EQ(u2.lcr, 3);
	/* An IER with reserved bits, or a FIFO fuller than the FIFO. */
	w.buf[SNAP_HEADER_SIZE] = 0xff;
	snap_r_init(&r, w.buf + SNAP_HEADER_SIZE, w.len - SNAP_HEADER_SIZE);
	CHECK_EQ(uart_load(&u2, &r), -EINVAL);
	w.buf[SNAP_HEADER_SIZE] = 0;
	w.buf[SNAP_HEADER_SIZE + 9] = 0xff;
	w.buf[SNAP_HEADER_SIZE + 10] = 0xff;
	snap_r_init(&r, w.buf + SNAP_HEADER_SIZE, w.len - SNAP_HEADER_SIZE);
	CHECK_EQ(uart_load(&u2, &r), -EINVAL);
	snap_w_free(&w);
	uart_destroy(&u1);
	uart_destroy(&u2);

	ioapic_init(&io1, &(struct ioapic_callbacks){ 0 });
	ioapic_init(&io2, &(struct ioapic_callbacks){ 0 });
	io1.rte[5] = 0x31;
	io1.line = 1u << 5;
	snap_w_init(&w);
	ioapic_save(&io1, &w);
	snap_r_init(&r, w.buf + SNAP_HEADER_SIZE, w.len - SNAP_HEADER_SIZE);
	CHECK_EQ(ioapic_load(&io2, &r), 0);
	CHECK_EQ(io2.rte[5], 0x31);
	CHECK_EQ(io2.line, 1u << 5);
	/* A line above the 24 pins. */
	w.buf[SNAP_HEADER_SIZE + 11] = 0x80;
	snap_r_init(&r, w.buf + SNAP_HEADER_SIZE, w.len - SNAP_HEADER_SIZE);
	CHECK_EQ(ioapic_load(&io2, &r), -EINVAL);
	snap_w_free(&w);
	ioapic_destroy(&io1);
	ioapic_destroy(&io2);

	cmos_init(&c1, NULL, NULL);
	cmos_init(&c2, NULL, NULL);
	c1.ram[0x20] = 0x5a;
	c1.offset = -3600;
	c1.index = 0x20;
	snap_w_init(&w);
	cmos_save(&c1, &w);
	snap_r_init(&r, w.buf + SNAP_HEADER_SIZE, w.len - SNAP_HEADER_SIZE);
	CHECK_EQ(cmos_load(&c2, &r), 0);
	CHECK_EQ(c2.ram[0x20], 0x5a);
	CHECK_EQ(c2.offset, -3600);
	w.buf[SNAP_HEADER_SIZE] = 0x80; /* index past the RAM */
	snap_r_init(&r, w.buf + SNAP_HEADER_SIZE, w.len - SNAP_HEADER_SIZE);
	CHECK_EQ(cmos_load(&c2, &r), -EINVAL);
	snap_w_free(&w);
	cmos_destroy(&c1);
	cmos_destroy(&c2);
}

TEST(i8042_round_trip)
{
	struct i8042 k1, k2;
	struct snap_w w;
	struct snap_r r;

	i8042_init(&k1, &(struct i8042_callbacks){ 0 });
	i8042_init(&k2, &(struct i8042_callbacks){ 0 });
	k1.kbd_len = 2;
	k1.kbd_q[0] = 0x14;
	k1.kbd_q[1] = 0x11;
	k1.key_used = 1;
	k1.src = I8042_SRC_KBD;
	snap_w_init(&w);
	i8042_save(&k1, &w);
	snap_r_init(&r, w.buf + SNAP_HEADER_SIZE, w.len - SNAP_HEADER_SIZE);
	CHECK_EQ(i8042_load(&k2, &r), 0);
	CHECK_EQ(k2.kbd_len, 2);
	CHECK_EQ(k2.kbd_q[1], 0x11);
	CHECK_EQ(k2.src, I8042_SRC_KBD);
	/* More keys used than queued. */
	w.buf[SNAP_HEADER_SIZE + 10] = 3;
	snap_r_init(&r, w.buf + SNAP_HEADER_SIZE, w.len - SNAP_HEADER_SIZE);
	CHECK_EQ(i8042_load(&k2, &r), -EINVAL);
	snap_w_free(&w);
	i8042_destroy(&k1);
	i8042_destroy(&k2);
}

static const struct virtio_dev_ops test_ops = {
	.name = "test",
	.device_id = VIRTIO_ID_RNG,
	.features = VIRTIO_F_RING_EVENT_IDX,
	.nqueues = 1,
	.queue_max = 16,
};

TEST(virtio_transport_round_trip)
{
	static uint8_t ram[1 << 16];
	struct guest_mem gm;
	struct virtio_dev d1, d2;
	struct snap_w w;
	struct snap_r r;

	guest_mem_init_buf(&gm, ram, sizeof(ram));
	virtio_init(&d1, &test_ops, NULL, &gm);
	virtio_init(&d2, &test_ops, NULL, &gm);
	d1.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		    VIRTIO_STATUS_DRIVER_OK;
	d1.driver_features = VIRTIO_F_VERSION_1 | VIRTIO_F_RING_EVENT_IDX;
	d1.queues[0] = (struct virtio_queue){
		.num = 16, .ready = true, .desc = 0x1000, .avail = 0x2000, .used = 0x3000
	};
	d1.queues[0].vq.last_avail = 9;
	d1.queues[0].vq.used_idx = 8;
	d1.live = true;
	snap_w_init(&w);
	virtio_save(&d1, &w);
	snap_r_init(&r, w.buf + SNAP_HEADER_SIZE, w.len - SNAP_HEADER_SIZE);
	CHECK_EQ(virtio_load(&d2, &r), 0);
	CHECK(d2.live);
	CHECK_EQ(d2.queues[0].vq.size, 16);
	CHECK_EQ(d2.queues[0].vq.last_avail, 9);
	CHECK_EQ(d2.queues[0].vq.used_idx, 8);
	CHECK(d2.queues[0].vq.event_idx);
	snap_w_free(&w);

	/* Rings outside guest RAM: the load fails and says which queue. */
	virtio_init(&d2, &test_ops, NULL, &gm);
	d1.queues[0].used = 1ULL << 40;
	snap_w_init(&w);
	virtio_save(&d1, &w);
	snap_r_init(&r, w.buf + SNAP_HEADER_SIZE, w.len - SNAP_HEADER_SIZE);
	CHECK(virtio_load(&d2, &r) < 0);
	CHECK_STR_CONTAINS(ember_lasterr(), "queue 0");
	snap_w_free(&w);

	/* Features the device never offered; another device. */
	d1.queues[0].used = 0x3000;
	d1.driver_features |= 1ULL << 40;
	snap_w_init(&w);
	virtio_save(&d1, &w);
	snap_r_init(&r, w.buf + SNAP_HEADER_SIZE, w.len - SNAP_HEADER_SIZE);
	CHECK(virtio_load(&d2, &r) < 0);
	snap_w_free(&w);
	d1.driver_features = VIRTIO_F_VERSION_1;
	snap_w_init(&w);
	virtio_save(&d1, &w);
	w.buf[SNAP_HEADER_SIZE] = VIRTIO_ID_NET;
	snap_r_init(&r, w.buf + SNAP_HEADER_SIZE, w.len - SNAP_HEADER_SIZE);
	CHECK(virtio_load(&d2, &r) < 0);
	CHECK_STR_CONTAINS(ember_lasterr(), "device 1");
	snap_w_free(&w);
	virtio_destroy(&d1);
	virtio_destroy(&d2);
}

TEST(vcpu_section_lengths_are_checked)
{
	struct snap_w w;
	struct snap_file *f = malloc(sizeof(*f));
	struct vcpu_state st;

	/* A section that ends after the id. */
	snap_w_init(&w);
	snap_begin(&w, SNAP_TAG('V', 'C', 'P', 'U'), 0);
	snap_put_u32(&w, 0);
	CHECK_EQ(snap_finish(&w), 0);
	CHECK_EQ(snap_parse(w.buf, w.len, f), 0);
	CHECK(vcpu_state_parse(&f->sec[0], &st) < 0);
	CHECK_STR_CONTAINS(ember_lasterr(), "vCPU 0 state");
	vcpu_state_free(&st);
	snap_w_free(&w);
	/* Registers of the wrong size. */
	snap_w_init(&w);
	snap_begin(&w, SNAP_TAG('V', 'C', 'P', 'U'), 0);
	snap_put_u32(&w, 0);
	snap_put_u32(&w, sizeof(struct kvm_mp_state));
	snap_put(&w, NULL, sizeof(struct kvm_mp_state));
	snap_put_u32(&w, 12);
	snap_put(&w, NULL, 12);
	CHECK_EQ(snap_finish(&w), 0);
	CHECK_EQ(snap_parse(w.buf, w.len, f), 0);
	CHECK(vcpu_state_parse(&f->sec[0], &st) < 0);
	vcpu_state_free(&st);
	snap_w_free(&w);
	free(f);
}

SUITE(snapshot, T(container_round_trip), T(container_refuses_every_damage),
      T(container_names_another_version), T(container_framing_is_checked),
      T(config_round_trip_and_checks), T(legacy_devices_round_trip), T(i8042_round_trip),
      T(virtio_transport_round_trip), T(vcpu_section_lengths_are_checked));
