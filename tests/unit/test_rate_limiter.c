// SPDX-License-Identifier: MIT
/*
 * The token buckets over simulated time (ns passed in), then the timerfd
 * helper and virtio-rng over a fake ring with the real clock. The block and
 * net devices' throttling is tested in test_virtio_blk.c / test_virtio_net.c.
 */
#include <poll.h>
#include <stdlib.h>

#include "config.h"
#include "dev/rate_limiter.h"
#include "dev/virtio_rng.h"
#include "harness.h"
#include "util.h"

#define MS  1000000ULL
#define SEC 1000000000ULL
#define T0  (5 * SEC) /* any start: the buckets need no clock to start */

static struct token_bucket_config tb(uint64_t size, uint64_t burst, uint64_t refill_ms)
{
	return (struct token_bucket_config){true, size, burst, refill_ms};
}

static struct rate_limiter_config bw_only(uint64_t size, uint64_t burst, uint64_t refill_ms)
{
	return (struct rate_limiter_config){.bandwidth = tb(size, burst, refill_ms)};
}

/* consume() that must succeed / must fail with exactly `wait`. */
static bool take(struct rate_limiter *rl, uint64_t now, uint64_t bytes, uint64_t ops)
{
	uint64_t w = 12345;
	bool ok = rate_limiter_consume(rl, now, bytes, ops, &w);

	CHECK_EQ(ok ? w : 0, 0);
	return ok;
}

static uint64_t refused(struct rate_limiter *rl, uint64_t now, uint64_t bytes, uint64_t ops)
{
	uint64_t w = 0;

	CHECK(!rate_limiter_consume(rl, now, bytes, ops, &w));
	CHECK(w >= 1);
	return w;
}

TEST(no_limit_configs)
{
	struct rate_limiter_config cfgs[] = {
	    {.ops = {0}},				      /* nothing set */
	    {.bandwidth = {false, 100, 0, 100}},	      /* not set */
	    {.bandwidth = tb(0, 0, 100), .ops = tb(0, 5, 1)}, /* size 0 */
	    {.bandwidth = tb(100, 0, 0), .ops = tb(1, 0, 0)}, /* refill 0 */
	    /* refill_time in ns overflows u64: Firecracker's new() says None */
	    {.bandwidth = tb(100, 0, UINT64_MAX / MS + 1)},
	};
	struct rate_limiter rl;

	for (unsigned i = 0; i < ARRAY_SIZE(cfgs); i++) {
		rate_limiter_init(&rl, &cfgs[i]);
		CHECK(!rate_limiter_enabled(&rl));
		for (unsigned k = 0; k < 3; k++)
			CHECK(take(&rl, T0, UINT64_MAX, UINT64_MAX));
		CHECK_EQ(rl.throttled, 0);
	}
	rate_limiter_init(&rl, NULL);
	CHECK(!rate_limiter_enabled(&rl));
	CHECK(take(&rl, 0, 1, 1));
}

/* 1000 tokens per second, 1 per ms: starts full, refills continuously. */
TEST(bucket_refills_over_time)
{
	struct rate_limiter_config cfg = bw_only(1000, 0, 1000);
	struct rate_limiter rl;
	uint64_t t = T0;

	rate_limiter_init(&rl, &cfg);
	CHECK(rate_limiter_enabled(&rl));
	CHECK(take(&rl, t, 1000, 0)); /* full at start */
	CHECK_EQ(refused(&rl, t, 1, 0), 1 * MS);
	CHECK(rate_limiter_blocked(&rl, t));
	CHECK_EQ(refused(&rl, t + MS / 2, 1, 0), MS / 2); /* still blocked */
	CHECK(!rate_limiter_blocked(&rl, t + MS));
	CHECK(take(&rl, t + MS, 1, 0));
	t += MS;
	CHECK_EQ(refused(&rl, t, 500, 0), 500 * MS);
	CHECK(take(&rl, t + 500 * MS, 500, 0));
	t += 500 * MS;
	/* Half the bucket back after half the refill time. */
	CHECK(take(&rl, t + 500 * MS, 500, 0));
	t += 500 * MS;
	CHECK_EQ(refused(&rl, t, 1, 0), 1 * MS);
	/* Idle for a minute: full, never more than full. */
	t += 60 * SEC;
	CHECK(take(&rl, t, 1000, 0));
	CHECK_EQ(refused(&rl, t, 1, 0), 1 * MS);
	CHECK_EQ(rl.throttled, 5);
}

