/* SPDX-License-Identifier: MIT */
/*
 * A minimal client of ember's (Firecracker's) API on a Unix socket, for the
 * CLI commands that drive a running ember: one HTTP/1.1 request, one answer
 * with a Content-Length body of at most API_CLIENT_BODY_MAX bytes.
 */
#ifndef EMBER_API_CLIENT_H
#define EMBER_API_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

#define API_CLIENT_HEAD_MAX 4096
#define API_CLIENT_BODY_MAX 8192

struct api_reply {
	int status;
	char body[API_CLIENT_BODY_MAX + 1];
	pid_t peer; /* the server's process (SO_PEERCRED), or 0 */
};

/* Send method path body (NULL: none) to the API on `sock` and read the
 * answer, waiting at most timeout_ms for each part. 0 with *r filled (any
 * HTTP status), or negative errno with a message. */
int api_client_call(const char *sock, const char *method, const char *path, const char *body,
		    int timeout_ms, struct api_reply *r);

/* The answer's fault_message, or "HTTP <status>". */
const char *api_reply_fault(const struct api_reply *r, char *out, size_t cap);

/* Exposed for tests: the status line and Content-Length of an answer's head
 * (0: incomplete, -EPROTO: not HTTP; else the head's length). */
int api_client_parse_head(const char *buf, size_t len, int *status, long *clen);

#endif
