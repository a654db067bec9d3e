// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the virtio-mmio transport (dev/virtio_mmio.c). The
 * input picks a fake device (queues, queue size, features, config space
 * size, whether activate() refuses) and then a sequence of register reads
 * and writes of any offset, size and value, plus a whole driver handshake
 * with input-chosen ring addresses now and then, against 64 KiB of fake RAM.
 *
 * Checked after every access, besides ASan/UBSan:
 *  - the ID registers read right; other sizes and misaligned offsets read
 *    0; config space reads are the device's bytes inside it and 0 outside,
 *    and the device's config callbacks only ever see in-range accesses;
 *  - DeviceFeatures gives the offer (with VERSION_1) for selectors 0 and 1
 *    and 0 beyond; QueueNumMax is the device's for its queues, 0 beyond;
 *  - the driver only adds status bits; it cannot set DEVICE_NEEDS_RESET,
 *    which appears only when DRIVER_OK finds a bad queue or activate()
 *    refuses; FEATURES_OK sticks only for a subset of the offer with
 *    VERSION_1, after which the driver's features no longer change;
 *  - a queue's size and ring addresses change only through their own
 *    registers, for the selected queue, while it is not ready and DRIVER_OK
 *    is clear; QueueReady likewise only before DRIVER_OK;
 *  - the device is live exactly when DRIVER_OK and FEATURES_OK are set
 *    without NEEDS_RESET, and then every ready queue is a valid ring inside
 *    RAM of the size the driver gave; activate() ran once, with the lock
 *    held and the device live;
 *  - status 0 resets everything, calling the device's reset();
 *  - QueueNotify reaches the device only when it is live, for its queues;
 *    InterruptACK only clears bits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev/virtio_mmio.h"
#include "util.h"
#include "vdrv.h"

#define RAM 0x10000

static struct vd v;
static uint8_t ram[VD_RAM];
static struct virtio_dev dev;
static struct virtio_dev_ops ops;
static uint8_t cfg[32];
static unsigned activations, resets;
static bool refuse;

static void cfg_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	if (off >= d->ops->config_size || len > d->ops->config_size - off || !len)
		vd_fail("config_read(%u, %u) with config size %u", off, len, d->ops->config_size);
	memcpy(data, cfg + off, len);
}

static void cfg_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	if (off >= d->ops->config_size || len > d->ops->config_size - off || !len)
		vd_fail("config_write(%u, %u) with config size %u", off, len, d->ops->config_size);
	memcpy(cfg + off, data, len);
}

