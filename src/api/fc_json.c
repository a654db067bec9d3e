// SPDX-License-Identifier: MIT
/*
 * Firecracker request bodies and config file into struct ember_config, and
 * back out. Each endpoint is a parse step (types and field names, serde's
 * job in Firecracker: its errors carry serde's prefix) and an apply step
 * (Firecracker's validation, on a copy of the config: its errors carry the
 * VmmActionError category, "Drive config error: ..."). The config file runs
 * every section's parse step, then the apply steps in Firecracker's order.
 * Requests hold pointers into the parsed tree, which lives until applied.
 * The way back out, as JSON, is fc_json_out.c.
 */
#include "api/fc_json.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api/json_strict.h"
#include "snapshot/snapshot.h"
#include "util.h"

_Static_assert(FCJ_MAX_JSON == JS_MAX_BYTES, "one limit for JSON text");

/* The fuzz build confines the file checks to its scratch directory: a
 * mutated path must never open, say, /dev/watchdog (tests/fuzz/fuzz.mk). */
#ifdef FCJ_OPEN
int FCJ_OPEN(const char *path, int flags);
#define FCJ_OPEN_FN FCJ_OPEN
#else
#define FCJ_OPEN_FN NULL /* open(2) */
#endif

/* parsed_request.rs: RequestError::SerdeJson's message. */
#define SERDE_PREFIX "An error occurred when deserializing the json body of a request"
/* An internal code: the message is Firecracker's whole fault message
 * ("Empty PATCH request."), not to be prefixed. Returned as -EINVAL. */
#define FINAL_MSG (-ENODATA)
#define SECTOR	  512u

#define N(a) ARRAY_SIZE(a)

void fcj_init(struct ember_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_size = (uint64_t)FCJ_DEFAULT_MEM_MIB << 20;
	cfg->ncpus = 1;
	cfg->thp = true;
	cfg->root_disk = -1;
	cfg->console = CONSOLE_UART;
	cfg->logger.level = LOG_INFO; /* logging.rs DEFAULT_LEVEL */
	strcpy(cfg->cmdline, FCJ_DEFAULT_CMDLINE);
}

/* ---- shared pieces ---- */

static int copy_str(char *dst, size_t cap, const char *s, const char *field)
{
	size_t n = strlen(s);

	if (n >= cap) {
		char q[80];

		js_quote(q, sizeof(q), s, n);
		return ember_seterr(-EINVAL, "%s \"%s\" is %zu bytes, over ember's limit of %zu",
				    field, q, n, cap - 1);
	}
	memcpy(dst, s, n + 1);
	return 0;
}

/* A body id (drive_id, iface_id): Firecracker takes any string here (the
 * path's id is checked, and must equal it); ember's fixed arrays hold 64
 * bytes, and an empty id would mean "no id" to the rest of ember. */
static int copy_id(char *dst, const char *s, const char *field)
{
	if (!*s)
		return ember_seterr(-EINVAL, "%s is empty", field);
	return copy_str(dst, CONFIG_ID_MAX, s, field);
}

/* parsed_request.rs checked_id(): the {id} of a request path. */
static int check_path_id(const char *id)
{
	char q[80];

	if (!id || !*id)
		return ember_seterr(FINAL_MSG, "The ID cannot be empty.");
	for (const char *p = id; *p; p++) {
		/* Firecracker's is_alphanumeric() is Unicode's; ember's ids are
		 * ASCII, as every client in practice sends. */
		if (!(*p == '_' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z'))) {
			js_quote(q, sizeof(q), id, strlen(id));
			return ember_seterr(FINAL_MSG,
					    "API Resource IDs can only contain alphanumeric "
					    "characters and underscores (got \"%s\").",
					    q);
		}
	}
	if (strlen(id) >= CONFIG_ID_MAX) {
		js_quote(q, sizeof(q), id, strlen(id));
		return ember_seterr(FINAL_MSG,
				    "The ID \"%s\" is %zu bytes, over ember's limit of %d.", q,
				    strlen(id), CONFIG_ID_MAX - 1);
	}
	return 0;
}

int fcj_check_file(const char *path, enum fcj_file_kind kind, bool read_only)
{
	char why[EMBER_ERRMSG_MAX];
	struct stat st;
	uint64_t size;
	int fd, err;

	/* Read-only even for a writable drive: a block device opened for
	 * writing makes udev re-probe it on close. Writability is asked of the
	 * file system instead, below. ember_open_input() neither blocks on a
	 * FIFO nor opens a device node that is not an input. */
	fd = ember_open_input(path, O_RDONLY, kind == FCJ_FILE_DRIVE, &st, FCJ_OPEN_FN);
	if (fd < 0) {
		snprintf(why, sizeof(why), "%s", ember_lasterr());
		return ember_seterr(fd, "%s: %s", why, path);
	}
	if (kind != FCJ_FILE_DRIVE) {
		close(fd);
		return 0;
	}
	size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &size) < 0) {
		err = -errno;
		close(fd);
		return ember_seterr(err, "block device size: %s: %s", strerror(-err), path);
	}
	close(fd);
	/* Empty is fine: Kata's placeholder drives are empty files that a
	 * PATCH later points at a real image, and Firecracker accepts them. */
	if (size % SECTOR)
		return ember_seterr(-EINVAL,
				    "size %llu bytes is not a multiple of 512 (ember's "
				    "virtio-blk exposes whole sectors only): %s",
				    (unsigned long long)size, path);
	if (!read_only && faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) < 0)
		return ember_seterr(-errno, "not writable (is_read_only is false): %s: %s",
				    strerror(errno), path);
	return 0;
}

/* A file check's error as a 400: Firecracker answers every configuration
 * error with Bad Request, whatever the errno. */
static int file_err(int err, const char *what)
{
	return ember_prefixerr(err == -ENOMEM ? err : -EINVAL, "%s", what);
}

/* ---- rate limiters (vmm_config/mod.rs) ---- */

/*
 * TokenBucketConfig: size and refill_time required, one_time_burst optional;
 * unknown fields ignored (it lacks deny_unknown_fields). A bucket that
 * TokenBucket::new() turns down (size 0, refill_time 0, or a refill time in
 * ns past 64 bits) limits nothing and reads back as absent, so it is stored
 * unset.
 */
static int tb_parse(struct json_object *v, const char *path, struct token_bucket_config *tb)
{
	uint64_t size, burst = 0, refill;
	int err;

	if ((err = js_object(v, path, "struct TokenBucketConfig")) ||
	    (err = js_uint(v, path, "size", JS_REQUIRED, UINT64_MAX, "u64", &size, NULL)) ||
	    (err =
		 js_uint(v, path, "one_time_burst", JS_OPTION, UINT64_MAX, "u64", &burst, NULL)) ||
	    (err = js_uint(v, path, "refill_time", JS_REQUIRED, UINT64_MAX, "u64", &refill, NULL)))
		return err;
	memset(tb, 0, sizeof(*tb));
	if (size && refill && refill <= UINT64_MAX / 1000000) {
		tb->set = true;
		tb->size = size;
		tb->one_time_burst = burst;
		tb->refill_time_ms = refill;
	}
	return 0;
}

struct rl_in {
	bool given, bw_given, ops_given;
	struct rate_limiter_config rl;
};

