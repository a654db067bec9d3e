// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>

#include "config.h"
#include "harness.h"
#include "util.h"

TEST(sizes)
{
	uint64_t v;

	CHECK_EQ(config_parse_size("256M", &v), 0);
	CHECK_EQ(v, 256ULL << 20);
	CHECK_EQ(config_parse_size("3584m", &v), 0);
	CHECK_EQ(v, 3584ULL << 20);
	CHECK_EQ(config_parse_size("5G", &v), 0);
	CHECK_EQ(v, 5ULL << 30);
	CHECK_EQ(config_parse_size("64k", &v), 0);
	CHECK_EQ(v, 65536);
	CHECK_EQ(config_parse_size("1GiB", &v), 0);
	CHECK_EQ(v, 1ULL << 30);
	CHECK_EQ(config_parse_size("4096", &v), 0);
	CHECK_EQ(v, 4096);
	CHECK_EQ(config_parse_size("0", &v), -EINVAL);
	CHECK_EQ(config_parse_size("0M", &v), -EINVAL);
	CHECK_EQ(config_parse_size("", &v), -EINVAL);
	CHECK_EQ(config_parse_size("M", &v), -EINVAL);
	CHECK_EQ(config_parse_size("12Q", &v), -EINVAL);
	CHECK_EQ(config_parse_size("12MX", &v), -EINVAL);
	CHECK_EQ(config_parse_size("-1G", &v), -EINVAL);
	CHECK_EQ(config_parse_size(" 1G", &v), -EINVAL);
	CHECK_EQ(config_parse_size("99999999999999999999", &v), -EINVAL);
	CHECK_EQ(config_parse_size("17179869184G", &v), -EINVAL); /* 2^64 bytes */
}

