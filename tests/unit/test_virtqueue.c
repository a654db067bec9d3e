// SPDX-License-Identifier: MIT
/* Split-ring tests over a fake guest memory, with hand-made hostile chains. */
#include <errno.h>

#include "dev/virtio_mmio.h"
#include "dev/virtqueue.h"
#include "harness.h"
#include "util.h"

#define QSZ   8
#define DESC  0x1000
#define AVAIL 0x2000
#define USED  0x3000
#define DATA  0x4000
#define RAM   0x10000

static uint8_t ram[RAM];
static struct guest_mem gm;
static struct vq q;
static struct vq_chain chain;

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = ram + DESC + 16 * i;

	put_le64(p, addr);
	put_le32(p + 8, len);
	put_le16(p + 12, flags);
	put_le16(p + 14, next);
}

/* Publish head at the next avail slot. */
static void offer(uint16_t head)
{
	uint16_t idx = get_le16(ram + AVAIL + 2);

	put_le16(ram + AVAIL + 4 + 2 * (idx % QSZ), head);
	put_le16(ram + AVAIL + 2, (uint16_t)(idx + 1));
}

static void setup(void)
{
	memset(ram, 0, sizeof(ram));
	guest_mem_init_buf(&gm, ram, sizeof(ram));
	CHECK_EQ(vq_setup(&q, &gm, QSZ, 256, DESC, AVAIL, USED, false), 0);
}

TEST(setup_validation)
{
	guest_mem_init_buf(&gm, ram, sizeof(ram));
	CHECK_EQ(vq_setup(&q, &gm, 0, 256, DESC, AVAIL, USED, false), -EINVAL);
	CHECK_EQ(vq_setup(&q, &gm, 6, 256, DESC, AVAIL, USED, false), -EINVAL);
	CHECK_EQ(vq_setup(&q, &gm, 512, 256, DESC, AVAIL, USED, false), -EINVAL);
	CHECK_EQ(vq_setup(&q, &gm, QSZ, 256, DESC + 8, AVAIL, USED, false), -EINVAL);
	CHECK_EQ(vq_setup(&q, &gm, QSZ, 256, DESC, AVAIL + 1, USED, false), -EINVAL);
	CHECK_EQ(vq_setup(&q, &gm, QSZ, 256, DESC, AVAIL, USED + 2, false), -EINVAL);
	CHECK_EQ(vq_setup(&q, &gm, QSZ, 256, RAM - 64, AVAIL, USED, false), -EINVAL);
	CHECK_EQ(vq_setup(&q, &gm, QSZ, 256, DESC, AVAIL, UINT64_MAX - 3, false), -EINVAL);
	/* Used ring ending exactly at the top of RAM is fine. */
	CHECK_EQ(vq_setup(&q, &gm, QSZ, 256, DESC, AVAIL, RAM - (6 + 8 * QSZ) - 2, false), 0);
}

