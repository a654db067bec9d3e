// SPDX-License-Identifier: MIT
#include "boot/acpi.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot/aml.h"
#include "boot/layout.h"
#include "dev/acpi_pm.h"
#include "dev/cmos.h"
#include "util.h"

#define OEM_ID		 "EMBER "
#define OEM_TABLE_ID	 "EMBERVM "
#define OEM_REVISION	 1
#define CREATOR_ID	 "EMBR"
#define CREATOR_REVISION 1
/* The FADT's Hypervisor Vendor Identity (ACPI 6.4 table 5.9). */
#define HYPERVISOR_ID "EMBERVMM"

#define TABLE_ALIGN 16

/* MADT structures (ACPI 6.4 section 5.2.12). */
#define MADT_HDR_SIZE	   44 /* SDT header, local APIC address, flags */
#define MADT_LAPIC	   0
#define MADT_LAPIC_SIZE	   8
#define MADT_IOAPIC	   1
#define MADT_IOAPIC_SIZE   12
#define MADT_ISO	   2
#define MADT_ISO_SIZE	   10
#define MADT_NMI	   4
#define MADT_NMI_SIZE	   6
#define MADT_LAPIC_ENABLED 1
/* MPS INTI flags: polarity active high (01), trigger edge (01 << 2). What
 * the MP table's "conforms to the ISA bus" means, spelled out. */
#define MADT_ISO_EDGE_HIGH 0x0005

/* Generic Address Structure (section 5.2.3.2). */
#define GAS_SYSTEM_IO	1
#define GAS_ACCESS_BYTE 1

#define COM1_NPORTS	 8
#define RTC_NPORTS	 2
#define I8042_CMD_OFFSET 4

void acpi_desc_init(struct acpi_desc *d, unsigned ncpus)
{
	memset(d, 0, sizeof(*d));
	d->ncpus = ncpus;
	d->ioapic_id = (uint8_t)ncpus; /* as mptable.c and board.c */
	d->ioapic_addr = (uint32_t)LAYOUT_IOAPIC;
	d->ioapic_gsi_base = 0;
	d->ioapic_pins = 24;
	d->lapic_addr = (uint32_t)LAYOUT_LAPIC;
	d->uart = (struct acpi_isa_dev){ true, PORT_COM1, PORT_COM1_IRQ };
	/*
	 * IRQ 8 is the RTC's on a PC, but ember's RTC raises no interrupt
	 * (dev/cmos.h). Described without one, rtc-cmos offers no alarms, as
	 * it does today under the MP table; with IRQ 8 it would offer alarms
	 * and update interrupts that never come (hwclock waits for a tick).
	 */
	d->rtc = (struct acpi_isa_dev){ true, PORT_CMOS_INDEX, ACPI_NO_IRQ };
	d->rtc_century = CMOS_CENTURY;
	d->i8042 = (struct acpi_isa_dev){ true, PORT_I8042_DATA, 1 };
	d->sleep_control_port = ACPI_PM_PORT + ACPI_PM_OFF_SLP_CTL;
	d->sleep_status_port = ACPI_PM_PORT + ACPI_PM_OFF_SLP_STS;
	d->reset_port = ACPI_PM_PORT + ACPI_PM_OFF_RESET;
	d->reset_value = ACPI_PM_RESET_VALUE;
	d->slp_typ_s5 = ACPI_PM_SLP_TYP_S5;
}

int acpi_desc_add_virtio(struct acpi_desc *d, uint64_t base, uint32_t size, uint32_t gsi)
{
	if (d->nvirtio >= ACPI_VIRTIO_MAX)
		return ember_seterr(-ENOSPC, "ACPI: more than %d virtio devices", ACPI_VIRTIO_MAX);
	d->virtio[d->nvirtio++] = (struct acpi_virtio_dev){ base, size, gsi };
	return 0;
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)-sum;
}

