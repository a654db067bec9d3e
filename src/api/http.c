// SPDX-License-Identifier: MIT
/*
 * HTTP/1.1 request parser and response formatter (see http.h).
 *
 * Behaviour follows Firecracker's micro_http wherever a client could tell:
 * the exact response head, every parse error answered 400 (payload too large
 * included), Content-Length optional (absent means an empty body), any
 * method and any header passed up rather than refused here. It is stricter
 * where micro_http's leniency leaves the stream's framing ambiguous: bare CR
 * or LF, control bytes, obs-fold, whitespace before a header's colon,
 * conflicting Content-Lengths and any Transfer-Encoding but identity are
 * refused (RFC 9112 sections 2.2, 5.1, 6.1, 6.3), where micro_http would take
 * the line as data or ignore the header and read the next request out of a
 * chunked body.
 */
#include "api/http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* micro_http's messages, for the errors it also reports. */
#define MSG_INVALID_REQUEST "Invalid request."
#define MSG_BAD_VERSION	    "Invalid HTTP Version: Unsupported HTTP version."
#define MSG_BAD_METHOD	    "Invalid HTTP Method: Unsupported HTTP method."
#define MSG_EMPTY_URI	    "Invalid URI: Empty URI not allowed."

/* Room for a client's bytes quoted in a message. */
#define QUOTE_MAX 64

/* RFC 9110 5.6.2 token characters: what methods and header names are made of. */
static bool is_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A byte that may appear inside a request or header line: HTAB, SP, VCHAR
 * and obs-text (RFC 9112 5.5). CR and LF only end lines; NUL and the other
 * controls are refused outright, as no valid request contains them. */
static bool is_line_byte(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* p[0..n) equals the lower-case string s, ignoring ASCII case. */
static bool ieq(const uint8_t *p, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!s[i] || lower(p[i]) != (uint8_t)s[i])
			return false;
	return s[i] == '\0';
}

static bool is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Trim optional whitespace (SP, HTAB) from both ends of p[0..*n). */
static const uint8_t *trim(const uint8_t *p, size_t *n)
{
	while (*n && is_ows(p[0])) {
		p++;
		(*n)--;
	}
	while (*n && is_ows(p[*n - 1]))
		(*n)--;
	return p;
}

/* Copy a client's bytes into a message: printable ASCII only (the message
 * goes back in a JSON string and possibly into a log), at most QUOTE_MAX. */
static const char *quote(char *dst, const uint8_t *p, size_t n)
{
	size_t i, k = n < QUOTE_MAX ? n : QUOTE_MAX;

	for (i = 0; i < k; i++)
		dst[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	if (n > k)
		memcpy(dst + k - 3, "...", 3);
	dst[k] = '\0';
	return dst;
}

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int status,
						      const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -status;
}

/*
 * Find the end of the line that starts at pos. lim is min(len, HTTP_HEAD_MAX):
 * the head must end within HTTP_HEAD_MAX bytes, so nothing past lim is looked
 * at. Returns 1 with *eol at the line's CR, 0 if more bytes are needed, or an
 * error status.
 */
static int line_end(const uint8_t *buf, size_t lim, size_t pos, size_t *eol, char *err,
		    size_t errlen)
{
	for (size_t i = pos; i < lim; i++) {
		uint8_t c = buf[i];

		if (c == '\r') {
			if (i + 1 == lim)
				break;
			/* A lone CR or LF is not a line end here, as in
			 * micro_http, which splits lines only at CRLF; but
			 * rather than keep it as data (where it could smuggle
			 * a line past a proxy) or wait for a CRLF that may
			 * never come, refuse it (RFC 9112 2.2 allows both). */
			if (buf[i + 1] != '\n')
				return fail(err, errlen, 400,
					    "Invalid request: CR not followed by LF at byte %zu",
					    i);
			*eol = i;
			return 1;
		}
		if (c == '\n')
			return fail(err, errlen, 400, "Invalid request: LF without CR at byte %zu",
				    i);
		if (!is_line_byte(c))
			return fail(err, errlen, 400,
				    "Invalid request: control byte 0x%02x at byte %zu", c, i);
	}
	if (lim == HTTP_HEAD_MAX)
		return fail(err, errlen, 400,
			    "Invalid request: request line and headers exceed %d bytes",
			    HTTP_HEAD_MAX);
	return 0;
}

/* The request-target: origin-form "/path[?query]" or absolute-form
 * "http://host[:port][/path][?query]", the forms micro_http's get_abs_path()
 * understands. */
