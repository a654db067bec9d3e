// SPDX-License-Identifier: MIT
#include "api/metrics.h"

#include <errno.h>
#include <stddef.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/logger.h"
#include "dev/virtio_blk.h"
#include "dev/virtio_net.h"
#include "dev/virtio_rng.h"
#include "instance.h"
#include "util.h"

void metrics_init(struct metrics *m, struct instance *in, struct api *api, struct logger *log)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->in = in;
	m->api = api;
	m->log = log;
}

int metrics_configure(struct metrics *m, const char *path)
{
	int fd;

	if (m->fd >= 0)
		return ember_seterr(-EBUSY, "Reinitialization of metrics not allowed.");
	fd = logger_open_target(path);
	if (fd < 0)
		return ember_seterr(fd, "cannot open the metrics file %s: %s", path, strerror(-fd));
	m->fd = fd;
	return 0;
}

bool metrics_configured(const struct metrics *m)
{
	return m->fd >= 0;
}

void metrics_close(struct metrics *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

/* The change of an incremental counter since the previous line. */
static uint64_t delta(struct metrics *m, const char *group, const char *name, uint64_t now)
{
	char key[sizeof(m->prev[0].key)];
	unsigned i;

	snprintf(key, sizeof(key), "%s.%s", group, name);
	for (i = 0; i < m->nkeys; i++)
		if (strcmp(m->prev[i].key, key) == 0)
			break;
	if (i == m->nkeys) {
		if (m->nkeys == METRICS_MAX_KEYS)
			return now; /* cannot happen with ember's few devices */
		snprintf(m->prev[i].key, sizeof(m->prev[i].key), "%s", key);
		m->prev[i].value = 0;
		m->nkeys++;
	}
	now -= m->prev[i].value < now ? m->prev[i].value : now;
	m->prev[i].value += now;
	return now;
}

static json_object *group(json_object *root, const char *name)
{
	json_object *g = json_object_new_object();

	json_object_object_add(root, name, g);
	return g;
}

/* An incremental counter: its delta since the last line. */
static void inc(struct metrics *m, json_object *g, const char *gname, const char *name,
		uint64_t now)
{
	json_object_object_add(g, name, json_object_new_uint64(delta(m, gname, name, now)));
}

/* A "store" metric: its current value. */
static void store(json_object *g, const char *name, uint64_t value)
{
	json_object_object_add(g, name, json_object_new_uint64(value));
}

static void api_requests(struct metrics *m, json_object *root)
{
	static const struct {
		const char *group, *name;
		enum api_counter c;
		bool fails;
	} map[] = {
		{ "get_api_requests", "instance_info_count", API_GET_INSTANCE_INFO, false },
		{ "get_api_requests", "machine_cfg_count", API_GET_MACHINE_CFG, false },
		{ "get_api_requests", "vmm_version_count", API_GET_VMM_VERSION, false },
		{ "put_api_requests", "actions_count", API_PUT_ACTIONS, false },
		{ "put_api_requests", "actions_fails", API_PUT_ACTIONS, true },
		{ "put_api_requests", "boot_source_count", API_PUT_BOOT_SOURCE, false },
		{ "put_api_requests", "boot_source_fails", API_PUT_BOOT_SOURCE, true },
		{ "put_api_requests", "drive_count", API_PUT_DRIVE, false },
		{ "put_api_requests", "drive_fails", API_PUT_DRIVE, true },
		{ "put_api_requests", "logger_count", API_PUT_LOGGER, false },
		{ "put_api_requests", "logger_fails", API_PUT_LOGGER, true },
		{ "put_api_requests", "machine_cfg_count", API_PUT_MACHINE_CFG, false },
		{ "put_api_requests", "machine_cfg_fails", API_PUT_MACHINE_CFG, true },
		{ "put_api_requests", "metrics_count", API_PUT_METRICS, false },
		{ "put_api_requests", "metrics_fails", API_PUT_METRICS, true },
		{ "put_api_requests", "network_count", API_PUT_NETWORK, false },
		{ "put_api_requests", "network_fails", API_PUT_NETWORK, true },
		{ "put_api_requests", "vsock_count", API_PUT_VSOCK, false },
		{ "put_api_requests", "vsock_fails", API_PUT_VSOCK, true },
		{ "put_api_requests", "entropy_count", API_PUT_ENTROPY, false },
		{ "put_api_requests", "entropy_fails", API_PUT_ENTROPY, true },
		{ "put_api_requests", "serial_count", API_PUT_SERIAL, false },
		{ "put_api_requests", "serial_fails", API_PUT_SERIAL, true },
		{ "patch_api_requests", "drive_count", API_PATCH_DRIVE, false },
		{ "patch_api_requests", "drive_fails", API_PATCH_DRIVE, true },
		{ "patch_api_requests", "network_count", API_PATCH_NETWORK, false },
		{ "patch_api_requests", "network_fails", API_PATCH_NETWORK, true },
		{ "patch_api_requests", "machine_cfg_count", API_PATCH_MACHINE_CFG, false },
		{ "patch_api_requests", "machine_cfg_fails", API_PATCH_MACHINE_CFG, true },
	};
	json_object *g = NULL;
	const char *cur = "";

	for (unsigned i = 0; i < ARRAY_SIZE(map); i++) {
		uint64_t v = map[i].fails ? m->api->fails[map[i].c] : m->api->count[map[i].c];

		if (strcmp(cur, map[i].group) != 0) {
			cur = map[i].group;
			g = group(root, cur);
		}
		inc(m, g, cur, map[i].name, v);
	}
}

static void vcpu_metrics(struct metrics *m, json_object *root)
{
	struct instance *in = m->in;
	json_object *g = group(root, "vcpu");
	static const char *const names[VCPU_NEXITS] = {
		[VCPU_EXIT_IO_IN] = "exit_io_in",
		[VCPU_EXIT_IO_OUT] = "exit_io_out",
		[VCPU_EXIT_MMIO_READ] = "exit_mmio_read",
		[VCPU_EXIT_MMIO_WRITE] = "exit_mmio_write",
	};

	for (unsigned k = 0; k < VCPU_NEXITS; k++)
		inc(m, g, "vcpu", names[k],
		    in->vm_live && in->vm.vcpus_ready ? vcpus_exits(&in->vm.vcpus, k) : 0);
	inc(m, g, "vcpu", "failures",
	    in->vm_live && in->vm.vcpus_ready && vcpus_stopping(&in->vm.vcpus) &&
		    in->vm.vcpus.exit_status == EMBER_EXIT_GUEST_ERR
		? 1
		: 0);
}

/* A device's counters: a name and where the _Atomic uint64_t sits in its
 * metrics struct. */
struct field {
	const char *name;
	size_t off;
};

#define F(type, name)                                                                              \
	{                                                                                          \
#name, offsetof(type, name)                                                        \
	}

static const struct field blk_fields[] = {
	F(struct virtio_blk_metrics, read_bytes),
	F(struct virtio_blk_metrics, write_bytes),
	F(struct virtio_blk_metrics, read_count),
	F(struct virtio_blk_metrics, write_count),
	F(struct virtio_blk_metrics, flush_count),
	F(struct virtio_blk_metrics, invalid_reqs_count),
	F(struct virtio_blk_metrics, rate_limiter_throttled_events),
	F(struct virtio_blk_metrics, rate_limiter_event_count),
};

static const struct field net_fields[] = {
	F(struct virtio_net_metrics, rx_bytes_count),
	F(struct virtio_net_metrics, rx_packets_count),
	F(struct virtio_net_metrics, tx_bytes_count),
	F(struct virtio_net_metrics, tx_packets_count),
	F(struct virtio_net_metrics, rx_rate_limiter_throttled),
	F(struct virtio_net_metrics, tx_rate_limiter_throttled),
	F(struct virtio_net_metrics, rx_event_rate_limiter_count),
	F(struct virtio_net_metrics, tx_rate_limiter_event_count),
};

static const struct field rng_fields[] = {
	F(struct virtio_rng_metrics, entropy_event_count),
	F(struct virtio_rng_metrics, entropy_bytes),
	F(struct virtio_rng_metrics, host_rng_fails),
	F(struct virtio_rng_metrics, entropy_rate_limiter_throttled),
	F(struct virtio_rng_metrics, rate_limiter_event_count),
};

static uint64_t field_value(const void *metrics, const struct field *f)
{
	const _Atomic uint64_t *p = (const _Atomic uint64_t *)((const char *)metrics + f->off);

	return atomic_load_explicit(p, memory_order_relaxed);
}

/*
 * One device kind: an aggregate group ("block") and one group per device
 * ("block_<id>"), as Firecracker reports them. `metrics_of` gives a
 * device's metrics struct from its slot.
 */
static void device_groups(struct metrics *m, json_object *root, const char *kind, const char *gname,
			  const struct field *fields, unsigned nfields,
			  const void *(*metrics_of)(struct vm_virtio *s),
			  const char *(*id_of)(const struct ember_config *cfg, unsigned i))
{
	struct instance *in = m->in;
	uint64_t sum[16] = { 0 };
	json_object *agg = group(root, gname);

	for (unsigned i = 0; in->vm_live && i < VM_VIRTIO_MAX; i++) {
		struct vm_virtio *s = board_find(&in->vm.board, kind, i);
		char name[CONFIG_ID_MAX + 16];
		json_object *g;

		if (!s)
			break;
		snprintf(name, sizeof(name), "%s_%s", gname, id_of ? id_of(&in->cfg, i) : "");
		g = id_of ? group(root, name) : NULL;
		for (unsigned k = 0; k < nfields; k++) {
			uint64_t v = field_value(metrics_of(s), &fields[k]);

			sum[k] += v;
			if (g)
				inc(m, g, name, fields[k].name, v);
		}
	}
	for (unsigned k = 0; k < nfields; k++)
		inc(m, agg, gname, fields[k].name, sum[k]);
}

static const void *blk_metrics(struct vm_virtio *s)
{
	return &((struct virtio_blk *)s->model)->m;
}

static const void *net_metrics(struct vm_virtio *s)
{
	return &((struct virtio_net *)s->model)->m;
}

static const void *rng_metrics(struct vm_virtio *s)
{
	return &((struct virtio_rng *)s->model)->m;
}

static const char *disk_id(const struct ember_config *cfg, unsigned i)
{
	return cfg->disks[i].id;
}

static const char *net_id(const struct ember_config *cfg, unsigned i)
{
	return cfg->nets[i].id;
}

static void metrics_devices(struct metrics *m, json_object *root)
{
	device_groups(m, root, "blk", "block", blk_fields, ARRAY_SIZE(blk_fields), blk_metrics,
		      disk_id);
	device_groups(m, root, "net", "net", net_fields, ARRAY_SIZE(net_fields), net_metrics,
		      net_id);
	device_groups(m, root, "rng", "entropy", rng_fields, ARRAY_SIZE(rng_fields), rng_metrics,
		      NULL);
}

int metrics_flush(struct metrics *m)
{
	json_object *root, *g;
	struct timespec ts;
	const char *line;
	char *buf;
	size_t len;
	int err = 0;

	if (m->fd < 0)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	root = json_object_new_object();
	json_object_object_add(
	    root, "utc_timestamp_ms",
	    json_object_new_uint64((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000));
	g = group(root, "api_server");
	store(g, "process_startup_time_us", m->startup_us);
	store(g, "process_startup_time_cpu_us", m->startup_cpu_us);
	api_requests(m, root);
	g = group(root, "logger");
	inc(m, g, "logger", "missed_metrics_count", m->missed);
	inc(m, g, "logger", "metrics_fails", m->fails);
	inc(m, g, "logger", "missed_log_count", m->log ? atomic_load(&m->log->missed) : 0);
	vcpu_metrics(m, root);
	g = group(root, "vmm");
	store(g, "panic_count", 0);
	g = group(root, "uart");
	inc(m, g, "uart", "missed_write_count",
	    m->in->vm_live ? atomic_load(&m->in->vm.out.dropped) : 0);
	inc(m, g, "uart", "rate_limiter_dropped_bytes",
	    m->in->vm_live && m->in->vm.board_ready ? atomic_load(&m->in->vm.board.serial_dropped)
						    : 0);
	metrics_devices(m, root);

	line = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	len = strlen(line);
	buf = malloc(len + 1);
	if (buf) {
		memcpy(buf, line, len);
		buf[len] = '\n';
	}
	/* One write per line: a FIFO reader sees whole lines or none. */
	if (!buf || write(m->fd, buf, len + 1) != (ssize_t)(len + 1)) {
		m->fails++;
		m->missed++;
		err = ember_seterr(-EIO, "cannot write the metrics: %s",
				   buf ? strerror(errno) : "out of memory");
	}
	free(buf);
	json_object_put(root);
	return err;
}
