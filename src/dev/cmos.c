// SPDX-License-Identifier: MIT
#include "dev/cmos.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "snapshot/snapfile.h"

#define CMOS_PORT_INDEX 0
#define CMOS_PORT_DATA	1
#define CMOS_A_DEFAULT	0x26 /* 32.768 kHz time base, 1024 Hz rate */

static int64_t host_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

void cmos_init(struct cmos *c, int64_t (*now)(void *ctx), void *ctx)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->now = now ? now : host_now;
	c->ctx = ctx;
	c->ram[CMOS_REG_A] = CMOS_A_DEFAULT;
	c->ram[CMOS_REG_B] = CMOS_B_24H;
	c->ram[CMOS_REG_D] = CMOS_D_VRT;
}

void cmos_destroy(struct cmos *c)
{
	pthread_mutex_destroy(&c->lock);
}

static bool binary_mode(const struct cmos *c)
{
	return c->ram[CMOS_REG_B] & CMOS_B_BINARY;
}

static uint8_t to_reg(const struct cmos *c, unsigned v)
{
	return binary_mode(c) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | v % 10);
}

/* A hostile guest may write any byte; a bad BCD digit just yields a large
 * number that timegm() normalizes. */
static unsigned from_reg(const struct cmos *c, uint8_t v)
{
	return binary_mode(c) ? v : (unsigned)(v >> 4) * 10 + (v & 15);
}

static bool is_time_reg(unsigned i)
{
	switch (i) {
	case CMOS_SECONDS:
	case CMOS_MINUTES:
	case CMOS_HOURS:
	case CMOS_WEEKDAY:
	case CMOS_DAY:
	case CMOS_MONTH:
	case CMOS_YEAR:
	case CMOS_CENTURY:
		return true;
	}
	return false;
}

/* Latch guest time `t` into the time registers in the current format. */
static void latch_time(struct cmos *c, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	unsigned hour, year;

	if (!gmtime_r(&tt, &tm) || tm.tm_year < -1900 + 1 || tm.tm_year > 9999 - 1900)
		return; /* unrepresentable: the registers keep their last values */
	hour = (unsigned)tm.tm_hour;
	year = (unsigned)tm.tm_year + 1900;
	c->ram[CMOS_SECONDS] = to_reg(c, (unsigned)tm.tm_sec);
	c->ram[CMOS_MINUTES] = to_reg(c, (unsigned)tm.tm_min);
	if (c->ram[CMOS_REG_B] & CMOS_B_24H)
		c->ram[CMOS_HOURS] = to_reg(c, hour);
	else
		c->ram[CMOS_HOURS] = (uint8_t)(to_reg(c, hour % 12 ? hour % 12 : 12) |
					       (hour >= 12 ? CMOS_HOUR_PM : 0));
	c->ram[CMOS_WEEKDAY] = to_reg(c, (unsigned)tm.tm_wday + 1);
	c->ram[CMOS_DAY] = to_reg(c, (unsigned)tm.tm_mday);
	c->ram[CMOS_MONTH] = to_reg(c, (unsigned)tm.tm_mon + 1);
	c->ram[CMOS_YEAR] = to_reg(c, year % 100);
	c->ram[CMOS_CENTURY] = to_reg(c, year / 100);
}

/* The time the guest wrote into the registers, as seconds since the epoch;
 * false if the libc cannot represent it. */
static bool registers_time(const struct cmos *c, int64_t *t)
{
	struct tm tm = { 0 };
	unsigned hour, century = from_reg(c, c->ram[CMOS_CENTURY]);
	unsigned year = from_reg(c, c->ram[CMOS_YEAR]);
	time_t tt;

	if (c->ram[CMOS_REG_B] & CMOS_B_24H) {
		hour = from_reg(c, c->ram[CMOS_HOURS]);
	} else {
		hour = from_reg(c, c->ram[CMOS_HOURS] & (uint8_t)~CMOS_HOUR_PM) % 12;
		if (c->ram[CMOS_HOURS] & CMOS_HOUR_PM)
			hour += 12;
	}
	/* Linux writes the century register only when ACPI names it; without
	 * a plausible one, read the two-digit year as Linux does (< 70: 20xx). */
	if (century < 19 || century > 99)
		century = year < 70 ? 20 : 19;
	tm.tm_sec = (int)from_reg(c, c->ram[CMOS_SECONDS]);
	tm.tm_min = (int)from_reg(c, c->ram[CMOS_MINUTES]);
	tm.tm_hour = (int)hour;
	tm.tm_mday = (int)from_reg(c, c->ram[CMOS_DAY]);
	tm.tm_mon = (int)from_reg(c, c->ram[CMOS_MONTH]) - 1;
	tm.tm_year = (int)(century * 100 + year) - 1900;
	tt = timegm(&tm);
	if (tt == (time_t)-1)
		return false;
	*t = (int64_t)tt;
	return true;
}

