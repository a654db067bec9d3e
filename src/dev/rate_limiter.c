// SPDX-License-Identifier: MIT
#include "dev/rate_limiter.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define NS_PER_MS  1000000ULL
#define NS_PER_SEC 1000000000ULL

typedef unsigned __int128 u128;

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	uint64_t r;

	return ckd_add(&r, a, b) ? UINT64_MAX : r;
}

/* The time n tokens take to refill, rounded up so that no nanosecond is
 * counted for two tokens; saturates at UINT64_MAX (an excess of ~2^64 tokens
 * on a slow bucket repays for centuries). n * rate_ns < 2^128: no overflow. */
static uint64_t ns_for_tokens(const struct token_bucket *b, uint64_t n)
{
	u128 p = (u128)n * b->rate_ns;
	u128 q = p / b->rate_tokens + (p % b->rate_tokens != 0);

	return q > UINT64_MAX ? UINT64_MAX : (uint64_t)q;
}

void token_bucket_init(struct token_bucket *b, const struct token_bucket_config *cfg)
{
	uint64_t ns, g;

	memset(b, 0, sizeof(*b));
	/* Firecracker's TokenBucket::new() gives no bucket for these, the
	 * last one included (its checked_mul). */
	if (!cfg || !cfg->set || !cfg->size || !cfg->refill_time_ms ||
	    ckd_mul(&ns, cfg->refill_time_ms, NS_PER_MS))
		return;
	g = gcd(cfg->size, ns);
	b->size = cfg->size;
	b->one_time_burst = cfg->one_time_burst;
	b->refill_ns = ns;
	b->budget = cfg->size; /* starts full */
	b->rate_tokens = cfg->size / g;
	b->rate_ns = ns / g;
}

/*
 * Add the tokens accrued since last_ns. The fraction of a token not yet
 * whole stays accrued (last_ns moves on only by the time the whole tokens
 * took), as in Firecracker's auto_replenish(); unlike it, a full bucket
 * accrues nothing, so the bucket never holds more than `size`.
 */
static void refill(struct token_bucket *b, uint64_t now)
{
	uint64_t elapsed, tokens;

	if (now <= b->last_ns)
		return; /* repaying an excess, or no time passed */
	elapsed = now - b->last_ns;
	if (b->budget == b->size || elapsed >= b->refill_ns) {
		b->budget = b->size;
		b->last_ns = now;
		return;
	}
	/* elapsed < refill_ns, so tokens < size: the cast is exact. */
	tokens = (uint64_t)((u128)elapsed * b->rate_tokens / b->rate_ns);
	if (tokens >= b->size - b->budget) {
		b->budget = b->size;
		b->last_ns = now;
		return;
	}
	b->budget += tokens;
	b->last_ns += ns_for_tokens(b, tokens); /* <= elapsed */
}

/* Refill, then: how long from now until n tokens can be taken (0: now). */
static uint64_t bucket_wait(struct token_bucket *b, uint64_t now, uint64_t n)
{
	uint64_t rest, debt_left, at;

	if (!b->size || n <= b->one_time_burst)
		return 0;
	refill(b, now);
	rest = n - b->one_time_burst;
	debt_left = b->last_ns > now ? b->last_ns - now : 0;
	/* Larger than the bucket: it could never fit, so it goes as soon as
	 * any earlier excess is repaid (Firecracker's OverConsumption). */
	if (rest > b->size)
		return debt_left;
	if (!debt_left && rest <= b->budget)
		return 0;
	/* Tokens arrive from last_ns on (budget is 0 while in debt). */
	at = sat_add(b->last_ns, ns_for_tokens(b, rest - b->budget));
	return at > now ? at - now : 1;
}

/* Take n tokens that bucket_wait() just said are there. Returns the time the
 * bucket repays an excess until, or 0. */
static uint64_t bucket_take(struct token_bucket *b, uint64_t now, uint64_t n)
{
	uint64_t rest, debt;

	if (!b->size)
		return 0;
	/* The burst first, as Firecracker's reduce(); the bucket stays full
	 * (and does not refill) until the burst is gone. */
	if (n <= b->one_time_burst) {
		b->one_time_burst -= n;
		return 0;
	}
	rest = n - b->one_time_burst;
	b->one_time_burst = 0;
	if (rest <= b->budget) {
		b->budget -= rest;
		return 0;
	}
	/* rest > size: empty the bucket and owe the rest. The bucket counts
	 * no tokens until the excess has refilled, so the long-run rate stays
	 * size per refill time. */
	debt = rest - b->budget;
	b->budget = 0;
	b->last_ns = sat_add(now, ns_for_tokens(b, debt));
	return b->last_ns;
}

void rate_limiter_init(struct rate_limiter *rl, const struct rate_limiter_config *cfg)
{
	memset(rl, 0, sizeof(*rl));
	if (!cfg)
		return;
	token_bucket_init(&rl->bandwidth, &cfg->bandwidth);
	token_bucket_init(&rl->ops, &cfg->ops);
}

void rate_limiter_update(struct rate_limiter *rl, const struct rate_limiter_config *cfg)
{
	if (!cfg || (!cfg->bandwidth.set && !cfg->ops.set))
		return;
	if (cfg->bandwidth.set)
		token_bucket_init(&rl->bandwidth, &cfg->bandwidth);
	if (cfg->ops.set)
		token_bucket_init(&rl->ops, &cfg->ops);
	rl->blocked_until_ns = 0;
}

