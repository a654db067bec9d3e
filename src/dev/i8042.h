/* SPDX-License-Identifier: MIT */
/*
 * The i8042 keyboard controller, with a keyboard that can only press
 * Ctrl-Alt-Del: enough of the controller for Linux's
 * drivers/input/serio/i8042.c to probe it in a few port accesses, command
 * 0xFE to pulse the CPU reset line (Linux's reboot=k path, and how ember's
 * test guests exit), and i8042_send_ctrl_alt_del() for Firecracker's
 * SendCtrlAltDel action.
 *
 * Modelled: the status register, the configuration byte (CTR), the output
 * port, a one-byte output buffer, the self and interface tests, the keyboard
 * and AUX enable bits, and scan-code translation (CTR bit 6) of the bytes
 * the keyboard sends. The keyboard sends, but takes no commands: bytes sent
 * to the keyboard or the AUX device find no device and the controller
 * answers 0xFE with the time-out status bit, on IRQ 1 or 12 when the CTR
 * enables it, so Linux's PS/2 layer fails its probe at once instead of
 * waiting for a reply (see i8042.c). Linux therefore needs i8042.dumbkbd
 * (on ember's default command line) to bind atkbd to the keyboard port.
 *
 * Thread-safe: vCPU threads may access the ports concurrently with each
 * other and with i8042_send_ctrl_alt_del().
 */
#ifndef EMBER_DEV_I8042_H
#define EMBER_DEV_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"

/* Offsets from PORT_I8042_DATA (0x60). 0x61-0x63 (port B and the rest) read
 * 0 and ignore writes. */
#define I8042_OFF_DATA 0
#define I8042_OFF_CMD  4 /* write: command; read: status */
#define I8042_NPORTS   5

/* Status register (read 0x64). */
#define I8042_STR_OBF	  0x01 /* a byte waits in the output buffer */
#define I8042_STR_IBF	  0x02 /* never set: ember takes each write at once */
#define I8042_STR_SYS	  0x04 /* system flag: CTR bit 2, set by a self test */
#define I8042_STR_CMDDAT  0x08 /* the last write went to 0x64 */
#define I8042_STR_KEYLOCK 0x10 /* 1: keyboard not inhibited by the key switch */
#define I8042_STR_AUXDATA 0x20 /* the byte in the buffer is from the AUX port */
#define I8042_STR_TIMEOUT 0x40 /* the device did not answer */

/* Controller configuration byte, "CTR" in Linux (commands 0x20 and 0x60). */
#define I8042_CTR_KBDINT 0x01 /* keyboard bytes raise IRQ 1 */
#define I8042_CTR_AUXINT 0x02 /* AUX bytes raise IRQ 12 */
#define I8042_CTR_SYS	 0x04
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20
#define I8042_CTR_XLATE	 0x40

/* What a PC's firmware leaves behind: keyboard enabled with its interrupt and
 * scan-code translation, AUX disabled, self test passed. */
#define I8042_CTR_INITIAL (I8042_CTR_XLATE | I8042_CTR_AUXDIS | I8042_CTR_SYS | I8042_CTR_KBDINT)

/* Output port (commands 0xD0/0xD1): bit 0 is the CPU reset line (active low),
 * bit 1 the A20 gate; both high, as a running PC has them. */
#define I8042_OUTP_INITIAL 0x03

/* Controller commands (write 0x64). */
#define I8042_CMD_READ_CTR   0x20
#define I8042_CMD_WRITE_CTR  0x60 /* parameter: the new CTR */
#define I8042_CMD_AUX_DIS    0xa7
#define I8042_CMD_AUX_EN     0xa8
#define I8042_CMD_AUX_TEST   0xa9
#define I8042_CMD_SELF_TEST  0xaa
#define I8042_CMD_KBD_TEST   0xab
#define I8042_CMD_KBD_DIS    0xad
#define I8042_CMD_KBD_EN     0xae
#define I8042_CMD_READ_OUTP  0xd0
#define I8042_CMD_WRITE_OUTP 0xd1 /* parameter: the new output port */
#define I8042_CMD_AUX_LOOP   0xd3 /* parameter: echoed as if from the AUX port */
#define I8042_CMD_AUX_SEND   0xd4 /* parameter: a byte for the AUX device */
#define I8042_CMD_RESET	     0xfe

