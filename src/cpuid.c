// SPDX-License-Identifier: MIT
#include "cpuid.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID1_ECX_HYPERVISOR	(1u << 31)
#define CPUID1_EDX_HTT		(1u << 28)

#define TOPO_LEVEL_SMT	1
#define TOPO_LEVEL_CORE 2

unsigned cpuid_order(unsigned n)
{
	unsigned order = 0;

	while (order < 32 && (1ull << order) < n)
		order++;
	return order;
}

static bool is_amd(const struct kvm_cpuid_entry2 *host, unsigned nhost)
{
	for (unsigned i = 0; i < nhost; i++)
		if (host[i].function == 0)
			return host[i].ebx == 0x68747541; /* "Auth" of AuthenticAMD */
	return false;
}

/* Threads per core: 2 with SMT, else 1. APIC IDs are the vCPU ids, so the
 * thread is the low bit with SMT. */
static unsigned threads(const struct cpuid_policy *pol)
{
	return pol->threads == 2 && pol->ncpus % 2 == 0 ? 2 : 1;
}

/* Extended topology (leaves 0xB and 0x1F): `threads` per core, N/threads
 * cores. */
static void topology_leaf(struct kvm_cpuid_entry2 *e, const struct cpuid_policy *pol)
{
	unsigned sub = e->index;

	e->edx = pol->apic_id;
	if (sub == 0) {
		e->eax = cpuid_order(threads(pol));
		e->ebx = threads(pol);
		e->ecx = (TOPO_LEVEL_SMT << 8) | sub;
	} else if (sub == 1) {
		e->eax = cpuid_order(pol->ncpus);
		e->ebx = pol->ncpus;
		e->ecx = (TOPO_LEVEL_CORE << 8) | sub;
	} else {
		e->eax = 0;
		e->ebx = 0;
		e->ecx = sub; /* level type 0: invalid, ends the enumeration */
	}
}

static void patch(struct kvm_cpuid_entry2 *e, const struct cpuid_policy *pol, bool amd)
{
	switch (e->function) {
	case 1:
		e->ebx = (e->ebx & 0x0000ffffu) | (pol->apic_id << 24) |
			 ((pol->ncpus & 0xffu) << 16);
		e->ecx |= CPUID1_ECX_HYPERVISOR;
		if (pol->tsc_deadline)
			e->ecx |= CPUID1_ECX_TSC_DEADLINE;
		if (pol->ncpus > 1)
			e->edx |= CPUID1_EDX_HTT;
		else
			e->edx &= ~CPUID1_EDX_HTT;
		break;
	case 4:
		/* Cores per package - 1 in EAX[31:26]; each cache shared by
		 * the threads of one core (EAX[25:14] = threads - 1). Leaf 4
		 * is Intel's. */
		if (!amd && (e->eax & 0x1f))
			e->eax = (e->eax & 0x3fffu) | ((threads(pol) - 1) << 14) |
				 (((pol->ncpus / threads(pol) - 1) & 0x3fu) << 26);
		break;
	case 0xb:
	case 0x1f:
		topology_leaf(e, pol);
		break;
	case 0x80000008:
		/* AMD: NC = cores - 1, ApicIdCoreIdSize. Reserved on Intel. */
		if (amd)
			e->ecx = (e->ecx & ~0xf0ffu) | (cpuid_order(pol->ncpus) << 12) |
				 ((pol->ncpus - 1) & 0xffu);
		break;
	case 0x8000001e:
		if (amd) {
			/* EBX: threads per core - 1 in [15:8], the core id in
			 * [7:0]. */
			e->eax = pol->apic_id;
			e->ebx = ((threads(pol) - 1) << 8) | ((pol->apic_id / threads(pol)) & 0xffu);
			e->ecx = 0;
		}
		break;
	}
}

int cpuid_build(const struct kvm_cpuid_entry2 *host, unsigned nhost,
		struct kvm_cpuid_entry2 *out, unsigned cap, const struct cpuid_policy *pol)
{
	bool amd = is_amd(host, nhost);
	uint32_t kvm_features = KVM_FEATURE_CLOCKSOURCE | KVM_FEATURE_CLOCKSOURCE2;
	unsigned n = 0;

	if (cap < nhost + CPUID_EXTRA_ENTRIES)
		return -ENOSPC;
	for (unsigned i = 0; i < nhost; i++) {
		/* The hypervisor range is rewritten below. */
		if (host[i].function == CPUID_KVM_FEATURES)
			kvm_features |= host[i].eax;
		if ((host[i].function & 0xffffff00u) == CPUID_SIG_LEAF)
			continue;
		out[n] = host[i];
		patch(&out[n], pol, amd);
		n++;
	}
	out[n++] = (struct kvm_cpuid_entry2){
		.function = CPUID_SIG_LEAF,
		.eax = CPUID_KVM_FEATURES,
		.ebx = 0x4b4d564b, /* "KVMK" */
		.ecx = 0x564b4d56, /* "VMKV" */
		.edx = 0x0000004d, /* "M\0\0\0" */
	};
	out[n++] = (struct kvm_cpuid_entry2){
		.function = CPUID_KVM_FEATURES,
		.eax = kvm_features,
	};
	return (int)n;
}