/* An optional RateLimiterConfig field (deny_unknown_fields). */
static int rl_field(struct json_object *obj, const char *path, const char *key, struct rl_in *r)
{
	static const char *const known[] = { "bandwidth", "ops" };
	char sub[160], sub2[176];
	struct json_object *v, *b;
	int err;

	memset(r, 0, sizeof(*r));
	v = js_field(obj, path, key, JS_OPTION, "struct RateLimiterConfig", &err);
	if (err || !v)
		return err;
	js_subpath(sub, sizeof(sub), path, key);
	if ((err = js_object(v, sub, "struct RateLimiterConfig")) ||
	    (err = js_known(v, sub, known, N(known))))
		return err;
	r->given = true;
	b = js_field(v, sub, "bandwidth", JS_OPTION, "struct TokenBucketConfig", &err);
	if (err)
		return err;
	if (b) {
		js_subpath(sub2, sizeof(sub2), sub, "bandwidth");
		if ((err = tb_parse(b, sub2, &r->rl.bandwidth)))
			return err;
		r->bw_given = true;
	}
	b = js_field(v, sub, "ops", JS_OPTION, "struct TokenBucketConfig", &err);
	if (err)
		return err;
	if (b) {
		js_subpath(sub2, sizeof(sub2), sub, "ops");
		if ((err = tb_parse(b, sub2, &r->rl.ops)))
			return err;
		r->ops_given = true;
	}
	return 0;
}

/* RateLimiterUpdate::from(): what a PATCH does to each bucket. */
static void rl_to_update(const struct rl_in *r, struct fcj_rl_update *u)
{
	memset(u, 0, sizeof(*u));
	u->rl = r->rl;
	u->bandwidth_op = !r->bw_given		? FCJ_BUCKET_KEEP
			  : r->rl.bandwidth.set ? FCJ_BUCKET_SET
						: FCJ_BUCKET_DISABLE;
	u->ops_op = !r->ops_given   ? FCJ_BUCKET_KEEP
		    : r->rl.ops.set ? FCJ_BUCKET_SET
				    : FCJ_BUCKET_DISABLE;
}

struct rate_limiter_config fcj_rl_config(const struct fcj_rl_update *u)
{
	struct rate_limiter_config rl = { 0 };

	if (u->bandwidth_op == FCJ_BUCKET_SET)
		rl.bandwidth = u->rl.bandwidth;
	if (u->ops_op == FCJ_BUCKET_SET)
		rl.ops = u->rl.ops;
	/* DISABLE: a set bucket of size 0 (config_rl_update() removes it). */
	rl.bandwidth.set = u->bandwidth_op != FCJ_BUCKET_KEEP;
	rl.ops.set = u->ops_op != FCJ_BUCKET_KEEP;
	if (u->bandwidth_op == FCJ_BUCKET_DISABLE)
		rl.bandwidth.size = 0;
	if (u->ops_op == FCJ_BUCKET_DISABLE)
		rl.ops.size = 0;
	return rl;
}

bool fcj_rl_changes(const struct fcj_rl_update *u)
{
	return u->bandwidth_op != FCJ_BUCKET_KEEP || u->ops_op != FCJ_BUCKET_KEEP;
}

/* ---- boot-source (vmm_config/boot_source.rs) ---- */

struct boot_req {
	const char *kernel, *initrd, *args; /* initrd, args: NULL when absent */
};

static int boot_parse(struct json_object *o, const char *path, void *req)
{
	static const char *const known[] = { "kernel_image_path", "initrd_path", "boot_args" };
	struct boot_req *r = req;
	int err;

	memset(r, 0, sizeof(*r));
	if ((err = js_object(o, path, "struct BootSourceConfig")) ||
	    (err = js_known(o, path, known, N(known))) ||
	    (err = js_strp(o, path, "kernel_image_path", JS_REQUIRED, &r->kernel, NULL)) ||
	    (err = js_strp(o, path, "initrd_path", JS_OPTION, &r->initrd, NULL)) ||
	    (err = js_strp(o, path, "boot_args", JS_OPTION, &r->args, NULL)))
		return err;
	return 0;
}

/* BootConfig::new(): open the kernel, then the initrd, then check the
 * command line the way linux-loader's Cmdline does (printable ASCII, room
 * for the NUL in 2048 bytes). */
static int boot_apply(struct ember_config *c, void *req)
{
	const struct boot_req *r = req;
	int err;

	if ((err = copy_str(c->kernel, sizeof(c->kernel), r->kernel, "kernel_image_path")))
		return err;
	if ((err = fcj_check_file(c->kernel, FCJ_FILE_KERNEL, true)))
		return file_err(err, "kernel_image_path: The kernel file cannot be opened");
	c->initrd[0] = '\0';
	if (r->initrd) {
		if ((err = copy_str(c->initrd, sizeof(c->initrd), r->initrd, "initrd_path")))
			return err;
		if ((err = fcj_check_file(c->initrd, FCJ_FILE_INITRD, true)))
			return file_err(err, "initrd_path: The initrd file cannot be opened");
	}
	if (!r->args) {
		strcpy(c->cmdline, FCJ_DEFAULT_CMDLINE);
		return 0;
	}
	for (const char *p = r->args; *p; p++)
		if (*p < ' ' || *p > '~')
			return ember_seterr(-EINVAL,
					    "boot_args: The kernel command line is invalid: byte "
					    "0x%02x at offset %zu is not printable ASCII",
					    (unsigned char)*p, (size_t)(p - r->args));
	if (strlen(r->args) >= sizeof(c->cmdline))
		return ember_seterr(-EINVAL,
				    "boot_args: The kernel command line is invalid: %zu bytes is "
				    "over the limit of %zu",
				    strlen(r->args), sizeof(c->cmdline) - 1);
	strcpy(c->cmdline, r->args);
	return 0;
}

/* ---- machine-config (vmm_config/machine_config.rs) ---- */

static const char *const cpu_templates[] = { "C3", "T2", "T2S", "None", "T2CL", "T2A" };
#define TEMPLATE_NONE 3
static const char *const huge_page_names[] = { "None", "2M" };

struct mc_req {
	bool put; /* PUT (MachineConfig) or PATCH (MachineConfigUpdate) */
	bool has_vcpus, has_mem, has_smt, has_dirty, has_huge, has_template;
	uint64_t vcpus, mib;
	bool smt, dirty;
	unsigned huge, template;
};

static int mc_parse(struct json_object *o, const char *path, struct mc_req *r)
{
	static const char *const known[] = { "vcpu_count",   "mem_size_mib",	  "smt",
					     "cpu_template", "track_dirty_pages", "huge_pages" };
	/* MachineConfig: counts required, the rest #[serde(default)] (null is
	 * a type error); cpu_template is an Option either way. In
	 * MachineConfigUpdate every field is an Option. */
	enum js_need req = r->put ? JS_REQUIRED : JS_OPTION;
	enum js_need def = r->put ? JS_DEFAULT : JS_OPTION;
	int err;

	if ((err = js_object(o, path,
			     r->put ? "struct MachineConfig" : "struct MachineConfigUpdate")) ||
	    (err = js_known(o, path, known, N(known))) ||
	    (err =
		 js_uint(o, path, "vcpu_count", req, UINT8_MAX, "u8", &r->vcpus, &r->has_vcpus)) ||
	    (err = js_uint(o, path, "mem_size_mib", req, UINT64_MAX, "usize", &r->mib,
			   &r->has_mem)) ||
	    (err = js_bool(o, path, "smt", def, &r->smt, &r->has_smt)) ||
	    (err = js_variant(o, path, "cpu_template", JS_OPTION, cpu_templates, N(cpu_templates),
			      &r->template, &r->has_template)) ||
	    (err = js_bool(o, path, "track_dirty_pages", def, &r->dirty, &r->has_dirty)) ||
	    (err = js_variant(o, path, "huge_pages", def, huge_page_names, N(huge_page_names),
			      &r->huge, &r->has_huge)))
		return err;
	if (r->put) {
		/* MachineConfigUpdate::from(MachineConfig): every field but
		 * the template is given, the defaulted ones as their default. */
		r->has_smt = r->has_dirty = r->has_huge = true;
	} else if (!r->has_vcpus && !r->has_mem && !r->has_smt && !r->has_template &&
		   !r->has_dirty && !r->has_huge) {
		return ember_seterr(FINAL_MSG, "Empty PATCH request.");
	}
	return 0;
}

