/* SPDX-License-Identifier: MIT */
/*
 * A virtio device's I/O thread: an epoll loop over the queue-notify
 * eventfds (KVM ioeventfds on QueueNotify), a stop eventfd and any fds the
 * device adds (a TAP device, sockets). A slow disk or socket blocks only its
 * own device, never a vCPU.
 *
 * Pause: worker_pause() returns once the thread has finished the callback it
 * was in (so the device holds no request in flight) and waits; nothing it
 * watches is served until worker_resume().
 */
#ifndef EMBER_DEV_VIRTIO_WORKER_H
#define EMBER_DEV_VIRTIO_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dev/virtio_mmio.h"

#define WORKER_MAX_FDS 64

typedef void (*worker_fd_cb)(void *ctx, int fd, uint32_t events);

struct worker_fd {
	int fd; /* -1: a free slot */
	worker_fd_cb cb;
	void *ctx;
	uint32_t gen; /* bumped each time the slot gets a new fd: in its epoll tag */
};

struct virtio_worker {
	struct virtio_dev *dev;
	int epfd;
	int stop_fd;			  /* eventfd: stop or pause requested (see ctl) */
	int notify_fd[VIRTIO_MAX_QUEUES]; /* -1: none */
	pthread_t thread;
	bool started;
	pthread_mutex_t ctl_lock; /* guards the three below */
	pthread_cond_t ctl_cond;
	bool stop_req, pause_req, paused;
	pthread_mutex_t lock; /* guards fds[] */
	struct worker_fd fds[WORKER_MAX_FDS];
};

/* Create the eventfds (one per queue) and the epoll set. */
int worker_init(struct virtio_worker *w, struct virtio_dev *dev);
int worker_start(struct virtio_worker *w);
/* Stop and join the thread, close the fds. */
void worker_destroy(struct virtio_worker *w);
/* Park the thread between two callbacks; returns once it is parked (at
 * once if it never started). Not from the worker thread itself. */
void worker_pause(struct virtio_worker *w);
void worker_resume(struct virtio_worker *w);

/* Wake queue q's handler, as an ioeventfd would (MMIO notify fallback). */
void worker_kick(void *w, unsigned q);

/* Watch an extra fd from the worker thread (EPOLLIN etc.). Returns 0 or
 * negative errno. Callable from the worker thread itself. */
int worker_add_fd(struct virtio_worker *w, int fd, uint32_t events, worker_fd_cb cb, void *ctx);
int worker_mod_fd(struct virtio_worker *w, int fd, uint32_t events);
void worker_del_fd(struct virtio_worker *w, int fd);

#endif
