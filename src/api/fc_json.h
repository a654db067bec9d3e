/* SPDX-License-Identifier: MIT */
/*
 * Firecracker's JSON (API v1.16.1) to and from struct ember_config.
 *
 * The request bodies of Firecracker's REST API and its --config-file go into
 * ember's configuration, and the configuration comes back out as Firecracker
 * would print it, so Kata Containers, firecracker-containerd and the
 * Firecracker SDKs can drive ember unchanged. The paths, fields, defaults,
 * status-400 rules and the meaning of the error messages are Firecracker's:
 * the API server's request parsing (src/firecracker/src/api_server/), the
 * configuration types (src/vmm/src/vmm_config/) and the config-file loader
 * (VmResources::from_json in src/vmm/src/resources.rs).
 *
 * Every function that changes a configuration works on a copy and commits it
 * whole: on error *cfg is untouched. Errors are -EINVAL, a bad request (the
 * HTTP layer answers 400 with fcj_error(ember_lasterr()), as Firecracker
 * answers every configuration error, a missing file included), or -ENOMEM.
 * The message is Firecracker's fault message in meaning, naming the field
 * and the value. On success ember_lasterr() is empty, or holds Firecracker's
 * deprecation note ("PUT /vsock: vsock_id field is deprecated."), for which
 * Firecracker adds a `Deprecation: true` header.
 *
 * Bodies are strict JSON (RFC 8259): no comments, NaN, trailing commas, lone
 * surrogates, control characters in strings, invalid UTF-8, leading zeros,
 * \u0000, integers beyond 64 bits or duplicate keys. Unknown fields are
 * refused wherever Firecracker's serde types deny them.
 *
 * Nothing here keeps state between calls; the functions are thread-safe as
 * long as each cfg is used by one thread at a time.
 */
#ifndef EMBER_API_FC_JSON_H
#define EMBER_API_FC_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* The Firecracker release whose API ember implements; GET / and GET /version
 * report it, so clients that check versions accept ember. */
#define FCJ_FIRECRACKER_VERSION "1.16.1"

/* boot_source.rs DEFAULT_KERNEL_CMDLINE: used when boot_args is absent. */
#define FCJ_DEFAULT_CMDLINE                                                                        \
	"reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.dumbkbd "         \
	"swiotlb=noforce"
#define FCJ_DEFAULT_MEM_MIB 128 /* machine_config.rs DEFAULT_MEM_SIZE_MIB */
#define FCJ_MAX_VCPUS	    32	/* machine_config.rs MAX_SUPPORTED_VCPUS */
/* Largest body or config file accepted (Firecracker's API caps bodies at
 * 51200 bytes by default; its config file is unbounded). */
#define FCJ_MAX_JSON (16u << 20)

/* Firecracker's defaults: 1 vCPU, 128 MiB, no SMT, no devices, no entropy
 * device, FCJ_DEFAULT_CMDLINE, the serial console on standard output. THP
 * (ember's own) on. Call before any other fcj_ function fills cfg. */
void fcj_init(struct ember_config *cfg);

/*
 * Pre-boot PUT/PATCH bodies, one function per endpoint. Each parses and
 * validates completely, then changes cfg; 0 or negative errno (see above).
 * path_id is the {id} of the request path (NULL when the path has none).
 */
int fcj_put_boot_source(struct ember_config *cfg, const char *body, size_t len);
/* PUT: optional fields left out take their defaults again. */
int fcj_put_machine_config(struct ember_config *cfg, const char *body, size_t len);
/* PATCH: only the fields given change, and the result must still be valid. */
int fcj_patch_machine_config(struct ember_config *cfg, const char *body, size_t len);
/* Insert or replace the drive drive_id; at most one root device, kept first. */
int fcj_put_drive(struct ember_config *cfg, const char *path_id, const char *body, size_t len);
/* Insert or replace the interface iface_id; MACs and host_dev_names unique. */
int fcj_put_net(struct ember_config *cfg, const char *path_id, const char *body, size_t len);
int fcj_put_vsock(struct ember_config *cfg, const char *body, size_t len);
int fcj_put_entropy(struct ember_config *cfg, const char *body, size_t len);
/* The logger and metrics settings are recorded only: the caller opens the
 * paths (Firecracker opens them, created if missing, when the PUT arrives). */
int fcj_put_logger(struct ember_config *cfg, const char *body, size_t len);
/* Refused once metrics are configured, as Firecracker does. */
int fcj_put_metrics(struct ember_config *cfg, const char *body, size_t len);
int fcj_put_serial(struct ember_config *cfg, const char *body, size_t len);

/*
 * The whole --config-file: Firecracker's VmmConfig, applied on top of cfg
 * (from fcj_init()) in Firecracker's order through the per-endpoint rules, so
 * a file and the same API calls give the same configuration. Every section is
 * checked for structure before any is applied, as serde parses the whole file
 * first. Errors name the section ("drives[2]: ..."). Firecracker ignores
 * unknown top-level keys, and so does ember; "serial" is one of them in
 * v1.16.1 (VmmConfig skips it). balloon, mmds-config, cpu-config and
 * memory-hotplug must be absent or null, and pmem empty.
 */
