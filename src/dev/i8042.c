// SPDX-License-Identifier: MIT
/*
 * i8042 controller with a keyboard that only sends Ctrl-Alt-Del, and no
 * mouse. What Linux's driver (drivers/input/serio/i8042.c) needs from it,
 * and why:
 *
 * - Every reply is ready at once and IBF is never set. i8042_wait_read() and
 *   i8042_wait_write() poll the status register every 50 us for up to
 *   I8042_CTL_TIMEOUT (10000) rounds: a missing reply costs 0.5 s. When all
 *   ports read 0, i8042_controller_init() timed out reading the CTR ("Can't
 *   read CTR while initializing i8042", ~1 s of boot).
 * - The output buffer holds one byte and starts empty: i8042_controller_check()
 *   flushes it and reports "No controller found" if OBF stays set for more
 *   than I8042_BUFFER_SIZE (16) reads. The keyboard therefore holds at most
 *   16 translated bytes (I8042_KBD_QUEUE).
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
 *   with no answer each byte waits 200 ms. ember's default i8042.dumbkbd
 *   means atkbd never writes to the keyboard: atkbd_connect() then skips its
 *   probe and assumes scan-code set 2, so the keyboard port still gets a
 *   keyboard, which is what Ctrl-Alt-Del needs.
 * - Controller replies raise no IRQ: Linux reads them by polling, under its
 *   i8042_lock, and an IRQ handler would only find the buffer empty.
 *
 * Key bytes. The keyboard queues set-2 bytes; each goes into the output
 * buffer only when the buffer is empty and the CTR does not disable the
 * keyboard (0xAD, CTR bit 4: the controller holds the keyboard's clock low),
 * and only the guest's read of 0x60 takes it out of the queue, so the next
 * byte follows the read as a new IRQ 1 edge: i8042_interrupt() reads one
 * byte per interrupt. With CTR bit 6 (XLATE, set at power-on and kept by
 * Linux unless the firmware cleared it or i8042.direct is given) the
 * controller translates each byte to set 1 on its way into the buffer, and
 * a set-2 break prefix 0xF0 becomes bit 7 of the next byte; Linux then
 * registers the port as SERIO_8042_XL and atkbd decodes set 1
 * (atkbd_set_keycode_table(), atkbd_unxlate_table). Firecracker pushes raw
 * set-2 codes because its CTR has no XLATE bit, which makes Linux take
 * i8042_direct (i8042_controller_init()).
 *
 * A byte the controller makes itself (a reply, the AUX loopback, the NAK)
 * takes the output buffer at once, over an unread key byte, which stays in
 * the queue and comes again after it: Linux reads a command's reply as the
 * next byte after the command (__i8042_command()), so a key byte there would
 * be taken for the CTR and written back into it. Nothing is lost or
 * reordered among the key bytes.
 *
 * Not modelled: internal RAM beyond the CTR (0x21-0x3F, 0x61-0x7F), the input
 * port (0xC0), 0xD2, the pulse commands other than 0xFE, and a reset through
 * bit 0 of the output port (0xD1): Linux never writes the output port (its
 * reboot=k path sends 0xFE), Firecracker ignores that bit as well, and 0xFE
 * stays the one reset path. Unknown commands are ignored. The keyboard has
 * no typematic repeat and no other keys.
 */
#include "dev/i8042.h"

#include <errno.h>
#include <string.h>

#include "util.h"
#include "snapshot/snapfile.h"

/* Scan-code set 2 (the keyboard's own codes). */
#define KBD_LCTRL 0x14
#define KBD_LALT  0x11
#define KBD_E0	  0xe0 /* prefix of the extended keys, Delete among them */
#define KBD_DEL	  0x71 /* after 0xE0 */
#define KBD_BREAK 0xf0 /* prefix: the next key is released */

/*
 * Press left Ctrl, left Alt, Delete; release them in reverse order. Linux
 * needs only the presses: atkbd reports KEY_LEFTCTRL, KEY_LEFTALT and
 * KEY_DELETE, the console keymap binds Ctrl+Alt+Delete to Boot
 * (drivers/tty/vt/defkeymap.map), and k_spec() calls fn_boot_it(), which is
 * ctrl_alt_del(). The releases are what a keyboard sends next. Without them
 * the guest's input layer would hold the three keys down, and the next
 * request's presses would arrive as auto-repeats, which kbd_keycode() drops
 * while the console's tty has unread input with echo off.
 */
static const uint8_t ctrl_alt_del[I8042_KBD_CAD_LEN] = {
	KBD_LCTRL, KBD_LALT,  KBD_E0,	KBD_DEL,   KBD_E0,    KBD_BREAK,
	KBD_DEL,   KBD_BREAK, KBD_LALT, KBD_BREAK, KBD_LCTRL,
};

/*
 * The controller's set 2 to set 1 translation for the keys this keyboard
 * has (the inverse of Linux's atkbd_unxlate_table). Codes 0x80 and up pass
 * unchanged, the 0xE0 prefix among them.
 */
