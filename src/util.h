/* SPDX-License-Identifier: MIT */
/* Small helpers shared by every module: checked arithmetic, errors, time. */
#ifndef EMBER_UTIL_H
#define EMBER_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ember's version (ember --version; Firecracker mode prints it too). */
#ifndef EMBER_VERSION
#define EMBER_VERSION "0.2.0"
/*
 * Open an input file (kernel, initrd, disk image) without ever blocking and
 * only if it is what an input must be: a regular file, or with `blk` also a
 * block device. The path is looked at first (opening some device nodes
 * acts: a watchdog starts counting, a tape rewinds), then opened with
 * O_NONBLOCK | O_NOCTTY | O_CLOEXEC added to `flags` (so a FIFO, socket or
 * terminal swapped in meanwhile cannot hang the open), and what was opened
 * is checked again with fstat(); O_NONBLOCK is cleared before returning.
 * open_fn replaces open(2) when not NULL (the fuzz builds confine paths).
 * Returns the fd and fills *st, or negative errno with the message "not a
 * regular file" (or "not a regular file or block device") or strerror's:
 * the caller prefixes what and which path.
 */
int ember_open_input(const char *path, int flags, bool blk, struct stat *st,
		     int (*open_fn)(const char *path, int flags));

#endif

/* Process exit statuses (documented in ember --help). */
#define EMBER_EXIT_OK	     0 /* guest reset or shut down; stopped on request */
#define EMBER_EXIT_ERROR     1 /* ember failed: bad input, host problem */
#define EMBER_EXIT_USAGE     2 /* bad command line */
#define EMBER_EXIT_GUEST_ERR 3 /* guest crashed the vCPU: internal error, bad exit */

/* __builtin_*_overflow: GCC and clang both provide them; C11 has no portable
 * equivalent. They return true on overflow. */
#define ckd_add(r, a, b) __builtin_add_overflow((a), (b), (r))
#define ckd_mul(r, a, b) __builtin_mul_overflow((a), (b), (r))

/* Statistics counters (device metrics) are _Atomic uint64_t: bumped by a
 * device thread, read by whoever writes the metrics. Relaxed: a counter
 * orders nothing. */
#define counter_add(c, v) atomic_fetch_add_explicit((c), (uint64_t)(v), memory_order_relaxed)

/* Round x up to a multiple of the power of two a; false on overflow. */
static inline bool align_up_u64(uint64_t x, uint64_t a, uint64_t *out)
{
	uint64_t t;

	if (a == 0 || (a & (a - 1)) || ckd_add(&t, x, a - 1))
		return false;
	*out = t & ~(a - 1);
	return true;
}

static inline uint64_t align_down_u64(uint64_t x, uint64_t a)
{
	return x & ~(a - 1);
}

/* Half-open ranges [a, a+alen) and [b, b+blen) intersect (no overflow: the
 * callers pass ranges that were already checked to fit in 64 bits). */
static inline bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* Little-endian accessors over byte buffers (the guest ABI is little-endian). */
static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}
static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}
static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/*
 * Error reporting. Library code returns negative errno and, where the errno
 * alone would not say what failed, records a message with ember_seterr(); the
 * CLI prints it as "ember: <msg>". The message buffer is thread-local so vCPU
 * threads cannot clobber the main thread's message.
 */
#define EMBER_ERRMSG_MAX 512 /* bytes of a recorded message, NUL included */
int ember_seterr(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepend "<fmt>: " to the recorded message (adds context on the way up). */
int ember_prefixerr(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *ember_lasterr(void);
void ember_clearerr(void);

/* Milliseconds since ember started (ember_time_init() at the top of main). */
void ember_time_init(void);
double ember_ms(void);

/* Start a thread of ember's own (vCPU, console, device I/O) with a 1 MiB
 * stack instead of glibc's 8 MiB: a stack mapping below 2 MiB can never be
 * backed by a transparent huge page, which a host in THP "always" mode would
 * otherwise fault in (and zero) for the first touch of a stack. Returns 0 or
 * a positive errno, like pthread_create(). */
/*
 * The signal that interrupts a thread's blocking call (KVM_RUN, a console
 * write) with EINTR: its handler does nothing and is installed without
 * SA_RESTART by ember_kick_signal_init() (idempotent).
 */
#define EMBER_SIG_KICK SIGUSR1
int ember_kick_signal_init(void);

#define EMBER_THREAD_STACK (1u << 20)
int ember_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* The stop signals (SIGTERM, SIGINT, SIGHUP, SIGQUIT and every other signal
 * whose default action would end ember, the faults excepted) through a
 * signalfd, so that a control thread can tear the VM down cleanly; SIGPIPE
 * and SIGXFSZ are blocked too (a closed reader is then EPIPE, a file over
 * its size limit EFBIG, not death). Call before any thread starts: threads
 * inherit the mask, so only the signalfd sees these signals. Returns the
 * signalfd (non-blocking, close-on-exec) or negative errno with a
 * message. */
int ember_stop_signalfd(void);

/* The main thread's stack (vCPU 0 runs there): below this soft limit ember
 * raises it, if the hard limit lets it; else negative errno with a message. */
#define EMBER_MAIN_STACK (256u << 10)
int ember_check_stack(void);

/* Run fn(arg) and return what it returns, or -EIO if it took a SIGBUS: a
 * read from a file mapping past the file's end (the file shrank after it
 * was mapped) or from storage that failed. Without this, such a read would
 * kill ember. Only the calling thread's SIGBUS is caught; fn must not leave
 * locks or allocations behind that a jump out of it would skip. Not
 * reentrant, and one thread at a time (it swaps the process's SIGBUS
 * handler): only the loader uses it. */
int ember_guard_sigbus(int (*fn)(void *), void *arg);

/*
 * Open an input file (kernel, initrd, disk image) without ever blocking and
 * only if it is what an input must be: a regular file, or with `blk` also a
 * block device. The path is looked at first (opening some device nodes
 * acts: a watchdog starts counting, a tape rewinds), then opened with
 * O_NONBLOCK | O_NOCTTY | O_CLOEXEC added to `flags` (so a FIFO, socket or
 * terminal swapped in meanwhile cannot hang the open), and what was opened
 * is checked again with fstat(); O_NONBLOCK is cleared before returning.
 * open_fn replaces open(2) when not NULL (the fuzz builds confine paths).
 * Returns the fd and fills *st, or negative errno with the message "not a
 * regular file" (or "not a regular file or block device") or strerror's:
 * the caller prefixes what and which path.
 */
int ember_open_input(const char *path, int flags, bool blk, struct stat *st,
		     int (*open_fn)(const char *path, int flags));

/* pwrite() all of buf[0, len) at offset off, through EINTR and short
 * writes. 0 or negative errno (-EIO for a write of 0 bytes). */
int ember_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

#endif
