// SPDX-License-Identifier: MIT
/*
 * The i8042 model, driven through its ports the way Linux's i8042 driver
 * drives it: commands are written once the status shows IBF clear, replies
 * read once it shows OBF, and each wait counts its status polls. Linux waits
 * up to 10000 polls of 50 us; here every wait must end on its first poll.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>

#include "dev/i8042.h"
#include "harness.h"
#include "util.h"

struct sink {
	unsigned resets;
	int level[16];	    /* by IRQ number */
	unsigned edges[16]; /* rising edges */
};

static struct i8042 k;
static struct sink sink;
static unsigned slow_waits; /* waits that needed more than one status poll */

static void on_reset(void *ctx)
{
	((struct sink *)ctx)->resets++;
}

static void on_irq(void *ctx, unsigned irq, int level)
{
	struct sink *s = ctx;

	if (irq >= 16)
		return;
	s->edges[irq] += level && !s->level[irq];
	s->level[irq] = level;
}

static void setup(void)
{
	const struct i8042_callbacks cb = { on_reset, on_irq, &sink };

	memset(&sink, 0, sizeof(sink));
	slow_waits = 0;
	i8042_init(&k, &cb);
}

static void teardown(void)
{
	i8042_destroy(&k);
}

static uint8_t rd(uint64_t off)
{
	uint8_t v = 0xaa;

	i8042_bus_ops.read(&k, off, &v, 1);
	return v;
}

static void wr(uint64_t off, uint8_t v)
{
	i8042_bus_ops.write(&k, off, &v, 1);
}

static uint8_t status(void)
{
	return rd(I8042_OFF_CMD);
}

/* Poll until (status & mask) == want, at most Linux's I8042_CTL_TIMEOUT. */
static int wait_status(uint8_t mask, uint8_t want)
{
	for (unsigned i = 0; i < 10000; i++) {
		if ((status() & mask) == want) {
			slow_waits += i > 0;
			return 0;
		}
	}
	slow_waits++;
	return -1;
}

/* A controller command with its parameter bytes and replies, in the
 * encoding of Linux's i8042_command(): bits 12-15 count the parameters,
 * bits 8-11 the replies, which overwrite param[]. */
static int command(uint8_t *param, unsigned cmd)
{
	unsigned nparam = (cmd >> 12) & 0xf, nreply = (cmd >> 8) & 0xf;

	if (wait_status(I8042_STR_IBF, 0))
		return -1;
	wr(I8042_OFF_CMD, cmd & 0xff);
	for (unsigned i = 0; i < nparam; i++) {
		if (wait_status(I8042_STR_IBF, 0))
			return -1;
		wr(I8042_OFF_DATA, param[i]);
	}
	for (unsigned i = 0; i < nreply; i++) {
		if (wait_status(I8042_STR_OBF, I8042_STR_OBF))
			return -1;
		param[i] = rd(I8042_OFF_DATA);
	}
	return 0;
}

#define RCTR  (0x0100 | I8042_CMD_READ_CTR)
#define WCTR  (0x1000 | I8042_CMD_WRITE_CTR)
#define LOOP  (0x1100 | I8042_CMD_AUX_LOOP)
#define SELFT (0x0100 | I8042_CMD_SELF_TEST)

/* Linux's i8042_flush(): read until OBF clears, at most 16 bytes. */
static int flush(void)
{
	int n = 0;

	while (status() & I8042_STR_OBF) {
		if (n++ >= 16)
			return -1;
		rd(I8042_OFF_DATA);
	}
	return n;
}

TEST(i8042_power_on_status)
{
	setup();
	/* Buffer empty, never busy, self test passed, key switch unlocked. */
	CHECK_EQ(status(), I8042_STR_SYS | I8042_STR_KEYLOCK);
	rd(I8042_OFF_DATA); /* reading an empty buffer changes nothing */
	CHECK_EQ(status(), I8042_STR_SYS | I8042_STR_KEYLOCK);
	CHECK_EQ(flush(), 0);
	teardown();
}