/* 3 tokens per 10 ms: a token every 3333334 ns (its time rounded up, as
 * Firecracker's, so no nanosecond counts twice). The fraction of a token
 * accrued carries over: consumes at odd times lose nothing. */
TEST(fractions_of_tokens_carry_over)
{
	struct rate_limiter_config cfg = bw_only(3, 0, 10);
	struct rate_limiter rl;
	uint64_t w;

	rate_limiter_init(&rl, &cfg);
	CHECK(take(&rl, T0, 3, 0));
	CHECK_EQ(refused(&rl, T0 + 3333333, 1, 0), 1);
	/* At 5 ms, 1.5 tokens: one taken, half a token kept... */
	CHECK(take(&rl, T0 + 5 * MS, 1, 0));
	/* ...so the next is whole at 2 x 3333334 ns, not at 5 + 3.33 ms. */
	CHECK_EQ(refused(&rl, T0 + 6666667, 1, 0), 1);
	CHECK(take(&rl, T0 + 6666668, 1, 0));
	/* Polls 1 us apart in between neither gain nor lose. */
	for (uint64_t t = T0 + 6666668; t < T0 + 9999000; t += 1000) {
		rl.blocked_until_ns = 0; /* look at the bucket, not the block */
		CHECK(!rate_limiter_consume(&rl, t, 1, 0, &w));
	}
	rl.blocked_until_ns = 0;
	CHECK(take(&rl, T0 + 6666668 + 3333334, 1, 0));
}

TEST(one_time_burst_first_never_refilled)
{
	struct rate_limiter_config cfg = bw_only(100, 1000, 100);
	struct rate_limiter rl;
	uint64_t t = T0;

	rate_limiter_init(&rl, &cfg);
	CHECK(take(&rl, t, 600, 0));
	CHECK_EQ(rl.bandwidth.one_time_burst, 400);
	CHECK_EQ(rl.bandwidth.budget, 100); /* untouched while the burst lasts */
	/* 400 of the burst and 50 of the bucket. */
	CHECK(take(&rl, t, 450, 0));
	CHECK_EQ(rl.bandwidth.one_time_burst, 0);
	CHECK_EQ(rl.bandwidth.budget, 50);
	CHECK(take(&rl, t, 50, 0));
	CHECK_EQ(refused(&rl, t, 1, 0), 1 * MS);
	/* Long idle: the bucket is full again, the burst is gone for good. */
	t += 3600 * SEC;
	CHECK(take(&rl, t, 100, 0));
	CHECK_EQ(refused(&rl, t, 1, 0), 1 * MS);
	CHECK_EQ(rl.bandwidth.one_time_burst, 0);
}

/* An operation takes from both buckets or from neither: a refusal by one
 * leaves the other's budget and burst alone (Firecracker gives back with
 * manual_replenish). The wait is the longer of the two. */
TEST(both_buckets_or_neither)
{
	struct rate_limiter_config cfg = {.bandwidth = tb(1000, 500, 1000), .ops = tb(2, 0, 1000)};
	struct rate_limiter rl;

	rate_limiter_init(&rl, &cfg);
	CHECK(take(&rl, T0, 100, 1));
	CHECK(take(&rl, T0, 100, 1));
	CHECK_EQ(rl.bandwidth.one_time_burst, 300);
	CHECK_EQ(refused(&rl, T0, 100, 1), 500 * MS); /* an op every 500 ms */
	CHECK_EQ(rl.bandwidth.one_time_burst, 300);
	CHECK(take(&rl, T0 + 500 * MS, 1300, 1)); /* burst 300 + bucket 1000 */
	/* Ops would be back in 500 ms, 1000 bytes in 1000 ms: the longer. */
	CHECK_EQ(refused(&rl, T0 + 500 * MS, 1000, 1), 1000 * MS);
	CHECK_EQ(rl.ops.budget, 0);
	/* Zero tokens of a kind are always there. */
	rate_limiter_init(&rl, &cfg);
	CHECK(take(&rl, T0, 0, 2));
	CHECK_EQ(refused(&rl, T0, 0, 1), 500 * MS);
}

/* Firecracker's is_blocked(): after a refusal, everything is refused until
 * the refused operation would fit, even one that fits now. */