static int parse_target(const uint8_t *t, size_t n, struct http_request *req, char *err,
			size_t errlen)
{
	char q[QUOTE_MAX + 1];
	size_t i = 0, start, end;

	if (n == 0)
		return fail(err, errlen, 400, MSG_EMPTY_URI);
	for (i = 0; i < n; i++) {
		/* Visible ASCII only (RFC 3986: anything else is
		 * percent-encoded); a fragment is never sent (RFC 9112 3.2). */
		if (t[i] <= 0x20 || t[i] >= 0x7f || t[i] == '#')
			return fail(err, errlen, 400, "Invalid URI: bad character in %s",
				    quote(q, t, n));
	}
	i = 0;
	if (n >= 7 && ieq(t, 7, "http://")) {
		i = 7;
		while (i < n && t[i] != '/' && t[i] != '?')
			i++;
	} else if (t[0] != '/') {
		/* micro_http would route these ("*", "https://...", "vm") as
		 * the empty path, i.e. GET / (instance info). */
		return fail(err, errlen, 400, "Invalid URI: %s is not an absolute path",
			    quote(q, t, n));
	}
	start = i;
	while (i < n && t[i] != '?')
		i++;
	end = i;
	if (end - start >= HTTP_PATH_MAX)
		return fail(err, errlen, 400, "Invalid URI: path longer than %d bytes",
			    HTTP_PATH_MAX - 1);
	if (end == start) {
		strcpy(req->path, "/");
	} else {
		memcpy(req->path, t + start, end - start);
		req->path[end - start] = '\0';
	}
	if (end < n) {
		req->query = t + end + 1;
		req->query_len = n - end - 1;
	}
	return 0;
}

/* "METHOD SP request-target SP HTTP-version", split as micro_http splits it:
 * at the first space, then the next; the version is all that remains. */
static int parse_request_line(const uint8_t *l, size_t n, struct http_request *req, char *err,
			      size_t errlen)
{
	static const struct {
		const char *name;
		enum http_method m;
	} methods[] = {
		{ "GET", HTTP_GET },
		{ "PUT", HTTP_PUT },
		{ "PATCH", HTTP_PATCH },
		{ "DELETE", HTTP_DELETE },
	};
	const uint8_t *sp1 = memchr(l, ' ', n), *sp2, *ver;
	size_t mlen, tlen, vlen;
	int r;

	if (!sp1)
		return fail(err, errlen, 400, MSG_INVALID_REQUEST);
	mlen = (size_t)(sp1 - l);
	sp2 = memchr(sp1 + 1, ' ', n - mlen - 1);
	if (!sp2)
		return fail(err, errlen, 400, MSG_INVALID_REQUEST);
	if (mlen == 0)
		return fail(err, errlen, 400, MSG_INVALID_REQUEST);
	if (mlen >= HTTP_METHOD_MAX)
		return fail(err, errlen, 400, MSG_BAD_METHOD);
	for (size_t i = 0; i < mlen; i++)
		if (!is_tchar(l[i]))
			return fail(err, errlen, 400, MSG_BAD_METHOD);
	memcpy(req->method_name, l, mlen);
	req->method_name[mlen] = '\0';
	req->method = HTTP_OTHER;
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
		if (strcmp(req->method_name, methods[i].name) == 0)
			req->method = methods[i].m;

	tlen = (size_t)(sp2 - sp1 - 1);
	r = parse_target(sp1 + 1, tlen, req, err, errlen);
	if (r < 0)
		return r;

	ver = sp2 + 1;
	vlen = n - (size_t)(ver - l);
	if (vlen != 8 || memcmp(ver, "HTTP/1.", 7) != 0 || (ver[7] != '0' && ver[7] != '1'))
		return fail(err, errlen, 400, MSG_BAD_VERSION);
	req->version_minor = (unsigned)(ver[7] - '0');
	return 0;
}

/* What the headers say, gathered while they are parsed. */
struct head_state {
	bool have_length;
	bool conn_close;
	bool conn_keep_alive;
	bool expect;
};

/* 1*DIGIT (RFC 9110 8.6). micro_http parses a u32, which also takes "+5";
 * a sign, a list ("5, 5") or anything else is refused. */
static int parse_content_length(const uint8_t *v, size_t n, size_t max_body,
				struct http_request *req, struct head_state *h, char *err,
				size_t errlen)
{
	char q[QUOTE_MAX + 1];
	size_t val = 0;

	if (n == 0)
		return fail(err, errlen, 400,
			    "Invalid header. Reason: Invalid value. Key:Content-Length; Value:");
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9' || ckd_mul(&val, val, (size_t)10) ||
		    ckd_add(&val, val, (size_t)(v[i] - '0')))
			return fail(err, errlen, 400,
				    "Invalid header. Reason: Invalid value. Key:Content-Length; "
				    "Value:%s",
				    quote(q, v, n));
	}
	/* Two different lengths leave the body's end ambiguous (RFC 9112 6.3
	 * item 5); micro_http would take the last one. */
	if (h->have_length && val != req->content_length)
		return fail(err, errlen, 400,
			    "Invalid header. Reason: conflicting Content-Length values %zu and %zu",
			    req->content_length, val);
	/* Checked here, as soon as the length is known, so the client hears
	 * before it sends the body. micro_http answers 400 with this message
	 * (not 413). */
	if (val > max_body)
		return fail(err, errlen, 400,
			    "Request payload with size %zu is larger than the limit of %zu allowed "
			    "by server.",
			    val, max_body);
	h->have_length = true;
	req->content_length = val;
	return 0;
}

