// SPDX-License-Identifier: MIT
/*
 * The API's routes and state machine (src/api/api.c) over a VM-less
 * instance (fake_instance.c): every endpoint in every state, the fault
 * messages, and what reached the instance.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "api/fc_json.h"
#include "api/logger.h"
#include "api/metrics.h"
#include "fake_instance.h"
#include "harness.h"
#include "util.h"

static struct {
	char dir[64], kernel[128], disk[128], disk2[128], metrics[128];
} fx;

static struct instance in;
static struct logger lg;
static struct metrics mt;
static struct api a;

static void make_file(const char *path, size_t size)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);

	if (fd >= 0) {
		if (ftruncate(fd, (off_t)size) < 0)
			perror("ftruncate");
		close(fd);
	}
}

static void setup(void)
{
	static const struct vm_options opt = { .vcpu_name = "fc_vcpu %u" };

	strcpy(fx.dir, "/tmp/ember-api-XXXXXX");
	if (!mkdtemp(fx.dir))
		perror("mkdtemp");
	snprintf(fx.kernel, sizeof(fx.kernel), "%s/vmlinux", fx.dir);
	snprintf(fx.disk, sizeof(fx.disk), "%s/root.img", fx.dir);
	snprintf(fx.disk2, sizeof(fx.disk2), "%s/big.img", fx.dir);
	snprintf(fx.metrics, sizeof(fx.metrics), "%s/metrics", fx.dir);
	make_file(fx.kernel, 4096);
	make_file(fx.disk, 1 << 20);
	make_file(fx.disk2, 2 << 20);
	memset(&fake, 0, sizeof(fake));
	fcj_init(&in.cfg);
	instance_init(&in, &opt);
	logger_init(&lg, "test");
	lg.cfg.level = LOG_OFF;
	a = (struct api){ .in = &in, .log = &lg, .metrics = &mt, .id = "test-vm" };
	metrics_init(&mt, &in, &a, &lg);
}

static void teardown(void)
{
	metrics_close(&mt);
	logger_close(&lg);
	unlink(fx.kernel);
	unlink(fx.disk);
	unlink(fx.disk2);
	unlink(fx.metrics);
	rmdir(fx.dir);
}

struct result {
	int status;
	char body[4096];
};

static struct result call(const char *method, const char *path, const char *body)
{
	struct http_request req = { 0 };
	struct api_response resp = { 0 };
	struct result r = { 0 };

	snprintf(req.method_name, sizeof(req.method_name), "%s", method);
	req.method = !strcmp(method, "GET")	 ? HTTP_GET
		     : !strcmp(method, "PUT")	 ? HTTP_PUT
		     : !strcmp(method, "PATCH")	 ? HTTP_PATCH
		     : !strcmp(method, "DELETE") ? HTTP_DELETE
						 : HTTP_OTHER;
	snprintf(req.path, sizeof(req.path), "%s", path);
	if (body) {
		req.body = (const uint8_t *)body;
		req.body_len = strlen(body);
	}
	api_handle(&a, &req, &resp);
	r.status = resp.status;
	if (resp.body)
		snprintf(r.body, sizeof(r.body), "%.*s", (int)resp.body_len, resp.body);
	free(resp.body);
	return r;
}

/* A 400 whose fault_message contains `what`. */
#define CHECK_FAULT(call_, what)                                                                   \
	do {                                                                                       \
		struct result r_ = (call_);                                                        \
		CHECK_EQ(r_.status, 400);                                                          \
		CHECK_STR_CONTAINS(r_.body, "\"fault_message\"");                                  \
		CHECK_STR_CONTAINS(r_.body, what);                                                 \
	} while (0)

static void configure_and_start(void)
{
	char body[512];
	struct result r;

	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\"}", fx.kernel);
	CHECK_EQ(call("PUT", "/boot-source", body).status, 204);
	snprintf(body, sizeof(body),
		 "{\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\", \"is_root_device\": true, "
		 "\"is_read_only\": false}",
		 fx.disk);
	CHECK_EQ(call("PUT", "/drives/rootfs", body).status, 204);
	r = call("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}");
	CHECK_EQ(r.status, 204);
	CHECK_EQ(in.state, INSTANCE_RUNNING);
}