bool rate_limiter_consume(struct rate_limiter *rl, uint64_t now_ns, uint64_t bytes, uint64_t ops,
			  uint64_t *wait_ns)
{
	uint64_t wb, wo, end;

	if (now_ns < rl->blocked_until_ns) {
		*wait_ns = rl->blocked_until_ns - now_ns;
		rl->throttled++;
		return false;
	}
	/* Both buckets or neither: Firecracker takes ops first and gives them
	 * back when bytes fail (manual_replenish); checking both first has the
	 * same outcome without the give-back. */
	wb = bucket_wait(&rl->bandwidth, now_ns, bytes);
	wo = bucket_wait(&rl->ops, now_ns, ops);
	if (wb || wo) {
		*wait_ns = wb > wo ? wb : wo;
		rl->blocked_until_ns = sat_add(now_ns, *wait_ns);
		rl->throttled++;
		return false;
	}
	end = bucket_take(&rl->bandwidth, now_ns, bytes);
	wo = bucket_take(&rl->ops, now_ns, ops);
	if (wo > end)
		end = wo;
	if (end > now_ns)
		rl->blocked_until_ns = end;
	*wait_ns = 0;
	return true;
}

/* --- On a device thread: the clock and the timer. --- */

uint64_t rate_limiter_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

void rate_limiter_io_preinit(struct rate_limiter_io *io)
{
	memset(io, 0, sizeof(*io));
	io->timer_fd = -1;
}

static int open_timer(struct rate_limiter_io *io)
{
	if (io->timer_fd >= 0)
		return 0;
	io->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (io->timer_fd < 0)
		return ember_seterr(-errno, "%s: rate limiter: timerfd_create: %s", io->name,
				    strerror(errno));
	return 0;
}

int rate_limiter_io_init(struct rate_limiter_io *io, const struct rate_limiter_config *cfg,
			 const char *name)
{
	rate_limiter_io_preinit(io);
	snprintf(io->name, sizeof(io->name), "%s", name);
	rate_limiter_init(&io->rl, cfg);
	/* Now rather than at the first throttle: errors show at start-up, and
	 * the device thread needs no timerfd_create (a seccomp filter can
	 * leave it out, Firecracker's reason too). */
	return rate_limiter_enabled(&io->rl) ? open_timer(io) : 0;
}

void rate_limiter_io_attach(struct rate_limiter_io *io, struct virtio_worker *w,
			    worker_fd_cb on_timer, void *ctx)
{
	io->worker = w;
	io->on_timer = on_timer;
	io->ctx = ctx;
}

static int set_timer(struct rate_limiter_io *io, uint64_t ns)
{
	struct itimerspec its = {0};

	/* it_value 0 would disarm the timer: wait at least 1 ns. */
	if (!ns)
		ns = 1;
	its.it_value.tv_sec = (time_t)(ns / NS_PER_SEC);
	its.it_value.tv_nsec = (long)(ns % NS_PER_SEC);
	return timerfd_settime(io->timer_fd, 0, &its, NULL) < 0 ? -errno : 0;
}

int rate_limiter_io_prepare(struct rate_limiter_io *io, const struct rate_limiter_config *cfg)
{
	struct rate_limiter next = io->rl;

	rate_limiter_update(&next, cfg);
	return rate_limiter_enabled(&next) ? open_timer(io) : 0;
}

int rate_limiter_io_update(struct rate_limiter_io *io, const struct rate_limiter_config *cfg)
{
	int err = rate_limiter_io_prepare(io, cfg);

	if (err)
		return err;
	rate_limiter_update(&io->rl, cfg);
	/* A device parked on the timer re-evaluates now, on its own thread,
	 * instead of at the end of a wait the old buckets computed. */
	if (io->armed && set_timer(io, 1) < 0)
		fprintf(stderr, "ember: %s: rate limiter: timerfd_settime: %s\n", io->name,
			strerror(errno));
	return 0;
}

/* Park on the timer for ns. Negative errno if the device could not be woken. */
static int arm(struct rate_limiter_io *io, uint64_t ns)
{
	int err;

	if (io->timer_fd < 0)
		return -EBADF;
	if (io->worker && !io->watched) {
		err = worker_add_fd(io->worker, io->timer_fd, EPOLLIN, io->on_timer, io->ctx);
		if (err)
			return err;
		io->watched = true;
	}
	err = set_timer(io, ns);
	if (!err)
		io->armed = true;
	return err;
}

bool rate_limiter_io_allow(struct rate_limiter_io *io, uint64_t bytes, uint64_t ops)
{
	uint64_t wait;
	int err;

	if (!rate_limiter_enabled(&io->rl) || io->failed)
		return true;
	if (rate_limiter_consume(&io->rl, rate_limiter_now_ns(), bytes, ops, &wait))
		return true;
	err = arm(io, wait);
	if (!err)
		return false;
	/* Without a timer nothing would wake the device (a guest waiting for
	 * the reply may never notify again): serve unlimited rather than
	 * hang. Practically unreachable (the worker's fd table is full). */
	fprintf(stderr, "ember: %s: rate limiter: cannot arm its timer: %s; not limiting\n",
		io->name, strerror(-err));
	io->failed = true;
	return true;
}

void rate_limiter_io_timer_fired(struct rate_limiter_io *io)
{
	uint64_t v;

	io->armed = false;
	if (io->timer_fd >= 0)
		while (read(io->timer_fd, &v, sizeof(v)) == sizeof(v))
			;
}

void rate_limiter_io_close(struct rate_limiter_io *io)
{
	if (io->timer_fd >= 0)
		close(io->timer_fd);
	io->timer_fd = -1;
	io->armed = io->watched = false;
}
