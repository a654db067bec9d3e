// SPDX-License-Identifier: MIT
#include <errno.h>
#include <linux/kvm.h>

#include "cpuid.h"
#include "harness.h"
#include "util.h"

static const struct kvm_cpuid_entry2 host_intel[] = {
	{ .function = 0, .eax = 0xd, .ebx = 0x756e6547 },
	{ .function = 1, .eax = 0x906ea, .ebx = 0x12345678, .ecx = 0x1, .edx = 0x10000000 },
	{ .function = 4, .index = 0, .eax = 0xfc004121 },
	{ .function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
	{ .function = 0xb, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
	{ .function = 0xb, .index = 2, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
	{ .function = 0x40000000, .eax = 0x40000001 },
	{ .function = 0x40000001, .eax = 1u << 24 },
	{ .function = 0x80000001, .edx = 1u << 29 },
};

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid_entry2 *e, int n, uint32_t f,
					   uint32_t idx)
{
	for (int i = 0; i < n; i++)
		if (e[i].function == f && e[i].index == idx)
			return &e[i];
	return NULL;
}

TEST(policy_intel)
{
	struct kvm_cpuid_entry2 out[32];
	struct cpuid_policy pol = { .apic_id = 2, .ncpus = 4, .tsc_deadline = true };
	int n = cpuid_build(host_intel, ARRAY_SIZE(host_intel), out, 32, &pol);
	const struct kvm_cpuid_entry2 *e;

	CHECK_EQ(n, ARRAY_SIZE(host_intel)); /* two host KVM leaves replaced */
	e = find(out, n, 1, 0);
	CHECK(e != NULL);
	if (e) {
		CHECK_EQ(e->ebx >> 24, 2);
		CHECK_EQ((e->ebx >> 16) & 0xff, 4);
		CHECK_EQ(e->ebx & 0xffff, 0x5678);
		CHECK(e->ecx & (1u << 31));
		CHECK(e->ecx & (1u << 24));
		CHECK(e->edx & (1u << 28));
	}
	e = find(out, n, 0x40000000, 0);
	CHECK(e && e->eax == 0x40000001 && e->ebx == 0x4b4d564b && e->ecx == 0x564b4d56 &&
	      e->edx == 0x4d);
	e = find(out, n, 0x40000001, 0);
	CHECK(e && (e->eax & 1) && (e->eax & 8) && (e->eax & (1u << 24)));
	e = find(out, n, 0xb, 1);
	CHECK(e && e->eax == 2 && e->ebx == 4 && e->edx == 2 && (e->ecx >> 8) == 2);
	e = find(out, n, 0xb, 0);
	CHECK(e && e->ebx == 1 && (e->ecx >> 8) == 1);
	e = find(out, n, 0xb, 2);
	CHECK(e && ((e->ecx >> 8) & 0xff) == 0);
	e = find(out, n, 4, 0);
	CHECK(e && (e->eax >> 26) == 3 && ((e->eax >> 14) & 0xfff) == 0);
	e = find(out, n, 0x80000001, 0);
	CHECK(e && (e->edx & (1u << 29)));
}

TEST(policy_single_cpu_no_deadline)
{
	struct kvm_cpuid_entry2 out[32];
	struct cpuid_policy pol = { .apic_id = 0, .ncpus = 1, .tsc_deadline = false };
	int n = cpuid_build(host_intel, ARRAY_SIZE(host_intel), out, 32, &pol);
	const struct kvm_cpuid_entry2 *e = find(out, n, 1, 0);

	CHECK(e && !(e->ecx & (1u << 24)) && !(e->edx & (1u << 28)) && (e->ebx >> 24) == 0);
	CHECK_EQ(cpuid_build(host_intel, ARRAY_SIZE(host_intel), out, 5, &pol), -ENOSPC);
}

TEST(policy_amd_topology)
{
	struct kvm_cpuid_entry2 host[] = {
		{ .function = 0, .ebx = 0x68747541 },
		{ .function = 1 },
		{ .function = 0x80000008, .ecx = 0x3007 },
		{ .function = 0x8000001e, .eax = 9, .ebx = 0x100 },
	};
	struct kvm_cpuid_entry2 out[8];
	struct cpuid_policy pol = { .apic_id = 1, .ncpus = 2 };
	int n = cpuid_build(host, 4, out, 8, &pol);
	const struct kvm_cpuid_entry2 *e = find(out, n, 0x80000008, 0);

	CHECK(e && (e->ecx & 0xff) == 1 && ((e->ecx >> 12) & 0xf) == 1);
	e = find(out, n, 0x8000001e, 0);
	CHECK(e && e->eax == 1 && e->ebx == 1);
	CHECK(find(out, n, 0x40000000, 0) != NULL);
}

/* SMT (Firecracker's machine-config smt): two threads per core, the low
 * APIC ID bit the thread, in every topology leaf. */
TEST(policy_smt_topology)
{
	struct kvm_cpuid_entry2 out[32];
	struct cpuid_policy pol = { .apic_id = 3, .ncpus = 4, .threads = 2 };
	int n = cpuid_build(host_intel, ARRAY_SIZE(host_intel), out, 32, &pol);
	const struct kvm_cpuid_entry2 *e = find(out, n, 0xb, 0);
	struct kvm_cpuid_entry2 amd_host[] = {
		{ .function = 0, .ebx = 0x68747541 },
		{ .function = 0x8000001e },
	};

	CHECK(e && e->eax == 1 && e->ebx == 2 && e->edx == 3 && (e->ecx >> 8) == 1);
	e = find(out, n, 0xb, 1);
	CHECK(e && e->eax == 2 && e->ebx == 4);
	e = find(out, n, 4, 0);
	CHECK(e && (e->eax >> 26) == 1 && ((e->eax >> 14) & 0xfff) == 1);
	n = cpuid_build(amd_host, 2, out, 32, &pol);
	e = find(out, n, 0x8000001e, 0);
	CHECK(e && e->ebx == ((1u << 8) | 1));
	/* An odd count cannot pair threads: single-thread cores. */
	pol.ncpus = 3;
	n = cpuid_build(host_intel, ARRAY_SIZE(host_intel), out, 32, &pol);
	e = find(out, n, 0xb, 0);
	CHECK(e && e->ebx == 1);
}

TEST(order)
{
	CHECK_EQ(cpuid_order(1), 0);
	CHECK_EQ(cpuid_order(2), 1);
	CHECK_EQ(cpuid_order(3), 2);
	CHECK_EQ(cpuid_order(4), 2);
	CHECK_EQ(cpuid_order(254), 8);
}

SUITE(cpuid, T(policy_intel), T(policy_single_cpu_no_deadline), T(policy_amd_topology),
      T(policy_smt_topology), T(order));
