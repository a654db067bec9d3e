/* SPDX-License-Identifier: MIT */
/*
 * Firecracker's I/O rate limiter (src/vmm/src/rate_limiter/mod.rs, v1.16):
 * two token buckets, bandwidth (bytes) and ops (operations), each optional.
 *
 * A bucket holds at most `size` tokens and refills at size per refill time,
 * continuously. It starts full, and `one_time_burst` extra tokens are spent
 * before the bucket itself and never come back. A bucket with size 0 or
 * refill time 0 limits nothing. An operation takes its tokens from both
 * buckets or from neither; when one bucket lacks tokens the limiter refuses
 * and says how long to wait, and it then refuses everything until that time
 * ("blocked", Firecracker's is_blocked()). An operation larger than a bucket
 * could never fit: it is let through at once, empties the bucket, and blocks
 * the limiter for as long as the bucket needs to refill the excess.
 *
 * The limiter is pure: time is nanoseconds passed in by the caller, so tests
 * control it. The caller serialises calls (a device keeps it under its
 * lock). The arithmetic is overflow-safe for any u64 size and refill time.
 *
 * struct rate_limiter_io below adds what a device thread needs: the clock and
 * a timerfd armed for the end of the wait, watched by the device's worker.
 */
#ifndef EMBER_DEV_RATE_LIMITER_H
#define EMBER_DEV_RATE_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "dev/virtio_worker.h"

struct token_bucket {
	uint64_t size;		 /* tokens when full; 0: no bucket, no limit */
	uint64_t one_time_burst; /* what is left of the initial extra budget */
	uint64_t refill_ns;	 /* time to refill an empty bucket */
	uint64_t budget;	 /* tokens in the bucket, <= size */
	/* Tokens are counted up to this time. Past `now` while the bucket
	 * repays an operation larger than itself. */
	uint64_t last_ns;
	/* size / refill_ns reduced by their gcd (Firecracker's processed_*):
	 * the refill rate as a fraction whose products fit in 128 bits. */
	uint64_t rate_tokens, rate_ns;
};

struct rate_limiter {
	struct token_bucket bandwidth, ops;
	uint64_t blocked_until_ns; /* every consume before this is refused */
	uint64_t throttled;	   /* refused consumes (throttled events) */
};

/* A full bucket from cfg, or no bucket if !cfg->set, size or refill time is
 * 0, or the refill time in ns does not fit in 64 bits (as Firecracker's
 * TokenBucket::new returning None). */
void token_bucket_init(struct token_bucket *b, const struct token_bucket_config *cfg);

void rate_limiter_init(struct rate_limiter *rl, const struct rate_limiter_config *cfg);

/*
 * A runtime update (Firecracker's PATCH, update_buckets()): a bucket whose
 * config is not `set` is left as it is, budget and all; a set one with size
 * or refill time 0 is removed; any other replaces the bucket with a new,
 * full one whose one_time_burst is available again. A block in force ends:
 * the next consume re-evaluates the new buckets at once (a bucket left
 * unchanged still repays its own excess).
 */
void rate_limiter_update(struct rate_limiter *rl, const struct rate_limiter_config *cfg);

/* Is any bucket configured? No clock is needed to answer. */
static inline bool rate_limiter_enabled(const struct rate_limiter *rl)
{
	return rl->bandwidth.size || rl->ops.size;
}

/*
 * At time now_ns, take `bytes` bandwidth tokens and `ops` ops tokens.
 * Returns true when the operation may go ahead (*wait_ns = 0), or false with
 * *wait_ns >= 1: the time after which the same operation fits. Nothing is
 * taken from either bucket on false, and the refusal is counted.
 */
bool rate_limiter_consume(struct rate_limiter *rl, uint64_t now_ns, uint64_t bytes, uint64_t ops,
			  uint64_t *wait_ns);

/* Does the limiter refuse everything at now_ns? */
static inline bool rate_limiter_blocked(const struct rate_limiter *rl, uint64_t now_ns)
{
	return now_ns < rl->blocked_until_ns;
}

/* CLOCK_MONOTONIC in ns: the clock rate_limiter_io and its timerfd use. */
uint64_t rate_limiter_now_ns(void);

/*
 * A limiter on a device thread. While throttled, the device stops taking
 * requests, and the timerfd, armed for the end of the wait, wakes its worker,
 * which calls on_timer(ctx, fd, events); the device then calls
 * rate_limiter_io_timer_fired() and serves its queue again. Nothing polls.
 *
 * The timerfd exists only once a bucket is configured (at init or by an
 * update), and is added to the worker's epoll set the first time it is
 * armed (from the worker thread: the worker does not exist yet when a device
 * is created). Without a bucket, allow() reads no clock.
 *
 * Except for init and close, calls are serialised by the device's lock.
 */
struct rate_limiter_io {
	struct rate_limiter rl;
	int timer_fd;		      /* -1: none */
	bool armed;		      /* the timer is set */
	bool watched;		      /* timer_fd is in the worker's epoll set */
	bool failed;		      /* watching failed: reported once, the limit is off */
	struct virtio_worker *worker; /* NULL: the caller polls timer_fd (tests) */
	worker_fd_cb on_timer;
	void *ctx;
	char name[40]; /* for messages: "virtio-blk rootfs" */
};

/* Before anything can fail: close() is then safe. */
void rate_limiter_io_preinit(struct rate_limiter_io *io);

/* Init from cfg; creates the timerfd if a bucket is configured. 0 or
 * negative errno with a message naming `name`. */
int rate_limiter_io_init(struct rate_limiter_io *io, const struct rate_limiter_config *cfg,
			 const char *name);

/* Who watches the timer and whom it wakes (set once the worker exists). */
void rate_limiter_io_attach(struct rate_limiter_io *io, struct virtio_worker *w,
			    worker_fd_cb on_timer, void *ctx);

/* What can fail in an update: create the timerfd if cfg brings the first
 * bucket. 0 or negative errno with a message. */
int rate_limiter_io_prepare(struct rate_limiter_io *io, const struct rate_limiter_config *cfg);

/* rate_limiter_io_prepare(), then rate_limiter_update() (on error the
 * limiter is unchanged). A device parked on the timer is woken at once, on
 * its own thread, to re-evaluate with the new buckets. */
int rate_limiter_io_update(struct rate_limiter_io *io, const struct rate_limiter_config *cfg);

/* May an operation of `bytes` and `ops` go ahead now? false: throttled, and
 * the timer is armed for when it fits. */
bool rate_limiter_io_allow(struct rate_limiter_io *io, uint64_t bytes, uint64_t ops);

/* The timer fired (or may have): consume its expirations. */
void rate_limiter_io_timer_fired(struct rate_limiter_io *io);

/* Close the timerfd; the worker must be stopped (or never have watched it). */
void rate_limiter_io_close(struct rate_limiter_io *io);

#endif