static void sdt_header(uint8_t *p, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(p, sig, 4);
	put_le32(p + 4, len);
	p[8] = rev;
	p[9] = 0;
	memcpy(p + 10, OEM_ID, 6);
	memcpy(p + 16, OEM_TABLE_ID, 8);
	put_le32(p + 24, OEM_REVISION);
	memcpy(p + 28, CREATOR_ID, 4);
	put_le32(p + 32, CREATOR_REVISION);
}

static void sdt_finish(uint8_t *p)
{
	p[9] = checksum(p, get_le32(p + 4));
}

/* A byte-wide I/O port register, as a GAS. */
static void gas_port8(uint8_t *p, uint16_t port)
{
	if (port == 0)
		return; /* all zero: not present */
	p[0] = GAS_SYSTEM_IO;
	p[1] = 8;
	p[2] = 0;
	p[3] = GAS_ACCESS_BYTE;
	put_le64(p + 4, port);
}

static bool gsi_ok(const struct acpi_desc *d, uint32_t gsi)
{
	return gsi >= d->ioapic_gsi_base && gsi - d->ioapic_gsi_base < d->ioapic_pins;
}

static int check_isa(const struct acpi_desc *d, const struct acpi_isa_dev *dev, const char *what)
{
	if (!dev->present || dev->irq == ACPI_NO_IRQ)
		return 0;
	if (dev->irq > 15 || !gsi_ok(d, dev->irq))
		return ember_seterr(-EINVAL, "ACPI: %s IRQ %u is not an ISA IRQ on the IOAPIC",
				    what, dev->irq);
	return 0;
}

static int check_desc(const struct acpi_desc *d, uint64_t gpa)
{
	int err;

	if (d->ncpus == 0 || d->ncpus > ACPI_MAX_CPUS)
		return ember_seterr(-EINVAL, "ACPI: %u CPUs (1 to %d)", d->ncpus, ACPI_MAX_CPUS);
	if (d->ioapic_id < d->ncpus || d->ioapic_id == 0xff)
		return ember_seterr(-EINVAL, "ACPI: IOAPIC ID %u collides with a CPU's APIC ID",
				    d->ioapic_id);
	if (d->ioapic_pins == 0 || d->ioapic_pins > 240)
		return ember_seterr(-EINVAL, "ACPI: %u IOAPIC pins", d->ioapic_pins);
	if (gpa % TABLE_ALIGN)
		return ember_seterr(-EINVAL, "ACPI: tables at 0x%llx, not 16-byte aligned",
				    (unsigned long long)gpa);
	if ((err = check_isa(d, &d->uart, "serial port")) || (err = check_isa(d, &d->rtc, "RTC")) ||
	    (err = check_isa(d, &d->i8042, "i8042")))
		return err;
	if (d->nvirtio > ACPI_VIRTIO_MAX)
		return ember_seterr(-EINVAL, "ACPI: %u virtio devices (at most %d)", d->nvirtio,
				    ACPI_VIRTIO_MAX);
	for (unsigned i = 0; i < d->nvirtio; i++) {
		const struct acpi_virtio_dev *v = &d->virtio[i];

		if (v->size == 0 || v->base > UINT32_MAX || v->size > UINT32_MAX - v->base + 1)
			return ember_seterr(-EINVAL,
					    "ACPI: virtio device %u at 0x%llx+0x%x is not "
					    "below 4 GiB",
					    i, (unsigned long long)v->base, v->size);
		if (!gsi_ok(d, v->gsi))
			return ember_seterr(-EINVAL,
					    "ACPI: virtio device %u: GSI %u is not on "
					    "the IOAPIC",
					    i, v->gsi);
	}
	return 0;
}

static size_t madt_size(const struct acpi_desc *d)
{
	size_t isos = 0;

	isos += d->uart.present && d->uart.irq != ACPI_NO_IRQ;
	isos += d->rtc.present && d->rtc.irq != ACPI_NO_IRQ;
	isos += d->i8042.present && d->i8042.irq != ACPI_NO_IRQ;

	return MADT_HDR_SIZE + (size_t)d->ncpus * MADT_LAPIC_SIZE + MADT_IOAPIC_SIZE +
	       isos * MADT_ISO_SIZE + MADT_NMI_SIZE;
}

