// SPDX-License-Identifier: MIT
#include <errno.h>

#include "boot/cmdline.h"
#include "harness.h"

TEST(params_end_finds_standalone_dashes)
{
	CHECK_EQ(cmdline_params_end("console=ttyS0 -- init args"), 14);
	CHECK_EQ(cmdline_params_end("-- x"), 0);
	CHECK_EQ(cmdline_params_end("a --"), 2);
	CHECK_EQ(cmdline_params_end("a\t--\tb"), 2);
	/* Not a standalone word, or inside double quotes: not the end. */
	CHECK_EQ(cmdline_params_end("a --b c"), 7);
	CHECK_EQ(cmdline_params_end("a b-- c"), 7);
	CHECK_EQ(cmdline_params_end("x=\"a -- b\" c"), 12);
	CHECK_EQ(cmdline_params_end("x=\"a -- b\" -- c"), 11);
	CHECK_EQ(cmdline_params_end(""), 0);
	/* An unterminated quote runs to the end. */
	CHECK_EQ(cmdline_params_end("x=\"a -- b"), 9);
}

TEST(compose_puts_device_words_before_dashes)
{
	char out[64];

	CHECK_EQ(cmdline_compose(out, sizeof(out), "console=ttyS0", " v=1"), 17);
	CHECK(strcmp(out, "console=ttyS0 v=1") == 0);
	CHECK_EQ(cmdline_compose(out, sizeof(out), "quiet -- init -x", " v=1"), 20);
	CHECK(strcmp(out, "quiet v=1 -- init -x") == 0);
	CHECK_EQ(cmdline_compose(out, sizeof(out), "a  --  b", " v=1"), 12);
	CHECK(strcmp(out, "a v=1  --  b") == 0);
	CHECK_EQ(cmdline_compose(out, sizeof(out), "-- b", " v=1"), 9);
	CHECK(strcmp(out, " v=1 -- b") == 0);
	CHECK_EQ(cmdline_compose(out, sizeof(out), "", " v=1"), 4);
	CHECK(strcmp(out, " v=1") == 0);
	CHECK_EQ(cmdline_compose(out, sizeof(out), "x=\"a -- b\"", " v=1"), 14);
	CHECK(strcmp(out, "x=\"a -- b\" v=1") == 0);
}

TEST(compose_refuses_what_does_not_fit)
{
	char out[8] = "keep";

	/* 7 bytes fit in 8 with the NUL; 8 do not, and out is untouched. */
	CHECK_EQ(cmdline_compose(out, sizeof(out), "abc", " def"), 7);
	strcpy(out, "keep");
	CHECK_EQ(cmdline_compose(out, sizeof(out), "abcd", " def"), -E2BIG);
	CHECK(strcmp(out, "keep") == 0);
	CHECK_EQ(cmdline_compose(out, 0, "", ""), -E2BIG);
}

SUITE(cmdline, T(params_end_finds_standalone_dashes), T(compose_puts_device_words_before_dashes),
      T(compose_refuses_what_does_not_fit));