TEST(blocked_limiter_refuses_everything)
{
	struct rate_limiter_config cfg = bw_only(1000, 0, 1000);
	struct rate_limiter rl;

	rate_limiter_init(&rl, &cfg);
	CHECK(take(&rl, T0, 500, 0));
	CHECK_EQ(refused(&rl, T0, 800, 0), 300 * MS);
	CHECK_EQ(refused(&rl, T0 + 100 * MS, 1, 0), 200 * MS);
	CHECK_EQ(rl.throttled, 2);
	CHECK(take(&rl, T0 + 300 * MS, 800, 0));
}

/*
 * Larger than the bucket: it could never fit, so it goes at once, empties the
 * bucket and owes the rest, and the limiter stays blocked while the excess
 * refills (Firecracker's OverConsumption). The bucket then starts from empty:
 * the long-run rate stays 1 token per ms.
 */
TEST(request_larger_than_the_bucket)
{
	struct rate_limiter_config cfg = bw_only(1000, 0, 1000);
	struct rate_limiter rl;
	uint64_t t = T0, w;
	unsigned grants = 0;

	rate_limiter_init(&rl, &cfg);
	CHECK(take(&rl, t, 3000, 0)); /* 1000 in the bucket, 2000 owed */
	CHECK_EQ(refused(&rl, t + MS, 1, 0), 1999 * MS);
	CHECK_EQ(refused(&rl, t + 2000 * MS, 1, 0), 1 * MS); /* repaid, empty */
	CHECK(take(&rl, t + 2001 * MS, 1, 0));

	/* Back to back: each 3000-token operation waits for the previous
	 * one's excess, then owes its own 3000. */
	rate_limiter_init(&rl, &cfg);
	while (grants < 10) {
		if (rate_limiter_consume(&rl, t, 3000, 0, &w))
			grants++;
		else
			t += w;
	}
	/* Grant 1 at T0 (owes 2000), grant k at T0 + 2000 + 3000 (k - 2) ms. */
	CHECK_EQ(t - T0, 26000 * MS);
	CHECK_EQ(refused(&rl, t, 3000, 0), 3000 * MS);

	/* An operation exactly the size of the bucket is an ordinary one. */
	rate_limiter_init(&rl, &cfg);
	CHECK(take(&rl, T0, 1000, 0));
	CHECK_EQ(refused(&rl, T0, 1000, 0), 1000 * MS);

	/* A burst counts towards what fits: 1200 = 300 burst + 900 bucket. */
	cfg = bw_only(1000, 300, 1000);
	rate_limiter_init(&rl, &cfg);
	CHECK(take(&rl, T0, 1200, 0));
	CHECK_EQ(rl.bandwidth.budget, 100);
	CHECK(!rate_limiter_blocked(&rl, T0));
}

