// SPDX-License-Identifier: MIT
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/layout.h"
#include "util.h"

int config_parse_kernel_addr(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!strcmp(s, "random")) {
		*out = KERNEL_ADDR_RANDOM;
		return 0;
	}
	if (!strcmp(s, "elf")) {
		*out = KERNEL_ADDR_ELF;
		return 0;
	}
	errno = 0;
	v = strtoull(s, &end, 0);
	if (!*s || *end || errno || s[0] == '-' || v < LAYOUT_LOW_RESERVED_END || v & 0xfff ||
	    v > 0xffffffffULL)
		return ember_seterr(-EINVAL,
				    "--kernel-addr: '%s' is not random, elf or a 4 KiB-aligned "
				    "address from 1 MiB to 4 GiB",
				    s);
	*out = v;
	return 0;
}

int config_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (!s || !*s)
		return ember_seterr(-EINVAL, "empty size");
	for (; *p >= '0' && *p <= '9'; p++)
		if (ckd_mul(&v, v, 10) || ckd_add(&v, v, (uint64_t)(*p - '0')))
			return ember_seterr(-EINVAL, "size '%s' is too large", s);
	if (p == s)
		return ember_seterr(-EINVAL, "size '%s' is not a number", s);
	switch (*p) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mul = 1ULL << 10;
		p++;
		break;
	case 'm':
	case 'M':
		mul = 1ULL << 20;
		p++;
		break;
	case 'g':
	case 'G':
		mul = 1ULL << 30;
		p++;
		break;
	case 't':
	case 'T':
		mul = 1ULL << 40;
		p++;
		break;
	default:
		return ember_seterr(-EINVAL, "size '%s' has an unknown suffix (use K, M, G or T)",
				    s);
	}
	if (*p == 'i' && *(p + 1) == 'B') /* accept MiB-style spelling */
		p += 2;
	else if (*p == 'B')
		p++;
	if (*p)
		return ember_seterr(-EINVAL, "size '%s' has trailing characters", s);
	if (ckd_mul(&v, v, mul))
		return ember_seterr(-EINVAL, "size '%s' is too large", s);
	if (v == 0)
		return ember_seterr(-EINVAL, "size '%s' is zero", s);
	*out = v;
	return 0;
}

int config_parse_uint(const char *s, unsigned max, unsigned *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > max)
			return -ERANGE;
	}
	if (*p || p == s)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* Split "a,b,c": copies the next comma-separated item of *s into buf. */
static bool next_item(const char **s, char *buf, size_t cap)
{
	const char *p = *s, *e;
	size_t n;

	if (!*p)
		return false;
	e = strchr(p, ',');
	n = e ? (size_t)(e - p) : strlen(p);
	if (n >= cap)
		n = cap - 1; /* callers check lengths on the full string */
	memcpy(buf, p, n);
	buf[n] = '\0';
	*s = e ? e + 1 : p + strlen(p);
	return true;
}

int config_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

int config_parse_disk(const char *s, struct disk_config *d)
{
	char item[CONFIG_PATH_MAX + 1];
	const char *p = s;

	memset(d, 0, sizeof(*d));
	d->cache = DISK_CACHE_WRITEBACK; /* the guest's flushes reach the image */
	if (!next_item(&p, item, sizeof(item)) || !*item)
		return ember_seterr(-EINVAL, "--disk: missing PATH in '%s'", s);
	if (config_copy(d->path, sizeof(d->path), item))
		return ember_seterr(-EINVAL, "--disk: path is too long");
	while (next_item(&p, item, sizeof(item))) {
		if (strcmp(item, "ro") == 0) {
			d->ro = true;
		} else if (strncmp(item, "id=", 3) == 0) {
			if (strlen(item + 3) == 0 || strlen(item + 3) > CONFIG_SERIAL_ID_MAX)
				return ember_seterr(-EINVAL, "--disk: id '%s' must be 1-%d bytes",
						    item + 3, CONFIG_SERIAL_ID_MAX);
			strcpy(d->id, item + 3);
		} else {
			return ember_seterr(-EINVAL, "--disk: unknown option '%s' (ro, id=NAME)",
					    item);
		}
	}
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int config_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t v[6];

	/* Exactly "xx:xx:xx:xx:xx:xx": two hex digits each, no spaces or
	 * signs (which sscanf's %x would let through). */
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		v[i] = (uint8_t)(hi << 4 | lo);
	}
	if (v[0] & 1) /* multicast bit */
		return -EINVAL;
	memcpy(mac, v, sizeof(v));
	return 0;
}

