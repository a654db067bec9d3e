// SPDX-License-Identifier: MIT
#include "dev/cmos.h"
#include "harness.h"

/* 2026-11-25 11:45:30 UTC, a Wednesday. */
#define T_MORNING 1795607130LL

static int64_t fake_now(void *ctx)
{
	return *(int64_t *)ctx;
}

static uint8_t reg(struct cmos *c, uint8_t index)
{
	cmos_write(c, 0, index);
	return cmos_read(c, 1);
}

static void set_reg(struct cmos *c, uint8_t index, uint8_t val)
{
	cmos_write(c, 0, index);
	cmos_write(c, 1, val);
}

TEST(cmos_reads_host_time_in_bcd)
{
	int64_t now = T_MORNING;
	struct cmos c;

	cmos_init(&c, fake_now, &now);
	CHECK_EQ(reg(&c, CMOS_SECONDS), 0x30);
	CHECK_EQ(reg(&c, CMOS_MINUTES), 0x45);
	CHECK_EQ(reg(&c, CMOS_HOURS), 0x11);
	CHECK_EQ(reg(&c, CMOS_WEEKDAY), 4); /* Sunday is 1 */
	CHECK_EQ(reg(&c, CMOS_DAY), 0x25);
	CHECK_EQ(reg(&c, CMOS_MONTH), 0x11);
	CHECK_EQ(reg(&c, CMOS_YEAR), 0x26);
	CHECK_EQ(reg(&c, CMOS_CENTURY), 0x20);
	now += 61;
	CHECK_EQ(reg(&c, CMOS_SECONDS), 0x31);
	CHECK_EQ(reg(&c, CMOS_MINUTES), 0x46);
	cmos_destroy(&c);
}

/* What Linux's rtc-cmos probe polls: UIP must never be set, or it waits a
 * second (that wait is why this device exists). VRT says the time is valid. */
TEST(cmos_status_registers)
{
	int64_t now = T_MORNING;
	struct cmos c;

	cmos_init(&c, fake_now, &now);
	CHECK_EQ(reg(&c, CMOS_REG_A) & CMOS_A_UIP, 0);
	CHECK_EQ(reg(&c, CMOS_REG_A), 0x26);
	set_reg(&c, CMOS_REG_A, 0xff); /* UIP is read-only */
	CHECK_EQ(reg(&c, CMOS_REG_A), 0x7f);
	CHECK_EQ(reg(&c, CMOS_REG_B), CMOS_B_24H);
	CHECK_EQ(reg(&c, CMOS_REG_C), 0);
	CHECK_EQ(reg(&c, CMOS_REG_D), CMOS_D_VRT);
	set_reg(&c, CMOS_REG_D, 0);
	set_reg(&c, CMOS_REG_C, 0xff);
	CHECK_EQ(reg(&c, CMOS_REG_D), CMOS_D_VRT);
	CHECK_EQ(reg(&c, CMOS_REG_C), 0);
	cmos_destroy(&c);
}

TEST(cmos_binary_and_12_hour_modes)
{
	int64_t now = T_MORNING + 11 * 3600 + 20 * 60; /* 23:05:30 */
	struct cmos c;

	cmos_init(&c, fake_now, &now);
	set_reg(&c, CMOS_REG_B, CMOS_B_BINARY | CMOS_B_24H);
	CHECK_EQ(reg(&c, CMOS_HOURS), 23);
	CHECK_EQ(reg(&c, CMOS_MINUTES), 5);
	CHECK_EQ(reg(&c, CMOS_YEAR), 26);
	CHECK_EQ(reg(&c, CMOS_CENTURY), 20);
	set_reg(&c, CMOS_REG_B, 0); /* BCD, 12-hour */
	CHECK_EQ(reg(&c, CMOS_HOURS), CMOS_HOUR_PM | 0x11);
	now = T_MORNING - 11 * 3600 - 45 * 60; /* 00:00:30 */
	CHECK_EQ(reg(&c, CMOS_HOURS), 0x12); /* 12 AM */
	now += 12 * 3600; /* 12:00:30 */
	CHECK_EQ(reg(&c, CMOS_HOURS), CMOS_HOUR_PM | 0x12);
	cmos_destroy(&c);
}

/* hwclock's sequence: set SET, write the registers, clear SET. The clock
 * then runs from the written time. */