TEST(instance_info_and_version)
{
	struct result r;

	setup();
	r = call("GET", "/", NULL);
	CHECK_EQ(r.status, 200);
	CHECK_STR_CONTAINS(r.body, "\"id\":\"test-vm\"");
	CHECK_STR_CONTAINS(r.body, "\"state\":\"Not started\"");
	CHECK_STR_CONTAINS(r.body, "\"vmm_version\":\"" FCJ_FIRECRACKER_VERSION "\"");
	r = call("GET", "/version", NULL);
	CHECK_EQ(r.status, 200);
	CHECK_STR_CONTAINS(r.body, "\"firecracker_version\":\"" FCJ_FIRECRACKER_VERSION "\"");
	r = call("GET", "/machine-config", NULL);
	CHECK_EQ(r.status, 200);
	CHECK_STR_CONTAINS(r.body, "\"vcpu_count\":1");
	CHECK_STR_CONTAINS(r.body, "\"mem_size_mib\":128");
	CHECK_EQ(a.count[API_GET_INSTANCE_INFO], 1);
	teardown();
}

TEST(body_rules_and_unknown_paths)
{
	setup();
	CHECK_FAULT(call("GET", "/", "{}"), "GET request cannot have a body.");
	CHECK_FAULT(call("PUT", "/boot-source", NULL), "Empty PUT request.");
	CHECK_FAULT(call("PATCH", "/vm", NULL), "Empty PATCH request.");
	CHECK_FAULT(call("GET", "/frobnicate", NULL), "Invalid request method and/or path: GET");
	/* Firecracker 1.16's hot-unplug: refused before the start */
	CHECK_FAULT(call("DELETE", "/drives/x", NULL),
		    "The requested operation is not supported before starting the microVM.");
	CHECK_FAULT(call("DELETE", "/drives/x", "{}"), "DELETE request cannot have a body.");
	CHECK_FAULT(call("DELETE", "/machine-config", NULL), "Invalid request method and/or path");
	CHECK_FAULT(call("PUT", "/drives/", "{}"), "The ID cannot be empty.");
	CHECK_FAULT(call("PUT", "/drives", "{}"), "The ID cannot be empty.");
	CHECK_EQ(a.fails[API_PUT_DRIVE], 2);
	teardown();
}

TEST(unimplemented_endpoints_name_themselves)
{
	static const char *const paths[][2] = {
		{ "PUT", "/balloon" },	     { "GET", "/balloon" },
		{ "PUT", "/mmds" },	     { "PUT", "/mmds/config" },
		{ "PUT", "/cpu-config" },    { "PUT", "/hotplug/memory" },
		{ "PUT", "/pmem/p0" },	     { "PATCH", "/balloon/statistics" },
	};

	setup();
	for (unsigned i = 0; i < ARRAY_SIZE(paths); i++) {
		struct result r =
		    call(paths[i][0], paths[i][1], paths[i][0][0] == 'G' ? NULL : "{}");

		CHECK_EQ(r.status, 400);
		CHECK_STR_CONTAINS(r.body, "ember does not implement");
		CHECK_STR_CONTAINS(r.body, paths[i][1]);
	}
	teardown();
}

