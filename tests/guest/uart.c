// SPDX-License-Identifier: MIT
/*
 * Polled 16550 output. Before each byte the guest polls LSR (0x3FD) for
 * THRE (bit 5), as a real driver would. The poll is bounded: a monitor that
 * never sets THRE gets its bytes anyway and the stall is counted, so the
 * guest can report it (pvh-boot.md section 4: LSR must read 0x60).
 */
#include "uart.h"
#include "tg.h"

#define UART_BASE     0x3f8
#define UART_LSR      5
#define UART_LSR_THRE 0x20
#define UART_SPIN_MAX 1000

static uint32_t stalls;

void uart_putc(char c)
{
	unsigned int spins = 0;

	while (!(inb(UART_BASE + UART_LSR) & UART_LSR_THRE)) {
		if (++spins == UART_SPIN_MAX) {
			stalls++;
			break;
		}
	}
	outb(UART_BASE, (u8)c);
}

void uart_puts(const char *s)
{
	while (*s)
		uart_putc(*s++);
}

void uart_put_hex(uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	int shift = 60;

	uart_puts("0x");
	while (shift > 0 && !((v >> shift) & 0xf))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		uart_putc(digits[(v >> shift) & 0xf]);
}

void uart_put_dec(uint32_t v)
{
	char buf[11];
	int i = 0;

	do {
		buf[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		uart_putc(buf[--i]);
}

uint32_t uart_stalls(void)
{
	return stalls;
}
