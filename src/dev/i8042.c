// SPDX-License-Identifier: MIT
/*
 * i8042 controller without keyboard or mouse. What Linux's driver
 * (drivers/input/serio/i8042.c) needs from it, and why:
 *
 * - Every reply is ready at once and IBF is never set. i8042_wait_read() and
 *   i8042_wait_write() poll the status register every 50 us for up to
 *   I8042_CTL_TIMEOUT (10000) rounds: a missing reply costs 0.5 s. When all
 *   ports read 0, i8042_controller_init() timed out reading the CTR ("Can't
 *   read CTR while initializing i8042", ~1 s of boot).
 * - The output buffer holds one byte and starts empty: i8042_controller_check()
 *   flushes it and reports "No controller found" if OBF stays set for more
 *   than I8042_BUFFER_SIZE reads.
 * - The CTR reads the same twice in a row (i8042_controller_init() wants a
 *   stable value) and round-trips through command 0x60. Status bit 4 (key
 *   switch) reads 1, else Linux warns "Keylock active".
 * - AUX port (only without i8042.noaux): i8042_check_aux() needs the 0xD3
 *   loopback echoed with status bit 5, 0xA7/0xA8 visible in the CTR, and the
 *   looped byte on IRQ 12 once the CTR enables it.
 * - Bytes for a device (0x60 with no command pending, or after 0xD4) get
 *   0xFE with the time-out bit, on IRQ 1 or 12 when the CTR enables it.
 *   libps2's ps2_handle_ack() reads 0xFE as a NAK, so ps2_do_sendbyte() gives
 *   up after its one retry and atkbd/psmouse probes fail in microseconds;
 *   with no answer each byte waits 200 ms. (ember's default i8042.dumbkbd
 *   means atkbd never writes to the keyboard at all.)
 * - Controller replies raise no IRQ: Linux reads them by polling, under its
 *   i8042_lock, and an IRQ handler would only find the buffer empty.
 *
 * Not modelled: internal RAM beyond the CTR (0x21-0x3F, 0x61-0x7F), the input
 * port (0xC0), 0xD2, the pulse commands other than 0xFE, and a reset through
 * bit 0 of the output port (0xD1): Linux never writes the output port (its
 * reboot=k path sends 0xFE), Firecracker ignores that bit as well, and 0xFE
 * stays the one reset path. Unknown commands are ignored.
 */
#include "dev/i8042.h"

#include <string.h>

void i8042_init(struct i8042 *k, const struct i8042_callbacks *cb)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	if (cb)
		k->cb = *cb;
	k->ctr = I8042_CTR_INITIAL;
	k->outp = I8042_OUTP_INITIAL;
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}

static void set_irq(struct i8042 *k, int *cur, unsigned irq, int level)
{
	if (*cur == level)
		return;
	*cur = level;
	if (k->cb.irq)
		k->cb.irq(k->cb.ctx, irq, level);
}

/* As on the chip, IRQ 1 and 12 follow "output buffer full" for bytes from
 * that port, gated by the CTR's interrupt enables. */
static void update_irqs(struct i8042 *k)
{
	set_irq(k, &k->kbd_irq, I8042_KBD_IRQ,
		k->src == I8042_SRC_KBD && (k->ctr & I8042_CTR_KBDINT));
	set_irq(k, &k->aux_irq, I8042_AUX_IRQ,
		k->src == I8042_SRC_AUX && (k->ctr & I8042_CTR_AUXINT));
}

/*
 * A new byte replaces an unread one, as controller replies overwrite the
 * buffer on the chip. The line drops first so that each byte is a new edge
 * (ISA IRQs are edge-triggered): the IRQ 12 test in i8042_check_aux() waits
 * for exactly that edge.
 */
static void put_byte(struct i8042 *k, uint8_t v, enum i8042_src src, bool timeout)
{
	k->src = I8042_SRC_NONE;
	update_irqs(k);
	k->obuf = v;
	k->src = src;
	k->timeout = timeout;
	update_irqs(k);
}

static void set_ctr(struct i8042 *k, uint8_t ctr)
{
	k->ctr = ctr;
	update_irqs(k); /* enabling an interrupt with a byte waiting raises it */
}