static uint8_t *madt_iso(uint8_t *p, const struct acpi_desc *d, const struct acpi_isa_dev *dev)
{
	if (!dev->present || dev->irq == ACPI_NO_IRQ)
		return p;
	p[0] = MADT_ISO;
	p[1] = MADT_ISO_SIZE;
	p[2] = 0; /* ISA */
	p[3] = dev->irq;
	put_le32(p + 4, d->ioapic_gsi_base + dev->irq); /* identity, as the MP table */
	put_le16(p + 8, MADT_ISO_EDGE_HIGH);
	return p + MADT_ISO_SIZE;
}

/*
 * The MADT says what the MP table says (mptable.c): CPUs with APIC IDs
 * 0..n-1, all enabled; one IOAPIC with ID n; ISA IRQ n on pin n, edge and
 * active high (spelled out for the ISA IRQs the DSDT's devices use); NMI on LINT1 of every local
 * APIC. Flags 0: no 8259 (ember has no PIC, so PCAT_COMPAT stays clear).
 */
static void build_madt(uint8_t *t, const struct acpi_desc *d)
{
	uint32_t len = (uint32_t)madt_size(d);
	uint8_t *p = t + MADT_HDR_SIZE;

	memset(t, 0, len);
	sdt_header(t, "APIC", len, ACPI_MADT_REVISION);
	put_le32(t + 36, d->lapic_addr);
	put_le32(t + 40, 0);
	for (unsigned i = 0; i < d->ncpus; i++, p += MADT_LAPIC_SIZE) {
		p[0] = MADT_LAPIC;
		p[1] = MADT_LAPIC_SIZE;
		p[2] = (uint8_t)i; /* ACPI processor UID */
		p[3] = (uint8_t)i; /* APIC ID, as cpuid.c and the MP table */
		put_le32(p + 4, MADT_LAPIC_ENABLED);
	}
	p[0] = MADT_IOAPIC;
	p[1] = MADT_IOAPIC_SIZE;
	p[2] = d->ioapic_id;
	put_le32(p + 4, d->ioapic_addr);
	put_le32(p + 8, d->ioapic_gsi_base);
	p += MADT_IOAPIC_SIZE;
	p = madt_iso(p, d, &d->i8042);
	p = madt_iso(p, d, &d->uart);
	p = madt_iso(p, d, &d->rtc);
	p[0] = MADT_NMI;
	p[1] = MADT_NMI_SIZE;
	p[2] = 0xff; /* every processor */
	put_le16(p + 3, 0);
	p[5] = 1; /* LINT1 */
	sdt_finish(t);
}

static void isa_device(struct aml *a, const char *name, const char *hid,
		       const struct acpi_isa_dev *dev, uint8_t nports, bool uid)
{
	struct aml_res r;
	size_t dev_mark;

	aml_res_init(&r);
	aml_res_io(&r, dev->port, nports);
	if (strcmp(hid, "PNP0303") == 0)
		aml_res_io(&r, (uint16_t)(dev->port + I8042_CMD_OFFSET), 1);
	if (dev->irq != ACPI_NO_IRQ)
		aml_res_irq(&r, dev->irq);
	aml_res_end(&r);
	if (r.err && !a->err)
		a->err = r.err;

	dev_mark = aml_device_open(a, name);
	aml_name(a, "_HID");
	aml_eisaid(a, hid);
	if (uid) {
		aml_name(a, "_UID");
		aml_integer(a, 0);
	}
	aml_name(a, "_CRS");
	aml_buffer(a, r.b, r.len);
	aml_close(a, dev_mark);
}