static int activate(struct virtio_dev *d)
{
	uint32_t need = VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK;

	if (pthread_mutex_trylock(&d->lock) == 0)
		vd_fail("activate() without the device lock");
	if (!d->live || (d->status & need) != need ||
	    (d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		vd_fail("activate() in status 0x%x, live %d", d->status, d->live);
	activations++;
	return refuse ? -EIO : 0;
}

static void reset_cb(struct virtio_dev *d)
{
	if (pthread_mutex_trylock(&d->lock) == 0)
		vd_fail("reset() without the device lock");
	resets++;
}

static void notify_cb(struct virtio_dev *d, unsigned q)
{
	(void)d;
	(void)q;
	vd_fail("the transport called notify() itself");
}

static uint64_t offered(void)
{
	return ops.features | VIRTIO_F_VERSION_1;
}

static void check_live(void)
{
	uint32_t need = VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK;
	bool may = (dev.status & need) == need &&
		   !(dev.status & (VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED));

	if (dev.live && !may)
		vd_fail("live in status 0x%x", dev.status);
	if (!dev.live)
		return;
	if (activations != 1)
		vd_fail("live after %u activations", activations);
	for (unsigned i = 0; i < ops.nqueues; i++) {
		const struct virtio_queue *q = &dev.queues[i];
		uint64_t n = q->num;

		if (!q->ready)
			continue;
		if (q->vq.size != q->num || !n || n > ops.queue_max || (n & (n - 1)) ||
		    q->vq.desc != q->desc || q->vq.avail != q->avail || q->vq.used != q->used)
			vd_fail("queue %u live with size %u (%u), rings 0x%llx 0x%llx 0x%llx", i,
				q->num, q->vq.size, (unsigned long long)q->desc,
				(unsigned long long)q->avail, (unsigned long long)q->used);
		if (!guest_mem_contains(&v.gm, q->desc, 16 * n) ||
		    !guest_mem_contains(&v.gm, q->avail, 6 + 2 * n) ||
		    !guest_mem_contains(&v.gm, q->used, 6 + 8 * n) || (q->desc & 15) ||
		    (q->avail & 1) || (q->used & 3))
			vd_fail("queue %u live with rings outside RAM or misaligned", i);
		if (virtio_queue(&dev, i) != &dev.queues[i].vq)
			vd_fail("virtio_queue(%u) is not the live queue", i);
	}
	if (virtio_queue(&dev, ops.nqueues) || virtio_queue(&dev, VIRTIO_MAX_QUEUES))
		vd_fail("virtio_queue() past the device's queues");
}

static void check_read(uint64_t off, uint32_t len, const uint8_t *got)
{
	uint8_t exp[8] = { 0 };
	uint32_t r = 0;
	bool known = true;

	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;

		if (c < ops.config_size && len <= ops.config_size - c)
			memcpy(exp, cfg + c, len);
	} else if (len == 4 && !(off & 3)) {
		const struct virtio_queue *q =
		    dev.queue_sel < ops.nqueues ? &dev.queues[dev.queue_sel] : NULL;

		switch (off) {
		case VIRTIO_MMIO_MAGIC_VALUE:
			r = VIRTIO_MMIO_MAGIC;
			break;
		case VIRTIO_MMIO_VERSION_REG:
			r = VIRTIO_MMIO_VERSION;
			break;
		case VIRTIO_MMIO_DEVICE_ID:
			r = ops.device_id;
			break;
		case VIRTIO_MMIO_VENDOR_ID:
			r = VIRTIO_VENDOR_ID;
			break;
		case VIRTIO_MMIO_DEVICE_FEATURES:
			r = dev.dev_feat_sel < 2 ? (uint32_t)(offered() >> (32 * dev.dev_feat_sel))
						 : 0;
			break;
		case VIRTIO_MMIO_QUEUE_NUM_MAX:
			r = q ? ops.queue_max : 0;
			break;
		case VIRTIO_MMIO_QUEUE_READY:
			r = q ? q->ready : 0;
			break;
		case VIRTIO_MMIO_INTERRUPT_STATUS:
		case VIRTIO_MMIO_STATUS:
		case VIRTIO_MMIO_CONFIG_GENERATION:
			known = false; /* state: checked elsewhere */
			break;
		}
		put_le32(exp, r);
	}
	if (known && memcmp(got, exp, len))
		vd_fail("read of %u bytes at 0x%llx: wrong value", len, (unsigned long long)off);
}

/* What a write may change, checked against a copy taken before it. */
static void check_write(const struct virtio_dev *old, uint64_t off, uint32_t len, uint32_t val)
{
	bool reg = len == 4 && !(off & 3) && off < VIRTIO_MMIO_CONFIG;

	if (reg && off == VIRTIO_MMIO_STATUS && val == 0) {
		if (dev.status || dev.driver_features || dev.isr || dev.live || dev.queue_sel ||
		    dev.dev_feat_sel || dev.drv_feat_sel || resets != 1)
			vd_fail("status 0 did not reset (status 0x%x, reset() ran %u times)",
				dev.status, resets);
		for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
			if (dev.queues[i].ready || dev.queues[i].num || dev.queues[i].desc ||
			    dev.queues[i].avail || dev.queues[i].used)
				vd_fail("queue %u survived reset", i);
		activations = 0;
		resets = 0;
		return;
	}
	/* FAILED (the driver gave up) stops the device once: reset() runs. */
	if (resets && !(resets == 1 && (dev.status & ~old->status & VIRTIO_STATUS_FAILED)))
		vd_fail("reset() ran %u times without status 0 or a new FAILED", resets);
	resets = 0;
	/* Status: only added bits, one at a time in the order of 3.1.1, or
	 * FAILED; NEEDS_RESET only with a DRIVER_OK the device refused. */
	if ((dev.status & old->status) != old->status)
		vd_fail("status bits cleared: 0x%x -> 0x%x", old->status, dev.status);
	if (dev.status != old->status && !(reg && off == VIRTIO_MMIO_STATUS))
		vd_fail("status changed by a write to 0x%llx", (unsigned long long)off);
	if (dev.status != old->status) {
		uint32_t add = dev.status & ~old->status;
		uint32_t ad = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
		uint32_t adf = ad | VIRTIO_STATUS_FEATURES_OK;
		bool ok =
		    add == VIRTIO_STATUS_FAILED ||
		    (old->status == 0 && add == VIRTIO_STATUS_ACKNOWLEDGE) ||
		    (old->status == VIRTIO_STATUS_ACKNOWLEDGE && add == VIRTIO_STATUS_DRIVER) ||
		    (old->status == ad && add == VIRTIO_STATUS_FEATURES_OK) ||
		    (old->status == adf &&
		     (add == VIRTIO_STATUS_DRIVER_OK ||
		      add == (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET)));

		if (!ok || (add != VIRTIO_STATUS_FAILED &&
			    (val & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET) !=
				(dev.status & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET)))
			vd_fail("status 0x%x -> 0x%x on a write of 0x%x", old->status, dev.status,
				val);
	}
	if ((old->status & VIRTIO_STATUS_FAILED) && dev.live)
		vd_fail("live after FAILED");
	if ((dev.status & ~old->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) &&
	    !(dev.status & ~old->status & VIRTIO_STATUS_DRIVER_OK))
		vd_fail("NEEDS_RESET set by the driver (0x%x -> 0x%x)", old->status, dev.status);
	if (dev.status & VIRTIO_STATUS_FEATURES_OK) {
		if ((dev.driver_features & ~offered()) ||
		    !(dev.driver_features & VIRTIO_F_VERSION_1))
			vd_fail("FEATURES_OK with driver features 0x%llx of 0x%llx",
				(unsigned long long)dev.driver_features,
				(unsigned long long)offered());
		if ((old->status & VIRTIO_STATUS_FEATURES_OK) &&
		    dev.driver_features != old->driver_features)
			vd_fail("driver features changed after FEATURES_OK");
	}
	if (dev.driver_features != old->driver_features &&
	    !(reg && off == VIRTIO_MMIO_DRIVER_FEATURES && old->drv_feat_sel < 2))
		vd_fail("driver features changed by a write to 0x%llx", (unsigned long long)off);
	/* The only event here: DRIVER_OK refused, a config interrupt. */
	if ((dev.isr & ~old->isr) &&
	    ((dev.isr & ~old->isr) != VIRTIO_INT_CONFIG ||
	     !(dev.status & ~old->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)))
		vd_fail("InterruptStatus bits appeared with no event");
	/* DRIVER_OK after FEATURES_OK: the device starts, or says why not. */
	if (reg && off == VIRTIO_MMIO_STATUS && !(old->status & VIRTIO_STATUS_DRIVER_OK) &&
	    (dev.status & VIRTIO_STATUS_DRIVER_OK) && (dev.status & VIRTIO_STATUS_FEATURES_OK) &&
	    dev.live == !!(dev.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		vd_fail("DRIVER_OK: live %d in status 0x%x", dev.live, dev.status);
	if (activations > 1)
		vd_fail("activate() ran %u times", activations);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		const struct virtio_queue *o = &old->queues[i], *q = &dev.queues[i];
		bool sel = reg && old->queue_sel == i && i < ops.nqueues;
		bool open = sel && !o->ready &&
			    !(old->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED));

		if (q->num != o->num && !(open && off == VIRTIO_MMIO_QUEUE_NUM))
			vd_fail("queue %u size changed by 0x%llx", i, (unsigned long long)off);
		if (q->desc != o->desc && !(open && (off == VIRTIO_MMIO_QUEUE_DESC_LOW ||
						     off == VIRTIO_MMIO_QUEUE_DESC_HIGH)))
			vd_fail("queue %u desc changed by 0x%llx", i, (unsigned long long)off);
		if (q->avail != o->avail && !(open && (off == VIRTIO_MMIO_QUEUE_AVAIL_LOW ||
						       off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH)))
			vd_fail("queue %u avail changed by 0x%llx", i, (unsigned long long)off);
		if (q->used != o->used && !(open && (off == VIRTIO_MMIO_QUEUE_USED_LOW ||
						     off == VIRTIO_MMIO_QUEUE_USED_HIGH)))
			vd_fail("queue %u used changed by 0x%llx", i, (unsigned long long)off);
		if (q->ready != o->ready &&
		    !(sel && off == VIRTIO_MMIO_QUEUE_READY &&
		      !(old->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED))))
			vd_fail("queue %u ready changed by 0x%llx", i, (unsigned long long)off);
		if (i >= ops.nqueues && (q->ready || q->num || q->desc || q->avail || q->used))
			vd_fail("queue %u beyond the device's %u configured", i, ops.nqueues);
	}
}

