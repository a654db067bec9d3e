/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (virtio 1.2 section 5.4): entropy from the host's getrandom(),
 * straight into the guest's buffers (at most 64 KiB a request).
 *
 * An optional rate limiter (Firecracker's, dev/rate_limiter.h) charges each
 * request 1 op and the bytes it will be given. A request that does not fit
 * goes back to the ring, and the limiter's timer resumes the queue: nothing
 * polls.
 */
#ifndef EMBER_DEV_VIRTIO_RNG_H
#define EMBER_DEV_VIRTIO_RNG_H

#include <stdint.h>

#include "config.h"
#include "dev/rate_limiter.h"
#include "vm_virtio.h"

/* Firecracker's entropy metrics (its names, rng/metrics.rs), for the metrics
 * writer; bumped with counter_add(). */
struct virtio_rng_metrics {
	_Atomic uint64_t entropy_event_count; /* requests served */
	_Atomic uint64_t entropy_bytes;	      /* bytes given to the guest */
	_Atomic uint64_t host_rng_fails;      /* getrandom() failed */
	_Atomic uint64_t entropy_rate_limiter_throttled;
	_Atomic uint64_t rate_limiter_event_count; /* the limiter's timer fired */
};

struct virtio_rng {
	struct virtio_dev *dev;
	struct rate_limiter_io rl; /* guarded by dev's lock */
	struct virtio_rng_metrics m;
	struct vq_chain chain; /* the request being served (device thread) */
};

/* arg: const struct rng_config * (its rate limiter). */
int virtio_rng_create(struct vm_virtio *s, const struct guest_mem *mem, const void *arg);

/* Fill r for cfg (without a virtio_dev: the caller sets r->dev); the ops
 * for virtio_init(). 0 or negative errno with a message; close() then. */
int virtio_rng_setup(struct virtio_rng *r, const struct rng_config *cfg);
void virtio_rng_close(struct virtio_rng *r);
extern const struct virtio_dev_ops virtio_rng_ops;

/* Serve queue 0 of a live device (exposed for tests). */
void virtio_rng_notify(struct virtio_dev *d, unsigned q);

/* Replace the limiter's buckets at run time, from any thread (as
 * virtio_blk_set_rate_limiter()). 0 or negative errno, limiter unchanged. */
int virtio_rng_set_rate_limiter(struct virtio_rng *r, const struct rate_limiter_config *cfg);

/* The limiter's timer fired: serve the queue again (worker callback;
 * exposed for tests). */
void virtio_rng_timer_ready(void *ctx, int fd, uint32_t events);

#endif
