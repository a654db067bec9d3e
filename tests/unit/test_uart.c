// SPDX-License-Identifier: MIT
#include <errno.h>

#include "dev/uart.h"
#include "harness.h"

struct sink {
	uint8_t out[64];
	unsigned nout;
	int level;
	unsigned edges;
};

static void tx(void *ctx, uint8_t b)
{
	struct sink *s = ctx;

	if (s->nout < sizeof(s->out))
		s->out[s->nout++] = b;
}

static void irq(void *ctx, int level)
{
	struct sink *s = ctx;

	s->edges += level && !s->level;
	s->level = level;
}

static struct uart u;
static struct sink sink;

static void setup(void)
{
	struct uart_callbacks cb = { tx, irq, &sink };

	memset(&sink, 0, sizeof(sink));
	uart_init(&u, &cb);
}

static uint8_t rd(unsigned off)
{
	uint8_t v;

	uart_bus_ops.read(&u, off, &v, 1);
	return v;
}

static void wr(unsigned off, uint8_t v)
{
	uart_bus_ops.write(&u, off, &v, 1);
}

TEST(transmit_and_lsr)
{
	setup();
	CHECK_EQ(rd(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	wr(UART_RBR, 'h');
	wr(UART_RBR, 'i');
	CHECK_EQ(sink.nout, 2);
	CHECK(memcmp(sink.out, "hi", 2) == 0);
	CHECK_EQ(rd(UART_LSR) & 0x60, 0x60);
	CHECK_EQ(sink.edges, 0); /* no interrupts enabled */
	uart_destroy(&u);
}

TEST(probe_registers)
{
	setup();
	wr(UART_SCR, 0xa5);
	CHECK_EQ(rd(UART_SCR), 0xa5);
	wr(UART_IER, 0xff);
	CHECK_EQ(rd(UART_IER), 0x0f);
	wr(UART_IER, 0);
	wr(UART_LCR, UART_LCR_DLAB);
	wr(UART_RBR, 1);
	wr(UART_IER, 2);
	CHECK_EQ(rd(UART_RBR), 1);
	CHECK_EQ(rd(UART_IER), 2);
	wr(UART_LCR, 3);
	CHECK_EQ(rd(UART_IER), 0);
	CHECK_EQ(rd(UART_LCR), 3);
	/* FIFO enabled shows in IIR's top bits (16550A detection). */
	wr(UART_IIR, UART_FCR_ENABLE);
	CHECK_EQ(rd(UART_IIR) & 0xc0, 0xc0);
	/* Loopback: Linux writes MCR LOOP|OUT2|RTS and expects DCD|CTS. */
	wr(UART_MCR, UART_MCR_LOOP | 0x0a);
	CHECK_EQ(rd(UART_MSR) & 0xf0, 0x90);
	wr(UART_RBR, 'L');
	CHECK_EQ(sink.nout, 0);
	CHECK_EQ(rd(UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	CHECK_EQ(rd(UART_RBR), 'L');
	wr(UART_MCR, UART_MCR_OUT2);
	CHECK_EQ(rd(UART_MSR), 0xb0);
	CHECK_EQ(rd(UART_MCR), UART_MCR_OUT2);
	uart_destroy(&u);
}

TEST(input_gated_by_rx_interrupt)
{
	setup();
	/* Before the driver enables RDI, input waits (non-blocking: 0 taken). */
	CHECK_EQ(uart_input(&u, (const uint8_t *)"ab", 2, false), 0);
	CHECK_EQ(rd(UART_LSR) & UART_LSR_DR, 0);
	/* Linux's autodetection sets RDI with OUT2 clear: still not open. */
	wr(UART_IER, UART_IER_RDI);
	CHECK_EQ(uart_input(&u, (const uint8_t *)"ab", 2, false), 0);
	wr(UART_MCR, UART_MCR_OUT2);
	CHECK_EQ(uart_input(&u, (const uint8_t *)"ab", 2, false), 2);
	CHECK_EQ(sink.level, 1);
	CHECK_EQ(rd(UART_IIR) & 0x0f, UART_IIR_RDI);
	CHECK_EQ(rd(UART_RBR), 'a');
	CHECK_EQ(sink.level, 1);
	CHECK_EQ(rd(UART_RBR), 'b');
	CHECK_EQ(sink.level, 0);
	CHECK_EQ(rd(UART_IIR) & 0x0f, UART_IIR_NONE);
	CHECK_EQ(rd(UART_RBR), 0); /* empty reads as 0 */
	uart_destroy(&u);
}

TEST(rx_fifo_full_and_clear)
{
	uint8_t big[UART_RX_SIZE + 10];

	setup();
	memset(big, 'x', sizeof(big));
	wr(UART_MCR, UART_MCR_OUT2);
	wr(UART_IER, UART_IER_RDI);
	CHECK_EQ(uart_input(&u, big, sizeof(big), false), UART_RX_SIZE);
	CHECK_EQ(uart_input(&u, big, 1, false), 0);
	wr(UART_IIR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX);
	CHECK_EQ(rd(UART_LSR) & UART_LSR_DR, 0);
	CHECK_EQ(sink.level, 0);
	uart_close(&u);
	CHECK_EQ(uart_input(&u, big, 1, true), -EPIPE);
	uart_destroy(&u);
}

TEST(thr_empty_interrupt)
{
	setup();
	wr(UART_IER, UART_IER_THRI);
	CHECK_EQ(sink.level, 1); /* enabling THRI with an empty THR raises it */
	CHECK_EQ(rd(UART_IIR) & 0x0f, UART_IIR_THRI);
	CHECK_EQ(sink.level, 0); /* reading IIR acknowledged it */
	wr(UART_RBR, 'z');
	CHECK_EQ(sink.level, 1);
	CHECK_EQ(sink.edges, 2);
	/* Received data outranks THR empty. */
	wr(UART_MCR, UART_MCR_OUT2);
	wr(UART_IER, UART_IER_THRI | UART_IER_RDI);
	CHECK_EQ(uart_input(&u, (const uint8_t *)"q", 1, false), 1);
	CHECK_EQ(rd(UART_IIR) & 0x0f, UART_IIR_RDI);
	uart_destroy(&u);
}

SUITE(uart, T(transmit_and_lsr), T(probe_registers), T(input_gated_by_rx_interrupt),
      T(rx_fifo_full_and_clear), T(thr_empty_interrupt));