TEST(update_one_bucket_both_or_removal)
{
	struct rate_limiter_config cfg = {.bandwidth = tb(1000, 200, 1000), .ops = tb(10, 0, 1000)};
	struct rate_limiter_config upd = {0};
	struct rate_limiter rl;

	rate_limiter_init(&rl, &cfg);
	CHECK(take(&rl, T0, 1200, 10));
	CHECK_EQ(refused(&rl, T0, 1, 1), 100 * MS);

	/* Nothing set: nothing changes, the block stays. */
	rate_limiter_update(&rl, &upd);
	CHECK(rate_limiter_blocked(&rl, T0));

	/* Only ops: a new, full bucket at once; bandwidth keeps its state
	 * (empty, no burst). */
	upd.ops = tb(5, 1, 1000);
	rate_limiter_update(&rl, &upd);
	CHECK(!rate_limiter_blocked(&rl, T0));
	CHECK_EQ(rl.ops.budget, 5);
	CHECK_EQ(rl.ops.one_time_burst, 1);
	CHECK_EQ(rl.bandwidth.budget, 0);
	CHECK_EQ(rl.bandwidth.one_time_burst, 0);
	CHECK_EQ(refused(&rl, T0, 1, 1), 1 * MS);

	/* Both: the bandwidth burst is there again (PATCH gives a new bucket). */
	upd = cfg;
	rate_limiter_update(&rl, &upd);
	CHECK(take(&rl, T0, 1200, 10));
	CHECK_EQ(refused(&rl, T0, 0, 1), 100 * MS);

	/* Removal: size 0 (and refill 0), as Firecracker's docs show. */
	upd = (struct rate_limiter_config){.ops = tb(0, 0, 0)};
	rate_limiter_update(&rl, &upd);
	CHECK(rate_limiter_enabled(&rl));
	CHECK(take(&rl, T0, 0, 1000));
	CHECK_EQ(refused(&rl, T0, 1, 0), 1 * MS); /* bandwidth still empty */
	upd = (struct rate_limiter_config){.bandwidth = tb(1000, 0, 0)};
	rate_limiter_update(&rl, &upd);
	CHECK(!rate_limiter_enabled(&rl));
	CHECK(take(&rl, T0, UINT64_MAX, UINT64_MAX));

	/* An unchanged bucket still repays its excess after an update of
	 * the other one. */
	cfg = bw_only(1000, 0, 1000);
	rate_limiter_init(&rl, &cfg);
	CHECK(take(&rl, T0, 5000, 0)); /* owes 4000 ms */
	upd = (struct rate_limiter_config){.ops = tb(10, 0, 1000)};
	rate_limiter_update(&rl, &upd);
	CHECK(!rate_limiter_blocked(&rl, T0));
	CHECK_EQ(refused(&rl, T0 + 1000 * MS, 1, 1), 3001 * MS);
	rl.blocked_until_ns = 0;
	/* Another oversized one goes only once the first is repaid. */
	CHECK_EQ(refused(&rl, T0 + 1000 * MS, 5000, 0), 3000 * MS);
	CHECK(take(&rl, T0 + 4000 * MS, 5000, 0));
	CHECK_EQ(refused(&rl, T0 + 4000 * MS, 1, 1), 5000 * MS);
}

TEST(overflow_edges)
{
	struct rate_limiter_config cfg = bw_only(UINT64_MAX, UINT64_MAX, 1);
	struct rate_limiter rl;
	uint64_t w;

	/* u64 sizes, 1 ms refill: gcd-reduced products stay in 128 bits. */
	rate_limiter_init(&rl, &cfg);
	CHECK(take(&rl, T0, UINT64_MAX, 0)); /* the burst */
	CHECK(take(&rl, T0, UINT64_MAX, 0)); /* the bucket */
	CHECK_EQ(refused(&rl, T0, 1, 0), 1); /* ~1.8e13 tokens per ns */
	CHECK(take(&rl, T0 + 1, 1000, 0));
	w = refused(&rl, T0 + 1, UINT64_MAX, 0); /* ~1.8e13 tokens short of full */
	CHECK(w <= MS && w >= MS - 2);
	CHECK(take(&rl, T0 + 1 + MS, UINT64_MAX, 0));
	/* Half the refill time gives half the tokens, without overflow. */
	CHECK(take(&rl, T0 + 1 + MS + MS / 2, UINT64_MAX / 2, 0));
	CHECK(rl.bandwidth.budget <= rl.bandwidth.size);

	/* The longest refill time whose ns fit in 64 bits. */
	cfg = bw_only(1, 0, UINT64_MAX / MS);
	rate_limiter_init(&rl, &cfg);
	CHECK(rate_limiter_enabled(&rl));
	CHECK(take(&rl, 0, 1, 0));
	CHECK_EQ(refused(&rl, 0, 1, 0), UINT64_MAX / MS * MS);

	/* An excess that would take longer than 2^64 ns: blocked to the end
	 * of time, no wrap. */
	cfg = bw_only(1, 0, 1000);
	rate_limiter_init(&rl, &cfg);
	CHECK(take(&rl, T0, UINT64_MAX, 0));
	CHECK_EQ(rl.blocked_until_ns, UINT64_MAX);
	CHECK_EQ(refused(&rl, T0 + 1, 1, 0), UINT64_MAX - T0 - 1);
	CHECK(!rate_limiter_consume(&rl, UINT64_MAX - 1, 0, 0, &w));
	CHECK_EQ(w, 1);

	/* Size u64 max with a 1 s refill: drained, then refilled in steps
	 * whose sum would overflow a naive budget + tokens. */
	cfg = bw_only(UINT64_MAX, 0, 1000);
	rate_limiter_init(&rl, &cfg);
	CHECK(take(&rl, T0, UINT64_MAX, 0));
	for (unsigned i = 1; i <= 3; i++) {
		rl.blocked_until_ns = 0;
		CHECK(!rate_limiter_consume(&rl, T0 + i * 300 * MS, UINT64_MAX, 0, &w));
		CHECK(rl.bandwidth.budget >= UINT64_MAX / 10 * 3 * i - 4);
		CHECK(rl.bandwidth.budget <= UINT64_MAX / 10 * 3 * i + 4);
	}
	rl.blocked_until_ns = 0;
	CHECK(take(&rl, T0 + 1200 * MS, UINT64_MAX, 0)); /* 0.9 + 0.3: full, capped */

	/* Time that does not move, or moves back, refills nothing. */
	cfg = bw_only(10, 0, 10);
	rate_limiter_init(&rl, &cfg);
	CHECK(take(&rl, T0, 10, 0));
	CHECK(!rate_limiter_consume(&rl, T0 - SEC, 1, 0, &w));
	CHECK(w >= 1);
}