TEST(snapshot_create_needs_a_paused_vm)
{
	static const char body[] =
	    "{\"snapshot_type\":\"Diff\",\"snapshot_path\":\"/s\",\"mem_file_path\":\"/m\"}";
	struct result r;
	char cfg[512];

	setup();
	r = call("PUT", "/snapshot/create", body);
	CHECK_EQ(r.status, 400);
	CHECK_STR_CONTAINS(r.body, "not supported before starting");
	snprintf(cfg, sizeof(cfg), "{\"kernel_image_path\":\"%s\"}", fx.kernel);
	CHECK_EQ(call("PUT", "/boot-source", cfg).status, 204);
	CHECK_EQ(call("PUT", "/actions", "{\"action_type\":\"InstanceStart\"}").status, 204);
	r = call("PUT", "/snapshot/create", body);
	CHECK_EQ(r.status, 400);
	CHECK_STR_CONTAINS(r.body, "Create snapshot error: Cannot save the microVM state: the "
				   "microVM must be paused");
	CHECK_EQ(call("PATCH", "/vm", "{\"state\":\"Paused\"}").status, 204);
	CHECK_EQ(call("PUT", "/snapshot/create", body).status, 204);
	CHECK(strcmp(fake.last_create.state_path, "/s") == 0);
	CHECK(strcmp(fake.last_create.mem_path, "/m") == 0);
	CHECK(fake.last_create.diff);
	r = call("PUT", "/snapshot/create", "{\"snapshot_path\":\"/s\"}");
	CHECK_EQ(r.status, 400);
	CHECK_STR_CONTAINS(r.body, "missing field `mem_file_path`");
	r = call("PUT", "/snapshot/create",
		 "{\"snapshot_path\":\"/s\",\"mem_file_path\":\"/m\",\"x\":1}");
	CHECK_EQ(r.status, 400);
	CHECK_STR_CONTAINS(r.body, "unknown field `x`");
	/* A load after the start is refused as Firecracker refuses it. */
	r = call("PUT", "/snapshot/load", "{\"snapshot_path\":\"/s\",\"mem_file_path\":\"/m\"}");
	CHECK_EQ(r.status, 400);
	CHECK_STR_CONTAINS(r.body, "not supported after starting");
	CHECK_EQ(fake.restores, 0);
	teardown();
}

TEST(snapshot_load_parses_firecrackers_fields)
{
	struct result r;
	char cfg[512];

	setup();
	r = call("PUT", "/snapshot/load", "{\"snapshot_path\":\"/s\"}");
	CHECK_EQ(r.status, 400);
	CHECK_STR_CONTAINS(r.body, "missing field: either `mem_backend` or `mem_file_path`");
	r = call("PUT", "/snapshot/load",
		 "{\"snapshot_path\":\"/s\",\"mem_file_path\":\"/m\",\"mem_backend\":{"
		 "\"backend_type\":\"File\",\"backend_path\":\"/m\"}}");
	CHECK_EQ(r.status, 400);
	CHECK_STR_CONTAINS(r.body, "too many fields");
	r = call("PUT", "/snapshot/load",
		 "{\"snapshot_path\":\"/s\",\"mem_backend\":{\"backend_type\":\"Disk\","
		 "\"backend_path\":\"/m\"}}");
	CHECK_EQ(r.status, 400);
	CHECK_STR_CONTAINS(r.body, "unknown variant `Disk`");
	CHECK_EQ(fake.restores, 0);
	r = call("PUT", "/snapshot/load",
		 "{\"snapshot_path\":\"/s\",\"mem_backend\":{\"backend_type\":\"Uffd\","
		 "\"backend_path\":\"/u.sock\"},\"track_dirty_pages\":true,\"resume_vm\":true,"
		 "\"network_overrides\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap7\"}],"
		 "\"vsock_override\":{\"uds_path\":\"/v7.sock\"},\"clock_realtime\":true}");
	CHECK_EQ(r.status, 204);
	CHECK_EQ(fake.restores, 1);
	CHECK(strcmp(fake.last_load.state_path, "/s") == 0);
	CHECK(fake.last_load.uffd);
	CHECK(strcmp(fake.last_load.mem_path, "/u.sock") == 0);
	CHECK(fake.last_load.track_dirty_pages && fake.last_load.resume &&
	      fake.last_load.clock_realtime);
	CHECK_EQ(fake.last_load.nnet, 1);
	CHECK(strcmp(fake.last_load.net[0].id, "eth0") == 0);
	CHECK(strcmp(fake.last_load.net[0].tap, "tap7") == 0);
	CHECK(strcmp(fake.last_load.vsock_uds, "/v7.sock") == 0);
	CHECK_EQ(in.state, INSTANCE_RUNNING);
	teardown();

	/* Once a boot resource is configured, a load is refused. */
	setup();
	snprintf(cfg, sizeof(cfg), "{\"kernel_image_path\":\"%s\"}", fx.kernel);
	CHECK_EQ(call("PUT", "/boot-source", cfg).status, 204);
	r = call("PUT", "/snapshot/load", "{\"snapshot_path\":\"/s\",\"mem_file_path\":\"/m\"}");
	CHECK_EQ(r.status, 400);
	CHECK_STR_CONTAINS(r.body, "not allowed after configuring boot-specific resources");
	CHECK_EQ(fake.restores, 0);
	teardown();

	/* The deprecated mem_file_path still loads, paused without resume_vm. */
	setup();
	r = call("PUT", "/snapshot/load", "{\"snapshot_path\":\"/s\",\"mem_file_path\":\"/m\"}");
	CHECK_EQ(r.status, 204);
	CHECK(!fake.last_load.uffd);
	CHECK(strcmp(fake.last_load.mem_path, "/m") == 0);
	CHECK_EQ(in.state, INSTANCE_PAUSED);
	teardown();
}

