// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the hybrid-vsock request line a host program sends
 * after connecting to the device's Unix socket, "CONNECT <port>\n"
 * (vsock_parse_connect(), a pure function), and the state machine that
 * reads it a byte at a time (vsock_accepted(), with fake host ops feeding
 * the input as the socket's bytes).
 *
 * Checked, besides ASan/UBSan (each parse gets a buffer of exactly its
 * length):
 *  - the parser agrees with a reference written differently (split at the
 *    first newline, then judge the line): complete lines give the port and
 *    the bytes used, invalid input -EINVAL with a printable message, valid
 *    prefixes 0;
 *  - over growing prefixes an answer never changes once it is final;
 *  - the connection the device accepted ends, after the bytes, asking the
 *    guest for exactly that port (VSOCK_REQUEST), closed (a bad line, or the
 *    32-byte limit), or still waiting for the line; it never consumes a byte
 *    past the newline, which belongs to the stream.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev/vsock_conn.h"
#include "util.h"

#define PREFIX "CONNECT "
#define PLEN   8

/* Reference: 1 (port, used), 0 (may become valid), -1 (never). */
static int ref(const uint8_t *b, size_t len, uint32_t *port, size_t *used)
{
	const uint8_t *nl = memchr(b, '\n', len);
	size_t end = nl ? (size_t)(nl - b) : len, digits;
	uint64_t val = 0;

	if (memcmp(b, PREFIX, end < PLEN ? end : PLEN))
		return -1;
	if (end < PLEN)
		return nl ? -1 : 0;
	digits = end - PLEN;
	if (digits > 10)
		return -1;
	for (size_t i = PLEN; i < end; i++) {
		if (b[i] < '0' || b[i] > '9')
			return -1;
		val = val * 10 + (b[i] - '0');
	}
	if (val > UINT32_MAX)
		return -1;
	if (!nl)
		return 0;
	if (!digits)
		return -1;
	*port = (uint32_t)val;
	*used = end + 1;
	return 1;
}

static void check_msg(void)
{
	const char *m = ember_lasterr();

	if (!m[0])
		abort();
	for (; *m; m++)
		if ((unsigned char)*m < 0x20 || (unsigned char)*m > 0x7e)
			abort();
}

/* --- the accepted connection, over fake host ops ------------------------- */

static const uint8_t *in;
static size_t in_len, in_pos;
static unsigned closes;

static int f_connect(void *ctx, uint32_t port)
{
	(void)ctx;
	(void)port;
	return -ECONNREFUSED;
}

static int f_watch(void *ctx, struct vsock_conn *c)
{
	(void)ctx;
	(void)c;
	return 0;
}

static void f_unwatch(void *ctx, struct vsock_conn *c)
{
	(void)ctx;
	(void)c;
}

static ssize_t f_recv(void *ctx, int fd, const struct iovec *iov, int n, int flags)
{
	size_t k;

	(void)ctx;
	(void)fd;
	(void)flags;
	if (n != 1 || iov[0].iov_len != 1)
		abort(); /* the line is read a byte at a time */
	if (in_pos == in_len)
		return -EAGAIN;
	k = iov[0].iov_len;
	memcpy(iov[0].iov_base, in + in_pos, k);
	in_pos += k;
	return (ssize_t)k;
}

static ssize_t f_send(void *ctx, int fd, const struct iovec *iov, int n)
{
	(void)ctx;
	(void)fd;
	(void)iov;
	(void)n;
	abort(); /* nothing goes to the host before the guest answers */
}

static void f_shutdown(void *ctx, int fd, int how)
{
	(void)ctx;
	(void)fd;
	(void)how;
}

static void f_close(void *ctx, int fd)
{
	(void)ctx;
	if (fd != 42)
		abort();
	closes++;
}

static const struct vsock_host_ops fake = {
	.connect = f_connect,
	.watch = f_watch,
	.unwatch = f_unwatch,
	.recv = f_recv,
	.send = f_send,
	.shutdown = f_shutdown,
	.close = f_close,
};

static void check_conn(const uint8_t *data, size_t size)
{
	static struct vsock vs;
	struct vsock_conn *c = NULL;
	uint32_t port = 0;
	size_t used = 0;
	/* What the device sees: at most the line buffer's worth. */
	int want = ref(data, size, &port, &used);

	in = data;
	in_len = size;
	in_pos = 0;
	closes = 0;
	vsock_init(&vs, 3, &fake, NULL);
	if (vsock_accepted(&vs, 42) != 0)
		abort();
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (vs.conns[i])
			c = vs.conns[i];
	if (want == 1 && used <= VSOCK_CONNECT_MAX) {
		if (!c || c->state != VSOCK_REQUEST || c->guest_port != port ||
		    !(c->pending & VSOCK_P_REQUEST) || c->host_port < VSOCK_HOST_PORT_MIN ||
		    in_pos != used || closes)
			abort();
	} else if (want == 0 && size < VSOCK_CONNECT_MAX) {
		if (!c || c->state != VSOCK_LINE || in_pos != size || closes)
			abort();
	} else {
		/* Invalid, or no newline within the line buffer: closed. */
		if (c || closes != 1 || in_pos > VSOCK_CONNECT_MAX)
			abort();
	}
	vsock_reset(&vs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int last = 0;
	uint32_t lport = 0;
	size_t lused = 0;

	if (size > 64)
		return 0;
	for (size_t k = 0; k <= size; k++) {
		uint8_t *b = malloc(k ? k : 1);
		uint32_t port = 0, rport = 0;
		size_t used = 0, rused = 0;
		int r, w;

		memcpy(b, data, k);
		r = vsock_parse_connect((const char *)b, k, &port, &used);
		w = ref(b, k, &rport, &rused);
		free(b);
		if ((w < 0 && r != -EINVAL) || (w >= 0 && r != w))
			abort();
		if (r < 0)
			check_msg();
		if (r == 1 && (port != rport || used != rused))
			abort();
		/* Final answers stay. */
		if (last < 0 && r >= 0)
			abort();
		if (last == 1 && (r != 1 || port != lport || used != lused))
			abort();
		last = r;
		lport = port;
		lused = used;
	}
	check_conn(data, size);
	return 0;
}
