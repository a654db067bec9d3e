// SPDX-License-Identifier: MIT
#include "dev/virtio_mmio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "snapshot/snapfile.h"
#include "util.h"

void virtio_init(struct virtio_dev *d, const struct virtio_dev_ops *ops, void *priv,
		 const struct guest_mem *mem)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->idle, NULL);
	d->ops = ops;
	d->priv = priv;
	d->mem = mem;
}

void virtio_destroy(struct virtio_dev *d)
{
	pthread_cond_destroy(&d->idle);
	pthread_mutex_destroy(&d->lock);
}

void virtio_lock(struct virtio_dev *d)
{
	pthread_mutex_lock(&d->lock);
}

void virtio_unlock(struct virtio_dev *d)
{
	pthread_mutex_unlock(&d->lock);
}

static uint64_t offered(const struct virtio_dev *d)
{
	return d->ops->features | VIRTIO_F_VERSION_1;
}

bool virtio_has_feature(const struct virtio_dev *d, uint64_t bit)
{
	return (d->driver_features & bit) != 0;
}

struct vq *virtio_queue(struct virtio_dev *d, unsigned q)
{
	if (!d->live || q >= d->ops->nqueues || !d->queues[q].ready)
		return NULL;
	return &d->queues[q].vq;
}

void virtio_needs_reset(struct virtio_dev *d, const char *why)
{
	/* A guest that breaks its queues, resets and breaks them again would
	 * fill ember's stderr: the first few are told, the rest counted. */
	if (!(d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)) {
		d->needs_reset_count++;
		if (d->needs_reset_count <= VIRTIO_RESET_REPORTS)
			fprintf(stderr, "ember: virtio-%s: %s; device needs reset%s\n",
				d->ops->name, why,
				d->needs_reset_count == VIRTIO_RESET_REPORTS
				    ? " (further ones are counted, not printed)"
				    : "");
	}
	d->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	d->live = false;
	d->isr |= VIRTIO_INT_CONFIG;
	if (d->irq)
		d->irq(d->irq_ctx);
}

void virtio_signal_used(struct virtio_dev *d, unsigned q)
{
	struct vq *vq = virtio_queue(d, q);

	if (!vq || !vq_should_notify(vq))
		return;
	d->isr |= VIRTIO_INT_USED;
	if (d->irq)
		d->irq(d->irq_ctx);
}

int virtio_serve_queue(struct virtio_dev *d, unsigned q, struct vq_chain *c, virtio_request_fn fn,
		       void *ctx)
{
	unsigned pushed = 0, unsignalled = 0;
	struct vq *vq;
	int r = 0;

	while ((vq = virtio_queue(d, q))) {
		uint32_t written = 0;

		r = vq_pop(vq, c);
		if (r <= 0)
			break;
		r = fn(d, c, ctx, &written);
		if (r == VIRTIO_REQ_AGAIN) {
			vq_unpop(vq, 1);
			break;
		}
		if (r < 0)
			break;
		/* Into the rings the chain came from, even if the device broke
		 * meanwhile: a reset waits for requests doing I/O, so they are
		 * still the driver's. */
		vq_push(vq, c->head, written);
		pushed++;
		/* Interrupt per batch, not per request: but do not starve the
		 * guest while it keeps the queue full. */
		if (++unsignalled == VIRTIO_SIGNAL_BATCH) {
			virtio_signal_used(d, q);
			unsignalled = 0;
		}
		if (r == VIRTIO_REQ_LAST)
			break;
	}
	if (r < 0 && virtio_queue(d, q))
		virtio_needs_reset(d, ember_lasterr());
	if (unsignalled)
		virtio_signal_used(d, q);
	return r < 0 ? r : (int)pushed;
}

void virtio_begin_io(struct virtio_dev *d)
{
	d->busy++;
	pthread_mutex_unlock(&d->lock);
}

void virtio_end_io(struct virtio_dev *d)
{
	pthread_mutex_lock(&d->lock);
	if (--d->busy == 0)
		pthread_cond_broadcast(&d->idle);
}

/* Wait for the request in flight (lock dropped for its I/O) to finish: it
 * still owns buffers of the current rings, and its completion must land in
 * them before the driver can see the device stopped and hand out new rings
 * (found by the hostile test guest). Then let the model drop its state. */
