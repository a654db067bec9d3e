// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the API's HTTP request parser. Input: a little-endian
 * u16 choosing a split offset, then the bytes a client sent. The parser must
 * never read outside the bytes it is given (ASan: each parse gets a buffer of
 * exactly its length), and what it returns must hold together:
 *  - a complete request spans head_len + body_len <= len bytes, its body lies
 *    inside them, its path is a NUL-terminated "/..." of visible ASCII;
 *  - an error is -400 or -501 with a printable message;
 *  - a prefix of the input needs more bytes or fails, never completes early,
 *    and the prefix that contains the whole request gives the same answer
 *    (the server re-parses as bytes arrive);
 *  - a smaller body limit only turns a too-large body into a 400;
 *  - pipelined requests parse one after another.
 */
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "util.h"

#define SMALL_MAX 16

static void check_err(int n, const char *err, size_t errlen)
{
	char *body;
	size_t len;

	if (n != -400 && n != -501)
		abort();
	if (!memchr(err, '\0', errlen) || err[0] == '\0')
		abort();
	for (const char *p = err; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
	if (http_fault_json(err, &body, &len) != 0)
		abort();
	if (len < 20 || strncmp(body, "{\"fault_message\":\"", 18) != 0 ||
	    strcmp(body + len - 2, "\"}") != 0)
		abort();
	free(body);
}

static void check_head(const uint8_t *buf, size_t len, size_t max_body,
		       const struct http_request *r)
{
	size_t plen;

	if (r->head_len == 0 || r->head_len > len || r->head_len > HTTP_HEAD_MAX)
		abort();
	if (r->content_length > max_body)
		abort();
	if (!memchr(r->method_name, '\0', sizeof(r->method_name)) || r->method_name[0] == '\0')
		abort();
	if ((r->method == HTTP_GET) != (strcmp(r->method_name, "GET") == 0) ||
	    (r->method == HTTP_PUT) != (strcmp(r->method_name, "PUT") == 0) ||
	    (r->method == HTTP_PATCH) != (strcmp(r->method_name, "PATCH") == 0) ||
	    (r->method == HTTP_DELETE) != (strcmp(r->method_name, "DELETE") == 0))
		abort();
	if (!memchr(r->path, '\0', sizeof(r->path)) || r->path[0] != '/')
		abort();
	plen = strlen(r->path);
	for (size_t i = 0; i < plen; i++)
		if (r->path[i] <= 0x20 || r->path[i] >= 0x7f || r->path[i] == '?')
			abort();
	if (r->query && (r->query < buf || r->query + r->query_len > buf + r->head_len))
		abort();
	if (!r->query && r->query_len)
		abort();
	if (r->version_minor > 1)
		abort();
	if (r->expect_continue && (r->version_minor != 1 || r->content_length == 0))
		abort();
}

/* Parse buf[0..len) from a copy of exactly len bytes. */
static int parse_exact(const uint8_t *buf, size_t len, size_t max_body, struct http_request *r,
		       uint8_t **copy)
{
	char err[128];
	int n;

	*copy = malloc(len ? len : 1);
	if (!*copy)
		abort();
	memcpy(*copy, buf, len);
	n = http_parse_request(*copy, len, max_body, r, err, sizeof(err));
	if (n < 0)
		check_err(n, err, sizeof(err));
	else if (n > 0 || r->head_len)
		check_head(*copy, len, max_body, r);
	if (n > 0) {
		if ((size_t)n > len || r->head_len + r->body_len != (size_t)n ||
		    r->body_len != r->content_length)
			abort();
		if (r->body_len ? r->body != *copy + r->head_len : r->body != NULL)
			abort();
	} else if (n == 0 && r->head_len && len - r->head_len >= r->content_length) {
		abort();
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request full, part, small;
	const uint8_t *buf;
	uint8_t *c1, *c2, *c3;
	size_t len, k, off;
	struct http_buf out = {0};
	int n, m, s;

	if (size < 2)
		return 0;
	buf = data + 2;
	len = size - 2;
	k = get_le16(data) % (len + 1);

	n = parse_exact(buf, len, HTTP_DEFAULT_MAX_PAYLOAD, &full, &c1);
	m = parse_exact(buf, k, HTTP_DEFAULT_MAX_PAYLOAD, &part, &c2);
	if (n > 0) {
		if (k < (size_t)n ? m != 0 : m != n)
			abort();
		if (m == n &&
		    (strcmp(part.path, full.path) != 0 || part.body_len != full.body_len ||
		     part.method != full.method || part.keep_alive != full.keep_alive))
			abort();
	} else if (n == 0) {
		if (m != 0)
			abort();
	} else if (m > 0) {
		abort();
	}

	s = parse_exact(buf, len, SMALL_MAX, &small, &c3);
	if (n > 0 && full.body_len <= SMALL_MAX && s != n)
		abort();
	if (n > 0 && full.body_len > SMALL_MAX && s != -400)
		abort();

	if (n > 0) {
		/* The response path: format an answer quoting the request. */
		if (http_format_response(&out, 200, full.path, strlen(full.path),
					 full.keep_alive ? 0 : HTTP_RESP_CLOSE) != 0)
			abort();
		if (out.len < 100 || memcmp(out.data, "HTTP/1.1 200 \r\n", 15) != 0)
			abort();
		http_buf_free(&out);
	}
	free(c1);
	free(c2);
	free(c3);

	/* Pipelined: one request after another, as the server consumes them. */
	for (off = 0; off < len;) {
		n = parse_exact(buf + off, len - off, HTTP_DEFAULT_MAX_PAYLOAD, &full, &c1);
		free(c1);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	return 0;
}