TEST(preboot_configuration_reaches_the_config)
{
	char body[512];
	struct result r;

	setup();
	snprintf(body, sizeof(body),
		 "{\"kernel_image_path\": \"%s\", \"boot_args\": \"console=ttyS0 quiet\"}",
		 fx.kernel);
	CHECK_EQ(call("PUT", "/boot-source", body).status, 204);
	CHECK(strcmp(in.cfg.kernel, fx.kernel) == 0);
	CHECK(strcmp(in.cfg.cmdline, "console=ttyS0 quiet") == 0);
	CHECK_EQ(
	    call("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}").status,
	    204);
	CHECK_EQ(in.cfg.ncpus, 2);
	CHECK_EQ(in.cfg.mem_size, 256ULL << 20);
	CHECK_EQ(call("PATCH", "/machine-config", "{\"vcpu_count\": 4}").status, 204);
	CHECK_EQ(in.cfg.ncpus, 4);
	CHECK_EQ(in.cfg.mem_size, 256ULL << 20);
	CHECK_EQ(call("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}").status,
		 204);
	CHECK(in.cfg.vsock.enabled && in.cfg.vsock.cid == 3);
	CHECK_EQ(call("PUT", "/entropy", "{}").status, 204);
	CHECK(in.cfg.rng.enabled);
	/* Validation failures: 400 with the section's prefix, nothing changed. */
	CHECK_FAULT(call("PUT", "/machine-config", "{\"vcpu_count\": 0, \"mem_size_mib\": 256}"),
		    "Machine config error");
	CHECK_FAULT(call("PUT", "/machine-config", "{\"vcpu_count\": 1000, \"mem_size_mib\": 256}"),
		    "expected u8"); /* Firecracker's vcpu_count is a u8 */
	CHECK_FAULT(call("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 0}"),
		    "Machine config error");
	CHECK_EQ(in.cfg.ncpus, 4);
	CHECK_FAULT(call("PUT", "/boot-source", "{\"kernel_image_path\": \"/nonexistent\"}"),
		    "Boot source error");
	CHECK(strcmp(in.cfg.kernel, fx.kernel) == 0);
	/* Malformed bodies: Firecracker's deserialization message. */
	CHECK_FAULT(call("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/v\", \"x\": 1}"),
		    "unknown field `x`");
	CHECK_FAULT(call("PUT", "/machine-config", "{\"vcpu_count\": \"2\", \"mem_size_mib\": 1}"),
		    "deserializing the json body");
	CHECK_FAULT(call("PUT", "/boot-source", "{not json"), "deserializing the json body");
	r = call("GET", "/vm/config", NULL);
	CHECK_EQ(r.status, 200);
	CHECK_STR_CONTAINS(r.body, "\"vcpu_count\":4");
	CHECK_STR_CONTAINS(r.body, "\"guest_cid\":3");
	teardown();
}

