/* SPDX-License-Identifier: MIT */
/*
 * CPUID policy: what each vCPU sees. Starts from KVM_GET_SUPPORTED_CPUID and
 * adds what a fast PVH boot needs (see docs): the hypervisor bit, KVM's
 * signature leaves with kvm-clock (the guest then skips PIT and delay-loop
 * calibration), TSC-deadline when the host has it (no ~100 ms LAPIC timer
 * calibration), per-vCPU APIC IDs and a topology of N single-thread cores,
 * or N/2 cores of two threads with SMT (Firecracker's machine-config smt).
 * Pure: entries in, entries out.
 */
#ifndef EMBER_CPUID_H
#define EMBER_CPUID_H

#include <stdbool.h>
#include <stdint.h>

struct kvm_cpuid_entry2;

struct cpuid_policy {
	unsigned apic_id; /* this vCPU */
	unsigned ncpus;
	unsigned threads; /* per core: 1, or 2 with SMT (then ncpus is even) */
	bool tsc_deadline; /* KVM_CAP_TSC_DEADLINE_TIMER */
};

#define CPUID_SIG_LEAF	    0x40000000u
#define CPUID_KVM_FEATURES  0x40000001u
#define KVM_FEATURE_CLOCKSOURCE	 (1u << 0)
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)

/* Entries ember may add beyond the host's list. */
#define CPUID_EXTRA_ENTRIES 2

/*
 * Write the policy's view of `host` (nhost entries) into out (cap entries,
 * at least nhost + CPUID_EXTRA_ENTRIES). Returns the entry count or -ENOSPC.
 */
int cpuid_build(const struct kvm_cpuid_entry2 *host, unsigned nhost,
		struct kvm_cpuid_entry2 *out, unsigned cap, const struct cpuid_policy *pol);

/* Bits needed to number `n` items (ceil(log2(n))); 0 for n <= 1. */
unsigned cpuid_order(unsigned n);

#endif
