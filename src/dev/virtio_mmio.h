/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport, version 2 (virtio 1.2 section 4.2), modern only:
 * VIRTIO_F_VERSION_1 is required. Owns the registers, feature negotiation,
 * the device status machine and the queue configuration; each device model
 * hands it an ops table and does its I/O on a thread of its own, woken by
 * queue notifications (ioeventfd, set up by the VM) and signalling used
 * buffers through an interrupt callback (irqfd).
 *
 * Locking: `lock` guards the registers and queue configuration. Device
 * threads take it around vq_pop/vq_push via virtio_lock()/virtio_unlock().
 */
#ifndef EMBER_DEV_VIRTIO_MMIO_H
#define EMBER_DEV_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"
#include "dev/virtqueue.h"
#include "guest_mem.h"

#define VIRTIO_MMIO_SIZE    0x200
#define VIRTIO_MMIO_MAGIC   0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION 2
#define VIRTIO_VENDOR_ID    0x52424d45 /* "EMBR" */
/* "device needs reset" lines printed per device; the rest are counted. */
#define VIRTIO_RESET_REPORTS 8
#define VIRTIO_MAX_QUEUES    8

/* Register offsets (virtio 1.2, 4.2.2). */
#define VIRTIO_MMIO_MAGIC_VALUE		0x000
#define VIRTIO_MMIO_VERSION_REG		0x004
#define VIRTIO_MMIO_DEVICE_ID		0x008
#define VIRTIO_MMIO_VENDOR_ID		0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_READY		0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_AVAIL_LOW	0x090
#define VIRTIO_MMIO_QUEUE_AVAIL_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_USED_LOW	0x0a0
#define VIRTIO_MMIO_QUEUE_USED_HIGH	0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc
#define VIRTIO_MMIO_CONFIG		0x100

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	 1
#define VIRTIO_STATUS_DRIVER		 2
#define VIRTIO_STATUS_DRIVER_OK		 4
#define VIRTIO_STATUS_FEATURES_OK	 8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED		 128

#define VIRTIO_INT_USED	  1
#define VIRTIO_INT_CONFIG 2

/* Feature bits every device may offer (6). */
#define VIRTIO_F_RING_INDIRECT_DESC (1ULL << 28)
#define VIRTIO_F_RING_EVENT_IDX	    (1ULL << 29)
#define VIRTIO_F_VERSION_1	    (1ULL << 32)

/* Device IDs (5). */
#define VIRTIO_ID_NET	  1
#define VIRTIO_ID_BLOCK	  2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG	  4
#define VIRTIO_ID_VSOCK	  19

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;
	uint32_t device_id;
	uint64_t features; /* device features; VERSION_1 is added by the transport */
	unsigned nqueues;
	uint16_t queue_max;
	uint32_t config_size;
	/* Config space accesses, off < config_size, off + len <= config_size. */
	void (*config_read)(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len);
	void (*config_write)(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len);
	/* DRIVER_OK was set with every enabled queue valid: start serving.
	 * Called with the lock held. Return negative errno to refuse. */
	int (*activate)(struct virtio_dev *d);
	/* The driver reset the device (status 0): stop using the queues. Called
	 * with the lock held. */
	void (*reset)(struct virtio_dev *d);
	/* Queue `q` was notified (from the device's I/O thread, lock not held). */
	void (*notify)(struct virtio_dev *d, unsigned q);
	/* The device was restored from a snapshot, live (lock held; its
	 * worker not yet started): vsock tells the driver its connections are
	 * gone. Optional. */
	void (*restored)(struct virtio_dev *d);
};