static int64_t guest_now(const struct cmos *c)
{
	return c->now(c->ctx) + c->offset;
}

static void write_reg_b(struct cmos *c, uint8_t val)
{
	uint8_t old = c->ram[CMOS_REG_B];
	int64_t t;

	if (!(old & CMOS_B_SET) && (val & CMOS_B_SET)) {
		/* SET stops the clock: the registers hold the time of this
		 * moment until the guest has written the new one. */
		latch_time(c, guest_now(c));
	} else if ((old & CMOS_B_SET) && !(val & CMOS_B_SET)) {
		if (registers_time(c, &t))
			c->offset = t - c->now(c->ctx);
	}
	c->ram[CMOS_REG_B] = val;
}

uint8_t cmos_read(struct cmos *c, unsigned port)
{
	uint8_t v;
	unsigned i;

	if (port != CMOS_PORT_DATA)
		return 0xff; /* the index register is write-only; past it, nothing */
	pthread_mutex_lock(&c->lock);
	i = c->index;
	if (is_time_reg(i) && !(c->ram[CMOS_REG_B] & CMOS_B_SET))
		latch_time(c, guest_now(c));
	switch (i) {
	case CMOS_REG_A:
		v = c->ram[i] & (uint8_t)~CMOS_A_UIP; /* updates are instantaneous */
		break;
	case CMOS_REG_C:
		v = 0; /* no interrupt ever pending */
		break;
	case CMOS_REG_D:
		v = CMOS_D_VRT;
		break;
	default:
		v = c->ram[i];
	}
	pthread_mutex_unlock(&c->lock);
	return v;
}

void cmos_write(struct cmos *c, unsigned port, uint8_t val)
{
	pthread_mutex_lock(&c->lock);
	if (port == CMOS_PORT_INDEX) {
		c->index = val & (CMOS_SIZE - 1); /* bit 7 masks NMI: ignored */
	} else if (port == CMOS_PORT_DATA) {
		switch (c->index) {
		case CMOS_REG_A:
			c->ram[CMOS_REG_A] = val & (uint8_t)~CMOS_A_UIP;
			break;
		case CMOS_REG_B:
			write_reg_b(c, val);
			break;
		case CMOS_REG_C:
		case CMOS_REG_D:
			break; /* read-only */
		default:
			c->ram[c->index] = val;
		}
	}
	pthread_mutex_unlock(&c->lock);
}

static void cmos_bus_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	/* Byte registers: a 16-bit access at the index port touches both,
	 * index byte first, as an 8-bit ISA device sees it. */
	for (uint32_t k = 0; k < len; k++)
		data[k] = cmos_read(opaque, (unsigned)(off + k));
}

static void cmos_bus_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	for (uint32_t k = 0; k < len; k++)
		cmos_write(opaque, (unsigned)(off + k), data[k]);
}

const struct bus_ops cmos_bus_ops = {
	.name = "cmos",
	.read = cmos_bus_read,
	.write = cmos_bus_write,
};

void cmos_save(struct cmos *c, struct snap_w *w)
{
	pthread_mutex_lock(&c->lock);
	snap_put_u8(w, c->index);
	snap_put(w, c->ram, CMOS_SIZE);
	snap_put_u64(w, (uint64_t)c->offset);
	pthread_mutex_unlock(&c->lock);
}

int cmos_load(struct cmos *c, struct snap_r *r)
{
	uint8_t index = snap_get_u8(r), ram[CMOS_SIZE];
	int64_t offset;

	snap_get(r, ram, CMOS_SIZE);
	offset = (int64_t)snap_get_u64(r);
	if (snap_r_end(r) || index >= CMOS_SIZE)
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	c->index = index;
	memcpy(c->ram, ram, CMOS_SIZE);
	/* Guest time minus host time: the clock the guest set keeps running
	 * with the host's, across the time the snapshot lay on disk. */
	c->offset = offset;
	pthread_mutex_unlock(&c->lock);
	return 0;
}
