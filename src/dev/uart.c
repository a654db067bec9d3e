// SPDX-License-Identifier: MIT
/*
 * 16550A model, enough for Linux's 8250 driver: autodetection (scratch, IER
 * and loopback tests, FIFO bits in IIR), polled console output (LSR always
 * reports THRE|TEMT: transmission is instant, so the guest never spins), and
 * interrupt-driven tty input/output.
 */
#include "dev/uart.h"

#include <errno.h>
#include <string.h>

#include "snapshot/snapfile.h"

/* Interrupt identification by priority: received data, then THR empty. */
static uint8_t uart_iir(const struct uart *u)
{
	uint8_t fifo = (u->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0;

	if ((u->ier & UART_IER_RDI) && u->rx_count)
		return fifo | UART_IIR_RDI;
	if ((u->ier & UART_IER_THRI) && u->thri_pending)
		return fifo | UART_IIR_THRI;
	return fifo | UART_IIR_NONE;
}

static void uart_update_irq(struct uart *u)
{
	int level = (uart_iir(u) & UART_IIR_NONE) ? 0 : 1;

	if (level != u->irq_level) {
		u->irq_level = level;
		if (u->cb.irq)
			u->cb.irq(u->cb.ctx, level);
	}
}

/*
 * Input waits until the driver has opened the port: receive interrupts on
 * and OUT2 set (on a PC, OUT2 gates the UART's IRQ line; Linux sets it in
 * serial8250_startup(), after it cleared the FIFOs), not in loopback. The
 * IER test in Linux's port autodetection sets RDI briefly with OUT2 clear:
 * bytes delivered then would be flushed and lost.
 */
static bool uart_accepts_input(const struct uart *u)
{
	return (u->ier & UART_IER_RDI) && (u->mcr & UART_MCR_OUT2) && !(u->mcr & UART_MCR_LOOP);
}

static void rx_push(struct uart *u, uint8_t byte)
{
	if (u->rx_count < UART_RX_SIZE) {
		u->rx[(u->rx_head + u->rx_count) % UART_RX_SIZE] = byte;
		u->rx_count++;
	}
}

void uart_init(struct uart *u, const struct uart_callbacks *cb)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->space, NULL);
	u->cb = *cb;
	u->mcr = 0; /* reset value: OUT2 clear until a driver opens the port */
	u->dll = 12; /* 9600 baud, the reset value firmware leaves */
}

void uart_destroy(struct uart *u)
{
	pthread_cond_destroy(&u->space);
	pthread_mutex_destroy(&u->lock);
}

static uint8_t uart_read_reg(struct uart *u, uint64_t off)
{
	uint8_t v = 0;

	switch (off) {
	case UART_RBR:
		if (u->lcr & UART_LCR_DLAB)
			return u->dll;
		if (u->rx_count) {
			v = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % UART_RX_SIZE;
			u->rx_count--;
			pthread_cond_broadcast(&u->space);
		}
		return v;
	case UART_IER:
		return (u->lcr & UART_LCR_DLAB) ? u->dlm : u->ier;
	case UART_IIR:
		v = uart_iir(u);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if ((v & 0x0f) == UART_IIR_THRI)
			u->thri_pending = false;
		return v;
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		return UART_LSR_THRE | UART_LSR_TEMT | (u->rx_count ? UART_LSR_DR : 0);
	case UART_MSR:
		if (u->mcr & UART_MCR_LOOP) {
			/* Loopback: DCD=OUT2, RI=OUT1, DSR=DTR, CTS=RTS. */
			return (uint8_t)(((u->mcr & 0x08) << 4) | ((u->mcr & 0x04) << 4) |
					 ((u->mcr & 0x01) << 5) | ((u->mcr & 0x02) << 3));
		}
		return 0xb0; /* DCD, DSR, CTS: a modem that is always there */
	case UART_SCR:
		return u->scr;
	}
	return 0;
}

