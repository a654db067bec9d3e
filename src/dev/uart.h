/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART (the guest's ttyS0). Pure device model: output bytes and the
 * interrupt line leave through callbacks, input arrives with uart_input().
 * Thread-safe: vCPU threads access registers while the console thread feeds
 * input.
 */
#ifndef EMBER_DEV_UART_H
#define EMBER_DEV_UART_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"

#define UART_RX_SIZE 256

/* Registers (offset from base) and the bits ember models. */
#define UART_RBR 0 /* read: receive buffer; write: THR; DLAB: DLL */
#define UART_IER 1 /* DLAB: DLM */
#define UART_IIR 2 /* read: interrupt id; write: FCR */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI  0x01
#define UART_IER_THRI 0x02
#define UART_IER_MASK 0x0f
#define UART_IIR_NONE 0x01
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI  0x04
#define UART_IIR_FIFO 0xc0
#define UART_FCR_ENABLE	  0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_LCR_DLAB 0x80
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_LSR_DR   0x01
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40

struct uart_callbacks {
	void (*tx)(void *ctx, uint8_t byte);	 /* a byte the guest sent */
	void (*irq)(void *ctx, int level); /* the IRQ line changed level */
	void *ctx;
};

struct uart {
	pthread_mutex_t lock;
	pthread_cond_t space; /* signalled when input may make progress */
	struct uart_callbacks cb;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thri_pending; /* THR empty interrupt not yet acknowledged */
	int irq_level;
	bool closed;
	uint8_t rx[UART_RX_SIZE];
	unsigned rx_head, rx_count;
};

void uart_init(struct uart *u, const struct uart_callbacks *cb);
void uart_destroy(struct uart *u);

/* Bus ops for the 8 registers; register with bus_register(..., 8, ...). */
extern const struct bus_ops uart_bus_ops;

/*
 * Queue guest input. Bytes are accepted only once the driver has opened the
 * port (receive interrupts enabled and OUT2 set): before that, a real FIFO
 * would be flushed by the driver's startup and the bytes lost. Returns the number accepted;
 * with `wait`, blocks until at least one byte is accepted or uart_close().
 * Returns -EPIPE once closed.
 */
int uart_input(struct uart *u, const uint8_t *buf, size_t len, bool wait);

/* Wake and refuse any waiting or later uart_input() (the VM is stopping). */
void uart_close(struct uart *u);

struct snap_w;
struct snap_r;
/* The registers and the receive FIFO, for snapshots; uart_load() checks
 * every field (0 or -EINVAL) and leaves the IRQ line to the IOAPIC's own
 * restored state. */
void uart_save(struct uart *u, struct snap_w *w);
int uart_load(struct uart *u, struct snap_r *r);

#endif
