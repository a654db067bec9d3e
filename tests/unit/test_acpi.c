// SPDX-License-Identifier: MIT
#include <errno.h>

#include "boot/acpi.h"
#include "boot/aml.h"
#include "boot/layout.h"
#include "dev/acpi_pm.h"
#include "harness.h"
#include "util.h"

#define GPA 0xE0000ULL
#define CAP 0x10000

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* The table at guest address `gpa` inside buf, checked: signature, length
 * within the build, revision and checksum. */
static const uint8_t *table(const uint8_t *buf, int n, uint64_t gpa, const char *sig, uint8_t rev)
{
	const uint8_t *t;
	uint32_t len;

	CHECK(gpa >= GPA && gpa + ACPI_SDT_HDR_SIZE <= GPA + (uint64_t)n);
	if (gpa < GPA || gpa + ACPI_SDT_HDR_SIZE > GPA + (uint64_t)n)
		return NULL;
	CHECK_EQ(gpa % 16, 0);
	t = buf + (gpa - GPA);
	len = get_le32(t + 4);
	CHECK(memcmp(t, sig, 4) == 0);
	CHECK(len >= ACPI_SDT_HDR_SIZE && gpa - GPA + len <= (uint64_t)n);
	CHECK_EQ(t[8], rev);
	CHECK_EQ(sum(t, len), 0);
	CHECK(memcmp(t + 10, "EMBER ", 6) == 0);
	return t;
}

struct built {
	int n;
	const uint8_t *fadt, *madt, *dsdt;
};

static struct built check_all(uint8_t *buf, const struct acpi_desc *d)
{
	struct built r = { 0 };
	uint64_t rsdp = 0, xsdt;
	const uint8_t *x;

	memset(buf, 0xa5, CAP);
	r.n = acpi_build(buf, CAP, GPA, d, &rsdp);
	CHECK(r.n > 0);
	if (r.n <= 0)
		return r;
	CHECK_EQ(rsdp, GPA);
	/* RSDP: ACPI 2.0 layout, both checksums. */
	CHECK(memcmp(buf, "RSD PTR ", 8) == 0);
	CHECK_EQ(sum(buf, 20), 0);
	CHECK_EQ(buf[15], 2);
	CHECK_EQ(get_le32(buf + 16), 0);
	CHECK_EQ(get_le32(buf + 20), ACPI_RSDP_SIZE);
	CHECK_EQ(sum(buf, ACPI_RSDP_SIZE), 0);
	xsdt = get_le64(buf + 24);
	x = table(buf, r.n, xsdt, "XSDT", ACPI_XSDT_REVISION);
	if (!x)
		return r;
	CHECK_EQ(get_le32(x + 4), ACPI_SDT_HDR_SIZE + 2 * 8);
	r.fadt = table(buf, r.n, get_le64(x + 36), "FACP", ACPI_FADT_REVISION);
	r.madt = table(buf, r.n, get_le64(x + 44), "APIC", ACPI_MADT_REVISION);
	if (!r.fadt || !r.madt)
		return r;
	CHECK_EQ(get_le32(r.fadt + 4), ACPI_FADT_SIZE);
	CHECK_EQ(get_le32(r.fadt + 40), 0); /* 32-bit DSDT: X_DSDT only */
	r.dsdt = table(buf, r.n, get_le64(r.fadt + ACPI_FADT_X_DSDT), "DSDT", ACPI_DSDT_REVISION);
	/* The DSDT is last: the size returned ends it. */
	if (r.dsdt)
		CHECK_EQ(r.dsdt - buf + get_le32(r.dsdt + 4), r.n);
	return r;
}

/* A GAS naming a byte-wide I/O port. */
static void check_gas(const uint8_t *g, uint16_t port)
{
	CHECK_EQ(g[0], 1);
	CHECK_EQ(g[1], 8);
	CHECK_EQ(g[2], 0);
	CHECK_EQ(g[3], 1);
	CHECK_EQ(get_le64(g + 4), port);
}