static void uart_write_reg(struct uart *u, uint64_t off, uint8_t v)
{
	switch (off) {
	case UART_RBR:
		if (u->lcr & UART_LCR_DLAB) {
			u->dll = v;
			break;
		}
		if (u->mcr & UART_MCR_LOOP)
			rx_push(u, v);
		else if (u->cb.tx)
			u->cb.tx(u->cb.ctx, v);
		/* Sent at once: the THR is empty again. */
		u->thri_pending = true;
		break;
	case UART_IER:
		if (u->lcr & UART_LCR_DLAB) {
			u->dlm = v;
			break;
		}
		/* Enabling THRI with an empty THR raises it right away. */
		if ((v & UART_IER_THRI) && !(u->ier & UART_IER_THRI))
			u->thri_pending = true;
		u->ier = v & UART_IER_MASK;
		if (uart_accepts_input(u))
			pthread_cond_broadcast(&u->space);
		break;
	case UART_IIR: /* FCR */
		u->fcr = v & UART_FCR_ENABLE;
		if (v & UART_FCR_CLEAR_RX)
			u->rx_head = u->rx_count = 0;
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1f;
		if (uart_accepts_input(u))
			pthread_cond_broadcast(&u->space);
		break;
	case UART_SCR:
		u->scr = v;
		break;
	}
}

static void uart_bus_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct uart *u = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&u->lock);
	data[0] = uart_read_reg(u, off);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static void uart_bus_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct uart *u = opaque;

	(void)len; /* wider accesses: the low byte goes to the addressed register */
	pthread_mutex_lock(&u->lock);
	uart_write_reg(u, off, data[0]);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

const struct bus_ops uart_bus_ops = {
	.name = "uart",
	.read = uart_bus_read,
	.write = uart_bus_write,
};

int uart_input(struct uart *u, const uint8_t *buf, size_t len, bool wait)
{
	size_t n = 0;

	pthread_mutex_lock(&u->lock);
	for (;;) {
		if (u->closed) {
			pthread_mutex_unlock(&u->lock);
			return -EPIPE;
		}
		if (uart_accepts_input(u))
			while (n < len && u->rx_count < UART_RX_SIZE)
				rx_push(u, buf[n++]);
		if (n || !wait || len == 0)
			break;
		pthread_cond_wait(&u->space, &u->lock);
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return (int)n;
}

void uart_close(struct uart *u)
{
	pthread_mutex_lock(&u->lock);
	u->closed = true;
	pthread_cond_broadcast(&u->space);
	pthread_mutex_unlock(&u->lock);
}

void uart_save(struct uart *u, struct snap_w *w)
{
	pthread_mutex_lock(&u->lock);
	snap_put_u8(w, u->ier);
	snap_put_u8(w, u->lcr);
	snap_put_u8(w, u->mcr);
	snap_put_u8(w, u->scr);
	snap_put_u8(w, u->fcr);
	snap_put_u8(w, u->dll);
	snap_put_u8(w, u->dlm);
	snap_put_u8(w, u->thri_pending);
	snap_put_u8(w, (uint8_t)u->irq_level);
	snap_put_u16(w, (uint16_t)u->rx_count);
	for (unsigned i = 0; i < u->rx_count; i++)
		snap_put_u8(w, u->rx[(u->rx_head + i) % UART_RX_SIZE]);
	pthread_mutex_unlock(&u->lock);
}

int uart_load(struct uart *u, struct snap_r *r)
{
	uint8_t ier = snap_get_u8(r), lcr = snap_get_u8(r), mcr = snap_get_u8(r);
	uint8_t scr = snap_get_u8(r), fcr = snap_get_u8(r), dll = snap_get_u8(r);
	uint8_t dlm = snap_get_u8(r);
	bool thri = snap_get_bool(r), level = snap_get_bool(r);
	unsigned n = snap_get_u16(r);

	if (r->err || (ier & ~UART_IER_MASK) || n > UART_RX_SIZE)
		return -EINVAL;
	pthread_mutex_lock(&u->lock);
	u->ier = ier;
	u->lcr = lcr;
	u->mcr = mcr;
	u->scr = scr;
	u->fcr = fcr;
	u->dll = dll;
	u->dlm = dlm;
	u->thri_pending = thri;
	u->irq_level = level;
	u->rx_head = 0;
	u->rx_count = n;
	snap_get(r, u->rx, n);
	pthread_mutex_unlock(&u->lock);
	return snap_r_end(r);
}