static void virtio_device(struct aml *a, unsigned i, const struct acpi_virtio_dev *v)
{
	struct aml_res r;
	char name[5];
	size_t mark;

	/* Edge-triggered, active high, as the MP table describes every pin
	 * (ISA, conforming): ember raises these lines through KVM irqfds on
	 * MSI routes, which deliver one interrupt per signal. */
	aml_res_init(&r);
	aml_res_mem32(&r, (uint32_t)v->base, v->size);
	aml_res_ext_irq(&r, AML_IRQ_CONSUMER | AML_IRQ_EDGE, v->gsi);
	aml_res_end(&r);
	if (r.err && !a->err)
		a->err = r.err;

	snprintf(name, sizeof(name), "VR%02X", i & 0xff);
	mark = aml_device_open(a, name);
	aml_name(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_name(a, "_UID");
	aml_integer(a, i);
	aml_name(a, "_CRS");
	aml_buffer(a, r.b, r.len);
	aml_close(a, mark);
}

/* The DSDT at t with room for `cap` bytes: its length, or negative errno. */
static int build_dsdt(uint8_t *t, size_t cap, const struct acpi_desc *d)
{
	struct aml a;
	size_t sb;

	if (cap < ACPI_SDT_HDR_SIZE)
		return -ENOSPC;
	aml_init(&a, t + ACPI_SDT_HDR_SIZE, cap - ACPI_SDT_HDR_SIZE);
	sb = aml_scope_open(&a, "\\_SB_");
	if (d->uart.present)
		isa_device(&a, "COM1", "PNP0501", &d->uart, COM1_NPORTS, true);
	if (d->rtc.present)
		isa_device(&a, "RTC_", "PNP0B00", &d->rtc, RTC_NPORTS, false);
	if (d->i8042.present)
		isa_device(&a, "KBD_", "PNP0303", &d->i8042, 1, false);
	for (unsigned i = 0; i < d->nvirtio; i++)
		virtio_device(&a, i, &d->virtio[i]);
	aml_close(&a, sb);
	/* \_S5_: Package {SLP_TYP for the sleep control register, 0}. Linux
	 * offers poweroff through ACPI only when it finds \_S5_ and both
	 * sleep registers. */
	if (d->sleep_control_port && d->sleep_status_port) {
		size_t pkg;

		aml_name(&a, "\\_S5_");
		pkg = aml_package_open(&a, 2);
		aml_integer(&a, d->slp_typ_s5);
		aml_integer(&a, 0);
		aml_close(&a, pkg);
	}
	if (a.err)
		return a.err;
	sdt_header(t, "DSDT", (uint32_t)(ACPI_SDT_HDR_SIZE + a.len), ACPI_DSDT_REVISION);
	sdt_finish(t);
	return (int)(ACPI_SDT_HDR_SIZE + a.len);
}

static void build_fadt(uint8_t *t, const struct acpi_desc *d, uint64_t dsdt_gpa)
{
	uint16_t boot = ACPI_IAPC_NO_VGA;
	uint32_t flags = ACPI_FADT_F_HW_REDUCED | ACPI_FADT_F_PWR_BUTTON | ACPI_FADT_F_SLP_BUTTON;

	memset(t, 0, ACPI_FADT_SIZE);
	sdt_header(t, "FACP", ACPI_FADT_SIZE, ACPI_FADT_REVISION);
	/*
	 * What Linux reads from IAPC_BOOT_ARCH (arch/x86/kernel/acpi/boot.c,
	 * acpi_parse_fadt()): without the 8042 bit it marks the i8042
	 * "firmware absent" and probes it only if the DSDT has a PNP0303 (or
	 * i8042.nopnp is given), so ember sets the bit and describes the
	 * device. NO_CMOS_RTC would drop the RTC platform device; ember has
	 * the RTC (and describes it as PNP0B00, which rtc-cmos binds), so the
	 * bit stays clear. No VGA: nothing to probe at 0xA0000.
	 */
	if (d->uart.present || d->rtc.present || d->i8042.present)
		boot |= ACPI_IAPC_LEGACY_DEVICES;
	if (d->i8042.present)
		boot |= ACPI_IAPC_8042;
	if (!d->rtc.present)
		boot |= ACPI_IAPC_NO_CMOS_RTC;
	else
		t[ACPI_FADT_CENTURY] = d->rtc_century; /* rtc-cmos reads it */
	put_le16(t + ACPI_FADT_IAPC_BOOT_ARCH, boot);
	if (d->reset_port) {
		flags |= ACPI_FADT_F_RESET_REG_SUP;
		gas_port8(t + ACPI_FADT_RESET_REG, d->reset_port);
		t[ACPI_FADT_RESET_VALUE] = d->reset_value;
	}
	put_le32(t + ACPI_FADT_FLAGS, flags);
	t[ACPI_FADT_MINOR_VERSION] = ACPI_FADT_MINOR;
	put_le64(t + ACPI_FADT_X_DSDT, dsdt_gpa);
	gas_port8(t + ACPI_FADT_SLEEP_CONTROL, d->sleep_control_port);
	gas_port8(t + ACPI_FADT_SLEEP_STATUS, d->sleep_status_port);
	memcpy(t + ACPI_FADT_HYPERVISOR_ID, HYPERVISOR_ID, 8);
	sdt_finish(t);
}

static void build_rsdp(uint8_t *p, uint64_t xsdt_gpa)
{
	memset(p, 0, ACPI_RSDP_SIZE);
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, OEM_ID, 6);
	p[15] = 2;	     /* ACPI 2.0+: XSDT and the extended checksum */
	put_le32(p + 16, 0); /* no RSDT: every ACPI 2.0+ OS takes the XSDT */
	put_le32(p + 20, ACPI_RSDP_SIZE);
	put_le64(p + 24, xsdt_gpa);
	p[8] = checksum(p, 20);
	p[32] = checksum(p, ACPI_RSDP_SIZE);
}

