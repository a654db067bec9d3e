// SPDX-License-Identifier: MIT
/*
 * testguest: a PVH guest that checks what the monitor hands it and reports
 * each check on the UART as one line, "ok NAME" or
 * "FAIL NAME: detail (got X want Y)", then "testguest: N passed, M failed",
 * then asks for a reset (0xFE to port 0x64: ember exits 0, QEMU with
 * -no-reboot quits). The host-side runner (run.sh) decides from those lines.
 */
#include "tg.h"
#include "uart.h"

#define PORT_I8042_DATA	    0x60
#define PORT_I8042_CMD	    0x64
#define I8042_CMD_READ_CTR  0x20
#define I8042_CMD_WRITE_CTR 0x60
#define I8042_CMD_RESET	    0xfe
#define I8042_STR_OBF	    0x01
#define I8042_STR_IBF	    0x02
#define I8042_CTR_KBDINT    0x01
#define I8042_SPIN_MAX	    1000

static u32 passed, failed;

/* In .bss: the loader must have zeroed it (p_memsz > p_filesz). */
static u8 bss_probe[512];

int pass(const char *name)
{
	passed++;
	uart_puts("ok ");
	uart_puts(name);
	uart_putc('\n');
	return 0;
}

int pass_n(const char *name, u32 n)
{
	passed++;
	uart_puts("ok ");
	uart_puts(name);
	uart_putc(' ');
	uart_put_dec(n);
	uart_putc('\n');
	return 0;
}

static void fail_head(const char *name, const char *detail)
{
	failed++;
	uart_puts("FAIL ");
	uart_puts(name);
	uart_puts(": ");
	uart_puts(detail);
	uart_puts(" (got ");
}

int fail(const char *name, const char *detail, u64 got, u64 want)
{
	fail_head(name, detail);
	uart_put_hex(got);
	uart_puts(" want ");
	uart_put_hex(want);
	uart_puts(")\n");
	return -1;
}

int fail_dec(const char *name, const char *detail, u32 got, u32 want)
{
	fail_head(name, detail);
	uart_put_dec(got);
	uart_puts(" want ");
	uart_put_dec(want);
	uart_puts(")\n");
	return -1;
}

int fail_key(const char *name, const char *detail, const char *key)
{
	failed++;
	uart_puts("FAIL ");
	uart_puts(name);
	uart_puts(": ");
	uart_puts(detail);
	uart_puts(key);
	uart_puts(" (got unparsable or out of range want decimal, K/M/G only on tg.mem)\n");
	return -1;
}

int fail_idx(const char *name, u32 idx, const char *detail, u64 got, u64 want)
{
	failed++;
	uart_puts("FAIL ");
	uart_puts(name);
	uart_puts(": entry ");
	uart_put_dec(idx);
	uart_putc(' ');
	uart_puts(detail);
	uart_puts(" (got ");
	uart_put_hex(got);
	uart_puts(" want ");
	uart_put_hex(want);
	uart_puts(")\n");
	return -1;
}

void tg_finish(void)
{
	uart_puts("testguest: ");
	uart_put_dec(passed);
	uart_puts(" passed, ");
	uart_put_dec(failed);
	uart_puts(" failed\n");
	/* Power off as Linux does on hardware-reduced ACPI: SLP_TYP 5 (the
	 * DSDT's \_S5_) << 2 | SLP_EN to the FADT's sleep control register.
	 * Without one, or if ember did not stop, reset through the i8042. */
	if (acpi_sleep_port) {
		uart_puts("testguest: powering off through ACPI port ");
		uart_put_hex(acpi_sleep_port);
		uart_putc('\n');
		outb(acpi_sleep_port, 5 << 2 | 0x20);
		uart_puts("testguest: still running after the ACPI power-off\n");
	}
	outb(PORT_I8042_CMD, I8042_CMD_RESET);
	for (;;)
		asm volatile("cli; hlt");
}

/* An unexpected CPU exception: say where, count it, end the run. */
void tg_exception(struct exc_frame *f)
{
	failed++;
	uart_puts("FAIL exception: vector ");
	uart_put_dec(f->vector);
	uart_puts(" error ");
	uart_put_hex(f->error);
	uart_puts(" at eip ");
	uart_put_hex(f->eip);
	uart_puts(" (got exception want none)\n");
	tg_finish();
}

static int check_bss(void)
{
	for (u32 i = 0; i < sizeof(bss_probe); i++) {
		if (bss_probe[i])
			return fail("bss-zeroed", "byte in .bss not zero", (u32)&bss_probe[i], 0);
	}
	return pass("bss-zeroed");
}

