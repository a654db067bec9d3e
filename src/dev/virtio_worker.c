// SPDX-License-Identifier: MIT
#include "dev/virtio_worker.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "util.h"

/* epoll data, low 32 bits: small integers are queue notifications, stop is
 * STOP_TAG, anything else is an index into fds[] plus FD_TAG, with the
 * slot's generation in the high 32 bits: an event epoll_wait() returned for
 * an fd that a callback earlier in the same batch removed must not reach
 * whatever took its slot since. */
#define STOP_TAG 0xffffffffu
#define FD_TAG	 0x10000u

int worker_init(struct virtio_worker *w, struct virtio_dev *dev)
{
	struct epoll_event ev = { .events = EPOLLIN };

	memset(w, 0, sizeof(*w));
	w->dev = dev;
	w->stop_fd = -1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_mutex_init(&w->ctl_lock, NULL);
	pthread_cond_init(&w->ctl_cond, NULL);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		w->notify_fd[i] = -1;
	for (unsigned i = 0; i < WORKER_MAX_FDS; i++)
		w->fds[i].fd = -1;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->epfd < 0 || w->stop_fd < 0)
		return ember_seterr(-errno, "virtio-%s: epoll/eventfd: %s", dev->ops->name,
				    strerror(errno));
	ev.data.u64 = STOP_TAG;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->stop_fd, &ev) < 0)
		return ember_seterr(-errno, "virtio-%s: epoll_ctl: %s", dev->ops->name,
				    strerror(errno));
	for (unsigned q = 0; q < dev->ops->nqueues && q < VIRTIO_MAX_QUEUES; q++) {
		w->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ev.data.u64 = q;
		if (w->notify_fd[q] < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->notify_fd[q], &ev))
			return ember_seterr(-errno, "virtio-%s: queue eventfd: %s", dev->ops->name,
					    strerror(errno));
	}
	return 0;
}

static void drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == sizeof(v))
		;
}

/* A stop or pause request: true when the thread must end. A pause parks
 * here, between two callbacks, until it is lifted. */
static bool control(struct virtio_worker *w)
{
	bool stop;

	drain(w->stop_fd);
	pthread_mutex_lock(&w->ctl_lock);
	if (w->pause_req && !w->stop_req) {
		w->paused = true;
		pthread_cond_broadcast(&w->ctl_cond);
		while (w->pause_req && !w->stop_req)
			pthread_cond_wait(&w->ctl_cond, &w->ctl_lock);
		w->paused = false;
	}
	stop = w->stop_req;
	pthread_mutex_unlock(&w->ctl_lock);
	return stop;
}

static void *worker_thread(void *arg)
{
	struct virtio_worker *w = arg;
	struct epoll_event evs[16];
	const char *dev = w->dev->ops->name;
	char name[16];

	/* "ember_blk", "ember_vsock": what ps -L, top -H and the kernel's
	 * seccomp log show for this thread (15 bytes at most). */
	snprintf(name, sizeof(name), "ember_%s", strncmp(dev, "virtio-", 7) == 0 ? dev + 7 : dev);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	sandbox_enter(sandbox_device_kind(dev));
	for (;;) {
		int n = epoll_wait(w->epfd, evs, 16, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < n; i++) {
			uint32_t tag = (uint32_t)evs[i].data.u64;
			uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);

			if (tag == STOP_TAG) {
				if (control(w))
					return NULL;
				/* Resumed: go on with the rest of this batch.
				 * Its edge-triggered events (vsock sockets)
				 * would not be reported again: skipping them
				 * lost a wake-up for good. */
				continue;
			}
			if (tag < VIRTIO_MAX_QUEUES) {
				drain(w->notify_fd[tag]);
				w->dev->ops->notify(w->dev, tag);
			} else if (tag >= FD_TAG && tag - FD_TAG < WORKER_MAX_FDS) {
				struct worker_fd f;

				pthread_mutex_lock(&w->lock);
				f = w->fds[tag - FD_TAG];
				pthread_mutex_unlock(&w->lock);
				if (f.fd >= 0 && f.gen == gen)
					f.cb(f.ctx, f.fd, evs[i].events);
			}
		}
	}
	return NULL;
}