static size_t align16(size_t x)
{
	return (x + TABLE_ALIGN - 1) & ~(size_t)(TABLE_ALIGN - 1);
}

int acpi_build(uint8_t *buf, size_t cap, uint64_t gpa, const struct acpi_desc *d,
	       uint64_t *rsdp_gpa)
{
	enum { NTABLES = 2 }; /* in the XSDT: FADT, MADT */
	size_t xsdt = align16(ACPI_RSDP_SIZE);
	size_t xsdt_len = ACPI_SDT_HDR_SIZE + NTABLES * 8;
	size_t fadt = align16(xsdt + xsdt_len);
	size_t madt = align16(fadt + ACPI_FADT_SIZE);
	size_t dsdt = align16(madt + madt_size(d));
	int err = check_desc(d, gpa), dsdt_len;

	if (err)
		return err;
	if (cap < dsdt)
		return ember_seterr(-ENOSPC, "ACPI tables: over the %zu bytes reserved", cap);
	dsdt_len = build_dsdt(buf + dsdt, cap - dsdt, d);
	if (dsdt_len == -ENOSPC)
		return ember_seterr(-ENOSPC, "ACPI tables: over the %zu bytes reserved", cap);
	if (dsdt_len < 0)
		return ember_seterr(dsdt_len, "ACPI: cannot encode the DSDT");
	memset(buf, 0, dsdt);

	build_madt(buf + madt, d);
	build_fadt(buf + fadt, d, gpa + dsdt);
	sdt_header(buf + xsdt, "XSDT", (uint32_t)xsdt_len, ACPI_XSDT_REVISION);
	put_le64(buf + xsdt + ACPI_SDT_HDR_SIZE, gpa + fadt);
	put_le64(buf + xsdt + ACPI_SDT_HDR_SIZE + 8, gpa + madt);
	sdt_finish(buf + xsdt);
	build_rsdp(buf, gpa + xsdt);
	*rsdp_gpa = gpa;
	return (int)(dsdt + (size_t)dsdt_len);
}