/* Replies. */
#define I8042_RET_SELF_TEST 0x55
#define I8042_RET_IF_OK	    0x00 /* interface test: no clock or data line fault */
#define I8042_RET_NO_DEVICE 0xfe /* with I8042_STR_TIMEOUT: nobody took the byte */

#define I8042_KBD_IRQ 1
#define I8042_AUX_IRQ 12

/*
 * Ctrl-Alt-Del as the keyboard sends it, in scan-code set 2 (the set a PS/2
 * keyboard starts in, and the one Linux's atkbd assumes with i8042.dumbkbd):
 * press left Ctrl, left Alt, Delete, then release them in reverse order.
 * 11 bytes, 8 once the controller translates them to set 1.
 */
#define I8042_KBD_CAD_LEN 11

/* The keyboard holds two sequences. Translated, that is 16 bytes: the most
 * Linux's i8042_flush() drains (I8042_BUFFER_SIZE) before its probe gives up
 * with "No controller found", should the requests come before the guest's
 * driver has started. */
#define I8042_KBD_QUEUE (2 * I8042_KBD_CAD_LEN)

struct i8042_callbacks {
	void (*reset)(void *ctx);			 /* the guest pulsed the reset line */
	void (*irq)(void *ctx, unsigned irq, int level); /* IRQ 1 or 12 changed level */
	void *ctx;
};

/* Who put the byte in the output buffer; decides status bit 5 and the IRQ. */
enum i8042_src {
	I8042_SRC_NONE, /* buffer empty */
	I8042_SRC_CTRL, /* a reply to a controller command: polled, no IRQ */
	I8042_SRC_KBD,
	I8042_SRC_AUX,
};

struct i8042 {
	pthread_mutex_t lock;
	struct i8042_callbacks cb;
	uint8_t ctr;
	uint8_t outp;
	uint8_t obuf;	      /* output buffer; keeps its value once read */
	enum i8042_src src;   /* I8042_SRC_NONE: OBF clear */
	bool timeout;	      /* status bit 6 for the byte in obuf */
	uint8_t param_cmd;    /* command waiting for its byte on 0x60, or 0 */
	bool cmd_last;	      /* status bit 3 */
	int kbd_irq, aux_irq; /* levels last reported through cb.irq */
	/* Set-2 bytes the keyboard has yet to see taken, oldest first. The
	 * byte in obuf may stand for the first key_used of them: they leave
	 * the queue only when the guest reads it (see i8042.c). */
	uint8_t kbd_q[I8042_KBD_QUEUE];
	unsigned kbd_len;
	unsigned key_used; /* 0: obuf holds no key byte */
};

/* Power-on state as firmware leaves it (I8042_CTR_INITIAL, buffer empty).
 * Callbacks may be NULL. Call before registering the ports. */
void i8042_init(struct i8042 *k, const struct i8042_callbacks *cb);
void i8042_destroy(struct i8042 *k);

/*
 * Queue the keyboard's Ctrl-Alt-Del (press and release, I8042_KBD_CAD_LEN
 * set-2 bytes) for the guest. The bytes reach the output buffer one at a
 * time, each after the guest has read the one before, on IRQ 1 when the CTR
 * enables it, and only while the CTR does not disable the keyboard. Call from
 * any thread. Returns 0, or -ENOSPC (with ember_seterr()) when the keyboard
 * has no room for a whole sequence because the guest has not read the
 * earlier ones (I8042_KBD_QUEUE): nothing is queued then.
 */
int i8042_send_ctrl_alt_del(struct i8042 *k);

/* Register at PORT_I8042_DATA with length I8042_NPORTS (0x60-0x64). Only
 * byte accesses to offsets 0 and 4 have effects; wider ones read 0. */
extern const struct bus_ops i8042_bus_ops;

struct snap_w;
struct snap_r;
/* The controller and the keyboard queue, for snapshots; i8042_load() checks every field (0 or -EINVAL). */
void i8042_save(struct i8042 *k, struct snap_w *w);
int i8042_load(struct i8042 *k, struct snap_r *r);

#endif