TEST(i8042_read_ctr)
{
	setup();
	wr(I8042_OFF_CMD, I8042_CMD_READ_CTR);
	CHECK_EQ(status() & (I8042_STR_OBF | I8042_STR_IBF | I8042_STR_AUXDATA), I8042_STR_OBF);
	CHECK(status() & I8042_STR_CMDDAT);
	CHECK_EQ(rd(I8042_OFF_DATA), I8042_CTR_INITIAL);
	CHECK_EQ(status() & I8042_STR_OBF, 0);
	CHECK_EQ(rd(I8042_OFF_DATA), I8042_CTR_INITIAL); /* the latch keeps its value */
	CHECK_EQ(status() & I8042_STR_OBF, 0);
	CHECK_EQ(sink.edges[I8042_KBD_IRQ] + sink.edges[I8042_AUX_IRQ], 0); /* polled reply */
	teardown();
}

TEST(i8042_write_ctr_round_trip)
{
	uint8_t p;

	setup();
	p = 0x5a;
	CHECK_EQ(command(&p, WCTR), 0);
	CHECK_EQ(status() & (I8042_STR_OBF | I8042_STR_CMDDAT), 0);
	CHECK_EQ(status() & I8042_STR_SYS, 0); /* status bit 2 is CTR bit 2 */
	p = 0;
	CHECK_EQ(command(&p, RCTR), 0);
	CHECK_EQ(p, 0x5a);
	p = 0x47;
	CHECK_EQ(command(&p, WCTR), 0);
	CHECK_EQ(command(&p, RCTR), 0);
	CHECK_EQ(p, 0x47);
	CHECK(status() & I8042_STR_SYS);
	/* A command between 0x60 and its byte abandons the write. */
	wr(I8042_OFF_CMD, I8042_CMD_WRITE_CTR);
	CHECK_EQ(command(&p, RCTR), 0);
	CHECK_EQ(p, 0x47);
	CHECK_EQ(slow_waits, 0);
	teardown();
}

TEST(i8042_self_test)
{
	uint8_t p = 0;

	setup();
	CHECK_EQ(command(&p, WCTR), 0); /* system flag clear, as at power-on */
	CHECK_EQ(status() & I8042_STR_SYS, 0);
	CHECK_EQ(command(&p, SELFT), 0);
	CHECK_EQ(p, I8042_RET_SELF_TEST);
	CHECK(status() & I8042_STR_SYS);
	CHECK_EQ(command(&p, RCTR), 0);
	CHECK_EQ(p, I8042_CTR_SYS);
	CHECK_EQ(command(&p, 0x0100 | I8042_CMD_KBD_TEST), 0);
	CHECK_EQ(p, I8042_RET_IF_OK);
	p = 0xff;
	CHECK_EQ(command(&p, 0x0100 | I8042_CMD_AUX_TEST), 0);
	CHECK_EQ(p, I8042_RET_IF_OK);
	CHECK_EQ(slow_waits, 0);
	teardown();
}

/* i8042_controller_check(), i8042_controller_init() and i8042_setup_kbd()
 * as Linux runs them with i8042.noaux, then i8042_controller_reset() at
 * shutdown: every step answers at once and nothing raises an IRQ. */
TEST(i8042_linux_probe)
{
	uint8_t ctr[2], cur;

	setup();
	CHECK_EQ(flush(), 0);
	CHECK_EQ(command(&ctr[0], RCTR), 0);
	CHECK_EQ(command(&ctr[1], RCTR), 0);
	CHECK_EQ(ctr[0], ctr[1]);
	CHECK(status() & I8042_STR_KEYLOCK);
	CHECK(ctr[0] & I8042_CTR_XLATE);
	cur = (ctr[0] | I8042_CTR_KBDDIS) & ~I8042_CTR_KBDINT;
	CHECK_EQ(command(&cur, WCTR), 0);
	CHECK_EQ(flush(), 0);
	cur = (cur & ~I8042_CTR_KBDDIS) | I8042_CTR_KBDINT;
	CHECK_EQ(command(&cur, WCTR), 0);
	/* Shutdown: disable both ports, restore the firmware's CTR. */
	CHECK_EQ(flush(), 0);
	cur = (cur | I8042_CTR_KBDDIS | I8042_CTR_AUXDIS) & ~(I8042_CTR_KBDINT | I8042_CTR_AUXINT);
	CHECK_EQ(command(&cur, WCTR), 0);
	CHECK_EQ(command(&ctr[0], WCTR), 0);
	CHECK_EQ(command(&cur, RCTR), 0);
	CHECK_EQ(cur, I8042_CTR_INITIAL);
	CHECK_EQ(slow_waits, 0);
	CHECK_EQ(sink.edges[I8042_KBD_IRQ] + sink.edges[I8042_AUX_IRQ], 0);
	CHECK_EQ(sink.resets, 0);
	teardown();
}

