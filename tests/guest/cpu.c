// SPDX-License-Identifier: MIT
/*
 * Initial vCPU state (pvh-boot.md section 3, Xen docs/misc/pvh.pandoc) and
 * the CPUID a KVM monitor should present (section 4).
 */
#include "tg.h"
#include "uart.h"
#include "boot/layout.h"

#define X86_CR0_PE	 0x00000001u
#define X86_CR0_ET	 0x00000010u
#define X86_CR0_PG	 0x80000000u
#define X86_EFLAGS_FIXED 0x00000002u

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS	 0x18

#define MSR_APIC_BASE	    0x1b
#define APIC_BASE_BSP	    (1u << 8)
#define APIC_BASE_ENABLE    (1u << 11)
#define APIC_BASE_ADDR_MASK 0xfffff000u
#define MTRR_DEF_WRITEBACK  0x806 /* MTRRs enabled, default type WB */

#define LAPIC_ID 0x20


/* ---- state at entry ---- */

static int check_ebx(void)
{
	u32 ebx = boot_state.ebx;

	if (!ebx)
		return fail("entry-ebx", "EBX is zero", ebx, LAYOUT_START_INFO);
	if (ebx >= GiB)
		return fail("entry-ebx", "start_info above 1 GiB", ebx, LAYOUT_START_INFO);
	return pass("entry-ebx");
}

static int check_cr0(void)
{
	u32 cr0 = boot_state.cr0;
	u32 want = X86_CR0_PE | X86_CR0_ET;

	if (!(cr0 & X86_CR0_PE))
		return fail("entry-cr0", "PE clear", cr0, want);
	if (cr0 & X86_CR0_PG)
		return fail("entry-cr0", "PG set", cr0, want);
	if ((cr0 & ~X86_CR0_ET) != X86_CR0_PE)
		return fail("entry-cr0", "bits other than PE|ET", cr0, want);
	return pass("entry-cr0");
}

static int check_cr4_efer_eflags(void)
{
	u64 efer = ((u64)boot_state.efer_hi << 32) | boot_state.efer_lo;
	int ret = 0;

	if (boot_state.cr4)
		ret |= fail("entry-cr4", "CR4 not zero", boot_state.cr4, 0);
	else
		pass("entry-cr4");
	if (efer)
		ret |= fail("entry-efer", "EFER not zero", efer, 0);
	else
		pass("entry-efer");
	if (boot_state.eflags != X86_EFLAGS_FIXED)
		ret |= fail("entry-eflags", "EFLAGS", boot_state.eflags, X86_EFLAGS_FIXED);
	else
		pass("entry-eflags");
	return ret;
}

static int check_selectors(void)
{
	if (boot_state.cs != SEL_CODE)
		return fail("entry-segments", "CS", boot_state.cs, SEL_CODE);
	if (boot_state.ds != SEL_DATA)
		return fail("entry-segments", "DS", boot_state.ds, SEL_DATA);
	if (boot_state.es != SEL_DATA)
		return fail("entry-segments", "ES", boot_state.es, SEL_DATA);
	if (boot_state.ss != SEL_DATA)
		return fail("entry-segments", "SS", boot_state.ss, SEL_DATA);
	pass("entry-segments");
	if (boot_state.tr != SEL_TSS)
		return fail("entry-tr", "TR selector", boot_state.tr, SEL_TSS);
	return pass("entry-tr");
}

/* A GDT descriptor, decoded. */
struct desc {
	u32 base, limit; /* limit in bytes - 1, granularity applied */
	u8 type, s, dpl, p, l, db;
};

static struct desc decode(u64 d)
{
	struct desc x;
	u32 lim = (u32)(d & 0xffff) | (u32)((d >> 32) & 0xf0000);

	x.base = (u32)((d >> 16) & 0xffffff) | (u32)(((d >> 56) & 0xff) << 24);
	x.limit = (d >> 55) & 1 ? (lim << 12) | 0xfff : lim;
	x.type = (d >> 40) & 0xf;
	x.s = (d >> 44) & 1;
	x.dpl = (d >> 45) & 3;
	x.p = (d >> 47) & 1;
	x.l = (d >> 53) & 1;
	x.db = (d >> 54) & 1;
	return x;
}

/*
 * A flat 32-bit ring-0 segment: base 0, 4 GiB limit, D/B set, L clear.
 * type_want is 0xa (code, readable) or 0x2 (data, writable); the accessed
 * bit may be either. On mismatch the "want" is the canonical descriptor.
 */
static int check_flat(const char *what, u64 raw, u8 type_want)
{
	struct desc d = decode(raw);
	u64 want = 0x00cf90000000ffffULL | ((u64)type_want << 40);

	if (!d.p || !d.s || (d.type & 0xe) != type_want || d.dpl != 0 || d.base != 0 ||
	    d.limit != 0xffffffff || d.l || !d.db)
		return fail("entry-gdt", what, raw, want);
	return 0;
}

static bool gdt_ok;

