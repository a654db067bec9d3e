/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (virtio 1.2 section 5.3), one port, no multiport: the
 * guest's hvc0 on ember's terminal (--console virtio). Output chains are
 * written to stdout on the device thread; terminal input is buffered here
 * and handed to the guest's receive buffers as they appear, so nothing typed
 * is lost while the guest has none.
 */
#ifndef EMBER_DEV_VIRTIO_CONSOLE_H
#define EMBER_DEV_VIRTIO_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console_out.h"
#include "vm_virtio.h"

#define VCON_INPUT_SIZE 4096

struct virtio_console {
	struct vm_virtio *slot;
	struct console_out *out;
	void (*first_output)(void *ctx); /* boot trace hook, may be NULL */
	void *ctx;
	int wake_fd;	      /* eventfd: input arrived, fill receive buffers */
	pthread_mutex_t lock; /* guards the input ring and `closed` */
	pthread_cond_t space;
	bool closed;
	uint8_t in[VCON_INPUT_SIZE];
	unsigned head, count;
	struct vq_chain chain; /* the chain being served (device thread) */
};

struct virtio_console_args {
	struct console_out *output;
	void (*first_output)(void *ctx);
	void *ctx;
	struct virtio_console **out; /* receives the model, for input */
};

/* arg: const struct virtio_console_args *. */
int virtio_console_create(struct vm_virtio *s, const struct guest_mem *mem, const void *arg);
/* After vm_virtio_add(): let the device thread watch for input. */
int virtio_console_attach(struct virtio_console *vc);

/* Console input (struct console's input callback): buffers what fits; with
 * wait, blocks until at least one byte fits; -EPIPE once closed. */
int virtio_console_input(void *con, const uint8_t *buf, size_t len, bool wait);
void virtio_console_close(struct virtio_console *vc);

#endif
