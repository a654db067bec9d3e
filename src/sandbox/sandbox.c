// SPDX-License-Identifier: MIT
#include "sandbox/sandbox.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "sandbox/filters.h"
#include "util.h"

#ifdef EMBER_SECCOMP_TEST
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#endif

static const char *const kind_names[SB_KINDS] = SANDBOX_KIND_NAMES;

/* Written once by sandbox_configure() on the main thread before any other
 * thread starts, read-only afterwards; the SIGSYS handler reads it, hence
 * file scope. */
static struct {
	bool enabled;
	void (*on_fatal)(void);
#ifdef EMBER_SECCOMP_TEST
	/* Test builds only: EMBER_SECCOMP_TEST=KIND:WHAT makes the first
	 * thread of KIND attempt WHAT right after its filter is in place. */
	char test_kind[24], test_what[24];
#endif
} sb;

/* The calling thread's kind, for the SIGSYS report: -1 before it has one. */
static _Thread_local int thread_kind = -1;

/* Async-signal-safe formatting into a fixed buffer. */
struct line {
	char buf[256];
	size_t len;
};

static void put(struct line *l, const char *s)
{
	while (*s && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = *s++;
}

static void put_dec(struct line *l, unsigned long v)
{
	char d[24];
	int n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < (int)sizeof(d));
	while (n && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = d[--n];
}

static void put_hex(struct line *l, unsigned long v)
{
	char d[18];
	int n = 0;

	do
		d[n++] = "0123456789abcdef"[v & 15];
	while ((v >>= 4) && n < 16);
	put(l, "0x");
	while (n && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = d[--n];
}

static void write_line(struct line *l)
{
	l->buf[l->len++] = '\n';
	for (size_t off = 0; off < l->len;) {
		ssize_t w = write(STDERR_FILENO, l->buf + off, l->len - off);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

static const char *kind_name(void)
{
	return thread_kind >= 0 && thread_kind < SB_KINDS ? kind_names[thread_kind] : "unconfined";
}

/*
 * A forbidden system call: say which and on which thread, in one line, and
 * end the process the way Firecracker does (status 148). Only write() and
 * exit_group(), which every filter allows, and on_fatal (the terminal).
 */
static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	struct line l = { .len = 0 };
	int nr = si->si_syscall;

	(void)sig;
	put(&l, "ember: seccomp: the ");
	put(&l, kind_name());
	put(&l, " thread made a forbidden system call: ");
	if (nr >= 0 && nr < SANDBOX_NSYSCALLS && sandbox_syscall_names[nr])
		put(&l, sandbox_syscall_names[nr]);
	else
		put(&l, "?");
	put(&l, " (");
	put_dec(&l, (unsigned long)nr);
	put(&l, ", arguments ");
	put_hex(&l, (unsigned long)uc->uc_mcontext.gregs[REG_RDI]);
	put(&l, " ");
	put_hex(&l, (unsigned long)uc->uc_mcontext.gregs[REG_RSI]);
	put(&l, " ");
	put_hex(&l, (unsigned long)uc->uc_mcontext.gregs[REG_RDX]);
	put(&l, "); ember stopped");
	write_line(&l);
	if (sb.on_fatal)
		sb.on_fatal();
	_exit(EMBER_EXIT_SECCOMP);
}

int sandbox_configure(bool enabled, void (*on_fatal)(void))
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	uint32_t act = SECCOMP_RET_TRAP;

	sb.enabled = enabled;
	sb.on_fatal = on_fatal;
	if (!enabled)
		return 0;
	/* What the C library would open lazily on a filtered thread: the time
	 * zone (the logger's localtime_r()). */
	tzset();
	/* Can this kernel filter and trap? (CONFIG_SECCOMP_FILTER) */
	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act) < 0)
		return ember_seterr(-errno,
				    "seccomp: the host kernel cannot filter system calls (%s); "
				    "--no-seccomp runs ember unconfined",
				    strerror(errno));
	/* Even SIGSYS from a blocked mask: the kernel forces it through. */
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return ember_seterr(-errno, "seccomp: sigaction(SIGSYS): %s", strerror(errno));
#ifdef EMBER_SECCOMP_TEST
	{
		const char *t = getenv("EMBER_SECCOMP_TEST");
		const char *colon = t ? strchr(t, ':') : NULL;

		if (colon && (size_t)(colon - t) < sizeof(sb.test_kind) &&
		    strlen(colon + 1) < sizeof(sb.test_what)) {
			memcpy(sb.test_kind, t, (size_t)(colon - t));
			strcpy(sb.test_what, colon + 1);
		}
	}
#endif
	return 0;
}