TEST(fadt_hw_reduced_and_pm_registers)
{
	static uint8_t buf[CAP];
	struct acpi_desc d;
	struct built b;
	uint16_t boot;
	uint32_t flags;

	acpi_desc_init(&d, 1);
	b = check_all(buf, &d);
	if (!b.fadt)
		return;
	flags = get_le32(b.fadt + ACPI_FADT_FLAGS);
	CHECK(flags & ACPI_FADT_F_HW_REDUCED);
	CHECK(flags & ACPI_FADT_F_RESET_REG_SUP);
	CHECK_EQ(b.fadt[ACPI_FADT_MINOR_VERSION], ACPI_FADT_MINOR);
	boot = get_le16(b.fadt + ACPI_FADT_IAPC_BOOT_ARCH);
	CHECK(boot & ACPI_IAPC_8042);		/* Linux probes the i8042 */
	CHECK(!(boot & ACPI_IAPC_NO_CMOS_RTC)); /* rtc-cmos keeps its RTC */
	CHECK(boot & ACPI_IAPC_NO_VGA);
	CHECK_EQ(b.fadt[ACPI_FADT_CENTURY], 0x32);
	check_gas(b.fadt + ACPI_FADT_RESET_REG, ACPI_PM_PORT + ACPI_PM_OFF_RESET);
	CHECK_EQ(b.fadt[ACPI_FADT_RESET_VALUE], ACPI_PM_RESET_VALUE);
	check_gas(b.fadt + ACPI_FADT_SLEEP_CONTROL, ACPI_PM_PORT + ACPI_PM_OFF_SLP_CTL);
	check_gas(b.fadt + ACPI_FADT_SLEEP_STATUS, ACPI_PM_PORT + ACPI_PM_OFF_SLP_STS);
	CHECK(memcmp(b.fadt + ACPI_FADT_HYPERVISOR_ID, "EMBERVMM", 8) == 0);
	/* No fixed hardware: SCI, SMI, PM1 blocks all zero. */
	CHECK_EQ(get_le16(b.fadt + 46), 0);
	CHECK_EQ(get_le32(b.fadt + 48), 0);
	CHECK_EQ(get_le32(b.fadt + 56), 0);
	CHECK_EQ(get_le32(b.fadt + 64), 0);

	/* Without an i8042 the flag goes; without an RTC, NO_CMOS_RTC comes. */
	d.i8042.present = false;
	d.rtc.present = false;
	b = check_all(buf, &d);
	if (!b.fadt)
		return;
	boot = get_le16(b.fadt + ACPI_FADT_IAPC_BOOT_ARCH);
	CHECK(!(boot & ACPI_IAPC_8042));
	CHECK(boot & ACPI_IAPC_NO_CMOS_RTC);
}