TEST(simple_chain_and_used)
{
	setup();
	CHECK_EQ(vq_pop(&q, &chain), 0); /* empty */
	memcpy(ram + DATA, "request", 7);
	desc(0, DATA, 7, VIRTQ_DESC_F_NEXT, 3);
	desc(3, DATA + 0x100, 16, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	CHECK_EQ(vq_pop(&q, &chain), 1);
	CHECK_EQ(chain.head, 0);
	CHECK_EQ(chain.n, 2);
	CHECK_EQ(chain.nread, 1);
	CHECK_EQ(chain.read_len, 7);
	CHECK_EQ(chain.write_len, 16);
	char b[8] = { 0 };
	CHECK_EQ(vq_chain_read(&chain, 2, b, 100), 5);
	CHECK(memcmp(b, "quest", 5) == 0);
	CHECK_EQ(vq_chain_write(&chain, 0, "0123456789abcdefXYZ", 19), 16);
	CHECK(memcmp(ram + DATA + 0x100, "0123456789abcdef", 16) == 0);
	CHECK_EQ(vq_push(&q, chain.head, 16), 0);
	CHECK_EQ(get_le16(ram + USED + 2), 1);
	CHECK_EQ(get_le32(ram + USED + 4), 0);
	CHECK_EQ(get_le32(ram + USED + 8), 16);
	CHECK(vq_should_notify(&q));
	put_le16(ram + AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	CHECK(!vq_should_notify(&q));
	CHECK_EQ(vq_pop(&q, &chain), 0);
}

TEST(index_wraps_modulo_2_16)
{
	setup();
	q.last_avail = q.used_idx = 0xfffe;
	put_le16(ram + AVAIL + 2, 0xfffe);
	desc(1, DATA, 4, 0, 0);
	for (int i = 0; i < 4; i++) {
		offer(1);
		CHECK_EQ(vq_pop(&q, &chain), 1);
		CHECK_EQ(vq_push(&q, 1, 0), 0);
	}
	CHECK_EQ(q.last_avail, 2);
	CHECK_EQ(get_le16(ram + USED + 2), 2);
}

TEST(hostile_avail_index_and_head)
{
	setup();
	put_le16(ram + AVAIL + 2, QSZ + 1); /* more than a ring ahead */
	CHECK_EQ(vq_pop(&q, &chain), -EINVAL);
	setup();
	offer(QSZ); /* head out of range */
	CHECK_EQ(vq_pop(&q, &chain), -EINVAL);
}

TEST(hostile_loops_and_next)
{
	setup();
	desc(0, DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA, 4, VIRTQ_DESC_F_NEXT, 0); /* loop 0 -> 1 -> 0 */
	offer(0);
	CHECK_EQ(vq_pop(&q, &chain), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "loops");
	setup();
	desc(0, DATA, 4, VIRTQ_DESC_F_NEXT, QSZ); /* next past the table */
	offer(0);
	CHECK_EQ(vq_pop(&q, &chain), -EINVAL);
	setup();
	desc(2, DATA, 4, VIRTQ_DESC_F_NEXT, 2); /* self loop */
	offer(2);
	CHECK_EQ(vq_pop(&q, &chain), -EINVAL);
}

TEST(hostile_buffers)
{
	setup();
	desc(0, RAM - 4, 8, 0, 0); /* runs past RAM */
	offer(0);
	CHECK_EQ(vq_pop(&q, &chain), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "outside guest RAM");
	setup();
	desc(0, UINT64_MAX - 1, 4, 0, 0); /* wraps */
	offer(0);
	CHECK_EQ(vq_pop(&q, &chain), -EINVAL);
	setup();
	desc(0, DATA, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA, 4, 0, 0); /* readable after writable */
	offer(0);
	CHECK_EQ(vq_pop(&q, &chain), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "readable buffer after a writable");
}

TEST(indirect_tables)
{
	uint8_t *t = ram + DATA + 0x800;

	setup();
	/* Valid: two entries. */
	put_le64(t, DATA);
	put_le32(t + 8, 10);
	put_le16(t + 12, VIRTQ_DESC_F_NEXT);
	put_le16(t + 14, 1);
	put_le64(t + 16, DATA + 0x40);
	put_le32(t + 24, 20);
	put_le16(t + 28, VIRTQ_DESC_F_WRITE);
	desc(0, DATA + 0x800, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	CHECK_EQ(vq_pop(&q, &chain), 1);
	CHECK_EQ(chain.n, 2);
	CHECK_EQ(chain.read_len, 10);
	CHECK_EQ(chain.write_len, 20);
	/* Nested indirect. */
	put_le16(t + 28, VIRTQ_DESC_F_INDIRECT);
	offer(0);
	CHECK_EQ(vq_pop(&q, &chain), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "nested");
	/* Loop inside the table: 0 -> 1 -> 0. */
	setup();
	put_le64(t, DATA);
	put_le32(t + 8, 10);
	put_le16(t + 12, VIRTQ_DESC_F_NEXT);
	put_le16(t + 14, 1);
	put_le64(t + 16, DATA);
	put_le32(t + 24, 10);
	put_le16(t + 28, VIRTQ_DESC_F_NEXT);
	put_le16(t + 30, 0);
	desc(0, DATA + 0x800, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	CHECK_EQ(vq_pop(&q, &chain), -EINVAL);
	/* Bad table sizes and places. */
	setup();
	desc(0, DATA + 0x800, 24, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	CHECK_EQ(vq_pop(&q, &chain), -EINVAL);
	setup();
	desc(0, RAM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	CHECK_EQ(vq_pop(&q, &chain), -EINVAL);
	setup();
	desc(0, DATA + 0x800, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	offer(0);
	CHECK_EQ(vq_pop(&q, &chain), -EINVAL);
}

TEST(event_idx_notification)
{
	setup();
	q.event_idx = true;
	desc(0, DATA, 4, 0, 0);
	offer(0);
	CHECK_EQ(vq_pop(&q, &chain), 1);
	vq_push(&q, 0, 0);
	CHECK(vq_should_notify(&q));		/* first time: always */
	put_le16(ram + AVAIL + 4 + 2 * QSZ, 5); /* used_event = 5 */
	offer(0);
	vq_pop(&q, &chain);
	vq_push(&q, 0, 0); /* used idx 2: not past 5 */
	CHECK(!vq_should_notify(&q));
	for (int i = 0; i < 4; i++) {
		offer(0);
		vq_pop(&q, &chain);
		vq_push(&q, 0, 0);
	}
	CHECK(vq_should_notify(&q)); /* used idx 6 passed 5 */
	/* Draining the ring publishes avail_event = the next index we read,
	 * so the driver kicks us for its next chain. */
	CHECK_EQ(vq_pop(&q, &chain), 0);
	CHECK_EQ(get_le16(ram + USED + 4 + 8 * QSZ), q.last_avail);
	CHECK_EQ(q.last_avail, 6);
}

/* --- the transport ------------------------------------------------------ */

static int activated, resets, irqs;

static int act(struct virtio_dev *d)
{
	(void)d;
	activated++;
	return 0;
}

static void rst(struct virtio_dev *d)
{
	(void)d;
	resets++;
}

static void cfg_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	(void)d;
	for (uint32_t i = 0; i < len; i++)
		data[i] = (uint8_t)(0xc0 + off + i);
}

static void on_irq(void *ctx)
{
	(void)ctx;
	irqs++;
}

static const struct virtio_dev_ops test_ops = {
	.name = "test",
	.device_id = 42,
	.features = VIRTIO_F_RING_EVENT_IDX | 1,
	.nqueues = 2,
	.queue_max = 16,
	.config_size = 8,
	.config_read = cfg_read,
	.activate = act,
	.reset = rst,
};

static struct virtio_dev dev;

static uint32_t mr(unsigned off)
{
	uint32_t v;

	virtio_mmio_bus_ops.read(&dev, off, (uint8_t *)&v, 4);
	return v;
}

static void mw(unsigned off, uint32_t v)
{
	virtio_mmio_bus_ops.write(&dev, off, (const uint8_t *)&v, 4);
}

static void driver_setup_queue0(void)
{
	mw(VIRTIO_MMIO_QUEUE_SEL, 0);
	mw(VIRTIO_MMIO_QUEUE_NUM, QSZ);
	mw(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC);
	mw(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL);
	mw(VIRTIO_MMIO_QUEUE_USED_LOW, USED);
	mw(VIRTIO_MMIO_QUEUE_READY, 1);
}

static void negotiate(uint64_t feat)
{
	mw(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	mw(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mw(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mw(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
	mw(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mw(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feat >> 32));
	mw(VIRTIO_MMIO_STATUS, mr(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_FEATURES_OK);
}

static void tsetup(void)
{
	memset(ram, 0, sizeof(ram));
	guest_mem_init_buf(&gm, ram, sizeof(ram));
	virtio_init(&dev, &test_ops, NULL, &gm);
	dev.irq = on_irq;
	activated = resets = irqs = 0;
}

TEST(transport_identity_and_features)
{
	tsetup();
	CHECK_EQ(mr(VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
	CHECK_EQ(mr(VIRTIO_MMIO_VERSION_REG), 2);
	CHECK_EQ(mr(VIRTIO_MMIO_DEVICE_ID), 42);
	mw(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK_EQ(mr(VIRTIO_MMIO_DEVICE_FEATURES), 1); /* VERSION_1 */
	mw(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK_EQ(mr(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)(VIRTIO_F_RING_EVENT_IDX | 1));
	mw(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	CHECK_EQ(mr(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	/* Writes to read-only registers change nothing. */
	mw(VIRTIO_MMIO_MAGIC_VALUE, 0);
	mw(VIRTIO_MMIO_DEVICE_ID, 7);
	CHECK_EQ(mr(VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
	CHECK_EQ(mr(VIRTIO_MMIO_DEVICE_ID), 42);
	/* Odd widths and misaligned accesses to registers read as 0. */
	uint8_t b[8] = { 0xff, 0xff };
	virtio_mmio_bus_ops.read(&dev, VIRTIO_MMIO_MAGIC_VALUE, b, 2);
	CHECK_EQ(b[0], 0);
	virtio_mmio_bus_ops.read(&dev, VIRTIO_MMIO_MAGIC_VALUE + 1, b, 4);
	CHECK_EQ(b[0], 0);
	virtio_mmio_bus_ops.write(&dev, VIRTIO_MMIO_STATUS, b, 1);
	CHECK_EQ(mr(VIRTIO_MMIO_STATUS), 0);
	/* Config space: bytewise access allowed, past the end reads 0. */
	virtio_mmio_bus_ops.read(&dev, VIRTIO_MMIO_CONFIG + 6, b, 2);
	CHECK_EQ(b[0], 0xc6);
	CHECK_EQ(b[1], 0xc7);
	virtio_mmio_bus_ops.read(&dev, VIRTIO_MMIO_CONFIG + 7, b, 4);
	CHECK_EQ(b[0], 0);
	virtio_destroy(&dev);
}

TEST(transport_negotiation_rules)
{
	tsetup();
	negotiate(1); /* no VERSION_1: refused */
	CHECK(!(mr(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK));
	mw(VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(resets, 1);
	negotiate(VIRTIO_F_VERSION_1 | (1ULL << 40)); /* not offered */
	CHECK(!(mr(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK));
	mw(VIRTIO_MMIO_STATUS, 0);
	negotiate(VIRTIO_F_VERSION_1 | VIRTIO_F_RING_EVENT_IDX);
	CHECK(mr(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	driver_setup_queue0();
	mw(VIRTIO_MMIO_STATUS, mr(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(activated, 1);
	CHECK(virtio_queue(&dev, 0) != NULL);
	CHECK(virtio_queue(&dev, 1) == NULL); /* not ready */
	CHECK(virtio_queue(&dev, 5) == NULL);
	/* Queue layout is frozen once live. */
	mw(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x8000);
	CHECK_EQ(dev.queues[0].desc, DESC);
	/* Interrupt status and acknowledge. */
	virtio_lock(&dev);
	vq_push(virtio_queue(&dev, 0), 0, 0);
	virtio_signal_used(&dev, 0);
	virtio_unlock(&dev);
	CHECK_EQ(irqs, 1);
	CHECK_EQ(mr(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_USED);
	mw(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED);
	CHECK_EQ(mr(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	virtio_destroy(&dev);
}

TEST(transport_bad_queue_needs_reset)
{
	tsetup();
	negotiate(VIRTIO_F_VERSION_1);
	mw(VIRTIO_MMIO_QUEUE_SEL, 0);
	mw(VIRTIO_MMIO_QUEUE_NUM, 100); /* not a power of two */
	mw(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC);
	mw(VIRTIO_MMIO_QUEUE_AVAIL_LOW, AVAIL);
	mw(VIRTIO_MMIO_QUEUE_USED_LOW, USED);
	mw(VIRTIO_MMIO_QUEUE_READY, 1);
	mw(VIRTIO_MMIO_STATUS, mr(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	CHECK(mr(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(activated, 0);
	CHECK(virtio_queue(&dev, 0) == NULL);
	CHECK_EQ(mr(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	/* The driver cannot clear NEEDS_RESET except by resetting. */
	mw(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_DRIVER_OK);
	CHECK(mr(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	mw(VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(mr(VIRTIO_MMIO_STATUS), 0);
	/* Queue selector out of range: registers inert. */
	mw(VIRTIO_MMIO_QUEUE_SEL, 9);
	CHECK_EQ(mr(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	mw(VIRTIO_MMIO_QUEUE_NUM, 4);
	virtio_destroy(&dev);
}

SUITE(virtqueue, T(setup_validation), T(simple_chain_and_used), T(index_wraps_modulo_2_16),
      T(hostile_avail_index_and_head), T(hostile_loops_and_next), T(hostile_buffers),
      T(indirect_tables), T(event_idx_notification), T(transport_identity_and_features),
      T(transport_negotiation_rules), T(transport_bad_queue_needs_reset));
