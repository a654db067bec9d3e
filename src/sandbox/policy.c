// SPDX-License-Identifier: MIT
/*
 * What each kind of ember thread may ask of the kernel: the seccomp
 * allow-lists, written with libseccomp. This file is compiled into the
 * build-time filter generator (src/sandbox/gen.c), not into ember: ember
 * carries the generated BPF programs and installs them with one prctl()
 * per thread, so starting a thread costs no filter compilation.
 *
 * Rules of the lists (docs/security.md says why):
 * - nothing may map or protect memory executable (mmap/mprotect without
 *   PROT_EXEC), and no thread may execve, ptrace, mount, load modules...:
 *   anything not listed traps;
 * - ioctl is filtered by request number: each kind gets the KVM, TUN and
 *   terminal requests its code issues, nothing else;
 * - sockets are AF_UNIX only (vsock's host side and the API);
 * - only the control thread opens files once the VM runs (snapshots and
 *   drive updates are asked for through the API); vCPUs and device
 *   workers use what was opened before the guest's first instruction.
 */
#include "sandbox/policy.h"

#include <errno.h>
#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <termios.h>

#define ALLOW(name)                                                                                \
	do {                                                                                       \
		int e_ = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(name), 0);                 \
		if (e_)                                                                            \
			return e_;                                                                 \
	} while (0)

static int allow_ioctls(scmp_filter_ctx ctx, const unsigned long *req, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					 SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)req[i]));
		if (e)
			return e;
	}
	return 0;
}

#define IOCTLS(...)                                                                                \
	do {                                                                                       \
		static const unsigned long r_[] = { __VA_ARGS__ };                                 \
		int e_ = allow_ioctls(ctx, r_, sizeof(r_) / sizeof(r_[0]));                        \
		if (e_)                                                                            \
			return e_;                                                                 \
	} while (0)

/* What every thread does: memory (never executable), locks, signals,
 * clocks, its own exit, and messages on standard error. */
static int common(scmp_filter_ctx ctx)
{
	int e;

	e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!e)
		e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (e)
		return e;
	ALLOW(munmap);
	ALLOW(mremap); /* realloc() of large blocks */
	ALLOW(madvise);
	ALLOW(brk);
	ALLOW(futex);
	ALLOW(rt_sigreturn);
	ALLOW(rt_sigprocmask);
	/* A fatal signal's handler restores the terminal, then re-raises
	 * with the default action. */
	ALLOW(rt_sigaction);
	ALLOW(restart_syscall);
	ALLOW(tgkill); /* pthread_kill(): kicking a vCPU out of KVM_RUN */
	ALLOW(gettid);
	ALLOW(getpid);
	ALLOW(sched_yield);
	ALLOW(clock_gettime);
	ALLOW(clock_nanosleep);
	ALLOW(nanosleep);
	ALLOW(exit);
	ALLOW(exit_group);
	ALLOW(write);
	ALLOW(writev);
	ALLOW(read); /* eventfds; every fd a thread reads was opened before */
	ALLOW(close);
	ALLOW(fstat);
	ALLOW(newfstatat); /* stdio's first use of a stream */
	ALLOW(lseek);
	/* The logger's thread name in each line (PR_GET_NAME only). */
	e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
			     SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME));
	if (e)
		return e;
	/* isatty() (stdio), and restoring the terminal on the way out. */
	IOCTLS(TCGETS, TCSETS, TCSETSW, TIOCGWINSZ);
	return 0;
}

/* Waiting on several fds, and eventfd/timerfd traffic. */
static int waiting(scmp_filter_ctx ctx)
{
	ALLOW(poll);
	ALLOW(ppoll);
	ALLOW(epoll_wait);
	ALLOW(epoll_pwait);
	ALLOW(epoll_ctl);
	ALLOW(timerfd_settime);
	ALLOW(timerfd_gettime);
	return 0;
}

/* Interrupts a thread raises on the guest's behalf: the IOAPIC's MSIs
 * (KVM_SIGNAL_MSI) and its routes. Irqfds need only write(). */
