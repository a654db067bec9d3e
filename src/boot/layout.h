/* SPDX-License-Identifier: MIT */
/*
 * Every fixed guest-physical address ember uses, each with its reason.
 *
 * Low memory (all boot data lives below 1 MiB, far under the 1 GiB that
 * Linux's PVH entry page tables map; see docs/pvh-boot notes section 2):
 *
 *   0x00500  GDT: null, 32-bit code (0x08), 32-bit data (0x10), busy TSS (0x18)
 *   0x06000  struct hvm_start_info (56 bytes)
 *   0x06040  hvm_modlist_entry[] (32 bytes each; module 0 = initrd)
 *   0x07000  hvm_memmap_table_entry[] (at most 127 entries = 3048 bytes)
 *   0x08000  boot_params "zero page" (Linux 64-bit boot protocol only)
 *   0x09000  page tables of that protocol: PML4, PDPT, then four page
 *            directories identity-mapping the first 4 GiB with 2 MiB pages
 *   0x20000  kernel command line, NUL-terminated, at most 2048 bytes
 *   0xE0000  ACPI tables, RSDP first (in Linux's legacy RSDP scan range
 *            too); 64 KiB, reserved in the map with the legacy hole
 *   0xF0000  MP floating pointer + MP configuration table (Linux scans
 *            0xF0000-0xFFFFF for "_MP_"; the region is reserved in the map)
 *
 * Guest RAM is split around a 1 GiB MMIO window below 4 GiB:
 *   [0, min(size, 3 GiB))                 RAM, minus the legacy hole
 *   [3 GiB, 4 GiB)                        MMIO window (reserved in the map):
 *       0xD0000000  boot marker (Firecracker convention: byte 123)
 *       0xD0001000  virtio-mmio devices, 4 KiB apart (later)
 *       0xFEC00000  IOAPIC (in-kernel irqchip)
 *       0xFEE00000  local APIC
 *   [4 GiB, 4 GiB + size - 3 GiB)         the rest of RAM, for large guests
 */
#ifndef EMBER_BOOT_LAYOUT_H
#define EMBER_BOOT_LAYOUT_H

#define LAYOUT_GDT		0x500ULL
#define LAYOUT_START_INFO	0x6000ULL
#define LAYOUT_MODLIST		0x6040ULL
#define LAYOUT_MODLIST_MAX	4
#define LAYOUT_MEMMAP		0x7000ULL
#define LAYOUT_MEMMAP_MAX	127 /* Linux 6.1 copies into 128 slots, adds one */
#define LAYOUT_ZERO_PAGE	0x8000ULL
#define LAYOUT_PML4		0x9000ULL
#define LAYOUT_PDPT		0xA000ULL
#define LAYOUT_PD		0xB000ULL /* 4 pages: 0xB000-0xEFFF */
#define LAYOUT_CMDLINE		0x20000ULL
#define LAYOUT_CMDLINE_MAX	2048 /* including the NUL; Linux copies 2048 */
#define LAYOUT_ACPI		0xE0000ULL
#define LAYOUT_ACPI_MAX		0x10000ULL
#define LAYOUT_MPTABLE		0xF0000ULL
#define LAYOUT_MPTABLE_MAX	0x10000ULL

/* Everything below this is boot data or legacy area: no kernel segment may
 * load there (Linux loads at 16 MiB; the test guest at 1 MiB). */
#define LAYOUT_LOW_RESERVED_END 0x100000ULL

#define LAYOUT_LEGACY_HOLE	0xA0000ULL
#define LAYOUT_LEGACY_HOLE_END	0x100000ULL

#define LAYOUT_MMIO_START	0xC0000000ULL
#define LAYOUT_MMIO_END		0x100000000ULL
#define LAYOUT_HIGH_RAM		0x100000000ULL

#define LAYOUT_BOOT_MARKER	0xD0000000ULL
#define LAYOUT_BOOT_MARKER_LEN	0x1000ULL
#define LAYOUT_VIRTIO_MMIO	0xD0001000ULL
#define LAYOUT_IOAPIC		0xFEC00000ULL
#define LAYOUT_LAPIC		0xFEE00000ULL

/* Smallest guest: boot data, the legacy hole and a little room above 1 MiB. */
#define LAYOUT_MIN_MEMORY	(2ULL << 20)

/* I/O ports ember emulates. */
#define PORT_COM1		0x3F8
#define PORT_COM1_IRQ		4
#define PORT_I8042_DATA		0x60
#define PORT_I8042_CMD		0x64
#define PORT_CMOS_INDEX		0x70 /* MC146818 RTC: index, then data at 0x71 */
#define PORT_BOOT_MARKER	0x3F0 /* older Firecracker boot-timer port */
#define BOOT_MARKER_MAGIC	123

#endif