static void check_madt(unsigned ncpus)
{
	static uint8_t buf[CAP];
	struct acpi_desc d;
	struct built b;
	const uint8_t *p, *end;
	unsigned cpus = 0, ioapics = 0, isos = 0, nmis = 0;
	uint32_t iso_irqs = 0;

	acpi_desc_init(&d, ncpus);
	b = check_all(buf, &d);
	if (!b.madt)
		return;
	CHECK_EQ(get_le32(b.madt + 36), LAYOUT_LAPIC);
	CHECK_EQ(get_le32(b.madt + 40), 0); /* no PCAT_COMPAT: no 8259 */
	p = b.madt + 44;
	end = b.madt + get_le32(b.madt + 4);
	while (p < end) {
		CHECK(p[1] >= 2 && p + p[1] <= end);
		if (p[1] < 2 || p + p[1] > end)
			return;
		switch (p[0]) {
		case 0:
			CHECK_EQ(p[1], 8);
			CHECK_EQ(p[3], cpus); /* APIC IDs 0..n-1, as the MP table */
			CHECK_EQ(get_le32(p + 4), 1);
			cpus++;
			break;
		case 1:
			CHECK_EQ(p[1], 12);
			CHECK_EQ(p[2], ncpus); /* the MP table's IOAPIC ID */
			CHECK_EQ(get_le32(p + 4), LAYOUT_IOAPIC);
			CHECK_EQ(get_le32(p + 8), 0);
			ioapics++;
			break;
		case 2:
			CHECK_EQ(p[1], 10);
			CHECK_EQ(p[2], 0);
			CHECK_EQ(get_le32(p + 4), p[3]); /* identity, as the MP table */
			CHECK_EQ(get_le16(p + 8), 0x5);	 /* edge, active high */
			iso_irqs |= 1u << p[3];
			isos++;
			break;
		case 4:
			CHECK_EQ(p[1], 6);
			CHECK_EQ(p[2], 0xff);
			CHECK_EQ(p[5], 1);
			nmis++;
			break;
		default:
			CHECK(!"unexpected MADT entry");
		}
		p += p[1];
	}
	CHECK(p == end);
	CHECK_EQ(cpus, ncpus);
	CHECK_EQ(ioapics, 1);
	CHECK_EQ(isos, 2);
	CHECK_EQ(iso_irqs, (1u << 1) | (1u << 4));
	CHECK_EQ(nmis, 1);
}

TEST(madt_for_cpu_counts)
{
	check_madt(1);
	check_madt(2);
	check_madt(ACPI_MAX_CPUS);
}

TEST(bad_descriptions_and_small_buffers)
{
	static uint8_t buf[CAP];
	struct acpi_desc d;
	uint64_t rsdp;
	int n;

	acpi_desc_init(&d, 0);
	CHECK_EQ(acpi_build(buf, CAP, GPA, &d, &rsdp), -EINVAL);
	acpi_desc_init(&d, ACPI_MAX_CPUS + 1);
	CHECK_EQ(acpi_build(buf, CAP, GPA, &d, &rsdp), -EINVAL);
	acpi_desc_init(&d, 2);
	d.ioapic_id = 1; /* a CPU's */
	CHECK_EQ(acpi_build(buf, CAP, GPA, &d, &rsdp), -EINVAL);
	acpi_desc_init(&d, 2);
	CHECK_EQ(acpi_build(buf, CAP, GPA + 8, &d, &rsdp), -EINVAL);
	d.uart.irq = 16;
	CHECK_EQ(acpi_build(buf, CAP, GPA, &d, &rsdp), -EINVAL);
	acpi_desc_init(&d, 2);
	CHECK_EQ(acpi_desc_add_virtio(&d, 0xD0001000, 0x1000, 24), 0); /* pin 24: none */
	CHECK_EQ(acpi_build(buf, CAP, GPA, &d, &rsdp), -EINVAL);
	acpi_desc_init(&d, 2);
	CHECK_EQ(acpi_desc_add_virtio(&d, 0xFFFFF000, 0x1000, 5), 0); /* ends at 4 GiB: fine */
	CHECK(acpi_build(buf, CAP, GPA, &d, &rsdp) > 0);
	CHECK_EQ(acpi_desc_add_virtio(&d, 0xFFFFF000, 0x2000, 6), 0); /* crosses 4 GiB */
	CHECK_EQ(acpi_build(buf, CAP, GPA, &d, &rsdp), -EINVAL);
	acpi_desc_init(&d, 1);
	for (unsigned i = 0; i < ACPI_VIRTIO_MAX; i++)
		CHECK_EQ(acpi_desc_add_virtio(&d, 0xD0001000 + i * 0x1000ULL, 0x1000, 5 + i % 16),
			 0);
	CHECK_EQ(acpi_desc_add_virtio(&d, 0xD0100000, 0x1000, 5), -ENOSPC);

	/* The largest machine fits the 64 KiB the lead reserves, with room. */
	acpi_desc_init(&d, ACPI_MAX_CPUS);
	for (unsigned i = 0; i < ACPI_VIRTIO_MAX; i++)
		acpi_desc_add_virtio(&d, 0xD0001000 + i * 0x1000ULL, 0x1000, 5 + i % 16);
	n = acpi_build(buf, CAP, GPA, &d, &rsdp);
	CHECK(n > 0 && n < 8192);
	/* Every size short of it is -ENOSPC, never a partial table. */
	for (size_t cap = 0; n > 0 && cap < (size_t)n; cap += cap < 64 ? 1 : 61)
		CHECK_EQ(acpi_build(buf, cap, GPA, &d, &rsdp), -ENOSPC);
	if (n > 0) {
		CHECK_EQ(acpi_build(buf, (size_t)n - 1, GPA, &d, &rsdp), -ENOSPC);
		CHECK_EQ(acpi_build(buf, (size_t)n, GPA, &d, &rsdp), n);
	}
}

