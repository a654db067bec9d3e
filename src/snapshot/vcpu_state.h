/* SPDX-License-Identifier: MIT */
/*
 * One vCPU's state as KVM holds it, for snapshots: the CPUID table the guest
 * saw, general, segment and control registers, FPU/XSAVE and XCRs, the local
 * APIC, every MSR KVM lists (kvm-clock, TSC and TSC deadline among them), the
 * multiprocessing state, pending events and debug registers, and the TSC
 * frequency.
 *
 * vcpu_state_parse() is pure (fuzzed): it checks every length. KVM checks
 * the values themselves when vcpu_state_apply() hands them over; any refusal
 * names the part.
 */
#ifndef EMBER_SNAPSHOT_VCPU_STATE_H
#define EMBER_SNAPSHOT_VCPU_STATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "snapshot/snapfile.h"

#define VCPU_STATE_MAX_MSRS  1024
#define VCPU_STATE_MAX_CPUID 256
#define VCPU_STATE_MAX_XSAVE (64u << 10)

struct vcpu;

struct vcpu_state {
	uint32_t id;
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint32_t xsave_len; /* 0: fpu below, else XSAVE area */
	uint8_t *xsave;
	struct kvm_fpu fpu;
	bool has_xcrs;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	uint32_t nmsrs;
	struct kvm_msr_entry *msrs;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	uint32_t tsc_khz; /* 0: unknown */
	uint32_t ncpuid;
	struct kvm_cpuid_entry2 *cpuid;
};

/* What the host offers, asked once per snapshot or restore. */
struct vcpu_caps {
	int kvm_fd;
	uint32_t xsave_size; /* KVM_CAP_XSAVE2, 4096 with plain XSAVE, 0 without */
	bool xcrs;
	bool tsc_control;    /* KVM_CAP_TSC_CONTROL: KVM_SET_TSC_KHZ */
	uint32_t *msr_index; /* KVM_GET_MSR_INDEX_LIST */
	uint32_t nmsr_index;
};

int vcpu_caps_get(struct vcpu_caps *c, int kvm_fd);
void vcpu_caps_free(struct vcpu_caps *c);

/* Read vCPU v's state from KVM (v parked between two exits, its pending I/O
 * completed) and append it as section 'VCPU' v->id. */
int vcpu_state_save(struct vcpu *v, const struct vcpu_caps *caps, struct snap_w *w);

/* Parse a 'VCPU' section into st (allocates; vcpu_state_free()). */
int vcpu_state_parse(const struct snap_section *s, struct vcpu_state *st);
void vcpu_state_free(struct vcpu_state *st);

/* The CPU features the snapshot's guest saw that this host's KVM does not
 * offer (host: KVM_GET_SUPPORTED_CPUID): 0, or -ENOTSUP naming the first. */
int vcpu_state_check_cpuid(const struct vcpu_state *st, const struct kvm_cpuid2 *host);

/* Hand st to a freshly created vCPU (no KVM_RUN yet), in the order KVM
 * needs: CPUID, TSC frequency, special registers (APIC base), registers,
 * FPU/XSAVE, XCRs, local APIC, MSRs (TSC before TSC deadline), debug
 * registers, MP state, pending events. */
int vcpu_state_apply(struct vcpu *v, const struct vcpu_caps *caps, const struct vcpu_state *st);

#endif