/* "Connection: token, token": close and keep-alive matter, others (Upgrade,
 * TE) are ignored. */
static void parse_connection(const uint8_t *v, size_t n, struct head_state *h)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i, tn;
		const uint8_t *tok;

		while (j < n && v[j] != ',')
			j++;
		tn = j - i;
		tok = trim(v + i, &tn);
		if (ieq(tok, tn, "close"))
			h->conn_close = true;
		else if (ieq(tok, tn, "keep-alive"))
			h->conn_keep_alive = true;
		i = j + 1;
	}
}

static int parse_header(const uint8_t *l, size_t n, size_t max_body, struct http_request *req,
			struct head_state *h, char *err, size_t errlen)
{
	char q[QUOTE_MAX + 1];
	const uint8_t *colon, *v;
	size_t nlen, vlen;

	/* obs-fold: a continuation of the previous line (RFC 9112 5.2 allows a
	 * 400). */
	if (is_ows(l[0]))
		return fail(err, errlen, 400,
			    "Invalid header. Reason: Header is incorrectly formatted. Key: %s",
			    quote(q, l, n));
	colon = memchr(l, ':', n);
	if (!colon)
		return fail(err, errlen, 400,
			    "Invalid header. Reason: Header is incorrectly formatted. Key: %s",
			    quote(q, l, n));
	nlen = (size_t)(colon - l);
	/* A name is a token: no whitespace before the colon, which RFC 9112
	 * 5.1 requires refusing (micro_http trims it). */
	for (size_t i = 0; i < nlen; i++)
		if (!is_tchar(l[i]))
			return fail(
			    err, errlen, 400,
			    "Invalid header. Reason: Header is incorrectly formatted. Key: %s",
			    quote(q, l, nlen));
	if (nlen == 0)
		return fail(err, errlen, 400,
			    "Invalid header. Reason: Header is incorrectly formatted. Key: %s",
			    quote(q, l, n));
	vlen = n - nlen - 1;
	v = trim(colon + 1, &vlen);

	if (ieq(l, nlen, "content-length"))
		return parse_content_length(v, vlen, max_body, req, h, err, errlen);
	if (ieq(l, nlen, "transfer-encoding")) {
		/* micro_http notes "chunked" and then ignores it, reading
		 * Content-Length bytes (or none) and parsing the chunks as the
		 * next request. We cannot decode it either, so say so (RFC 9112
		 * 6.1: 501 for a coding the server does not understand).
		 * "identity" is accepted, as micro_http does. */
		if (!ieq(v, vlen, "identity"))
			return fail(err, errlen, 501,
				    "Invalid header. Reason: Unsupported Transfer-Encoding: %s",
				    quote(q, v, vlen));
		return 0;
	}
	if (ieq(l, nlen, "connection")) {
		parse_connection(v, vlen, h);
		return 0;
	}
	/* Other expectations are ignored, as micro_http ignores them. */
	if (ieq(l, nlen, "expect") && ieq(v, vlen, "100-continue"))
		h->expect = true;
	return 0;
}