/* --- the DSDT's AML ------------------------------------------------------- */

/* Find `needle` in hay; the offset or -1. */
static long find(const uint8_t *hay, size_t n, const void *needle, size_t len)
{
	for (size_t i = 0; i + len <= n; i++)
		if (memcmp(hay + i, needle, len) == 0)
			return (long)i;
	return -1;
}

/* The body of Device(name) in the AML: checks its PkgLength against the
 * enclosing AML and returns the span after the name. */
static const uint8_t *device(const uint8_t *aml, size_t n, const char *name, size_t *body_len)
{
	uint8_t pat[2] = { AML_EXT_OP, AML_DEVICE_OP };
	long at = -1;
	unsigned nb;
	long len;

	for (size_t i = 0; i + 7 <= n; i++) {
		unsigned k;

		if (memcmp(aml + i, pat, 2))
			continue;
		len = aml_pkglen_decode(aml + i + 2, n - i - 2, &k);
		if (len >= 0 && i + 2 + k + 4 <= n && memcmp(aml + i + 2 + k, name, 4) == 0) {
			at = (long)i;
			break;
		}
	}
	CHECK(at >= 0);
	if (at < 0)
		return NULL;
	len = aml_pkglen_decode(aml + at + 2, n - (size_t)at - 2, &nb);
	CHECK(len > 0 && (size_t)at + 2 + (size_t)len <= n);
	*body_len = (size_t)len - nb - 4;
	return aml + at + 2 + nb + 4;
}