int config_parse_net(const char *s, struct net_config *n)
{
	char item[64];
	const char *p = s;

	memset(n, 0, sizeof(*n));
	while (next_item(&p, item, sizeof(item))) {
		if (strncmp(item, "tap=", 4) == 0) {
			if (!item[4] || strlen(item + 4) >= sizeof(n->tap))
				return ember_seterr(-EINVAL,
						    "--net: TAP name '%s' must be 1-15 "
						    "bytes",
						    item + 4);
			strcpy(n->tap, item + 4);
		} else if (strncmp(item, "id=", 3) == 0) {
			if (!item[3] || strlen(item + 3) >= sizeof(n->id))
				return ember_seterr(-EINVAL, "--net: id '%s' must be 1-%zu bytes",
						    item + 3, sizeof(n->id) - 1);
			strcpy(n->id, item + 3);
		} else if (strncmp(item, "mac=", 4) == 0) {
			if (config_parse_mac(item + 4, n->mac))
				return ember_seterr(-EINVAL,
						    "--net: '%s' is not a unicast MAC "
						    "address",
						    item + 4);
			n->has_mac = true;
		} else {
			return ember_seterr(-EINVAL,
					    "--net: unknown option '%s' (tap=NAME, "
					    "mac=MAC, id=NAME)",
					    item);
		}
	}
	if (!n->tap[0])
		return ember_seterr(-EINVAL, "--net: tap=NAME is required");
	return 0;
}

int config_parse_vsock(const char *s, struct vsock_config *v)
{
	char item[160];
	const char *p = s;
	bool has_cid = false;

	memset(v, 0, sizeof(*v));
	while (next_item(&p, item, sizeof(item))) {
		if (strncmp(item, "cid=", 4) == 0) {
			unsigned c;

			if (config_parse_uint(item + 4, 0x7fffffff, &c) || c < 3)
				return ember_seterr(-EINVAL,
						    "--vsock: cid '%s' must be a number "
						    "from 3 (0-2 are reserved)",
						    item + 4);
			v->cid = c;
			has_cid = true;
		} else if (strncmp(item, "uds=", 4) == 0) {
			if (!item[4] || strlen(item + 4) >= sizeof(v->uds) - 12)
				return ember_seterr(-EINVAL,
						    "--vsock: uds path must be 1-%zu bytes",
						    sizeof(v->uds) - 13);
			strcpy(v->uds, item + 4);
		} else {
			return ember_seterr(-EINVAL,
					    "--vsock: unknown option '%s' (cid=N, "
					    "uds=PATH)",
					    item);
		}
	}
	if (!has_cid || !v->uds[0])
		return ember_seterr(-EINVAL, "--vsock: cid=N and uds=PATH are required");
	v->enabled = true;
	return 0;
}

int config_take_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return ember_seterr(-EINVAL, "%s needs a value", name);
	*val = argv[++*i];
	return 1;
}

static void bucket_update(struct token_bucket_config *cur, const struct token_bucket_config *up)
{
	if (!up->set)
		return;
	if (up->size == 0)
		memset(cur, 0, sizeof(*cur));
	else
		*cur = *up;
}

void config_rl_update(struct rate_limiter_config *cur, const struct rate_limiter_config *up)
{
	bucket_update(&cur->bandwidth, &up->bandwidth);
	bucket_update(&cur->ops, &up->ops);
}