int fcj_load_config_file(struct ember_config *cfg, const char *json, size_t len);

/*
 * Runtime requests: parsed and checked, not applied; the caller changes the
 * running device and then the configuration.
 */
/* A token bucket in a PATCH: left alone, switched off (size or refill_time 0,
 * as TokenBucket::new() has it), or replaced. */
enum fcj_bucket_op { FCJ_BUCKET_KEEP, FCJ_BUCKET_DISABLE, FCJ_BUCKET_SET };
struct fcj_rl_update {
	enum fcj_bucket_op bandwidth_op, ops_op;
	struct rate_limiter_config rl; /* the new buckets where _op is SET */
};
/* The update as the devices and config_rl_update() take it: an unset
 * bucket is kept, a set one of size 0 removed, any other replaced. */
struct rate_limiter_config fcj_rl_config(const struct fcj_rl_update *u);
/* Does the update change any bucket? */
bool fcj_rl_changes(const struct fcj_rl_update *u);

struct fcj_drive_patch {
	char drive_id[CONFIG_ID_MAX];
	bool has_path;
	char path[CONFIG_PATH_MAX]; /* path_on_host: check with fcj_check_file() */
	bool has_rl;		    /* rate_limiter given (neither absent nor null) */
	struct fcj_rl_update rl;
};
int fcj_parse_patch_drive(const char *path_id, const char *body, size_t len,
			  struct fcj_drive_patch *out);

struct fcj_net_patch {
	char iface_id[CONFIG_ID_MAX];
	struct fcj_rl_update rx, tx;
};
int fcj_parse_patch_net(const char *path_id, const char *body, size_t len,
			struct fcj_net_patch *out);

/* A log level as Firecracker spells it (--level, PUT /logger): Off, Error,
 * Warn or Warning, Info, Debug, Trace, in any case. 0 or -EINVAL. */
int fcj_parse_level(const char *s, enum log_level *out);

enum fcj_action {
	FCJ_ACTION_INSTANCE_START,
	FCJ_ACTION_SEND_CTRL_ALT_DEL,
	FCJ_ACTION_FLUSH_METRICS
};
/* PUT /actions */
int fcj_parse_action(const char *body, size_t len, enum fcj_action *out);
/* PATCH /vm: {"state": "Paused"} sets *pause, "Resumed" clears it. */
int fcj_parse_vm_state(const char *body, size_t len, bool *pause);

/* PUT /snapshot/create and /snapshot/load bodies (Firecracker v1.16's
 * CreateSnapshotParams and LoadSnapshotConfig, deny_unknown_fields). A load
 * with the deprecated fields leaves Firecracker's note in ember_lasterr(). */
struct snapshot_create_params;
struct snapshot_load_params;
int fcj_parse_snapshot_create(const char *body, size_t len, struct snapshot_create_params *p);
int fcj_parse_snapshot_load(const char *body, size_t len, struct snapshot_load_params *p);

/*
 * The file checks Firecracker makes when a PUT arrives, in one place: stat
 * (a device node of the wrong kind is refused unopened), open read-only,
 * non-blocking (a FIFO swapped in must not hang the API thread), close-on-exec,
 * and look at what was opened. A kernel or initrd must be a regular file; a
 * drive a regular file or block device whose size is a multiple of
 * 512 (0 included: Kata's placeholder drives are empty files) (ember's virtio-blk needs whole
 * sectors), and writable by ember unless read_only. 0, or a negative errno with a message: the
 * reason, then the path (last, so a long path cut by the message buffer loses only itself).
 */
enum fcj_file_kind { FCJ_FILE_KERNEL, FCJ_FILE_INITRD, FCJ_FILE_DRIVE };
int fcj_check_file(const char *path, enum fcj_file_kind kind, bool read_only);

/*
 * Responses, as malloc'd NUL-terminated JSON (free() them), or NULL with a
 * message on allocation failure or a string that is not UTF-8 (a path from
 * ember's command line can be any bytes; JSON cannot carry them).
 */
/* GET /vm/config: the config file's format. Like Firecracker, sections ember
 * refuses are null or [], and logger and metrics are null (Firecracker never
 * reports them), so they are the only settings a round trip through
 * fcj_load_config_file() does not carry. */
char *fcj_vm_config(const struct ember_config *cfg);
char *fcj_machine_config(const struct ember_config *cfg); /* GET /machine-config */
enum fcj_vm_state { FCJ_STATE_NOT_STARTED, FCJ_STATE_RUNNING, FCJ_STATE_PAUSED };
/* GET /: app_name is "Firecracker", as Firecracker sends it, since clients
 * compare it; vmm_version should be FCJ_FIRECRACKER_VERSION (NULL gives it,
 * and a NULL id gives Firecracker's "anonymous-instance"). */
char *fcj_instance_info(const char *id, enum fcj_vm_state state, const char *vmm_version);
char *fcj_version(void); /* GET /version */
/* {"fault_message": msg} (msg not NULL); bytes that are not UTF-8 become
 * U+FFFD, since a message can quote a cut value. */
char *fcj_error(const char *msg);

#endif
