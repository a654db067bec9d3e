// SPDX-License-Identifier: MIT
/*
 * ACPI checks of the test guest: start_info's rsdp_paddr leads to an RSDP
 * (both checksums right), an XSDT, and through it a FADT (hardware-reduced,
 * with a sleep control register on an I/O port) and a MADT with one local
 * APIC per vCPU (tg.cpus). The FADT's sleep control port is what
 * tg_finish() powers the VM off with, as Linux's poweroff does.
 */
#include "start_info.h"
#include "tg.h"

u16 acpi_sleep_port; /* 0: none found */

static u8 sum(const u8 *p, u32 len)
{
	u8 s = 0;

	while (len--)
		s += *p++;
	return s;
}

/* A table at `addr` in the first 4 GiB, its signature and checksum. */
static const u8 *table(const char *name, u64 addr, const char *sig)
{
	const u8 *t = (const u8 *)(u32)addr;
	u32 len;

	if (addr == 0 || addr >> 32) {
		fail(name, "table address", addr, 0);
		return 0;
	}
	if (memcmp(t, sig, 4)) {
		fail(name, "signature", *(const u32 *)t, *(const u32 *)sig);
		return 0;
	}
	len = *(const u32 *)(t + 4);
	if (len < 36 || len > 0x10000 || sum(t, len)) {
		fail(name, "length or checksum", len, 0);
		return 0;
	}
	return t;
}

int acpi_checks(void)
{
	const char *name = "acpi";
	const u8 *rsdp = (const u8 *)(u32)start_info->rsdp_paddr, *xsdt, *fadt = 0, *madt = 0;
	u32 n, lapics = 0;

	if (start_info->rsdp_paddr != 0xE0000)
		return fail(name, "rsdp_paddr", start_info->rsdp_paddr, 0xE0000);
	if (memcmp(rsdp, "RSD PTR ", 8) || sum(rsdp, 20) || rsdp[15] < 2 || sum(rsdp, 36))
		return fail(name, "RSDP signature, revision or checksums", rsdp[15], 2);
	xsdt = table(name, *(const u64 *)(rsdp + 24), "XSDT");
	if (!xsdt)
		return -1;
	n = (*(const u32 *)(xsdt + 4) - 36) / 8;
	for (u32 i = 0; i < n; i++) {
		u64 a = *(const u64 *)(xsdt + 36 + 8 * i);
		const u8 *t = (const u8 *)(u32)a;

		if (a >> 32)
			return fail_idx(name, i, "XSDT entry above 4 GiB", a, 0);
		if (!memcmp(t, "FACP", 4))
			fadt = table(name, a, "FACP");
		else if (!memcmp(t, "APIC", 4))
			madt = table(name, a, "APIC");
	}
	if (!fadt || !madt)
		return fail(name, "FADT and MADT in the XSDT", (fadt != 0) + (madt != 0), 2);
	/* FADT flags bit 20: HW_REDUCED_ACPI. Sleep control: a GAS at 244,
	 * address space 1 (I/O), 8 bits wide. */
	if (!(*(const u32 *)(fadt + 112) & (1u << 20)))
		return fail(name, "FADT HW_REDUCED_ACPI flag", *(const u32 *)(fadt + 112), 1u << 20);
	if (fadt[244] != 1 || fadt[245] != 8 || *(const u64 *)(fadt + 248) >> 16)
		return fail(name, "FADT sleep control register", *(const u64 *)(fadt + 248), 0x600);
	if (!table(name, *(const u64 *)(fadt + 140), "DSDT"))
		return -1;
	/* MADT entries from offset 44: type 0 is a local APIC, flags bit 0 enabled. */
	for (u32 off = 44; off + 2 <= *(const u32 *)(madt + 4) && madt[off + 1] >= 2;
	     off += madt[off + 1])
		if (madt[off] == 0 && (madt[off + 4] & 1))
			lapics++;
	if (args.have_cpus && lapics != args.cpus)
		return fail_dec(name, "MADT enabled local APICs", lapics, (u32)args.cpus);
	acpi_sleep_port = (u16)*(const u64 *)(fadt + 248);
	return pass(name);
}