static void mmio_access(struct fz *f)
{
	static const uint16_t regs[] = {
		VIRTIO_MMIO_MAGIC_VALUE,
		VIRTIO_MMIO_DEVICE_FEATURES,
		VIRTIO_MMIO_DEVICE_FEATURES_SEL,
		VIRTIO_MMIO_DRIVER_FEATURES,
		VIRTIO_MMIO_DRIVER_FEATURES_SEL,
		VIRTIO_MMIO_QUEUE_SEL,
		VIRTIO_MMIO_QUEUE_NUM_MAX,
		VIRTIO_MMIO_QUEUE_NUM,
		VIRTIO_MMIO_QUEUE_READY,
		VIRTIO_MMIO_QUEUE_NOTIFY,
		VIRTIO_MMIO_INTERRUPT_STATUS,
		VIRTIO_MMIO_INTERRUPT_ACK,
		VIRTIO_MMIO_STATUS,
		VIRTIO_MMIO_QUEUE_DESC_LOW,
		VIRTIO_MMIO_QUEUE_DESC_HIGH,
		VIRTIO_MMIO_QUEUE_AVAIL_LOW,
		VIRTIO_MMIO_QUEUE_AVAIL_HIGH,
		VIRTIO_MMIO_QUEUE_USED_LOW,
		VIRTIO_MMIO_QUEUE_USED_HIGH,
		VIRTIO_MMIO_CONFIG_GENERATION,
		VIRTIO_MMIO_CONFIG,
		VIRTIO_MMIO_CONFIG + 4,
		VIRTIO_MMIO_DEVICE_ID,
		VIRTIO_MMIO_VERSION_REG,
	};
	static const uint32_t lens[] = { 4, 4, 4, 4, 1, 2, 8, 3 };
	uint8_t k = fz_u8(f), b[8];
	uint64_t off =
	    (k & 0x80) ? fz_u16(f) % VIRTIO_MMIO_SIZE : regs[fz_u8(f) % ARRAY_SIZE(regs)];
	uint32_t len = lens[k & 7], val;
	struct virtio_dev old;

	if (k & 0x40) {
		memset(b, 0xa5, sizeof(b));
		virtio_mmio_bus_ops.read(&dev, off, b, len);
		check_read(off, len, b);
		return;
	}
	val = (k & 0x20) ? fz_u32(f) : fz_u8(f);
	if (off == VIRTIO_MMIO_STATUS && (k & 0x10))
		val = 0; /* reset often */
	for (unsigned i = 0; i < 8; i++)
		b[i] = (uint8_t)(val >> (8 * (i % 4)));
	old = dev;
	v.kicked = 0;
	virtio_mmio_bus_ops.write(&dev, off, b, len);
	check_write(&old, off, len, val);
	if (v.kicked && !(len == 4 && off == VIRTIO_MMIO_QUEUE_NOTIFY && old.live))
		vd_fail("a kick from a write of %u bytes at 0x%llx", len, (unsigned long long)off);
}

