// SPDX-License-Identifier: MIT
#include "boot/mptable.h"

#include <errno.h>
#include <string.h>

#include "boot/layout.h"
#include "util.h"

#define MPF_SIZE       16
#define MPC_HDR_SIZE   44
#define MPC_CPU_SIZE   20
#define MPC_SMALL_SIZE 8 /* bus, IOAPIC, I/O and local interrupt entries */

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

#define CPU_ENABLED	1
#define CPU_BOOTPROC	2
#define APIC_VERSION	0x14
#define IOAPIC_VERSION	0x11
#define ISA_BUS_ID	0

size_t mptable_size(unsigned ncpus)
{
	return MPF_SIZE + MPC_HDR_SIZE + (size_t)ncpus * MPC_CPU_SIZE +
	       (2 + MPTABLE_IOAPIC_PINS + 2) * MPC_SMALL_SIZE;
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)-sum;
}

static uint8_t *small_entry(uint8_t *p, uint8_t type, uint8_t a, uint8_t b, uint8_t c, uint8_t d,
			    uint8_t e)
{
	/* Interrupt entries: type, irq type, flags (2 bytes: 0 = conforms to
	 * the bus), source bus, source IRQ, destination id, destination pin. */
	p[0] = type;
	p[1] = a;
	p[2] = 0;
	p[3] = 0;
	p[4] = b;
	p[5] = c;
	p[6] = d;
	p[7] = e;
	return p + MPC_SMALL_SIZE;
}

int mptable_build(uint8_t *buf, size_t cap, uint32_t gpa, unsigned ncpus)
{
	size_t size = mptable_size(ncpus);
	uint8_t *mpf = buf, *mpc = buf + MPF_SIZE, *p;
	uint8_t ioapic_id = (uint8_t)ncpus;
	unsigned entries = 0;

	if (ncpus == 0 || ncpus > MPTABLE_MAX_CPUS)
		return -EINVAL;
	if (cap < size)
		return -ENOSPC;
	memset(buf, 0, size);

	p = mpc + MPC_HDR_SIZE;
	for (unsigned i = 0; i < ncpus; i++, entries++) {
		p[0] = MP_PROCESSOR;
		p[1] = (uint8_t)i; /* APIC ID, as cpuid.c reports it */
		p[2] = APIC_VERSION;
		p[3] = CPU_ENABLED | (i == 0 ? CPU_BOOTPROC : 0);
		put_le32(p + 4, 0x600);	    /* signature: family 6 */
		put_le32(p + 8, 0x201);	    /* features: FPU, APIC */
		p += MPC_CPU_SIZE;
	}
	p[0] = MP_BUS;
	p[1] = ISA_BUS_ID;
	memcpy(p + 2, "ISA   ", 6);
	p += MPC_SMALL_SIZE;
	entries++;

	p[0] = MP_IOAPIC;
	p[1] = ioapic_id;
	p[2] = IOAPIC_VERSION;
	p[3] = 1; /* enabled */
	put_le32(p + 4, (uint32_t)LAYOUT_IOAPIC);
	p += MPC_SMALL_SIZE;
	entries++;

	/* Identity-route every IOAPIC pin from the ISA bus, as KVM's default
	 * GSI routing does (GSI n = IOAPIC pin n). */
	for (unsigned pin = 0; pin < MPTABLE_IOAPIC_PINS; pin++, entries++)
		p = small_entry(p, MP_INTSRC, MP_INT, ISA_BUS_ID, (uint8_t)pin, ioapic_id,
				(uint8_t)pin);
	/* LINT0 carries the 8259 (ExtINT), LINT1 NMI, on every local APIC. */
	p = small_entry(p, MP_LINTSRC, MP_EXTINT, ISA_BUS_ID, 0, 0xff, 0);
	p = small_entry(p, MP_LINTSRC, MP_NMI, ISA_BUS_ID, 0, 0xff, 1);
	entries += 2;

	memcpy(mpc, "PCMP", 4);
	put_le16(mpc + 4, (uint16_t)(size - MPF_SIZE));
	mpc[6] = 4; /* spec revision 1.4 */
	memcpy(mpc + 8, "EMBER   ", 8);
	memcpy(mpc + 16, "MICROVM     ", 12);
	put_le16(mpc + 34, (uint16_t)entries);
	put_le32(mpc + 36, (uint32_t)LAYOUT_LAPIC);
	mpc[7] = checksum(mpc, size - MPF_SIZE);

	memcpy(mpf, "_MP_", 4);
	put_le32(mpf + 4, gpa + MPF_SIZE);
	mpf[8] = 1; /* length in 16-byte units */
	mpf[9] = 4;
	mpf[10] = checksum(mpf, MPF_SIZE);
	return (int)size;
}
