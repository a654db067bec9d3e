// SPDX-License-Identifier: MIT
/*
 * Dump ember's ACPI tables for a configuration, one file per table, for
 * tests/unit/acpi/iasl.sh to disassemble with ACPICA's iasl:
 *
 *   acpi_dump DIR NCPUS NVIRTIO   -> DIR/rsdp.dat xsdt.dat facp.dat apic.dat dsdt.dat
 *
 * The virtio devices sit where ember puts them (LAYOUT_VIRTIO_MMIO, 4 KiB
 * apart, on the pins vm_virtio_pin() gives).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/layout.h"
#include "util.h"
#include "vm_virtio.h"

#define GPA 0xE0000ULL

static int dump(const char *dir, const char *name, const uint8_t *p, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "acpi_dump: %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t buf[0x10000];
	struct acpi_desc d;
	uint64_t rsdp, xsdt, fadt, madt, dsdt;
	unsigned ncpus, nvirtio;
	int n, bad = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: acpi_dump DIR NCPUS NVIRTIO\n");
		return 2;
	}
	ncpus = (unsigned)strtoul(argv[2], NULL, 0);
	nvirtio = (unsigned)strtoul(argv[3], NULL, 0);
	if (nvirtio > VM_VIRTIO_MAX) {
		fprintf(stderr, "acpi_dump: at most %d virtio devices\n", VM_VIRTIO_MAX);
		return 2;
	}
	acpi_desc_init(&d, ncpus);
	for (unsigned i = 0; i < nvirtio; i++)
		acpi_desc_add_virtio(&d, LAYOUT_VIRTIO_MMIO + i * (uint64_t)VM_VIRTIO_STRIDE,
				     VM_VIRTIO_STRIDE, vm_virtio_pin(i));
	n = acpi_build(buf, sizeof(buf), GPA, &d, &rsdp);
	if (n < 0) {
		fprintf(stderr, "acpi_dump: %s\n", ember_lasterr());
		return 1;
	}
	xsdt = get_le64(buf + rsdp - GPA + 24) - GPA;
	fadt = get_le64(buf + xsdt + 36) - GPA;
	madt = get_le64(buf + xsdt + 44) - GPA;
	dsdt = get_le64(buf + fadt + 140) - GPA;
	bad |= dump(argv[1], "rsdp", buf + rsdp - GPA, ACPI_RSDP_SIZE);
	bad |= dump(argv[1], "xsdt", buf + xsdt, get_le32(buf + xsdt + 4));
	bad |= dump(argv[1], "facp", buf + fadt, get_le32(buf + fadt + 4));
	bad |= dump(argv[1], "apic", buf + madt, get_le32(buf + madt + 4));
	bad |= dump(argv[1], "dsdt", buf + dsdt, get_le32(buf + dsdt + 4));
	printf("acpi_dump: %d bytes, RSDP at 0x%llx\n", n, (unsigned long long)rsdp);
	return bad;
}
