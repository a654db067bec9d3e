/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables for a guest that wants them (a stock distribution kernel):
 * RSDP, XSDT, FADT, MADT and DSDT, built into one byte buffer. Pure: no
 * I/O, no KVM; the caller copies the bytes to guest memory.
 *
 * The machine is described as hardware-reduced ACPI (FADT flag
 * HW_REDUCED_ACPI, ACPI 6.4 section 4.1): no PM1 event or control blocks,
 * no PM timer, no GPEs, no SCI, no FACS. Sleep and reset go through the
 * FADT's SLEEP_CONTROL_REG, SLEEP_STATUS_REG and RESET_REG, which
 * dev/acpi_pm.c implements. This is all a KVM guest needs (timekeeping is
 * kvm-clock and the local APIC timer), and it keeps ember free of the
 * fixed-hardware register model.
 *
 * Layout of the buffer, which the guest sees at guest-physical `gpa`
 * (16-byte aligned; RSDP first, so that at 0xE0000 it is also in the range
 * Linux scans when the boot protocol does not hand it the RSDP):
 *
 *   RSDP (36 bytes, revision 2) -> XSDT -> FADT -> DSDT
 *                                      -> MADT
 *
 * Each table starts on a 16-byte boundary. The whole is at most a few KiB
 * (about 6 KiB for 254 CPUs and 32 virtio devices).
 */
#ifndef EMBER_BOOT_ACPI_H
#define EMBER_BOOT_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_CPUS	254 /* 8-bit APIC IDs, 0xff broadcast, IOAPIC ID = ncpus */
#define ACPI_VIRTIO_MAX 32  /* DSDT names VR00..VR1F */

/* A legacy device on I/O ports with one ISA IRQ (0-15), or ACPI_NO_IRQ
 * for a device that raises none. */
#define ACPI_NO_IRQ 0xff

struct acpi_isa_dev {
	bool present;
	uint16_t port;
	uint8_t irq;
};

/* A virtio-mmio device: Linux's virtio_mmio driver binds ACPI "LNRO0005". */
struct acpi_virtio_dev {
	uint64_t base; /* below 4 GiB */
	uint32_t size; /* 0x1000 */
	uint32_t gsi;  /* IOAPIC pin; edge-triggered, active high */
};

struct acpi_desc {
	unsigned ncpus;		  /* local APIC IDs 0..ncpus-1, CPU 0 boots */
	uint8_t ioapic_id;	  /* the MP table's: ncpus */
	uint32_t ioapic_addr;	  /* 0xFEC00000 */
	uint32_t ioapic_gsi_base; /* 0 */
	unsigned ioapic_pins;	  /* 24 */
	uint32_t lapic_addr;	  /* 0xFEE00000 */
	struct acpi_isa_dev uart; /* COM1, 8 ports: PNP0501 */
	struct acpi_isa_dev rtc;  /* CMOS RTC, 2 ports: PNP0B00 */
	uint8_t rtc_century;	  /* CMOS index of the century byte, or 0 */
	/* i8042: data port at .port, command/status at .port + 4: PNP0303
	 * (the keyboard only; no AUX device is described). */
	struct acpi_isa_dev i8042;
	unsigned nvirtio;
	struct acpi_virtio_dev virtio[ACPI_VIRTIO_MAX];
	/* Hardware-reduced PM registers, byte-wide I/O ports (dev/acpi_pm.h). */
	uint16_t sleep_control_port, sleep_status_port, reset_port;
	uint8_t reset_value;
	uint8_t slp_typ_s5; /* SLP_TYP the guest writes for S5 */
};

/*
 * Fill `d` with ember's board for `ncpus` CPUs: the IOAPIC and local APIC of
 * boot/layout.h, COM1 at 0x3F8 IRQ 4, the RTC at 0x70 without an IRQ (see
 * acpi.c), the i8042 at 0x60/0x64 IRQ 1, the dev/acpi_pm.h ports, and no
 * virtio devices. Then add
 * each virtio device with acpi_desc_add_virtio(); clear d->i8042.present for
 * a board without one.
 */
void acpi_desc_init(struct acpi_desc *d, unsigned ncpus);

/* Append a virtio-mmio device; -ENOSPC (with a message) past
 * ACPI_VIRTIO_MAX. */
int acpi_desc_add_virtio(struct acpi_desc *d, uint64_t base, uint32_t size, uint32_t gsi);

/*
 * Build every table into buf (`cap` bytes), which the guest will see at
 * guest-physical `gpa`. Returns the number of bytes used and sets *rsdp_gpa
 * (== gpa: the RSDP comes first). -EINVAL (with a message) for a
 * description that cannot be right: no CPU or more than ACPI_MAX_CPUS, an
 * IOAPIC ID that collides with a CPU's, a GSI outside the IOAPIC, a virtio
 * window above 4 GiB, an IRQ over 15 or a gpa not 16-byte aligned. -ENOSPC
 * (with a message) when `cap` is too small.
 */
int acpi_build(uint8_t *buf, size_t cap, uint64_t gpa, const struct acpi_desc *d,
	       uint64_t *rsdp_gpa);

/* Table layout constants the tests and tools use. */
#define ACPI_RSDP_SIZE	   36
#define ACPI_SDT_HDR_SIZE  36
#define ACPI_FADT_SIZE	   276 /* revision 6 */
#define ACPI_FADT_REVISION 6
#define ACPI_FADT_MINOR	   4 /* ACPI 6.4 */
#define ACPI_MADT_REVISION 5 /* ACPI 6.4 */
#define ACPI_DSDT_REVISION 2 /* 64-bit AML integers */
#define ACPI_XSDT_REVISION 1

/* FADT offsets (ACPI 6.4 table 5.9). */
#define ACPI_FADT_CENTURY	 108
#define ACPI_FADT_IAPC_BOOT_ARCH 109
#define ACPI_FADT_FLAGS		 112
#define ACPI_FADT_RESET_REG	 116
#define ACPI_FADT_RESET_VALUE	 128
#define ACPI_FADT_MINOR_VERSION	 131
#define ACPI_FADT_X_DSDT	 140
#define ACPI_FADT_SLEEP_CONTROL	 244
#define ACPI_FADT_SLEEP_STATUS	 256
#define ACPI_FADT_HYPERVISOR_ID	 268

/* IAPC_BOOT_ARCH bits (table 5.10). */
#define ACPI_IAPC_LEGACY_DEVICES (1u << 0)
#define ACPI_IAPC_8042		 (1u << 1)
#define ACPI_IAPC_NO_VGA	 (1u << 2)
#define ACPI_IAPC_NO_MSI	 (1u << 3)
#define ACPI_IAPC_NO_ASPM	 (1u << 4)
#define ACPI_IAPC_NO_CMOS_RTC	 (1u << 5)

/* FADT flags (table 5.11). */
#define ACPI_FADT_F_PWR_BUTTON	  (1u << 4)
#define ACPI_FADT_F_SLP_BUTTON	  (1u << 5)
#define ACPI_FADT_F_RESET_REG_SUP (1u << 10)
#define ACPI_FADT_F_HW_REDUCED	  (1u << 20)

#endif
