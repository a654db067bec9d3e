// SPDX-License-Identifier: MIT
#include "api/api.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/fc_json.h"
#include "api/logger.h"
#include "api/metrics.h"
#include "instance.h"
#include "util.h"

/* Firecracker's wording for a call in the wrong state. */
#define POST_BOOT_ONLY "The requested operation is not supported before starting the microVM."
#define PRE_BOOT_ONLY  "The requested operation is not supported after starting the microVM."

/* The largest config file ember reads (Firecracker reads any size; a
 * config with 16 drives of 4 KiB paths is under 100 KiB). */
#define CONFIG_FILE_MAX (1u << 20)

static void reply(struct api_response *resp, int status, char *body)
{
	resp->status = status;
	resp->body = body;
	resp->body_len = body ? strlen(body) : 0;
}

static void fault(struct api *a, struct api_response *resp, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fault(struct api *a, struct api_response *resp, const char *fmt, ...)
{
	char msg[EMBER_ERRMSG_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error(a->log, "Received Error. Status code: 400 Bad Request. Message: %s", msg);
	reply(resp, 400, fcj_error(msg));
}

static bool started(const struct api *a)
{
	return a->in->state != INSTANCE_NOT_STARTED;
}

/* What a request is: its route, the counter it bumps, and its handler. */
struct route_ctx {
	struct api *a;
	const struct http_request *req;
	struct api_response *resp;
	const char *id; /* the path's second token ("/drives/{id}"), or NULL */
	const char *body;
	size_t len;
};

/* A successful call that used a deprecated field: Firecracker adds a
 * "Deprecation: true" header and logs the note (fcj_* leave it in
 * ember_lasterr()). */
static void deprecation(struct route_ctx *r)
{
	if (!*ember_lasterr())
		return;
	r->resp->deprecation = true;
	log_warn(r->a->log, "%s", ember_lasterr());
}

/* --- GET ---------------------------------------------------------------- */

/* A GET's body, or a fault when fcj_* could not write it: out of memory,
 * or a path from ember run's command line that is not UTF-8, which JSON
 * cannot carry (a 200 with no body is no answer a client can parse). */
static int reply_json(struct route_ctx *r, char *body)
{
	if (!body) {
		fault(r->a, r->resp, "Internal error: %s", ember_lasterr());
		return -1;
	}
	reply(r->resp, 200, body);
	return 0;
}

static int get_instance_info(struct route_ctx *r)
{
	static const enum fcj_vm_state states[] = {
		[INSTANCE_NOT_STARTED] = FCJ_STATE_NOT_STARTED,
		[INSTANCE_RUNNING] = FCJ_STATE_RUNNING,
		[INSTANCE_PAUSED] = FCJ_STATE_PAUSED,
	};

	return reply_json(
	    r, fcj_instance_info(r->a->id, states[r->a->in->state], FCJ_FIRECRACKER_VERSION));
}

static int get_version(struct route_ctx *r)
{
	return reply_json(r, fcj_version());
}

static int get_machine_config(struct route_ctx *r)
{
	return reply_json(r, fcj_machine_config(&r->a->in->cfg));
}

static int get_vm_config(struct route_ctx *r)
{
	return reply_json(r, fcj_vm_config(&r->a->in->cfg));
}

/* --- pre-boot configuration ---------------------------------------------- */

/*
 * A pre-boot configuration call through fcj_*, which validate the whole
 * body and change the configuration only on success; their messages carry
 * Firecracker's category ("Drive config error: ..."). `fn_id` is for the
 * endpoints with an {id} in the path.
 */
static int
configure(struct route_ctx *r, int (*fn)(struct ember_config *cfg, const char *body, size_t len),
	  int (*fn_id)(struct ember_config *cfg, const char *id, const char *body, size_t len))
{
	struct ember_config *cfg = &r->a->in->cfg;

	if (started(r->a)) {
		fault(r->a, r->resp, PRE_BOOT_ONLY);
		return -1;
	}
	ember_clearerr();
	if (fn_id ? fn_id(cfg, r->id, r->body, r->len) : fn(cfg, r->body, r->len)) {
		fault(r->a, r->resp, "%s", ember_lasterr());
		return -1;
	}
	r->a->boot_path = true;
	reply(r->resp, 204, NULL);
	deprecation(r);
	return 0;
}

static int put_boot_source(struct route_ctx *r)
{
	return configure(r, fcj_put_boot_source, NULL);
}

static int put_machine_config(struct route_ctx *r)
{
	return configure(r, fcj_put_machine_config, NULL);
}

static int patch_machine_config(struct route_ctx *r)
{
	return configure(r, fcj_patch_machine_config, NULL);
}

static int put_vsock(struct route_ctx *r)
{
	return configure(r, fcj_put_vsock, NULL);
}

static int put_entropy(struct route_ctx *r)
{
	return configure(r, fcj_put_entropy, NULL);
}

static int put_serial(struct route_ctx *r)
{
	return configure(r, fcj_put_serial, NULL);
}

static int put_drive(struct route_ctx *r)
{
	return configure(r, NULL, fcj_put_drive);
}

static int put_net(struct route_ctx *r)
{
	return configure(r, NULL, fcj_put_net);
}

/* The logger and metrics act at once (Firecracker opens their files when
 * the PUT arrives): a target that cannot be opened puts the old settings
 * back and turns the 204 into a 400. */
static int put_logger(struct route_ctx *r)
{
	struct logger_config *cur = &r->a->in->cfg.logger, old = *cur;

	if (configure(r, fcj_put_logger, NULL) < 0)
		return -1;
	if (logger_configure(r->a->log, cur)) {
		*cur = old;
		fault(r->a, r->resp, "Logger error: %s", ember_lasterr());
		return -1;
	}
	return 0;
}

static int put_metrics(struct route_ctx *r)
{
	struct metrics_config *cur = &r->a->in->cfg.metrics, old = *cur;

	if (configure(r, fcj_put_metrics, NULL) < 0)
		return -1;
	if (metrics_configure(r->a->metrics, cur->path)) {
		*cur = old;
		fault(r->a, r->resp, "Metrics error: %s", ember_lasterr());
		return -1;
	}
	return 0;
}

/* --- actions -------------------------------------------------------------- */

int api_start(struct api *a)
{
	int err = instance_start(a->in);

	if (err)
		return ember_prefixerr(err, "Start microvm error");
	log_info(a->log, "Successfully started microvm that was configured from one single json");
	return 0;
}

static int put_actions(struct route_ctx *r)
{
	struct api *a = r->a;
	enum fcj_action act;

	if (fcj_parse_action(r->body, r->len, &act)) {
		fault(a, r->resp, "%s", ember_lasterr());
		return -1;
	}
	switch (act) {
	case FCJ_ACTION_INSTANCE_START:
		if (started(a)) {
			fault(a, r->resp, PRE_BOOT_ONLY);
			return -1;
		}
		if (instance_start(a->in)) {
			fault(a, r->resp, "Start microvm error: %s", ember_lasterr());
			return -1;
		}
		break;
	case FCJ_ACTION_SEND_CTRL_ALT_DEL:
		if (!started(a)) {
			fault(a, r->resp, POST_BOOT_ONLY);
			return -1;
		}
		if (instance_ctrl_alt_del(a->in)) {
			fault(a, r->resp, "Internal VMM error: %s", ember_lasterr());
			return -1;
		}
		break;
	case FCJ_ACTION_FLUSH_METRICS:
		if (!started(a)) {
			fault(a, r->resp, POST_BOOT_ONLY);
			return -1;
		}
		if (metrics_flush(a->metrics)) {
			fault(a, r->resp, "Internal VMM error: %s", ember_lasterr());
			return -1;
		}
		break;
	}
	reply(r->resp, 204, NULL);
	return 0;
}

/* --- post-boot updates ----------------------------------------------------- */

static int find_disk(const struct ember_config *cfg, const char *id)
{
	for (unsigned i = 0; i < cfg->ndisks; i++)
		if (strcmp(cfg->disks[i].id, id) == 0)
			return (int)i;
	return -1;
}

static int find_net(const struct ember_config *cfg, const char *id)
{
	for (unsigned i = 0; i < cfg->nnets; i++)
		if (strcmp(cfg->nets[i].id, id) == 0)
			return (int)i;
	return -1;
}

static int patch_drive(struct route_ctx *r)
{
	struct api *a = r->a;
	struct fcj_drive_patch p;
	struct rate_limiter_config rl;
	int i;

	if (fcj_parse_patch_drive(r->id, r->body, r->len, &p)) {
		fault(a, r->resp, "%s", ember_lasterr());
		return -1;
	}
	if (!started(a)) {
		fault(a, r->resp, POST_BOOT_ONLY);
		return -1;
	}
	i = find_disk(&a->in->cfg, p.drive_id);
	if (i < 0) {
		fault(a, r->resp, "Drive config error: no drive with id %s", p.drive_id);
		return -1;
	}
	/* Firecracker takes a PATCH with neither for a vhost-user drive's
	 * config refresh, which a virtio-block drive refuses. */
	if (!p.has_path && !p.has_rl) {
		fault(a, r->resp,
		      "Drive config error: Unable to patch the block device: nothing to change "
		      "(give path_on_host or rate_limiter; Firecracker: Running method expected "
		      "different backend.)");
		return -1;
	}
	rl = fcj_rl_config(&p.rl);
	/* Checked first: a FIFO must not hang the API thread in open(). */
	if (p.has_path && fcj_check_file(p.path, FCJ_FILE_DRIVE, a->in->cfg.disks[i].ro)) {
		fault(a, r->resp, "Drive config error: Unable to patch the block device: %s",
		      ember_lasterr());
		return -1;
	}
	if (instance_patch_drive(a->in, (unsigned)i, p.has_path ? p.path : NULL,
				 fcj_rl_changes(&p.rl) ? &rl : NULL)) {
		fault(a, r->resp, "Drive config error: Unable to patch the block device: %s",
		      ember_lasterr());
		return -1;
	}
	reply(r->resp, 204, NULL);
	return 0;
}

static int patch_net(struct route_ctx *r)
{
	struct api *a = r->a;
	struct fcj_net_patch p;
	struct rate_limiter_config rx, tx;
	int i;

	if (fcj_parse_patch_net(r->id, r->body, r->len, &p)) {
		fault(a, r->resp, "%s", ember_lasterr());
		return -1;
	}
	if (!started(a)) {
		fault(a, r->resp, POST_BOOT_ONLY);
		return -1;
	}
	i = find_net(&a->in->cfg, p.iface_id);
	if (i < 0) {
		fault(a, r->resp, "Network config error: no network interface with id %s",
		      p.iface_id);
		return -1;
	}
	rx = fcj_rl_config(&p.rx);
	tx = fcj_rl_config(&p.tx);
	if (instance_patch_net(a->in, (unsigned)i, fcj_rl_changes(&p.rx) ? &rx : NULL,
			       fcj_rl_changes(&p.tx) ? &tx : NULL)) {
		fault(a, r->resp, "Network config error: %s", ember_lasterr());
		return -1;
	}
	reply(r->resp, 204, NULL);
	return 0;
}

static int patch_vm(struct route_ctx *r)
{
	struct api *a = r->a;
	double t0 = ember_ms();
	bool pause;

	if (fcj_parse_vm_state(r->body, r->len, &pause)) {
		fault(a, r->resp, "%s", ember_lasterr());
		return -1;
	}
	if (!started(a)) {
		fault(a, r->resp, POST_BOOT_ONLY);
		return -1;
	}
	if (pause ? instance_pause(a->in) : instance_resume(a->in)) {
		fault(a, r->resp, "Internal VMM error: %s", ember_lasterr());
		return -1;
	}
	log_info(a->log, "'%s vm' VMM action took %.0f us.", pause ? "pause" : "resume",
		 (ember_ms() - t0) * 1000);
	reply(r->resp, 204, NULL);
	return 0;
}

/* --- snapshots ------------------------------------------------------------------ */

static int put_snapshot_create(struct route_ctx *r)
{
	static struct snapshot_create_params p; /* 8 KiB of paths: not on the stack */
	struct api *a = r->a;
	double t0 = ember_ms();

	if (fcj_parse_snapshot_create(r->body, r->len, &p)) {
		fault(a, r->resp, "%s", ember_lasterr());
		return -1;
	}
	if (!started(a)) {
		fault(a, r->resp, POST_BOOT_ONLY);
		return -1;
	}
	if (instance_snapshot(a->in, &p)) {
		fault(a, r->resp, "Create snapshot error: Cannot save the microVM state: %s",
		      ember_lasterr());
		return -1;
	}
	log_info(a->log, "'create %s snapshot' VMM action took %.0f us.", p.diff ? "diff" : "full",
		 (ember_ms() - t0) * 1000);
	reply(r->resp, 204, NULL);
	return 0;
}

static int put_snapshot_load(struct route_ctx *r)
{
	static struct snapshot_load_params p;
	struct api *a = r->a;
	double t0 = ember_ms();

	if (fcj_parse_snapshot_load(r->body, r->len, &p)) {
		fault(a, r->resp, "%s", ember_lasterr());
		return -1;
	}
	if (started(a)) {
		fault(a, r->resp, PRE_BOOT_ONLY);
		return -1;
	}
	if (a->boot_path) {
		fault(a, r->resp, "Load snapshot error: Loading a microVM snapshot not allowed "
				  "after configuring boot-specific resources.");
		return -1;
	}
	deprecation(r);
	if (instance_restore(a->in, &p)) {
		fault(a, r->resp, "Load snapshot error: Failed to restore from snapshot: %s",
		      ember_lasterr());
		return -1;
	}
	log_info(a->log, "'load snapshot' VMM action took %.0f us.", (ember_ms() - t0) * 1000);
	reply(r->resp, 204, NULL);
	return 0;
}

/* --- not implemented -------------------------------------------------------- */

static int unsupported(struct route_ctx *r)
{
	fault(r->a, r->resp,
	      "The requested operation is not supported: ember does not implement %s %s yet",
	      r->req->method_name, r->req->path);
	return -1;
}

/* Firecracker v1.16's hot-unplug (DELETE /drives, /network-interfaces,
 * /pmem/{id}): refused before the start as there; after it, ember has no
 * hot-plug (Firecracker without --enable-pci says "PCI is not enabled"). */
static int delete_device(struct route_ctx *r)
{
	if (!started(r->a)) {
		fault(r->a, r->resp, POST_BOOT_ONLY);
		return -1;
	}
	fault(r->a, r->resp,
	      "The requested operation is not supported: ember does not implement %s %s "
	      "(device hot-unplug)",
	      r->req->method_name, r->req->path);
	return -1;
}

/* --- routing ---------------------------------------------------------------- */

struct route {
	enum http_method method;
	const char *first;  /* first path token */
	const char *second; /* required second token, "*" for an id, NULL for none */
	int (*fn)(struct route_ctx *r);
	enum api_counter counter;
};

static const struct route routes[] = {
	{ HTTP_GET, "", NULL, get_instance_info, API_GET_INSTANCE_INFO },
	{ HTTP_GET, "version", NULL, get_version, API_GET_VMM_VERSION },
	{ HTTP_GET, "machine-config", NULL, get_machine_config, API_GET_MACHINE_CFG },
	{ HTTP_GET, "vm", "config", get_vm_config, API_GET_VM_CONFIG },
	{ HTTP_PUT, "actions", NULL, put_actions, API_PUT_ACTIONS },
	{ HTTP_PUT, "boot-source", NULL, put_boot_source, API_PUT_BOOT_SOURCE },
	{ HTTP_PUT, "drives", "*", put_drive, API_PUT_DRIVE },
	{ HTTP_PUT, "logger", NULL, put_logger, API_PUT_LOGGER },
	{ HTTP_PUT, "machine-config", NULL, put_machine_config, API_PUT_MACHINE_CFG },
	{ HTTP_PUT, "metrics", NULL, put_metrics, API_PUT_METRICS },
	{ HTTP_PUT, "network-interfaces", "*", put_net, API_PUT_NETWORK },
	{ HTTP_PUT, "vsock", NULL, put_vsock, API_PUT_VSOCK },
	{ HTTP_PUT, "entropy", NULL, put_entropy, API_PUT_ENTROPY },
	{ HTTP_PUT, "serial", NULL, put_serial, API_PUT_SERIAL },
	{ HTTP_PATCH, "drives", "*", patch_drive, API_PATCH_DRIVE },
	{ HTTP_PATCH, "network-interfaces", "*", patch_net, API_PATCH_NETWORK },
	{ HTTP_PATCH, "machine-config", NULL, patch_machine_config, API_PATCH_MACHINE_CFG },
	{ HTTP_PATCH, "vm", NULL, patch_vm, API_PATCH_VM },
	{ HTTP_PUT, "snapshot", "create", put_snapshot_create, API_OTHER },
	{ HTTP_PUT, "snapshot", "load", put_snapshot_load, API_OTHER },
	{ HTTP_DELETE, "drives", "*", delete_device, API_OTHER },
	{ HTTP_DELETE, "network-interfaces", "*", delete_device, API_OTHER },
	{ HTTP_DELETE, "pmem", "*", delete_device, API_OTHER },
};

/* Firecracker endpoints ember does not implement (yet): the first path
 * token, any method. */
static const char *const unimplemented[] = {
	"balloon", "mmds", "cpu-config", "pmem", "hotplug",
};

/* Split "/a/b/c" into its first two tokens (leading '/'s skipped, as
 * Firecracker does; later tokens are ignored, as there). */
static void tokens(const char *path, char *first, size_t fcap, char *second, size_t scap,
		   bool *has_second)
{
	const char *p = path, *e;
	size_t n;

	while (*p == '/')
		p++;
	e = strchr(p, '/');
	n = e ? (size_t)(e - p) : strlen(p);
	snprintf(first, fcap, "%.*s", (int)(n < fcap ? n : fcap - 1), p);
	*has_second = false;
	second[0] = '\0';
	if (!e)
		return;
	p = e + 1;
	e = strchr(p, '/');
	n = e ? (size_t)(e - p) : strlen(p);
	if (n == 0)
		return; /* "/drives/" has no id */
	*has_second = true;
	snprintf(second, scap, "%.*s", (int)(n < scap ? n : scap - 1), p);
}

void api_handle(void *ctx, const struct http_request *req, struct api_response *resp)
{
	struct api *a = ctx;
	char first[64], second[CONFIG_ID_MAX + 1];
	bool has_second, has_body = req->body_len > 0;
	struct route_ctx r = {
		.a = a,
		.req = req,
		.resp = resp,
		.body = (const char *)req->body,
		.len = req->body_len,
	};

	if (has_body)
		log_info(
		    a->log, "The API server received a %s request on \"%s\" with body \"%.*s\".",
		    req->method_name, req->path, (int)(req->body_len > 1024 ? 1024 : req->body_len),
		    (const char *)req->body);
	else
		log_info(a->log, "The API server received a %s request on \"%s\".",
			 req->method_name, req->path);
	tokens(req->path, first, sizeof(first), second, sizeof(second), &has_second);

	/* Firecracker's body rules come before the route. */
	if (req->method == HTTP_GET && has_body) {
		fault(a, resp, "GET request cannot have a body.");
		return;
	}
	if (req->method == HTTP_PUT && !has_body) {
		fault(a, resp, "Empty PUT request.");
		return;
	}
	if (req->method == HTTP_PATCH && !has_body) {
		fault(a, resp, "Empty PATCH request.");
		return;
	}
	if (req->method == HTTP_DELETE && has_body) {
		fault(a, resp, "DELETE request cannot have a body.");
		return;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(routes); i++) {
		const struct route *rt = &routes[i];

		if (rt->method != req->method || strcmp(rt->first, first) != 0)
			continue;
		if (rt->second && strcmp(rt->second, "*") != 0 &&
		    (!has_second || strcmp(rt->second, second) != 0))
			continue;
		if (rt->second && strcmp(rt->second, "*") == 0) {
			if (!has_second) {
				a->count[rt->counter]++;
				a->fails[rt->counter]++;
				fault(a, resp, "The ID cannot be empty.");
				return;
			}
			r.id = second;
		}
		a->count[rt->counter]++;
		if (rt->fn(&r) < 0)
			a->fails[rt->counter]++;
		return;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(unimplemented); i++)
		if (strcmp(first, unimplemented[i]) == 0) {
			a->count[API_OTHER]++;
			a->fails[API_OTHER]++;
			unsupported(&r);
			return;
		}
	a->count[API_OTHER]++;
	a->fails[API_OTHER]++;
	fault(a, resp, "Invalid request method and/or path: %s %s.", req->method_name, req->path);
}

/* --- the config file ---------------------------------------------------------- */

int api_load_config_file(struct api *a, const char *path)
{
	struct ember_config tmp = a->in->cfg;
	struct stat st;
	char *buf;
	ssize_t n;
	int fd, err;

	/* A FIFO given as a config file must not hang us: refused unopened. */
	fd = ember_open_input(path, O_RDONLY, false, &st, NULL);
	if (fd < 0)
		return ember_prefixerr(fd, "--config-file %s", path);
	if (st.st_size > CONFIG_FILE_MAX) {
		close(fd);
		return ember_seterr(-EINVAL, "--config-file %s: %lld bytes, over the limit of %u",
				    path, (long long)st.st_size, CONFIG_FILE_MAX);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return ember_seterr(-EIO, "--config-file %s: short read", path);
	}
	buf[n] = '\0';
	err = fcj_load_config_file(&tmp, buf, (size_t)n);
	free(buf);
	if (err)
		return ember_prefixerr(err, "--config-file %s", path);
	/* Metrics from --metrics-path are configured already: only the file's
	 * own section configures them here (a section in the file too is
	 * refused by the loader, as Firecracker refuses a "Reinitialization").
	 * The logger may be configured again. */
	if (tmp.logger.set && logger_configure(a->log, &tmp.logger))
		return ember_prefixerr(-EINVAL, "--config-file %s: logger", path);
	if (tmp.metrics.set && !a->in->cfg.metrics.set &&
	    metrics_configure(a->metrics, tmp.metrics.path))
		return ember_prefixerr(-EINVAL, "--config-file %s: metrics", path);
	a->in->cfg = tmp;
	return 0;
}