/* i8042_check_aux() and i8042_set_mux_mode() without i8042.noaux: the
 * loopback echoes with the AUX bit, 0xA7/0xA8 show in the CTR, and the IRQ 12
 * test sees its byte; the MUX probe fails on its third byte (no MUX). */
TEST(i8042_linux_check_aux)
{
	static const uint8_t mux[] = { 0xf0, 0x56, 0xa4 };
	uint8_t p;

	setup();
	p = 0x5a;
	CHECK_EQ(command(&p, I8042_CMD_AUX_DIS), 0);
	CHECK_EQ(command(&p, RCTR), 0);
	CHECK(p & I8042_CTR_AUXDIS);
	CHECK_EQ(command(&p, I8042_CMD_AUX_EN), 0);
	CHECK_EQ(command(&p, RCTR), 0);
	CHECK_EQ(p & I8042_CTR_AUXDIS, 0);

	p = 0x5a;
	CHECK_EQ(command(&p, 0x1000 | I8042_CMD_AUX_LOOP), 0);
	CHECK_EQ(status() & (I8042_STR_OBF | I8042_STR_AUXDATA | I8042_STR_TIMEOUT),
		 I8042_STR_OBF | I8042_STR_AUXDATA);
	CHECK_EQ(rd(I8042_OFF_DATA), 0x5a);
	CHECK_EQ(sink.edges[I8042_AUX_IRQ], 0); /* AUXINT still clear */

	CHECK_EQ(command(&p, RCTR), 0);
	p = (p & ~I8042_CTR_AUXDIS) | I8042_CTR_AUXINT; /* i8042_enable_aux_port() */
	CHECK_EQ(command(&p, WCTR), 0);
	p = 0xa5;
	CHECK_EQ(command(&p, 0x1000 | I8042_CMD_AUX_LOOP), 0);
	CHECK_EQ(sink.edges[I8042_AUX_IRQ], 1);
	CHECK_EQ(sink.level[I8042_AUX_IRQ], 1);
	CHECK_EQ(rd(I8042_OFF_DATA), 0xa5); /* what i8042_aux_test_irq() reads */
	CHECK_EQ(sink.level[I8042_AUX_IRQ], 0);
	CHECK_EQ(sink.edges[I8042_KBD_IRQ], 0);

	for (unsigned i = 0; i < sizeof(mux); i++) {
		p = mux[i];
		CHECK_EQ(command(&p, LOOP), 0);
		CHECK_EQ(p, mux[i]); /* a MUX would answer its version to the third */
	}
	CHECK_EQ(slow_waits, 0);
	teardown();
}

TEST(i8042_kbd_no_device)
{
	uint8_t p;

	setup();
	/* KBDINT is set at power-on: the NAK comes on IRQ 1. */
	wr(I8042_OFF_DATA, 0xf2); /* atkbd's GET ID */
	CHECK_EQ(status() & (I8042_STR_OBF | I8042_STR_TIMEOUT | I8042_STR_AUXDATA),
		 I8042_STR_OBF | I8042_STR_TIMEOUT);
	CHECK_EQ(status() & I8042_STR_CMDDAT, 0);
	CHECK_EQ(sink.level[I8042_KBD_IRQ], 1);
	CHECK_EQ(rd(I8042_OFF_DATA), I8042_RET_NO_DEVICE);
	CHECK_EQ(sink.level[I8042_KBD_IRQ], 0);
	CHECK_EQ(status() & (I8042_STR_OBF | I8042_STR_TIMEOUT), 0);
	/* Two bytes in a row are two edges (libps2 retries once after a NAK). */
	wr(I8042_OFF_DATA, 0xf2);
	wr(I8042_OFF_DATA, 0xf2);
	CHECK_EQ(sink.edges[I8042_KBD_IRQ], 3);

	/* With KBDINT clear the byte waits; enabling the interrupt raises it. */
	p = I8042_CTR_INITIAL & ~I8042_CTR_KBDINT;
	CHECK_EQ(command(&p, WCTR), 0);
	CHECK_EQ(sink.level[I8042_KBD_IRQ], 0);
	wr(I8042_OFF_DATA, 0xed);
	CHECK_EQ(sink.level[I8042_KBD_IRQ], 0);
	CHECK(status() & I8042_STR_OBF);
	wr(I8042_OFF_CMD, I8042_CMD_WRITE_CTR);
	wr(I8042_OFF_DATA, I8042_CTR_INITIAL);
	CHECK_EQ(sink.level[I8042_KBD_IRQ], 1);
	CHECK_EQ(flush(), 1);
	CHECK_EQ(sink.level[I8042_KBD_IRQ], 0);
	CHECK_EQ(sink.edges[I8042_AUX_IRQ], 0);
	teardown();
}

