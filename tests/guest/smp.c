// SPDX-License-Identifier: MIT
/*
 * SMP: the MP table ember writes (Intel MultiProcessor Specification 1.4:
 * floating pointer "_MP_" on a 16-byte boundary in 0xF0000-0xFFFFF, then the
 * "PCMP" configuration table), and then the real thing: wake the APs with
 * INIT + SIPI + SIPI through the local APIC, as Linux does, and see each
 * one check in from the real-mode trampoline (trampoline.S).
 */
#include "tg.h"
#include "boot/layout.h"

#define MP_SCAN_START 0xf0000u
#define MP_SCAN_END   0x100000u
#define MPF_SIG	      0x5f504d5fu /* "_MP_" */
#define MPC_SIG	      0x504d4350u /* "PCMP" */
#define MP_CPU_EN     0x01
#define MP_CPU_BSP    0x02

#define TRAMP_ADDR    0x8000u /* free in ember's layout (layout.h) */
#define TRAMP_MAX_IDS 64      /* as in trampoline.S */

/* The trampoline page lies between the memory map and the command line. */
_Static_assert(TRAMP_ADDR >= LAYOUT_MEMMAP + LAYOUT_MEMMAP_MAX * 24 &&
		   TRAMP_ADDR + 0x1000 <= LAYOUT_CMDLINE,
	       "trampoline collides with ember's boot data");

#define LAPIC_SVR	 0x0f0
#define LAPIC_ICR_LO	 0x300
#define LAPIC_ICR_HI	 0x310
#define LAPIC_SVR_ENABLE (1u << 8)
#define ICR_BUSY	 (1u << 12)
#define ICR_ALL_BUT_SELF (3u << 18)
#define ICR_ASSERT	 (1u << 14)
#define ICR_INIT	 (5u << 8)
#define ICR_STARTUP	 (6u << 8)

#define AP_WAIT_SPINS 200000 /* ~1 M instructions at most: ~0.5 s here */

struct mpf {
	u32 signature;
	u32 physptr;
	u8 length; /* in 16-byte units */
	u8 spec_rev;
	u8 checksum;
	u8 feature[5];
};

struct mpc {
	u32 signature;
	u16 length;
	u8 spec_rev;
	u8 checksum;
	char oem[8];
	char product[12];
	u32 oem_ptr;
	u16 oem_size;
	u16 count;
	u32 lapic;
	u16 ext_length;
	u8 ext_checksum;
	u8 reserved;
};

struct mpc_cpu {
	u8 type;
	u8 apic_id;
	u8 apic_ver;
	u8 flags;
	u32 signature;
	u32 features;
	u32 reserved[2];
};

_Static_assert(sizeof(struct mpf) == 16, "mpf");
_Static_assert(sizeof(struct mpc) == 44, "mpc");
_Static_assert(sizeof(struct mpc_cpu) == 20, "mpc_cpu");

extern const char tramp_start[], tramp_count[], tramp_ids[], tramp_end[];

static u8 sum8(const void *p, u32 len)
{
	const u8 *b = p;
	u8 s = 0;

	while (len--)
		s += *b++;
	return s;
}

static const struct mpc *mpc;

static int check_mp_floating(void)
{
	const char *name = "mptable-fp";
	const struct mpf *f = NULL;

	for (u32 a = MP_SCAN_START; a < MP_SCAN_END; a += 16) {
		if (*(const u32 *)a == MPF_SIG) {
			f = (const void *)a;
			break;
		}
	}
	if (!f)
		return fail(name, "no _MP_ in 0xf0000-0xfffff", 0, LAYOUT_MPTABLE);
	if (f->length != 1)
		return fail_dec(name, "length (16-byte units)", f->length, 1);
	if (sum8(f, 16))
		return fail(name, "checksum: byte sum", sum8(f, 16), 0);
	if (f->spec_rev != 1 && f->spec_rev != 4)
		return fail_dec(name, "spec revision", f->spec_rev, 4);
	if (f->feature[0])
		return fail(name, "feature byte 1 (default config, no table)", f->feature[0], 0);
	if (!f->physptr || f->physptr > 0xffffffffu - sizeof(struct mpc))
		return fail(name, "physptr", f->physptr, (u32)f + 16);
	mpc = (const void *)f->physptr;
	return pass(name);
}

