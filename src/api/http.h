/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 for the Firecracker-compatible API socket: a request parser and a
 * response formatter over byte buffers. Pure: no I/O, no allocation except in
 * the growable output buffer, no global state.
 *
 * Hand-written rather than libmicrohttpd: ember links statically, and
 * Debian's libmicrohttpd.a needs gnutls, whose static link needs p11-kit and
 * libunistring that Debian ships only as shared libraries. Firecracker, too,
 * uses a small HTTP implementation of its own (micro_http); where a client
 * could tell the difference, this one behaves like micro_http (see http.c).
 */
#ifndef EMBER_API_HTTP_H
#define EMBER_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Limits. micro_http reads through a 1024-byte buffer, so it refuses any
 * request line or header line of 1023 bytes or more but has no bound on the
 * number of lines. We bound the whole head instead: 8 KiB is what nginx and
 * Apache allow per line, eight times micro_http's line, and curl or the
 * Firecracker SDKs send a few hundred bytes.
 */
#define HTTP_HEAD_MAX	 8192 /* request line + header lines + blank line, CRLFs included */
#define HTTP_MAX_HEADERS 100  /* header lines (Apache's LimitRequestFields) */
#define HTTP_PATH_MAX	 1024 /* path buffer, NUL included: paths up to 1023 bytes */
#define HTTP_METHOD_MAX	 16   /* method buffer, NUL included */
/* micro_http's MAX_PAYLOAD_SIZE, Firecracker's default --http-api-max-payload-size. */
#define HTTP_DEFAULT_MAX_PAYLOAD 51200
/* The largest max_body http_parse_request() honours: a whole request must be
 * countable in its int result. */
#define HTTP_MAX_BODY_LIMIT (0x7fffffff - HTTP_HEAD_MAX)

/* DELETE is here because micro_http and Firecracker's API accept it
 * (hot-unplug); every other method token is HTTP_OTHER, for the router to
 * refuse by name. */
enum http_method { HTTP_GET, HTTP_PUT, HTTP_PATCH, HTTP_DELETE, HTTP_OTHER };

struct http_request {
	enum http_method method;
	char method_name[HTTP_METHOD_MAX]; /* as sent (methods are case-sensitive) */
	/* The path as sent, without percent-decoding or dot-segment removal: the
	 * query string is dropped and an absolute URI's "http://host[:port]" is
	 * stripped ("http://host" alone gives "/"). Always begins with '/'. */
	char path[HTTP_PATH_MAX];
	/* What followed the '?', in the caller's buffer; NULL when there was no
	 * '?'. micro_http hands the router the query as part of the path. */
	const uint8_t *query;
	size_t query_len;
	unsigned version_minor; /* HTTP/1.<minor>: 0 or 1 */
	/* HTTP/1.1: true unless "Connection: close". HTTP/1.0: false unless
	 * "Connection: keep-alive". */
	bool keep_alive;
	/* The client waits for "100 Continue" before it sends the body: it sent
	 * "Expect: 100-continue" in HTTP/1.1 (a server must ignore it in 1.0) with a
	 * non-zero Content-Length within max_body. */
	bool expect_continue;
	/* Bytes of the head (request line, headers, blank line, and any empty
	 * lines before the request line). 0 until the head is complete. */
	size_t head_len;
	/* From Content-Length; 0 without one (a PUT without Content-Length has an
	 * empty body, which the router answers as micro_http's does). */
	size_t content_length;
	/* Points into the caller's buffer; body_len == content_length once the
	 * request is complete. NULL when the body is empty. */
	const uint8_t *body;
	size_t body_len;
};

/*
 * Parse one request at buf[0..len). Returns:
 *  > 0  the request is complete and spans that many bytes (head_len +
 *       body_len); a pipelined request may follow.
 *    0  more bytes are needed. If req->head_len != 0 the head is complete
 *       and every field but body/body_len is valid (the server uses this to
 *       send "100 Continue"). Otherwise req holds nothing useful.
 *  < 0  minus the HTTP status to answer with (-400, or -501 for a
 *       Transfer-Encoding other than identity), and a message for
 *       fault_message in err (NUL-terminated, printable ASCII). The stream
 *       cannot be resynchronised: answer and close the connection.
 * Never reads past buf[len - 1]. An error is reported once the line holding
 * it is complete (a bad request line before the headers arrive, a
 * Content-Length over max_body before the body), a control byte or an
 * over-long head at once; a prefix of a valid request never gives an error.
 * max_body is capped to HTTP_MAX_BODY_LIMIT.
 */
int http_parse_request(const uint8_t *buf, size_t len, size_t max_body, struct http_request *req,
		       char *err, size_t errlen);

/* A growable byte buffer. Zero-initialise it; http_buf_free() releases it. */
struct http_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* Append n bytes; 0, or -ENOMEM / -EOVERFLOW with b unchanged. */
int http_buf_append(struct http_buf *b, const void *p, size_t n);
void http_buf_free(struct http_buf *b);

/* Flags for http_format_response(). Deprecation is Firecracker's mark on the
 * answer to a request that used a deprecated API. */
#define HTTP_RESP_CLOSE	      (1u << 0) /* "Connection: close" instead of keep-alive */
#define HTTP_RESP_DEPRECATION (1u << 1) /* "Deprecation: true" */

/*
 * Append one response to out, in micro_http's exact form:
 *   "HTTP/1.1 <status> \r\n"  (empty reason phrase)
 *   "Server: Firecracker API\r\n"
 *   "Connection: keep-alive\r\n" (or close)
 *   ["Deprecation: true\r\n"]
 *   "Content-Type: application/json\r\nContent-Length: <n>\r\n" except for
 *   1xx and 204, which carry no body (body is ignored for them)
 *   "\r\n" body
 * status must be 100..599. Returns 0, or -EINVAL / -ENOMEM with out unchanged.
 */
int http_format_response(struct http_buf *out, int status, const void *body, size_t body_len,
			 unsigned flags);

/* The body Firecracker gives every error: {"fault_message":"<msg>"}, with msg
 * escaped as a JSON string (msg should be UTF-8). *body is malloc'd and
 * NUL-terminated; *len excludes the NUL. Returns 0 or -ENOMEM. */
int http_fault_json(const char *msg, char **body, size_t *len);

#endif