TEST(i8042_aux_no_device)
{
	uint8_t p = I8042_CTR_INITIAL | I8042_CTR_AUXINT;

	setup();
	CHECK_EQ(command(&p, WCTR), 0);
	p = 0xf2; /* psmouse's GET ID, through i8042_aux_write() */
	CHECK_EQ(command(&p, 0x1000 | I8042_CMD_AUX_SEND), 0);
	CHECK_EQ(status() & (I8042_STR_OBF | I8042_STR_TIMEOUT | I8042_STR_AUXDATA),
		 I8042_STR_OBF | I8042_STR_TIMEOUT | I8042_STR_AUXDATA);
	CHECK_EQ(sink.level[I8042_AUX_IRQ], 1);
	CHECK_EQ(sink.level[I8042_KBD_IRQ], 0);
	CHECK_EQ(rd(I8042_OFF_DATA), I8042_RET_NO_DEVICE);
	CHECK_EQ(sink.level[I8042_AUX_IRQ], 0);
	teardown();
}

TEST(i8042_reset_only_on_fe)
{
	uint8_t p;

	setup();
	wr(I8042_OFF_DATA, I8042_CMD_RESET); /* a keyboard byte, not a command */
	CHECK_EQ(sink.resets, 0);
	/* 0xD1 then 0xFE writes the output port (bit 0 clear): no reset, as
	 * before; Linux resets with 0xFE only. */
	wr(I8042_OFF_CMD, I8042_CMD_WRITE_OUTP);
	wr(I8042_OFF_DATA, 0xfe);
	CHECK_EQ(sink.resets, 0);
	CHECK_EQ(command(&p, 0x0100 | I8042_CMD_READ_OUTP), 0);
	CHECK_EQ(p, 0xfe);
	for (unsigned c = 0xf0; c <= 0xff; c++)
		if (c != I8042_CMD_RESET)
			wr(I8042_OFF_CMD, (uint8_t)c);
	CHECK_EQ(sink.resets, 0);
	wr(I8042_OFF_CMD, I8042_CMD_RESET);
	CHECK_EQ(sink.resets, 1);
	/* Even with a command waiting for its byte, as the old model did. */
	wr(I8042_OFF_CMD, I8042_CMD_WRITE_CTR);
	wr(I8042_OFF_CMD, I8042_CMD_RESET);
	CHECK_EQ(sink.resets, 2);
	teardown();

	/* No callbacks at all: nothing to call, nothing breaks. */
	i8042_init(&k, NULL);
	wr(I8042_OFF_DATA, 0xf2);
	wr(I8042_OFF_CMD, I8042_CMD_RESET);
	CHECK(status() & I8042_STR_OBF);
	teardown();
}

static bool known_command(unsigned c)
{
	switch (c) {
	case I8042_CMD_READ_CTR:
	case I8042_CMD_WRITE_CTR:
	case I8042_CMD_AUX_DIS:
	case I8042_CMD_AUX_EN:
	case I8042_CMD_AUX_TEST:
	case I8042_CMD_SELF_TEST:
	case I8042_CMD_KBD_TEST:
	case I8042_CMD_KBD_DIS:
	case I8042_CMD_KBD_EN:
	case I8042_CMD_READ_OUTP:
	case I8042_CMD_WRITE_OUTP:
	case I8042_CMD_AUX_LOOP:
	case I8042_CMD_AUX_SEND:
	case I8042_CMD_RESET:
		return true;
	}
	return false;
}