/* The timerfd helper with the real clock, no worker: the test polls. */
static bool fires_within(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1;
}

TEST(io_timer_arms_and_updates)
{
	struct rate_limiter_config cfg = {.ops = tb(1, 0, 50)};
	struct rate_limiter_config none = {0};
	struct rate_limiter_io io;
	uint64_t t;

	/* No bucket, no timerfd. */
	CHECK_EQ(rate_limiter_io_init(&io, &none, "test"), 0);
	CHECK_EQ(io.timer_fd, -1);
	CHECK(rate_limiter_io_allow(&io, UINT64_MAX, UINT64_MAX));
	rate_limiter_io_close(&io);

	CHECK_EQ(rate_limiter_io_init(&io, &cfg, "test"), 0);
	CHECK(io.timer_fd >= 0);
	CHECK(rate_limiter_io_allow(&io, 0, 1));
	t = rate_limiter_now_ns();
	CHECK(!rate_limiter_io_allow(&io, 0, 1));
	CHECK(io.armed);
	CHECK(!fires_within(io.timer_fd, 0));
	CHECK(fires_within(io.timer_fd, 2000));
	CHECK(rate_limiter_now_ns() - t >= 40 * MS); /* it waited for the token */
	rate_limiter_io_timer_fired(&io);
	CHECK(!io.armed);
	CHECK(rate_limiter_io_allow(&io, 0, 1));

	/* Parked for an hour; an update wakes the device at once. */
	cfg.ops = tb(1, 0, 3600 * 1000);
	CHECK_EQ(rate_limiter_io_update(&io, &cfg), 0);
	CHECK(rate_limiter_io_allow(&io, 0, 1));
	CHECK(!rate_limiter_io_allow(&io, 0, 1));
	CHECK(!fires_within(io.timer_fd, 20));
	cfg.ops = tb(0, 0, 0);
	CHECK_EQ(rate_limiter_io_update(&io, &cfg), 0);
	CHECK(fires_within(io.timer_fd, 1000));
	rate_limiter_io_timer_fired(&io);
	CHECK(rate_limiter_io_allow(&io, 0, 1000));
	CHECK_EQ(io.rl.throttled, 2);
	rate_limiter_io_close(&io);

	/* The first bucket arriving by update brings the timerfd. */
	CHECK_EQ(rate_limiter_io_init(&io, NULL, "test"), 0);
	CHECK_EQ(io.timer_fd, -1);
	cfg = bw_only(10, 0, 1000);
	CHECK_EQ(rate_limiter_io_update(&io, &cfg), 0);
	CHECK(io.timer_fd >= 0);
	CHECK(rate_limiter_io_allow(&io, 11, 0)); /* larger than the bucket: goes */
	CHECK(!rate_limiter_io_allow(&io, 1, 0));
	CHECK(io.armed);
	rate_limiter_io_close(&io);
	CHECK_EQ(io.timer_fd, -1);
}

/* virtio-rng over a one-queue fake ring: each request costs 1 op and the
 * bytes it gets; a throttled request waits in the ring for the timer. */
#define RQ	 8
#define RNG_RAM	 0x20000
#define RNG_DATA 0x8000
static uint8_t rram[RNG_RAM];

static void rng_req(unsigned i, uint32_t len)
{
	uint8_t *d = rram + 0x1000 + 16 * i, *avail = rram + 0x1200;
	uint16_t idx = get_le16(avail + 2);

	put_le64(d, RNG_DATA + 0x1000 * (uint64_t)i);
	put_le32(d + 8, len);
	put_le16(d + 12, VIRTQ_DESC_F_WRITE);
	put_le16(avail + 4 + 2 * (idx % RQ), (uint16_t)i);
	put_le16(avail + 2, (uint16_t)(idx + 1));
}

