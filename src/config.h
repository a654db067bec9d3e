/* SPDX-License-Identifier: MIT */
/*
 * Command-line parsing into struct ember_config. Pure: argv in, config out,
 * 0 or -EINVAL with a message (ember_lasterr()); nothing here exits.
 */
#ifndef EMBER_CONFIG_H
#define EMBER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define CONFIG_DEFAULT_MEMORY (256ULL << 20)
#define CONFIG_DEFAULT_CMDLINE                                                                     \
	"console=ttyS0 reboot=k panic=-1 pci=off i8042.noaux i8042.nomux i8042.nopnp "             \
	"i8042.dumbkbd 8250.nr_uarts=1"
/* The same for --console virtio: the kernel console on hvc0. */
#define CONFIG_DEFAULT_CMDLINE_HVC                                                                 \
	"console=hvc0 reboot=k panic=-1 pci=off i8042.noaux i8042.nomux i8042.nopnp "              \
	"i8042.dumbkbd 8250.nr_uarts=1"
/* Largest --memory accepted by the parser; the host may allow less. */
#define CONFIG_MAX_MEMORY (1ULL << 46)

#define CONFIG_MAX_DISKS 8
#define CONFIG_MAX_NETS	 4

struct disk_config {
	char path[512];
	char id[21]; /* virtio-blk serial: at most 20 bytes */
	bool ro;
};

struct net_config {
	char tap[16]; /* IFNAMSIZ */
	uint8_t mac[6];
	bool has_mac; /* else generated */
};

struct vsock_config {
	bool enabled;
	uint64_t cid;
	char uds[108]; /* sun_path */
};

enum console_kind { CONSOLE_UART, CONSOLE_VIRTIO };

struct ember_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	uint64_t mem_size;
	unsigned ncpus;
	bool boot_trace;
	bool debug;
	unsigned ndisks;
	struct disk_config disks[CONFIG_MAX_DISKS];
	int root_disk; /* index into disks[] for --root, or -1 */
	unsigned nnets;
	struct net_config nets[CONFIG_MAX_NETS];
	struct vsock_config vsock;
	bool rng; /* virtio-rng, on by default */
	bool thp; /* transparent huge pages for guest RAM, on by default */
	enum console_kind console;
};

/* --disk PATH[,ro][,id=NAME] */
int config_parse_disk(const char *s, struct disk_config *d);
/* --net tap=NAME[,mac=XX:XX:XX:XX:XX:XX] */
int config_parse_net(const char *s, struct net_config *n);
/* --vsock cid=N,uds=PATH (cid >= 3) */
int config_parse_vsock(const char *s, struct vsock_config *v);

/* "256M", "1G", "4096K", "1048576" (bytes). Rejects 0, junk, overflow. */
int config_parse_size(const char *s, uint64_t *out);

/* "1".."4096": decimal, no sign, no junk. */
int config_parse_uint(const char *s, unsigned max, unsigned *out);

/* Parse the arguments of `ember run` (argv[0] is "run"). */
int config_parse_run(int argc, char **argv, struct ember_config *cfg);

#endif