static int mc_put_parse(struct json_object *o, const char *path, void *req)
{
	struct mc_req *r = req;

	memset(r, 0, sizeof(*r));
	r->put = true;
	return mc_parse(o, path, r);
}

static int mc_patch_parse(struct json_object *o, const char *path, void *req)
{
	struct mc_req *r = req;

	memset(r, 0, sizeof(*r));
	return mc_parse(o, path, r);
}

/* MachineConfig::update(): the new values over the current ones, checked
 * together. Returns 1 when the deprecated cpu_template was given. */
static int mc_apply(struct ember_config *c, void *req)
{
	const struct mc_req *r = req;
	uint64_t vcpus = r->has_vcpus ? r->vcpus : c->ncpus;
	uint64_t mib = r->has_mem ? r->mib : c->mem_size >> 20;
	bool smt = r->has_smt ? r->smt : c->smt;
	enum huge_pages huge = r->has_huge ? (enum huge_pages)r->huge : c->huge_pages;

	if (r->has_template && r->template != TEMPLATE_NONE)
		return ember_seterr(-EINVAL,
				    "cpu_template \"%s\": CPU templates are not supported by ember "
				    "(only \"None\")",
				    cpu_templates[r->template]);
	if (vcpus == 0 || vcpus > FCJ_MAX_VCPUS || (smt && vcpus > 1 && vcpus % 2))
		return ember_seterr(-EINVAL,
				    "vcpu_count %llu (smt %s): The number of vCPUs must be from 1 "
				    "to %d, and 1 or an even number if SMT is enabled.",
				    (unsigned long long)vcpus, smt ? "true" : "false",
				    FCJ_MAX_VCPUS);
	if (mib == 0 || (huge == HUGE_PAGES_2M && mib % 2))
		return ember_seterr(-EINVAL,
				    "mem_size_mib %llu (huge_pages %s): The memory size (MiB) is "
				    "either 0, or not a multiple of the configured page size.",
				    (unsigned long long)mib, huge_page_names[huge]);
	if (mib > CONFIG_MAX_MEMORY >> 20)
		return ember_seterr(-EINVAL, "mem_size_mib %llu: over ember's limit of %llu MiB",
				    (unsigned long long)mib,
				    (unsigned long long)(CONFIG_MAX_MEMORY >> 20));
	c->ncpus = (unsigned)vcpus;
	c->mem_size = mib << 20;
	c->smt = smt;
	c->huge_pages = huge;
	if (r->has_dirty)
		c->track_dirty_pages = r->dirty;
	return r->has_template;
}

/* ---- drives (vmm_config/drive.rs) ---- */

static const char *const cache_names[] = { "Unsafe", "Writeback" };
static const char *const engine_names[] = { "Async", "Sync" };
#define ENGINE_SYNC 1

struct drive_req {
	const char *id, *partuuid, *path, *socket; /* all but id: NULL when absent */
	bool root, ro, has_engine;
	unsigned cache, engine;
	struct rl_in rl;
};

static int drive_parse(struct json_object *o, const char *path, void *req)
{
	static const char *const known[] = { "drive_id",     "partuuid",     "is_root_device",
					     "cache_type",   "is_read_only", "path_on_host",
					     "rate_limiter", "io_engine",    "socket" };
	struct drive_req *r = req;
	int err;

	memset(r, 0, sizeof(*r));
	r->cache = DISK_CACHE_UNSAFE; /* CacheType's #[default] */
	if ((err = js_object(o, path, "struct BlockDeviceConfig")) ||
	    (err = js_known(o, path, known, N(known))) ||
	    (err = js_strp(o, path, "drive_id", JS_REQUIRED, &r->id, NULL)) ||
	    (err = js_strp(o, path, "partuuid", JS_OPTION, &r->partuuid, NULL)) ||
	    (err = js_bool(o, path, "is_root_device", JS_REQUIRED, &r->root, NULL)) ||
	    (err = js_variant(o, path, "cache_type", JS_DEFAULT, cache_names, N(cache_names),
			      &r->cache, NULL)) ||
	    (err = js_bool(o, path, "is_read_only", JS_OPTION, &r->ro, NULL)) ||
	    (err = js_strp(o, path, "path_on_host", JS_OPTION, &r->path, NULL)) ||
	    (err = rl_field(o, path, "rate_limiter", &r->rl)) ||
	    (err = js_variant(o, path, "io_engine", JS_OPTION, engine_names, N(engine_names),
			      &r->engine, &r->has_engine)) ||
	    (err = js_strp(o, path, "socket", JS_OPTION, &r->socket, NULL)))
		return err;
	return 0;
}

static const char *drive_id(const void *req)
{
	return ((const struct drive_req *)req)->id;
}

static int find_disk(const struct ember_config *c, const char *id)
{
	for (unsigned i = 0; i < c->ndisks; i++)
		if (strcmp(c->disks[i].id, id) == 0)
			return (int)i;
	return -1;
}

/* BlockBuilder::insert(): at most one root device, always first; an update
 * keeps its slot unless it becomes the root, which swaps it to the front. */
static int drive_apply(struct ember_config *c, void *req)
{
	const struct drive_req *r = req;
	struct disk_config d;
	int pos, err;

	memset(&d, 0, sizeof(d));
	if ((err = copy_id(d.id, r->id, "drive_id")))
		return err;
	pos = find_disk(c, d.id);
	if (r->root && c->root_disk >= 0 && pos != c->root_disk)
		return ember_seterr(-EINVAL,
				    "is_root_device: A root block device already exists! (drive "
				    "\"%s\"; the root device is \"%s\")",
				    d.id, c->disks[c->root_disk].id);
	/* Block::new(): a virtio-block drive needs path_on_host and no
	 * socket; anything else would be vhost-user-block, which ember has
	 * not got. */
	if (r->socket)
		return ember_seterr(-EINVAL,
				    "socket: vhost-user-block drives are not supported by ember "
				    "(use path_on_host)");
	if (!r->path)
		return ember_seterr(-EINVAL, "path_on_host: missing: Unable to create the virtio "
					     "block device: Invalid block config.");
	if (r->has_engine && r->engine != ENGINE_SYNC)
		return ember_seterr(-EINVAL,
				    "io_engine \"%s\": not supported by ember, which has one "
				    "synchronous engine (use \"Sync\")",
				    engine_names[r->engine]);
	if ((err = copy_str(d.path, sizeof(d.path), r->path, "path_on_host")))
		return err;
	if (r->partuuid && *r->partuuid &&
	    (err = copy_str(d.partuuid, sizeof(d.partuuid), r->partuuid, "partuuid")))
		return err;
	d.ro = r->ro;
	d.cache = (enum disk_cache)r->cache;
	d.rl = r->rl.rl;
	if ((err = fcj_check_file(d.path, FCJ_FILE_DRIVE, d.ro)))
		return file_err(err, "path_on_host: Unable to create the virtio block device");
	if (pos < 0) {
		if (c->ndisks >= CONFIG_MAX_DISKS)
			return ember_seterr(-EINVAL, "drive_id \"%s\": ember has at most %d drives",
					    d.id, CONFIG_MAX_DISKS);
		if (r->root) {
			memmove(&c->disks[1], &c->disks[0], c->ndisks * sizeof(c->disks[0]));
			c->disks[0] = d;
			c->root_disk = 0;
		} else {
			c->disks[c->ndisks] = d;
		}
		c->ndisks++;
		return 0;
	}
	c->disks[pos] = d;
	if (r->root) {
		if (pos != 0) {
			c->disks[pos] = c->disks[0];
			c->disks[0] = d;
		}
		c->root_disk = 0;
	} else if (pos == c->root_disk) {
		c->root_disk = -1;
	}
	return 0;
}

