// SPDX-License-Identifier: MIT
/* The snapfile harness parses vCPU sections but never saves one: the vCPU
 * module (and KVM) stays out of it. */
#include <stddef.h>

#include "vcpu.h"

struct kvm_cpuid2 *vcpu_cpuid_table(struct vcpu *v)
{
	(void)v;
	return NULL;
}

bool vcpu_msr(struct vcpu *v, bool set, uint32_t index, uint64_t *val)
{
	(void)v;
	(void)set;
	(void)index;
	(void)val;
	return false;
}
