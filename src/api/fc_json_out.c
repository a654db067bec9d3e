// SPDX-License-Identifier: MIT
/*
 * ember's configuration out as Firecracker's JSON: GET /vm/config,
 * GET /machine-config, GET /, GET /version and error bodies, field for
 * field and in the order serde_json prints Firecracker's structs, nulls
 * included (an Option without skip_serializing_if prints null).
 */
#include "api/fc_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/json_strict.h"
#include "util.h"

/* A builder that remembers its first failure: a string that is not UTF-8
 * or an allocation that failed. */
struct out {
	const char *bad;
};

static struct json_object *o_str(struct out *o, const char *field, const char *s)
{
	struct json_object *v;

	if (!js_utf8_valid(s, strlen(s))) {
		if (!o->bad)
			o->bad = field;
		return NULL;
	}
	v = json_object_new_string(s);
	if (!v && !o->bad)
		o->bad = "(out of memory)";
	return v;
}

/* "" is None for the optional strings ember keeps in arrays. */
static struct json_object *o_opt_str(struct out *o, const char *field, const char *s)
{
	return *s ? o_str(o, field, s) : NULL;
}

static struct json_object *o_new(struct out *o, struct json_object *v)
{
	if (!v && !o->bad)
		o->bad = "(out of memory)";
	return v;
}

static void o_add(struct out *o, struct json_object *obj, const char *key, struct json_object *v)
{
	if (!obj || json_object_object_add(obj, key, v) < 0) {
		json_object_put(v);
		if (!o->bad)
			o->bad = "(out of memory)";
	}
}

static struct json_object *o_u64(struct out *o, uint64_t v)
{
	return o_new(o, json_object_new_uint64(v));
}

static struct json_object *o_bool(struct out *o, bool v)
{
	return o_new(o, json_object_new_boolean(v));
}

/* TokenBucketConfig from a live bucket: one_time_burst 0 reads as null. */
static struct json_object *o_bucket(struct out *o, const struct token_bucket_config *tb)
{
	struct json_object *b;

	if (!tb->set)
		return NULL;
	b = o_new(o, json_object_new_object());
	o_add(o, b, "size", o_u64(o, tb->size));
	o_add(o, b, "one_time_burst", tb->one_time_burst ? o_u64(o, tb->one_time_burst) : NULL);
	o_add(o, b, "refill_time", o_u64(o, tb->refill_time_ms));
	return b;
}

/* RateLimiterConfig::into_option(): null when neither bucket limits. */
static struct json_object *o_limiter(struct out *o, const struct rate_limiter_config *rl)
{
	struct json_object *r;

	if (!rl->bandwidth.set && !rl->ops.set)
		return NULL;
	r = o_new(o, json_object_new_object());
	o_add(o, r, "bandwidth", o_bucket(o, &rl->bandwidth));
	o_add(o, r, "ops", o_bucket(o, &rl->ops));
	return r;
}

static struct json_object *o_machine(struct out *o, const struct ember_config *c)
{
	struct json_object *m = o_new(o, json_object_new_object());

	/* MachineConfig's order; cpu_template is skipped when None. */
	o_add(o, m, "vcpu_count", o_u64(o, c->ncpus));
	o_add(o, m, "mem_size_mib", o_u64(o, c->mem_size >> 20));
	o_add(o, m, "smt", o_bool(o, c->smt));
	o_add(o, m, "track_dirty_pages", o_bool(o, c->track_dirty_pages));
	o_add(o, m, "huge_pages",
	      o_str(o, "huge_pages", c->huge_pages == HUGE_PAGES_2M ? "2M" : "None"));
	return m;
}

static struct json_object *o_drive(struct out *o, const struct disk_config *d, bool root)
{
	struct json_object *j = o_new(o, json_object_new_object());

	/* From<VirtioBlockConfig> for BlockDeviceConfig, in its field order. */
	o_add(o, j, "drive_id", o_str(o, "drive_id", d->id));
	o_add(o, j, "partuuid", o_opt_str(o, "partuuid", d->partuuid));
	o_add(o, j, "is_root_device", o_bool(o, root));
	o_add(o, j, "cache_type",
	      o_str(o, "cache_type", d->cache == DISK_CACHE_WRITEBACK ? "Writeback" : "Unsafe"));
	o_add(o, j, "is_read_only", o_bool(o, d->ro));
	o_add(o, j, "path_on_host", o_str(o, "path_on_host", d->path));
	o_add(o, j, "rate_limiter", o_limiter(o, &d->rl));
	o_add(o, j, "io_engine", o_str(o, "io_engine", "Sync"));
	o_add(o, j, "socket", NULL);
	return j;
}

static struct json_object *o_net(struct out *o, const struct net_config *n)
{
	struct json_object *j = o_new(o, json_object_new_object());
	char mac[18];

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1], n->mac[2],
		 n->mac[3], n->mac[4], n->mac[5]);
	o_add(o, j, "iface_id", o_str(o, "iface_id", n->id));
	o_add(o, j, "host_dev_name", o_str(o, "host_dev_name", n->tap));
	o_add(o, j, "guest_mac", n->has_mac ? o_str(o, "guest_mac", mac) : NULL);
	o_add(o, j, "mtu", n->mtu ? o_u64(o, n->mtu) : NULL);
	o_add(o, j, "rx_rate_limiter", o_limiter(o, &n->rx_rl));
	o_add(o, j, "tx_rate_limiter", o_limiter(o, &n->tx_rl));
	return j;
}

