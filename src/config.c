// SPDX-License-Identifier: MIT
#include "config.h"

#include <errno.h>
#include <string.h>

#include "boot/layout.h"
#include "util.h"

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
	case 'k': case 'K': mul = 1ULL << 10; p++; break;
	case 'm': case 'M': mul = 1ULL << 20; p++; break;
	case 'g': case 'G': mul = 1ULL << 30; p++; break;
	case 't': case 'T': mul = 1ULL << 40; p++; break;
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

/* Match "--name VALUE" or "--name=VALUE"; advances *i past what it used. */
static int take_value(int argc, char **argv, int *i, const char *name, const char **val)
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

int config_parse_run(int argc, char **argv, struct ember_config *cfg)
{
	const char *mem = NULL, *cpus = NULL;
	int err;

	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_size = CONFIG_DEFAULT_MEMORY;
	cfg->ncpus = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((err = take_value(argc, argv, &i, "--kernel", &cfg->kernel)) ||
		    (err = take_value(argc, argv, &i, "--initrd", &cfg->initrd)) ||
		    (err = take_value(argc, argv, &i, "--cmdline", &cfg->cmdline)) ||
		    (err = take_value(argc, argv, &i, "--memory", &mem)) ||
		    (err = take_value(argc, argv, &i, "--cpus", &cpus))) {
			if (err < 0)
				return err;
			continue;
		}
		if (strcmp(a, "--boot-trace") == 0)
			cfg->boot_trace = true;
		else if (strcmp(a, "--debug") == 0)
			cfg->debug = true;
		else if (a[0] == '-')
			return ember_seterr(-EINVAL, "unknown option '%s' (see ember --help)", a);
		else
			return ember_seterr(-EINVAL, "unexpected argument '%s' (see ember --help)",
					    a);
	}
	if (!cfg->kernel)
		return ember_seterr(-EINVAL, "--kernel PATH is required");
	if (!*cfg->kernel)
		return ember_seterr(-EINVAL, "--kernel: empty path");
	if (cfg->initrd && !*cfg->initrd)
		return ember_seterr(-EINVAL, "--initrd: empty path");
	if (mem) {
		if (config_parse_size(mem, &cfg->mem_size))
			return ember_prefixerr(-EINVAL, "--memory");
		if (cfg->mem_size < LAYOUT_MIN_MEMORY)
			return ember_seterr(-EINVAL, "--memory: %s is below the minimum of %llu KiB",
					    mem, LAYOUT_MIN_MEMORY >> 10);
		if (cfg->mem_size > CONFIG_MAX_MEMORY)
			return ember_seterr(-EINVAL, "--memory: %s is above the maximum of %llu GiB",
					    mem, CONFIG_MAX_MEMORY >> 30);
		if (cfg->mem_size & 0xfff)
			return ember_seterr(-EINVAL, "--memory: %s is not a multiple of 4 KiB", mem);
	}
	if (cpus) {
		err = config_parse_uint(cpus, 1u << 20, &cfg->ncpus);
		if (err || cfg->ncpus == 0)
			return ember_seterr(-EINVAL, "--cpus: '%s' is not a CPU count of 1 or more",
					    cpus);
	}
	if (!cfg->cmdline)
		cfg->cmdline = CONFIG_DEFAULT_CMDLINE;
	if (strlen(cfg->cmdline) > LAYOUT_CMDLINE_MAX - 1)
		return ember_seterr(-EINVAL, "--cmdline: %zu bytes is over the limit of %d",
				    strlen(cfg->cmdline), LAYOUT_CMDLINE_MAX - 1);
	return 0;
}
