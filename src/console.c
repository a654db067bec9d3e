// SPDX-License-Identifier: MIT
#include "console.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "util.h"

/*
 * The saved terminal state is the one piece of global state in ember: the
 * signal handlers that restore the terminal must reach it.
 */
static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;

static void restore_tty(void)
{
	if (termios_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
		termios_saved = 0;
	}
}

void console_restore_tty(void)
{
	restore_tty();
}

static void fatal_signal(int sig)
{
	restore_tty(); /* tcsetattr is async-signal-safe */
	signal(sig, SIG_DFL);
	raise(sig);
}

static void set_raw_mode(void)
{
	struct termios raw;
	/* The stop signals come through the control thread's signalfd
	 * (ember_stop_signalfd) and end in console_stop(); a fault that
	 * kills ember still gives the terminal back first. */
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS };

	if (tcgetattr(STDIN_FILENO, &saved_termios) < 0)
		return;
	raw = saved_termios;
	cfmakeraw(&raw);
	termios_saved = 1;
	atexit(restore_tty);
	for (unsigned i = 0; i < ARRAY_SIZE(sigs); i++)
		/* Under seccomp, SIGSYS is the sandbox's report (it restores
		 * the terminal too). */
		if (sigs[i] != SIGSYS || !sandbox_enabled())
			signal(sigs[i], fatal_signal);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
		restore_tty();
}

size_t console_filter(struct console *c, uint8_t *buf, size_t len, bool *quit)
{
	size_t out = 0;

	*quit = false;
	if (!c->tty || c->plain)
		return len;
	for (size_t i = 0; i < len; i++) {
		uint8_t b = buf[i];

		if (c->escape) {
			c->escape = false;
			if (b == 'x' || b == 'X') {
				*quit = true;
				return out;
			}
			if (b == CONSOLE_ESCAPE)
				buf[out++] = b;
			/* Any other key after Ctrl-A is swallowed, as in QEMU. */
			continue;
		}
		if (b == CONSOLE_ESCAPE) {
			c->escape = true;
			continue;
		}
		buf[out++] = b;
	}
	return out;
}

/* Deliver buf to the guest, waiting for room; false once the VM stops. */
static bool feed(struct console *c, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&c->lock);
	while (c->paused)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	while (len) {
		int n = c->input(c->dev, buf, len, true);

		if (n < 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/*
 * A terminal with escapes: stdin is read at all times, so Ctrl-A x works even
 * while the guest takes no input (its UART FIFO full, or the VM paused).
 * Keys wait in `pend` for the guest; while the guest takes none, a retry every
 * CONSOLE_RETRY_MS delivers them, and keys beyond the buffer are dropped, as
 * a serial line would lose them.
 */
static void escape_loop(struct console *c)
{
	uint8_t pend[CONSOLE_PENDING], buf[256];
	size_t np = 0;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = c->stop_fd, .events = POLLIN },
		};
		bool quit, paused;
		ssize_t n;
		size_t keep;

		pthread_mutex_lock(&c->lock);
		paused = c->paused;
		pthread_mutex_unlock(&c->lock);
		if (np && !paused) {
			int took = c->input(c->dev, pend, np, false);

			if (took < 0)
				return;
			memmove(pend, pend + took, np - (size_t)took);
			np -= (size_t)took;
		}
		if (poll(p, 2, np ? CONSOLE_RETRY_MS : -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[1].revents)
			return;
		if (!p[0].revents)
			continue;
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return; /* the terminal hung up: a SIGHUP follows */
		keep = console_filter(c, buf, (size_t)n, &quit);
		if (quit) {
			c->quit(c->ctx);
			return;
		}
		if (keep > sizeof(pend) - np) {
			c->dropped += keep - (sizeof(pend) - np);
			keep = sizeof(pend) - np;
		}
		memcpy(pend + np, buf, keep);
		np += keep;
	}
}

static void *input_thread(void *arg)
{
	struct console *c = arg;
	uint8_t buf[256];

	prctl(PR_SET_NAME, "ember_in", 0, 0, 0);
	sandbox_enter(SB_CONSOLE_IN);
	if (c->tty && !c->plain) {
		escape_loop(c);
		return NULL;
	}

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = c->stop_fd, .events = POLLIN },
		};
		ssize_t n;
		bool quit;
		size_t keep;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			/* End of input: tell a guest shell, then stop reading. */
			if (!c->tty && !c->plain) {
				uint8_t eot = CONSOLE_EOT;

				feed(c, &eot, 1);
			}
			break;
		}
		keep = console_filter(c, buf, (size_t)n, &quit);
		if (!feed(c, buf, keep))
			break;
		if (quit) {
			c->quit(c->ctx);
			break;
		}
	}
	return NULL;
}

int console_start(struct console *c,
		  int (*input)(void *dev, const uint8_t *buf, size_t len, bool wait), void *dev,
		  void (*quit)(void *ctx), void *ctx, bool plain)
{
	int err;

	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->plain = plain;
	c->input = input;
	c->dev = dev;
	c->quit = quit;
	c->ctx = ctx;
	c->tty = isatty(STDIN_FILENO);
	c->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (c->stop_fd < 0)
		return ember_seterr(-errno, "console input: eventfd: %s", strerror(errno));
	if (c->tty)
		set_raw_mode();
	err = ember_thread_start(&c->thread, input_thread, c);
	if (err)
		return ember_seterr(-err, "console input: thread: %s", strerror(err));
	c->thread_started = true;
	return 0;
}

void console_stop(struct console *c)
{
	uint64_t one = 1;

	if (c->thread_started) {
		if (write(c->stop_fd, &one, sizeof(one)) < 0)
			perror("ember: console: eventfd");
		console_resume(c); /* a paused feed() must see the device closed */
		pthread_join(c->thread, NULL);
		c->thread_started = false;
	}
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	c->stop_fd = -1;
	restore_tty();
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
}

void console_init_idle(struct console *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->stop_fd = -1;
}

void console_pause(struct console *c)
{
	pthread_mutex_lock(&c->lock);
	c->paused = true;
	pthread_mutex_unlock(&c->lock);
}

void console_resume(struct console *c)
{
	pthread_mutex_lock(&c->lock);
	c->paused = false;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}