static int interrupts(scmp_filter_ctx ctx)
{
	IOCTLS(KVM_SIGNAL_MSI, KVM_SET_GSI_ROUTING);
	return 0;
}

/* Reading and writing a file or device ember opened: disks, taps,
 * snapshot files, sockets. */
static int file_io(scmp_filter_ctx ctx)
{
	ALLOW(pread64);
	ALLOW(pwrite64);
	ALLOW(preadv);
	ALLOW(pwritev);
	ALLOW(preadv2);
	ALLOW(pwritev2);
	ALLOW(readv);
	ALLOW(fsync);
	ALLOW(fdatasync);
	ALLOW(fallocate);
	return 0;
}

/* AF_UNIX stream sockets: the vsock device's host side, the API. */
static int unix_sockets(scmp_filter_ctx ctx)
{
	int e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				 SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	if (e)
		return e;
	ALLOW(connect);
	ALLOW(accept4);
	ALLOW(sendto);
	ALLOW(recvfrom);
	ALLOW(sendmsg);
	ALLOW(recvmsg);
	ALLOW(shutdown);
	ALLOW(getsockopt);
	ALLOW(setsockopt);
	ALLOW(fcntl);
	return 0;
}

/* A vCPU's own ioctls, and those its MMIO and port exits reach: device
 * activation (ioeventfds, irqfds), virtio-net's offload feature, the
 * IOAPIC. */
static int vcpu(scmp_filter_ctx ctx)
{
	int e = waiting(ctx);

	if (!e)
		e = interrupts(ctx);
	if (e)
		return e;
	IOCTLS(KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_GET_MSRS,
	       KVM_SET_MSRS, KVM_IOEVENTFD, KVM_IRQFD, TUNSETOFFLOAD);
	ALLOW(eventfd2);
	return 0;
}

/* The control thread: the API's requests once the VM runs. It pauses and
 * resumes, saves snapshots (vCPU state, dirty logs, clock, memory into
 * new files), swaps drives and tears the VM down. */
static int control(scmp_filter_ctx ctx)
{
	int e = waiting(ctx);

	if (!e)
		e = file_io(ctx);
	if (!e)
		e = unix_sockets(ctx);
	if (!e)
		e = interrupts(ctx);
	if (e)
		return e;
	ALLOW(openat);
	ALLOW(access); /* access() is faccessat2 in glibc 2.33 and later */
	ALLOW(faccessat);
	ALLOW(faccessat2);
	ALLOW(unlink);
	ALLOW(unlinkat);
	ALLOW(rename);
	ALLOW(renameat);
	ALLOW(ftruncate);
	ALLOW(flock);
	ALLOW(statx);
	ALLOW(eventfd2);
	ALLOW(timerfd_create);
	ALLOW(epoll_create1);
	ALLOW(getrandom);
	IOCTLS(KVM_CHECK_EXTENSION, KVM_GET_MSR_INDEX_LIST, KVM_GET_DIRTY_LOG, KVM_GET_CLOCK,
	       KVM_SET_CLOCK, KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_MSRS, KVM_GET_LAPIC,
	       KVM_GET_VCPU_EVENTS, KVM_GET_DEBUGREGS, KVM_GET_FPU, KVM_GET_XSAVE, KVM_GET_XSAVE2,
	       KVM_GET_XCRS, KVM_GET_MP_STATE, KVM_GET_TSC_KHZ, BLKGETSIZE64, TUNSETOFFLOAD);
	return 0;
}

/* ember run's main thread: vCPU 0, then the teardown (join the threads,
 * flush and unlock the disks, remove the vsock socket ember created,
 * restore the terminal, print the report). */
static int vcpu0(scmp_filter_ctx ctx)
{
	int e = vcpu(ctx);

	if (e)
		return e;
	ALLOW(fsync);
	ALLOW(fdatasync);
	ALLOW(fcntl);
	ALLOW(unlink);
	ALLOW(statx);
	return 0;
}

/* The boot-time image copy: it opens the kernel and initrd named on the
 * command line and reads them into guest RAM; a bzImage is decompressed
 * into a memfd and stored in the per-user kernel cache (a directory made
 * on first use, an entry written under a temporary name and renamed, a
 * torn one removed). All before the guest's first instruction: the thread
 * ends before the vCPUs start. */