void config_init_run(struct ember_config *cfg)
{
	/* No memset: see config.h. */
	cfg->mem_size = CONFIG_DEFAULT_MEMORY;
	cfg->ncpus = 1;
	cfg->rng.enabled = true;
	cfg->thp = true;
	cfg->root_disk = -1;
	strcpy(cfg->cmdline, CONFIG_DEFAULT_CMDLINE);
}

/* A path option into its array: refused when empty or too long. */
static int set_path(char *dst, size_t cap, const char *opt, const char *val)
{
	if (!*val)
		return ember_seterr(-EINVAL, "%s: empty path", opt);
	if (config_copy(dst, cap, val))
		return ember_seterr(-EINVAL, "%s: path of %zu bytes is over the limit of %zu", opt,
				    strlen(val), cap - 1);
	return 0;
}

int config_parse_run(int argc, char **argv, struct ember_config *cfg, const char **api_sock)
{
	const char *mem = NULL, *cpus = NULL, *val = NULL, *root = NULL, *kernel = NULL;
	const char *initrd = NULL, *cmdline = NULL;
	int err;

	config_init_run(cfg);
	*api_sock = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((err = config_take_value(argc, argv, &i, "--kernel", &kernel)) ||
		    (err = config_take_value(argc, argv, &i, "--initrd", &initrd)) ||
		    (err = config_take_value(argc, argv, &i, "--cmdline", &cmdline)) ||
		    (err = config_take_value(argc, argv, &i, "--memory", &mem)) ||
		    (err = config_take_value(argc, argv, &i, "--cpus", &cpus)) ||
		    (err = config_take_value(argc, argv, &i, "--api-sock", api_sock))) {
			if (err < 0)
				return err;
			continue;
		}
		if ((err = config_take_value(argc, argv, &i, "--disk", &val))) {
			if (err < 0)
				return err;
			if (cfg->ndisks >= CONFIG_MAX_DISKS)
				return ember_seterr(-EINVAL, "--disk: at most %d disks",
						    CONFIG_MAX_DISKS);
			err = config_parse_disk(val, &cfg->disks[cfg->ndisks++]);
			if (err)
				return err;
			continue;
		}
		if ((err = config_take_value(argc, argv, &i, "--net", &val))) {
			if (err < 0)
				return err;
			if (cfg->nnets >= CONFIG_MAX_NETS)
				return ember_seterr(-EINVAL, "--net: at most %d networks",
						    CONFIG_MAX_NETS);
			err = config_parse_net(val, &cfg->nets[cfg->nnets]);
			if (err)
				return err;
			/* The interface's name for the API and for restore's
			 * --net ID=TAP: eth0, eth1, ... unless given. */
			if (!cfg->nets[cfg->nnets].id[0])
				snprintf(cfg->nets[cfg->nnets].id, sizeof(cfg->nets[0].id), "eth%u",
					 cfg->nnets);
			for (unsigned k = 0; k < cfg->nnets; k++)
				if (!strcmp(cfg->nets[k].id, cfg->nets[cfg->nnets].id))
					return ember_seterr(-EINVAL, "--net: id '%s' given twice",
							    cfg->nets[k].id);
			cfg->nnets++;
			continue;
		}
		if ((err = config_take_value(argc, argv, &i, "--vsock", &val))) {
			if (err < 0)
				return err;
			if (cfg->vsock.enabled)
				return ember_seterr(-EINVAL, "--vsock: only one vsock device");
			err = config_parse_vsock(val, &cfg->vsock);
			if (err)
				return err;
			continue;
		}
		if ((err = config_take_value(argc, argv, &i, "--console", &val))) {
			if (err < 0)
				return err;
			if (strcmp(val, "uart") == 0)
				cfg->console = CONSOLE_UART;
			else if (strcmp(val, "virtio") == 0)
				cfg->console = CONSOLE_VIRTIO;
			else
				return ember_seterr(-EINVAL,
						    "--console: '%s' is not uart or virtio", val);
			continue;
		}
		if ((err = config_take_value(argc, argv, &i, "--kernel-addr", &val))) {
			if (err < 0)
				return err;
			err = config_parse_kernel_addr(val, &cfg->kernel_addr);
			if (err)
				return err;
			continue;
		}
		if ((err = config_take_value(argc, argv, &i, "--root", &root))) {
			if (err < 0)
				return err;
			continue;
		}
		if (strcmp(a, "--rng") == 0)
			cfg->rng.enabled = true;
		else if (strcmp(a, "--no-rng") == 0)
			cfg->rng.enabled = false;
		else if (strcmp(a, "--thp") == 0)
			cfg->thp = true;
		else if (strcmp(a, "--no-thp") == 0)
			cfg->thp = false;
		else if (strcmp(a, "--track-dirty-pages") == 0)
			cfg->track_dirty_pages = true;
		else if (strcmp(a, "--boot-trace") == 0)
			cfg->boot_trace = true;
		else if (strcmp(a, "--debug") == 0)
			cfg->debug = true;
		else if (strcmp(a, "--no-seccomp") == 0)
			cfg->no_seccomp = true;
		else if (a[0] == '-')
			return ember_seterr(-EINVAL, "unknown option '%s' (see ember --help)", a);
		else
			return ember_seterr(-EINVAL, "unexpected argument '%s' (see ember --help)",
					    a);
	}
	if (!kernel)
		return ember_seterr(-EINVAL, "--kernel PATH is required");
	err = set_path(cfg->kernel, sizeof(cfg->kernel), "--kernel", kernel);
	if (!err && initrd)
		err = set_path(cfg->initrd, sizeof(cfg->initrd), "--initrd", initrd);
	if (!err && *api_sock && !**api_sock)
		err = ember_seterr(-EINVAL, "--api-sock: empty path");
	if (err)
		return err;
	if (mem) {
		if (config_parse_size(mem, &cfg->mem_size))
			return ember_prefixerr(-EINVAL, "--memory");
		if (cfg->mem_size < LAYOUT_MIN_MEMORY)
			return ember_seterr(-EINVAL,
					    "--memory: %s is below the minimum of %llu KiB", mem,
					    LAYOUT_MIN_MEMORY >> 10);
		if (cfg->mem_size > CONFIG_MAX_MEMORY)
			return ember_seterr(-EINVAL,
					    "--memory: %s is above the maximum of %llu GiB", mem,
					    CONFIG_MAX_MEMORY >> 30);
		if (cfg->mem_size & 0xfff)
			return ember_seterr(-EINVAL, "--memory: %s is not a multiple of 4 KiB",
					    mem);
	}
	if (cpus) {
		err = config_parse_uint(cpus, 1u << 20, &cfg->ncpus);
		if (err || cfg->ncpus == 0)
			return ember_seterr(-EINVAL, "--cpus: '%s' is not a CPU count of 1 or more",
					    cpus);
	}
	if (root) {
		for (unsigned d = 0; d < cfg->ndisks && cfg->root_disk < 0; d++)
			if (strcmp(root, cfg->disks[d].path) == 0 ||
			    (cfg->disks[d].id[0] && strcmp(root, cfg->disks[d].id) == 0))
				cfg->root_disk = (int)d;
		if (cfg->root_disk < 0)
			return ember_seterr(-EINVAL,
					    "--root: '%s' names no --disk (use its PATH "
					    "or id=)",
					    root);
	}
	if (!cmdline)
		cmdline = cfg->console == CONSOLE_VIRTIO ? CONFIG_DEFAULT_CMDLINE_HVC
							 : CONFIG_DEFAULT_CMDLINE;
	if (config_copy(cfg->cmdline, sizeof(cfg->cmdline), cmdline))
		return ember_seterr(-EINVAL, "--cmdline: %zu bytes is over the limit of %d",
				    strlen(cmdline), LAYOUT_CMDLINE_MAX - 1);
	return 0;
}
