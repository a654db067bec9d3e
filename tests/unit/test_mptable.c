// SPDX-License-Identifier: MIT
#include <errno.h>

#include "boot/layout.h"
#include "boot/mptable.h"
#include "harness.h"
#include "util.h"

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static void check_table(unsigned ncpus)
{
	static uint8_t buf[LAYOUT_MPTABLE_MAX];
	int n = mptable_build(buf, sizeof(buf), (uint32_t)LAYOUT_MPTABLE, ncpus);
	const uint8_t *mpc = buf + 16, *p;
	unsigned cpus = 0, bsp = 0, ioapics = 0, intsrc = 0, entries;

	CHECK_EQ(n, mptable_size(ncpus));
	CHECK(memcmp(buf, "_MP_", 4) == 0);
	CHECK_EQ(sum(buf, 16), 0);
	CHECK_EQ(get_le32(buf + 4), LAYOUT_MPTABLE + 16);
	CHECK_EQ(buf[8], 1);
	CHECK_EQ(buf[9], 4);
	CHECK(memcmp(mpc, "PCMP", 4) == 0);
	CHECK_EQ(get_le16(mpc + 4), n - 16);
	CHECK_EQ(sum(mpc, get_le16(mpc + 4)), 0);
	CHECK_EQ(get_le32(mpc + 36), LAYOUT_LAPIC);
	entries = get_le16(mpc + 34);
	p = mpc + 44;
	for (unsigned i = 0; i < entries; i++) {
		switch (p[0]) {
		case 0:
			CHECK_EQ(p[1], cpus); /* APIC IDs 0..n-1 in order */
			CHECK(p[3] & 1);
			bsp += (p[3] & 2) != 0;
			cpus++;
			p += 20;
			break;
		case 2:
			ioapics++;
			CHECK_EQ(p[1], ncpus); /* IOAPIC ID after the CPUs */
			CHECK_EQ(get_le32(p + 4), LAYOUT_IOAPIC);
			p += 8;
			break;
		case 3:
			CHECK_EQ(p[5], p[7]); /* identity routing */
			intsrc++;
			p += 8;
			break;
		default:
			CHECK(p[0] <= 4);
			p += 8;
		}
	}
	CHECK_EQ(p - buf, n);
	CHECK_EQ(cpus, ncpus);
	CHECK_EQ(bsp, 1);
	CHECK_EQ(ioapics, 1);
	CHECK_EQ(intsrc, MPTABLE_IOAPIC_PINS);
}

TEST(tables_for_cpu_counts)
{
	static const unsigned counts[] = { 1, 2, 4, 64, MPTABLE_MAX_CPUS };

	for (unsigned i = 0; i < ARRAY_SIZE(counts); i++)
		check_table(counts[i]);
	CHECK(mptable_size(MPTABLE_MAX_CPUS) <= LAYOUT_MPTABLE_MAX);
}

TEST(bad_counts_and_small_buffer)
{
	uint8_t buf[512];

	CHECK_EQ(mptable_build(buf, sizeof(buf), 0xf0000, 0), -EINVAL);
	CHECK_EQ(mptable_build(buf, sizeof(buf), 0xf0000, MPTABLE_MAX_CPUS + 1), -EINVAL);
	CHECK_EQ(mptable_build(buf, 64, 0xf0000, 1), -ENOSPC);
}

SUITE(mptable, T(tables_for_cpu_counts), T(bad_counts_and_small_buffer));
