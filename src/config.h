/* SPDX-License-Identifier: MIT */
/*
 * The one VM model. `ember run`'s command line, a Firecracker config file and
 * the Firecracker API all fill a struct ember_config; the instance
 * (instance.h) boots from it. The fields and their limits follow Firecracker's
 * API (v1.16) where it defines them. The struct owns its strings (fixed
 * arrays), so a copy is a plain assignment: the API validates a change on a
 * copy and commits it whole or not at all.
 *
 * Parsing here is pure: argv or strings in, config out, 0 or -EINVAL with a
 * message (ember_lasterr()); nothing here exits.
 */
#ifndef EMBER_CONFIG_H
#define EMBER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/layout.h"

#define CONFIG_DEFAULT_MEMORY (256ULL << 20)
/* No i8042.nopnp (Firecracker's default has it): under ACPI, which is
 * hardware-reduced and so has no legacy IRQs, Linux reaches the i8042 only
 * through the DSDT's PNP0303 device; nopnp made its probe fail with -EINVAL. */
#define CONFIG_DEFAULT_CMDLINE                                                                     \
	"console=ttyS0 reboot=k panic=-1 pci=off i8042.noaux i8042.nomux i8042.dumbkbd "           \
	"8250.nr_uarts=1"
/* The same for --console virtio: the kernel console on hvc0. */
#define CONFIG_DEFAULT_CMDLINE_HVC                                                                 \
	"console=hvc0 reboot=k panic=-1 pci=off i8042.noaux i8042.nomux i8042.dumbkbd "            \
	"8250.nr_uarts=1"
/* Largest --memory accepted by the parser; the host may allow less. */
#define CONFIG_MAX_MEMORY (1ULL << 46)

#define CONFIG_PATH_MAX	     4096 /* PATH_MAX, NUL included */
#define CONFIG_ID_MAX	     65	  /* Firecracker's ids: 1-64 bytes */
#define CONFIG_MAX_DISKS     16
#define CONFIG_MAX_NETS	     8
#define CONFIG_SERIAL_ID_MAX 20 /* virtio-blk serial (GET_ID): 20 bytes */

/*
 * Firecracker's TokenBucket: `size` tokens, refilled at size per
 * `refill_time_ms`, plus a `one_time_burst` spent first. A bucket with size 0
 * or refill time 0 limits nothing (Firecracker's rule).
 */
struct token_bucket_config {
	bool set;
	uint64_t size;
	uint64_t one_time_burst;
	uint64_t refill_time_ms;
};

/* Firecracker's RateLimiter: bytes and operations, each optional. */
struct rate_limiter_config {
	struct token_bucket_config bandwidth, ops;
};

/* Firecracker's cache_type: Unsafe ignores the guest's flushes (no
 * VIRTIO_BLK_F_FLUSH), Writeback offers FLUSH and syncs the image. */
enum disk_cache { DISK_CACHE_UNSAFE, DISK_CACHE_WRITEBACK };

struct disk_config {
	char id[CONFIG_ID_MAX];	      /* drive_id, or --disk id=; "" for none */
	char path[CONFIG_PATH_MAX];   /* path_on_host */
	bool ro;		      /* is_read_only */
	char partuuid[CONFIG_ID_MAX]; /* root=PARTUUID=... for the root disk */
	enum disk_cache cache;
	struct rate_limiter_config rl;
};

struct net_config {
	char id[CONFIG_ID_MAX]; /* iface_id */
	char tap[16];		/* host_dev_name (IFNAMSIZ) */
	uint8_t mac[6];
	bool has_mac; /* else generated */
	uint16_t mtu; /* 0: VIRTIO_NET_F_MTU not offered */
	struct rate_limiter_config rx_rl, tx_rl;
};

struct vsock_config {
	bool enabled;
	uint64_t cid;
	char uds[108];		/* sun_path */
	char id[CONFIG_ID_MAX]; /* vsock_id (deprecated in Firecracker, kept) */
};

struct rng_config {
	bool enabled;
	struct rate_limiter_config rl;
};

enum console_kind { CONSOLE_UART, CONSOLE_VIRTIO };
enum huge_pages { HUGE_PAGES_NONE, HUGE_PAGES_2M };