static void quiesce(struct virtio_dev *d)
{
	while (d->busy)
		pthread_cond_wait(&d->idle, &d->lock);
	d->live = false;
	if (d->ops->reset)
		d->ops->reset(d);
}

static void reset(struct virtio_dev *d)
{
	quiesce(d);
	d->status = 0;
	d->dev_feat_sel = d->drv_feat_sel = d->queue_sel = 0;
	d->driver_features = 0;
	d->isr = 0;
	memset(d->queues, 0, sizeof(d->queues));
}

/* DRIVER_OK: validate every enabled queue, then let the device start. */
static void go_live(struct virtio_dev *d)
{
	bool event_idx = virtio_has_feature(d, VIRTIO_F_RING_EVENT_IDX);

	for (unsigned i = 0; i < d->ops->nqueues; i++) {
		struct virtio_queue *q = &d->queues[i];

		if (!q->ready)
			continue;
		if (vq_setup(&q->vq, d->mem, q->num, d->ops->queue_max, q->desc, q->avail, q->used,
			     event_idx)) {
			char why[256];

			snprintf(why, sizeof(why), "queue %u: %s", i, ember_lasterr());
			virtio_needs_reset(d, why);
			return;
		}
	}
	d->live = true;
	if (d->ops->activate && d->ops->activate(d) < 0) {
		virtio_needs_reset(d, "device could not start");
		return;
	}
	if (d->on_live)
		d->on_live(d->on_live_ctx);
}

/* The status a driver may add next (3.1.1): one bit at a time, in order. */
static uint32_t next_status(uint32_t s)
{
	switch (s) {
	case 0:
		return VIRTIO_STATUS_ACKNOWLEDGE;
	case VIRTIO_STATUS_ACKNOWLEDGE:
		return VIRTIO_STATUS_DRIVER;
	case VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER:
		return VIRTIO_STATUS_FEATURES_OK;
	case VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK:
		return VIRTIO_STATUS_DRIVER_OK;
	}
	return 0; /* live, failed or needing reset: nothing more to add */
}

/*
 * The device status machine (virtio 1.2, 2.1 and 3.1.1), as Firecracker's
 * and cloud-hypervisor's transports keep it: 0 resets; FAILED (the driver
 * gave up) is taken at any time and stops the device; otherwise a write must
 * keep every bit set so far and add exactly the next one of ACKNOWLEDGE,
 * DRIVER, FEATURES_OK, DRIVER_OK. Anything else (bits out of order, several
 * at once, bits cleared without a reset, NEEDS_RESET from the driver) is
 * refused: the status stays as it was, so the device never goes live on a
 * driver that skipped a step.
 */
static void write_status(struct virtio_dev *d, uint32_t v)
{
	uint32_t old = d->status, mine = old & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	uint32_t drv = old & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	uint32_t want = v & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET, add = want & ~drv;

	if (v == 0) {
		reset(d);
		return;
	}
	if (add & VIRTIO_STATUS_FAILED) {
		if (!(old & VIRTIO_STATUS_FAILED))
			quiesce(d);
		d->status = old | VIRTIO_STATUS_FAILED;
		return;
	}
	if ((drv & ~want) || !add || add != next_status(drv) || mine)
		return;
	if (add == VIRTIO_STATUS_FEATURES_OK) {
		/* Accept only a subset of what we offered, with VERSION_1:
		 * otherwise leave FEATURES_OK clear so the driver gives up. */
		if ((d->driver_features & ~offered(d)) ||
		    !(d->driver_features & VIRTIO_F_VERSION_1))
			return;
	}
	d->status = want;
	if (add == VIRTIO_STATUS_DRIVER_OK)
		go_live(d);
}

static struct virtio_queue *selected(struct virtio_dev *d)
{
	return d->queue_sel < d->ops->nqueues ? &d->queues[d->queue_sel] : NULL;
}

static uint32_t read_reg(struct virtio_dev *d, uint64_t off)
{
	struct virtio_queue *q = selected(d);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION_REG:
		return VIRTIO_MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return d->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return d->dev_feat_sel < 2 ? (uint32_t)(offered(d) >> (32 * d->dev_feat_sel)) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? d->ops->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return d->isr;
	case VIRTIO_MMIO_STATUS:
		return d->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return d->config_gen;
	}
	return 0; /* write-only and reserved registers read as 0 */
}

