// SPDX-License-Identifier: MIT
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Thread_local char errbuf[EMBER_ERRMSG_MAX];

int ember_seterr(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return err;
}

int ember_prefixerr(int err, const char *fmt, ...)
{
	char old[sizeof(errbuf)];
	va_list ap;
	int n;

	memcpy(old, errbuf, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(errbuf))
		snprintf(errbuf + n, sizeof(errbuf) - (size_t)n, ": %s", old);
	return err;
}

const char *ember_lasterr(void)
{
	return errbuf;
}

void ember_clearerr(void)
{
	errbuf[0] = '\0';
}

/* Read-only after main() sets it; the trace timeline's origin. */
static struct timespec t0;

void ember_time_init(void)
{
	clock_gettime(CLOCK_MONOTONIC, &t0);
}

double ember_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0.tv_sec) * 1e3 + (double)(t.tv_nsec - t0.tv_nsec) / 1e6;
}

static void kick_handler(int sig)
{
	(void)sig; /* only here to interrupt a blocking call with EINTR */
}

int ember_kick_signal_init(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN and write() must return EINTR. */
	if (sigaction(EMBER_SIG_KICK, &sa, NULL) < 0)
		return ember_seterr(-errno, "sigaction: %s", strerror(errno));
	return 0;
}

int ember_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	int err = pthread_attr_init(&attr);

	if (err)
		return err;
	err = pthread_attr_setstacksize(&attr, EMBER_THREAD_STACK);
	if (!err)
		err = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return err;
}

/* Where a SIGBUS on this thread jumps to, inside ember_guard_sigbus(); NULL
 * elsewhere. The signal handler must reach it, hence a (thread-local)
 * global. */
static _Thread_local sigjmp_buf *sigbus_jump;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (sigbus_jump)
		siglongjmp(*sigbus_jump, 1);
	/* Not ours: die of it, as without the handler. */
	signal(sig, SIG_DFL);
	raise(sig);
}

int ember_guard_sigbus(int (*fn)(void *), void *arg)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO }, old;
	sigjmp_buf jump;
	volatile int ret;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &old) < 0)
		return -errno;
	if (sigsetjmp(jump, 1) == 0) {
		sigbus_jump = &jump;
		ret = fn(arg);
	} else {
		ret = ember_seterr(-EIO, "SIGBUS reading a file mapping (the file shrank, or "
					 "its storage failed)");
	}
	sigbus_jump = NULL;
	sigaction(SIGBUS, &old, NULL);
	return ret;
}

int ember_check_stack(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_STACK, &r) < 0 || r.rlim_cur == RLIM_INFINITY ||
	    r.rlim_cur >= EMBER_MAIN_STACK)
		return 0;
	/* The main thread's stack grows on demand up to the soft limit,
	 * checked at each growth: raising it now is enough. */
	if (r.rlim_max == RLIM_INFINITY || r.rlim_max >= EMBER_MAIN_STACK) {
		r.rlim_cur = EMBER_MAIN_STACK;
		if (setrlimit(RLIMIT_STACK, &r) == 0)
			return 0;
	}
	return ember_seterr(-ENOMEM,
			    "stack limit: %llu KiB (ulimit -s) is below the %u KiB ember needs, "
			    "and the hard limit is too",
			    (unsigned long long)r.rlim_cur / 1024, EMBER_MAIN_STACK / 1024);
}

int ember_stop_signalfd(void)
{
	sigset_t set;
	int fd;

	/* Every signal whose default action ends the process and that is
	 * not a fault of the thread itself (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
	 * SIGTRAP, SIGSYS, SIGABRT stay synchronous): a clean stop. */
	static const int stop[] = { SIGTERM,   SIGINT,	SIGHUP,	 SIGQUIT, SIGUSR2, SIGALRM,
				    SIGVTALRM, SIGPROF, SIGXCPU, SIGPWR,  SIGIO,   SIGSTKFLT };

	sigemptyset(&set);
	for (unsigned i = 0; i < ARRAY_SIZE(stop); i++)
		sigaddset(&set, stop[i]);
	/* Real-time signals end a process too; glibc's own (the first two)
	 * are refused by sigaddset() and stay as they are. */
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		sigaddset(&set, s);
	/* Blocked and never read: a write to a pipe without a reader fails
	 * with EPIPE, one past the file size limit with EFBIG. */
	sigaddset(&set, SIGPIPE);
	sigaddset(&set, SIGXFSZ);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return ember_seterr(-EINVAL, "cannot block signals");
	sigdelset(&set, SIGPIPE);
	sigdelset(&set, SIGXFSZ);
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? ember_seterr(-errno, "signalfd: %s", strerror(errno)) : fd;
}

static bool input_kind_ok(mode_t mode, bool blk)
{
	return S_ISREG(mode) || (blk && S_ISBLK(mode));
}

static int not_input(bool blk)
{
	return ember_seterr(-EINVAL, "%s",
			    blk ? "not a regular file or block device" : "not a regular file");
}

int ember_open_input(const char *path, int flags, bool blk, struct stat *st,
		     int (*open_fn)(const char *path, int flags))
{
	int fd, err, fl;

	if (stat(path, st) == 0 && !input_kind_ok(st->st_mode, blk))
		return not_input(blk);
	flags |= O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	fd = open_fn ? open_fn(path, flags) : open(path, flags);
	if (fd < 0)
		return ember_seterr(-errno, "%s", strerror(errno));
	if (fstat(fd, st) < 0) {
		err = ember_seterr(-errno, "%s", strerror(errno));
		close(fd);
		return err;
	}
	if (!input_kind_ok(st->st_mode, blk)) {
		close(fd);
		return not_input(blk);
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		err = ember_seterr(-errno, "fcntl: %s", strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

int ember_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}
