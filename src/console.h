/* SPDX-License-Identifier: MIT */
/*
 * The terminal side of the guest console. Guest output goes to stdout; stdin
 * feeds the guest UART from a thread of its own. When stdin is a terminal it
 * is put in raw mode (restored on every exit path, signals included) and
 * Ctrl-A x quits, Ctrl-A Ctrl-A sends a Ctrl-A, as in QEMU. When stdin is not
 * a terminal and reaches end of file, the guest gets one Ctrl-D (EOT), so a
 * shell reading its console sees the end of its input. In Firecracker mode
 * (`plain`) bytes pass through untouched, with neither escape nor Ctrl-D,
 * as Firecracker's serial port does.
 *
 * While the VM is paused the input thread holds what it read and delivers
 * it on resume.
 */
#ifndef EMBER_CONSOLE_H
#define EMBER_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A */
#define CONSOLE_EOT    0x04 /* Ctrl-D */
/* Keys held for a guest that takes none now, and how often to retry. */
#define CONSOLE_PENDING	 4096
#define CONSOLE_RETRY_MS 10

struct console {
	/* Where input goes: the UART or virtio-console. Takes what fits; with
	 * wait, blocks until at least one byte is taken; negative once the
	 * device is closed. */
	int (*input)(void *dev, const uint8_t *buf, size_t len, bool wait);
	void *dev;
	void (*quit)(void *ctx); /* Ctrl-A x */
	void *ctx;
	int stop_fd; /* eventfd: wakes the input thread's poll at shutdown */
	bool tty;
	bool plain;  /* no Ctrl-A escapes, no Ctrl-D at end of input */
	bool escape; /* the previous byte was Ctrl-A */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock; /* guards paused */
	pthread_cond_t cond;
	bool paused;
	uint64_t dropped; /* keys lost: the guest took none and the buffer was full */
};

/* Start forwarding stdin to the guest UART. On failure (no fd or thread
 * left) returns negative errno with a message: a console that silently
 * takes no input would look like a hung guest. console_stop() is safe
 * afterwards. */
int console_start(struct console *c,
		  int (*input)(void *dev, const uint8_t *buf, size_t len, bool wait), void *dev,
		  void (*quit)(void *ctx), void *ctx, bool plain);
/* A console with no input thread (the guest's console is a file), so that
 * pause, resume and stop work on it alike. */
void console_init_idle(struct console *c);

/* Put the terminal back as ember found it, if it made it raw.
 * Async-signal-safe: for fatal-signal paths (the seccomp report). */
void console_restore_tty(void);
/* Stop the input thread and restore the terminal. */
void console_stop(struct console *c);
/* Hold input (the VM is paused) and release it. */
void console_pause(struct console *c);
void console_resume(struct console *c);

/*
 * Escape handling, pure for tests: filters `len` input bytes in place and
 * returns how many remain for the guest; sets *quit on Ctrl-A x.
 */
size_t console_filter(struct console *c, uint8_t *buf, size_t len, bool *quit);

#endif