TEST(start_needs_a_kernel_and_reports_failure)
{
	char body[512];

	setup();
	CHECK_FAULT(call("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"),
		    "Start microvm error");
	CHECK_EQ(in.state, INSTANCE_NOT_STARTED);
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\"}", fx.kernel);
	CHECK_EQ(call("PUT", "/boot-source", body).status, 204);
	fake.start_fails = true;
	CHECK_FAULT(call("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"),
		    "Start microvm error: fake start failure");
	CHECK_EQ(in.state, INSTANCE_NOT_STARTED);
	/* The configuration can be fixed and the start retried. */
	fake.start_fails = false;
	CHECK_EQ(call("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}").status, 204);
	CHECK_EQ(in.state, INSTANCE_RUNNING);
	CHECK_FAULT(call("PUT", "/actions", "{\"action_type\": \"Reboot\"}"), "action_type");
	teardown();
}

TEST(post_boot_calls_refused_before_start)
{
	setup();
	CHECK_FAULT(call("PATCH", "/vm", "{\"state\": \"Paused\"}"),
		    "not supported before starting the microVM");
	CHECK_FAULT(call("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}"),
		    "not supported before starting the microVM");
	CHECK_FAULT(call("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}"),
		    "not supported before starting the microVM");
	CHECK_FAULT(call("PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\"}"),
		    "not supported before starting the microVM");
	CHECK_FAULT(call("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\"}"),
		    "not supported before starting the microVM");
	CHECK_EQ(fake.pauses + fake.ctrl_alt_dels + fake.drive_patches + fake.net_patches, 0);
	teardown();
}

TEST(pre_boot_calls_refused_after_start)
{
	char body[512];

	setup();
	configure_and_start();
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\"}", fx.kernel);
	CHECK_FAULT(call("PUT", "/boot-source", body), "not supported after starting the microVM");
	CHECK_FAULT(call("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64}"),
		    "not supported after starting");
	CHECK_FAULT(call("PATCH", "/machine-config", "{\"vcpu_count\": 1}"),
		    "not supported after starting");
	CHECK_FAULT(call("PUT", "/drives/d2", "{\"drive_id\": \"d2\"}"),
		    "not supported after starting");
	CHECK_FAULT(call("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/v\"}"),
		    "not supported after starting");
	CHECK_FAULT(call("PUT", "/logger", "{\"level\": \"Info\"}"),
		    "not supported after starting");
	CHECK_FAULT(call("PUT", "/metrics", "{\"metrics_path\": \"/tmp/m\"}"),
		    "not supported after starting");
	CHECK_FAULT(call("PUT", "/entropy", "{}"), "not supported after starting");
	CHECK_FAULT(call("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"),
		    "not supported after starting");
	CHECK_EQ(fake.starts, 1);
	/* Reads still answer. */
	CHECK_STR_CONTAINS(call("GET", "/", NULL).body, "\"state\":\"Running\"");
	teardown();
}

TEST(pause_resume_and_actions_after_start)
{
	setup();
	configure_and_start();
	CHECK_EQ(call("PATCH", "/vm", "{\"state\": \"Paused\"}").status, 204);
	CHECK_STR_CONTAINS(call("GET", "/", NULL).body, "\"state\":\"Paused\"");
	CHECK_EQ(call("PATCH", "/vm", "{\"state\": \"Resumed\"}").status, 204);
	CHECK_STR_CONTAINS(call("GET", "/", NULL).body, "\"state\":\"Running\"");
	CHECK_FAULT(call("PATCH", "/vm", "{\"state\": \"Sleeping\"}"), "state");
	CHECK_EQ(fake.pauses, 1);
	CHECK_EQ(fake.resumes, 1);
	CHECK_EQ(call("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}").status, 204);
	CHECK_EQ(fake.ctrl_alt_dels, 1);
	/* FlushMetrics without a metrics file: nothing to write, no error. */
	CHECK_EQ(call("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}").status, 204);
	teardown();
}