/* ---- network-interfaces (vmm_config/net.rs) ---- */

struct net_req {
	const char *id, *tap;
	bool has_mac, has_mtu;
	uint8_t mac[6];
	uint64_t mtu;
	struct rl_in rx, tx;
};

/* MacAddr::from_str(): six colon-separated pairs of hex digits. Any
 * address, as Firecracker takes (a multicast one included). */
static bool parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++, s += 3) {
		unsigned v = 0;

		for (int k = 0; k < 2; k++) {
			char c = s[k];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v |= (unsigned)(c - 'A' + 10);
			else
				return false;
		}
		if (s[2] != (i == 5 ? '\0' : ':'))
			return false;
		mac[i] = (uint8_t)v;
	}
	return true;
}

static int net_parse(struct json_object *o, const char *path, void *req)
{
	static const char *const known[] = { "iface_id", "host_dev_name",   "guest_mac",
					     "mtu",	 "rx_rate_limiter", "tx_rate_limiter" };
	struct net_req *r = req;
	const char *mac = NULL;
	int err;

	memset(r, 0, sizeof(*r));
	if ((err = js_object(o, path, "struct NetworkInterfaceConfig")) ||
	    (err = js_known(o, path, known, N(known))) ||
	    (err = js_strp(o, path, "iface_id", JS_REQUIRED, &r->id, NULL)) ||
	    (err = js_strp(o, path, "host_dev_name", JS_REQUIRED, &r->tap, NULL)) ||
	    (err = js_strp(o, path, "guest_mac", JS_OPTION, &mac, &r->has_mac)) ||
	    (err = js_uint(o, path, "mtu", JS_OPTION, UINT16_MAX, "u16", &r->mtu, &r->has_mtu)) ||
	    (err = rl_field(o, path, "rx_rate_limiter", &r->rx)) ||
	    (err = rl_field(o, path, "tx_rate_limiter", &r->tx)))
		return err;
	if (mac && !parse_mac(mac, r->mac)) {
		char q[80];

		js_quote(q, sizeof(q), mac, strlen(mac));
		return js_err(path, "guest_mac", "The provided MAC address is invalid: \"%s\"", q);
	}
	return 0;
}

static const char *net_id(const void *req)
{
	return ((const struct net_req *)req)->id;
}

/* Linux's dev_valid_name(): what TUNSETIFF would refuse, refused now. */
static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '/' || c == ':' || c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0)
			return false;
	}
	return true;
}

/* NetBuilder::build(): MACs unique across interfaces (the same id is an
 * update); an update is swap_remove() and push, so it moves to the end. */
static int net_apply(struct ember_config *c, void *req)
{
	const struct net_req *r = req;
	struct net_config n;
	int pos = -1, err;

	memset(&n, 0, sizeof(n));
	if ((err = copy_id(n.id, r->id, "iface_id")))
		return err;
	for (unsigned i = 0; i < c->nnets; i++)
		if (strcmp(c->nets[i].id, n.id) == 0)
			pos = (int)i;
	if (r->has_mac) {
		for (unsigned i = 0; i < c->nnets; i++) {
			const uint8_t *m = c->nets[i].mac;

			if ((int)i != pos && c->nets[i].has_mac && !memcmp(m, r->mac, 6))
				return ember_seterr(-EINVAL,
						    "guest_mac: The MAC address is already in use: "
						    "%02x:%02x:%02x:%02x:%02x:%02x (by \"%s\")",
						    m[0], m[1], m[2], m[3], m[4], m[5],
						    c->nets[i].id);
		}
	}
	if (!valid_ifname(r->tap)) {
		char q[80];

		js_quote(q, sizeof(q), r->tap, strlen(r->tap));
		return ember_seterr(-EINVAL,
				    "host_dev_name \"%s\": Could not create the network device: "
				    "Invalid interface name (1-15 bytes, no '/', ':' or spaces)",
				    q);
	}
	/* Firecracker finds a shared TAP when the second TUNSETIFF fails; ember
	 * opens TAPs at boot, so it looks now. */
	for (unsigned i = 0; i < c->nnets; i++)
		if ((int)i != pos && strcmp(c->nets[i].tap, r->tap) == 0)
			return ember_seterr(-EINVAL,
					    "host_dev_name \"%s\": Could not create the network "
					    "device: the TAP is already used by \"%s\"",
					    r->tap, c->nets[i].id);
	if (r->has_mtu && r->mtu < 68)
		return ember_seterr(-EINVAL,
				    "mtu %llu: Could not create the network device: MTU is out of "
				    "range [68, 65535]",
				    (unsigned long long)r->mtu);
	strcpy(n.tap, r->tap);
	n.has_mac = r->has_mac;
	memcpy(n.mac, r->mac, 6);
	n.mtu = (uint16_t)r->mtu;
	n.rx_rl = r->rx.rl;
	n.tx_rl = r->tx.rl;
	if (pos >= 0) {
		c->nets[pos] = c->nets[c->nnets - 1];
		c->nnets--;
	} else if (c->nnets >= CONFIG_MAX_NETS) {
		return ember_seterr(-EINVAL,
				    "iface_id \"%s\": ember has at most %d network "
				    "interfaces",
				    n.id, CONFIG_MAX_NETS);
	}
	c->nets[c->nnets++] = n;
	return 0;
}

/* ---- vsock (vmm_config/vsock.rs) ---- */

struct vsock_req {
	const char *id, *uds;
	uint64_t cid;
};

static int vsock_parse(struct json_object *o, const char *path, void *req)
{
	static const char *const known[] = { "vsock_id", "guest_cid", "uds_path" };
	struct vsock_req *r = req;
	int err;

	memset(r, 0, sizeof(*r));
	if ((err = js_object(o, path, "struct VsockDeviceConfig")) ||
	    (err = js_known(o, path, known, N(known))) ||
	    (err = js_strp(o, path, "vsock_id", JS_OPTION, &r->id, NULL)) ||
	    (err = js_uint(o, path, "guest_cid", JS_REQUIRED, UINT32_MAX, "u32", &r->cid, NULL)) ||
	    (err = js_strp(o, path, "uds_path", JS_REQUIRED, &r->uds, NULL)))
		return err;
	return 0;
}

/* Returns 1 when the deprecated vsock_id was given. */
static int vsock_apply(struct ember_config *c, void *req)
{
	const struct vsock_req *r = req;
	struct vsock_config v;
	int err;

	memset(&v, 0, sizeof(v));
	/* The API's minimum (firecracker.yaml): 0-2 are the hypervisor, the
	 * loopback and the host. -1U is VMADDR_CID_ANY. */
	if (r->cid < 3 || r->cid == UINT32_MAX)
		return ember_seterr(-EINVAL,
				    "guest_cid %llu: must be from 3 to 4294967294 (0-2 are "
				    "reserved, 4294967295 is VMADDR_CID_ANY)",
				    (unsigned long long)r->cid);
	if (!*r->uds)
		return ember_seterr(-EINVAL, "uds_path is empty");
	/* A sun_path; guest-initiated connections to "<uds_path>_<port>" that
	 * do not fit fail at connect time, as in Firecracker. */
	if ((err = copy_str(v.uds, sizeof(v.uds), r->uds, "uds_path")))
		return err;
	if (r->id && (err = copy_str(v.id, sizeof(v.id), r->id, "vsock_id")))
		return err;
	v.enabled = true;
	v.cid = r->cid;
	c->vsock = v;
	return r->id != NULL;
}