/* The expected AML, laid out as it is read. */
/* clang-format off */
TEST(dsdt_aml)
{
	static uint8_t buf[CAP];
	struct acpi_desc d;
	struct built b;
	const uint8_t *aml, *dev;
	size_t n, blen;
	unsigned nb;
	long at, len;

	acpi_desc_init(&d, 2);
	for (unsigned i = 0; i < 3; i++)
		acpi_desc_add_virtio(&d, 0xD0001000 + i * 0x1000ULL, 0x1000, 5 + i);
	b = check_all(buf, &d);
	if (!b.dsdt)
		return;
	aml = b.dsdt + ACPI_SDT_HDR_SIZE;
	n = get_le32(b.dsdt + 4) - ACPI_SDT_HDR_SIZE;

	/* Scope (\_SB_) first, spanning every device; \_S5_ after it. */
	CHECK_EQ(aml[0], AML_SCOPE_OP);
	len = aml_pkglen_decode(aml + 1, n - 1, &nb);
	CHECK(len > 0);
	CHECK(memcmp(aml + 1 + nb, "\\_SB_", 5) == 0);
	{
		static const uint8_t s5[] = {
			AML_NAME_OP,	 '\\', '_',	   'S', '5', '_', AML_PACKAGE_OP, 5, 2,
			AML_BYTE_PREFIX, 5,    AML_ZERO_OP
		};

		CHECK_EQ(1 + len + sizeof(s5), n);
		CHECK(memcmp(aml + 1 + len, s5, sizeof(s5)) == 0);
	}

	/* COM1: EisaId("PNP0501") = 0x0105D041, _UID 0, IO 0x3F8/8, IRQ 4. */
	dev = device(aml, n, "COM1", &blen);
	if (dev) {
		static const uint8_t hid[] = { AML_NAME_OP,	 '_',  'H',  'I',  'D',
					       AML_DWORD_PREFIX, 0x41, 0xd0, 0x05, 0x01 };
		static const uint8_t crs[] = {
			AML_NAME_OP, '_',  'C',	 'R',  'S',  AML_BUFFER_OP, 16,	  AML_BYTE_PREFIX,
			13,	     0x47, 0x01, 0xf8, 0x03, 0xf8,	    0x03, 0x01,
			0x08,	     0x22, 0x10, 0x00, 0x79, 0x00
		};

		CHECK(memcmp(dev, hid, sizeof(hid)) == 0);
		CHECK(find(dev, blen, "_UID\0", 5) >= 0);
		CHECK(find(dev, blen, crs, sizeof(crs)) >= 0);
	}
	/* RTC: PNP0B00, IO 0x70/2, no IRQ (ember's RTC raises none). */
	dev = device(aml, n, "RTC_", &blen);
	if (dev) {
		static const uint8_t res[] = { AML_BUFFER_OP, 13, AML_BYTE_PREFIX, 10,
					       0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x02,
					       0x79, 0x00 };
		static const uint8_t hid[] = { AML_DWORD_PREFIX, 0x41, 0xd0, 0x0b, 0x00 };

		CHECK(find(dev, blen, hid, sizeof(hid)) >= 0);
		CHECK(find(dev, blen, res, sizeof(res)) >= 0);
	}
	/* Keyboard: PNP0303, IO 0x60 and 0x64, IRQ 1. */
	dev = device(aml, n, "KBD_", &blen);
	if (dev) {
		static const uint8_t res[] = { 0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01,
					       0x01, 0x47, 0x01, 0x64, 0x00, 0x64, 0x00,
					       0x01, 0x01, 0x22, 0x02, 0x00, 0x79, 0x00 };
		static const uint8_t hid[] = { AML_DWORD_PREFIX, 0x41, 0xd0, 0x03, 0x03 };

		CHECK(find(dev, blen, hid, sizeof(hid)) >= 0);
		CHECK(find(dev, blen, res, sizeof(res)) >= 0);
	}
	/* Virtio: "LNRO0005", _UID i, Memory32Fixed + Interrupt (edge, high). */
	for (unsigned i = 0; i < 3; i++) {
		char name[5] = { 'V', 'R', '0', (char)('0' + i), 0 };
		uint8_t res[] = { 0x86, 0x09, 0x00, 0x01, 0x00, (uint8_t)(0x10 + 0x10 * i),
				  0x00, 0xd0, 0x00, 0x10, 0x00, 0x00,
				  0x89, 0x06, 0x00, 0x03, 0x01, (uint8_t)(5 + i),
				  0,	0,    0,    0x79, 0x00 };
		uint8_t uid[] = { AML_NAME_OP, '_', 'U', 'I', 'D', AML_ZERO_OP, 0 };
		size_t uidlen = 6;

		if (i == 1) {
			uid[5] = AML_ONE_OP;
		} else if (i == 2) {
			uid[5] = AML_BYTE_PREFIX;
			uid[6] = 2;
			uidlen = 7;
		}
		dev = device(aml, n, name, &blen);
		if (!dev)
			continue;
		CHECK(find(dev, blen, "\x0dLNRO0005", 10) >= 0);
		CHECK(find(dev, blen, uid, uidlen) >= 0);
		CHECK(find(dev, blen, res, sizeof(res)) >= 0);
	}
	at = find(aml, n, "VR03", 4);
	CHECK_EQ(at, -1);
}
/* clang-format on */