static int check_gdt(void)
{
	const u64 *gdt = (const u64 *)boot_state.gdt_base;
	struct desc tss;

	if (boot_state.gdt_limit < SEL_TSS + 7)
		return fail("entry-gdt", "limit too small for TSS at 0x18", boot_state.gdt_limit,
			    0x1f);
	if (!boot_state.gdt_base || boot_state.gdt_base >= GiB)
		return fail("entry-gdt", "base", boot_state.gdt_base, LAYOUT_GDT);
	if (check_flat("descriptor 0x08 is not flat 32-bit code", gdt[SEL_CODE / 8], 0xa))
		return -1;
	if (check_flat("descriptor 0x10 is not flat 32-bit data", gdt[SEL_DATA / 8], 0x2))
		return -1;
	tss = decode(gdt[SEL_TSS / 8]);
	if (tss.s || tss.type != 0xb || !tss.p)
		return fail("entry-gdt", "descriptor 0x18 is not a busy 32-bit TSS (type)",
			    tss.type, 0xb);
	if (tss.base != 0 || tss.limit != 0x67)
		return fail("entry-gdt", "TSS base/limit (pvh.pandoc: base 0, limit 0x67)",
			    ((u64)tss.base << 32) | tss.limit, 0x67);
	gdt_ok = true;
	return pass("entry-gdt");
}

/*
 * The monitor's GDT must match the hidden segment state it set: reload CS,
 * DS, ES and SS from it, as Linux's PVH entry does first thing.
 */
static int check_segment_reload(void)
{
	static volatile u32 probe;

	if (!gdt_ok)
		return fail("segment-reload", "not tried, GDT does not match", 0, 1);
	asm volatile("ljmp %0, $1f\n"
		     "1:\n\t"
		     "movw %w1, %%ds\n\t"
		     "movw %w1, %%es\n\t"
		     "movw %w1, %%ss\n\t"
		     :
		     : "i"(SEL_CODE), "r"(SEL_DATA)
		     : "memory");
	probe = 0x5a5a1234;
	if (probe != 0x5a5a1234)
		return fail("segment-reload", "memory after reload", probe, 0x5a5a1234);
	return pass("segment-reload");
}

static int check_msrs(void)
{
	u64 mtrr = ((u64)boot_state.mtrr_def_hi << 32) | boot_state.mtrr_def;
	u64 apic = rdmsr(MSR_APIC_BASE);
	u64 apic_want = LAYOUT_LAPIC | APIC_BASE_ENABLE | APIC_BASE_BSP;

	if (mtrr != MTRR_DEF_WRITEBACK)
		fail("mtrr-default", "MSR 0x2ff", mtrr, MTRR_DEF_WRITEBACK);
	else
		pass("mtrr-default");
	if ((apic & (APIC_BASE_ADDR_MASK | APIC_BASE_ENABLE | APIC_BASE_BSP)) != apic_want)
		return fail("apic-base", "MSR 0x1b (base, enable, BSP)", apic, apic_want);
	return pass("apic-base");
}

/* ---- CPUID ---- */

static int check_cpuid(void)
{
	u32 a, b, c, d, max_ext, lapic_id;

	cpuid(1, &a, &b, &c, &d);
	if (!(c & (1u << 31)))
		fail("cpuid-hypervisor", "leaf 1 ECX bit 31", c, c | (1u << 31));
	else
		pass("cpuid-hypervisor");

	/* Read LAPIC ID before anything else uses leaf 1's EBX. */
	lapic_id = mmio_read32(LAYOUT_LAPIC + LAPIC_ID) >> 24;
	if (b >> 24 != 0)
		fail("cpuid-apic-id", "BSP leaf 1 EBX[31:24]", b >> 24, 0);
	else if (lapic_id != 0)
		fail("cpuid-apic-id", "BSP local APIC ID register", lapic_id, 0);
	else
		pass("cpuid-apic-id");

	cpuid(0x40000000, &a, &b, &c, &d);
	/* "KVMKVMKVM\0\0\0" in EBX, ECX, EDX, little-endian */
	if (b != 0x4b4d564b || c != 0x564b4d56 || d != 0x0000004d)
		fail("cpuid-kvm-signature", "leaf 0x40000000 EBX:ECX:EDX", ((u64)b << 32) | c,
		     0x4b4d564b564b4d56ULL);
	else if (a < 0x40000001)
		fail("cpuid-kvm-signature", "leaf 0x40000000 EAX (max leaf)", a, 0x40000001);
	else
		pass("cpuid-kvm-signature");

	cpuid(0x40000001, &a, &b, &c, &d);
	/* KVM_FEATURE_CLOCKSOURCE (bit 0) or KVM_FEATURE_CLOCKSOURCE2 (bit 3) */
	if (!(a & 0x9))
		fail("cpuid-kvm-clock", "leaf 0x40000001 EAX bit 0 or 3", a, a | 0x9);
	else
		pass("cpuid-kvm-clock");

	cpuid(0x80000000, &max_ext, &b, &c, &d);
	if (max_ext < 0x80000001)
		return fail("cpuid-long-mode", "max extended leaf", max_ext, 0x80000001);
	cpuid(0x80000001, &a, &b, &c, &d);
	if (!(d & (1u << 29)))
		return fail("cpuid-long-mode", "leaf 0x80000001 EDX bit 29", d, d | (1u << 29));
	return pass("cpuid-long-mode");
}

void cpu_checks(void)
{
	check_ebx();
	check_cr0();
	check_cr4_efer_eflags();
	check_selectors();
	check_gdt();
	check_segment_reload();
	check_msrs();
	check_cpuid();
}
