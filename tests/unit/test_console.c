// SPDX-License-Identifier: MIT
#include "console.h"
#include "harness.h"

TEST(escape_sequences)
{
	struct console c = { .tty = true };
	uint8_t b[16];
	bool quit;
	size_t n;

	memcpy(b, "ab\x01\x01" "c", 5);
	n = console_filter(&c, b, 5, &quit);
	CHECK_EQ(n, 4);
	CHECK(memcmp(b, "ab\x01" "c", 4) == 0);
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

SUITE(console, T(escape_sequences), T(no_escapes_without_tty));
