/* SPDX-License-Identifier: MIT */
/*
 * Intel MultiProcessor Specification 1.4 tables: how a guest without ACPI
 * learns its CPUs, the IOAPIC and the ISA interrupt routing. Linux scans
 * 0xF0000-0xFFFFF for the floating pointer (arch/x86/kernel/mpparse.c).
 */
#ifndef EMBER_BOOT_MPTABLE_H
#define EMBER_BOOT_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#define MPTABLE_MAX_CPUS 254 /* 8-bit APIC IDs; 0xff is broadcast, IOAPIC takes N */
#define MPTABLE_IOAPIC_PINS 24 /* KVM's in-kernel IOAPIC */

/* Size of the tables for `ncpus` CPUs. */
size_t mptable_size(unsigned ncpus);

/*
 * Build the floating pointer and configuration table for `ncpus` CPUs (APIC
 * IDs 0..ncpus-1, CPU 0 the boot processor) into buf, which the guest will
 * see at guest-physical `gpa`. Returns the number of bytes written, -EINVAL
 * for a bad CPU count, -ENOSPC if `cap` is too small.
 */
int mptable_build(uint8_t *buf, size_t cap, uint32_t gpa, unsigned ncpus);

#endif
