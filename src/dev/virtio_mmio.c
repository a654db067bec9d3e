// SPDX-License-Identifier: MIT
#include "dev/virtio_mmio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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
	if (!(d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
		fprintf(stderr, "ember: virtio-%s: %s; device needs reset\n", d->ops->name, why);
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

static void reset(struct virtio_dev *d)
{
	/* A request in flight (lock dropped for its I/O) still owns buffers
	 * of the old rings: let it finish and complete there before the
	 * driver can see status 0 and hand out new rings (found by the
	 * hostile test guest). */
	while (d->busy)
		pthread_cond_wait(&d->idle, &d->lock);
	if (d->ops->reset)
		d->ops->reset(d);
	d->status = 0;
	d->dev_feat_sel = d->drv_feat_sel = d->queue_sel = 0;
	d->driver_features = 0;
	d->isr = 0;
	d->live = false;
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

static void write_status(struct virtio_dev *d, uint32_t v)
{
	uint32_t old = d->status;

	if (v == 0) {
		reset(d);
		return;
	}
	/* The driver may only add bits (3.1.1); ignore attempts to clear them
	 * or to set NEEDS_RESET itself. */
	v = (v | old) & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	v |= old & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		/* Accept only a subset of what we offered, with VERSION_1:
		 * otherwise leave FEATURES_OK clear so the driver gives up. */
		if ((d->driver_features & ~offered(d)) ||
		    !(d->driver_features & VIRTIO_F_VERSION_1))
			v &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	d->status = v;
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) &&
	    (v & VIRTIO_STATUS_FEATURES_OK) && !(v & VIRTIO_STATUS_DEVICE_NEEDS_RESET))
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
	bool q_writable = q && !q->ready && !(d->status & VIRTIO_STATUS_DRIVER_OK);

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		d->dev_feat_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (d->drv_feat_sel < 2 && !(d->status & VIRTIO_STATUS_FEATURES_OK))
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
		if (q && !(d->status & VIRTIO_STATUS_DRIVER_OK))
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