/* A whole handshake, rings where the input says (often valid). */
static void handshake(struct fz *f)
{
	uint64_t feats = offered() & (fz_u8(f) < 0xf0 ? ~0ULL : fz_u64(f));

	vd_w32(&v, VIRTIO_MMIO_STATUS, 0);
	if (resets != 1 || dev.status)
		vd_fail("handshake: status 0 did not reset");
	activations = resets = 0;
	vd_w32(&v, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	vd_w32(&v, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vd_w32(&v, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vd_w32(&v, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feats);
	vd_w32(&v, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vd_w32(&v, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feats >> 32));
	vd_w32(&v, VIRTIO_MMIO_STATUS,
	       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	for (unsigned i = 0; i < ops.nqueues; i++) {
		uint8_t k = fz_u8(f);
		uint64_t base = (uint64_t)(fz_u8(f) % 16) * 0x1000;

		vd_w32(&v, VIRTIO_MMIO_QUEUE_SEL, i);
		vd_w32(&v, VIRTIO_MMIO_QUEUE_NUM, (k & 0x80) ? fz_u32(f) : 1u << (k % 12));
		vd_w32(&v, VIRTIO_MMIO_QUEUE_DESC_LOW, (k & 0x40) ? fz_u32(f) : (uint32_t)base);
		vd_w32(&v, VIRTIO_MMIO_QUEUE_AVAIL_LOW,
		       (uint32_t)base + 0x800 + (k & 0x20 ? 1 : 0));
		vd_w32(&v, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)base + 0xc00);
		vd_w32(&v, VIRTIO_MMIO_QUEUE_USED_HIGH, (k & 0x10) ? fz_u32(f) : 0);
		vd_w32(&v, VIRTIO_MMIO_QUEUE_READY, !(k & 8));
	}
	vd_w32(&v, VIRTIO_MMIO_STATUS,
	       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		   VIRTIO_STATUS_DRIVER_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t qmax[] = { 1, 2, 16, 256, 1024, 1024, 256, 8 };
	static const uint32_t cfgsz[] = { 0, 1, 8, 12, 24, 32, 20, 4 };
	struct fz f = { data, size };
	uint8_t opt = fz_u8(&f), opt2 = fz_u8(&f);
	unsigned n = 0;

	ops = (struct virtio_dev_ops){
		.name = "fuzz",
		.device_id = 42,
		.features = (opt & 0x80)
				? fz_u64(&f) & ~VIRTIO_F_VERSION_1
				: VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_F_RING_EVENT_IDX | 7,
		.nqueues = 1 + opt % VIRTIO_MAX_QUEUES,
		.queue_max = qmax[(opt >> 3) & 7],
		.config_size = cfgsz[opt2 & 7],
		.config_read = cfg_read,
		.config_write = cfg_write,
		.activate = activate,
		.reset = reset_cb,
		.notify = notify_cb,
	};
	refuse = opt2 & 0x80;
	for (unsigned i = 0; i < sizeof(cfg); i++)
		cfg[i] = (uint8_t)(i * 17 + 1);
	activations = resets = 0;
	vd_init(&v, ram);
	guest_mem_init_buf(&v.gm, ram, RAM);
	virtio_init(&dev, &ops, NULL, &v.gm);
	vd_attach(&v, &dev);
	while (f.n && n++ < 400) {
		if (fz_u8(&f) == 0xff)
			handshake(&f);
		else
			mmio_access(&f);
		check_live();
	}
	virtio_destroy(&dev);
	return 0;
}