/* Log levels, Firecracker's names: Off, Error, Warning, Info, Debug, Trace. */
enum log_level { LOG_OFF, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

struct logger_config {
	bool set;
	char path[CONFIG_PATH_MAX]; /* "" : stderr */
	enum log_level level;
	bool show_level, show_log_origin;
	char module[128];
};

struct metrics_config {
	bool set;
	char path[CONFIG_PATH_MAX];
};

struct serial_config {
	char out_path[CONFIG_PATH_MAX]; /* "": standard output */
	struct token_bucket_config rl;	/* bytes of console output */
};

/* --kernel-addr: where a relocatable kernel goes (an address is >= 1 MiB). */
#define KERNEL_ADDR_RANDOM 0 /* a random aligned address in its range */
#define KERNEL_ADDR_ELF	   1 /* where its ELF headers say */

struct ember_config {
	/* boot-source */
	char kernel[CONFIG_PATH_MAX]; /* "" until set */
	char initrd[CONFIG_PATH_MAX]; /* "": none */
	char cmdline[LAYOUT_CMDLINE_MAX];
	uint64_t kernel_addr; /* KERNEL_ADDR_RANDOM, KERNEL_ADDR_ELF or an address */
	/* machine-config */
	uint64_t mem_size;
	unsigned ncpus;
	bool smt;
	bool track_dirty_pages;
	enum huge_pages huge_pages;
	bool thp; /* transparent huge pages for guest RAM, on by default */
	/* devices */
	unsigned ndisks;
	struct disk_config disks[CONFIG_MAX_DISKS];
	int root_disk; /* index into disks[] of the root device, or -1 */
	unsigned nnets;
	struct net_config nets[CONFIG_MAX_NETS];
	struct vsock_config vsock;
	struct rng_config rng;
	enum console_kind console;
	struct serial_config serial;
	/* the process */
	struct logger_config logger;
	struct metrics_config metrics;
	bool boot_trace;
	bool debug;
	bool no_seccomp; /* run the threads without their seccomp filters */
};

/* A runtime rate-limiter update, as the devices apply it (Firecracker's
 * BucketUpdate): a bucket `up` leaves unset is kept, one set with size 0 is
 * removed, any other replaces the current one. */
void config_rl_update(struct rate_limiter_config *cur, const struct rate_limiter_config *up);

/* ember run's defaults: 256 MiB, 1 vCPU, virtio-rng on, THP on, writeback
 * disks, ember's default command line. `cfg` must be all zero already
 * (static storage, or cleared by the caller): clearing its ~90 KiB here
 * would make every page of it resident for the VM's whole life (76 KiB of
 * ember run's RSS, measured), where only the few fields set are. */
void config_init_run(struct ember_config *cfg);

/* --disk PATH[,ro][,id=NAME] */
int config_parse_disk(const char *s, struct disk_config *d);
/* --net tap=NAME[,mac=MAC] */
int config_parse_net(const char *s, struct net_config *n);
/* --vsock cid=N,uds=PATH (cid >= 3) */
int config_parse_vsock(const char *s, struct vsock_config *v);
/* "02:00:00:00:00:01": a unicast MAC address. 0 or -EINVAL. */
int config_parse_mac(const char *s, uint8_t mac[6]);

/* --kernel-addr random|elf|ADDR */
int config_parse_kernel_addr(const char *s, uint64_t *out);

/* "256M", "1G", "4096K", "1048576" (bytes). Rejects 0, junk, overflow. */
int config_parse_size(const char *s, uint64_t *out);

/* "1".."4096": decimal, no sign, no junk. */
int config_parse_uint(const char *s, unsigned max, unsigned *out);

/* Copy src into dst[cap]; -ENAMETOOLONG (no message) if it does not fit. */
int config_copy(char *dst, size_t cap, const char *src);

/* Match argv[*i] against option `name` as "--name VALUE" or "--name=VALUE":
 * 1 with *val set (and *i past what it used), 0 if it is another option,
 * -EINVAL with a message when the value is missing. */
int config_take_value(int argc, char **argv, int *i, const char *name, const char **val);

/* Parse the arguments of `ember run` (argv[0] is "run") into `cfg`, which
 * must be all zero (as for config_init_run()). `api_sock` receives
 * --api-sock PATH (NULL without it). */
int config_parse_run(int argc, char **argv, struct ember_config *cfg, const char **api_sock);

#endif