static int loader(scmp_filter_ctx ctx)
{
	int e = file_io(ctx);

	if (e)
		return e;
	ALLOW(openat);
	ALLOW(fcntl);
	ALLOW(mkdir);
	ALLOW(mkdirat);
	ALLOW(rename);
	ALLOW(renameat);
	ALLOW(renameat2);
	ALLOW(unlink);
	ALLOW(unlinkat);
	ALLOW(ftruncate);
	ALLOW(memfd_create);
	ALLOW(statx);
	ALLOW(getuid);
	ALLOW(geteuid);
	ALLOW(getrandom);
	ALLOW(rt_sigaction); /* the SIGBUS guard around a file mapping */
	return 0;
}

static int console_in(scmp_filter_ctx ctx)
{
	int e = waiting(ctx);

	if (!e)
		e = interrupts(ctx);
	return e;
}

static int console_out(scmp_filter_ctx ctx)
{
	return waiting(ctx);
}

static int worker(scmp_filter_ctx ctx)
{
	int e = waiting(ctx);

	if (!e)
		e = interrupts(ctx);
	return e;
}

static int blk(scmp_filter_ctx ctx)
{
	int e = worker(ctx);

	return e ? e : file_io(ctx);
}

static int net(scmp_filter_ctx ctx)
{
	int e = worker(ctx);

	if (e)
		return e;
	ALLOW(readv);
	return 0;
}

static int rng(scmp_filter_ctx ctx)
{
	int e = worker(ctx);

	if (e)
		return e;
	ALLOW(getrandom);
	return 0;
}

static int vsock(scmp_filter_ctx ctx)
{
	int e = worker(ctx);

	if (!e)
		e = unix_sockets(ctx);
	if (e)
		return e;
	ALLOW(readv);
	return 0;
}

/* What the sanitizer runtimes (ASan, UBSan, LeakSanitizer) do on their
 * own: read /proc/self/maps for a report, and LeakSanitizer's exit-time
 * scan, which clones a tracer and ptraces every thread. Sanitizer builds
 * only: a production ember has none of these. */
static int sanitizer(scmp_filter_ctx ctx)
{
	/* The runtimes make raw system calls, some of the legacy ones. */
	ALLOW(open);
	ALLOW(getdents);
	ALLOW(stat);
	ALLOW(lstat);
	ALLOW(access);
	ALLOW(openat);
	ALLOW(readlink);
	ALLOW(readlinkat);
	ALLOW(getdents64);
	ALLOW(pread64);
	ALLOW(prctl);
	ALLOW(sigaltstack);
	ALLOW(rt_sigaction);
	ALLOW(sched_getaffinity);
	ALLOW(getrlimit);
	ALLOW(prlimit64);
	ALLOW(uname);
	ALLOW(clone);
	ALLOW(ptrace);
	ALLOW(wait4);
	ALLOW(waitid);
	ALLOW(getppid);
	ALLOW(kill);
	ALLOW(pipe2);
	ALLOW(dup2);
	ALLOW(fcntl);
	ALLOW(statx);
	ALLOW(getrusage);
	return 0;
}

int policy_add(scmp_filter_ctx ctx, enum sandbox_kind kind, bool sanitized)
{
	static int (*const add[SB_KINDS])(scmp_filter_ctx) = {
		[SB_CONTROL] = control,
		[SB_VCPU] = vcpu,
		[SB_VCPU0] = vcpu0,
		[SB_LOADER] = loader,
		[SB_CONSOLE_IN] = console_in,
		[SB_CONSOLE_OUT] = console_out,
		[SB_BLK] = blk,
		[SB_NET] = net,
		[SB_RNG] = rng,
		[SB_VCON] = worker,
		[SB_VSOCK] = vsock,
	};
	int e;

	if ((unsigned)kind >= SB_KINDS)
		return -EINVAL;
	e = common(ctx);
	if (!e)
		e = add[kind](ctx);
	if (!e && sanitized)
		e = sanitizer(ctx);
	return e;
}