TEST(i8042_unknown_commands_ignored)
{
	uint8_t p;

	setup();
	for (unsigned c = 0; c < 256; c++) {
		if (known_command(c))
			continue;
		wr(I8042_OFF_CMD, (uint8_t)c);
		CHECK_EQ(status() & ~I8042_STR_CMDDAT, I8042_STR_SYS | I8042_STR_KEYLOCK);
		CHECK_EQ(command(&p, RCTR), 0);
		CHECK_EQ(p, I8042_CTR_INITIAL);
	}
	CHECK_EQ(sink.resets, 0);

	/* Any command and any byte after it, known or not: the controller
	 * never looks busy and still answers the next read of the CTR. */
	for (unsigned c = 0; c < 256; c++) {
		if (c == I8042_CMD_RESET)
			continue;
		wr(I8042_OFF_CMD, (uint8_t)c);
		wr(I8042_OFF_DATA, (uint8_t)(c * 7));
		CHECK_EQ(status() & I8042_STR_IBF, 0);
		CHECK_EQ(command(&p, RCTR), 0);
		CHECK_EQ(flush(), 0);
		p = I8042_CTR_INITIAL;
		CHECK_EQ(command(&p, WCTR), 0);
	}
	CHECK_EQ(sink.resets, 0);
	CHECK_EQ(slow_waits, 0);
	teardown();
}

TEST(i8042_odd_accesses)
{
	uint8_t buf[8], fe[2] = { 0x00, I8042_CMD_RESET };

	setup();
	wr(I8042_OFF_CMD, I8042_CMD_READ_CTR);
	/* Wider reads of the data or status port: zeros, the byte stays. */
	for (uint32_t len = 2; len <= 8; len *= 2) {
		memset(buf, 0xaa, sizeof(buf));
		i8042_bus_ops.read(&k, I8042_OFF_DATA, buf, len);
		for (uint32_t i = 0; i < len; i++)
			CHECK_EQ(buf[i], 0);
		CHECK(status() & I8042_STR_OBF);
	}
	/* A word write ending on 0x64 with 0xFE in its top byte: no reset. */
	i8042_bus_ops.write(&k, 3, fe, 2);
	i8042_bus_ops.write(&k, I8042_OFF_DATA, fe, 2);
	CHECK_EQ(sink.resets, 0);
	/* 0x61-0x63 and offsets no bus would pass: read 0, writes ignored. */
	for (uint64_t off = 1; off < 4; off++) {
		CHECK_EQ(rd(off), 0);
		wr(off, I8042_CMD_RESET);
	}
	CHECK_EQ(rd(5), 0);
	CHECK_EQ(rd(~0ULL), 0);
	wr(5, I8042_CMD_RESET);
	wr(~0ULL, I8042_CMD_RESET);
	CHECK_EQ(sink.resets, 0);
	CHECK_EQ(rd(I8042_OFF_DATA), I8042_CTR_INITIAL);
	CHECK_EQ(status() & I8042_STR_OBF, 0);
	teardown();
}

/* vCPU threads run port I/O concurrently: the state stays consistent under
 * the device lock (run under ASan/UBSan by make check-sanitize). */
static void *hammer(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;

	for (unsigned i = 0; i < 20000; i++) {
		seed = seed * 1103515245u + 12345u;
		switch ((seed >> 16) % 4) {
		case 0:
			wr(I8042_OFF_CMD,
			   (seed >> 8) & 1 ? I8042_CMD_READ_CTR : I8042_CMD_AUX_LOOP);
			break;
		case 1:
			wr(I8042_OFF_DATA, (uint8_t)(seed >> 20));
			break;
		case 2:
			rd(I8042_OFF_DATA);
			break;
		default:
			if (status() & I8042_STR_IBF)
				return (void *)1;
			break;
		}
	}
	return NULL;
}

TEST(i8042_concurrent_vcpus)
{
	pthread_t t[4];
	void *ret;
	uint8_t p;

	setup();
	for (uintptr_t i = 0; i < 4; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, hammer, (void *)(i + 1)), 0);
	for (unsigned i = 0; i < 4; i++) {
		CHECK_EQ(pthread_join(t[i], &ret), 0);
		CHECK(ret == NULL);
	}
	CHECK_EQ(sink.resets, 0);
	CHECK_EQ(command(&p, RCTR), 0);
	CHECK_EQ(p, I8042_CTR_INITIAL); /* no thread wrote the CTR */
	CHECK_EQ(flush(), 0);
	CHECK_EQ(sink.level[I8042_KBD_IRQ] + sink.level[I8042_AUX_IRQ], 0);
	teardown();
}

