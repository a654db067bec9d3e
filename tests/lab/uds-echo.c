// SPDX-License-Identifier: MIT
/*
 * uds-echo: the host end of the virtio-vsock lab cases, speaking
 * Firecracker's hybrid-vsock convention over AF_UNIX (busybox nc has no
 * unix sockets). Built static by tests/lab/cases.d/vsock.host.sh.
 *
 *   uds-echo connect PATH PORT BYTES [STEP]
 *       connect to ember's PATH, send "CONNECT PORT\n", expect "OK <n>\n",
 *       then send BYTES of a fixed pattern while reading the echo, shut down
 *       the sending side, read to the end and compare byte for byte. A
 *       connection closed before "OK" (nobody listens in the guest yet) is
 *       retried for up to 90 s. Prints "uds-echo: ok N bytes (host port n)".
 *       With STEP, also prints "uds-echo: received N" (flushed) each time
 *       the echo received so far passes a multiple of STEP bytes, so a
 *       caller can watch the transfer move (tests/lab/cases.d/api.sh).
 *   uds-echo drop PATH PORT BYTES
 *       connect and do the CONNECT exchange as connect does, send up to BYTES
 *       of the pattern without reading the echo, and close: a client that
 *       goes away in the middle of a transfer (bench/soak.sh). Prints
 *       "uds-echo: dropped after N bytes".
 *   uds-echo listen PATH
 *       listen on PATH (a guest connection to host port P arrives on
 *       ember's PATH_P), accept one connection, echo until the end of
 *       stream, close. Prints "uds-echo: listening on PATH" once ready and
 *       "uds-echo: echoed N bytes" at the end.
 *
 * Byte i of the pattern is (i * 2654435761) >> 24, as in guest/vsock-echo.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(((uint32_t)i * 2654435761u) >> 24);
}

static int fail(const char *what)
{
	fprintf(stderr, "uds-echo: %s: %s\n", what, strerror(errno));
	return 1;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int addr(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path)) {
		fprintf(stderr, "uds-echo: %s: path too long\n", path);
		return -1;
	}
	strcpy(a->sun_path, path);
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Connect and do the CONNECT/OK exchange. Returns the socket, -1 to retry,
 * -2 on a hard error. */
static int handshake(const char *path, uint32_t port, unsigned *host_port)
{
	struct sockaddr_un a;
	char line[64], req[32];
	size_t len = 0;
	int s;

	if (addr(path, &a) < 0)
		return -2;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		fail("socket");
		return -2;
	}
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(s);
		return -1; /* ember not up yet */
	}
	snprintf(req, sizeof(req), "CONNECT %u\n", port);
	if (write_all(s, req, strlen(req)) < 0) {
		close(s);
		return -1;
	}
	while (len < sizeof(line) - 1) {
		ssize_t n = read(s, line + len, 1);

		if (n <= 0) {
			close(s);
			return -1; /* refused: nothing listens in the guest yet */
		}
		if (line[len++] == '\n')
			break;
	}
	line[len] = 0;
	if (sscanf(line, "OK %u\n", host_port) != 1) {
		fprintf(stderr, "uds-echo: unexpected answer '%s'\n", line);
		close(s);
		return -2;
	}
	return s;
}

