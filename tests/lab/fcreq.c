// SPDX-License-Identifier: MIT
/*
 * fcreq: one HTTP/1.1 request to Firecracker's API over AF_UNIX, for the
 * lab's API cases (L1 has busybox only: no curl). Built static by
 * tests/lab/cases.d/api.host.sh.
 *
 *   fcreq SOCK METHOD PATH [BODY]
 *
 * Sends METHOD PATH with BODY (as application/json, with Content-Length),
 * reads one response (headers, then Content-Length bytes of body, or none),
 * and prints the status code on one line, then the body, if any, on the
 * next. Exit status: 0 for a 2xx answer, 1 for any other answer, 2 when
 * there was no answer (no socket, a malformed or truncated response, 30 s
 * without one). A socket that is missing or refuses connections is retried
 * for up to 5 s (the VMM may still be creating it).
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define HEAD_MAX (16 * 1024)
#define BODY_MAX (1024 * 1024)
#define TIMEOUT_MS 30000

static int die(const char *what, const char *why)
{
	fprintf(stderr, "fcreq: %s: %s\n", what, why);
	return 2;
}

static int write_all(int fd, const char *p, size_t len)
{
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

/* Read up to cap bytes (at least 1) into buf; 0 at end of stream, -1 on an
 * error or the timeout. */
static ssize_t read_some(int fd, char *buf, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (;;) {
		int r = poll(&p, 1, TIMEOUT_MS);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			errno = r == 0 ? ETIMEDOUT : errno;
			return -1;
		}
		n = read(fd, buf, cap);
		if (n < 0 && errno == EINTR)
			continue;
		return n;
	}
}

static int connect_sock(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(a.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(a.sun_path, path);
	for (int tries = 0;; tries++) {
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (s < 0)
			return -1;
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
			return s;
		close(s);
		if ((errno != ENOENT && errno != ECONNREFUSED) || tries >= 50)
			return -1;
		usleep(100000);
	}
}

/* The value of header `name` in the header block, or NULL. */
static const char *header(const char *head, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;

		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			line += n + 1;
			while (*line == ' ' || *line == '\t')
				line++;
			return line;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static char head[HEAD_MAX + 1], body[BODY_MAX + 1];
	const char *sock, *method, *path, *req_body, *v, *end;
	char *req;
	size_t have = 0, hlen, blen = 0, want = 0;
	int s, status, len;
	int known_len = 0;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: fcreq SOCK METHOD PATH [BODY]\n");
		return 2;
	}
	sock = argv[1];
	method = argv[2];
	path = argv[3];
	req_body = argc == 5 ? argv[4] : NULL;

	if (req_body)
		len = asprintf(&req,
			       "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
			       "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			       method, path, strlen(req_body), req_body);
	else
		len = asprintf(&req, "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n",
			       method, path);
	if (len < 0)
		return die("request", strerror(errno));
	s = connect_sock(sock);
	if (s < 0)
		return die(sock, strerror(errno));
	if (write_all(s, req, (size_t)len) < 0)
		return die("write", strerror(errno));
	free(req);

	/* The header block, up to the blank line. */
	for (;;) {
		ssize_t n;

		head[have] = '\0';
		end = strstr(head, "\r\n\r\n");
		if (end)
			break;
		if (have == HEAD_MAX)
			return die("response", "header block too long");
		n = read_some(s, head + have, HEAD_MAX - have);
		if (n < 0)
			return die("read", strerror(errno));
		if (n == 0)
			return die("response", have ? "connection closed inside the headers"
						    : "connection closed without an answer");
		have += (size_t)n;
	}
	hlen = (size_t)(end - head) + 4;
	if (sscanf(head, "HTTP/1.%*d %d", &status) != 1 || status < 100 || status > 599)
		return die("response", "no HTTP/1.x status line");
	head[hlen - 2] = '\0'; /* the header block ends with one CRLF */
	if (header(head, "Transfer-Encoding"))
		return die("response", "Transfer-Encoding is not supported");
	v = header(head, "Content-Length");
	if (v) {
		char *e;

		errno = 0;
		want = strtoul(v, &e, 10);
		if (errno || e == v || (*e && *e != '\r') || want > BODY_MAX)
			return die("response", "bad Content-Length");
		known_len = 1;
	}
	/* What came after the headers is body. */
	blen = have - hlen;
	memmove(body, head + hlen, blen);
	if (known_len) {
		while (blen < want) {
			ssize_t n = read_some(s, body + blen, want - blen);

			if (n < 0)
				return die("read", strerror(errno));
			if (n == 0)
				return die("response", "connection closed inside the body");
			blen += (size_t)n;
		}
		if (blen > want)
			blen = want; /* a pipelined answer cannot come: we sent one request */
	} else if (status >= 200 && status != 204 && status != 304) {
		/* No length: the body runs to the end of the stream. */
		for (;;) {
			ssize_t n;

			if (blen == BODY_MAX)
				return die("response", "body too long");
			n = read_some(s, body + blen, BODY_MAX - blen);
			if (n < 0)
				return die("read", strerror(errno));
			if (n == 0)
				break;
			blen += (size_t)n;
		}
	} else {
		blen = 0;
	}
	close(s);
	body[blen] = '\0';
	printf("%d\n", status);
	if (blen)
		printf("%s\n", body);
	return status >= 200 && status < 300 ? 0 : 1;
}