TEST(cmos_guest_sets_the_time)
{
	int64_t now = T_MORNING;
	struct cmos c;

	cmos_init(&c, fake_now, &now);
	set_reg(&c, CMOS_REG_B, CMOS_B_SET | CMOS_B_24H);
	now += 5; /* frozen while SET is held */
	CHECK_EQ(reg(&c, CMOS_SECONDS), 0x30);
	set_reg(&c, CMOS_SECONDS, 0x59);
	set_reg(&c, CMOS_MINUTES, 0x59);
	set_reg(&c, CMOS_HOURS, 0x23);
	set_reg(&c, CMOS_DAY, 0x31);
	set_reg(&c, CMOS_MONTH, 0x12);
	set_reg(&c, CMOS_YEAR, 0x99);
	set_reg(&c, CMOS_CENTURY, 0x19);
	set_reg(&c, CMOS_REG_B, CMOS_B_24H);
	CHECK_EQ(reg(&c, CMOS_SECONDS), 0x59);
	now += 1; /* 2000-01-01 00:00:00, a Saturday */
	CHECK_EQ(reg(&c, CMOS_SECONDS), 0x00);
	CHECK_EQ(reg(&c, CMOS_HOURS), 0x00);
	CHECK_EQ(reg(&c, CMOS_DAY), 0x01);
	CHECK_EQ(reg(&c, CMOS_MONTH), 0x01);
	CHECK_EQ(reg(&c, CMOS_YEAR), 0x00);
	CHECK_EQ(reg(&c, CMOS_CENTURY), 0x20);
	CHECK_EQ(reg(&c, CMOS_WEEKDAY), 7);
	CHECK_EQ(c.offset, 946684800LL - (T_MORNING + 6));
	cmos_destroy(&c);
}

/* Linux writes no century without ACPI: a two-digit year below 70 is 20xx. */
TEST(cmos_set_without_century)
{
	int64_t now = T_MORNING;
	struct cmos c;

	cmos_init(&c, fake_now, &now);
	set_reg(&c, CMOS_CENTURY, 0); /* implausible: ignored */
	set_reg(&c, CMOS_REG_B, CMOS_B_SET | CMOS_B_24H);
	set_reg(&c, CMOS_CENTURY, 0);
	set_reg(&c, CMOS_YEAR, 0x27);
	set_reg(&c, CMOS_REG_B, CMOS_B_24H);
	CHECK_EQ(reg(&c, CMOS_YEAR), 0x27);
	CHECK_EQ(reg(&c, CMOS_CENTURY), 0x20);
	CHECK_EQ(reg(&c, CMOS_MONTH), 0x11);
	cmos_destroy(&c);
}

TEST(cmos_nvram_and_index)
{
	int64_t now = T_MORNING;
	struct cmos c;
	uint8_t w[2] = { 0x8f, 0x0a }, r[2];

	cmos_init(&c, fake_now, &now);
	set_reg(&c, 0x80 | 0x40, 0x5a); /* bit 7 is the NMI mask, not index */
	CHECK_EQ(reg(&c, 0x40), 0x5a);
	CHECK_EQ(reg(&c, 0x7f), 0);
	CHECK_EQ(cmos_read(&c, 0), 0xff); /* the index port is write-only */
	/* A 16-bit write at 0x70 sets the index, then writes the data (the
	 * warm-reset byte Linux writes before INIT/SIPI). */
	cmos_bus_ops.write(&c, 0, w, 2);
	CHECK_EQ(reg(&c, 0x0f), 0x0a);
	cmos_write(&c, 0, 0x0f);
	cmos_bus_ops.read(&c, 0, r, 2);
	CHECK_EQ(r[0], 0xff);
	CHECK_EQ(r[1], 0x0a);
	cmos_destroy(&c);
}

/* Hostile writes: garbage BCD, impossible dates. The clock stays usable. */
TEST(cmos_garbage_time_is_harmless)
{
	int64_t now = T_MORNING;
	struct cmos c;

	cmos_init(&c, fake_now, &now);
	set_reg(&c, CMOS_REG_B, CMOS_B_SET);
	for (uint8_t i = 0; i < 10; i++)
		set_reg(&c, i, 0xff);
	set_reg(&c, CMOS_CENTURY, 0xff);
	set_reg(&c, CMOS_REG_B, CMOS_B_BINARY);
	set_reg(&c, CMOS_REG_B, CMOS_B_SET | CMOS_B_BINARY);
	set_reg(&c, CMOS_MONTH, 0);
	set_reg(&c, CMOS_DAY, 0);
	set_reg(&c, CMOS_REG_B, CMOS_B_BINARY | CMOS_B_24H);
	CHECK(reg(&c, CMOS_MONTH) >= 1 && reg(&c, CMOS_MONTH) <= 12);
	CHECK(reg(&c, CMOS_SECONDS) < 60);
	CHECK_EQ(reg(&c, CMOS_REG_A) & CMOS_A_UIP, 0);
	cmos_destroy(&c);
}

SUITE(cmos, T(cmos_reads_host_time_in_bcd), T(cmos_status_registers),
      T(cmos_binary_and_12_hour_modes), T(cmos_guest_sets_the_time),
      T(cmos_set_without_century), T(cmos_nvram_and_index), T(cmos_garbage_time_is_harmless));
