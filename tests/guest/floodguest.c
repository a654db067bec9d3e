// SPDX-License-Identifier: MIT
/*
 * floodguest: a PVH guest that prints to the 16550 as fast as it can,
 * forever, for the fault suite's output cases (tests/fault/cases.d/output.sh):
 * a reader that stalls or goes away must never block a vCPU or the stop.
 *
 * It prints "floodguest: ready", then numbered 64-byte lines
 * "floodguest: line N xxx..." until ember stops it. Only ember's stop paths
 * (Ctrl-A x, a signal, the API) end it.
 */
#include "tg.h"
#include "uart.h"

void tg_main(void);

void tg_exception(struct exc_frame *f)
{
	(void)f;
	uart_puts("floodguest: exception\n");
	for (;;)
		asm volatile("cli; hlt");
}

void tg_main(void)
{
	tg_setup_idt();
	uart_puts("floodguest: ready\n");
	for (u32 n = 0;; n++) {
		uart_puts("floodguest: line ");
		uart_put_dec(n);
		uart_puts(" xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n");
	}
}
