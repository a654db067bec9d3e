// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for src/api/fc_json.c, the Firecracker JSON layer.
 *
 * Input: byte 0 picks the endpoint (sel[] below); for the endpoints with a
 * path id, byte 1 picks it from ids[]; the rest is the body. Every call
 * starts from the same configuration (a boot source, a root drive, a drive,
 * a net, a vsock), so the cross-device rules (one root, unique MACs and TAPs,
 * update in place) are reachable.
 *
 * Invariants:
 *  - an error is -EINVAL or -ENOMEM, leaves the config byte for byte as it
 *    was, and its message becomes strict JSON through fcj_error();
 *  - a success leaves a config whose GET /vm/config text loads back as a
 *    config file into the same config, which prints the same text;
 *  - a parsed runtime request carries the path's id.
 *
 * The file checks only see SCRATCH (fc_json.c's FCJ_OPEN hook, set in
 * fuzz.mk): a mutated path must never open a device such as /dev/watchdog.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api/fc_json.h"
#include "api/json_strict.h"
#include "fcj_equal.h"
#include "util.h"

#define SCRATCH "/tmp/ember-fcjfuzz"

#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "invariant failed: %s (%s)\n", #c, ember_lasterr());       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

int fcj_fuzz_open(const char *path, int flags);
int fcj_fuzz_open(const char *path, int flags)
{
	if (strncmp(path, SCRATCH "/", sizeof(SCRATCH)) != 0 || strstr(path, "..")) {
		errno = ENOENT;
		return -1;
	}
	return open(path, flags | O_NOFOLLOW);
}

enum sel {
	S_BOOT,
	S_MC_PUT,
	S_MC_PATCH,
	S_DRIVE,
	S_NET,
	S_VSOCK,
	S_ENTROPY,
	S_LOGGER,
	S_METRICS,
	S_SERIAL,
	S_PATCH_DRIVE,
	S_PATCH_NET,
	S_ACTION,
	S_VM_STATE,
	S_FILE,
	S_COUNT
};

static const char *const ids[] = {"rootfs", "drive_0", "eth0", "eth1", "x", "", "a-b", NULL};

static struct ember_config baseline;

static void scratch_file(const char *name, off_t size)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), SCRATCH "/%s", name);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || ftruncate(fd, size) < 0) {
		perror(path);
		exit(1);
	}
	close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char base[] =
	    "{\"boot-source\": {\"kernel_image_path\": \"" SCRATCH "/vmlinux\"},"
	    " \"drives\": [{\"drive_id\": \"rootfs\", \"path_on_host\": \"" SCRATCH
	    "/rootfs.ext4\", \"is_root_device\": true, \"is_read_only\": true},"
	    " {\"drive_id\": \"drive_0\", \"path_on_host\": \"" SCRATCH "/drive_0\","
	    " \"is_root_device\": false}],"
	    " \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
	    " \"guest_mac\": \"06:00:ac:10:00:02\"}],"
	    " \"vsock\": {\"guest_cid\": 3, \"uds_path\": \"" SCRATCH "/v.sock\"}}";
	struct stat st;
	char name[16];

	(void)argc;
	(void)argv;
	if (mkdir(SCRATCH, 0700) < 0 && errno != EEXIST) {
		perror(SCRATCH);
		exit(1);
	}
	if (lstat(SCRATCH, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		fprintf(stderr, "%s is not a directory of ours\n", SCRATCH);
		exit(1);
	}
	scratch_file("vmlinux", 4096);
	scratch_file("initrd", 100);
	scratch_file("rootfs.ext4", 65536);
	scratch_file("odd.img", 1000);
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "drive_%d", i);
		scratch_file(name, 512);
	}
	fcj_init(&baseline);
	if (fcj_load_config_file(&baseline, base, strlen(base))) {
		fprintf(stderr, "baseline: %s\n", ember_lasterr());
		exit(1);
	}
	return 0;
}