struct virtio_queue {
	uint16_t num;
	bool ready;
	uint64_t desc, avail, used;
	struct vq vq; /* valid while the device is live (DRIVER_OK) */
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv;
	const struct guest_mem *mem;
	pthread_mutex_t lock;
	pthread_cond_t idle; /* busy dropped to 0 */
	unsigned busy;	     /* requests doing I/O with the lock dropped */
	uint32_t status;
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
	uint64_t driver_features;
	uint32_t isr;
	uint32_t config_gen;
	bool live;		    /* DRIVER_OK and activated */
	uint64_t needs_reset_count; /* times the guest broke the device */
	struct virtio_queue queues[VIRTIO_MAX_QUEUES];
	/* Raise the device's interrupt (irqfd, or IOAPIC pin). */
	void (*irq)(void *ctx);
	void *irq_ctx;
	/* Notify the device thread that queue q has work (MMIO fallback path
	 * when no ioeventfd is registered). */
	void (*kick)(void *ctx, unsigned q);
	void *kick_ctx;
	/* The driver set DRIVER_OK and the device started (lock held): the VM
	 * installs its queue-notify ioeventfds only now, so a device no
	 * driver uses costs nothing at VM teardown. */
	void (*on_live)(void *ctx);
	void *on_live_ctx;
};

void virtio_init(struct virtio_dev *d, const struct virtio_dev_ops *ops, void *priv,
		 const struct guest_mem *mem);
void virtio_destroy(struct virtio_dev *d);

/* The transport's bus ops; register VIRTIO_MMIO_SIZE bytes at the device base. */
extern const struct bus_ops virtio_mmio_bus_ops;

void virtio_lock(struct virtio_dev *d);
void virtio_unlock(struct virtio_dev *d);

/* Device-side helpers, called with the lock held. */
bool virtio_has_feature(const struct virtio_dev *d, uint64_t bit);
/* Mark the device broken after a malformed request (sets
 * DEVICE_NEEDS_RESET and raises a config interrupt). */
void virtio_needs_reset(struct virtio_dev *d, const char *why);
/* After vq_push()es on queue q: interrupt the guest if it wants one. */
void virtio_signal_used(struct virtio_dev *d, unsigned q);

struct snap_w;
struct snap_r;
/* The transport and its queues' positions, for snapshots (the device is
 * quiesced: paused, no request in flight). virtio_load() checks every field
 * against this device and guest RAM; for a live device it sets the rings up
 * again, restarts the model and installs the notifications, as DRIVER_OK
 * did. 0, or negative errno with a message. */
void virtio_save(struct virtio_dev *d, struct snap_w *w);
int virtio_load(struct virtio_dev *d, struct snap_r *r);
/*
 * The one consumer loop every device uses (lock held): pop each chain of
 * queue q into *c (the device's own, allocated once), hand it to fn, push it
 * with the bytes fn says it wrote, and interrupt the guest at least every
 * VIRTIO_SIGNAL_BATCH pushes and once at the end. fn returns:
 *   VIRTIO_REQ_DONE   served: push, take the next chain;
 *   VIRTIO_REQ_LAST   served: push, and stop (nothing more to give);
 *   VIRTIO_REQ_AGAIN  not now (throttled, nothing to give): the chain goes
 *                     back to the ring unused (vq_unpop) and serving stops;
 *                     whatever resumes the device (the limiter's timer, new
 *                     data) calls this again;
 *   negative errno    the request is malformed (message set): the device
 *                     needs reset, the chain is not pushed.
 * fn may drop the lock for slow I/O (virtio_begin_io/virtio_end_io). A
 * malformed ring makes the device need reset the same way. Returns the
 * chains pushed, or the negative errno that broke the device.
 */
enum { VIRTIO_REQ_DONE = 0, VIRTIO_REQ_LAST = 1, VIRTIO_REQ_AGAIN = 2 };
#define VIRTIO_SIGNAL_BATCH 32
typedef int (*virtio_request_fn)(struct virtio_dev *d, struct vq_chain *c, void *ctx,
				 uint32_t *written);
int virtio_serve_queue(struct virtio_dev *d, unsigned q, struct vq_chain *c, virtio_request_fn fn,
		       void *ctx);
/* Drop the lock for a request's slow I/O: virtio_begin_io() unlocks,
 * virtio_end_io() relocks. A driver reset in between waits for the request
 * to finish, so its completion lands in the rings it came from. */
void virtio_begin_io(struct virtio_dev *d);
void virtio_end_io(struct virtio_dev *d);
/* Queue q's rings, or NULL if the device is not live or q is disabled. */
struct vq *virtio_queue(struct virtio_dev *d, unsigned q);

#endif