int worker_start(struct virtio_worker *w)
{
	int err = ember_thread_start(&w->thread, worker_thread, w);

	if (err)
		return ember_seterr(-err, "virtio-%s: thread: %s", w->dev->ops->name,
				    strerror(err));
	w->started = true;
	return 0;
}

void worker_kick(void *opaque, unsigned q)
{
	struct virtio_worker *w = opaque;
	uint64_t one = 1;

	if (q < VIRTIO_MAX_QUEUES && w->notify_fd[q] >= 0 &&
	    write(w->notify_fd[q], &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("ember: virtio: kick");
}

static void request(struct virtio_worker *w)
{
	uint64_t one = 1;

	if (write(w->stop_fd, &one, sizeof(one)) < 0)
		perror("ember: virtio: worker control");
}

void worker_pause(struct virtio_worker *w)
{
	pthread_mutex_lock(&w->ctl_lock);
	w->pause_req = true;
	if (w->started) {
		request(w);
		while (!w->paused && !w->stop_req)
			pthread_cond_wait(&w->ctl_cond, &w->ctl_lock);
	}
	pthread_mutex_unlock(&w->ctl_lock);
}

void worker_resume(struct virtio_worker *w)
{
	pthread_mutex_lock(&w->ctl_lock);
	w->pause_req = false;
	pthread_cond_broadcast(&w->ctl_cond);
	pthread_mutex_unlock(&w->ctl_lock);
}

void worker_destroy(struct virtio_worker *w)
{
	if (w->started) {
		pthread_mutex_lock(&w->ctl_lock);
		w->stop_req = true;
		pthread_cond_broadcast(&w->ctl_cond);
		pthread_mutex_unlock(&w->ctl_lock);
		request(w);
		pthread_join(w->thread, NULL);
		w->started = false;
	}
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		if (w->notify_fd[i] >= 0)
			close(w->notify_fd[i]);
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	if (w->epfd >= 0)
		close(w->epfd);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->ctl_cond);
	pthread_mutex_destroy(&w->ctl_lock);
}

int worker_add_fd(struct virtio_worker *w, int fd, uint32_t events, worker_fd_cb cb, void *ctx)
{
	struct epoll_event ev = { .events = events };
	uint32_t gen;
	unsigned i;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < WORKER_MAX_FDS && w->fds[i].fd >= 0; i++)
		;
	if (i == WORKER_MAX_FDS) {
		pthread_mutex_unlock(&w->lock);
		return -ENOSPC;
	}
	w->fds[i].fd = fd;
	w->fds[i].cb = cb;
	w->fds[i].ctx = ctx;
	gen = ++w->fds[i].gen; /* a new owner of slot i */
	pthread_mutex_unlock(&w->lock);
	ev.data.u64 = (uint64_t)gen << 32 | (FD_TAG + i);
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		pthread_mutex_lock(&w->lock);
		w->fds[i].fd = -1;
		pthread_mutex_unlock(&w->lock);
		return err;
	}
	return 0;
}

static int find_fd(struct virtio_worker *w, int fd)
{
	for (unsigned i = 0; i < WORKER_MAX_FDS; i++)
		if (w->fds[i].fd == fd)
			return (int)i;
	return -1;
}

int worker_mod_fd(struct virtio_worker *w, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };
	uint32_t gen = 0;
	int i;

	pthread_mutex_lock(&w->lock);
	i = find_fd(w, fd);
	if (i >= 0)
		gen = w->fds[i].gen;
	pthread_mutex_unlock(&w->lock);
	if (i < 0)
		return -ENOENT;
	ev.data.u64 = (uint64_t)gen << 32 | (FD_TAG + (uint32_t)i);
	return epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void worker_del_fd(struct virtio_worker *w, int fd)
{
	int i;

	epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
	pthread_mutex_lock(&w->lock);
	i = find_fd(w, fd);
	if (i >= 0)
		w->fds[i].fd = -1;
	pthread_mutex_unlock(&w->lock);
}