static void set_half(uint64_t *v, bool high, uint32_t x)
{
	*v = high ? ((*v & 0xffffffffULL) | (uint64_t)x << 32) : ((*v & ~0xffffffffULL) | x);
}

static void write_reg(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	struct virtio_queue *q = selected(d);
	/* Queue layout may change only while the queue is not ready and the
	 * driver has not finished (4.2.2.3). */
	bool q_writable =
	    q && !q->ready && !(d->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED));

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		d->dev_feat_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* Between DRIVER and FEATURES_OK only (3.1.1). */
		if (d->drv_feat_sel < 2 && (d->status & VIRTIO_STATUS_DRIVER) &&
		    !(d->status & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_FAILED)))
			set_half(&d->driver_features, d->drv_feat_sel == 1, v);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		d->drv_feat_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		d->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (q_writable)
			q->num = (uint16_t)(v > 0xffff ? 0 : v);
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (q && !(d->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED)))
			q->ready = v & 1;
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Normally caught by an ioeventfd and never seen here. */
		if (d->live && v < d->ops->nqueues && d->kick)
			d->kick(d->kick_ctx, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		d->isr &= ~v;
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(d, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (q_writable)
			set_half(&q->desc, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		if (q_writable)
			set_half(&q->avail, off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if (q_writable)
			set_half(&q->used, off == VIRTIO_MMIO_QUEUE_USED_HIGH, v);
		break;
	}
	/* Read-only registers (magic, IDs, status of queues...) ignore writes. */
}

static void virtio_mmio_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_dev *d = opaque;
	uint32_t v;

	memset(data, 0, len);
	pthread_mutex_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;

		if (c < d->ops->config_size && len <= d->ops->config_size - c &&
		    d->ops->config_read)
			d->ops->config_read(d, (uint32_t)c, data, len);
	} else if (len == 4 && !(off & 3)) {
		/* The transport's registers are 32-bit, aligned (4.2.2.2);
		 * anything else reads as 0. */
		v = read_reg(d, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&d->lock);
}

static void virtio_mmio_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct virtio_dev *d = opaque;
	uint32_t v;

	pthread_mutex_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;

		if (c < d->ops->config_size && len <= d->ops->config_size - c &&
		    d->ops->config_write)
			d->ops->config_write(d, (uint32_t)c, data, len);
	} else if (len == 4 && !(off & 3)) {
		memcpy(&v, data, 4);
		write_reg(d, off, v);
	}
	pthread_mutex_unlock(&d->lock);
}

const struct bus_ops virtio_mmio_bus_ops = {
	.name = "virtio-mmio",
	.read = virtio_mmio_read,
	.write = virtio_mmio_write,
};

/* --- snapshots ---------------------------------------------------------- */

/* Every status bit the driver or the device can have set. */
#define STATUS_BITS                                                                                \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK |              \
	 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED)

void virtio_save(struct virtio_dev *d, struct snap_w *w)
{
	pthread_mutex_lock(&d->lock);
	snap_put_u32(w, d->ops->device_id);
	snap_put_u32(w, d->ops->nqueues);
	snap_put_u32(w, d->status);
	snap_put_u32(w, d->dev_feat_sel);
	snap_put_u32(w, d->drv_feat_sel);
	snap_put_u32(w, d->queue_sel);
	snap_put_u64(w, d->driver_features);
	snap_put_u32(w, d->isr);
	snap_put_u32(w, d->config_gen);
	snap_put_u8(w, d->live);
	snap_put_u64(w, d->needs_reset_count);
	for (unsigned i = 0; i < d->ops->nqueues; i++) {
		const struct virtio_queue *q = &d->queues[i];

		snap_put_u16(w, q->num);
		snap_put_u8(w, q->ready);
		snap_put_u64(w, q->desc);
		snap_put_u64(w, q->avail);
		snap_put_u64(w, q->used);
		snap_put_u16(w, q->vq.last_avail);
		snap_put_u16(w, q->vq.used_idx);
		snap_put_u16(w, q->vq.signalled);
		snap_put_u8(w, q->vq.signalled_valid);
	}
	pthread_mutex_unlock(&d->lock);
}

