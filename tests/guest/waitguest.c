// SPDX-License-Identifier: MIT
/*
 * waitguest: a PVH guest that waits for Ctrl-Alt-Del from the keyboard, for
 * tests of the API's SendCtrlAltDel action (ember's i8042 keyboard,
 * src/dev/i8042.c).
 *
 * It prints "waitguest: ready" and writes the boot marker, then a heartbeat "waitguest: tick N" each
 * time the CMOS RTC's seconds change (once a second of host time, however
 * fast or slow the vCPU runs), and polls the i8042: every byte from the
 * keyboard is printed as "waitguest: key 0xNN". Once the presses of Ctrl,
 * Alt and Delete have arrived in a row, it prints "waitguest: ctrl-alt-del"
 * and resets the machine as Linux's reboot=k does (0xFE to port 0x64), so
 * ember exits 0.
 *
 * It leaves the CTR as ember's firmware sets it (XLATE on), so the keys come
 * as set 1; it also accepts the raw set-2 presses, for a controller that
 * does not translate. It runs with interrupts off and polls: each poll is a
 * port access, and on an emulated /dev/kvm every one is an exit, so polls
 * are spaced by a pause loop. An exception prints one line and halts
 * without a reset: a test that waits for exit status 0 then times out
 * instead of passing.
 */
#include "tg.h"
#include "uart.h"
#include "boot/layout.h"

#define I8042_STR_OBF	  0x01
#define I8042_STR_IBF	  0x02
#define I8042_STR_AUXDATA 0x20
#define I8042_STR_TIMEOUT 0x40
#define I8042_CMD_RESET	  0xfe

#define CMOS_SECONDS 0x00

/* pause iterations between two polls of the i8042: ~2000 instructions,
 * about 1 ms on the emulated /dev/kvm of the development machines. */
#define POLL_SPIN 1000
/* i8042 polls per look at the RTC (two port accesses). */
#define POLLS_PER_RTC 8

/* The presses of left Ctrl, left Alt and Delete (0xE0-prefixed), as the
 * controller delivers them with translation (set 1) and without (set 2). */
static const u8 cad_set1[] = { 0x1d, 0x38, 0xe0, 0x53 };
static const u8 cad_set2[] = { 0x14, 0x11, 0xe0, 0x71 };
#define CAD_LEN 4

static void say(const char *s)
{
	uart_puts("waitguest: ");
	uart_puts(s);
	uart_putc('\n');
}

static void __attribute__((noreturn)) halt(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

/* entry.S's exception stubs land here. */
void tg_exception(struct exc_frame *f)
{
	uart_puts("waitguest: exception: vector ");
	uart_put_dec(f->vector);
	uart_puts(" error ");
	uart_put_hex(f->error);
	uart_puts(" at eip ");
	uart_put_hex(f->eip);
	uart_puts(", halting\n");
	halt();
}


static u8 rtc_seconds(void)
{
	outb(PORT_CMOS_INDEX, CMOS_SECONDS);
	return inb(PORT_CMOS_INDEX + 1);
}

static bool ends_with(const u8 *win, const u8 *seq)
{
	return memcmp(win, seq, CAD_LEN) == 0;
}

static void __attribute__((noreturn)) reset(void)
{
	/* As Linux's reboot=k path: wait until the controller takes input. */
	for (u32 i = 0; i < 100000 && (inb(PORT_I8042_CMD) & I8042_STR_IBF); i++)
		cpu_relax();
	outb(PORT_I8042_CMD, I8042_CMD_RESET);
	halt(); /* a monitor without the reset line: stay here */
}

void tg_main(void);

void tg_main(void)
{
	u8 win[CAD_LEN] = { 0 }; /* the last key bytes, oldest first */
	u8 sec, now;
	u32 ticks = 0;

	tg_setup_idt();
	sec = rtc_seconds();
	say("ready");
	/* "Init reached", as Firecracker's boot timer expects: --boot-timer
	 * logs the guest's boot time now. */
	outb(PORT_BOOT_MARKER, 123);
	for (u32 poll = 0;; poll++) {
		u8 st = inb(PORT_I8042_CMD);

		if (st & I8042_STR_OBF) {
			u8 b = inb(PORT_I8042_DATA);

			/* A NAK or an AUX byte is not a key. */
			if (st & (I8042_STR_AUXDATA | I8042_STR_TIMEOUT))
				continue;
			uart_puts("waitguest: key ");
			uart_put_hex(b);
			uart_putc('\n');
			for (u32 i = 0; i + 1 < CAD_LEN; i++)
				win[i] = win[i + 1];
			win[CAD_LEN - 1] = b;
			if (ends_with(win, cad_set1) || ends_with(win, cad_set2)) {
				say("ctrl-alt-del");
				reset();
			}
			continue; /* the next byte follows at once */
		}
		if (poll % POLLS_PER_RTC == 0 && (now = rtc_seconds()) != sec) {
			sec = now;
			uart_puts("waitguest: tick ");
			uart_put_dec(++ticks);
			uart_putc('\n');
		}
		for (u32 i = 0; i < POLL_SPIN; i++)
			cpu_relax();
	}
}