/* ---- the keyboard: Ctrl-Alt-Del ---- */

/* What the guest reads: set 1 with the CTR's XLATE bit (Linux's atkbd,
 * translated: KEY_LEFTCTRL, KEY_LEFTALT, KEY_DELETE pressed, then released),
 * the keyboard's own set 2 without it. */
static const uint8_t cad_set1[] = { 0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d };
static const uint8_t cad_set2[] = {
	0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14
};

/* A key byte as a polling guest sees it: OBF, from the keyboard, no error. */
static bool key_waiting(void)
{
	return (status() & (I8042_STR_OBF | I8042_STR_AUXDATA | I8042_STR_TIMEOUT)) ==
	       I8042_STR_OBF;
}

/* Read bytes while OBF is set, at most max; returns how many. */
static unsigned read_all(uint8_t *buf, unsigned max)
{
	unsigned n = 0;

	while (n < max && (status() & I8042_STR_OBF))
		buf[n++] = rd(I8042_OFF_DATA);
	return n;
}

static void set_ctr_to(uint8_t ctr)
{
	uint8_t p = ctr;

	CHECK_EQ(command(&p, WCTR), 0);
}

TEST(i8042_cad_translated)
{
	setup();
	CHECK_EQ(sizeof(cad_set2), I8042_KBD_CAD_LEN);
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	/* One byte per IRQ 1 edge: each read drops the line and the next
	 * byte raises it again, as i8042_interrupt() needs. */
	for (unsigned i = 0; i < sizeof(cad_set1); i++) {
		CHECK(key_waiting());
		CHECK_EQ(sink.level[I8042_KBD_IRQ], 1);
		CHECK_EQ(sink.edges[I8042_KBD_IRQ], i + 1);
		CHECK_EQ(rd(I8042_OFF_DATA), cad_set1[i]);
	}
	CHECK_EQ(status(), I8042_STR_SYS | I8042_STR_KEYLOCK);
	CHECK_EQ(sink.level[I8042_KBD_IRQ], 0);
	CHECK_EQ(sink.edges[I8042_KBD_IRQ], sizeof(cad_set1));
	CHECK_EQ(sink.edges[I8042_AUX_IRQ], 0);
	CHECK_EQ(rd(I8042_OFF_DATA), cad_set1[sizeof(cad_set1) - 1]); /* the latch */
	CHECK_EQ(sink.edges[I8042_KBD_IRQ], sizeof(cad_set1));
	CHECK_EQ(sink.resets, 0);
	teardown();
}

TEST(i8042_cad_untranslated)
{
	uint8_t got[32];

	setup();
	set_ctr_to(I8042_CTR_INITIAL & ~I8042_CTR_XLATE); /* i8042.direct */
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	CHECK_EQ(read_all(got, sizeof(got)), sizeof(cad_set2));
	CHECK(memcmp(got, cad_set2, sizeof(cad_set2)) == 0);
	CHECK_EQ(sink.edges[I8042_KBD_IRQ], sizeof(cad_set2));

	/* Translation happens as each byte enters the buffer: switching it
	 * on after the presses gives set 1 from the byte after the one that
	 * is already in the buffer (0xE0, the same in both sets). */
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(rd(I8042_OFF_DATA), cad_set2[i]);
	set_ctr_to(I8042_CTR_INITIAL);
	CHECK_EQ(read_all(got, sizeof(got)), 4);
	CHECK(memcmp(got, cad_set1 + 4, 4) == 0);
	teardown();
}