bool sandbox_enabled(void)
{
	return sb.enabled;
}

#ifdef EMBER_SECCOMP_TEST
/* Test builds: attempt what EMBER_SECCOMP_TEST names, on the first thread
 * of its kind. Each attempt is outside that kind's allow-list. */
static void test_attempt(enum sandbox_kind kind)
{
	static atomic_flag done = ATOMIC_FLAG_INIT;
	const char *w = sb.test_what;

	if (strcmp(sb.test_kind, kind_names[kind]) || atomic_flag_test_and_set(&done))
		return;
	if (!strcmp(w, "execve")) {
		char *const argv[] = { "true", NULL };

		syscall(SYS_execve, "/bin/true", argv, argv + 1);
	} else if (!strcmp(w, "openat")) {
		syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY | O_CLOEXEC);
	} else if (!strcmp(w, "mmap-exec")) {
		mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	} else if (!strcmp(w, "mprotect-exec")) {
		static _Alignas(4096) char page[4096];

		mprotect(page, sizeof(page), PROT_READ | PROT_EXEC);
	} else if (!strcmp(w, "ioctl")) {
		ioctl(-1, KVM_CREATE_VM, 0);
	} else if (!strcmp(w, "socket-inet")) {
		socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	}
	/* Still here: the attempt was allowed. Say so, for the test. */
	struct line l = { .len = 0 };

	put(&l, "ember: seccomp test: ");
	put(&l, w);
	put(&l, " was allowed on the ");
	put(&l, kind_names[kind]);
	put(&l, " thread");
	write_line(&l);
}
#endif

void sandbox_enter(enum sandbox_kind kind)
{
	struct sock_fprog prog;
	sigset_t sys;

	if (!sb.enabled)
		return;
	/* A thread that blocks SIGSYS (the console's input thread blocks
	 * every signal) would die of it silently: the kernel resets a blocked
	 * handler to the default action. The report needs the handler. */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	if ((unsigned)kind >= SB_KINDS) {
		errno = EINVAL;
		goto fail;
	}
	prog.filter = (struct sock_filter *)sandbox_progs[kind].insns;
	prog.len = sandbox_progs[kind].len;
	thread_kind = (int)kind;
	/* no_new_privs is set for the whole process at start (main()); a
	 * filter without it is refused, which the error below reports. */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0) {
#ifdef EMBER_SECCOMP_TEST
		test_attempt(kind);
#endif
		return;
	}
fail:;
	struct line l = { .len = 0 };

	put(&l, "ember: seccomp: cannot confine a thread (");
	put(&l, (unsigned)kind < SB_KINDS ? kind_names[kind] : "unknown kind");
	put(&l, "): ");
	put(&l, strerror(errno));
	write_line(&l);
	if (sb.on_fatal)
		sb.on_fatal();
	_exit(EMBER_EXIT_ERROR);
}

enum sandbox_kind sandbox_device_kind(const char *dev_name)
{
	static const struct {
		const char *name;
		enum sandbox_kind kind;
	} map[] = {
		{ "blk", SB_BLK },	{ "net", SB_NET },     { "rng", SB_RNG },
		{ "console", SB_VCON }, { "vsock", SB_VSOCK },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].name, dev_name))
			return map[i].kind;
	return SB_KINDS; /* unknown: sandbox_enter() refuses it */
}
