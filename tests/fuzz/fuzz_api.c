// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the API from request to configuration: sequences of
 * requests through api_handle() (routes, state rules, the JSON layer)
 * against one VM-less instance (tests/unit/fake_instance.c), so that
 * configure -> start -> pause/resume/patch orders are explored.
 *
 * Input: records separated by 0xFF. In each record byte 0 picks the method,
 * byte 1 the path (paths[] below, ids included), the rest is the body (none
 * if empty). /logger and /metrics are left out: they create files where the
 * body says, and fuzz_fcjson covers their bodies.
 *
 * Invariants, after every request:
 *  - the status is 200 or 204 with a body only for 200, or 400 with a
 *    {"fault_message": ...} body that is strict JSON;
 *  - GET / answers 200 and names the instance's state;
 *  - the configuration prints as GET /vm/config (strict JSON).
 *
 * The file checks only see SCRATCH (fc_json.c's FCJ_OPEN hook, fuzz.mk).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api/api.h"
#include "api/fc_json.h"
#include "api/json_strict.h"
#include "api/logger.h"
#include "api/metrics.h"
#include "fake_instance.h"
#include "util.h"

#define SCRATCH "/tmp/ember-apifuzz"

#define REQUIRE(c)                                                                                 \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "invariant failed: %s\n", #c);                             \
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

/* metrics.c reads vCPU counters; a fake instance has no vCPUs. */
uint64_t vcpus_exits(struct vcpus *g, enum vcpu_exit_kind k)
{
	(void)g;
	(void)k;
	return 0;
}

bool vcpus_stopping(struct vcpus *g)
{
	(void)g;
	return false;
}

static const char *const paths[] = {
	"/",
	"/version",
	"/machine-config",
	"/vm/config",
	"/actions",
	"/boot-source",
	"/drives/rootfs",
	"/drives/data",
	"/drives/",
	"/network-interfaces/eth0",
	"/network-interfaces/x",
	"/vsock",
	"/entropy",
	"/serial",
	"/vm",
	"/balloon",
	"/mmds/config",
	"/snapshot/create",
	"/cpu-config",
	"/nope",
	"/drives/a-b",
};
static const enum http_method methods[] = { HTTP_GET, HTTP_PUT, HTTP_PATCH, HTTP_DELETE };
static const char *const method_names[] = { "GET", "PUT", "PATCH", "DELETE" };

static struct instance in;
static struct logger lg;
static struct metrics mt;
static struct api a;

static void make_file(const char *name, size_t size)
{
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", SCRATCH, name);
	fd = open(p, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (ftruncate(fd, (off_t)size) < 0)
			abort();
		close(fd);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mkdir(SCRATCH, 0700);
	make_file("vmlinux", 4096);
	make_file("root.img", 1 << 20);
	make_file("data.img", 4096);
	logger_init(&lg, "fuzz");
	lg.cfg.level = LOG_OFF;
	return 0;
}

static bool strict_json(const char *s, size_t len)
{
	struct json_object *o = NULL;
	int err = js_parse(s, len, &o);

	json_object_put(o);
	return err == 0;
}

static void check_response(const struct api_response *r)
{
	REQUIRE(r->status == 200 || r->status == 204 || r->status == 400);
	if (r->status == 204)
		REQUIRE(!r->body);
	if (r->status != 204) {
		REQUIRE(r->body && r->body_len == strlen(r->body));
		REQUIRE(strict_json(r->body, r->body_len));
	}
	if (r->status == 400)
		REQUIRE(strstr(r->body, "\"fault_message\""));
}

static void request(enum http_method m, const char *mname, const char *path, const uint8_t *body,
		    size_t len)
{
	struct http_request req = { .method = m, .body = len ? body : NULL, .body_len = len };
	struct api_response resp = { 0 };

	snprintf(req.method_name, sizeof(req.method_name), "%s", mname);
	snprintf(req.path, sizeof(req.path), "%s", path);
	api_handle(&a, &req, &resp);
	check_response(&resp);
	free(resp.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vm_options opt = { .vcpu_name = "fc_vcpu %u" };
	const uint8_t *p = data, *end = data + size;
	char *cfgjson;

	memset(&fake, 0, sizeof(fake));
	fcj_init(&in.cfg);
	instance_init(&in, &opt);
	a = (struct api){ .in = &in, .log = &lg, .metrics = &mt, .id = "fuzz" };
	metrics_init(&mt, &in, &a, &lg);
	for (unsigned n = 0; p < end && n < 64; n++) {
		const uint8_t *rec_end = memchr(p, 0xff, (size_t)(end - p));
		size_t rlen = (size_t)((rec_end ? rec_end : end) - p);
		unsigned mi = 0, pi = 0;

		if (rlen >= 2) {
			mi = p[0] % ARRAY_SIZE(methods);
			pi = p[1] % ARRAY_SIZE(paths);
		}
		request(methods[mi], method_names[mi], paths[pi], rlen > 2 ? p + 2 : p,
			rlen > 2 ? rlen - 2 : 0);
		p = rec_end ? rec_end + 1 : end;
		/* The instance always describes itself. */
		request(HTTP_GET, "GET", "/", NULL, 0);
	}
	cfgjson = fcj_vm_config(&in.cfg);
	if (cfgjson) /* NULL only for non-UTF-8 paths, which JSON cannot carry */
		REQUIRE(strict_json(cfgjson, strlen(cfgjson)));
	free(cfgjson);
	return 0;
}