TEST(i8042_cad_polled)
{
	uint8_t got[16];

	setup();
	set_ctr_to(I8042_CTR_INITIAL & ~I8042_CTR_KBDINT);
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	CHECK(key_waiting());
	CHECK_EQ(sink.edges[I8042_KBD_IRQ], 0);
	CHECK_EQ(read_all(got, 4), 4);
	CHECK(memcmp(got, cad_set1, 4) == 0);
	CHECK_EQ(sink.edges[I8042_KBD_IRQ], 0);
	/* Enabling the interrupt with a key byte waiting raises IRQ 1. */
	set_ctr_to(I8042_CTR_INITIAL);
	CHECK_EQ(sink.level[I8042_KBD_IRQ], 1);
	CHECK_EQ(read_all(got, sizeof(got)), 4);
	CHECK(memcmp(got, cad_set1 + 4, 4) == 0);
	CHECK_EQ(sink.edges[I8042_KBD_IRQ], 4);
	CHECK_EQ(sink.level[I8042_KBD_IRQ], 0);
	teardown();
}

TEST(i8042_cad_kbd_disabled)
{
	uint8_t p = 0, got[16];

	setup();
	CHECK_EQ(command(&p, I8042_CMD_KBD_DIS), 0);
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	CHECK_EQ(status() & I8042_STR_OBF, 0); /* the keyboard may not send */
	CHECK_EQ(sink.edges[I8042_KBD_IRQ], 0);
	CHECK_EQ(command(&p, I8042_CMD_KBD_EN), 0);
	CHECK(key_waiting());
	CHECK_EQ(sink.level[I8042_KBD_IRQ], 1);
	CHECK_EQ(rd(I8042_OFF_DATA), cad_set1[0]);
	CHECK_EQ(rd(I8042_OFF_DATA), cad_set1[1]);

	/* Disabled through the CTR (i8042_controller_init()) with a byte in
	 * the buffer: that byte stays readable, the rest waits. */
	set_ctr_to(I8042_CTR_INITIAL | I8042_CTR_KBDDIS);
	CHECK(key_waiting());
	CHECK_EQ(rd(I8042_OFF_DATA), cad_set1[2]);
	CHECK_EQ(status() & I8042_STR_OBF, 0);
	CHECK_EQ(sink.level[I8042_KBD_IRQ], 0);
	set_ctr_to(I8042_CTR_INITIAL);
	CHECK_EQ(read_all(got, sizeof(got)), 5);
	CHECK(memcmp(got, cad_set1 + 3, 5) == 0);
	CHECK_EQ(sink.edges[I8042_KBD_IRQ], 8);
	teardown();
}

/* The guest runs controller commands while key bytes wait (Linux's probe,
 * or any driver that reads the CTR): each reply is the next byte the guest
 * reads, and the key bytes still arrive whole and in order. */
TEST(i8042_cad_with_commands)
{
	uint8_t p, got[16];
	unsigned n = 0;

	setup();
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	CHECK_EQ(sink.level[I8042_KBD_IRQ], 1);
	CHECK_EQ(command(&p, RCTR), 0);
	CHECK_EQ(p, I8042_CTR_INITIAL);
	CHECK_EQ(command(&p, RCTR), 0); /* i8042_controller_init() reads it twice */
	CHECK_EQ(p, I8042_CTR_INITIAL);
	/* Replies raise no IRQ; after each, the key byte comes back as a new
	 * edge. */
	CHECK_EQ(sink.edges[I8042_KBD_IRQ], 3);
	CHECK(key_waiting());
	got[n++] = rd(I8042_OFF_DATA);
	CHECK_EQ(command(&p, SELFT), 0);
	CHECK_EQ(p, I8042_RET_SELF_TEST);
	p = 0x77;
	CHECK_EQ(command(&p, 0x1000 | I8042_CMD_AUX_LOOP), 0); /* AUX byte over a key byte */
	CHECK_EQ(status() & (I8042_STR_OBF | I8042_STR_AUXDATA), I8042_STR_OBF | I8042_STR_AUXDATA);
	CHECK_EQ(rd(I8042_OFF_DATA), 0x77);
	got[n++] = rd(I8042_OFF_DATA);
	/* A byte for the keyboard, which takes no commands: its NAK first. */
	wr(I8042_OFF_DATA, 0xf2);
	CHECK_EQ(status() & (I8042_STR_OBF | I8042_STR_TIMEOUT), I8042_STR_OBF | I8042_STR_TIMEOUT);
	CHECK_EQ(rd(I8042_OFF_DATA), I8042_RET_NO_DEVICE);
	/* A command with a parameter between two key bytes. */
	got[n++] = rd(I8042_OFF_DATA);
	set_ctr_to(I8042_CTR_INITIAL);
	n += read_all(got + n, sizeof(got) - n);
	CHECK_EQ(n, sizeof(cad_set1));
	CHECK(memcmp(got, cad_set1, sizeof(cad_set1)) == 0);
	CHECK_EQ(status() & I8042_STR_OBF, 0);
	teardown();
}

