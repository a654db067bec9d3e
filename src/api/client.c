// SPDX-License-Identifier: MIT
#include "api/client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "util.h"

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Parse "HTTP/1.1 NNN ...\r\n...headers...\r\n\r\n" in buf[len]; returns the
 * header length (with the blank line) or 0 if incomplete, -EPROTO if bad.
 * Fills *status and *clen (-1 without Content-Length). */
int api_client_parse_head(const char *buf, size_t len, int *status, long *clen)
{
	const char *end = NULL, *p;

	for (size_t i = 0; i + 3 < len; i++)
		if (!memcmp(buf + i, "\r\n\r\n", 4)) {
			end = buf + i + 4;
			break;
		}
	if (!end)
		return len > API_CLIENT_HEAD_MAX ? -EPROTO : 0;
	if (len < 12 || memcmp(buf, "HTTP/1.1 ", 9) || buf[9] < '1' || buf[9] > '5' ||
	    buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9')
		return -EPROTO;
	*status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	*clen = -1;
	for (p = buf; p < end - 4;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		static const char cl[] = "content-length:";

		if (!nl)
			break;
		if ((size_t)(nl - p) > sizeof(cl) && !strncasecmp(p, cl, sizeof(cl) - 1)) {
			char *e;
			long v = strtol(p + sizeof(cl) - 1, &e, 10);

			if (v < 0 || v > API_CLIENT_BODY_MAX || (*e != '\r' && *e != '\n'))
				return -EPROTO;
			*clen = v;
		}
		p = nl + 1;
	}
	/* A 204 (or 304) has no body, and needs no Content-Length to say so. */
	if (*status == 204 || *status == 304)
		*clen = 0;
	return (int)(end - buf);
}

int api_client_call(const char *sock, const char *method, const char *path, const char *body,
		    int timeout_ms, struct api_reply *r)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char *req;
	size_t req_cap = 512 + (body ? strlen(body) : 0);
	char buf[API_CLIENT_HEAD_MAX + API_CLIENT_BODY_MAX + 1];
	size_t have = 0;
	int fd, n, err, head = 0;
	long clen = -1;
	struct ucred cred;
	socklen_t cl = sizeof(cred);

	memset(r, 0, sizeof(*r));
	if (strlen(sock) >= sizeof(a.sun_path))
		return ember_seterr(-ENAMETOOLONG, "--api-sock %s: longer than %zu bytes", sock,
				    sizeof(a.sun_path) - 1);
	strcpy(a.sun_path, sock);
	req = malloc(req_cap);
	if (!req)
		return ember_seterr(-ENOMEM, "out of memory");
	n = snprintf(req, req_cap,
		     "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		     method, path, body ? strlen(body) : 0, body ? body : "");
	if (n < 0 || (size_t)n >= req_cap) {
		free(req);
		return ember_seterr(-E2BIG, "API request too long");
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		free(req);
		return ember_seterr(-errno, "socket: %s", strerror(errno));
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		err = -errno;
		close(fd);
		free(req);
		return ember_seterr(err, "--api-sock %s: %s%s", sock, strerror(-err),
				    err == -ECONNREFUSED || err == -ENOENT
					? " (is an ember with --api-sock running?)"
					: "");
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
		r->peer = cred.pid;
	err = send_all(fd, req, (size_t)n);
	free(req);
	while (!err) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (head > 0 && clen >= 0 && have >= (size_t)head + (size_t)clen)
			break;
		if (have == sizeof(buf) - 1) {
			err = -EPROTO;
			break;
		}
		n = poll(&p, 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			err = -ETIMEDOUT;
			break;
		}
		k = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			err = -errno;
			break;
		}
		if (k == 0) {
			if (head <= 0 || clen >= 0)
				err = -ECONNRESET;
			break;
		}
		have += (size_t)k;
		if (head == 0) {
			head = api_client_parse_head(buf, have, &r->status, &clen);
			if (head < 0)
				err = head;
		}
	}
	close(fd);
	if (err)
		return ember_seterr(err, "--api-sock %s: %s %s: %s", sock, method, path,
				    err == -EPROTO ? "not an HTTP answer" : strerror(-err));
	n = (int)(have - (size_t)head);
	if (clen >= 0 && n > clen)
		n = (int)clen;
	memcpy(r->body, buf + head, (size_t)n);
	r->body[n] = '\0';
	return 0;
}

const char *api_reply_fault(const struct api_reply *r, char *out, size_t cap)
{
	json_object *o = json_tokener_parse(r->body), *m;

	snprintf(out, cap, "HTTP %d", r->status);
	if (o && json_object_object_get_ex(o, "fault_message", &m) &&
	    json_object_is_type(m, json_type_string))
		snprintf(out, cap, "%s", json_object_get_string(m));
	json_object_put(o);
	return out;
}