/* clang-format off */
TEST(aml_encoding)
{
	uint8_t big[8192];
	struct aml a;
	size_t m;
	unsigned nb;
	long len;

	/* Integers: the shortest form. */
	{
		static const uint8_t want[] = { 0x00, 0x01, 0x0a, 0xff, 0x0b, 0x00, 0x01,
						0x0c, 0x00, 0x00, 0x01, 0x00, 0x0e, 1,
						0,    0,    0,    0,    1,    0,    0 };

		aml_init(&a, big, sizeof(big));
		aml_integer(&a, 0);
		aml_integer(&a, 1);
		aml_integer(&a, 0xff);
		aml_integer(&a, 0x100);
		aml_integer(&a, 0x10000);
		aml_integer(&a, 0x10000000001ULL);
		CHECK_EQ(a.err, 0);
		CHECK_EQ(a.len, sizeof(want));
		CHECK(memcmp(big, want, sizeof(want)) == 0);
	}
	/* PkgLength: one byte up to 63, then 2, 3 bytes; decodes back. */
	{
		static const size_t bodies[] = { 0, 62, 63, 64, 4093, 4094, 5000 };

		for (unsigned i = 0; i < ARRAY_SIZE(bodies); i++) {
			aml_init(&a, big, sizeof(big));
			m = aml_package_open(&a, 0);
			for (size_t j = 1; j < bodies[i]; j++) /* the count byte is body too */
				aml_integer(&a, 0);
			aml_close(&a, m);
			CHECK_EQ(a.err, 0);
			len = aml_pkglen_decode(big + 1, a.len - 1, &nb);
			CHECK_EQ(len, a.len - 1);
			CHECK_EQ(nb, bodies[i] + 1 <= 63 ? 1 : bodies[i] + 2 < 4096 ? 2 : 3);
			CHECK_EQ(big[1 + nb], 0); /* count byte right after it */
		}
	}
	/* Names: root, dual and multi segments, padding; bad ones rejected. */
	{
		static const uint8_t want[] = { 0x08, '\\', '_', 'S', '5', '_',
						0x08, 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1',
						0x08, 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_',
						'C', '_', '_', '_' };

		aml_init(&a, big, sizeof(big));
		aml_name(&a, "\\_S5");
		aml_name(&a, "_SB.COM1");
		aml_name(&a, "A.B.C");
		CHECK_EQ(a.err, 0);
		CHECK_EQ(a.len, sizeof(want));
		CHECK(memcmp(big, want, sizeof(want)) == 0);
		aml_init(&a, big, sizeof(big));
		aml_name(&a, "1ABC");
		CHECK_EQ(a.err, -EINVAL);
		aml_init(&a, big, sizeof(big));
		aml_name(&a, "ABCDE");
		CHECK_EQ(a.err, -EINVAL);
		aml_init(&a, big, sizeof(big));
		aml_name(&a, "AB.");
		CHECK_EQ(a.err, -EINVAL);
		aml_init(&a, big, sizeof(big));
		aml_eisaid(&a, "PNP0G01");
		CHECK_EQ(a.err, -EINVAL);
	}
	/* Sticky -ENOSPC, at every size short of the whole. */
	for (size_t cap = 0; cap < 20; cap++) {
		aml_init(&a, big, cap);
		m = aml_device_open(&a, "DEV0");
		aml_name(&a, "_HID");
		aml_eisaid(&a, "PNP0501");
		aml_close(&a, m);
		CHECK_EQ(a.err, cap < 17 ? -ENOSPC : 0);
	}
}
/* clang-format on */

/* --- the power-management device ------------------------------------------- */

struct pm_calls {
	unsigned poweroff, reset;
};

static void on_poweroff(void *ctx)
{
	((struct pm_calls *)ctx)->poweroff++;
}

static void on_reset(void *ctx)
{
	((struct pm_calls *)ctx)->reset++;
}

static void pm_out(struct acpi_pm *pm, unsigned off, uint8_t v)
{
	acpi_pm_bus_ops.write(pm, off, &v, 1);
}

static uint8_t pm_in(struct acpi_pm *pm, unsigned off)
{
	uint8_t v = 0xee;

	acpi_pm_bus_ops.read(pm, off, &v, 1);
	return v;
}