/* The error message as a response body: strict JSON with fault_message. */
static void check_error_json(void)
{
	char *s = fcj_error(ember_lasterr());
	struct json_object *root, *msg;

	REQUIRE(s != NULL);
	REQUIRE(js_parse(s, strlen(s), &root) == 0);
	REQUIRE(json_object_object_get_ex(root, "fault_message", &msg));
	REQUIRE(json_object_get_type(msg) == json_type_string);
	json_object_put(root);
	free(s);
}

/* GET /vm/config loads back into the same config and prints the same. */
static void check_round_trip(const struct ember_config *cfg)
{
	struct ember_config *again = malloc(sizeof(*again));
	char *s = fcj_vm_config(cfg), *s2;

	REQUIRE(again && s);
	fcj_init(again);
	REQUIRE(fcj_load_config_file(again, s, strlen(s)) == 0);
	if (fcj_diff(cfg, again)) {
		fprintf(stderr, "round trip differs in %s\n%s\n", fcj_diff(cfg, again), s);
		abort();
	}
	s2 = fcj_vm_config(again);
	REQUIRE(s2 && strcmp(s, s2) == 0);
	free(s);
	free(s2);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ember_config *cfg, *before;
	struct fcj_drive_patch dp;
	struct fcj_net_patch np;
	enum fcj_action action;
	const char *id = NULL, *body;
	bool pause, changes = true;
	size_t len;
	int err;

	if (size < 1)
		return 0;
	enum sel s = (enum sel)(data[0] % S_COUNT);

	body = (const char *)data + 1;
	len = size - 1;
	if (s == S_DRIVE || s == S_NET || s == S_PATCH_DRIVE || s == S_PATCH_NET) {
		if (len < 1)
			return 0;
		id = ids[data[1] % ARRAY_SIZE(ids)];
		body++;
		len--;
	}
	cfg = malloc(sizeof(*cfg));
	before = malloc(sizeof(*before));
	REQUIRE(cfg && before);
	memcpy(cfg, &baseline, sizeof(*cfg));
	memcpy(before, cfg, sizeof(*before));

	switch (s) {
	case S_BOOT:
		err = fcj_put_boot_source(cfg, body, len);
		break;
	case S_MC_PUT:
		err = fcj_put_machine_config(cfg, body, len);
		break;
	case S_MC_PATCH:
		err = fcj_patch_machine_config(cfg, body, len);
		break;
	case S_DRIVE:
		err = fcj_put_drive(cfg, id, body, len);
		break;
	case S_NET:
		err = fcj_put_net(cfg, id, body, len);
		break;
	case S_VSOCK:
		err = fcj_put_vsock(cfg, body, len);
		break;
	case S_ENTROPY:
		err = fcj_put_entropy(cfg, body, len);
		break;
	case S_LOGGER:
		err = fcj_put_logger(cfg, body, len);
		break;
	case S_METRICS:
		err = fcj_put_metrics(cfg, body, len);
		break;
	case S_SERIAL:
		err = fcj_put_serial(cfg, body, len);
		break;
	case S_PATCH_DRIVE:
		changes = false;
		err = fcj_parse_patch_drive(id, body, len, &dp);
		if (!err)
			REQUIRE(id && strcmp(dp.drive_id, id) == 0 && (dp.has_path || !dp.path[0]));
		break;
	case S_PATCH_NET:
		changes = false;
		err = fcj_parse_patch_net(id, body, len, &np);
		if (!err)
			REQUIRE(id && strcmp(np.iface_id, id) == 0);
		break;
	case S_ACTION:
		changes = false;
		err = fcj_parse_action(body, len, &action);
		if (!err)
			REQUIRE(action <= FCJ_ACTION_FLUSH_METRICS);
		break;
	case S_VM_STATE:
		changes = false;
		err = fcj_parse_vm_state(body, len, &pause);
		break;
	case S_FILE:
	default:
		err = fcj_load_config_file(cfg, body, len);
		break;
	}
	if (err) {
		REQUIRE(err == -EINVAL || err == -ENOMEM);
		REQUIRE(memcmp(cfg, before, sizeof(*cfg)) == 0);
		check_error_json();
	} else if (changes) {
		check_round_trip(cfg);
	}
	free(cfg);
	free(before);
	return 0;
}
