// SPDX-License-Identifier: MIT
/* Split-ring tests over a fake guest memory, with hand-made hostile chains. */
#include <errno.h>
#include <link.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "dev/virtio_mmio.h"
#include "dev/virtio_rng.h"
#include "dev/virtio_worker.h"
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

/* --- issue 12: review findings ------------------------------------------ */

/* A chain's buffers may add up to at most 4 GiB - 1 (the used ring's 32-bit
 * length): longer is a broken chain, not a request to serve. The buffers
 * overlap in a sparse 2 GiB mapping nobody touches. */
TEST(chain_capped_at_4_gib)
{
	uint64_t big = (2ULL << 30) + 0x100000;
	uint8_t *m = mmap(NULL, big, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct guest_mem bg;
	struct vq bq;
	static struct vq_chain c;

	CHECK(m != MAP_FAILED);
	if (m == MAP_FAILED)
		return;
	guest_mem_init_buf(&bg, m, big);
	for (unsigned n = 0; n < 2; n++) {
		uint8_t *d = m + DESC;
		uint32_t last = n ? 2 : 1; /* 2 * (2^31 - 1) + last */

		CHECK_EQ(vq_setup(&bq, &bg, QSZ, 256, DESC, AVAIL, USED, false), 0);
		for (unsigned i = 0; i < 3; i++) {
			put_le64(d + 16 * i, 0x80000);
			put_le32(d + 16 * i + 8, i < 2 ? 0x7fffffffu : last);
			put_le16(d + 16 * i + 12, i < 2 ? VIRTQ_DESC_F_NEXT : 0);
			put_le16(d + 16 * i + 14, (uint16_t)(i + 1));
		}
		put_le16(m + AVAIL + 4, 0);
		put_le16(m + AVAIL + 2, 1);
		if (!n) {
			CHECK_EQ(vq_pop(&bq, &c), 1); /* exactly 4 GiB - 1 */
			CHECK_EQ(c.read_len, 0xffffffffULL);
		} else {
			CHECK_EQ(vq_pop(&bq, &c), -EINVAL);
			CHECK_STR_CONTAINS(ember_lasterr(), "bytes in all");
		}
	}
	munmap(m, big);
}

/* Every thread pays the static TLS of the whole program: no 64 KiB buffer
 * in it (virtio-rng had one). */
static int tls_size(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	if (info->dlpi_name && info->dlpi_name[0])
		return 0; /* a shared library: not ours */
	for (unsigned i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_TLS)
			*(uint64_t *)data = info->dlpi_phdr[i].p_memsz;
	return 1;
}

TEST(static_tls_is_small)
{
	uint64_t tls = 0;

	dl_iterate_phdr(tls_size, &tls);
	CHECK(tls < 4096);
}

/* A notification is served whatever the allocator says: the old consumer
 * loop malloc()ed its chain per kick and returned on failure, after the
 * worker had drained the eventfd: the kick was lost and the guest waited
 * for ever. unit_fail_malloc (fail_malloc.c) makes our malloc() fail. */
extern bool unit_fail_malloc;

TEST(rng_kick_served_without_memory)
{
	static struct virtio_rng r;

	setup();
	CHECK_EQ(virtio_rng_setup(&r, NULL), 0);
	virtio_init(&dev, &virtio_rng_ops, &r, &gm);
	r.dev = &dev;
	dev.driver_features = VIRTIO_F_VERSION_1;
	dev.queues[0].ready = true;
	CHECK_EQ(vq_setup(&dev.queues[0].vq, &gm, QSZ, 256, DESC, AVAIL, USED, false), 0);
	dev.live = true;
	desc(0, DATA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA + 0x100, 48, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	unit_fail_malloc = true;
	virtio_rng_notify(&dev, 0);
	unit_fail_malloc = false;
	CHECK_EQ(get_le16(ram + USED + 2), 1);
	CHECK_EQ(get_le32(ram + USED + 8), 64); /* both buffers filled */
	virtio_rng_close(&r);
	virtio_destroy(&dev);
}

/* --- the status machine (virtio 1.2, 2.1, 3.1.1) ------------------------- */

static void features_and_queue(void)
{
	mw(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mw(VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	driver_setup_queue0();
}

TEST(transport_status_in_order_only)
{
	const uint32_t A = VIRTIO_STATUS_ACKNOWLEDGE, D = VIRTIO_STATUS_DRIVER,
		       F = VIRTIO_STATUS_FEATURES_OK, K = VIRTIO_STATUS_DRIVER_OK;

	tsetup();
	mw(VIRTIO_MMIO_STATUS, D); /* DRIVER before ACKNOWLEDGE */
	CHECK_EQ(mr(VIRTIO_MMIO_STATUS), 0);
	mw(VIRTIO_MMIO_STATUS, A | D); /* two at once */
	CHECK_EQ(mr(VIRTIO_MMIO_STATUS), 0);
	/* FEATURES_OK and DRIVER_OK without DRIVER: never live. */
	mw(VIRTIO_MMIO_STATUS, A);
	features_and_queue();
	mw(VIRTIO_MMIO_STATUS, A | F);
	mw(VIRTIO_MMIO_STATUS, A | F | K);
	CHECK_EQ(activated, 0);
	CHECK(virtio_queue(&dev, 0) == NULL);
	CHECK_EQ(mr(VIRTIO_MMIO_STATUS), A);
	/* DRIVER_OK without FEATURES_OK: refused too. */
	mw(VIRTIO_MMIO_STATUS, A | D);
	mw(VIRTIO_MMIO_STATUS, A | D | K);
	CHECK_EQ(activated, 0);
	CHECK_EQ(mr(VIRTIO_MMIO_STATUS), A | D);
	/* In order: live. */
	mw(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mw(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	mw(VIRTIO_MMIO_STATUS, A | D | F);
	CHECK_EQ(mr(VIRTIO_MMIO_STATUS), A | D | F);
	mw(VIRTIO_MMIO_STATUS, A | D | F | K);
	CHECK_EQ(activated, 1);
	CHECK(virtio_queue(&dev, 0) != NULL);
	/* Bits cleared without a reset: refused, the device runs on. */
	mw(VIRTIO_MMIO_STATUS, A | K);
	CHECK_EQ(mr(VIRTIO_MMIO_STATUS), A | D | F | K);
	CHECK(virtio_queue(&dev, 0) != NULL);
	CHECK_EQ(resets, 0);
	virtio_destroy(&dev);
}

TEST(transport_failed_stops_the_device)
{
	const uint32_t ok = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			    VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;

	tsetup();
	negotiate(VIRTIO_F_VERSION_1);
	driver_setup_queue0();
	mw(VIRTIO_MMIO_STATUS, ok);
	CHECK(virtio_queue(&dev, 0) != NULL);
	/* The driver gives up: no more queue use, the model told so. */
	mw(VIRTIO_MMIO_STATUS, ok | VIRTIO_STATUS_FAILED);
	CHECK_EQ(mr(VIRTIO_MMIO_STATUS), ok | VIRTIO_STATUS_FAILED);
	CHECK(virtio_queue(&dev, 0) == NULL);
	CHECK_EQ(resets, 1);
	/* Nothing but a reset brings it back. */
	mw(VIRTIO_MMIO_STATUS, ok);
	CHECK(virtio_queue(&dev, 0) == NULL);
	mw(VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(mr(VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(resets, 2);
	/* FAILED before DRIVER_OK: the device never starts. */
	mw(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	mw(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_FAILED);
	negotiate(VIRTIO_F_VERSION_1);
	driver_setup_queue0();
	mw(VIRTIO_MMIO_STATUS, mr(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(activated, 1); /* only the first time */
	CHECK(virtio_queue(&dev, 0) == NULL);
	virtio_destroy(&dev);
}

/* A guest that breaks the device again and again: a bounded number of lines
 * on stderr, every time counted. */
TEST(transport_needs_reset_reports_are_bounded)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	char line[256];
	unsigned lines = 0;

	CHECK(f != NULL && saved >= 0);
	tsetup();
	fflush(stderr);
	dup2(fileno(f), STDERR_FILENO);
	for (int i = 0; i < 50; i++) {
		virtio_needs_reset(&dev, "broken chain");
		virtio_needs_reset(&dev, "broken again before the reset"); /* not counted */
		mw(VIRTIO_MMIO_STATUS, 0);
	}
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	CHECK_EQ(dev.needs_reset_count, 50);
	rewind(f);
	while (fgets(line, sizeof(line), f))
		lines++;
	CHECK_EQ(lines, VIRTIO_RESET_REPORTS);
	CHECK(strstr(line, "further ones are counted") != NULL);
	fclose(f);
	virtio_destroy(&dev);
}

/* --- the worker ----------------------------------------------------------- */

static void nop_notify(struct virtio_dev *d, unsigned q)
{
	(void)d;
	(void)q;
}

static const struct virtio_dev_ops worker_ops = {
	.name = "wtest",
	.nqueues = 1,
	.queue_max = 16,
	.notify = nop_notify,
};

static struct virtio_worker wk;
static int efd_a, efd_b, efd_c;
static _Atomic int calls_a, calls_c;

static void drain_fd(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == sizeof(v))
		;
}

static void on_c(void *ctx, int fd, uint32_t events)
{
	(void)ctx;
	(void)events;
	drain_fd(fd);
	calls_c++;
}

/* A's callback closes B and gives its slot to C, in the same epoll batch
 * that still holds B's event. */
static void on_a(void *ctx, int fd, uint32_t events)
{
	(void)ctx;
	(void)events;
	drain_fd(fd);
	if (calls_a++ == 0) {
		worker_del_fd(&wk, efd_b);
		close(efd_b);
		CHECK_EQ(worker_add_fd(&wk, efd_c, EPOLLIN, on_c, NULL), 0);
	}
}

static void on_b(void *ctx, int fd, uint32_t events)
{
	(void)ctx;
	(void)events;
	drain_fd(fd);
}

static bool wait_for(_Atomic int *v, int n)
{
	for (int i = 0; i < 200 && *v < n; i++)
		usleep(5000);
	return *v >= n;
}

TEST(worker_stale_event_misses_new_owner)
{
	static struct virtio_dev wdev;
	uint64_t one = 1;

	virtio_init(&wdev, &worker_ops, NULL, &gm);
	CHECK_EQ(worker_init(&wk, &wdev), 0);
	calls_a = calls_c = 0;
	efd_a = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	efd_b = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	efd_c = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); /* never written */
	CHECK_EQ(write(efd_a, &one, 8), 8);
	CHECK_EQ(write(efd_b, &one, 8), 8);
	CHECK_EQ(worker_add_fd(&wk, efd_a, EPOLLIN, on_a, NULL), 0); /* slot 0 */
	CHECK_EQ(worker_add_fd(&wk, efd_b, EPOLLIN, on_b, NULL), 0); /* slot 1 */
	CHECK_EQ(worker_start(&wk), 0);
	CHECK(wait_for(&calls_a, 1));
	usleep(50000);
	CHECK_EQ(calls_c, 0); /* B's event did not reach C */
	worker_destroy(&wk);
	close(efd_a);
	close(efd_c);
	virtio_destroy(&wdev);
}

/* An edge-triggered event in the batch after a pause request is served
 * once the worker resumes, not skipped (it would never come again). */
TEST(worker_edge_event_after_pause_served)
{
	static struct virtio_dev wdev;
	uint64_t one = 1;

	virtio_init(&wdev, &worker_ops, NULL, &gm);
	CHECK_EQ(worker_init(&wk, &wdev), 0);
	calls_c = 0;
	efd_c = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK_EQ(worker_add_fd(&wk, efd_c, EPOLLIN | EPOLLET, on_c, NULL), 0);
	/* The pause request first, then the edge, both before the thread's
	 * first epoll_wait: one batch, stop first. */
	wk.pause_req = true;
	CHECK_EQ(write(wk.stop_fd, &one, 8), 8);
	CHECK_EQ(write(efd_c, &one, 8), 8);
	CHECK_EQ(worker_start(&wk), 0);
	for (int i = 0; i < 200 && !wk.paused; i++)
		usleep(5000);
	CHECK_EQ(calls_c, 0); /* paused: nothing served */
	worker_resume(&wk);
	CHECK(wait_for(&calls_c, 1));
	worker_destroy(&wk);
	close(efd_c);
	virtio_destroy(&wdev);
}

SUITE(virtqueue, T(setup_validation), T(simple_chain_and_used), T(index_wraps_modulo_2_16),
      T(hostile_avail_index_and_head), T(hostile_loops_and_next), T(hostile_buffers),
      T(indirect_tables), T(event_idx_notification), T(transport_identity_and_features),
      T(transport_negotiation_rules), T(transport_bad_queue_needs_reset), T(chain_capped_at_4_gib),
      T(static_tls_is_small), T(rng_kick_served_without_memory), T(transport_status_in_order_only),
      T(transport_failed_stops_the_device), T(transport_needs_reset_reports_are_bounded),
      T(worker_stale_event_misses_new_owner), T(worker_edge_event_after_pause_served));