int http_parse_request(const uint8_t *buf, size_t len, size_t max_body, struct http_request *req,
		       char *err, size_t errlen)
{
	struct head_state h = { 0 };
	size_t lim, pos = 0, eol, avail;
	unsigned nhdr;
	int r;

	memset(req, 0, sizeof(*req));
	if (err && errlen)
		err[0] = '\0';
	if (max_body > HTTP_MAX_BODY_LIMIT)
		max_body = HTTP_MAX_BODY_LIMIT;
	lim = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;

	/* RFC 9112 2.2: ignore empty lines before the request line (some
	 * clients send a CRLF after a body). They count against the head. */
	while (pos + 1 < lim && buf[pos] == '\r' && buf[pos + 1] == '\n')
		pos += 2;

	r = line_end(buf, lim, pos, &eol, err, errlen);
	if (r <= 0)
		return r;
	r = parse_request_line(buf + pos, eol - pos, req, err, errlen);
	if (r < 0)
		return r;
	pos = eol + 2;

	for (nhdr = 0;; nhdr++) {
		r = line_end(buf, lim, pos, &eol, err, errlen);
		if (r <= 0)
			return r;
		if (eol == pos) {
			pos += 2;
			break;
		}
		if (nhdr == HTTP_MAX_HEADERS)
			return fail(err, errlen, 400, "Invalid request: more than %d header fields",
				    HTTP_MAX_HEADERS);
		r = parse_header(buf + pos, eol - pos, max_body, req, &h, err, errlen);
		if (r < 0)
			return r;
		pos = eol + 2;
	}

	if (req->version_minor == 1)
		req->keep_alive = !h.conn_close;
	else
		req->keep_alive = h.conn_keep_alive && !h.conn_close;
	/* micro_http sends 100 Continue only for a body it will read; RFC 9110
	 * 10.1.1 forbids it to an HTTP/1.0 client. */
	req->expect_continue = h.expect && req->version_minor == 1 && req->content_length > 0;
	req->head_len = pos;

	/* pos <= HTTP_HEAD_MAX and content_length <= HTTP_MAX_BODY_LIMIT, so
	 * the sum fits in an int. */
	avail = len - pos;
	if (avail < req->content_length)
		return 0;
	if (req->content_length) {
		req->body = buf + pos;
		req->body_len = req->content_length;
	}
	return (int)(pos + req->content_length);
}

int http_buf_append(struct http_buf *b, const void *p, size_t n)
{
	size_t need, cap;
	uint8_t *d;

	if (n == 0)
		return 0;
	if (ckd_add(&need, b->len, n))
		return -EOVERFLOW;
	if (need > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < need)
			if (ckd_mul(&cap, cap, (size_t)2))
				return -EOVERFLOW;
		d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len = need;
	return 0;
}

void http_buf_free(struct http_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int http_format_response(struct http_buf *out, int status, const void *body, size_t body_len,
			 unsigned flags)
{
	/* RFC 9110 6.4.1: 1xx and 204 have no content, and no Content-Length;
	 * micro_http leaves both headers out for them. */
	bool has_body = status >= 200 && status != 204;
	char head[256];
	size_t saved = out->len;
	int n, r;

	if (status < 100 || status > 599 || (body_len && !body))
		return -EINVAL;
	/* micro_http's order: status line with an empty reason phrase, Server,
	 * Connection, Deprecation, then Content-Type and Content-Length. */
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d \r\nServer: Firecracker API\r\nConnection: %s\r\n%s", status,
		     flags & HTTP_RESP_CLOSE ? "close" : "keep-alive",
		     flags & HTTP_RESP_DEPRECATION ? "Deprecation: true\r\n" : "");
	if (has_body)
		n +=
		    snprintf(head + n, sizeof(head) - (size_t)n,
			     "Content-Type: application/json\r\nContent-Length: %zu\r\n", body_len);
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	r = http_buf_append(out, head, (size_t)n);
	if (r == 0 && has_body)
		r = http_buf_append(out, body, body_len);
	if (r < 0)
		out->len = saved;
	return r;
}

int http_fault_json(const char *msg, char **body, size_t *len)
{
	static const char pre[] = "{\"fault_message\":\"", post[] = "\"}";
	static const char hex[] = "0123456789abcdef";
	size_t n = sizeof(pre) - 1 + sizeof(post) - 1;
	const unsigned char *p;
	char *out, *o;

	/* serde_json's escaping, which Firecracker's json!() uses: the short
	 * forms for ", \, \b, \f, \n, \r, \t and \u00XX for other controls. */
	for (p = (const unsigned char *)msg; *p; p++) {
		size_t add = *p == '"' || *p == '\\' || strchr("\b\f\n\r\t", *p) ? 2
			     : *p < 0x20					 ? 6
										 : 1;

		if (ckd_add(&n, n, add))
			return -ENOMEM;
	}
	out = malloc(n + 1);
	if (!out)
		return -ENOMEM;
	o = out;
	memcpy(o, pre, sizeof(pre) - 1);
	o += sizeof(pre) - 1;
	for (p = (const unsigned char *)msg; *p; p++) {
		const char *s = strchr("\b\f\n\r\t", *p);

		if (*p == '"' || *p == '\\') {
			*o++ = '\\';
			*o++ = (char)*p;
		} else if (s) {
			*o++ = '\\';
			*o++ = "bfnrt"[s - "\b\f\n\r\t"];
		} else if (*p < 0x20) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[*p >> 4];
			o[5] = hex[*p & 15];
			o += 6;
		} else {
			*o++ = (char)*p;
		}
	}
	memcpy(o, post, sizeof(post));
	*body = out;
	*len = n;
	return 0;
}