int virtio_load(struct virtio_dev *d, struct snap_r *r)
{
	struct virtio_queue qs[VIRTIO_MAX_QUEUES];
	uint16_t last_avail[VIRTIO_MAX_QUEUES], used_idx[VIRTIO_MAX_QUEUES];
	uint16_t signalled[VIRTIO_MAX_QUEUES];
	bool signalled_valid[VIRTIO_MAX_QUEUES];
	uint32_t id = snap_get_u32(r), nq = snap_get_u32(r), status = snap_get_u32(r);
	uint32_t dsel = snap_get_u32(r), drsel = snap_get_u32(r), qsel = snap_get_u32(r);
	uint64_t feat = snap_get_u64(r);
	uint32_t isr = snap_get_u32(r), gen = snap_get_u32(r);
	bool live = snap_get_bool(r);
	uint64_t resets = snap_get_u64(r);
	int err = 0;

	if (r->err)
		return ember_seterr(-EINVAL, "virtio-%s: state cut short", d->ops->name);
	if (id != d->ops->device_id || nq != d->ops->nqueues)
		return ember_seterr(-EINVAL,
				    "virtio-%s: the snapshot has device %u with %u queues here, "
				    "the configuration gives device %u with %u",
				    d->ops->name, id, nq, d->ops->device_id, d->ops->nqueues);
	if ((status & ~STATUS_BITS) || (feat & ~offered(d)) ||
	    (isr & ~(VIRTIO_INT_USED | VIRTIO_INT_CONFIG)))
		return ember_seterr(-EINVAL, "virtio-%s: status 0x%x, features 0x%llx or "
					     "interrupt status 0x%x not possible here",
				    d->ops->name, status, (unsigned long long)feat, isr);
	if (live && !(status & VIRTIO_STATUS_DRIVER_OK))
		return ember_seterr(-EINVAL, "virtio-%s: live without DRIVER_OK", d->ops->name);
	memset(qs, 0, sizeof(qs));
	for (unsigned i = 0; i < nq; i++) {
		qs[i].num = snap_get_u16(r);
		qs[i].ready = snap_get_bool(r);
		qs[i].desc = snap_get_u64(r);
		qs[i].avail = snap_get_u64(r);
		qs[i].used = snap_get_u64(r);
		last_avail[i] = snap_get_u16(r);
		used_idx[i] = snap_get_u16(r);
		signalled[i] = snap_get_u16(r);
		signalled_valid[i] = snap_get_bool(r);
		if (qs[i].num > d->ops->queue_max)
			return ember_seterr(-EINVAL, "virtio-%s: queue %u of size %u (max %u)",
					    d->ops->name, i, qs[i].num, d->ops->queue_max);
	}
	if (snap_r_end(r))
		return ember_seterr(-EINVAL, "virtio-%s: state of the wrong length", d->ops->name);

	pthread_mutex_lock(&d->lock);
	d->status = status;
	d->dev_feat_sel = dsel;
	d->drv_feat_sel = drsel;
	d->queue_sel = qsel;
	d->driver_features = feat;
	d->isr = isr;
	d->config_gen = gen;
	d->needs_reset_count = resets;
	memcpy(d->queues, qs, sizeof(qs));
	if (live) {
		/* What go_live() did for this driver, with the ring positions
		 * the device had reached. */
		bool event_idx = virtio_has_feature(d, VIRTIO_F_RING_EVENT_IDX);

		for (unsigned i = 0; i < nq && !err; i++) {
			struct virtio_queue *q = &d->queues[i];

			if (!q->ready)
				continue;
			err = vq_setup(&q->vq, d->mem, q->num, d->ops->queue_max, q->desc,
				       q->avail, q->used, event_idx);
			if (err) {
				err = ember_prefixerr(err, "virtio-%s: queue %u", d->ops->name, i);
				break;
			}
			q->vq.last_avail = last_avail[i];
			q->vq.used_idx = used_idx[i];
			q->vq.signalled = signalled[i];
			q->vq.signalled_valid = signalled_valid[i];
		}
		if (!err) {
			d->live = true;
			if (d->ops->activate && d->ops->activate(d) < 0)
				err = ember_prefixerr(-EIO, "virtio-%s: restart", d->ops->name);
		}
		if (!err && d->ops->restored)
			d->ops->restored(d);
		if (!err && d->on_live)
			d->on_live(d->on_live_ctx);
	}
	pthread_mutex_unlock(&d->lock);
	return err;
}