TEST(patch_drive_swaps_and_limits)
{
	char body[512];

	setup();
	configure_and_start();
	snprintf(body, sizeof(body), "{\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\"}",
		 fx.disk2);
	CHECK_EQ(call("PATCH", "/drives/rootfs", body).status, 204);
	CHECK_EQ(fake.drive_patches, 1);
	CHECK(strcmp(in.cfg.disks[0].path, fx.disk2) == 0);
	CHECK(!fake.last_rl_set);
	CHECK_EQ(call("PATCH", "/drives/rootfs",
		      "{\"drive_id\": \"rootfs\", \"rate_limiter\": {\"bandwidth\": {\"size\": "
		      "1048576, \"refill_time\": 1000}}}")
		     .status,
		 204);
	CHECK(fake.last_rl_set);
	CHECK(fake.last_rl.bandwidth.set && fake.last_rl.bandwidth.size == 1048576);
	CHECK(!fake.last_rl.ops.set); /* not in the request: left alone */
	/* A bucket of size 0 switches that bucket off. */
	CHECK_EQ(call("PATCH", "/drives/rootfs",
		      "{\"drive_id\": \"rootfs\", \"rate_limiter\": {\"ops\": {\"size\": 0, "
		      "\"refill_time\": 100}}}")
		     .status,
		 204);
	CHECK(fake.last_rl.ops.set && fake.last_rl.ops.size == 0 && !fake.last_rl.bandwidth.set);
	CHECK_FAULT(call("PATCH", "/drives/nope", "{\"drive_id\": \"nope\"}"), "nope");
	CHECK_FAULT(call("PATCH", "/drives/rootfs", "{\"drive_id\": \"other\"}"), "does not match");
	/* neither path_on_host nor rate_limiter: Firecracker refuses it for a
	 * virtio-block drive */
	CHECK_FAULT(call("PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\"}"),
		    "nothing to change");
	CHECK_FAULT(
	    call("PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"rate_limiter\": null}"),
	    "nothing to change");
	/* after the start, DELETE (hot-unplug) is refused as not implemented */
	CHECK_FAULT(call("DELETE", "/drives/rootfs", NULL), "device hot-unplug");
	snprintf(body, sizeof(body), "{\"drive_id\": \"rootfs\", \"path_on_host\": \"%s/none\"}",
		 fx.dir);
	CHECK_FAULT(call("PATCH", "/drives/rootfs", body), "Unable to patch the block device");
	CHECK(strcmp(in.cfg.disks[0].path, fx.disk2) == 0);
	teardown();
}

TEST(metrics_lines)
{
	char body[256], line[8192];
	ssize_t n;
	int fd;

	setup();
	snprintf(body, sizeof(body), "{\"metrics_path\": \"%s\"}", fx.metrics);
	CHECK_EQ(call("PUT", "/metrics", body).status, 204);
	CHECK(metrics_configured(&mt));
	CHECK_FAULT(call("PUT", "/metrics", body), "Metrics error");
	configure_and_start();
	CHECK_EQ(call("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}").status, 204);
	CHECK_EQ(call("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}").status, 204);
	fd = open(fx.metrics, O_RDONLY | O_CLOEXEC);
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	CHECK(n > 0);
	line[n > 0 ? n : 0] = '\0';
	CHECK_STR_CONTAINS(line, "\"utc_timestamp_ms\":");
	CHECK_STR_CONTAINS(line, "\"put_api_requests\":{");
	CHECK_STR_CONTAINS(line, "\"boot_source_count\":1");
	/* Counters are deltas: the second line counts only what came after the
	 * first (one more actions request). */
	{
		char *second = strchr(line, '\n');

		CHECK(second && second[1] == '{');
		if (second) {
			CHECK_STR_CONTAINS(second, "\"boot_source_count\":0");
			CHECK_STR_CONTAINS(second, "\"actions_count\":1");
		}
	}
	CHECK_STR_CONTAINS(line, "\"vcpu\":{\"exit_io_in\":0");
	teardown();
}

SUITE(api, T(instance_info_and_version), T(body_rules_and_unknown_paths),
      T(unimplemented_endpoints_name_themselves), T(snapshot_create_needs_a_paused_vm),
      T(snapshot_load_parses_firecrackers_fields), T(preboot_configuration_reaches_the_config),
      T(start_needs_a_kernel_and_reports_failure), T(post_boot_calls_refused_before_start),
      T(pre_boot_calls_refused_after_start), T(pause_resume_and_actions_after_start),
      T(patch_drive_swaps_and_limits), T(metrics_lines));
