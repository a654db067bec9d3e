// SPDX-License-Identifier: MIT
#include "console_out.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "util.h"

size_t out_ring_put(struct out_ring *r, const uint8_t *buf, size_t len)
{
	size_t room = r->cap - r->len, n = len < room ? len : room, tail, first;

	tail = (r->head + r->len) % r->cap;
	first = n < r->cap - tail ? n : r->cap - tail;
	memcpy(r->buf + tail, buf, first);
	memcpy(r->buf, buf + first, n - first);
	r->len += n;
	return len - n;
}

size_t out_ring_peek(const struct out_ring *r, const uint8_t **p)
{
	size_t run = r->cap - r->head;

	*p = r->buf + r->head;
	return r->len < run ? r->len : run;
}

void out_ring_drop(struct out_ring *r, size_t n)
{
	if (n > r->len)
		n = r->len;
	r->len -= n;
	r->head = r->len ? (r->head + n) % r->cap : 0;
}

static void wake(struct console_out *o)
{
	uint64_t one = 1;

	/* Cannot fail short of a bad fd: the counter never nears its limit. */
	if (write(o->wake_fd, &one, sizeof(one)) < 0)
		return;
}

/* Wait until fd takes bytes (it is non-blocking) or someone wakes us. */
static void wait_writable(struct console_out *o)
{
	struct pollfd p[2] = {
		{ .fd = o->fd, .events = POLLOUT },
		{ .fd = o->wake_fd, .events = POLLIN },
	};
	uint64_t v;

	if (poll(p, 2, -1) > 0 && (p[1].revents & POLLIN) && read(o->wake_fd, &v, sizeof(v)) < 0)
		return;
}

static void wait_data(struct console_out *o)
{
	struct pollfd p = { .fd = o->wake_fd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, -1) > 0 && read(o->wake_fd, &v, sizeof(v)) < 0)
		return;
}

static void *writer_main(void *arg)
{
	struct console_out *o = arg;

	prctl(PR_SET_NAME, "ember_out", 0, 0, 0);
	sandbox_enter(SB_CONSOLE_OUT);
	pthread_mutex_lock(&o->lock);
	while (!o->give_up) {
		const uint8_t *p;
		size_t n = out_ring_peek(&o->ring, &p);
		ssize_t w;
		int err;

		if (!n) {
			if (o->stopping)
				break;
			o->sleeping = true;
			pthread_mutex_unlock(&o->lock);
			wait_data(o);
			pthread_mutex_lock(&o->lock);
			o->sleeping = false;
			continue;
		}
		/* Only this thread removes bytes, and producers append
		 * outside [head, head + len): p stays valid unlocked. */
		pthread_mutex_unlock(&o->lock);
		w = write(o->fd, p, n);
		err = errno;
		pthread_mutex_lock(&o->lock);
		if (w > 0) {
			out_ring_drop(&o->ring, (size_t)w);
			counter_add(&o->written, w);
		} else if (w < 0 && err == EINTR) {
			continue; /* the stop's kick, checked above */
		} else if (w < 0 && err == EAGAIN) {
			pthread_mutex_unlock(&o->lock);
			wait_writable(o);
			pthread_mutex_lock(&o->lock);
		} else {
			/* The reader is gone (EPIPE, EIO from a hung-up
			 * terminal, ENOSPC...): the guest keeps running and
			 * its output is counted as dropped from now on. */
			o->error = w < 0 ? err : EPIPE;
			atomic_store(&o->dead, true);
			break;
		}
	}
	counter_add(&o->dropped, o->ring.len);
	o->ring.len = 0;
	o->done = true;
	pthread_cond_broadcast(&o->idle);
	pthread_mutex_unlock(&o->lock);
	return NULL;
}

int console_out_start(struct console_out *o, int fd)
{
	pthread_condattr_t ca;
	int err;

	memset(o, 0, sizeof(*o));
	o->fd = fd;
	o->wake_fd = -1;
	o->ready = true;
	pthread_mutex_init(&o->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&o->idle, &ca);
	pthread_condattr_destroy(&ca);
	o->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (o->wake_fd < 0)
		return ember_seterr(-errno, "console output: eventfd: %s", strerror(errno));
	o->ring.cap = CONSOLE_OUT_SIZE;
	o->ring.buf = malloc(o->ring.cap);
	if (!o->ring.buf)
		return ember_seterr(-ENOMEM, "console output: out of memory");
	err = ember_kick_signal_init();
	if (err)
		return err;
	err = ember_thread_start(&o->thread, writer_main, o);
	if (err)
		return ember_seterr(-err, "console output: thread: %s", strerror(err));
	o->started = true;
	return 0;
}

size_t console_out_put(struct console_out *o, const uint8_t *buf, size_t len)
{
	size_t dropped;

	if (!o->started || atomic_load(&o->dead)) {
		counter_add(&o->dropped, len);
		return len;
	}
	pthread_mutex_lock(&o->lock);
	dropped = o->done ? len : out_ring_put(&o->ring, buf, len);
	if (o->sleeping && dropped < len) {
		o->sleeping = false;
		wake(o);
	}
	pthread_mutex_unlock(&o->lock);
	if (dropped)
		counter_add(&o->dropped, dropped);
	return dropped;
}

static void deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

void console_out_stop(struct console_out *o, unsigned flush_ms)
{
	struct timespec until;

	if (!o->ready)
		return;
	if (o->started) {
		pthread_mutex_lock(&o->lock);
		o->stopping = true;
		wake(o);
		deadline_in(&until, flush_ms);
		while (!o->done && pthread_cond_timedwait(&o->idle, &o->lock, &until) != ETIMEDOUT)
			;
		/* Out of time: the reader does not keep up. Interrupt the
		 * write in progress, every 10 ms until the writer returns
		 * (a kick can land just before write() starts). */
		o->give_up = true;
		while (!o->done) {
			wake(o);
			pthread_kill(o->thread, EMBER_SIG_KICK);
			deadline_in(&until, 10);
			pthread_cond_timedwait(&o->idle, &o->lock, &until);
		}
		pthread_mutex_unlock(&o->lock);
		pthread_join(o->thread, NULL);
		o->started = false;
	}
	if (o->wake_fd >= 0)
		close(o->wake_fd);
	o->wake_fd = -1;
	free(o->ring.buf);
	o->ring.buf = NULL;
	pthread_cond_destroy(&o->idle);
	pthread_mutex_destroy(&o->lock);
	o->ready = false;
}