TEST(i8042_cad_queue_full)
{
	uint8_t got[32];

	setup();
	ember_seterr(0, "none");
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), -ENOSPC);
	CHECK_STR_CONTAINS(ember_lasterr(), "i8042: keyboard queue full");
	/* Two sequences are 16 bytes: Linux's i8042_flush() drains them all,
	 * so requests made before the guest's driver probes cannot make it
	 * report "No controller found". */
	CHECK_EQ(flush(), 16);
	/* A request needs room for its whole sequence: one byte read is not
	 * enough, a sequence's worth of set-2 bytes is. */
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	CHECK_EQ(rd(I8042_OFF_DATA), cad_set1[0]);
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), -ENOSPC);
	CHECK_EQ(read_all(got, 8), 8);
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	CHECK_EQ(read_all(got, sizeof(got)), 15);
	CHECK(memcmp(got, cad_set1 + 1, 7) == 0);
	CHECK(memcmp(got + 7, cad_set1, 8) == 0);

	/* A guest that disabled the keyboard is named in the message. */
	set_ctr_to(I8042_CTR_INITIAL | I8042_CTR_KBDDIS);
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), -ENOSPC);
	CHECK_STR_CONTAINS(ember_lasterr(), "disabled the keyboard");
	CHECK_EQ(status() & I8042_STR_OBF, 0);
	teardown();
}

/* The API thread queues sequences while a vCPU thread reads them and runs
 * controller commands, as Linux does under its lock: every reply comes
 * right after its command and the key stream arrives whole and in order. */
#define CAD_ROUNDS 200

static void *send_cads(void *arg)
{
	(void)arg;
	for (unsigned sent = 0; sent < CAD_ROUNDS;) {
		int err = i8042_send_ctrl_alt_del(&k);

		if (err == 0)
			sent++;
		else if (err != -ENOSPC)
			return (void *)1;
		else
			sched_yield();
	}
	return NULL;
}

TEST(i8042_cad_concurrent)
{
	static uint8_t got[CAD_ROUNDS * sizeof(cad_set1)];
	unsigned n = 0, bad = 0, spins = 0;
	pthread_t t;
	void *ret;
	uint8_t p;

	setup();
	CHECK_EQ(pthread_create(&t, NULL, send_cads, NULL), 0);
	while (n < sizeof(got) && spins < 100000000) {
		spins++;
		if (n % 5 == 1 && (spins & 1)) {
			if (command(&p, RCTR) || p != I8042_CTR_INITIAL)
				bad++;
		}
		if (status() & I8042_STR_OBF)
			got[n++] = rd(I8042_OFF_DATA);
	}
	CHECK_EQ(pthread_join(t, &ret), 0);
	CHECK(ret == NULL);
	CHECK_EQ(bad, 0);
	CHECK_EQ(n, sizeof(got));
	for (unsigned i = 0; i < n; i++)
		if (got[i] != cad_set1[i % sizeof(cad_set1)])
			bad++;
	CHECK_EQ(bad, 0);
	CHECK_EQ(flush(), 0);
	CHECK_EQ(sink.level[I8042_KBD_IRQ], 0);
	teardown();
}

SUITE(i8042, T(i8042_power_on_status), T(i8042_read_ctr), T(i8042_write_ctr_round_trip),
      T(i8042_self_test), T(i8042_linux_probe), T(i8042_linux_check_aux), T(i8042_kbd_no_device),
      T(i8042_aux_no_device), T(i8042_reset_only_on_fe), T(i8042_unknown_commands_ignored),
      T(i8042_odd_accesses), T(i8042_concurrent_vcpus), T(i8042_cad_translated),
      T(i8042_cad_untranslated), T(i8042_cad_polled), T(i8042_cad_kbd_disabled),
      T(i8042_cad_with_commands), T(i8042_cad_queue_full), T(i8042_cad_concurrent));