static uint16_t rng_used(void)
{
	return get_le16(rram + 0x1400 + 2);
}

TEST(rng_throttles_and_resumes)
{
	struct rng_config cfg = {.enabled = true,
				 .rl = {.bandwidth = tb(64, 0, 100), .ops = tb(2, 0, 100)}};
	struct rate_limiter_config off = {.bandwidth = tb(0, 0, 0), .ops = tb(0, 0, 0)};
	struct guest_mem gm;
	struct virtio_dev dev;
	struct virtio_rng rng;

	memset(rram, 0, sizeof(rram));
	guest_mem_init_buf(&gm, rram, sizeof(rram));
	CHECK_EQ(virtio_rng_setup(&rng, &cfg), 0);
	virtio_init(&dev, &virtio_rng_ops, &rng, &gm);
	rng.dev = &dev;
	dev.driver_features = VIRTIO_F_VERSION_1;
	dev.queues[0].ready = true;
	CHECK_EQ(vq_setup(&dev.queues[0].vq, &gm, RQ, 256, 0x1000, 0x1200, 0x1400, false), 0);
	dev.live = true;

	rng_req(0, 32);
	rng_req(1, 32);
	rng_req(2, 16); /* the third op: throttled */
	virtio_rng_notify(&dev, 0);
	CHECK_EQ(rng_used(), 2);
	CHECK_EQ(rng.m.entropy_bytes, 64);
	CHECK_EQ(rng.m.entropy_rate_limiter_throttled, 1);
	CHECK(rng.rl.armed);
	virtio_rng_notify(&dev, 0); /* a guest kick while blocked serves nothing */
	CHECK_EQ(rng_used(), 2);
	CHECK_EQ(rng.m.entropy_rate_limiter_throttled, 2);
	CHECK(fires_within(rng.rl.timer_fd, 2000));
	virtio_rng_timer_ready(&rng, rng.rl.timer_fd, POLLIN);
	CHECK_EQ(rng_used(), 3);
	CHECK_EQ(get_le32(rram + 0x1400 + 4 + 8 * 2), 2);      /* id */
	CHECK_EQ(get_le32(rram + 0x1400 + 4 + 8 * 2 + 4), 16); /* len */
	CHECK_EQ(rng.m.entropy_event_count, 3);
	CHECK_EQ(rng.m.rate_limiter_event_count, 1);

	/* Limits removed at run time: requests go at once. */
	CHECK_EQ(virtio_rng_set_rate_limiter(&rng, &off), 0);
	for (unsigned i = 0; i < 4; i++)
		rng_req(3 + i, 0x1000);
	virtio_rng_notify(&dev, 0);
	CHECK_EQ(rng_used(), 7);
	CHECK_EQ(rng.m.entropy_bytes, 64 + 16 + 4 * 0x1000);
	/* A buffer over the 64 KiB cap is charged the 64 KiB it gets: it
	 * empties a 64 KiB bucket exactly, no more (or it would owe). */
	cfg.rl = bw_only(0x10000, 0, 1000);
	CHECK_EQ(virtio_rng_set_rate_limiter(&rng, &cfg.rl), 0);
	rng_req(7, 0x11000);
	virtio_rng_notify(&dev, 0);
	CHECK_EQ(rng_used(), 8);
	CHECK_EQ(get_le32(rram + 0x1400 + 4 + 8 * 7 + 4), 0x10000);
	CHECK_EQ(rng.rl.rl.bandwidth.budget, 0);
	CHECK_EQ(rng.rl.rl.blocked_until_ns, 0);
	virtio_rng_close(&rng);
	virtio_destroy(&dev);
}

SUITE(rate_limiter, T(no_limit_configs), T(bucket_refills_over_time),
      T(fractions_of_tokens_carry_over), T(one_time_burst_first_never_refilled),
      T(both_buckets_or_neither), T(blocked_limiter_refuses_everything),
      T(request_larger_than_the_bucket), T(update_one_bucket_both_or_removal), T(overflow_edges),
      T(io_timer_arms_and_updates), T(rng_throttles_and_resumes));
