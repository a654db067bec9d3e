/* SPDX-License-Identifier: MIT */
/* Polled output on the 16550 at 0x3F8. */
#ifndef TG_UART_H
#define TG_UART_H

#include <stdint.h>

void uart_putc(char c);
void uart_puts(const char *s);
void uart_put_hex(uint64_t v);
void uart_put_dec(uint32_t v);

/* Writes that went out without LSR.THRE ever being seen (should be 0). */
uint32_t uart_stalls(void);

#endif