/* The text of a finished tree, or NULL with the builder's failure. */
static char *o_finish(struct out *o, struct json_object *root)
{
	char *s = NULL;

	if (!o->bad && root) {
		const char *t = json_object_to_json_string_ext(
		    root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

		s = t ? strdup(t) : NULL;
		if (!s)
			o->bad = "(out of memory)";
	}
	json_object_put(root);
	if (!s)
		ember_seterr(o->bad && o->bad[0] == '(' ? -ENOMEM : -EILSEQ,
			     "cannot write JSON: %s%s", o->bad ? o->bad : "(out of memory)",
			     o->bad && o->bad[0] != '(' ? " is not UTF-8" : "");
	return s;
}

char *fcj_machine_config(const struct ember_config *cfg)
{
	struct out o = { NULL };

	return o_finish(&o, o_machine(&o, cfg));
}

char *fcj_vm_config(const struct ember_config *c)
{
	struct out o = { NULL };
	struct json_object *root = o_new(&o, json_object_new_object());
	struct json_object *boot = o_new(&o, json_object_new_object());
	struct json_object *drives = o_new(&o, json_object_new_array());
	struct json_object *nets = o_new(&o, json_object_new_array());
	struct json_object *vsock = NULL, *entropy = NULL;

	for (unsigned i = 0; drives && i < c->ndisks; i++)
		if (json_object_array_add(drives,
					  o_drive(&o, &c->disks[i], (int)i == c->root_disk)))
			o.bad = "(out of memory)";
	for (unsigned i = 0; nets && i < c->nnets; i++)
		if (json_object_array_add(nets, o_net(&o, &c->nets[i])))
			o.bad = "(out of memory)";
	o_add(&o, boot, "kernel_image_path", o_str(&o, "kernel_image_path", c->kernel));
	o_add(&o, boot, "initrd_path", o_opt_str(&o, "initrd_path", c->initrd));
	/* Firecracker echoes boot_args as given, null when left out; ember
	 * keeps the effective command line, and Firecracker's default reads
	 * back as "left out". */
	o_add(&o, boot, "boot_args",
	      strcmp(c->cmdline, FCJ_DEFAULT_CMDLINE) ? o_str(&o, "boot_args", c->cmdline) : NULL);
	if (c->vsock.enabled) {
		/* vsock_id is never reported (deprecated, skipped when None,
		 * and Firecracker always reads it back as None). */
		vsock = o_new(&o, json_object_new_object());
		o_add(&o, vsock, "guest_cid", o_u64(&o, c->vsock.cid));
		o_add(&o, vsock, "uds_path", o_str(&o, "uds_path", c->vsock.uds));
	}
	if (c->rng.enabled) {
		entropy = o_new(&o, json_object_new_object());
		o_add(&o, entropy, "rate_limiter", o_limiter(&o, &c->rng.rl));
	}
	/* VmmConfig's field order; From<&VmResources> sets logger, metrics and
	 * cpu-config to None, and serial is #[serde(skip)]. */
	o_add(&o, root, "balloon", NULL);
	o_add(&o, root, "drives", drives);
	o_add(&o, root, "boot-source", boot);
	o_add(&o, root, "cpu-config", NULL);
	o_add(&o, root, "logger", NULL);
	o_add(&o, root, "machine-config", o_machine(&o, c));
	o_add(&o, root, "metrics", NULL);
	o_add(&o, root, "mmds-config", NULL);
	o_add(&o, root, "network-interfaces", nets);
	o_add(&o, root, "vsock", vsock);
	o_add(&o, root, "entropy", entropy);
	o_add(&o, root, "pmem", o_new(&o, json_object_new_array()));
	o_add(&o, root, "memory-hotplug", NULL);
	return o_finish(&o, root);
}

char *fcj_instance_info(const char *id, enum fcj_vm_state state, const char *vmm_version)
{
	static const char *const names[] = { "Not started", "Running", "Paused" };
	struct out o = { NULL };
	struct json_object *j = o_new(&o, json_object_new_object());

	/* InstanceInfo's field order; Firecracker's defaults for what is not
	 * given (logging.rs DEFAULT_INSTANCE_ID). */
	if (!id)
		id = "anonymous-instance";
	if (!vmm_version)
		vmm_version = FCJ_FIRECRACKER_VERSION;
	o_add(&o, j, "id", o_str(&o, "id", id));
	o_add(&o, j, "state", o_str(&o, "state", names[state <= FCJ_STATE_PAUSED ? state : 0]));
	o_add(&o, j, "vmm_version", o_str(&o, "vmm_version", vmm_version));
	o_add(&o, j, "app_name", o_str(&o, "app_name", "Firecracker"));
	return o_finish(&o, j);
}

char *fcj_version(void)
{
	struct out o = { NULL };
	struct json_object *j = o_new(&o, json_object_new_object());

	o_add(&o, j, "firecracker_version",
	      o_str(&o, "firecracker_version", FCJ_FIRECRACKER_VERSION));
	return o_finish(&o, j);
}

char *fcj_error(const char *msg)
{
	size_t n = strlen(msg), k = 0;
	struct out o = { NULL };
	struct json_object *j;
	/* Each bad byte becomes the 3 bytes of U+FFFD. */
	char *clean = malloc(3 * n + 1);

	if (!clean) {
		ember_seterr(-ENOMEM, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n;) {
		size_t l = js_utf8_len((const unsigned char *)msg + i, n - i);

		if (l == 0) {
			memcpy(clean + k, "\xef\xbf\xbd", 3);
			k += 3;
			i++;
		} else {
			memcpy(clean + k, msg + i, l);
			k += l;
			i += l;
		}
	}
	clean[k] = '\0';
	j = o_new(&o, json_object_new_object());
	o_add(&o, j, "fault_message", o_str(&o, "fault_message", clean));
	free(clean);
	return o_finish(&o, j);
}