static uint8_t read_status(const struct i8042 *k)
{
	uint8_t s = I8042_STR_KEYLOCK;

	if (k->src != I8042_SRC_NONE)
		s |= I8042_STR_OBF;
	if (k->src == I8042_SRC_AUX)
		s |= I8042_STR_AUXDATA;
	if (k->src != I8042_SRC_NONE && k->timeout)
		s |= I8042_STR_TIMEOUT;
	if (k->ctr & I8042_CTR_SYS)
		s |= I8042_STR_SYS;
	if (k->cmd_last)
		s |= I8042_STR_CMDDAT;
	return s;
}

static uint8_t read_data(struct i8042 *k)
{
	k->src = I8042_SRC_NONE;
	k->timeout = false;
	update_irqs(k);
	return k->obuf;
}

/* A byte on 0x60: the parameter of the pending command, else for the
 * keyboard, which is not there. */
static void write_data(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->param_cmd;

	k->param_cmd = 0;
	k->cmd_last = false;
	switch (cmd) {
	case I8042_CMD_WRITE_CTR:
		set_ctr(k, v);
		break;
	case I8042_CMD_WRITE_OUTP:
		k->outp = v;
		break;
	case I8042_CMD_AUX_LOOP:
		put_byte(k, v, I8042_SRC_AUX, false);
		break;
	case I8042_CMD_AUX_SEND:
		put_byte(k, I8042_RET_NO_DEVICE, I8042_SRC_AUX, true);
		break;
	default:
		put_byte(k, I8042_RET_NO_DEVICE, I8042_SRC_KBD, true);
		break;
	}
}

/* A byte on 0x64. Returns true if it asks for a CPU reset. */
static bool write_command(struct i8042 *k, uint8_t cmd)
{
	k->param_cmd = 0; /* a new command abandons one still waiting for its byte */
	k->cmd_last = true;
	switch (cmd) {
	case I8042_CMD_READ_CTR:
		put_byte(k, k->ctr, I8042_SRC_CTRL, false);
		break;
	case I8042_CMD_WRITE_CTR:
	case I8042_CMD_WRITE_OUTP:
	case I8042_CMD_AUX_LOOP:
	case I8042_CMD_AUX_SEND:
		k->param_cmd = cmd;
		break;
	case I8042_CMD_AUX_DIS:
		set_ctr(k, k->ctr | I8042_CTR_AUXDIS);
		break;
	case I8042_CMD_AUX_EN:
		set_ctr(k, k->ctr & ~I8042_CTR_AUXDIS);
		break;
	case I8042_CMD_KBD_DIS:
		set_ctr(k, k->ctr | I8042_CTR_KBDDIS);
		break;
	case I8042_CMD_KBD_EN:
		set_ctr(k, k->ctr & ~I8042_CTR_KBDDIS);
		break;
	case I8042_CMD_AUX_TEST:
	case I8042_CMD_KBD_TEST:
		put_byte(k, I8042_RET_IF_OK, I8042_SRC_CTRL, false);
		break;
	case I8042_CMD_SELF_TEST:
		set_ctr(k, k->ctr | I8042_CTR_SYS); /* a passed self test sets the flag */
		put_byte(k, I8042_RET_SELF_TEST, I8042_SRC_CTRL, false);
		break;
	case I8042_CMD_READ_OUTP:
		put_byte(k, k->outp, I8042_SRC_CTRL, false);
		break;
	case I8042_CMD_RESET:
		return true;
	default:
		break;
	}
	return false;
}

/* The chip's ports are a byte wide; a wider access has no effect, so a
 * hostile guest cannot pop the buffer or issue a command with one. */
static void i8042_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct i8042 *k = opaque;

	memset(data, 0, len); /* 0x61: no NMI source pending */
	if (len != 1 || (off != I8042_OFF_DATA && off != I8042_OFF_CMD))
		return;
	pthread_mutex_lock(&k->lock);
	data[0] = off == I8042_OFF_DATA ? read_data(k) : read_status(k);
	pthread_mutex_unlock(&k->lock);
}

static void i8042_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct i8042 *k = opaque;
	bool reset = false;

	if (len != 1 || (off != I8042_OFF_DATA && off != I8042_OFF_CMD))
		return;
	pthread_mutex_lock(&k->lock);
	if (off == I8042_OFF_CMD)
		reset = write_command(k, data[0]);
	else
		write_data(k, data[0]);
	pthread_mutex_unlock(&k->lock);
	/* Outside the lock: stopping the VM kicks every vCPU. */
	if (reset && k->cb.reset)
		k->cb.reset(k->cb.ctx);
}

const struct bus_ops i8042_bus_ops = {
	.name = "i8042",
	.read = i8042_read,
	.write = i8042_write,
};
