/* SPDX-License-Identifier: MIT */
/*
 * Guest console output, off the vCPU threads. The UART and virtio-console
 * hand their bytes to console_out_put(), which only copies them into a
 * bounded ring and never waits: a writer thread of its own drains the ring
 * to the output fd (stdout, or Firecracker's serial_out_path). When the fd
 * does not keep up (a pipe nobody reads, a stopped terminal) the ring fills
 * and what does not fit is dropped and counted; when the reader goes away
 * (EPIPE, a hung-up terminal) all further output is dropped and counted and
 * the guest keeps running. So no vCPU ever sits in write() under a device
 * lock, and stopping the VM never waits for the output's reader: at stop
 * the writer gets a bounded time to flush, then is interrupted.
 */
#ifndef EMBER_CONSOLE_OUT_H
#define EMBER_CONSOLE_OUT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_OUT_SIZE     (64u << 10) /* the ring: a burst of boot log */
#define CONSOLE_OUT_FLUSH_MS 200	 /* at stop, time given to flush the ring */

/* The ring alone, pure for tests: head is where the oldest byte is. */
struct out_ring {
	uint8_t *buf;
	size_t cap, head, len;
};

/* Append what fits of buf; returns how many bytes did not fit. */
size_t out_ring_put(struct out_ring *r, const uint8_t *buf, size_t len);
/* The oldest contiguous run of bytes (without removing them). */
size_t out_ring_peek(const struct out_ring *r, const uint8_t **p);
void out_ring_drop(struct out_ring *r, size_t n);

struct console_out {
	int fd;
	int wake_fd; /* eventfd: data arrived, or stop */
	pthread_t thread;
	bool ready; /* console_out_start() ran: there is something to stop */
	bool started;
	pthread_mutex_t lock; /* guards ring, sleeping, stopping, busy */
	pthread_cond_t idle;  /* the writer finished: the ring drained or it gave up */
	struct out_ring ring;
	bool sleeping; /* the writer waits for data: wake it */
	bool stopping;
	bool give_up;		  /* the flush time is over: end now */
	bool done;		  /* the writer thread has returned */
	_Atomic bool dead;	  /* the reader is gone: drop everything */
	_Atomic uint64_t dropped; /* bytes dropped: ring full or reader gone */
	_Atomic uint64_t written; /* bytes written to fd */
	int error;		  /* errno of the write that ended output, or 0 */
};

/* Start draining to fd (not owned). On failure returns negative errno with a
 * message; console_out_stop() is safe afterwards. */
int console_out_start(struct console_out *o, int fd);
/* Queue guest output; never blocks on the fd. Returns the bytes dropped. */
size_t console_out_put(struct console_out *o, const uint8_t *buf, size_t len);
/* Flush for at most flush_ms, then end the writer (interrupting a write
 * that blocks) and free the ring. Output that was not written is counted
 * as dropped. */
void console_out_stop(struct console_out *o, unsigned flush_ms);

#endif