static int do_connect(const char *path, uint32_t port, uint64_t bytes, uint64_t step)
{
	static uint8_t out[CHUNK], in[CHUNK];
	uint64_t sent = 0, got = 0;
	bool wr_open = true;
	unsigned host_port = 0;
	int s = -1;

	for (time_t start = time(NULL); s == -1 && time(NULL) - start < 90;) {
		s = handshake(path, port, &host_port);
		if (s == -1)
			usleep(100000);
	}
	if (s < 0) {
		fprintf(stderr, "uds-echo: no connection to guest port %u through %s\n", port,
			path);
		return 1;
	}
	fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN | (wr_open ? POLLOUT : 0) };
		ssize_t n;

		if (wr_open && sent == bytes) {
			shutdown(s, SHUT_WR);
			wr_open = false;
			continue;
		}
		if (poll(&p, 1, 60000) <= 0) {
			fprintf(stderr, "uds-echo: stalled after sending %llu and receiving %llu\n",
				(unsigned long long)sent, (unsigned long long)got);
			return 1;
		}
		if (wr_open && (p.revents & POLLOUT)) {
			size_t len = bytes - sent < CHUNK ? (size_t)(bytes - sent) : CHUNK;

			for (size_t i = 0; i < len; i++)
				out[i] = pattern(sent + i);
			n = write(s, out, len);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return fail("write");
			if (n > 0)
				sent += (uint64_t)n;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(s, in, sizeof(in));
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return fail("read");
			if (n == 0)
				break;
			for (ssize_t i = 0; i < n; i++)
				if (in[i] != pattern(got + (uint64_t)i)) {
					fprintf(stderr,
						"uds-echo: byte %llu is 0x%02x, want 0x%02x\n",
						(unsigned long long)(got + (uint64_t)i), in[i],
						pattern(got + (uint64_t)i));
					return 1;
				}
			if (n > 0 && step && (got + (uint64_t)n) / step != got / step) {
				printf("uds-echo: received %llu\n",
				       (unsigned long long)(got + (uint64_t)n));
				fflush(stdout);
			}
			if (n > 0)
				got += (uint64_t)n;
		}
	}
	close(s);
	if (got != bytes || sent != bytes) {
		fprintf(stderr, "uds-echo: sent %llu, got %llu back, want %llu\n",
			(unsigned long long)sent, (unsigned long long)got,
			(unsigned long long)bytes);
		return 1;
	}
	printf("uds-echo: ok %llu bytes (host port %u)\n", (unsigned long long)bytes, host_port);
	return 0;
}

static int do_drop(const char *path, uint32_t port, uint64_t bytes)
{
	static uint8_t out[CHUNK];
	uint64_t sent = 0;
	unsigned host_port = 0;
	int s = -1;

	for (time_t start = time(NULL); s == -1 && time(NULL) - start < 90;) {
		s = handshake(path, port, &host_port);
		if (s == -1)
			usleep(100000);
	}
	if (s < 0) {
		fprintf(stderr, "uds-echo: no connection to guest port %u through %s\n", port,
			path);
		return 1;
	}
	fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
	while (sent < bytes) {
		struct pollfd p = { .fd = s, .events = POLLOUT };
		size_t len = bytes - sent < CHUNK ? (size_t)(bytes - sent) : CHUNK;
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0)
			break; /* the guest stopped reading: drop it here */
		for (size_t i = 0; i < len; i++)
			out[i] = pattern(sent + i);
		n = write(s, out, len);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (n > 0)
			sent += (uint64_t)n;
	}
	close(s);
	printf("uds-echo: dropped after %llu bytes (host port %u)\n", (unsigned long long)sent,
	       host_port);
	return 0;
}

static int do_listen(const char *path)
{
	static uint8_t buf[CHUNK];
	struct sockaddr_un a;
	uint64_t total = 0;
	int s, c;

	if (addr(path, &a) < 0)
		return 1;
	unlink(path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail("socket");
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0)
		return fail(path);
	printf("uds-echo: listening on %s\n", path);
	fflush(stdout);
	c = accept(s, NULL, NULL);
	if (c < 0)
		return fail("accept");
	close(s);
	unlink(path);
	for (;;) {
		ssize_t n = read(c, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail("read");
		if (n == 0)
			break;
		if (write_all(c, buf, (size_t)n) < 0)
			return fail("write");
		total += (uint64_t)n;
	}
	close(c);
	printf("uds-echo: echoed %llu bytes\n", (unsigned long long)total);
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t port, bytes, step = 0;

	if ((argc == 5 || argc == 6) && strcmp(argv[1], "connect") == 0 &&
	    parse_u32(argv[3], &port) == 0 && parse_u32(argv[4], &bytes) == 0 &&
	    (argc == 5 || (parse_u32(argv[5], &step) == 0 && step > 0)))
		return do_connect(argv[2], port, bytes, step);
	if (argc == 5 && strcmp(argv[1], "drop") == 0 && parse_u32(argv[3], &port) == 0 &&
	    parse_u32(argv[4], &bytes) == 0)
		return do_drop(argv[2], port, bytes);
	if (argc == 3 && strcmp(argv[1], "listen") == 0)
		return do_listen(argv[2]);
	fprintf(stderr, "usage: uds-echo connect PATH PORT BYTES [STEP] | drop PATH PORT BYTES | "
			"listen PATH\n");
	return 1;
}
