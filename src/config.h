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
/* Largest --memory accepted by the parser; the host may allow less. */
#define CONFIG_MAX_MEMORY (1ULL << 46)

struct ember_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	uint64_t mem_size;
	unsigned ncpus;
	bool boot_trace;
	bool debug;
};

/* "256M", "1G", "4096K", "1048576" (bytes). Rejects 0, junk, overflow. */
int config_parse_size(const char *s, uint64_t *out);

/* "1".."4096": decimal, no sign, no junk. */
int config_parse_uint(const char *s, unsigned max, unsigned *out);

/* Parse the arguments of `ember run` (argv[0] is "run"). */
int config_parse_run(int argc, char **argv, struct ember_config *cfg);

#endif