static const struct {
	uint8_t set2, set1;
} xlate_table[] = {
	{ KBD_LCTRL, 0x1d },
	{ KBD_LALT, 0x38 },
	{ KBD_DEL, 0x53 },
};

static uint8_t xlate(uint8_t b)
{
	for (unsigned i = 0; i < ARRAY_SIZE(xlate_table); i++)
		if (xlate_table[i].set2 == b)
			return xlate_table[i].set1;
	return b;
}

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
 * A byte the controller makes replaces an unread one, as controller replies
 * overwrite the buffer on the chip; an unread key byte stays queued (see the
 * top of this file). The line drops first so that each byte is a new edge
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
	k->key_used = 0;
	update_irqs(k);
}

/* The keyboard sends its next byte if the buffer is free and the keyboard
 * is not disabled; the controller translates it on the way when asked to. */
static void kbd_feed(struct i8042 *k)
{
	const uint8_t *q = k->kbd_q;
	uint8_t v;
	unsigned used = 1;

	if (k->src != I8042_SRC_NONE || !k->kbd_len || (k->ctr & I8042_CTR_KBDDIS))
		return;
	if (!(k->ctr & I8042_CTR_XLATE)) {
		v = q[0];
	} else if (q[0] == KBD_BREAK && k->kbd_len > 1) { /* sequences come whole */
		v = xlate(q[1]) | 0x80;
		used = 2;
	} else {
		v = xlate(q[0]);
	}
	put_byte(k, v, I8042_SRC_KBD, false);
	k->key_used = used;
}

static void set_ctr(struct i8042 *k, uint8_t ctr)
{
	k->ctr = ctr;
	update_irqs(k); /* enabling an interrupt with a byte waiting raises it */
	kbd_feed(k);	/* enabling the keyboard lets it send */
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
	uint8_t v = k->obuf;

	if (k->key_used) { /* the keyboard's byte is taken: drop it from the queue */
		k->kbd_len -= k->key_used;
		memmove(k->kbd_q, k->kbd_q + k->key_used, k->kbd_len);
		k->key_used = 0;
	}
	k->src = I8042_SRC_NONE;
	k->timeout = false;
	update_irqs(k);
	kbd_feed(k);
	return v;
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

int i8042_send_ctrl_alt_del(struct i8042 *k)
{
	bool full, kbd_off;

	pthread_mutex_lock(&k->lock);
	full = k->kbd_len + sizeof(ctrl_alt_del) > sizeof(k->kbd_q);
	if (!full) {
		memcpy(k->kbd_q + k->kbd_len, ctrl_alt_del, sizeof(ctrl_alt_del));
		k->kbd_len += sizeof(ctrl_alt_del);
		kbd_feed(k);
	}
	kbd_off = k->ctr & I8042_CTR_KBDDIS;
	pthread_mutex_unlock(&k->lock);
	if (full)
		return ember_seterr(-ENOSPC,
				    "i8042: keyboard queue full: the guest has not read the "
				    "earlier Ctrl-Alt-Del sequences (room for %u)%s",
				    (unsigned)(sizeof(k->kbd_q) / sizeof(ctrl_alt_del)),
				    kbd_off ? "; it has disabled the keyboard" : "");
	return 0;
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

void i8042_save(struct i8042 *k, struct snap_w *w)
{
	pthread_mutex_lock(&k->lock);
	snap_put_u8(w, k->ctr);
	snap_put_u8(w, k->outp);
	snap_put_u8(w, k->obuf);
	snap_put_u8(w, (uint8_t)k->src);
	snap_put_u8(w, k->timeout);
	snap_put_u8(w, k->param_cmd);
	snap_put_u8(w, k->cmd_last);
	snap_put_u8(w, (uint8_t)k->kbd_irq);
	snap_put_u8(w, (uint8_t)k->aux_irq);
	snap_put_u8(w, (uint8_t)k->kbd_len);
	snap_put_u8(w, (uint8_t)k->key_used);
	snap_put(w, k->kbd_q, k->kbd_len);
	pthread_mutex_unlock(&k->lock);
}

int i8042_load(struct i8042 *k, struct snap_r *r)
{
	uint8_t ctr = snap_get_u8(r), outp = snap_get_u8(r), obuf = snap_get_u8(r);
	unsigned src = snap_get_u8(r);
	bool timeout = snap_get_bool(r);
	uint8_t param = snap_get_u8(r);
	bool cmd_last = snap_get_bool(r), kirq = snap_get_bool(r), airq = snap_get_bool(r);
	unsigned len = snap_get_u8(r), used = snap_get_u8(r);

	if (r->err || src > I8042_SRC_AUX || len > I8042_KBD_QUEUE || used > len)
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	k->ctr = ctr;
	k->outp = outp;
	k->obuf = obuf;
	k->src = (enum i8042_src)src;
	k->timeout = timeout;
	k->param_cmd = param;
	k->cmd_last = cmd_last;
	k->kbd_irq = kirq;
	k->aux_irq = airq;
	k->kbd_len = len;
	k->key_used = used;
	snap_get(r, k->kbd_q, len);
	pthread_mutex_unlock(&k->lock);
	return snap_r_end(r);
}
