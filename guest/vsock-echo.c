// SPDX-License-Identifier: MIT
/*
 * vsock-echo: the guest end of ember's virtio-vsock lab cases (built static,
 * installed as /bin/vsock-echo in the guest initramfs).
 *
 *   vsock-echo listen PORT
 *       accept one AF_VSOCK connection on PORT, echo everything back until
 *       the peer's end of stream, then close. Prints "vsock-echo: listening
 *       on PORT" once ready and "vsock-echo: echoed N bytes" at the end.
 *   vsock-echo connect CID PORT BYTES
 *       connect to CID:PORT, send BYTES of a fixed pattern while reading the
 *       echo, shut down the sending side, read to the end and compare byte
 *       for byte. Prints "vsock-echo: ok N bytes" on success.
 *   vsock-echo cid
 *       print the guest's own CID (IOCTL_VM_SOCKETS_GET_LOCAL_CID).
 *
 * Exit status 0 on success, 1 on any failure (with a message on stderr).
 * The pattern is the same as tests/lab/uds-echo.c's: byte i is
 * (i * 2654435761) >> 24, which does not repeat every 256 bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK 65536

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(((uint32_t)i * 2654435761u) >> 24);
}

static int fail(const char *what)
{
	fprintf(stderr, "vsock-echo: %s: %s\n", what, strerror(errno));
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

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int do_listen(uint32_t port)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port };
	static uint8_t buf[CHUNK];
	uint64_t total = 0;
	int s, c;

	s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail("socket(AF_VSOCK)");
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return fail("bind");
	if (listen(s, 1) < 0)
		return fail("listen");
	printf("vsock-echo: listening on %u\n", port);
	fflush(stdout);
	c = accept(s, NULL, NULL);
	if (c < 0)
		return fail("accept");
	close(s);
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
	printf("vsock-echo: echoed %llu bytes\n", (unsigned long long)total);
	return 0;
}

static int do_connect(uint32_t cid, uint32_t port, uint64_t bytes)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
	static uint8_t out[CHUNK], in[CHUNK];
	uint64_t sent = 0, got = 0;
	bool wr_open = true;
	int s;

	s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail("socket(AF_VSOCK)");
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return fail("connect");
	fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
	/* Send and receive together: the echo comes back while we send, and
	 * neither side's window holds the whole payload. */
	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN | (wr_open ? POLLOUT : 0) };
		ssize_t n;

		if (wr_open && sent == bytes) {
			shutdown(s, SHUT_WR);
			wr_open = false;
			continue;
		}
		if (poll(&p, 1, 60000) <= 0) {
			fprintf(stderr, "vsock-echo: stalled after sending %llu and receiving %llu\n",
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
					fprintf(stderr, "vsock-echo: byte %llu is 0x%02x, want 0x%02x\n",
						(unsigned long long)(got + (uint64_t)i), in[i],
						pattern(got + (uint64_t)i));
					return 1;
				}
			if (n > 0)
				got += (uint64_t)n;
		}
	}
	close(s);
	if (got != bytes || sent != bytes) {
		fprintf(stderr, "vsock-echo: sent %llu, got %llu back, want %llu\n",
			(unsigned long long)sent, (unsigned long long)got, (unsigned long long)bytes);
		return 1;
	}
	printf("vsock-echo: ok %llu bytes\n", (unsigned long long)bytes);
	return 0;
}

static int do_cid(void)
{
	unsigned int cid;
	int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return fail("/dev/vsock");
	if (ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) < 0)
		return fail("IOCTL_VM_SOCKETS_GET_LOCAL_CID");
	printf("vsock-echo: cid %u\n", cid);
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t cid, port, bytes;

	if (argc == 3 && strcmp(argv[1], "listen") == 0 && parse_u32(argv[2], &port) == 0)
		return do_listen(port);
	if (argc == 5 && strcmp(argv[1], "connect") == 0 && parse_u32(argv[2], &cid) == 0 &&
	    parse_u32(argv[3], &port) == 0 && parse_u32(argv[4], &bytes) == 0)
		return do_connect(cid, port, bytes);
	if (argc == 2 && strcmp(argv[1], "cid") == 0)
		return do_cid();
	fprintf(stderr, "usage: vsock-echo listen PORT | connect CID PORT BYTES | cid\n");
	return 1;
}