/* Poll the i8042 status as Linux's i8042_wait_read()/_write() do; bounded,
 * where Linux gives up after 0.5 s per byte. */
static int i8042_wait(u8 mask, u8 want)
{
	for (u32 i = 0; i < I8042_SPIN_MAX; i++)
		if ((inb(PORT_I8042_CMD) & mask) == want)
			return 0;
	return -1;
}

static int i8042_command(u8 cmd, int param, u8 *reply)
{
	if (i8042_wait(I8042_STR_IBF, 0))
		return -1;
	outb(PORT_I8042_CMD, cmd);
	if (param >= 0) {
		if (i8042_wait(I8042_STR_IBF, 0))
			return -1;
		outb(PORT_I8042_DATA, (u8)param);
	}
	if (reply) {
		if (i8042_wait(I8042_STR_OBF, I8042_STR_OBF))
			return -1;
		*reply = inb(PORT_I8042_DATA);
	}
	return 0;
}

/* What Linux's i8042_controller_check() and i8042_controller_init() need:
 * an empty output buffer, a CTR that reads the same twice and round-trips
 * through a write, every reply there without waiting. */
static int check_i8042(void)
{
	u8 st = inb(PORT_I8042_CMD), a, b;

	if (st & I8042_STR_OBF)
		return fail("i8042-ctr", "output buffer full at boot", st, 0);
	if (i8042_command(I8042_CMD_READ_CTR, -1, &a) || i8042_command(I8042_CMD_READ_CTR, -1, &b))
		return fail("i8042-ctr", "no reply to read CTR", inb(PORT_I8042_CMD),
			    I8042_STR_OBF);
	if (a != b)
		return fail("i8042-ctr", "CTR changed between two reads", b, a);
	if (i8042_command(I8042_CMD_WRITE_CTR, a ^ I8042_CTR_KBDINT, 0) ||
	    i8042_command(I8042_CMD_READ_CTR, -1, &b))
		return fail("i8042-ctr", "no reply after write CTR", inb(PORT_I8042_CMD), 0);
	if (b != (a ^ I8042_CTR_KBDINT))
		return fail("i8042-ctr", "CTR write did not round-trip", b, a ^ I8042_CTR_KBDINT);
	if (i8042_command(I8042_CMD_WRITE_CTR, a, 0))
		return fail("i8042-ctr", "controller busy restoring the CTR", inb(PORT_I8042_CMD),
			    0);
	return pass("i8042-ctr");
}

static int check_uart(void)
{
	if (uart_stalls())
		return fail_dec("uart-lsr", "writes without LSR.THRE", uart_stalls(), 0);
	return pass("uart-lsr");
}

static u8 cmos(u8 index)
{
	outb(0x70, index);
	return inb(0x71);
}

static int bcd_ok(u8 v, u8 max)
{
	return (v & 15) <= 9 && (v >> 4) <= 9 && ((v >> 4) * 10 + (v & 15)) <= max;
}

/* The MC146818 RTC: valid, never mid-update (Linux polls UIP), the power-on
 * format (24-hour BCD) and the host's date, which is 2026 or later. */
static int check_cmos(void)
{
	u8 year = cmos(0x09), century = cmos(0x32), month = cmos(0x08), hour = cmos(0x04);

	if (!(cmos(0x0d) & 0x80))
		return fail("cmos-rtc", "register D VRT clear", cmos(0x0d), 0x80);
	if (cmos(0x0a) & 0x80)
		return fail("cmos-rtc", "register A UIP set", cmos(0x0a), 0x26);
	if (cmos(0x0b) != 0x02)
		return fail("cmos-rtc", "register B not 24-hour BCD", cmos(0x0b), 0x02);
	if (century != 0x20 || !bcd_ok(year, 99) || year < 0x26)
		return fail("cmos-rtc", "year", (u32)century << 8 | year, 0x2026);
	if (!bcd_ok(month, 12) || month == 0 || !bcd_ok(hour, 23))
		return fail("cmos-rtc", "month/hour not BCD", (u32)month << 8 | hour, 0);
	return pass("cmos-rtc");
}

void tg_main(void);

void tg_main(void)
{
	tg_setup_idt();
	uart_puts("testguest: PVH boot checks\n");
	check_bss();
	check_cmos();
	cpu_checks();
	bootinfo_checks();
	smp_checks();
	check_i8042();
	check_uart();
	tg_finish();
}
