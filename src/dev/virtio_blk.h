/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio 1.2 section 5.2) over a raw image file or block device:
 * read, write, flush (fdatasync), get-id, and discard / write-zeroes where
 * the host file supports hole punching. `ro` disks are opened read-only,
 * advertise VIRTIO_BLK_F_RO and fail writes with VIRTIO_BLK_S_IOERR.
 * Requests are served on the device's own I/O thread with preadv/pwritev
 * straight into the guest's (checked) buffers.
 *
 * An optional rate limiter (Firecracker's, dev/rate_limiter.h) charges each
 * request 1 op, and reads and writes their data bytes (flush, get-id,
 * discard and write-zeroes move no data: 0 bytes). A request that does not
 * fit goes back to the ring unserved, the thread stops taking requests and
 * the limiter's timer wakes it when the request fits: requests keep their
 * order, and nothing polls.
 */
#ifndef EMBER_DEV_VIRTIO_BLK_H
#define EMBER_DEV_VIRTIO_BLK_H

#include <stdint.h>

#include "config.h"
#include "dev/rate_limiter.h"
#include "vm_virtio.h"

#define VIRTIO_BLK_F_SEG_MAX	  (1ULL << 2)
#define VIRTIO_BLK_F_RO		  (1ULL << 5)
#define VIRTIO_BLK_F_BLK_SIZE	  (1ULL << 6)
#define VIRTIO_BLK_F_FLUSH	  (1ULL << 9)
#define VIRTIO_BLK_F_DISCARD	  (1ULL << 13)
#define VIRTIO_BLK_F_WRITE_ZEROES (1ULL << 14)

#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES    20
#define VIRTIO_BLK_CONFIG_SIZE 60

struct disk_config;

/* Firecracker's block metrics (its names, metrics.rs), for the metrics
 * writer; bumped with counter_add(). */
struct virtio_blk_metrics {
	_Atomic uint64_t read_bytes, write_bytes; /* data of successful requests */
	_Atomic uint64_t read_count, write_count, flush_count;
	_Atomic uint64_t invalid_reqs_count;		/* answered IOERR or UNSUPP */
	_Atomic uint64_t rate_limiter_throttled_events; /* requests the limiter refused */
	_Atomic uint64_t rate_limiter_event_count;	/* its timer fired */
};

struct virtio_blk {
	int fd;
	uint64_t capacity; /* bytes, a multiple of 512 */
	bool ro;
	bool can_discard;
	char id[VIRTIO_BLK_ID_BYTES + 1];
	char path[CONFIG_PATH_MAX];
	uint64_t features;
	uint8_t config[VIRTIO_BLK_CONFIG_SIZE];
	struct virtio_dev_ops ops;
	struct virtio_dev *dev;	   /* set by virtio_blk_create() (or the test) */
	struct rate_limiter_io rl; /* guarded by dev's lock */
	struct virtio_blk_metrics m;
	struct vq_chain chain; /* the request being served (device thread) */
};

/* arg: const struct disk_config *. */
int virtio_blk_create(struct vm_virtio *s, const struct guest_mem *mem, const void *arg);

/* Open and size the image, fill ops and config, set up cfg->rl (no
 * virtio_dev needed): exposed so tests can drive requests against a
 * temporary file. */
int virtio_blk_open(struct virtio_blk *b, const struct disk_config *cfg);
void virtio_blk_close(struct virtio_blk *b);

/*
 * Replace the backing file while the guest runs (Firecracker's PATCH
 * /drives): open `path` as the disk was opened (read-only or not), wait for
 * the request in flight, switch, update the capacity in config space and
 * raise a config-change interrupt, after which Linux re-reads the capacity
 * ("new size" in its log). The features stay what the driver negotiated.
 * 0, or negative errno with a message and the old file still in use.
 */
int virtio_blk_swap(struct virtio_blk *b, const char *path);

/* Serve one request chain; returns the status byte written, or -EINVAL if
 * the chain is malformed (no room for the status byte, header too short). */
int virtio_blk_request(struct virtio_blk *b, const struct vq_chain *c, uint32_t *written);

/*
 * Replace the rate limiter's buckets at run time (Firecracker's PATCH
 * /drives: rate_limiter_update() semantics), from any thread: taken under
 * the device lock, effective at once; a throttled device re-evaluates on
 * its own thread. 0 or negative errno (no timerfd) with the limiter as it
 * was.
 */
int virtio_blk_set_rate_limiter(struct virtio_blk *b, const struct rate_limiter_config *cfg);

/* The limiter's timer fired: serve the queue again (worker callback;
 * exposed for tests). */
void virtio_blk_timer_ready(void *ctx, int fd, uint32_t events);

#endif