static int parse(struct ember_config *c, const char *const *args)
{
	char *argv[32];
	int argc = 0;

	argv[argc++] = "run";
	while (*args)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	const char *sock;

	memset(c, 0, sizeof(*c)); /* config_parse_run() wants a zeroed struct */
	return config_parse_run(argc, argv, c, &sock);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

TEST(run_defaults_and_options)
{
	struct ember_config c;

	CHECK_EQ(parse(&c, ARGS("--kernel", "vmlinux")), 0);
	CHECK_EQ(c.mem_size, 256ULL << 20);
	CHECK_EQ(c.ncpus, 1);
	CHECK(strcmp(c.cmdline, CONFIG_DEFAULT_CMDLINE) == 0);
	CHECK(c.initrd[0] == 0);
	CHECK_EQ(parse(&c, ARGS("--kernel=k", "--initrd", "i", "--cmdline", "a b", "--memory=5G",
				"--cpus", "4", "--boot-trace", "--debug")),
		 0);
	CHECK(strcmp(c.kernel, "k") == 0 && strcmp(c.initrd, "i") == 0);
	CHECK(strcmp(c.cmdline, "a b") == 0);
	CHECK_EQ(c.mem_size, 5ULL << 30);
	CHECK_EQ(c.ncpus, 4);
	CHECK(c.boot_trace && c.debug);
	CHECK_EQ(parse(&c, ARGS("--kernel", "k", "--cmdline", "")), 0);
	CHECK(strcmp(c.cmdline, "") == 0);
}

TEST(run_bad_options)
{
	struct ember_config c;

	CHECK_EQ(parse(&c, ARGS("--initrd", "x")), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "--kernel PATH is required");
	CHECK_EQ(parse(&c, ARGS("--kernel")), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "needs a value");
	CHECK_EQ(parse(&c, ARGS("--kernel", "k", "--frobnicate")), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "unknown option '--frobnicate'");
	CHECK_EQ(parse(&c, ARGS("--kernel", "k", "stray")), -EINVAL);
	CHECK_EQ(parse(&c, ARGS("--kernelx", "k")), -EINVAL);
	CHECK_EQ(parse(&c, ARGS("--kernel", "k", "--memory", "0")), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "--memory");
	CHECK_EQ(parse(&c, ARGS("--kernel", "k", "--memory", "lots")), -EINVAL);
	CHECK_EQ(parse(&c, ARGS("--kernel", "k", "--memory", "1M")), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "minimum");
	CHECK_EQ(parse(&c, ARGS("--kernel", "k", "--memory", "100T")), -EINVAL);
	CHECK_EQ(parse(&c, ARGS("--kernel", "k", "--memory", "4097K")), -EINVAL);
	CHECK_EQ(parse(&c, ARGS("--kernel", "k", "--cpus", "0")), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "--cpus");
	CHECK_EQ(parse(&c, ARGS("--kernel", "k", "--cpus", "-1")), -EINVAL);
	CHECK_EQ(parse(&c, ARGS("--kernel", "k", "--cpus", "2x")), -EINVAL);
	CHECK_EQ(parse(&c, ARGS("--kernel", "k", "--cpus", "99999999999")), -EINVAL);
	CHECK_EQ(parse(&c, ARGS("--kernel", "")), -EINVAL);
}

TEST(cmdline_length_limit)
{
	struct ember_config c;
	char *s = malloc(2049);

	memset(s, 'x', 2047);
	s[2047] = '\0';
	CHECK_EQ(parse(&c, ARGS("--kernel", "k", "--cmdline", s)), 0);
	s[2047] = 'x';
	s[2048] = '\0';
	CHECK_EQ(parse(&c, ARGS("--kernel", "k", "--cmdline", s)), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "2048 bytes is over the limit of 2047");
	free(s);
}

/* Firecracker's BucketUpdate: unset kept, size 0 removed, else replaced. */
TEST(config_rl_updates)
{
	struct rate_limiter_config cur = {
		.bandwidth = { true, 1000, 10, 100 },
		.ops = { true, 5, 0, 1000 },
	};
	struct rate_limiter_config up = { .ops = { true, 7, 0, 50 } };

	config_rl_update(&cur, &up);
	CHECK(cur.bandwidth.set && cur.bandwidth.size == 1000 &&
	      cur.bandwidth.one_time_burst == 10);
	CHECK(cur.ops.set && cur.ops.size == 7 && cur.ops.refill_time_ms == 50);
	up = (struct rate_limiter_config){ .bandwidth = { true, 0, 0, 100 } };
	config_rl_update(&cur, &up);
	CHECK(!cur.bandwidth.set && cur.bandwidth.size == 0);
	CHECK(cur.ops.set && cur.ops.size == 7);
	up = (struct rate_limiter_config){ 0 };
	config_rl_update(&cur, &up);
	CHECK(!cur.bandwidth.set && cur.ops.size == 7);
}

TEST(mac_strict)
{
	uint8_t mac[6] = { 0 };

	CHECK_EQ(config_parse_mac("02:aB:03:04:05:ff", mac), 0);
	CHECK(mac[0] == 0x02 && mac[1] == 0xab && mac[5] == 0xff);
	/* Spaces, signs, short groups, other separators, multicast. */
	CHECK_EQ(config_parse_mac("02:00:00:00: 1:01", mac), -EINVAL);
	CHECK_EQ(config_parse_mac(" 2:00:00:00:01:01", mac), -EINVAL);
	CHECK_EQ(config_parse_mac("02:00:00:00:+1:01", mac), -EINVAL);
	CHECK_EQ(config_parse_mac("02-00-00-00-01-01", mac), -EINVAL);
	CHECK_EQ(config_parse_mac("02:00:00:00:01:0", mac), -EINVAL);
	CHECK_EQ(config_parse_mac("02:00:00:00:01:011", mac), -EINVAL);
	CHECK_EQ(config_parse_mac("01:00:00:00:00:01", mac), -EINVAL);
	CHECK(mac[0] == 0x02 && mac[1] == 0xab); /* untouched on failure */
}

SUITE(config, T(sizes), T(mac_strict), T(run_defaults_and_options), T(run_bad_options),
      T(cmdline_length_limit), T(config_rl_updates));
