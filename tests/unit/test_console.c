// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "console.h"
#include "console_out.h"
#include "harness.h"

TEST(escape_sequences)
{
	struct console c = { .tty = true };
	uint8_t b[16];
	bool quit;
	size_t n;

	memcpy(b,
	       "ab\x01\x01"
	       "c",
	       5);
	n = console_filter(&c, b, 5, &quit);
	CHECK_EQ(n, 4);
	CHECK(memcmp(b,
		     "ab\x01"
		     "c",
		     4) == 0);
	CHECK(!quit);
	/* Ctrl-A split across reads, then x. */
	b[0] = 0x01;
	CHECK_EQ(console_filter(&c, b, 1, &quit), 0);
	CHECK(!quit);
	memcpy(b, "xyz", 3);
	n = console_filter(&c, b, 3, &quit);
	CHECK(quit);
	CHECK_EQ(n, 0);
	/* Bytes before the quit still go to the guest. */
	memcpy(b, "ok\x01x", 4);
	n = console_filter(&c, b, 4, &quit);
	CHECK(quit);
	CHECK_EQ(n, 2);
	/* Another key after Ctrl-A is swallowed. */
	memcpy(b, "\x01q1", 3);
	n = console_filter(&c, b, 3, &quit);
	CHECK(!quit);
	CHECK_EQ(n, 1);
	CHECK_EQ(b[0], '1');
}

TEST(no_escapes_without_tty)
{
	struct console c = { .tty = false };
	uint8_t b[4] = { 0x01, 'x', 0x01, 0x01 };
	bool quit;

	CHECK_EQ(console_filter(&c, b, 4, &quit), 4);
	CHECK(!quit);
	CHECK_EQ(b[1], 'x');
}

TEST(out_ring_wraps_and_drops)
{
	uint8_t mem[8];
	struct out_ring r = { .buf = mem, .cap = sizeof(mem) };
	const uint8_t *p;

	CHECK_EQ(out_ring_put(&r, (const uint8_t *)"abcde", 5), 0);
	out_ring_drop(&r, 3);
	CHECK_EQ(out_ring_put(&r, (const uint8_t *)"fghijk", 6), 0);
	CHECK_EQ(r.len, 8);
	/* Full: the rest is refused, not written over the oldest. */
	CHECK_EQ(out_ring_put(&r, (const uint8_t *)"XY", 2), 2);
	CHECK_EQ(out_ring_peek(&r, &p), 5);
	CHECK(memcmp(p, "defgh", 5) == 0);
	out_ring_drop(&r, 5);
	CHECK_EQ(out_ring_peek(&r, &p), 3);
	CHECK(memcmp(p, "ijk", 3) == 0);
	out_ring_drop(&r, 99);
	CHECK_EQ(r.len, 0);
	CHECK_EQ(out_ring_peek(&r, &p), 0);
}

TEST(console_out_writes_in_order)
{
	struct console_out o;
	int fds[2];
	char got[16] = { 0 };

	CHECK(pipe(fds) == 0);
	CHECK_EQ(console_out_start(&o, fds[1]), 0);
	CHECK_EQ(console_out_put(&o, (const uint8_t *)"hel", 3), 0);
	CHECK_EQ(console_out_put(&o, (const uint8_t *)"lo", 2), 0);
	console_out_stop(&o, 1000);
	CHECK_EQ(read(fds[0], got, sizeof(got)), 5);
	CHECK(strcmp(got, "hello") == 0);
	CHECK_EQ(atomic_load(&o.written), 5);
	CHECK_EQ(atomic_load(&o.dropped), 0);
	close(fds[0]);
	close(fds[1]);
}

/* A pipe nobody reads: put never waits, the excess is dropped and counted,
 * and the stop returns although a write blocks (it is interrupted). */
TEST(console_out_stalled_reader)
{
	static uint8_t chunk[4096];
	struct console_out o;
	uint64_t total = 0, dropped = 0;
	int fds[2];

	CHECK(pipe(fds) == 0);
	fcntl(fds[1], F_SETPIPE_SZ, 4096);
	memset(chunk, 'x', sizeof(chunk));
	CHECK_EQ(console_out_start(&o, fds[1]), 0);
	for (int i = 0; i < 64; i++) {
		dropped += console_out_put(&o, chunk, sizeof(chunk));
		total += sizeof(chunk);
	}
	CHECK(dropped >= total - CONSOLE_OUT_SIZE - 65536);
	console_out_stop(&o, 20);
	CHECK_EQ(atomic_load(&o.written) + atomic_load(&o.dropped), total);
	close(fds[0]);
	close(fds[1]);
}

/* The reader goes away: EPIPE (no SIGPIPE death), everything after is
 * dropped and counted. */
TEST(console_out_reader_gone)
{
	struct console_out o;
	int fds[2];

	signal(SIGPIPE, SIG_IGN);
	CHECK(pipe(fds) == 0);
	close(fds[0]);
	CHECK_EQ(console_out_start(&o, fds[1]), 0);
	console_out_put(&o, (const uint8_t *)"lost", 4);
	for (int i = 0; i < 2000 && !atomic_load(&o.dead); i++)
		usleep(1000);
	CHECK(atomic_load(&o.dead));
	CHECK_EQ(o.error, EPIPE);
	CHECK_EQ(console_out_put(&o, (const uint8_t *)"more", 4), 4);
	console_out_stop(&o, 1000);
	CHECK_EQ(atomic_load(&o.dropped), 8);
	close(fds[1]);
	signal(SIGPIPE, SIG_DFL);
}

SUITE(console, T(escape_sequences), T(no_escapes_without_tty), T(out_ring_wraps_and_drops),
      T(console_out_writes_in_order), T(console_out_stalled_reader), T(console_out_reader_gone));
