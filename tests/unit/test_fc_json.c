// SPDX-License-Identifier: MIT
/* Firecracker's JSON into struct ember_config and back (src/api/fc_json.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/fc_json.h"
#include "fcj_equal.h"
#include "harness.h"
#include "util.h"

/* ---- fixture: files the file checks accept and refuse ---- */

static struct {
	bool made;
	char dir[64];
	char kernel[96], initrd[96], disk[96], disk2[96], disk3[96], odd[96], empty[96], fifo[96],
	    subdir[96], missing[96];
} fx;

static void fx_file(char *path, const char *name, size_t size)
{
	snprintf(path, 96, "%s/%s", fx.dir, name);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);

	if (fd >= 0) {
		if (size && ftruncate(fd, (off_t)size) < 0)
			perror("ftruncate");
		close(fd);
	}
}

static void fx_cleanup(void)
{
	const char *files[] = {fx.kernel, fx.initrd, fx.disk,  fx.disk2,
			       fx.disk3,  fx.odd,    fx.empty, fx.fifo};

	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		unlink(files[i]);
	rmdir(fx.subdir);
	rmdir(fx.dir);
}

static void fx_init(void)
{
	if (fx.made)
		return;
	strcpy(fx.dir, "/tmp/ember-fcj-XXXXXX");
	if (!mkdtemp(fx.dir)) {
		perror("mkdtemp");
		exit(1);
	}
	fx_file(fx.kernel, "vmlinux", 4096);
	fx_file(fx.initrd, "initrd", 1000);
	fx_file(fx.disk, "rootfs.ext4", 1 << 20);
	fx_file(fx.disk2, "scratch.img", 512);
	fx_file(fx.disk3, "data.img", 8192);
	fx_file(fx.odd, "odd.img", 1000);
	fx_file(fx.empty, "empty.img", 0);
	snprintf(fx.fifo, sizeof(fx.fifo), "%s/fifo", fx.dir);
	mkfifo(fx.fifo, 0600);
	snprintf(fx.subdir, sizeof(fx.subdir), "%s/dir", fx.dir);
	mkdir(fx.subdir, 0700);
	snprintf(fx.missing, sizeof(fx.missing), "%s/missing", fx.dir);
	fx.made = true;
	atexit(fx_cleanup);
}

/* ---- helpers ---- */

static char body[16384];