static int check_mp_config(u32 *ncpus)
{
	const char *name = "mptable-config";
	u8 seen[256] = {0};
	const u8 *p, *end;
	u32 bsps = 0, n = 0;
	u8 bsp_id = 0;

	if (mpc->signature != MPC_SIG)
		return fail(name, "signature", mpc->signature, MPC_SIG);
	if (mpc->length < sizeof(*mpc))
		return fail(name, "base table length", mpc->length, sizeof(*mpc));
	if (sum8(mpc, mpc->length))
		return fail(name, "checksum: byte sum", sum8(mpc, mpc->length), 0);
	if (mpc->lapic != LAYOUT_LAPIC)
		return fail(name, "local APIC address", mpc->lapic, LAYOUT_LAPIC);
	p = (const u8 *)(mpc + 1);
	end = (const u8 *)mpc + mpc->length;
	for (u32 i = 0; i < mpc->count; i++) {
		u32 len = p[0] == 0 ? 20 : 8; /* types 1-4 are 8 bytes */
		const struct mpc_cpu *c = (const void *)p;

		if (p[0] > 4)
			return fail_idx(name, i, "unknown entry type", p[0], 0);
		if (p + len > end)
			return fail_idx(name, i, "runs past the table length", (u32)(p + len),
					(u32)end);
		p += len;
		if (c->type != 0)
			continue;
		n++;
		if (!(c->flags & MP_CPU_EN))
			return fail_idx(name, i, "processor not enabled (flags)", c->flags,
					c->flags | MP_CPU_EN);
		if (seen[c->apic_id]++)
			return fail_idx(name, i, "duplicate APIC ID", c->apic_id, 0);
		if (c->flags & MP_CPU_BSP) {
			bsps++;
			bsp_id = c->apic_id;
		}
	}
	pass(name);

	if (n != args.cpus)
		return fail_dec("mptable-cpus", "processor entries vs tg.cpus", n, (u32)args.cpus);
	for (u32 id = 0; id < n; id++) {
		if (!seen[id])
			return fail_dec("mptable-cpus", "APIC IDs not 0..N-1: missing", id, id);
	}
	if (bsps != 1)
		return fail_dec("mptable-cpus", "entries with the BSP flag", bsps, 1);
	if (bsp_id != 0)
		return fail_dec("mptable-cpus", "BSP entry APIC ID", bsp_id, 0);
	*ncpus = n;
	return pass_n("mptable-cpus", n);
}

static void delay(u32 spins)
{
	while (spins--)
		cpu_relax();
}

static void send_ipi(u32 icr)
{
	u32 spins = 10000;

	mmio_write32(LAYOUT_LAPIC + LAPIC_ICR_HI, 0);
	mmio_write32(LAYOUT_LAPIC + LAPIC_ICR_LO, icr);
	while ((mmio_read32(LAYOUT_LAPIC + LAPIC_ICR_LO) & ICR_BUSY) && --spins)
		cpu_relax();
}

static int start_aps(u32 ncpus)
{
	const char *name = "smp-started";
	u32 size = (u32)(tramp_end - tramp_start);
	volatile u32 *count = (volatile u32 *)(TRAMP_ADDR + (tramp_count - tramp_start));
	volatile u8 *ids = (volatile u8 *)(TRAMP_ADDR + (tramp_ids - tramp_start));
	u8 seen[TRAMP_MAX_IDS] = {0};
	u32 spins = 0, got;

	if (ncpus > TRAMP_MAX_IDS)
		return fail_dec(name, "more CPUs than the trampoline records", ncpus,
				TRAMP_MAX_IDS);
	if (!bootinfo_range_is_free(TRAMP_ADDR, size))
		return fail(name, "trampoline area is boot data or not RAM", TRAMP_ADDR, 0);
	memcpy((void *)TRAMP_ADDR, tramp_start, size);

	mmio_write32(LAYOUT_LAPIC + LAPIC_SVR,
		     mmio_read32(LAYOUT_LAPIC + LAPIC_SVR) | LAPIC_SVR_ENABLE | 0xff);
	send_ipi(ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
	delay(2000);
	for (int i = 0; i < 2; i++) {
		send_ipi(ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_STARTUP | (TRAMP_ADDR >> 12));
		delay(500);
	}
	while (*count < ncpus - 1 && spins++ < AP_WAIT_SPINS)
		cpu_relax();
	got = *count;
	if (got != ncpus - 1)
		return fail_dec(name, "APs that checked in", got, ncpus - 1);
	for (u32 i = 0; i < got; i++) {
		u8 id = ids[i];

		if (id == 0 || id >= ncpus)
			return fail_idx(name, i, "AP APIC ID (CPUID leaf 1) out of 1..N-1", id,
					i + 1);
		if (seen[id]++)
			return fail_idx(name, i, "AP APIC ID seen twice", id, 0);
	}
	return pass_n(name, ncpus);
}

void smp_checks(void)
{
	u32 ncpus = 0;

	if (check_mp_floating()) {
		fail("smp-started", "skipped: no MP table", 0, 1);
		return;
	}
	if (check_mp_config(&ncpus)) {
		fail("smp-started", "skipped: MP table does not match tg.cpus", 0, 1);
		return;
	}
	if (ncpus == 1) {
		pass_n("smp-started", 1);
		return;
	}
	start_aps(ncpus);
}