/* ---- entropy (vmm_config/entropy.rs) ---- */

static int entropy_parse(struct json_object *o, const char *path, void *req)
{
	static const char *const known[] = { "rate_limiter" };
	int err;

	if ((err = js_object(o, path, "struct EntropyDeviceConfig")) ||
	    (err = js_known(o, path, known, N(known))))
		return err;
	return rl_field(o, path, "rate_limiter", req);
}

static int entropy_apply(struct ember_config *c, void *req)
{
	const struct rl_in *r = req;

	c->rng.enabled = true;
	c->rng.rl = r->rl;
	return 0;
}

/* ---- logger (logger/logging.rs) ---- */

int fcj_parse_level(const char *s, enum log_level *out)
{
	/* LevelFilter's own Deserialize: any case, "warn" or "warning". */
	static const struct {
		const char *name;
		enum log_level level;
	} levels[] = { { "off", LOG_OFF },    { "trace", LOG_TRACE }, { "debug", LOG_DEBUG },
		       { "info", LOG_INFO },  { "warn", LOG_WARN },   { "warning", LOG_WARN },
		       { "error", LOG_ERROR } };

	for (size_t i = 0; i < N(levels); i++) {
		if (strcasecmp(s, levels[i].name) == 0) {
			*out = levels[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

struct logger_req {
	const char *path, *level, *module;
	bool has_show_level, show_level, has_show_origin, show_origin;
	enum log_level lvl;
};

static int logger_parse(struct json_object *o, const char *path, void *req)
{
	static const char *const known[] = { "log_path", "level", "show_level", "show_log_origin",
					     "module" };
	struct logger_req *r = req;
	int err;

	memset(r, 0, sizeof(*r));
	r->lvl = LOG_INFO;
	if ((err = js_object(o, path, "struct LoggerConfig")) ||
	    (err = js_known(o, path, known, N(known))) ||
	    (err = js_strp(o, path, "log_path", JS_OPTION, &r->path, NULL)) ||
	    (err = js_strp(o, path, "level", JS_OPTION, &r->level, NULL)) ||
	    (err = js_bool(o, path, "show_level", JS_OPTION, &r->show_level, &r->has_show_level)) ||
	    (err = js_bool(o, path, "show_log_origin", JS_OPTION, &r->show_origin,
			   &r->has_show_origin)) ||
	    (err = js_strp(o, path, "module", JS_OPTION, &r->module, NULL)))
		return err;
	if (r->level) {
		char q[80];

		if (fcj_parse_level(r->level, &r->lvl) == 0)
			return 0;

		js_quote(q, sizeof(q), r->level, strlen(r->level));
		return js_err(path, "level",
			      "Invalid LevelFilter \"%s\" (Off, Error, Warning, Info, Debug or "
			      "Trace)",
			      q);
	}
	return 0;
}

/* Logger::update(): the level is reset to Info when absent; every other
 * setting changes only when given. */
static int logger_apply(struct ember_config *c, void *req)
{
	const struct logger_req *r = req;
	int err;

	if (r->path) {
		if (!*r->path)
			return ember_seterr(-EINVAL, "log_path is empty: Failed to open target "
						     "file");
		if ((err = copy_str(c->logger.path, sizeof(c->logger.path), r->path, "log_path")))
			return err;
	}
	if (r->module &&
	    (err = copy_str(c->logger.module, sizeof(c->logger.module), r->module, "module")))
		return err;
	c->logger.level = r->lvl;
	if (r->has_show_level)
		c->logger.show_level = r->show_level;
	if (r->has_show_origin)
		c->logger.show_log_origin = r->show_origin;
	c->logger.set = true;
	return 0;
}

/* ---- metrics (vmm_config/metrics.rs) ---- */

static int metrics_parse(struct json_object *o, const char *path, void *req)
{
	int err;

	/* MetricsConfig has no deny_unknown_fields: other keys are ignored. */
	if ((err = js_object(o, path, "struct MetricsConfig")))
		return err;
	return js_strp(o, path, "metrics_path", JS_REQUIRED, req, NULL);
}

static int metrics_apply(struct ember_config *c, void *req)
{
	const char *path = *(const char **)req;
	char q[80];

	if (!*path)
		return ember_seterr(-EINVAL, "metrics_path is empty: Cannot initialize the "
					     "metrics system due to bad user input");
	if (c->metrics.set) {
		js_quote(q, sizeof(q), path, strlen(path));
		return ember_seterr(-EINVAL,
				    "metrics_path \"%s\": Reinitialization of metrics not allowed "
				    "(they go to \"%s\").",
				    q, c->metrics.path);
	}
	c->metrics.set = true;
	return copy_str(c->metrics.path, sizeof(c->metrics.path), path, "metrics_path");
}

/* ---- serial (vmm_config/serial.rs) ---- */

struct serial_req {
	const char *path;
	struct token_bucket_config rl;
};

static int serial_parse(struct json_object *o, const char *path, void *req)
{
	static const char *const known[] = { "serial_out_path", "rate_limiter" };
	struct serial_req *r = req;
	struct json_object *v;
	char sub[160];
	int err;

	memset(r, 0, sizeof(*r));
	if ((err = js_object(o, path, "struct SerialConfig")) ||
	    (err = js_known(o, path, known, N(known))) ||
	    (err = js_strp(o, path, "serial_out_path", JS_OPTION, &r->path, NULL)))
		return err;
	v = js_field(o, path, "rate_limiter", JS_OPTION, "struct TokenBucketConfig", &err);
	if (err || !v)
		return err;
	js_subpath(sub, sizeof(sub), path, "rate_limiter");
	return tb_parse(v, sub, &r->rl);
}

/* Both settings are replaced: absent means standard output, no limit. */
static int serial_apply(struct ember_config *c, void *req)
{
	const struct serial_req *r = req;
	int err;

	c->serial.out_path[0] = '\0';
	if (r->path) {
		if (!*r->path)
			return ember_seterr(-EINVAL, "serial_out_path is empty");
		if ((err = copy_str(c->serial.out_path, sizeof(c->serial.out_path), r->path,
				    "serial_out_path")))
			return err;
	}
	c->serial.rl = r->rl;
	return 0;
}

/* ---- the API endpoints ---- */

typedef int (*parse_fn)(struct json_object *o, const char *path, void *req);
typedef int (*apply_fn)(struct ember_config *c, void *req);

struct endpoint {
	const char *method;	 /* for "Empty PUT request." */
	const char *category;	 /* VmmActionError's prefix for apply errors */
	const char *deprecation; /* the note when apply returns 1 */
	parse_fn parse;
	apply_fn apply;
	const char *(*body_id)(const void *req); /* endpoints with {id} */
};

static const struct endpoint ep_boot = { "PUT",	     "Boot source error", NULL,
					 boot_parse, boot_apply,	  NULL };
static const struct endpoint ep_mc_put = { "PUT",
					   "Machine config error",
					   "PUT /machine-config: cpu_template field is "
					   "deprecated.",
					   mc_put_parse,
					   mc_apply,
					   NULL };
static const struct endpoint ep_mc_patch = { "PATCH",
					     "Machine config error",
					     "PATCH /machine-config: cpu_template field is "
					     "deprecated.",
					     mc_patch_parse,
					     mc_apply,
					     NULL };
static const struct endpoint ep_drive = { "PUT",       "Drive config error", NULL,
					  drive_parse, drive_apply,	     drive_id };
static const struct endpoint ep_net = { "PUT", "Network config error", NULL, net_parse, net_apply,
					net_id };
static const struct endpoint ep_vsock = {
	"PUT",	     "Vsock config error", "PUT /vsock: vsock_id field is deprecated.",
	vsock_parse, vsock_apply,	   NULL
};
static const struct endpoint ep_entropy = { "PUT",	   "Entropy config error", NULL,
					    entropy_parse, entropy_apply,	   NULL };
static const struct endpoint ep_logger = { "PUT",	 "Logger error", NULL,
					   logger_parse, logger_apply,	 NULL };
static const struct endpoint ep_metrics = { "PUT",	   "Metrics error", NULL,
					    metrics_parse, metrics_apply,   NULL };
static const struct endpoint ep_serial = { "PUT",	 "Serial config error", NULL,
					   serial_parse, serial_apply,		NULL };

/* A parse step's error as Firecracker words it. */
static int parse_err(int err)
{
	if (err == FINAL_MSG)
		return -EINVAL;
	if (err == -EINVAL)
		return ember_prefixerr(err, SERDE_PREFIX);
	return err;
}

/* The empty-body check, the path id, the body: the order of Firecracker's
 * router and parse_put_*(). On success *root holds the tree. */
static int parse_request(const char *method, bool has_id, const char *path_id, const char *body,
			 size_t len, parse_fn parse, void *req, struct json_object **root)
{
	int err;

	ember_clearerr();
	*root = NULL;
	if (!body || len == 0)
		return ember_seterr(-EINVAL, "Empty %s request.", method);
	if (has_id && (err = check_path_id(path_id)))
		return parse_err(err);
	if ((err = js_parse(body, len, root)))
		return parse_err(err);
	if ((err = parse(*root, "", req))) {
		json_object_put(*root);
		*root = NULL;
		return parse_err(err);
	}
	return 0;
}

static int id_mismatch(const char *path_id, const char *body_id)
{
	char a[80], b[80];

	js_quote(a, sizeof(a), path_id, strlen(path_id));
	js_quote(b, sizeof(b), body_id, strlen(body_id));
	return ember_seterr(
	    -EINVAL, "The id from the path [%s] does not match the id from the body [%s]!", a, b);
}

static int api_call(struct ember_config *cfg, const struct endpoint *ep, const char *path_id,
		    const char *body, size_t len, void *req)
{
	struct json_object *root;
	struct ember_config *work;
	int err;

	if ((err = parse_request(ep->method, ep->body_id != NULL, path_id, body, len, ep->parse,
				 req, &root)))
		return err;
	if (ep->body_id && strcmp(path_id, ep->body_id(req)) != 0) {
		err = id_mismatch(path_id, ep->body_id(req));
		json_object_put(root);
		return err;
	}
	work = malloc(sizeof(*work));
	if (!work) {
		json_object_put(root);
		return ember_seterr(-ENOMEM, "out of memory");
	}
	*work = *cfg;
	err = ep->apply(work, req);
	json_object_put(root);
	if (err < 0) {
		free(work);
		return err == -ENOMEM ? err : ember_prefixerr(-EINVAL, "%s", ep->category);
	}
	*cfg = *work;
	free(work);
	if (err > 0 && ep->deprecation)
		ember_seterr(0, "%s", ep->deprecation);
	return 0;
}

int fcj_put_boot_source(struct ember_config *cfg, const char *body, size_t len)
{
	struct boot_req r;

	return api_call(cfg, &ep_boot, NULL, body, len, &r);
}

int fcj_put_machine_config(struct ember_config *cfg, const char *body, size_t len)
{
	struct mc_req r;

	return api_call(cfg, &ep_mc_put, NULL, body, len, &r);
}

int fcj_patch_machine_config(struct ember_config *cfg, const char *body, size_t len)
{
	struct mc_req r;

	return api_call(cfg, &ep_mc_patch, NULL, body, len, &r);
}

int fcj_put_drive(struct ember_config *cfg, const char *path_id, const char *body, size_t len)
{
	struct drive_req r;

	return api_call(cfg, &ep_drive, path_id, body, len, &r);
}

int fcj_put_net(struct ember_config *cfg, const char *path_id, const char *body, size_t len)
{
	struct net_req r;

	return api_call(cfg, &ep_net, path_id, body, len, &r);
}

int fcj_put_vsock(struct ember_config *cfg, const char *body, size_t len)
{
	struct vsock_req r;

	return api_call(cfg, &ep_vsock, NULL, body, len, &r);
}

int fcj_put_entropy(struct ember_config *cfg, const char *body, size_t len)
{
	struct rl_in r;

	return api_call(cfg, &ep_entropy, NULL, body, len, &r);
}

int fcj_put_logger(struct ember_config *cfg, const char *body, size_t len)
{
	struct logger_req r;

	return api_call(cfg, &ep_logger, NULL, body, len, &r);
}

int fcj_put_metrics(struct ember_config *cfg, const char *body, size_t len)
{
	const char *path;

	return api_call(cfg, &ep_metrics, NULL, body, len, &path);
}

int fcj_put_serial(struct ember_config *cfg, const char *body, size_t len)
{
	struct serial_req r;

	return api_call(cfg, &ep_serial, NULL, body, len, &r);
}

/* ---- runtime requests ---- */

struct drive_patch_req {
	const char *id, *path;
	struct rl_in rl;
};

static int drive_patch_parse(struct json_object *o, const char *path, void *req)
{
	static const char *const known[] = { "drive_id", "path_on_host", "rate_limiter" };
	struct drive_patch_req *r = req;
	int err;

	memset(r, 0, sizeof(*r));
	if ((err = js_object(o, path, "struct BlockDeviceUpdateConfig")) ||
	    (err = js_known(o, path, known, N(known))) ||
	    (err = js_strp(o, path, "drive_id", JS_REQUIRED, &r->id, NULL)) ||
	    (err = js_strp(o, path, "path_on_host", JS_OPTION, &r->path, NULL)) ||
	    (err = rl_field(o, path, "rate_limiter", &r->rl)))
		return err;
	return 0;
}

int fcj_parse_patch_drive(const char *path_id, const char *body, size_t len,
			  struct fcj_drive_patch *out)
{
	struct drive_patch_req r;
	struct json_object *root;
	int err;

	if ((err = parse_request("PATCH", true, path_id, body, len, drive_patch_parse, &r, &root)))
		return err;
	if (strcmp(path_id, r.id) != 0) {
		err = id_mismatch(path_id, r.id);
	} else {
		memset(out, 0, sizeof(*out));
		if (!(err = copy_id(out->drive_id, r.id, "drive_id")) && r.path &&
		    !(err = copy_str(out->path, sizeof(out->path), r.path, "path_on_host")))
			out->has_path = true;
		if (err)
			err = ember_prefixerr(-EINVAL, "Drive config error");
		else
			rl_to_update(&r.rl, &out->rl);
		out->has_rl = r.rl.given;
	}
	json_object_put(root);
	return err;
}

struct net_patch_req {
	const char *id;
	struct rl_in rx, tx;
};

static int net_patch_parse(struct json_object *o, const char *path, void *req)
{
	static const char *const known[] = { "iface_id", "rx_rate_limiter", "tx_rate_limiter" };
	struct net_patch_req *r = req;
	int err;

	memset(r, 0, sizeof(*r));
	if ((err = js_object(o, path, "struct NetworkInterfaceUpdateConfig")) ||
	    (err = js_known(o, path, known, N(known))) ||
	    (err = js_strp(o, path, "iface_id", JS_REQUIRED, &r->id, NULL)) ||
	    (err = rl_field(o, path, "rx_rate_limiter", &r->rx)) ||
	    (err = rl_field(o, path, "tx_rate_limiter", &r->tx)))
		return err;
	return 0;
}

int fcj_parse_patch_net(const char *path_id, const char *body, size_t len,
			struct fcj_net_patch *out)
{
	struct net_patch_req r;
	struct json_object *root;
	int err;

	if ((err = parse_request("PATCH", true, path_id, body, len, net_patch_parse, &r, &root)))
		return err;
	if (strcmp(path_id, r.id) != 0) {
		err = id_mismatch(path_id, r.id);
	} else {
		memset(out, 0, sizeof(*out));
		if ((err = copy_id(out->iface_id, r.id, "iface_id"))) {
			err = ember_prefixerr(-EINVAL, "Network config error");
		} else {
			rl_to_update(&r.rx, &out->rx);
			rl_to_update(&r.tx, &out->tx);
		}
	}
	json_object_put(root);
	return err;
}

static const char *const action_names[] = { "InstanceStart", "SendCtrlAltDel", "FlushMetrics" };
_Static_assert(FCJ_ACTION_FLUSH_METRICS == 2, "action_names follows enum fcj_action");

static int action_parse(struct json_object *o, const char *path, void *req)
{
	static const char *const known[] = { "action_type" };
	int err;

	if ((err = js_object(o, path, "struct ActionBody")) ||
	    (err = js_known(o, path, known, N(known))))
		return err;
	return js_variant(o, path, "action_type", JS_REQUIRED, action_names, N(action_names), req,
			  NULL);
}

int fcj_parse_action(const char *body, size_t len, enum fcj_action *out)
{
	struct json_object *root;
	unsigned a;
	int err;

	if ((err = parse_request("PUT", false, NULL, body, len, action_parse, &a, &root)))
		return err;
	json_object_put(root);
	*out = (enum fcj_action)a;
	return 0;
}

static int vm_state_parse(struct json_object *o, const char *path, void *req)
{
	static const char *const known[] = { "state" };
	static const char *const states[] = { "Paused", "Resumed" };
	int err;

	if ((err = js_object(o, path, "struct Vm")) || (err = js_known(o, path, known, N(known))))
		return err;
	return js_variant(o, path, "state", JS_REQUIRED, states, N(states), req, NULL);
}

int fcj_parse_vm_state(const char *body, size_t len, bool *pause)
{
	struct json_object *root;
	unsigned s;
	int err;

	if ((err = parse_request("PATCH", false, NULL, body, len, vm_state_parse, &s, &root)))
		return err;
	json_object_put(root);
	*pause = s == 0;
	return 0;
}

/* ---- snapshots (vmm_config/snapshot.rs) ---- */

/* A path field into a fixed buffer: too long is Firecracker's "File name
 * too long" when it opens it; ember says so at parse time. */
static int path_field(struct json_object *o, const char *path, const char *key,
		      enum js_need need, char *dst, size_t cap, bool *given)
{
	const char *v = NULL;
	bool g = false;
	int err = js_strp(o, path, key, need, &v, &g);

	if (given)
		*given = g;
	if (err || !g)
		return err;
	if (strlen(v) >= cap)
		return js_err(path, key, "longer than %zu bytes", cap - 1);
	strcpy(dst, v);
	return 0;
}

static int snapshot_create_parse(struct json_object *o, const char *path, void *req)
{
	static const char *const known[] = { "snapshot_type", "snapshot_path", "mem_file_path" };
	static const char *const types[] = { "Full", "Diff" };
	struct snapshot_create_params *p = req;
	unsigned type = 0;
	int err;

	if ((err = js_object(o, path, "struct CreateSnapshotParams")) ||
	    (err = js_known(o, path, known, N(known))) ||
	    (err = js_variant(o, path, "snapshot_type", JS_DEFAULT, types, N(types), &type,
			      NULL)) ||
	    (err = path_field(o, path, "snapshot_path", JS_REQUIRED, p->state_path,
			      sizeof(p->state_path), NULL)) ||
	    (err = path_field(o, path, "mem_file_path", JS_REQUIRED, p->mem_path,
			      sizeof(p->mem_path), NULL)))
		return err;
	p->diff = type == 1;
	return 0;
}

int fcj_parse_snapshot_create(const char *body, size_t len, struct snapshot_create_params *p)
{
	struct json_object *root;
	int err;

	memset(p, 0, sizeof(*p));
	if ((err = parse_request("PUT", false, NULL, body, len, snapshot_create_parse, p, &root)))
		return err;
	json_object_put(root);
	return 0;
}

static int mem_backend_parse(struct json_object *v, const char *path,
			     struct snapshot_load_params *p)
{
	static const char *const known[] = { "backend_path", "backend_type" };
	static const char *const types[] = { "File", "Uffd" };
	unsigned type = 0;
	int err;

	if ((err = js_object(v, path, "struct MemBackendConfig")) ||
	    (err = js_known(v, path, known, N(known))) ||
	    (err = path_field(v, path, "backend_path", JS_REQUIRED, p->mem_path,
			      sizeof(p->mem_path), NULL)) ||
	    (err = js_variant(v, path, "backend_type", JS_REQUIRED, types, N(types), &type, NULL)))
		return err;
	p->uffd = type == 1;
	return 0;
}

static int net_overrides_parse(struct json_object *a, const char *path,
			       struct snapshot_load_params *p)
{
	size_t n;

	if (!json_object_is_type(a, json_type_array))
		return js_err(path, NULL, "invalid type: expected a sequence");
	n = json_object_array_length(a);
	if (n > CONFIG_MAX_NETS)
		return js_err(path, NULL, "more than %u network overrides", CONFIG_MAX_NETS);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		struct snapshot_net_override *o = &p->net[i];
		char sub[96];
		int err;

		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if ((err = js_object(e, sub, "struct NetworkOverride")) ||
		    (err = path_field(e, sub, "iface_id", JS_REQUIRED, o->id, sizeof(o->id),
				      NULL)) ||
		    (err = path_field(e, sub, "host_dev_name", JS_REQUIRED, o->tap, sizeof(o->tap),
				      NULL)))
			return err;
	}
	p->nnet = (unsigned)n;
	return 0;
}

static int snapshot_load_parse(struct json_object *o, const char *path, void *req)
{
	static const char *const known[] = {
		"snapshot_path",     "mem_file_path", "mem_backend",	   "enable_diff_snapshots",
		"track_dirty_pages", "resume_vm",     "network_overrides", "vsock_override",
		"clock_realtime",
	};
	struct snapshot_load_params *p = req;
	struct json_object *v;
	bool has_file = false, diff_old = false, dirty = false;
	char sub[32];
	int err;

	if ((err = js_object(o, path, "struct LoadSnapshotConfig")) ||
	    (err = js_known(o, path, known, N(known))) ||
	    (err = path_field(o, path, "snapshot_path", JS_REQUIRED, p->state_path,
			      sizeof(p->state_path), NULL)) ||
	    (err = path_field(o, path, "mem_file_path", JS_OPTION, p->mem_path,
			      sizeof(p->mem_path), &has_file)) ||
	    (err = js_bool(o, path, "enable_diff_snapshots", JS_DEFAULT, &diff_old, NULL)) ||
	    (err = js_bool(o, path, "track_dirty_pages", JS_DEFAULT, &dirty, NULL)) ||
	    (err = js_bool(o, path, "resume_vm", JS_DEFAULT, &p->resume, NULL)) ||
	    (err = js_bool(o, path, "clock_realtime", JS_DEFAULT, &p->clock_realtime, NULL)))
		return err;
	p->track_dirty_pages = dirty || diff_old;
	v = js_field(o, path, "mem_backend", JS_OPTION, "struct MemBackendConfig", &err);
	if (err)
		return err;
	if (v && has_file)
		return ember_seterr(FINAL_MSG, "%s: too many fields: either `mem_backend` or "
					       "`mem_file_path` exclusively is required",
				    SERDE_PREFIX);
	if (!v && !has_file)
		return ember_seterr(FINAL_MSG, "%s: missing field: either `mem_backend` or "
					       "`mem_file_path` is required",
				    SERDE_PREFIX);
	if (v) {
		js_subpath(sub, sizeof(sub), path, "mem_backend");
		if ((err = mem_backend_parse(v, sub, p)))
			return err;
	}
	v = js_field(o, path, "network_overrides", JS_DEFAULT, "a sequence", &err);
	if (err)
		return err;
	if (v) {
		js_subpath(sub, sizeof(sub), path, "network_overrides");
		if ((err = net_overrides_parse(v, sub, p)))
			return err;
	}
	v = js_field(o, path, "vsock_override", JS_OPTION, "struct VsockOverride", &err);
	if (err)
		return err;
	if (v) {
		js_subpath(sub, sizeof(sub), path, "vsock_override");
		if ((err = js_object(v, sub, "struct VsockOverride")) ||
		    (err = path_field(v, sub, "uds_path", JS_REQUIRED, p->vsock_uds,
				      sizeof(p->vsock_uds), NULL)))
			return err;
	}
	/* Firecracker's note on a call with the deprecated fields. */
	if (has_file || diff_old)
		ember_seterr(0, "PUT /snapshot/load: mem_file_path and enable_diff_snapshots "
				"fields are deprecated.");
	return 0;
}

int fcj_parse_snapshot_load(const char *body, size_t len, struct snapshot_load_params *p)
{
	struct json_object *root;
	int err;

	memset(p, 0, sizeof(*p));
	if ((err = parse_request("PUT", false, NULL, body, len, snapshot_load_parse, p, &root)))
		return err;
	json_object_put(root);
	return 0;
}

/* ---- the config file (resources.rs VmResources::from_json) ---- */

/* Every request type, for the sections applied one at a time. */
union any_req {
	struct boot_req boot;
	struct mc_req mc;
	struct drive_req drive;
	struct net_req net;
	struct vsock_req vsock;
	struct rl_in entropy;
	struct logger_req logger;
	const char *metrics;
};

/* An Option<Struct> section: NULL when absent or null. */
static struct json_object *section(struct json_object *root, const char *key, int *err)
{
	return js_field(root, "", key, JS_OPTION, "a map", err);
}

/* A Vec section: must be an array when present (null is a type error). */
static struct json_object *section_array(struct json_object *root, const char *key,
					 enum js_need need, int *err)
{
	struct json_object *v = js_field(root, "", key, need, "a sequence", err);

	if (*err || !v)
		return NULL;
	if (json_object_get_type(v) != json_type_array) {
		*err = js_err("", key, "invalid type: expected a sequence");
		return NULL;
	}
	return v;
}

/* The sections ember has no device for: absent, null or (pmem) empty. */
static int refuse_unsupported(struct json_object *root)
{
	static const struct {
		const char *key, *what;
	} none[] = {
		{ "balloon", "the balloon device is not supported by ember" },
		{ "cpu-config", "custom CPU templates are not supported by ember" },
		{ "mmds-config", "MMDS is not supported by ember" },
		{ "memory-hotplug", "memory hotplug (virtio-mem) is not supported by ember" },
	};
	struct json_object *v;
	int err;

	for (size_t i = 0; i < N(none); i++) {
		v = section(root, none[i].key, &err);
		if (err)
			return err;
		if (v)
			return js_err("", none[i].key, "%s", none[i].what);
	}
	v = section_array(root, "pmem", JS_DEFAULT, &err);
	if (err)
		return err;
	if (v && json_object_array_length(v))
		return js_err("", "pmem", "virtio-pmem devices are not supported by ember");
	return 0;
}

/* One section's parse (and, with c, apply) step; errors get the section's
 * name, e.g. "drives[2]: ...". */
static int run_section(struct ember_config *c, struct json_object *v, const char *name,
		       parse_fn parse, apply_fn apply)
{
	union any_req req;
	int err;

	if ((err = parse(v, name, &req)))
		return err == FINAL_MSG ? -EINVAL : err;
	if (!c)
		return 0;
	err = apply(c, &req);
	if (err < 0 && err != -ENOMEM)
		return ember_prefixerr(-EINVAL, "%s", name);
	return err < 0 ? err : 0;
}

/*
 * Firecracker parses the whole file (serde) and then applies: logger,
 * metrics, machine-config, cpu-config, boot-source, drives in order,
 * network-interfaces in order, vsock, balloon, mmds-config, entropy, pmem,
 * memory-hotplug. With c NULL, only the parse steps run.
 */
static int load_pass(struct ember_config *c, struct json_object *root)
{
	static const struct {
		const char *key;
		parse_fn parse;
		apply_fn apply;
	} before[] = { { "logger", logger_parse, logger_apply },
		       { "metrics", metrics_parse, metrics_apply },
		       { "machine-config", mc_put_parse, mc_apply } },
	  after[] = { { "vsock", vsock_parse, vsock_apply },
		      { "entropy", entropy_parse, entropy_apply } };
	struct json_object *v, *drives, *nets;
	char name[48];
	int err;

	for (size_t i = 0; i < N(before); i++) {
		v = section(root, before[i].key, &err);
		if (err || (v && (err = run_section(c, v, before[i].key, before[i].parse,
						    before[i].apply))))
			return err;
	}
	/* boot-source and drives have no #[serde(default)]: both required. */
	v = js_field(root, "", "boot-source", JS_REQUIRED, "struct BootSourceConfig", &err);
	if (err || (err = run_section(c, v, "boot-source", boot_parse, boot_apply)))
		return err;
	drives = section_array(root, "drives", JS_REQUIRED, &err);
	if (err)
		return err;
	for (size_t i = 0; i < json_object_array_length(drives); i++) {
		snprintf(name, sizeof(name), "drives[%zu]", i);
		if ((err = run_section(c, json_object_array_get_idx(drives, i), name, drive_parse,
				       drive_apply)))
			return err;
	}
	nets = section_array(root, "network-interfaces", JS_DEFAULT, &err);
	if (err)
		return err;
	for (size_t i = 0; nets && i < json_object_array_length(nets); i++) {
		snprintf(name, sizeof(name), "network-interfaces[%zu]", i);
		if ((err = run_section(c, json_object_array_get_idx(nets, i), name, net_parse,
				       net_apply)))
			return err;
	}
	for (size_t i = 0; i < N(after); i++) {
		v = section(root, after[i].key, &err);
		if (err ||
		    (v && (err = run_section(c, v, after[i].key, after[i].parse, after[i].apply))))
			return err;
	}
	return c ? 0 : refuse_unsupported(root);
}

int fcj_load_config_file(struct ember_config *cfg, const char *json, size_t len)
{
	struct json_object *root;
	struct ember_config *work;
	int err;

	ember_clearerr();
	if ((err = js_parse(json, len, &root)))
		return err;
	if ((err = js_object(root, "", "struct VmmConfig")) || (err = load_pass(NULL, root))) {
		json_object_put(root);
		return err;
	}
	work = malloc(sizeof(*work));
	if (!work) {
		json_object_put(root);
		return ember_seterr(-ENOMEM, "out of memory");
	}
	*work = *cfg;
	err = load_pass(work, root);
	json_object_put(root);
	if (!err)
		*cfg = *work;
	free(work);
	if (!err)
		ember_clearerr();
	return err;
}