TEST(acpi_pm_device)
{
	struct pm_calls calls = { 0 };
	const struct acpi_pm_callbacks cb = { on_poweroff, on_reset, &calls };
	struct acpi_pm pm;
	uint8_t wide[2] = { 0, 0 };

	acpi_pm_init(&pm, &cb);
	CHECK_EQ(pm_in(&pm, ACPI_PM_OFF_SLP_CTL), 0);
	CHECK_EQ(pm_in(&pm, ACPI_PM_OFF_SLP_STS), 0);
	CHECK_EQ(pm_in(&pm, ACPI_PM_OFF_RESET), 0);

	/* SLP_TYP 5 without SLP_EN, and other sleep types: no power-off. */
	pm_out(&pm, ACPI_PM_OFF_SLP_CTL, 5 << 2);
	for (unsigned typ = 0; typ < 8; typ++)
		if (typ != ACPI_PM_SLP_TYP_S5)
			pm_out(&pm, ACPI_PM_OFF_SLP_CTL, (uint8_t)(typ << 2 | ACPI_PM_SLP_EN));
	CHECK_EQ(calls.poweroff, 0);
	CHECK_EQ(calls.reset, 0);
	/* ...those sleeps woke at once; WAK_STS is write-1-to-clear. */
	CHECK_EQ(pm_in(&pm, ACPI_PM_OFF_SLP_STS), ACPI_PM_WAK_STS);
	pm_out(&pm, ACPI_PM_OFF_SLP_STS, 0x7f);
	CHECK_EQ(pm_in(&pm, ACPI_PM_OFF_SLP_STS), ACPI_PM_WAK_STS);
	pm_out(&pm, ACPI_PM_OFF_SLP_STS, ACPI_PM_WAK_STS);
	CHECK_EQ(pm_in(&pm, ACPI_PM_OFF_SLP_STS), 0);

	/* What Linux's acpi_hw_extended_sleep(S5) writes: 0x34. */
	pm_out(&pm, ACPI_PM_OFF_SLP_CTL, 0x34);
	CHECK_EQ(calls.poweroff, 1);
	CHECK_EQ(pm_in(&pm, ACPI_PM_OFF_SLP_STS), 0); /* no wake-up: the guest waits */
	/* Reserved bits do not matter. */
	pm_out(&pm, ACPI_PM_OFF_SLP_CTL, 0x34 | 0xc3);
	CHECK_EQ(calls.poweroff, 2);

	/* Reset: only the FADT's value. */
	pm_out(&pm, ACPI_PM_OFF_RESET, 0);
	pm_out(&pm, ACPI_PM_OFF_RESET, 0xfe);
	CHECK_EQ(calls.reset, 0);
	pm_out(&pm, ACPI_PM_OFF_RESET, ACPI_PM_RESET_VALUE);
	CHECK_EQ(calls.reset, 1);

	/* A 16-bit access acts byte by byte. */
	wide[1] = ACPI_PM_RESET_VALUE;
	acpi_pm_bus_ops.write(&pm, ACPI_PM_OFF_SLP_STS, wide, 2);
	CHECK_EQ(calls.reset, 2);
	acpi_pm_bus_ops.read(&pm, 0, wide, 2);
	CHECK_EQ(wide[0], 0);
	CHECK_EQ(wide[1], 0);

	/* No callbacks: nothing happens, nothing crashes. */
	acpi_pm_init(&pm, NULL);
	pm_out(&pm, ACPI_PM_OFF_SLP_CTL, 0x34);
	pm_out(&pm, ACPI_PM_OFF_RESET, ACPI_PM_RESET_VALUE);
}

SUITE(acpi, T(fadt_hw_reduced_and_pm_registers), T(madt_for_cpu_counts),
      T(bad_descriptions_and_small_buffers), T(dsdt_aml), T(aml_encoding), T(acpi_pm_device));