/* A body from a format (paths come from the fixture). */
static const char *B(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *B(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	return body;
}

#define L(s) (s), strlen(s)

/* A config with a boot source, as most tests want. */
static void base(struct ember_config *c)
{
	fx_init();
	fcj_init(c);
	CHECK_EQ(fcj_put_boot_source(c, L(B("{\"kernel_image_path\": \"%s\"}", fx.kernel))), 0);
}

static const char *drive(const char *id, const char *path, bool root, const char *extra)
{
	return B("{\"drive_id\": \"%s\", \"path_on_host\": \"%s\", \"is_root_device\": %s, "
		 "\"is_read_only\": false%s}",
		 id, path, root ? "true" : "false", extra);
}

/* An error must leave cfg as it was (byte for byte: nothing was written). */
static int put_unchanged(struct ember_config *c,
			 int (*fn)(struct ember_config *, const char *, size_t), const char *b)
{
	struct ember_config before;
	int err;

	memcpy(&before, c, sizeof(before));
	err = fn(c, b, strlen(b));
	if (err)
		CHECK(memcmp(&before, c, sizeof(before)) == 0);
	return err;
}

static int drive_unchanged(struct ember_config *c, const char *id, const char *b)
{
	struct ember_config before;
	int err;

	memcpy(&before, c, sizeof(before));
	err = fcj_put_drive(c, id, b, strlen(b));
	if (err)
		CHECK(memcmp(&before, c, sizeof(before)) == 0);
	return err;
}

/* ---- defaults ---- */

TEST(fcj_defaults)
{
	struct ember_config c;

	fcj_init(&c);
	CHECK_EQ(c.ncpus, 1);
	CHECK_EQ(c.mem_size, 128ULL << 20);
	CHECK(!c.smt && !c.track_dirty_pages && c.huge_pages == HUGE_PAGES_NONE);
	CHECK(c.thp);
	CHECK(!c.rng.enabled && !c.vsock.enabled && !c.logger.set && !c.metrics.set);
	CHECK_EQ(c.ndisks, 0);
	CHECK_EQ(c.nnets, 0);
	CHECK_EQ(c.root_disk, -1);
	CHECK(strcmp(c.cmdline, "reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux "
				"i8042.nomux i8042.dumbkbd swiotlb=noforce") == 0);
	CHECK(c.kernel[0] == 0 && c.initrd[0] == 0);
}

/* ---- boot-source ---- */

TEST(fcj_boot_source)
{
	struct ember_config c;

	fx_init();
	fcj_init(&c);
	CHECK_EQ(fcj_put_boot_source(&c, L(B("{\"kernel_image_path\": \"%s\", \"initrd_path\": "
					     "\"%s\", \"boot_args\": \"console=ttyS0 quiet\"}",
					     fx.kernel, fx.initrd))),
		 0);
	CHECK(strcmp(c.kernel, fx.kernel) == 0);
	CHECK(strcmp(c.initrd, fx.initrd) == 0);
	CHECK(strcmp(c.cmdline, "console=ttyS0 quiet") == 0);
	CHECK(ember_lasterr()[0] == 0);
	/* a second PUT replaces everything: initrd gone, default args back */
	CHECK_EQ(fcj_put_boot_source(&c, L(B("{\"kernel_image_path\": \"%s\", \"initrd_path\": "
					     "null}",
					     fx.kernel))),
		 0);
	CHECK(c.initrd[0] == 0);
	CHECK(strcmp(c.cmdline, FCJ_DEFAULT_CMDLINE) == 0);
	/* empty boot_args are kept empty */
	CHECK_EQ(fcj_put_boot_source(
		     &c, L(B("{\"kernel_image_path\": \"%s\", \"boot_args\": \"\"}", fx.kernel))),
		 0);
	CHECK(c.cmdline[0] == 0);
}

TEST(fcj_boot_source_errors)
{
	struct ember_config c;
	char args[2100];

	base(&c);
	/* a missing kernel is refused when the PUT arrives */
	CHECK_EQ(put_unchanged(&c, fcj_put_boot_source,
			       B("{\"kernel_image_path\": \"%s\"}", fx.missing)),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "Boot source error: kernel_image_path: The kernel file "
					    "cannot be opened");
	CHECK_STR_CONTAINS(ember_lasterr(), "No such file or directory");
	CHECK_STR_CONTAINS(ember_lasterr(), fx.missing);
	/* a long path cannot push the reason out of the message */
	{
		char longp[4001];

		memset(longp, 'p', 4000);
		longp[0] = '/';
		longp[4000] = 0;
		CHECK_EQ(put_unchanged(&c, fcj_put_boot_source,
				       B("{\"kernel_image_path\": \"%s\"}", longp)),
			 -EINVAL);
		CHECK_STR_CONTAINS(ember_lasterr(), "cannot be opened: File name too long: /ppp");
	}
	CHECK_EQ(
	    put_unchanged(&c, fcj_put_boot_source, B("{\"kernel_image_path\": \"%s\"}", fx.subdir)),
	    -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "not a regular file");
	/* a FIFO must not hang the check */
	CHECK_EQ(
	    put_unchanged(&c, fcj_put_boot_source, B("{\"kernel_image_path\": \"%s\"}", fx.fifo)),
	    -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "not a regular file");
	CHECK_EQ(put_unchanged(&c, fcj_put_boot_source,
			       B("{\"kernel_image_path\": \"%s\", \"initrd_path\": \"%s\"}",
				 fx.kernel, fx.missing)),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "initrd_path: The initrd file cannot be opened");
	CHECK_EQ(put_unchanged(&c, fcj_put_boot_source, "{\"boot_args\": \"x\"}"), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "An error occurred when deserializing the json body "
					    "of a request: missing field `kernel_image_path`");
	CHECK_EQ(put_unchanged(&c, fcj_put_boot_source,
			       B("{\"kernel_image_path\": \"%s\", \"kernel\": 1}", fx.kernel)),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "unknown field `kernel`");
	CHECK_EQ(put_unchanged(&c, fcj_put_boot_source, "{\"kernel_image_path\": 7}"), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(),
			   "kernel_image_path: invalid type: integer `7`, expected a string");
	/* linux-loader's Cmdline: printable ASCII, 2047 bytes and the NUL */
	CHECK_EQ(put_unchanged(
		     &c, fcj_put_boot_source,
		     B("{\"kernel_image_path\": \"%s\", \"boot_args\": \"a\\nb\"}", fx.kernel)),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "boot_args: The kernel command line is invalid");
	memset(args, 'a', 2048);
	args[2048] = 0;
	CHECK_EQ(put_unchanged(
		     &c, fcj_put_boot_source,
		     B("{\"kernel_image_path\": \"%s\", \"boot_args\": \"%s\"}", fx.kernel, args)),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "2048 bytes is over the limit of 2047");
	args[2047] = 0;
	CHECK_EQ(fcj_put_boot_source(&c, L(B("{\"kernel_image_path\": \"%s\", \"boot_args\": "
					     "\"%s\"}",
					     fx.kernel, args))),
		 0);
	CHECK_EQ(strlen(c.cmdline), 2047);
}

/* ---- machine-config ---- */

TEST(fcj_machine_config_put)
{
	struct ember_config c;

	fcj_init(&c);
	CHECK_EQ(fcj_put_machine_config(&c, L("{\"vcpu_count\": 4, \"mem_size_mib\": 1024, "
					      "\"smt\": true, \"track_dirty_pages\": true, "
					      "\"huge_pages\": \"2M\"}")),
		 0);
	CHECK_EQ(c.ncpus, 4);
	CHECK_EQ(c.mem_size, 1024ULL << 20);
	CHECK(c.smt && c.track_dirty_pages && c.huge_pages == HUGE_PAGES_2M);
	/* PUT: what is left out goes back to its default */
	CHECK_EQ(fcj_put_machine_config(&c, L("{\"vcpu_count\": 1, \"mem_size_mib\": 129}")), 0);
	CHECK(!c.smt && !c.track_dirty_pages && c.huge_pages == HUGE_PAGES_NONE);
	CHECK_EQ(c.ncpus, 1);
	CHECK_EQ(c.mem_size, 129ULL << 20);
	/* the limits: 1..32, SMT needs 1 or an even count */
	CHECK_EQ(fcj_put_machine_config(&c, L("{\"vcpu_count\": 32, \"mem_size_mib\": 128}")), 0);
	CHECK_EQ(fcj_put_machine_config(
		     &c, L("{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": true}")),
		 0);
	CHECK_EQ(fcj_put_machine_config(
		     &c, L("{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"smt\": true}")),
		 0);
	/* cpu_template "None" is accepted, with Firecracker's deprecation note */
	CHECK_EQ(fcj_put_machine_config(&c, L("{\"vcpu_count\": 2, \"mem_size_mib\": 128, "
					      "\"cpu_template\": \"None\"}")),
		 0);
	CHECK(strcmp(ember_lasterr(), "PUT /machine-config: cpu_template field is deprecated.") ==
	      0);
	CHECK_EQ(fcj_put_machine_config(&c, L("{\"vcpu_count\": 2, \"mem_size_mib\": 128, "
					      "\"cpu_template\": null}")),
		 0);
	CHECK(ember_lasterr()[0] == 0);
}

TEST(fcj_machine_config_errors)
{
	struct ember_config c;
	char big[128];

	fcj_init(&c);
	CHECK_EQ(
	    put_unchanged(&c, fcj_put_machine_config, "{\"vcpu_count\": 0, \"mem_size_mib\": 128}"),
	    -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "Machine config error: vcpu_count 0");
	CHECK_EQ(put_unchanged(&c, fcj_put_machine_config,
			       "{\"vcpu_count\": 33, \"mem_size_mib\": 128}"),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "vcpu_count 33");
	CHECK_EQ(put_unchanged(&c, fcj_put_machine_config,
			       "{\"vcpu_count\": 3, \"mem_size_mib\": 128, \"smt\": true}"),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "vcpu_count 3 (smt true)");
	CHECK_EQ(
	    put_unchanged(&c, fcj_put_machine_config, "{\"vcpu_count\": 1, \"mem_size_mib\": 0}"),
	    -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "mem_size_mib 0");
	CHECK_EQ(
	    put_unchanged(&c, fcj_put_machine_config,
			  "{\"vcpu_count\": 1, \"mem_size_mib\": 129, \"huge_pages\": \"2M\"}"),
	    -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "mem_size_mib 129 (huge_pages 2M)");
	CHECK_EQ(put_unchanged(&c, fcj_put_machine_config,
			       "{\"vcpu_count\": 1, \"mem_size_mib\": 134217728}"),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "over ember's limit");
	/* serde's view: missing, wrong type, out of the type's range */
	CHECK_EQ(put_unchanged(&c, fcj_put_machine_config, "{\"vcpu_count\": 1}"), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "missing field `mem_size_mib`");
	CHECK_EQ(put_unchanged(&c, fcj_put_machine_config,
			       "{\"vcpu_count\": \"2\", \"mem_size_mib\": 128}"),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "vcpu_count: invalid type: string \"2\", expected u8");
	CHECK_EQ(put_unchanged(&c, fcj_put_machine_config,
			       "{\"vcpu_count\": 2.0, \"mem_size_mib\": 128}"),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "invalid type: floating point `2.0`, expected u8");
	CHECK_EQ(put_unchanged(&c, fcj_put_machine_config,
			       "{\"vcpu_count\": -1, \"mem_size_mib\": 128}"),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "invalid value: integer `-1`, expected u8");
	CHECK_EQ(put_unchanged(&c, fcj_put_machine_config,
			       "{\"vcpu_count\": 256, \"mem_size_mib\": 128}"),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "invalid value: integer `256`, expected u8");
	CHECK_EQ(put_unchanged(&c, fcj_put_machine_config,
			       "{\"vcpu_count\": 1, \"mem_size_mib\": 18446744073709551616}"),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "does not fit 64 bits");
	CHECK_EQ(put_unchanged(&c, fcj_put_machine_config,
			       "{\"vcpu_count\": 1, \"mem_size_mib\": 1e400}"),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "floating point `1e400`, expected usize");
	/* u64 max itself parses, and is refused as a size */
	snprintf(big, sizeof(big), "{\"vcpu_count\": 1, \"mem_size_mib\": 18446744073709551615}");
	CHECK_EQ(put_unchanged(&c, fcj_put_machine_config, big), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "mem_size_mib 18446744073709551615");
	CHECK_EQ(put_unchanged(&c, fcj_put_machine_config,
			       "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": null}"),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "smt: invalid type: null, expected a boolean");
	CHECK_EQ(put_unchanged(&c, fcj_put_machine_config,
			       "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"ht_enabled\": false}"),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "unknown field `ht_enabled`, expected one of");
	CHECK_EQ(
	    put_unchanged(&c, fcj_put_machine_config,
			  "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"1G\"}"),
	    -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "unknown variant `1G`, expected `None` or `2M`");
	/* CPU templates other than None: refused by ember, not ignored */
	CHECK_EQ(put_unchanged(&c, fcj_put_machine_config,
			       "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": "
			       "\"T2\"}"),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "cpu_template \"T2\": CPU templates are not supported "
					    "by ember");
	CHECK_EQ(put_unchanged(&c, fcj_put_machine_config,
			       "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": "
			       "\"M5\"}"),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "unknown variant `M5`");
}

TEST(fcj_machine_config_patch)
{
	struct ember_config c;

	fcj_init(&c);
	CHECK_EQ(fcj_put_machine_config(&c, L("{\"vcpu_count\": 3, \"mem_size_mib\": 257, "
					      "\"track_dirty_pages\": true}")),
		 0);
	/* only what is given changes */
	CHECK_EQ(fcj_patch_machine_config(&c, L("{\"mem_size_mib\": 512}")), 0);
	CHECK_EQ(c.ncpus, 3);
	CHECK_EQ(c.mem_size, 512ULL << 20);
	CHECK(c.track_dirty_pages);
	CHECK_EQ(fcj_patch_machine_config(&c, L("{\"track_dirty_pages\": false}")), 0);
	CHECK(!c.track_dirty_pages);
	CHECK_EQ(c.mem_size, 512ULL << 20);
	/* the result must still be valid: SMT with 3 vCPUs, 2M pages with
	 * an odd size */
	CHECK_EQ(put_unchanged(&c, fcj_patch_machine_config, "{\"smt\": true}"), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "vcpu_count 3 (smt true)");
	CHECK_EQ(fcj_patch_machine_config(&c, L("{\"mem_size_mib\": 257}")), 0);
	CHECK_EQ(put_unchanged(&c, fcj_patch_machine_config, "{\"huge_pages\": \"2M\"}"), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "mem_size_mib 257 (huge_pages 2M)");
	CHECK_EQ(fcj_patch_machine_config(&c, L("{\"huge_pages\": \"2M\", \"mem_size_mib\": 258, "
						"\"smt\": true, \"vcpu_count\": 4}")),
		 0);
	CHECK(c.smt && c.huge_pages == HUGE_PAGES_2M);
	CHECK_EQ(c.ncpus, 4);
	/* nothing to change is Firecracker's "Empty PATCH request." */
	CHECK_EQ(put_unchanged(&c, fcj_patch_machine_config, "{}"), -EINVAL);
	CHECK(strcmp(ember_lasterr(), "Empty PATCH request.") == 0);
	CHECK_EQ(put_unchanged(&c, fcj_patch_machine_config, "{\"vcpu_count\": null}"), -EINVAL);
	CHECK(strcmp(ember_lasterr(), "Empty PATCH request.") == 0);
	CHECK_EQ(fcj_patch_machine_config(&c, NULL, 0), -EINVAL);
	CHECK(strcmp(ember_lasterr(), "Empty PATCH request.") == 0);
	CHECK_EQ(fcj_patch_machine_config(&c, L("{\"cpu_template\": \"None\"}")), 0);
	CHECK(strcmp(ember_lasterr(), "PATCH /machine-config: cpu_template field is "
				      "deprecated.") == 0);
}

/* ---- drives ---- */

TEST(fcj_drive_fields)
{
	struct ember_config c;
	const struct disk_config *d;

	base(&c);
	CHECK_EQ(
	    fcj_put_drive(&c, "rootfs",
			  L(B("{\"drive_id\": \"rootfs\", \"partuuid\": \"0eaa91a0-01\", "
			      "\"is_root_device\": true, \"cache_type\": \"Writeback\", "
			      "\"is_read_only\": true, \"path_on_host\": \"%s\", \"io_engine\": "
			      "\"Sync\", \"rate_limiter\": {\"bandwidth\": {\"size\": 1000, "
			      "\"one_time_burst\": 50, \"refill_time\": 100}, \"ops\": "
			      "{\"size\": 10, \"refill_time\": 1000}}, \"socket\": null}",
			      fx.disk))),
	    0);
	CHECK_EQ(c.ndisks, 1);
	CHECK_EQ(c.root_disk, 0);
	d = &c.disks[0];
	CHECK(strcmp(d->id, "rootfs") == 0 && strcmp(d->path, fx.disk) == 0);
	CHECK(strcmp(d->partuuid, "0eaa91a0-01") == 0);
	CHECK(d->ro && d->cache == DISK_CACHE_WRITEBACK);
	CHECK(d->rl.bandwidth.set && d->rl.ops.set);
	CHECK_EQ(d->rl.bandwidth.size, 1000);
	CHECK_EQ(d->rl.bandwidth.one_time_burst, 50);
	CHECK_EQ(d->rl.bandwidth.refill_time_ms, 100);
	CHECK_EQ(d->rl.ops.size, 10);
	CHECK_EQ(d->rl.ops.one_time_burst, 0);
	CHECK_EQ(d->rl.ops.refill_time_ms, 1000);
	/* the defaults: Unsafe cache, read-write, no limiter */
	CHECK_EQ(fcj_put_drive(&c, "data",
			       L(B("{\"drive_id\": \"data\", \"is_root_device\": false, "
				   "\"path_on_host\": \"%s\"}",
				   fx.disk3))),
		 0);
	d = &c.disks[1];
	CHECK(!d->ro && d->cache == DISK_CACHE_UNSAFE && !d->rl.bandwidth.set && !d->rl.ops.set);
	CHECK(d->partuuid[0] == 0);
	/* buckets TokenBucket::new() turns down limit nothing: stored unset */
	CHECK_EQ(fcj_put_drive(&c, "data",
			       L(drive("data", fx.disk3, false,
				       ", \"rate_limiter\": {\"bandwidth\": {\"size\": 0, "
				       "\"refill_time\": 100}, \"ops\": {\"size\": 5, "
				       "\"refill_time\": 18446744073709551615}}"))),
		 0);
	CHECK(!c.disks[1].rl.bandwidth.set && !c.disks[1].rl.ops.set);
	/* TokenBucketConfig ignores unknown fields (no deny_unknown_fields) */
	CHECK_EQ(fcj_put_drive(&c, "data",
			       L(drive("data", fx.disk3, false,
				       ", \"rate_limiter\": {\"ops\": {\"size\": 5, "
				       "\"refill_time\": 10, \"colour\": \"red\"}}"))),
		 0);
	CHECK(c.disks[1].rl.ops.set);
	/* ... but RateLimiterConfig does not */
	CHECK_EQ(drive_unchanged(&c, "data",
				 drive("data", fx.disk3, false,
				       ", \"rate_limiter\": {\"iops\": {\"size\": 5, "
				       "\"refill_time\": 10}}")),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "rate_limiter: unknown field `iops`, expected "
					    "`bandwidth` or `ops`");
	CHECK_EQ(drive_unchanged(&c, "data",
				 drive("data", fx.disk3, false,
				       ", \"rate_limiter\": {\"ops\": {\"refill_time\": 10}}")),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "rate_limiter.ops: missing field `size`");
}

TEST(fcj_drive_root_rules)
{
	struct ember_config c;

	base(&c);
	CHECK_EQ(fcj_put_drive(&c, "a", L(drive("a", fx.disk2, false, ""))), 0);
	CHECK_EQ(fcj_put_drive(&c, "b", L(drive("b", fx.disk3, false, ""))), 0);
	/* a new root device goes first */
	CHECK_EQ(fcj_put_drive(&c, "root", L(drive("root", fx.disk, true, ""))), 0);
	CHECK_EQ(c.ndisks, 3);
	CHECK_EQ(c.root_disk, 0);
	CHECK(!strcmp(c.disks[0].id, "root") && !strcmp(c.disks[1].id, "a") &&
	      !strcmp(c.disks[2].id, "b"));
	/* a second root device is refused, new or updated */
	CHECK_EQ(drive_unchanged(&c, "r2", drive("r2", fx.disk, true, "")), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "Drive config error: is_root_device: A root block "
					    "device already exists!");
	CHECK_EQ(drive_unchanged(&c, "b", drive("b", fx.disk3, true, "")), -EINVAL);
	/* the root device updated in place stays root and first */
	CHECK_EQ(fcj_put_drive(&c, "root", L(drive("root", fx.disk3, true, ""))), 0);
	CHECK_EQ(c.root_disk, 0);
	CHECK(!strcmp(c.disks[0].path, fx.disk3));
	/* an update keeps its slot */
	CHECK_EQ(fcj_put_drive(&c, "a", L(drive("a", fx.disk, false, ""))), 0);
	CHECK(!strcmp(c.disks[1].id, "a") && !strcmp(c.disks[1].path, fx.disk));
	CHECK_EQ(c.ndisks, 3);
	/* the root device made non-root stays in place, and there is none */
	CHECK_EQ(fcj_put_drive(&c, "root", L(drive("root", fx.disk3, false, ""))), 0);
	CHECK_EQ(c.root_disk, -1);
	CHECK(!strcmp(c.disks[0].id, "root"));
	/* a drive made root swaps with the first: [root a b] -> [b a root] */
	CHECK_EQ(fcj_put_drive(&c, "b", L(drive("b", fx.disk3, true, ""))), 0);
	CHECK_EQ(c.root_disk, 0);
	CHECK(!strcmp(c.disks[0].id, "b") && !strcmp(c.disks[1].id, "a") &&
	      !strcmp(c.disks[2].id, "root"));
}

TEST(fcj_drive_errors)
{
	struct ember_config c;
	char id[8];

	base(&c);
	/* ids: path id checked first, then the body, then that they match */
	CHECK_EQ(drive_unchanged(&c, "a", drive("b", fx.disk, false, "")), -EINVAL);
	CHECK(strcmp(ember_lasterr(),
		     "The id from the path [a] does not match the id from the body [b]!") == 0);
	CHECK_EQ(drive_unchanged(&c, "a-b", drive("a-b", fx.disk, false, "")), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "API Resource IDs can only contain alphanumeric "
					    "characters and underscores");
	CHECK_EQ(drive_unchanged(&c, "", drive("", fx.disk, false, "")), -EINVAL);
	CHECK(strcmp(ember_lasterr(), "The ID cannot be empty.") == 0);
	CHECK_EQ(drive_unchanged(&c, NULL, drive("x", fx.disk, false, "")), -EINVAL);
	CHECK(strcmp(ember_lasterr(), "The ID cannot be empty.") == 0);
	CHECK_EQ(drive_unchanged(&c, "x", ""), -EINVAL);
	CHECK(strcmp(ember_lasterr(), "Empty PUT request.") == 0);
	/* what ember does not implement is refused, not ignored */
	CHECK_EQ(drive_unchanged(&c, "x", drive("x", fx.disk, false, ", \"io_engine\": \"Async\"")),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "io_engine \"Async\": not supported by ember");
	CHECK_EQ(drive_unchanged(&c, "x", drive("x", fx.disk, false, ", \"io_engine\": \"Uring\"")),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "unknown variant `Uring`, expected `Async` or `Sync`");
	CHECK_EQ(drive_unchanged(&c, "x",
				 "{\"drive_id\": \"x\", \"is_root_device\": false, \"socket\": "
				 "\"/run/vhost.sock\"}"),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "socket: vhost-user-block drives are not supported");
	CHECK_EQ(drive_unchanged(&c, "x", "{\"drive_id\": \"x\", \"is_root_device\": false}"),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "path_on_host: missing");
	CHECK_EQ(
	    drive_unchanged(&c, "x", B("{\"drive_id\": \"x\", \"path_on_host\": \"%s\"}", fx.disk)),
	    -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "missing field `is_root_device`");
	CHECK_EQ(drive_unchanged(&c, "x", drive("x", fx.disk, false, ", \"cache_type\": null")),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "cache_type: invalid type: null");
	/* the backing file, checked when the PUT arrives */
	CHECK_EQ(drive_unchanged(&c, "x", drive("x", fx.missing, false, "")), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "Drive config error: path_on_host: Unable to create "
					    "the virtio block device");
	CHECK_STR_CONTAINS(ember_lasterr(), "No such file or directory");
	CHECK_EQ(drive_unchanged(&c, "x", drive("x", fx.odd, false, "")), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "size 1000 bytes is not a multiple of 512");
	/* An empty file is a 0-sector drive (Kata's placeholders), then removed
	 * again so the table below starts as before. */
	{
		struct ember_config before = c;

		CHECK_EQ(fcj_put_drive(&c, "x", L(drive("x", fx.empty, false, ""))), 0);
		CHECK_EQ(c.ndisks, before.ndisks + 1);
		c = before;
	}
	CHECK_EQ(drive_unchanged(&c, "x", drive("x", fx.subdir, false, "")), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "not a regular file or block device");
	CHECK_EQ(drive_unchanged(&c, "x", drive("x", fx.fifo, false, "")), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "not a regular file or block device");
	CHECK_EQ(drive_unchanged(&c, "x", drive("x", "/dev/null", false, "")), -EINVAL);
	/* ember's table holds CONFIG_MAX_DISKS drives */
	for (int i = 0; i < CONFIG_MAX_DISKS; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		CHECK_EQ(fcj_put_drive(&c, id, L(drive(id, fx.disk2, false, ""))), 0);
	}
	CHECK_EQ(drive_unchanged(&c, "d99", drive("d99", fx.disk2, false, "")), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "at most 16 drives");
	/* ... and an update of one of them still works */
	CHECK_EQ(fcj_put_drive(&c, "d3", L(drive("d3", fx.disk3, false, ""))), 0);
}

TEST(fcj_check_file_kinds)
{
	fx_init();
	CHECK_EQ(fcj_check_file(fx.kernel, FCJ_FILE_KERNEL, true), 0);
	CHECK_EQ(fcj_check_file(fx.disk, FCJ_FILE_DRIVE, false), 0);
	CHECK_EQ(fcj_check_file(fx.disk, FCJ_FILE_DRIVE, true), 0);
	CHECK_EQ(fcj_check_file(fx.missing, FCJ_FILE_DRIVE, true), -ENOENT);
	CHECK_EQ(fcj_check_file(fx.fifo, FCJ_FILE_KERNEL, true), -EINVAL);
	CHECK_EQ(fcj_check_file(fx.odd, FCJ_FILE_INITRD, true), 0); /* any initrd size */
	CHECK_EQ(fcj_check_file(fx.odd, FCJ_FILE_DRIVE, true), -EINVAL);
	CHECK_EQ(fcj_check_file("/dev/null", FCJ_FILE_KERNEL, true), -EINVAL);
	if (geteuid() != 0) {
		/* a read-only image is fine for a read-only drive only (root
		 * writes anything, so this runs only without root) */
		chmod(fx.disk3, 0444);
		CHECK_EQ(fcj_check_file(fx.disk3, FCJ_FILE_DRIVE, true), 0);
		CHECK_EQ(fcj_check_file(fx.disk3, FCJ_FILE_DRIVE, false), -EACCES);
		chmod(fx.disk3, 0644);
	}
}

/* ---- network-interfaces ---- */

static const char *net(const char *id, const char *tap, const char *extra)
{
	return B("{\"iface_id\": \"%s\", \"host_dev_name\": \"%s\"%s}", id, tap, extra);
}

static int net_unchanged(struct ember_config *c, const char *id, const char *b)
{
	struct ember_config before;
	int err;

	memcpy(&before, c, sizeof(before));
	err = fcj_put_net(c, id, b, strlen(b));
	if (err)
		CHECK(memcmp(&before, c, sizeof(before)) == 0);
	return err;
}

TEST(fcj_net)
{
	struct ember_config c;
	const struct net_config *n;

	fcj_init(&c);
	CHECK_EQ(fcj_put_net(&c, "eth0",
			     L(net("eth0", "tap0",
				   ", \"guest_mac\": \"AA:FC:00:00:00:01\", \"mtu\": 9000, "
				   "\"rx_rate_limiter\": {\"bandwidth\": {\"size\": 125000, "
				   "\"refill_time\": 1000}}, \"tx_rate_limiter\": {}"))),
		 0);
	n = &c.nets[0];
	CHECK(!strcmp(n->id, "eth0") && !strcmp(n->tap, "tap0") && n->has_mac);
	CHECK(n->mac[0] == 0xaa && n->mac[1] == 0xfc && n->mac[5] == 1);
	CHECK_EQ(n->mtu, 9000);
	CHECK(n->rx_rl.bandwidth.set && !n->rx_rl.ops.set);
	CHECK(!n->tx_rl.bandwidth.set && !n->tx_rl.ops.set);
	CHECK_EQ(fcj_put_net(&c, "eth1", L(net("eth1", "tap1", ""))), 0);
	CHECK(!c.nets[1].has_mac && c.nets[1].mtu == 0);
	/* an update keeps the MAC it already had, and may use it */
	CHECK_EQ(fcj_put_net(&c, "eth0",
			     L(net("eth0", "tap0", ", \"guest_mac\": \"aa:fc:00:00:00:01\""))),
		 0);
	/* Firecracker's swap_remove(): the updated interface moves last */
	CHECK(!strcmp(c.nets[0].id, "eth1") && !strcmp(c.nets[1].id, "eth0"));
	CHECK_EQ(c.nnets, 2);
	CHECK_EQ(c.nets[1].mtu, 0);
	/* unique MACs and host devices */
	CHECK_EQ(net_unchanged(&c, "eth2",
			       net("eth2", "tap2", ", \"guest_mac\": \"aa:fc:00:00:00:01\"")),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "Network config error: guest_mac: The MAC address is "
					    "already in use: aa:fc:00:00:00:01 (by \"eth0\")");
	CHECK_EQ(net_unchanged(&c, "eth2", net("eth2", "tap1", "")), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "host_dev_name \"tap1\"");
	CHECK_STR_CONTAINS(ember_lasterr(), "already used by \"eth1\"");
	/* bad MACs are serde errors in Firecracker */
	CHECK_EQ(net_unchanged(&c, "eth2",
			       net("eth2", "tap2", ", \"guest_mac\": \"zz:fc:00:00:00:01\"")),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "An error occurred when deserializing the json body of "
					    "a request: guest_mac: The provided MAC address is "
					    "invalid: \"zz:fc:00:00:00:01\"");
	CHECK_EQ(
	    net_unchanged(&c, "eth2", net("eth2", "tap2", ", \"guest_mac\": \"aa:fc:00:00:00\"")),
	    -EINVAL);
	CHECK_EQ(
	    net_unchanged(&c, "eth2", net("eth2", "tap2", ", \"guest_mac\": \"a:fc:0:0:0:1\"")),
	    -EINVAL);
	CHECK_EQ(net_unchanged(&c, "eth2",
			       net("eth2", "tap2", ", \"guest_mac\": \"aa:fc:00:00:00:01:02\"")),
		 -EINVAL);
	/* names TUNSETIFF would refuse, MTUs out of range */
	CHECK_EQ(net_unchanged(&c, "eth2", net("eth2", "tap-name-16bytes", "")), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "Invalid interface name");
	CHECK_EQ(net_unchanged(&c, "eth2", net("eth2", "", "")), -EINVAL);
	CHECK_EQ(net_unchanged(&c, "eth2", net("eth2", "a/b", "")), -EINVAL);
	CHECK_EQ(fcj_put_net(&c, "eth2", L(net("eth2", "tap-name-15byte", ""))), 0);
	CHECK_EQ(net_unchanged(&c, "eth3", net("eth3", "tap3", ", \"mtu\": 67")), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "mtu 67");
	CHECK_EQ(net_unchanged(&c, "eth3", net("eth3", "tap3", ", \"mtu\": 65536")), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "invalid value: integer `65536`, expected u16");
	CHECK_EQ(fcj_put_net(&c, "eth3", L(net("eth3", "tap3", ", \"mtu\": 65535"))), 0);
	/* ids */
	CHECK_EQ(net_unchanged(&c, "eth4", net("eth5", "tap5", "")), -EINVAL);
	CHECK(strcmp(ember_lasterr(),
		     "The id from the path [eth4] does not match the id from the body [eth5]!") ==
	      0);
	CHECK_EQ(net_unchanged(&c, "eth4", net("eth4", "tap4", ", \"allow_mmds_requests\": true")),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "unknown field `allow_mmds_requests`");
	CHECK_EQ(net_unchanged(&c, "eth4", "{\"iface_id\": \"eth4\"}"), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "missing field `host_dev_name`");
}

/* ---- vsock, entropy, logger, metrics, serial ---- */

TEST(fcj_vsock)
{
	struct ember_config c;
	char uds[200];

	fcj_init(&c);
	CHECK_EQ(fcj_put_vsock(&c, L("{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}")), 0);
	CHECK(c.vsock.enabled && c.vsock.cid == 3 && !strcmp(c.vsock.uds, "/tmp/v.sock"));
	CHECK(ember_lasterr()[0] == 0);
	/* the deprecated vsock_id is kept, with Firecracker's note */
	CHECK_EQ(fcj_put_vsock(&c, L("{\"vsock_id\": \"root\", \"guest_cid\": 4294967294, "
				     "\"uds_path\": \"kata.hvsock\"}")),
		 0);
	CHECK(strcmp(ember_lasterr(), "PUT /vsock: vsock_id field is deprecated.") == 0);
	CHECK(!strcmp(c.vsock.id, "root") && c.vsock.cid == 4294967294u);
	CHECK_EQ(put_unchanged(&c, fcj_put_vsock, "{\"guest_cid\": 2, \"uds_path\": \"/v\"}"),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "Vsock config error: guest_cid 2");
	CHECK_EQ(
	    put_unchanged(&c, fcj_put_vsock, "{\"guest_cid\": 4294967295, \"uds_path\": \"/v\"}"),
	    -EINVAL);
	CHECK_EQ(
	    put_unchanged(&c, fcj_put_vsock, "{\"guest_cid\": 4294967296, \"uds_path\": \"/v\"}"),
	    -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "expected u32");
	memset(uds, 'u', 108);
	uds[0] = '/';
	uds[108] = 0;
	CHECK_EQ(
	    put_unchanged(&c, fcj_put_vsock, B("{\"guest_cid\": 3, \"uds_path\": \"%s\"}", uds)),
	    -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "uds_path");
	CHECK_STR_CONTAINS(ember_lasterr(), "is 108 bytes, over ember's limit of 107");
	uds[107] = 0;
	CHECK_EQ(fcj_put_vsock(&c, L(B("{\"guest_cid\": 3, \"uds_path\": \"%s\"}", uds))), 0);
	CHECK_EQ(put_unchanged(&c, fcj_put_vsock, "{\"guest_cid\": 3, \"uds_path\": \"\"}"),
		 -EINVAL);
	CHECK_EQ(put_unchanged(&c, fcj_put_vsock, "{\"guest_cid\": 3}"), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "missing field `uds_path`");
}

TEST(fcj_entropy_logger_metrics_serial)
{
	struct ember_config c;

	fcj_init(&c);
	CHECK_EQ(fcj_put_entropy(&c, L("{}")), 0);
	CHECK(c.rng.enabled && !c.rng.rl.bandwidth.set);
	CHECK_EQ(fcj_put_entropy(&c, L("{\"rate_limiter\": {\"bandwidth\": {\"size\": 4096, "
				       "\"refill_time\": 100}}}")),
		 0);
	CHECK(c.rng.rl.bandwidth.set && c.rng.rl.bandwidth.size == 4096);
	CHECK_EQ(put_unchanged(&c, fcj_put_entropy, "{\"rate\": 1}"), -EINVAL);

	CHECK_EQ(fcj_put_logger(&c, L("{\"log_path\": \"/tmp/fc.log\", \"level\": \"warning\", "
				      "\"show_level\": true, \"module\": \"api_server\"}")),
		 0);
	CHECK(c.logger.set && c.logger.level == LOG_WARN && c.logger.show_level);
	CHECK(!strcmp(c.logger.path, "/tmp/fc.log") && !strcmp(c.logger.module, "api_server"));
	/* Logger::update(): the level falls back to Info, the rest stays */
	CHECK_EQ(fcj_put_logger(&c, L("{\"show_log_origin\": true}")), 0);
	CHECK(c.logger.level == LOG_INFO && c.logger.show_level && c.logger.show_log_origin);
	CHECK(!strcmp(c.logger.path, "/tmp/fc.log"));
	CHECK_EQ(fcj_put_logger(&c, L("{\"level\": \"TRACE\"}")), 0);
	CHECK(c.logger.level == LOG_TRACE);
	CHECK_EQ(fcj_put_logger(&c, L("{\"level\": \"Off\"}")), 0);
	CHECK(c.logger.level == LOG_OFF);
	CHECK_EQ(put_unchanged(&c, fcj_put_logger, "{\"level\": \"loud\"}"), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "level: Invalid LevelFilter \"loud\"");
	CHECK_EQ(put_unchanged(&c, fcj_put_logger, "{\"log_path\": \"\"}"), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "Logger error: log_path is empty");

	/* metrics: unknown fields ignored, and only once */
	CHECK_EQ(fcj_put_metrics(&c, L("{\"metrics_path\": \"/tmp/m.fifo\", \"x\": [1]}")), 0);
	CHECK(c.metrics.set && !strcmp(c.metrics.path, "/tmp/m.fifo"));
	CHECK_EQ(put_unchanged(&c, fcj_put_metrics, "{\"metrics_path\": \"/tmp/n\"}"), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "Metrics error: metrics_path \"/tmp/n\": "
					    "Reinitialization of metrics not allowed");
	CHECK_EQ(put_unchanged(&c, fcj_put_metrics, "{}"), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "missing field `metrics_path`");

	CHECK_EQ(fcj_put_serial(&c, L("{\"serial_out_path\": \"/tmp/console\", \"rate_limiter\": "
				      "{\"size\": 1024, \"refill_time\": 100}}")),
		 0);
	CHECK(!strcmp(c.serial.out_path, "/tmp/console") && c.serial.rl.set);
	CHECK_EQ(c.serial.rl.size, 1024);
	/* both replaced: standard output, no limit */
	CHECK_EQ(fcj_put_serial(&c, L("{}")), 0);
	CHECK(c.serial.out_path[0] == 0 && !c.serial.rl.set);
	CHECK_EQ(put_unchanged(&c, fcj_put_serial, "{\"rate_limiter\": {\"size\": 1}}"), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "rate_limiter: missing field `refill_time`");
}

/* ---- runtime requests ---- */

TEST(fcj_runtime_parsers)
{
	struct fcj_drive_patch dp;
	struct fcj_net_patch np;
	enum fcj_action a;
	bool pause;
	struct rate_limiter_config rl = {{true, 1, 2, 3}, {true, 4, 5, 6}};

	CHECK_EQ(fcj_parse_patch_drive("drive_0",
				       L("{\"drive_id\": \"drive_0\", \"path_on_host\": "
					 "\"/images/layer.img\"}"),
				       &dp),
		 0);
	CHECK(!strcmp(dp.drive_id, "drive_0") && dp.has_path &&
	      !strcmp(dp.path, "/images/layer.img") && !dp.has_rl);
	CHECK(dp.rl.bandwidth_op == FCJ_BUCKET_KEEP && dp.rl.ops_op == FCJ_BUCKET_KEEP);
	CHECK_EQ(
	    fcj_parse_patch_drive("d",
				  L("{\"drive_id\": \"d\", \"rate_limiter\": {\"bandwidth\": "
				    "{\"size\": 0, \"refill_time\": 0}, \"ops\": {\"size\": 9, "
				    "\"refill_time\": 7}}}"),
				  &dp),
	    0);
	CHECK(!dp.has_path && dp.has_rl);
	CHECK(dp.rl.bandwidth_op == FCJ_BUCKET_DISABLE && dp.rl.ops_op == FCJ_BUCKET_SET);
	{
		struct rate_limiter_config up = fcj_rl_config(&dp.rl);

		config_rl_update(&rl, &up);
	}
	CHECK(!rl.bandwidth.set && rl.ops.set && rl.ops.size == 9 && rl.ops.refill_time_ms == 7);
	/* neither field (a null rate_limiter is None): nothing to patch */
	CHECK_EQ(
	    fcj_parse_patch_drive("d", L("{\"drive_id\": \"d\", \"rate_limiter\": null}"), &dp), 0);
	CHECK(!dp.has_path && !dp.has_rl);
	CHECK_EQ(fcj_parse_patch_drive("d", L("{\"drive_id\": \"e\"}"), &dp), -EINVAL);
	CHECK(strcmp(ember_lasterr(),
		     "The id from the path [d] does not match the id from the body [e]!") == 0);
	CHECK_EQ(
	    fcj_parse_patch_drive("d", L("{\"drive_id\": \"d\", \"is_read_only\": true}"), &dp),
	    -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "unknown field `is_read_only`");
	CHECK_EQ(fcj_parse_patch_drive("d", NULL, 0, &dp), -EINVAL);
	CHECK(strcmp(ember_lasterr(), "Empty PATCH request.") == 0);

	CHECK_EQ(fcj_parse_patch_net("eth0",
				     L("{\"iface_id\": \"eth0\", \"tx_rate_limiter\": {\"ops\": "
				       "{\"size\": 100, \"one_time_burst\": 1000, \"refill_time\": "
				       "1000}}}"),
				     &np),
		 0);
	CHECK(!strcmp(np.iface_id, "eth0"));
	CHECK(np.rx.bandwidth_op == FCJ_BUCKET_KEEP && np.rx.ops_op == FCJ_BUCKET_KEEP);
	CHECK(np.tx.bandwidth_op == FCJ_BUCKET_KEEP && np.tx.ops_op == FCJ_BUCKET_SET);
	CHECK_EQ(np.tx.rl.ops.one_time_burst, 1000);
	CHECK_EQ(fcj_parse_patch_net("eth0", L("{\"iface_id\": \"eth0\", \"mtu\": 1500}"), &np),
		 -EINVAL);
	CHECK_EQ(fcj_parse_patch_net("eth.0", L("{\"iface_id\": \"eth.0\"}"), &np), -EINVAL);

	CHECK_EQ(fcj_parse_action(L("{\"action_type\": \"InstanceStart\"}"), &a), 0);
	CHECK(a == FCJ_ACTION_INSTANCE_START);
	CHECK_EQ(fcj_parse_action(L("{\"action_type\": \"SendCtrlAltDel\"}"), &a), 0);
	CHECK(a == FCJ_ACTION_SEND_CTRL_ALT_DEL);
	CHECK_EQ(fcj_parse_action(L("{\"action_type\": \"FlushMetrics\"}"), &a), 0);
	CHECK(a == FCJ_ACTION_FLUSH_METRICS);
	CHECK_EQ(fcj_parse_action(L("{\"action_type\": \"instancestart\"}"), &a), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "unknown variant `instancestart`");
	CHECK_EQ(fcj_parse_action(L("{\"action_type\": \"InstanceStart\", \"now\": true}"), &a),
		 -EINVAL);
	CHECK_EQ(fcj_parse_action(L("{}"), &a), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "missing field `action_type`");

	CHECK_EQ(fcj_parse_vm_state(L("{\"state\": \"Paused\"}"), &pause), 0);
	CHECK(pause);
	CHECK_EQ(fcj_parse_vm_state(L("{\"state\": \"Resumed\"}"), &pause), 0);
	CHECK(!pause);
	CHECK_EQ(fcj_parse_vm_state(L("{\"state\": \"Running\"}"), &pause), -EINVAL);
	CHECK_EQ(fcj_parse_vm_state(L("{\"state\": 1}"), &pause), -EINVAL);
}

/* ---- strict JSON ---- */

TEST(fcj_strict_json)
{
	static const struct {
		const char *body, *msg;
	} bad[] = {
	    {"{\"vcpu_count\": 1, \"mem_size_mib\": 128", "EOF while parsing"},
	    {"{\"vcpu_count\": 1, \"mem_size_mib\": 128}x", "unexpected 'x'"},
	    {"{\"vcpu_count\": 1, \"mem_size_mib\": 128} {}", "invalid JSON"},
	    {"   ", "EOF while parsing"},
	    {"[]", "invalid type: sequence, expected struct MachineConfig"},
	    {"\"x\"", "invalid type: string \"x\", expected struct MachineConfig"},
	    {"1", "invalid type: integer `1`"},
	    {"null", "invalid type: null"},
	    {"{\"vcpu_count\": NaN, \"mem_size_mib\": 128}", "unexpected 'N'"},
	    {"{\"vcpu_count\": Infinity, \"mem_size_mib\": 128}", "unexpected 'I'"},
	    {"{\"vcpu_count\": -Infinity, \"mem_size_mib\": 128}", "bad number"},
	    {"{\"vcpu_count\": 01, \"mem_size_mib\": 128}", "bad number"},
	    {"{\"vcpu_count\": -01, \"mem_size_mib\": 128}", "bad number"},
	    {"{\"vcpu_count\": 1., \"mem_size_mib\": 128}", "bad number"},
	    {"{\"vcpu_count\": .5, \"mem_size_mib\": 128}", "unexpected '.'"},
	    {"{\"vcpu_count\": +1, \"mem_size_mib\": 128}", "unexpected '+'"},
	    {"{\"vcpu_count\": 0x10, \"mem_size_mib\": 128}", "bad number"},
	    {"{\"vcpu_count\": 1, \"mem_size_mib\": 128,}", "invalid JSON"},
	    {"{\"vcpu_count\": 1, /* c */ \"mem_size_mib\": 128}", "unexpected '/'"},
	    {"{'vcpu_count': 1, \"mem_size_mib\": 128}", "unexpected '''"},
	    {"{\"vcpu_count\": True, \"mem_size_mib\": 128}", "unexpected 'T'"},
	    {"{\"vcpu_count\": nul, \"mem_size_mib\": 128}", "unexpected 'n'"},
	    {"{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"vcpu_count\": 2}",
	     "duplicate field `vcpu_count`"},
	    {"{\"vcpu_\\u0063ount\": 1, \"mem_size_mib\": 128, \"vcpu_count\": 2}",
	     "duplicate field"},
	    {"{\"cpu_template\": \"No\\u0000ne\", \"vcpu_count\": 1, \"mem_size_mib\": 1}",
	     "\\u0000"},
	    {"{\"cpu_template\": \"\\ud800\", \"vcpu_count\": 1, \"mem_size_mib\": 1}",
	     "lone leading surrogate"},
	    {"{\"cpu_template\": \"\\udc00\", \"vcpu_count\": 1, \"mem_size_mib\": 1}",
	     "lone trailing surrogate"},
	    {"{\"cpu_template\": \"\\x41\", \"vcpu_count\": 1, \"mem_size_mib\": 1}", "bad escape"},
	    {"{\"cpu_template\": \"a\tb\", \"vcpu_count\": 1, \"mem_size_mib\": 1}",
	     "control character 0x09"},
	    {"{\"cpu_template\": \"\xc3\x28\", \"vcpu_count\": 1, \"mem_size_mib\": 1}",
	     "invalid UTF-8"},
	    {"{\"cpu_template\": \"\xed\xa0\x80\", \"vcpu_count\": 1, \"mem_size_mib\": 1}",
	     "invalid UTF-8"},
	    {"{\"cpu_template\": \"\xc0\xaf\", \"vcpu_count\": 1, \"mem_size_mib\": 1}",
	     "invalid UTF-8"},
	    {"{\"vcpu_count\": 1, \"mem_size_mib\": 99999999999999999999}", "does not fit 64 bits"},
	    {"{\"vcpu_count\": 1, \"mem_size_mib\": -9223372036854775809}", "does not fit 64 bits"},
	    {"{\"vcpu_count\": 1, \"mem_size_mib\": 128}\v", "unexpected byte 0x0b"},
	};
	struct ember_config c;
	char *deep;

	fcj_init(&c);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (put_unchanged(&c, fcj_put_machine_config, bad[i].body) != -EINVAL)
			fprintf(stderr, "  accepted: %s\n", bad[i].body);
		CHECK_STR_CONTAINS(ember_lasterr(), bad[i].msg);
	}
	/* a NUL byte inside the body */
	CHECK_EQ(fcj_put_machine_config(&c, "{\"vcpu_count\": 2}\0{}", 20), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "unexpected byte 0x00");
	CHECK_EQ(fcj_put_machine_config(&c, "", 0), -EINVAL);
	CHECK(strcmp(ember_lasterr(), "Empty PUT request.") == 0);
	/* deep nesting stops at json-c's depth limit, without recursion here */
	deep = malloc(200001);
	memset(deep, '[', 100000);
	memset(deep + 100000, ']', 100000);
	deep[200000] = 0;
	CHECK_EQ(put_unchanged(&c, fcj_put_machine_config, deep), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "nesting too deep");
	memcpy(deep, "{\"x\":", 5);
	memset(deep + 5, '{', 40);
	deep[45] = 0;
	CHECK_EQ(fcj_put_machine_config(&c, L(deep)), -EINVAL);
	free(deep);
	/* the right things still parse: escapes, UTF-8, surrogate pairs,
	 * exponents (refused only by type), whitespace */
	CHECK_EQ(fcj_put_machine_config(&c, L("\r\n\t {\"vcpu_count\":2,\"mem_size_mib\":256} ")),
		 0);
	CHECK_EQ(fcj_put_logger(&c, L("{\"module\": \"\\u00e9t\xc3\xa9 \\ud83d\\ude00 \\\"q\\\" "
				      "\\/\"}")),
		 0);
	CHECK(strcmp(c.logger.module, "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 \"q\" /") == 0);
	CHECK_EQ(fcj_put_machine_config(&c, L("{\"vcpu_count\": 1e0, \"mem_size_mib\": 256}")),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "floating point `1e0`");
}

/* ---- the config file ---- */

/* Kata's fcConfig.json: a read-only rootfs (not root: Kata boots from its
 * own root= argument), 8 empty-named placeholder drives it PATCHes later, a
 * net with rate limiters, the hybrid vsock, log and metrics FIFOs. */
static const char *kata_file(void)
{
	char drives[4096];
	size_t n = 0;

	for (int i = 0; i < 8; i++)
		n += (size_t)snprintf(drives + n, sizeof(drives) - n,
				      ",\n  {\"drive_id\": \"drive_%d\", \"path_on_host\": \"%s\", "
				      "\"is_root_device\": false, \"is_read_only\": false}",
				      i, fx.disk2);
	return B("{\n"
		 " \"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": \"console=hvc0 "
		 "root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4 "
		 "pci=off reboot=k panic=1 iommu=off net.ifnames=0 random.trust_cpu=on acpi=off "
		 "8250.nr_uarts=0 agent.log_vport=1025\"},\n"
		 " \"drives\": [\n  {\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\", "
		 "\"is_root_device\": false, \"is_read_only\": true}%s],\n"
		 " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 2048, \"smt\": "
		 "false},\n"
		 " \"network-interfaces\": [{\"iface_id\": \"eth0\", \"guest_mac\": "
		 "\"02:42:ac:11:00:02\", \"host_dev_name\": \"tap0_kata\", \"rx_rate_limiter\": "
		 "{\"bandwidth\": {\"size\": 1310720, \"refill_time\": 1000}}, "
		 "\"tx_rate_limiter\": {}}],\n"
		 " \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/kata.hvsock\", \"vsock_id\": "
		 "\"root\"},\n"
		 " \"logger\": {\"level\": \"Error\", \"log_path\": \"/logs.fifo\"},\n"
		 " \"metrics\": {\"metrics_path\": \"/metrics.fifo\"}\n"
		 "}\n",
		 fx.kernel, fx.disk, drives);
}

TEST(fcj_config_file_kata)
{
	struct ember_config c;
	char *json;

	fx_init();
	fcj_init(&c);
	json = strdup(kata_file());
	CHECK_EQ(fcj_load_config_file(&c, L(json)), 0);
	CHECK(ember_lasterr()[0] == 0);
	CHECK(!strcmp(c.kernel, fx.kernel));
	CHECK_STR_CONTAINS(c.cmdline, "agent.log_vport=1025");
	CHECK_EQ(c.ncpus, 1);
	CHECK_EQ(c.mem_size, 2048ULL << 20);
	CHECK_EQ(c.ndisks, 9);
	CHECK_EQ(c.root_disk, -1);
	CHECK(!strcmp(c.disks[0].id, "rootfs") && c.disks[0].ro);
	CHECK(!strcmp(c.disks[8].id, "drive_7") && !c.disks[8].ro);
	CHECK_EQ(c.nnets, 1);
	CHECK(c.nets[0].rx_rl.bandwidth.set && c.nets[0].rx_rl.bandwidth.size == 1310720);
	CHECK(!c.nets[0].tx_rl.bandwidth.set && !c.nets[0].tx_rl.ops.set);
	CHECK(c.vsock.enabled && c.vsock.cid == 3 && !strcmp(c.vsock.id, "root"));
	CHECK(c.logger.set && c.logger.level == LOG_ERROR && !strcmp(c.logger.path, "/logs.fifo"));
	CHECK(c.metrics.set && !strcmp(c.metrics.path, "/metrics.fifo"));
	CHECK(!c.rng.enabled);
	free(json);
}

/* The file and the same calls through the API give the same config. */
TEST(fcj_config_file_equals_api)
{
	struct ember_config f, a;
	char *json;

	fx_init();
	fcj_init(&f);
	json =
	    strdup(B("{\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 512},"
		     " \"boot-source\": {\"kernel_image_path\": \"%s\", \"initrd_path\": \"%s\"},"
		     " \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"%s\", "
		     "\"is_root_device\": false}, {\"drive_id\": \"root\", \"path_on_host\": "
		     "\"%s\", \"is_root_device\": true, \"partuuid\": \"abc\"}, {\"drive_id\": "
		     "\"a\", \"path_on_host\": \"%s\", \"is_root_device\": false, "
		     "\"cache_type\": \"Writeback\"}],"
		     " \"network-interfaces\": [{\"iface_id\": \"n0\", \"host_dev_name\": "
		     "\"tap0\"}, {\"iface_id\": \"n1\", \"host_dev_name\": \"tap1\", \"mtu\": "
		     "1400}, {\"iface_id\": \"n0\", \"host_dev_name\": \"tap0\", \"guest_mac\": "
		     "\"06:00:00:00:00:01\"}],"
		     " \"entropy\": {\"rate_limiter\": {\"ops\": {\"size\": 1, \"refill_time\": "
		     "1}}}}",
		     fx.kernel, fx.initrd, fx.disk2, fx.disk, fx.disk3));
	CHECK_EQ(fcj_load_config_file(&f, L(json)), 0);
	free(json);

	fcj_init(&a);
	CHECK_EQ(fcj_put_machine_config(&a, L("{\"vcpu_count\": 2, \"mem_size_mib\": 512}")), 0);
	CHECK_EQ(fcj_put_boot_source(&a, L(B("{\"kernel_image_path\": \"%s\", \"initrd_path\": "
					     "\"%s\"}",
					     fx.kernel, fx.initrd))),
		 0);
	CHECK_EQ(fcj_put_drive(&a, "a",
			       L(B("{\"drive_id\": \"a\", \"path_on_host\": \"%s\", "
				   "\"is_root_device\": false}",
				   fx.disk2))),
		 0);
	CHECK_EQ(fcj_put_drive(&a, "root",
			       L(B("{\"drive_id\": \"root\", \"path_on_host\": "
				   "\"%s\", \"is_root_device\": true, \"partuuid\": "
				   "\"abc\"}",
				   fx.disk))),
		 0);
	CHECK_EQ(fcj_put_drive(&a, "a",
			       L(B("{\"drive_id\": \"a\", \"path_on_host\": \"%s\", "
				   "\"is_root_device\": false, \"cache_type\": "
				   "\"Writeback\"}",
				   fx.disk3))),
		 0);
	CHECK_EQ(fcj_put_net(&a, "n0", L("{\"iface_id\": \"n0\", \"host_dev_name\": \"tap0\"}")),
		 0);
	CHECK_EQ(fcj_put_net(&a, "n1",
			     L("{\"iface_id\": \"n1\", \"host_dev_name\": \"tap1\", "
			       "\"mtu\": 1400}")),
		 0);
	CHECK_EQ(fcj_put_net(&a, "n0",
			     L("{\"iface_id\": \"n0\", \"host_dev_name\": \"tap0\", "
			       "\"guest_mac\": \"06:00:00:00:00:01\"}")),
		 0);
	CHECK_EQ(fcj_put_entropy(&a, L("{\"rate_limiter\": {\"ops\": {\"size\": 1, "
				       "\"refill_time\": 1}}}")),
		 0);
	CHECK(fcj_diff(&f, &a) == NULL);
	CHECK(!strcmp(f.disks[0].id, "root") && !strcmp(f.nets[0].id, "n1"));
}

static int load_unchanged(struct ember_config *c, const char *json)
{
	struct ember_config before;
	int err;

	memcpy(&before, c, sizeof(before));
	err = fcj_load_config_file(c, json, strlen(json));
	if (err)
		CHECK(memcmp(&before, c, sizeof(before)) == 0);
	return err;
}

TEST(fcj_config_file_errors)
{
	struct ember_config c;
	char boot[200], drv[200];

	fx_init();
	fcj_init(&c);
	snprintf(boot, sizeof(boot), "\"boot-source\": {\"kernel_image_path\": \"%s\"}", fx.kernel);
	snprintf(drv, sizeof(drv),
		 "{\"drive_id\": \"r\", \"path_on_host\": \"%s\", \"is_root_device\": true}",
		 fx.disk);
	/* the least file: boot-source and drives are required */
	CHECK_EQ(load_unchanged(&c, "{}"), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "missing field `boot-source`");
	CHECK_EQ(load_unchanged(&c, B("{%s}", boot)), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "missing field `drives`");
	CHECK_EQ(load_unchanged(&c, B("{%s, \"drives\": null}", boot)), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "drives: invalid type: null, expected a sequence");
	CHECK_EQ(load_unchanged(&c, B("{%s, \"drives\": {}}", boot)), -EINVAL);
	CHECK_EQ(fcj_load_config_file(&c, L(B("{%s, \"drives\": []}", boot))), 0);
	/* unknown top-level keys are ignored, as VmmConfig ignores them; so is
	 * "serial", which v1.16.1's VmmConfig skips */
	fcj_init(&c);
	CHECK_EQ(fcj_load_config_file(&c, L(B("{%s, \"drives\": [], \"mmds\": {}, \"serial\": "
					      "{\"serial_out_path\": \"/x\"}}",
					      boot))),
		 0);
	CHECK(c.serial.out_path[0] == 0);
	/* an error in each section names it */
	CHECK_EQ(load_unchanged(&c, B("{\"boot-source\": {\"kernel_image_path\": \"%s\"}, "
				      "\"drives\": []}",
				      fx.missing)),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(),
			   "boot-source: kernel_image_path: The kernel file cannot "
			   "be opened");
	CHECK_EQ(load_unchanged(&c, B("{%s, \"drives\": [%s, {\"drive_id\": \"x\", "
				      "\"is_root_device\": \"yes\"}]}",
				      boot, drv)),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "drives[1].is_root_device: invalid type: string "
					    "\"yes\", expected a boolean");
	CHECK_EQ(load_unchanged(&c, B("{%s, \"drives\": [%s, %s]}", boot, drv,
				      "{\"drive_id\": \"r2\", \"path_on_host\": \"/\", "
				      "\"is_root_device\": true}")),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "drives[1]: is_root_device: A root block device "
					    "already exists!");
	CHECK_EQ(load_unchanged(&c, B("{%s, \"drives\": [], \"machine-config\": {\"vcpu_count\": "
				      "33, \"mem_size_mib\": 1}}",
				      boot)),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "machine-config: vcpu_count 33");
	CHECK_EQ(load_unchanged(&c, B("{%s, \"drives\": [], \"network-interfaces\": "
				      "[{\"iface_id\": \"a\", \"host_dev_name\": \"t\"}, "
				      "{\"iface_id\": \"b\", \"host_dev_name\": \"t\"}]}",
				      boot)),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "network-interfaces[1]: host_dev_name \"t\"");
	CHECK_EQ(load_unchanged(&c, B("{%s, \"drives\": [], \"network-interfaces\": null}", boot)),
		 -EINVAL);
	CHECK_EQ(load_unchanged(&c, B("{%s, \"drives\": [], \"vsock\": {\"guest_cid\": 2, "
				      "\"uds_path\": \"/v\"}}",
				      boot)),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "vsock: guest_cid 2");
	CHECK_EQ(
	    load_unchanged(&c, B("{%s, \"drives\": [], \"entropy\": {\"rate_limiter\": 5}}", boot)),
	    -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "entropy.rate_limiter: invalid type: integer `5`");
	CHECK_EQ(
	    load_unchanged(&c, B("{%s, \"drives\": [], \"logger\": {\"level\": \"x\"}}", boot)),
	    -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "logger.level: Invalid LevelFilter");
	CHECK_EQ(load_unchanged(&c, B("{%s, \"drives\": [], \"metrics\": {}}", boot)), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "metrics: missing field `metrics_path`");
	/* the sections ember has no device for */
	CHECK_EQ(load_unchanged(&c, B("{%s, \"drives\": [], \"balloon\": {\"amount_mib\": 1, "
				      "\"deflate_on_oom\": true}}",
				      boot)),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "balloon: the balloon device is not supported");
	CHECK_EQ(load_unchanged(&c, B("{%s, \"drives\": [], \"mmds-config\": {}}", boot)), -EINVAL);
	CHECK_EQ(load_unchanged(&c, B("{%s, \"drives\": [], \"cpu-config\": \"t.json\"}", boot)),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "cpu-config: custom CPU templates");
	CHECK_EQ(load_unchanged(&c, B("{%s, \"drives\": [], \"memory-hotplug\": {}}", boot)),
		 -EINVAL);
	CHECK_EQ(load_unchanged(&c, B("{%s, \"drives\": [], \"pmem\": [{\"id\": \"p\"}]}", boot)),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "pmem: virtio-pmem devices are not supported");
	CHECK_EQ(load_unchanged(&c, B("{%s, \"drives\": [], \"pmem\": null}", boot)), -EINVAL);
	CHECK_EQ(fcj_load_config_file(&c, L(B("{%s, \"drives\": [], \"pmem\": [], \"balloon\": "
					      "null, \"mmds-config\": null, \"cpu-config\": null, "
					      "\"memory-hotplug\": null}",
					      boot))),
		 0);
	/* the whole file is parsed before anything is applied: a type error
	 * late in the file wins over a bad kernel early */
	CHECK_EQ(load_unchanged(&c, B("{\"boot-source\": {\"kernel_image_path\": \"%s\"}, "
				      "\"drives\": [], \"vsock\": {\"guest_cid\": \"3\"}}",
				      fx.missing)),
		 -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "vsock.guest_cid: invalid type");
	/* JSON errors and the top level's type */
	CHECK_EQ(load_unchanged(&c, "}"), -EINVAL);
	CHECK_EQ(load_unchanged(&c, "[]"), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "expected struct VmmConfig");
	CHECK_EQ(fcj_load_config_file(&c, "", 0), -EINVAL);
	CHECK_EQ(fcj_load_config_file(&c, NULL, 0), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "EOF while parsing");
}

/* ---- out ---- */

TEST(fcj_responses)
{
	struct ember_config c;
	char *s;

	fcj_init(&c);
	s = fcj_machine_config(&c);
	CHECK(s && !strcmp(s, "{\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,"
			      "\"track_dirty_pages\":false,\"huge_pages\":\"None\"}"));
	free(s);
	/* before any boot source: Firecracker's Default BootSourceConfig */
	s = fcj_vm_config(&c);
	CHECK(s &&
	      !strcmp(s, "{\"balloon\":null,\"drives\":[],\"boot-source\":{"
			 "\"kernel_image_path\":\"\",\"initrd_path\":null,\"boot_args\":null},"
			 "\"cpu-config\":null,\"logger\":null,\"machine-config\":{"
			 "\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,"
			 "\"track_dirty_pages\":false,\"huge_pages\":\"None\"},\"metrics\":null,"
			 "\"mmds-config\":null,\"network-interfaces\":[],\"vsock\":null,"
			 "\"entropy\":null,\"pmem\":[],\"memory-hotplug\":null}"));
	free(s);
	s = fcj_instance_info("anonymous-instance", FCJ_STATE_NOT_STARTED, FCJ_FIRECRACKER_VERSION);
	CHECK(s && !strcmp(s, "{\"id\":\"anonymous-instance\",\"state\":\"Not started\","
			      "\"vmm_version\":\"1.16.1\",\"app_name\":\"Firecracker\"}"));
	free(s);
	s = fcj_instance_info("vm1", FCJ_STATE_PAUSED, "1.16.1");
	CHECK(s && strstr(s, "\"state\":\"Paused\""));
	free(s);
	s = fcj_instance_info(NULL, FCJ_STATE_RUNNING, NULL);
	CHECK(s && !strcmp(s, "{\"id\":\"anonymous-instance\",\"state\":\"Running\","
			      "\"vmm_version\":\"1.16.1\",\"app_name\":\"Firecracker\"}"));
	free(s);
	s = fcj_version();
	CHECK(s && !strcmp(s, "{\"firecracker_version\":\"1.16.1\"}"));
	free(s);
	s = fcj_error("bad \"id\" a\\b /x\n\x01");
	CHECK(s && !strcmp(s, "{\"fault_message\":\"bad \\\"id\\\" a\\\\b /x\\n\\u0001\"}"));
	free(s);
	s = fcj_error("cut \xe2\x82");
	CHECK(s && !strcmp(s, "{\"fault_message\":\"cut \xef\xbf\xbd\xef\xbf\xbd\"}"));
	free(s);
	/* a path from the command line that JSON cannot carry */
	strcpy(c.kernel, "/boot/\xff");
	CHECK(fcj_vm_config(&c) == NULL);
	CHECK_STR_CONTAINS(ember_lasterr(), "kernel_image_path is not UTF-8");
}

TEST(fcj_vm_config_full)
{
	struct ember_config c;
	char *s;

	base(&c);
	CHECK_EQ(fcj_put_drive(&c, "rootfs",
			       L(drive("rootfs", fx.disk, true,
				       ", \"partuuid\": \"p1\", \"rate_limiter\": {\"ops\": "
				       "{\"size\": 10, \"refill_time\": 100}}"))),
		 0);
	CHECK_EQ(fcj_put_net(&c, "eth0",
			     L(net("eth0", "tap0",
				   ", \"guest_mac\": \"06:00:AC:10:00:02\", \"tx_rate_limiter\": "
				   "{\"bandwidth\": {\"size\": 1000000, \"refill_time\": 100}}"))),
		 0);
	CHECK_EQ(fcj_put_vsock(&c, L("{\"guest_cid\": 15, \"uds_path\": \"vsock.sock\", "
				     "\"vsock_id\": \"v\"}")),
		 0);
	s = fcj_vm_config(&c);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_STR_CONTAINS(s, B("\"drives\":[{\"drive_id\":\"rootfs\",\"partuuid\":\"p1\","
				"\"is_root_device\":true,\"cache_type\":\"Unsafe\","
				"\"is_read_only\":false,\"path_on_host\":\"%s\",\"rate_limiter\":{"
				"\"bandwidth\":null,\"ops\":{\"size\":10,\"one_time_burst\":null,"
				"\"refill_time\":100}},\"io_engine\":\"Sync\",\"socket\":null}]",
				fx.disk));
	CHECK_STR_CONTAINS(s, "\"network-interfaces\":[{\"iface_id\":\"eth0\",\"host_dev_name\":"
			      "\"tap0\",\"guest_mac\":\"06:00:ac:10:00:02\",\"mtu\":null,"
			      "\"rx_rate_limiter\":null,\"tx_rate_limiter\":{\"bandwidth\":{"
			      "\"size\":1000000,\"one_time_burst\":null,\"refill_time\":100},"
			      "\"ops\":null}}]");
	CHECK_STR_CONTAINS(s, "\"vsock\":{\"guest_cid\":15,\"uds_path\":\"vsock.sock\"}");
	CHECK_STR_CONTAINS(s, B("\"boot-source\":{\"kernel_image_path\":\"%s\",\"initrd_path\":"
				"null,\"boot_args\":null}",
				fx.kernel));
	free(s);
}

/* GET /vm/config, loaded as a config file, gives the same config back. */
TEST(fcj_round_trip)
{
	struct ember_config a, b;
	char *s, *s2;

	fx_init();
	fcj_init(&a);
	CHECK_EQ(fcj_put_boot_source(&a, L(B("{\"kernel_image_path\": \"%s\", \"initrd_path\": "
					     "\"%s\", \"boot_args\": \"console=ttyS0 "
					     "quote=\\\"x\\\" path=/a/b \xc3\xa9\"}",
					     fx.kernel, fx.initrd))),
		 -EINVAL); /* not ASCII */
	CHECK_EQ(fcj_put_boot_source(&a, L(B("{\"kernel_image_path\": \"%s\", \"initrd_path\": "
					     "\"%s\", \"boot_args\": \"console=ttyS0 "
					     "quote=\\\"x\\\" path=/a/b\"}",
					     fx.kernel, fx.initrd))),
		 0);
	CHECK_EQ(fcj_put_machine_config(&a, L("{\"vcpu_count\": 4, \"mem_size_mib\": 3072, "
					      "\"smt\": true, \"track_dirty_pages\": true, "
					      "\"huge_pages\": \"2M\"}")),
		 0);
	CHECK_EQ(fcj_put_drive(&a, "data",
			       L(drive("data", fx.disk3, false,
				       ", \"cache_type\": \"Writeback\", \"rate_limiter\": "
				       "{\"bandwidth\": {\"size\": 5, \"one_time_burst\": 7, "
				       "\"refill_time\": 9}}"))),
		 0);
	CHECK_EQ(
	    fcj_put_drive(&a, "root",
			  L(B("{\"drive_id\": \"root\", \"path_on_host\": \"%s\", "
			      "\"is_root_device\": true, \"is_read_only\": true, \"partuuid\": "
			      "\"uuid-1\"}",
			      fx.disk))),
	    0);
	CHECK_EQ(fcj_put_net(&a, "eth0",
			     L(net("eth0", "tap0",
				   ", \"guest_mac\": "
				   "\"02:00:00:00:00:0a\", \"mtu\": 1500"))),
		 0);
	CHECK_EQ(
	    fcj_put_net(&a, "eth1",
			L(net("eth1", "tap1",
			      ", \"rx_rate_limiter\": {\"ops\": {\"size\": 1, \"refill_time\": "
			      "2}, \"bandwidth\": {\"size\": 3, \"refill_time\": 4}}"))),
	    0);
	CHECK_EQ(fcj_put_vsock(&a, L("{\"guest_cid\": 42, \"uds_path\": \"/run/v.sock\"}")), 0);
	CHECK_EQ(fcj_put_entropy(&a, L("{}")), 0);
	s = fcj_vm_config(&a);
	CHECK(s != NULL);
	if (!s)
		return;
	fcj_init(&b);
	CHECK_EQ(fcj_load_config_file(&b, L(s)), 0);
	CHECK(fcj_diff(&a, &b) == NULL);
	if (fcj_diff(&a, &b))
		fprintf(stderr, "  differs in %s\n", fcj_diff(&a, &b));
	/* and it prints the same again */
	s2 = fcj_vm_config(&b);
	CHECK(s2 && !strcmp(s, s2));
	free(s);
	free(s2);
}

SUITE(fc_json, T(fcj_defaults), T(fcj_boot_source), T(fcj_boot_source_errors),
      T(fcj_machine_config_put), T(fcj_machine_config_errors), T(fcj_machine_config_patch),
      T(fcj_drive_fields), T(fcj_drive_root_rules), T(fcj_drive_errors), T(fcj_check_file_kinds),
      T(fcj_net), T(fcj_vsock), T(fcj_entropy_logger_metrics_serial), T(fcj_runtime_parsers),
      T(fcj_strict_json), T(fcj_config_file_kata), T(fcj_config_file_equals_api),
      T(fcj_config_file_errors), T(fcj_responses), T(fcj_vm_config_full), T(fcj_round_trip));
