// SPDX-License-Identifier: MIT
/* Runs every unit-test suite; prints one line per failed test and a closing
 * "N passed, N failed" line (tests, not checks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

int harness_failed_checks;
const char *harness_current;

extern const struct test_suite suite_guest_mem, suite_elf, suite_pvh, suite_mptable, suite_uart,
    suite_bus, suite_config, suite_cpuid, suite_console, suite_loader, suite_devices, suite_ioapic,
    suite_virtqueue, suite_virtio_blk, suite_virtio_net;

extern const struct test_suite suite_virtio_vsock;
extern const struct test_suite suite_cmos;
extern const struct test_suite suite_i8042;
extern const struct test_suite suite_vcpu;
extern const struct test_suite suite_http;
extern const struct test_suite suite_rate_limiter;
extern const struct test_suite suite_fc_json;
extern const struct test_suite suite_api;
extern const struct test_suite suite_cmdline;
extern const struct test_suite suite_disk_lock;
extern const struct test_suite suite_uffd;
extern const struct test_suite suite_snapshot;
extern const struct test_suite suite_acpi;
extern const struct test_suite suite_bzimage;
extern const struct test_suite suite_sandbox;

/* One suite per line, so that suites added in parallel merge cleanly. */
/* clang-format off */
static const struct test_suite *const suites[] = {
	&suite_guest_mem,
	&suite_elf,
	&suite_pvh,
	&suite_mptable,
	&suite_uart,
	&suite_bus,
	&suite_config,
	&suite_cpuid,
	&suite_console,
	&suite_loader,
	&suite_devices,
	&suite_ioapic,
	&suite_virtqueue,
	&suite_virtio_blk,
	&suite_virtio_net,
	&suite_virtio_vsock,
	&suite_cmos,
	&suite_i8042,
	&suite_vcpu,
	&suite_http,
	&suite_rate_limiter,
	&suite_fc_json,
	&suite_api,
	&suite_cmdline,
	&suite_disk_lock,
	&suite_uffd,
	&suite_snapshot,
	&suite_acpi,
	&suite_bzimage,
	&suite_sandbox,
};
/* clang-format on */

int main(int argc, char **argv)
{
	unsigned passed = 0, failed = 0;
	int verbose = 0;
	const char *only = NULL; /* run the tests whose "suite.test" holds it */
	char name[256];

	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-v") == 0) {
			verbose = 1;
		} else if (argv[a][0] != '-' && !only) {
			only = argv[a];
		} else {
			fprintf(stderr, "usage: %s [-v] [SUITE.TEST substring]\n", argv[0]);
			return 2;
		}
	}

	for (unsigned s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
		for (unsigned i = 0; i < suites[s]->ncases; i++) {
			const struct test_case *t = &suites[s]->cases[i];
			int before = harness_failed_checks;

			snprintf(name, sizeof(name), "%s.%s", suites[s]->name, t->name);
			if (only && !strstr(name, only))
				continue;
			harness_current = t->name;
			t->fn();
			if (harness_failed_checks == before) {
				passed++;
				if (verbose)
					printf("ok - %s\n", name);
			} else {
				failed++;
				printf("FAIL - %s\n", name);
			}
		}
	}
	if (only && passed + failed == 0) {
		fprintf(stderr, "unit: no test matches '%s'\n", only);
		return 2;
	}
	printf("unit: %u passed, %u failed\n", passed, failed);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
