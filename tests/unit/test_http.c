// SPDX-License-Identifier: MIT
/*
 * The API's HTTP layer: the request parser and response formatter over byte
 * buffers, then the server over a real Unix socket in a temporary directory,
 * driven by api_server_serve() in this thread with a trivial handler.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/http.h"
#include "api/server.h"
#include "harness.h"
#include "util.h"

#define MAXB HTTP_DEFAULT_MAX_PAYLOAD

static char err[256];

static int parse_n(const void *s, size_t len, size_t max, struct http_request *r)
{
	return http_parse_request(s, len, max, r, err, sizeof(err));
}

static int parse(const char *s, struct http_request *r)
{
	return parse_n(s, strlen(s), MAXB, r);
}

/* Every prefix of s (each in a buffer of exactly its size, so ASan sees an
 * over-read) needs more bytes; s itself gives want. */
static void check_splits(const char *s, int want)
{
	size_t len = strlen(s);
	struct http_request r;

	for (size_t k = 0; k <= len; k++) {
		uint8_t *b = malloc(k ? k : 1);
		int n;

		memcpy(b, s, k);
		n = parse_n(b, k, MAXB, &r);
		if ((int)k < want && n != 0) {
			fprintf(stderr, "  prefix %zu of %d: %d (%s)\n", k, want, n, err);
			CHECK_EQ(n, 0);
		} else if ((int)k >= want) {
			CHECK_EQ(n, want);
		}
		free(b);
	}
}

TEST(parse_get_complete)
{
	const char *s = "GET /machine-config HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n";
	struct http_request r;

	CHECK_EQ(parse(s, &r), strlen(s));
	CHECK_EQ(r.method, HTTP_GET);
	CHECK(strcmp(r.method_name, "GET") == 0);
	CHECK(strcmp(r.path, "/machine-config") == 0);
	CHECK(r.query == NULL);
	CHECK_EQ(r.version_minor, 1);
	CHECK(r.keep_alive);
	CHECK(!r.expect_continue);
	CHECK_EQ(r.head_len, strlen(s));
	CHECK_EQ(r.content_length, 0);
	CHECK(r.body == NULL);
	CHECK_EQ(r.body_len, 0);
}

TEST(parse_put_body)
{
	const char *s = "PUT /boot-source HTTP/1.1\r\nContent-Type: application/json\r\n"
			"Content-Length: 36\r\n\r\n{\"kernel_image_path\": \"/vmlinux\"   }";
	struct http_request r;
	int n = parse(s, &r);

	CHECK_EQ(n, strlen(s));
	CHECK_EQ(r.method, HTTP_PUT);
	CHECK_EQ(r.body_len, 36);
	CHECK(r.body == (const uint8_t *)s + r.head_len);
	CHECK(memcmp(r.body, "{\"kernel_image_path\"", 20) == 0);
	CHECK_EQ(r.head_len + r.body_len, (size_t)n);

	/* No Content-Length: an empty body, for the router to call an empty
	 * PUT (as micro_http hands Firecracker's router body None). */
	CHECK_EQ(parse("PUT /actions HTTP/1.1\r\n\r\n", &r), 25);
	CHECK(r.body == NULL && r.body_len == 0);
}

TEST(parse_split_every_byte)
{
	static const char *const reqs[] = {
	    "GET / HTTP/1.1\r\n\r\n",
	    "PUT /drives/rootfs HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n\r\n"
	    "{\"a\": true}",
	    "PATCH http://localhost/vm HTTP/1.1\r\nExpect: 100-continue\r\n"
	    "Content-Length: 20\r\n\r\n{\"state\": \"Paused\"}\n",
	    "\r\nGET /?x=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	    /* Bytes after the request are not its own. */
	    "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
	};
	static const int want[] = {18, 0, 0, 0, 19};

	for (size_t i = 0; i < ARRAY_SIZE(reqs); i++)
		check_splits(reqs[i], want[i] ? want[i] : (int)strlen(reqs[i]));
}

TEST(parse_pipelined)
{
	const char *s = "GET /a HTTP/1.1\r\n\r\nPUT /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
			"PATCH /c?q HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}GET /d HTT";
	const uint8_t *p = (const uint8_t *)s;
	size_t len = strlen(s);
	struct http_request r;
	int n;

	n = parse_n(p, len, MAXB, &r);
	CHECK_EQ(n, 19);
	CHECK(strcmp(r.path, "/a") == 0);
	p += n, len -= (size_t)n;
	n = parse_n(p, len, MAXB, &r);
	CHECK_EQ(n, 38 + 3);
	CHECK(strcmp(r.path, "/b") == 0 && r.body_len == 3 && memcmp(r.body, "xyz", 3) == 0);
	p += n, len -= (size_t)n;
	n = parse_n(p, len, MAXB, &r);
	CHECK(n > 0);
	CHECK(r.method == HTTP_PATCH && strcmp(r.path, "/c") == 0 && r.body_len == 2);
	p += n, len -= (size_t)n;
	CHECK_EQ(parse_n(p, len, MAXB, &r), 0);
	CHECK(strncmp((const char *)p, "GET /d", 6) == 0);
}

TEST(parse_garbage)
{
	static const char *const bad[] = {
	    "HELLO\r\n\r\n",
	    "GET\r\n\r\n",
	    "GET /\r\n\r\n",
	    "GET / HTTP/1.1 \r\n\r\n",
	    " GET / HTTP/1.1\r\n\r\n",
	    "GET  / HTTP/1.1\r\n\r\n",
	    "GET / HTTP/2.0\r\n\r\n",
	    "GET / http/1.1\r\n\r\n",
	    "GET / HTTP/1.10\r\n\r\n",
	    "GET / HTTP/1.\r\n\r\n",
	    "GE(T / HTTP/1.1\r\n\r\n",
	    "GET /a\x80 HTTP/1.1\r\n\r\n",
	    "GET /a#frag HTTP/1.1\r\n\r\n",
	    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
	    "{\"fault_message\": 1}\r\n\r\n",
	};
	struct http_request r;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int n = parse(bad[i], &r);

		if (n != -400)
			fprintf(stderr, "  garbage %zu: %d\n", i, n);
		CHECK_EQ(n, -400);
		CHECK(err[0] != '\0');
	}
	/* A NUL anywhere in the head. */
	CHECK_EQ(parse_n("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26, MAXB, &r), -400);
	CHECK_EQ(parse_n("G\0", 2, MAXB, &r), -400);
	/* micro_http's wording for the errors it also reports. */
	parse("GET / HTTP/2.0\r\n\r\n", &r);
	CHECK(strcmp(err, "Invalid HTTP Version: Unsupported HTTP version.") == 0);
	parse("GET  / HTTP/1.1\r\n\r\n", &r);
	CHECK(strcmp(err, "Invalid URI: Empty URI not allowed.") == 0);
}

TEST(parse_truncated)
{
	struct http_request r;

	CHECK_EQ(parse("", &r), 0);
	CHECK_EQ(parse("\r", &r), 0);
	CHECK_EQ(parse("\r\n", &r), 0);
	CHECK_EQ(parse("GET / HTTP/1.1\r", &r), 0);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: x\r\n", &r), 0);
	CHECK_EQ(r.head_len, 0);
	/* Head complete, body not: head fields are there already. */
	CHECK_EQ(parse("PUT /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345", &r), 0);
	CHECK_EQ(r.head_len, 39);
	CHECK_EQ(r.content_length, 10);
	CHECK(r.method == HTTP_PUT && strcmp(r.path, "/x") == 0);
	CHECK(r.body == NULL);
	/* A bad request line is refused before the headers arrive. */
	CHECK_EQ(parse("GET / HTTP/3\r\nHost:", &r), -400);
}

/* A request whose head is exactly head bytes long, padded by one header. */
static char *head_of(size_t head, bool terminated)
{
	const char *pre = "GET / HTTP/1.1\r\nX-Pad: ";
	char *s = malloc(head + 1);
	size_t fill = head - strlen(pre) - 4;

	strcpy(s, pre);
	memset(s + strlen(pre), 'a', fill);
	strcpy(s + strlen(pre) + fill, terminated ? "\r\n\r\n" : "aaaa");
	return s;
}

TEST(parse_oversized_head)
{
	struct http_request r;
	char *s;

	s = head_of(HTTP_HEAD_MAX, true);
	CHECK_EQ(parse(s, &r), HTTP_HEAD_MAX);
	free(s);
	s = head_of(HTTP_HEAD_MAX + 1, true);
	CHECK_EQ(parse(s, &r), -400);
	CHECK_STR_CONTAINS(err, "exceed 8192 bytes");
	free(s);
	/* Unterminated: wait until the limit, refuse at it. */
	s = head_of(HTTP_HEAD_MAX, false);
	CHECK_EQ(parse_n(s, HTTP_HEAD_MAX - 1, MAXB, &r), 0);
	CHECK_EQ(parse_n(s, HTTP_HEAD_MAX, MAXB, &r), -400);
	free(s);
	/* One huge header line arriving whole. */
	s = head_of(20000, true);
	CHECK_EQ(parse(s, &r), -400);
	free(s);
}

TEST(parse_too_many_headers)
{
	char s[4096];
	struct http_request r;
	size_t n = (size_t)sprintf(s, "GET / HTTP/1.1\r\n");

	for (int i = 0; i < HTTP_MAX_HEADERS; i++)
		n += (size_t)sprintf(s + n, "X%d: y\r\n", i);
	strcpy(s + n, "\r\n");
	CHECK_EQ(parse(s, &r), n + 2);
	strcpy(s + n, "Z: 1\r\n\r\n");
	CHECK_EQ(parse(s, &r), -400);
	CHECK_STR_CONTAINS(err, "more than 100 header fields");
}

TEST(parse_body_limit)
{
	struct http_request r;
	char s[128];
	uint8_t *big;
	int head;

	/* Exactly the limit: fine, once it is all there. */
	head = sprintf(s, "PUT /mmds HTTP/1.1\r\nContent-Length: %d\r\n\r\n", MAXB);
	big = calloc(1, (size_t)head + MAXB);
	memcpy(big, s, (size_t)head);
	CHECK_EQ(parse_n(big, (size_t)head + MAXB - 1, MAXB, &r), 0);
	CHECK_EQ(parse_n(big, (size_t)head + MAXB, MAXB, &r), head + MAXB);
	CHECK_EQ(r.body_len, MAXB);
	free(big);

	/* One over: refused as soon as the header is read, in micro_http's words
	 * and with its status (400, not 413). */
	sprintf(s, "PUT /mmds HTTP/1.1\r\nContent-Length: %d\r\n", MAXB + 1);
	CHECK_EQ(parse(s, &r), -400);
	CHECK(strcmp(err, "Request payload with size 51201 is larger than the limit of 51200 "
			  "allowed by server.") == 0);
	CHECK_EQ(parse_n("PUT / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", 38, 0, &r), -400);
	CHECK_EQ(parse_n("PUT / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 37, 0, &r), 37);
	/* A limit beyond what an int can count is capped, not overflowed. */
	CHECK_EQ(parse_n("PUT / HTTP/1.1\r\nContent-Length: 4294967296\r\n\r\n", 46, SIZE_MAX, &r),
		 -400);
	CHECK_EQ(parse_n("PUT / HTTP/1.1\r\nContent-Length: 2147483647\r\n\r\n", 46, SIZE_MAX, &r),
		 -400);
	CHECK_EQ(parse_n("PUT / HTTP/1.1\r\nContent-Length: 2147475455\r\n\r\n", 46, SIZE_MAX, &r),
		 0);
}

TEST(parse_bad_content_length)
{
	static const char *const bad[] = {
	    "abc", "-1", "+5", "", "1 2", "0x10", "5,5", "5, 5", "18446744073709551616", "1.0",
	};
	struct http_request r;
	char s[256];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		sprintf(s, "PUT / HTTP/1.1\r\nContent-Length: %s\r\n\r\n", bad[i]);
		CHECK_EQ(parse(s, &r), -400);
		CHECK_STR_CONTAINS(err, "Content-Length");
	}
	CHECK_EQ(parse("PUT / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\nab", &r),
		 -400);
	CHECK_STR_CONTAINS(err, "conflicting");
	/* The same value twice is harmless (RFC 9112 6.3). */
	CHECK_EQ(parse("PUT / HTTP/1.1\r\nContent-Length: 2\r\nCONTENT-LENGTH: 2\r\n\r\nab", &r),
		 58);
	CHECK_EQ(parse("PUT / HTTP/1.1\r\nContent-Length: \t 002  \r\n\r\nab", &r), 45);
	CHECK_EQ(r.body_len, 2);
}

TEST(parse_transfer_encoding)
{
	struct http_request r;

	CHECK_EQ(
	    parse("PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		  &r),
	    -501);
	CHECK_STR_CONTAINS(err, "chunked");
	/* Even with a Content-Length, which micro_http would then obey. */
	CHECK_EQ(
	    parse("PUT /x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: Chunked\r\n\r\n", &r),
	    -501);
	CHECK_EQ(parse("PUT /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &r), -501);
	CHECK_EQ(parse("PUT /x HTTP/1.1\r\nTransfer-Encoding: identity\r\nContent-Length: 1\r\n"
		       "\r\nz",
		       &r),
		 68);
}

TEST(parse_absolute_uri)
{
	static const struct {
		const char *target, *path, *query;
	} ok[] = {
	    {"http://localhost/vm", "/vm", NULL},
	    {"http://localhost:8080/drives/rootfs", "/drives/rootfs", NULL},
	    {"HTTP://localhost/a?b=1", "/a", "b=1"},
	    {"http://localhost", "/", NULL},
	    {"http://localhost?x", "/", "x"},
	    {"http:///snapshot/create", "/snapshot/create", NULL},
	    {"/", "/", NULL},
	    {"//x", "//x", NULL},
	};
	static const char *const bad[] = {"https://localhost/vm", "vm", "*", "localhost:80",
					  "http:/vm"};
	struct http_request r;
	char s[256];

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		sprintf(s, "GET %s HTTP/1.1\r\n\r\n", ok[i].target);
		CHECK_EQ(parse(s, &r), strlen(s));
		CHECK(strcmp(r.path, ok[i].path) == 0);
		if (ok[i].query)
			CHECK(r.query && r.query_len == strlen(ok[i].query) &&
			      memcmp(r.query, ok[i].query, r.query_len) == 0);
		else
			CHECK(r.query == NULL);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		sprintf(s, "GET %s HTTP/1.1\r\n\r\n", bad[i]);
		CHECK_EQ(parse(s, &r), -400);
		CHECK_STR_CONTAINS(err, "Invalid URI");
	}
}

TEST(parse_query_string)
{
	struct http_request r;

	CHECK(parse("GET /machine-config?pretty=1&x HTTP/1.1\r\n\r\n", &r) > 0);
	CHECK(strcmp(r.path, "/machine-config") == 0);
	CHECK(r.query_len == 10 && memcmp(r.query, "pretty=1&x", 10) == 0);
	CHECK(parse("GET /vm? HTTP/1.1\r\n\r\n", &r) > 0);
	CHECK(strcmp(r.path, "/vm") == 0 && r.query != NULL && r.query_len == 0);
	/* No decoding: the router sees what was sent. */
	CHECK(parse("GET /drives/a%2Fb HTTP/1.1\r\n\r\n", &r) > 0);
	CHECK(strcmp(r.path, "/drives/a%2Fb") == 0);
}

TEST(parse_path_limit)
{
	char s[HTTP_PATH_MAX + 64];
	struct http_request r;

	strcpy(s, "GET /");
	memset(s + 5, 'p', HTTP_PATH_MAX - 2);
	strcpy(s + 5 + HTTP_PATH_MAX - 2, " HTTP/1.1\r\n\r\n");
	CHECK_EQ(parse(s, &r), strlen(s));
	CHECK_EQ(strlen(r.path), HTTP_PATH_MAX - 1);
	strcpy(s + 5 + HTTP_PATH_MAX - 2, "p HTTP/1.1\r\n\r\n");
	CHECK_EQ(parse(s, &r), -400);
	/* The query does not count against the path. */
	strcpy(s + 5 + HTTP_PATH_MAX - 2, "?qqqq HTTP/1.1\r\n\r\n");
	CHECK(parse(s, &r) > 0);
}

TEST(parse_http10)
{
	struct http_request r;

	CHECK(parse("GET / HTTP/1.0\r\n\r\n", &r) > 0);
	CHECK_EQ(r.version_minor, 0);
	CHECK(!r.keep_alive);
	CHECK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r) > 0);
	CHECK(r.keep_alive);
	/* No 100 Continue for an HTTP/1.0 client (RFC 9110 10.1.1). */
	CHECK_EQ(parse("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n", &r),
		 0);
	CHECK(r.head_len && !r.expect_continue);
}

TEST(parse_connection_close)
{
	struct http_request r;

	CHECK(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &r) > 0);
	CHECK(!r.keep_alive);
	CHECK(parse("GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n", &r) > 0);
	CHECK(!r.keep_alive);
	CHECK(parse("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", &r) > 0);
	CHECK(r.keep_alive);
	CHECK(parse("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", &r) > 0);
	CHECK(r.keep_alive);
	CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", &r) > 0);
	CHECK(!r.keep_alive);
}

TEST(parse_expect_continue)
{
	const char *s = "PUT /drives/rootfs HTTP/1.1\r\nHost: localhost\r\nExpect: 100-Continue\r\n"
			"Content-Length: 2\r\n\r\n";
	struct http_request r;
	char full[256];

	CHECK_EQ(parse(s, &r), 0);
	CHECK(r.head_len == strlen(s) && r.expect_continue);
	sprintf(full, "%s{}", s);
	CHECK_EQ(parse(full, &r), strlen(full));
	CHECK(r.expect_continue && r.body_len == 2);
	/* Nothing to wait for without a body. */
	CHECK(parse("PUT / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", &r) > 0);
	CHECK(!r.expect_continue);
	/* Other expectations are ignored, as micro_http ignores them. */
	CHECK(parse("PUT / HTTP/1.1\r\nExpect: something\r\nContent-Length: 1\r\n\r\nx", &r) > 0);
	CHECK(!r.expect_continue);
	/* Over the limit: the error, not a 100 Continue. */
	CHECK_EQ(
	    parse("PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 99999\r\n\r\n", &r),
	    -400);
}

TEST(parse_line_endings)
{
	struct http_request r;

	/* micro_http ends lines only at CRLF; a lone LF or CR is refused
	 * rather than taken as data or waited past. */
	CHECK_EQ(parse("GET / HTTP/1.1\n\n", &r), -400);
	CHECK_STR_CONTAINS(err, "LF without CR");
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: x\n\r\n", &r), -400);
	CHECK_EQ(parse("GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n", &r), -400);
	CHECK_STR_CONTAINS(err, "CR not followed by LF");
	CHECK_EQ(parse("GET / HTTP/1.1\r\r\n\r\n", &r), -400);
	CHECK_EQ(parse("\n", &r), -400);
	/* Empty lines before the request line are skipped (RFC 9112 2.2). */
	CHECK_EQ(parse("\r\n\r\nGET /x HTTP/1.1\r\n\r\n", &r), 23);
	CHECK(strcmp(r.path, "/x") == 0);
	CHECK_EQ(r.head_len, 23);
	/* The body is bytes, CR and LF included. */
	CHECK_EQ(parse("PUT / HTTP/1.1\r\nContent-Length: 4\r\n\r\n\n\r\r\n", &r), 41);
}

TEST(parse_header_syntax)
{
	static const char *const bad[] = {
	    "NoColon\r\n",   "Name : v\r\n",  ": v\r\n",     " Folded: v\r\n",
	    "X: a\x01z\r\n", "X: a\x7fz\r\n", "X(y): v\r\n", "X\tY: v\r\n",
	};
	struct http_request r;
	char s[256];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		sprintf(s, "GET / HTTP/1.1\r\n%s\r\n", bad[i]);
		CHECK_EQ(parse(s, &r), -400);
	}
	parse("GET / HTTP/1.1\r\nNoColon\r\n\r\n", &r);
	CHECK(strcmp(err, "Invalid header. Reason: Header is incorrectly formatted. Key: "
			  "NoColon") == 0);
	/* obs-text in a value, an empty value, a colon in a value. */
	CHECK(parse("GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\nY:\r\nHost: a:80\r\n\r\n", &r) > 0);
	/* Client bytes quoted in a message are printable and bounded. */
	memset(s, 0, sizeof(s));
	strcpy(s, "GET / HTTP/1.1\r\n");
	memset(s + 16, 'k', 200);
	strcpy(s + 216, "\xff\r\n\r\n");
	CHECK_EQ(parse(s, &r), -400);
	CHECK(strlen(err) < 150);
	for (const char *p = err; *p; p++)
		CHECK(*p >= 0x20 && *p < 0x7f);
}

TEST(parse_methods)
{
	static const struct {
		const char *name;
		enum http_method m;
	} ok[] = {
	    {"GET", HTTP_GET},	     {"PUT", HTTP_PUT},		{"PATCH", HTTP_PATCH},
	    {"DELETE", HTTP_DELETE}, {"POST", HTTP_OTHER},	{"get", HTTP_OTHER},
	    {"OPTIONS", HTTP_OTHER}, {"X-METHOD!", HTTP_OTHER}, {"ABCDEFGHIJKLMNO", HTTP_OTHER},
	};
	struct http_request r;
	char s[128];

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		sprintf(s, "%s /vm HTTP/1.1\r\n\r\n", ok[i].name);
		CHECK_EQ(parse(s, &r), strlen(s));
		CHECK_EQ(r.method, ok[i].m);
		CHECK(strcmp(r.method_name, ok[i].name) == 0);
	}
	CHECK_EQ(parse("ABCDEFGHIJKLMNOP /vm HTTP/1.1\r\n\r\n", &r), -400);
	CHECK(strcmp(err, "Invalid HTTP Method: Unsupported HTTP method.") == 0);
}

static bool buf_is(const struct http_buf *b, const char *s)
{
	return b->len == strlen(s) && memcmp(b->data, s, b->len) == 0;
}

TEST(format_response)
{
	struct http_buf b = {0};

	/* micro_http's bytes: empty reason phrase, Server, Connection. */
	CHECK_EQ(http_format_response(&b, 204, NULL, 0, 0), 0);
	CHECK(buf_is(&b,
		     "HTTP/1.1 204 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n\r\n"));
	b.len = 0;
	CHECK_EQ(http_format_response(&b, 200, "{\"id\":1}", 8, 0), 0);
	CHECK(buf_is(&b, "HTTP/1.1 200 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n"
			 "Content-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"id\":1}"));
	b.len = 0;
	CHECK_EQ(http_format_response(&b, 400, NULL, 0, HTTP_RESP_CLOSE | HTTP_RESP_DEPRECATION),
		 0);
	CHECK(buf_is(&b, "HTTP/1.1 400 \r\nServer: Firecracker API\r\nConnection: close\r\n"
			 "Deprecation: true\r\nContent-Type: application/json\r\n"
			 "Content-Length: 0\r\n\r\n"));
	b.len = 0;
	CHECK_EQ(http_format_response(&b, 100, NULL, 0, 0), 0);
	CHECK(buf_is(&b,
		     "HTTP/1.1 100 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n\r\n"));
	/* 204 never carries a body, whatever it is given. */
	b.len = 0;
	CHECK_EQ(http_format_response(&b, 204, "xx", 2, 0), 0);
	CHECK(buf_is(&b,
		     "HTTP/1.1 204 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n\r\n"));
	/* Appends; bad input leaves the buffer alone. */
	CHECK_EQ(http_format_response(&b, 99, NULL, 0, 0), -EINVAL);
	CHECK_EQ(http_format_response(&b, 600, NULL, 0, 0), -EINVAL);
	CHECK_EQ(http_format_response(&b, 200, NULL, 3, 0), -EINVAL);
	CHECK_EQ(http_format_response(&b, 404, "{}", 2, 0), 0);
	CHECK(b.len > 80 && memcmp(b.data + 66, "HTTP/1.1 404 \r\n", 15) == 0);
	http_buf_free(&b);
	CHECK(b.data == NULL && b.len == 0);
}

TEST(fault_json)
{
	char *body;
	size_t len;

	CHECK_EQ(http_fault_json("Invalid request.", &body, &len), 0);
	CHECK(strcmp(body, "{\"fault_message\":\"Invalid request.\"}") == 0);
	CHECK_EQ(len, strlen(body));
	free(body);
	CHECK_EQ(http_fault_json("a\"b\\c\nd\x01\t", &body, &len), 0);
	CHECK(strcmp(body, "{\"fault_message\":\"a\\\"b\\\\c\\nd\\u0001\\t\"}") == 0);
	CHECK_EQ(len, strlen(body));
	free(body);
}

/* --- the server over a real socket ---------------------------------------- */

struct fixture {
	char dir[64];
	char path[128];
	struct api_server *s;
	unsigned calls; /* handler calls */
};

/* The test handler: "<seq> <METHOD> <path> <body>" as the body; a few paths
 * ask for something else. */
static void handler(void *ctx, const struct http_request *req, struct api_response *resp)
{
	struct fixture *f = ctx;
	unsigned seq = f->calls++;
	size_t len;

	if (strcmp(req->path, "/nocontent") == 0) {
		resp->status = 204;
		return;
	}
	if (strcmp(req->path, "/nostatus") == 0)
		return;
	if (strcmp(req->path, "/big") == 0) {
		resp->status = 200;
		resp->body = malloc(8192);
		resp->body_len = 8192;
		memset(resp->body, 'b', 8192);
		len = (size_t)sprintf(resp->body, "%u ", seq);
		resp->body[len] = 'b';
		return;
	}
	resp->status = strcmp(req->path, "/deprecated") == 0 ? 200 : 201;
	resp->deprecation = strcmp(req->path, "/deprecated") == 0;
	resp->body = malloc(64 + HTTP_PATH_MAX + req->body_len);
	len = (size_t)sprintf(resp->body, "%u %s %s ", seq, req->method_name, req->path);
	if (req->body_len)
		memcpy(resp->body + len, req->body, req->body_len);
	resp->body_len = len + req->body_len;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static bool setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->dir, "/tmp/ember-http-XXXXXX");
	if (!mkdtemp(f->dir))
		return false;
	snprintf(f->path, sizeof(f->path), "%s/api.sock", f->dir);
	f->s = api_server_open(f->path, HTTP_DEFAULT_MAX_PAYLOAD, handler, f);
	if (!f->s)
		fprintf(stderr, "  api_server_open: %s\n", ember_lasterr());
	return f->s != NULL;
}

static void teardown(struct fixture *f)
{
	api_server_close(f->s);
	f->s = NULL;
	unlink(f->path);
	rmdir(f->dir);
}

static int client(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t k = send(fd, c, n, MSG_NOSIGNAL);

		if (k <= 0)
			return;
		c += k;
		n -= (size_t)k;
	}
}

static void send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

/* What a client has received and not yet taken apart. */
struct cli {
	int fd;
	char buf[1 << 20];
	size_t len;
	bool eof;
};

static struct cli cl; /* big: not on the stack */

/* Length of the first complete response in b[0..len), or 0. */
static size_t response_len(const char *b, size_t len)
{
	const char *end = memmem(b, len, "\r\n\r\n", 4), *cl_hdr;
	size_t head, body = 0;

	if (!end)
		return 0;
	head = (size_t)(end - b) + 4;
	cl_hdr = memmem(b, head, "\r\nContent-Length: ", 18);
	if (cl_hdr)
		body = strtoul(cl_hdr + 18, NULL, 10);
	return head + body <= len ? head + body : 0;
}

/* Serve until the client holds a complete response or sees EOF; move the
 * response into out (NUL-terminated). Returns its length, 0 on EOF, -1 on
 * timeout. */
static int next_response(struct fixture *f, struct cli *c, char *out, size_t cap)
{
	for (int i = 0; i < 3000; i++) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		size_t n = response_len(c->buf, c->len);

		if (n) {
			size_t k = n < cap - 1 ? n : cap - 1;

			memcpy(out, c->buf, k);
			out[k] = '\0';
			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
			return (int)n;
		}
		if (c->eof)
			return 0;
		api_server_serve(f->s, i < 10 ? 0 : 2);
		if (poll(&p, 1, 0) == 1) {
			ssize_t k =
			    recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);

			if (k > 0)
				c->len += (size_t)k;
			else if (k == 0 || errno != EAGAIN)
				c->eof = true;
		}
	}
	return -1;
}

static void cli_open(struct cli *c, const char *path)
{
	c->fd = client(path);
	c->len = 0;
	c->eof = false;
}

static void cli_close(struct cli *c)
{
	close(c->fd);
	c->fd = -1;
}

static char resp[1 << 16];

TEST(server_roundtrip)
{
	struct pollfd pfd = {.events = POLLIN};
	struct fixture f;
	struct stat st;

	if (!setup(&f)) {
		CHECK(0);
		return;
	}
	/* Owner-only. */
	CHECK(stat(f.path, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600);
	/* The fd to wait on: idle, then readable when a client comes. */
	pfd.fd = api_server_fd(f.s);
	CHECK_EQ(poll(&pfd, 1, 0), 0);
	CHECK_EQ(api_server_serve(f.s, 0), 0);
	cli_open(&cl, f.path);
	CHECK_EQ(poll(&pfd, 1, 1000), 1);
	send_str(cl.fd, "GET /machine-config HTTP/1.1\r\nHost: localhost\r\n\r\n");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK(strcmp(resp, "HTTP/1.1 201 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n"
			   "Content-Type: application/json\r\nContent-Length: 22\r\n\r\n"
			   "0 GET /machine-config ") == 0);
	/* Kept alive: the next one on the same connection. */
	send_str(cl.fd, "PUT /boot-source HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK_STR_CONTAINS(resp, "\r\n\r\n1 PUT /boot-source {}");
	send_str(cl.fd, "GET /nocontent HTTP/1.1\r\n\r\n");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK(strcmp(resp, "HTTP/1.1 204 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n"
			   "\r\n") == 0);
	send_str(cl.fd, "GET /deprecated HTTP/1.1\r\n\r\n");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK_STR_CONTAINS(resp, "\r\nDeprecation: true\r\n");
	/* A handler that sets no status: 500, connection kept. */
	send_str(cl.fd, "GET /nostatus HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\n");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK(strncmp(resp, "HTTP/1.1 500 ", 13) == 0);
	CHECK_STR_CONTAINS(resp, "{\"fault_message\":\"Internal error");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK_STR_CONTAINS(resp, "5 GET /x ");
	cli_close(&cl);
	teardown(&f);
	/* The socket file goes with the server. */
	CHECK(access(f.path, F_OK) < 0 && errno == ENOENT);
}

TEST(server_pipelined)
{
	struct fixture f;

	if (!setup(&f)) {
		CHECK(0);
		return;
	}
	cli_open(&cl, f.path);
	send_str(cl.fd, "GET /a HTTP/1.1\r\n\r\n"
			"PUT /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
			"PATCH /c HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
			"GET /d HTTP/1.1\r\nConnection: close\r\n\r\n"
			"GET /never HTTP/1.1\r\n\r\n");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK_STR_CONTAINS(resp, "\r\n\r\n0 GET /a ");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK_STR_CONTAINS(resp, "\r\n\r\n1 PUT /b xyz");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK_STR_CONTAINS(resp, "\r\n\r\n2 PATCH /c {}");
	/* Connection: close ends it: the request after is not answered. */
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK_STR_CONTAINS(resp, "Connection: close\r\n");
	CHECK_STR_CONTAINS(resp, "\r\n\r\n3 GET /d ");
	CHECK_EQ(next_response(&f, &cl, resp, sizeof(resp)), 0);
	CHECK_EQ(f.calls, 4);
	cli_close(&cl);
	teardown(&f);
}

TEST(server_expect_continue)
{
	struct fixture f;

	if (!setup(&f)) {
		CHECK(0);
		return;
	}
	cli_open(&cl, f.path);
	send_str(cl.fd, "PUT /drives/rootfs HTTP/1.1\r\nExpect: 100-continue\r\n"
			"Content-Length: 11\r\n\r\n");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK(strcmp(resp, "HTTP/1.1 100 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n"
			   "\r\n") == 0);
	/* The body in two parts: no second 100. */
	send_str(cl.fd, "{\"a\":");
	for (int i = 0; i < 5; i++)
		api_server_serve(f.s, 0);
	send_str(cl.fd, " true}");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK(strncmp(resp, "HTTP/1.1 201 ", 13) == 0);
	CHECK_STR_CONTAINS(resp, "0 PUT /drives/rootfs {\"a\": true}");
	/* Head and body together: the client did not wait, no 100. */
	send_str(cl.fd, "PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nz");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK(strncmp(resp, "HTTP/1.1 201 ", 13) == 0);
	cli_close(&cl);
	teardown(&f);
}

TEST(server_byte_at_a_time)
{
	const char *req = "PUT /drives/rootfs HTTP/1.1\r\nExpect: 100-continue\r\n"
			  "Content-Length: 4\r\n\r\n{}{}GET /next HTTP/1.1\r\n\r\n";
	size_t head = (size_t)(strstr(req, "\r\n\r\n") - req) + 4;
	struct fixture f;

	if (!setup(&f)) {
		CHECK(0);
		return;
	}
	cli_open(&cl, f.path);
	for (size_t i = 0; i < strlen(req); i++) {
		send_all(cl.fd, req + i, 1);
		for (int j = 0; j < 3; j++)
			api_server_serve(f.s, 0);
		if (i + 1 == head) {
			/* The head is in: the 100 Continue, and nothing else. */
			CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
			CHECK(strncmp(resp, "HTTP/1.1 100 \r\n", 15) == 0);
			CHECK_EQ(f.calls, 0);
		}
	}
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK_STR_CONTAINS(resp, "\r\n\r\n0 PUT /drives/rootfs {}{}");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK_STR_CONTAINS(resp, "\r\n\r\n1 GET /next ");
	CHECK_EQ(cl.len, 0);
	cli_close(&cl);
	teardown(&f);
}

TEST(server_disconnects)
{
	struct fixture f;
	int base;

	if (!setup(&f)) {
		CHECK(0);
		return;
	}
	base = count_fds();
	/* Mid-request: head only, then gone. */
	cli_open(&cl, f.path);
	send_str(cl.fd, "PUT /x HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
	for (int i = 0; i < 5; i++)
		api_server_serve(f.s, 0);
	cli_close(&cl);
	for (int i = 0; i < 5; i++)
		api_server_serve(f.s, 0);
	CHECK_EQ(count_fds(), base);
	CHECK_EQ(f.calls, 0);
	/* Mid-response: 40 x 8 KiB asked for, nothing read, gone. */
	cli_open(&cl, f.path);
	for (int i = 0; i < 40; i++)
		send_str(cl.fd, "GET /big HTTP/1.1\r\n\r\n");
	for (int i = 0; i < 20; i++)
		api_server_serve(f.s, 0);
	cli_close(&cl);
	for (int i = 0; i < 20; i++)
		api_server_serve(f.s, 0);
	CHECK_EQ(count_fds(), base);
	/* Half-close after the request: still answered, then closed. */
	cli_open(&cl, f.path);
	send_str(cl.fd, "GET /half HTTP/1.1\r\n\r\nGET /partial HTT");
	shutdown(cl.fd, SHUT_WR);
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK_STR_CONTAINS(resp, " GET /half ");
	CHECK_EQ(next_response(&f, &cl, resp, sizeof(resp)), 0);
	cli_close(&cl);
	for (int i = 0; i < 5; i++)
		api_server_serve(f.s, 0);
	CHECK_EQ(count_fds(), base);
	teardown(&f);
}

TEST(server_payload_too_large)
{
	static char body[60000];
	static char big[70000];
	struct fixture f;
	char head[128];

	if (!setup(&f)) {
		CHECK(0);
		return;
	}
	memset(body, 'x', sizeof(body));
	/* The limit itself is fine, and the buffer grows to take it. */
	cli_open(&cl, f.path);
	sprintf(head, "PUT /mmds HTTP/1.1\r\nContent-Length: %d\r\n\r\n", MAXB);
	send_str(cl.fd, head);
	send_all(cl.fd, body, MAXB);
	CHECK(next_response(&f, &cl, big, sizeof(big)) > 0);
	CHECK(strncmp(big, "HTTP/1.1 201 ", 13) == 0);
	CHECK(strstr(big, "Content-Length: 51212\r\n\r\n0 PUT /mmds xxxxxxxx") != NULL);
	cli_close(&cl);

	cli_open(&cl, f.path);
	send_str(cl.fd, "PUT /mmds HTTP/1.1\r\nContent-Length: 51201\r\n\r\n");
	send_all(cl.fd, body, 51201);
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK(strcmp(resp,
		     "HTTP/1.1 400 \r\nServer: Firecracker API\r\nConnection: close\r\n"
		     "Content-Type: application/json\r\nContent-Length: 104\r\n\r\n"
		     "{\"fault_message\":\"Request payload with size 51201 is larger than the "
		     "limit of 51200 allowed by server.\"}") == 0);
	CHECK_EQ(next_response(&f, &cl, resp, sizeof(resp)), 0);
	CHECK_EQ(f.calls, 1);
	cli_close(&cl);
	/* With Expect: refused before the body is sent, no 100 first. */
	cli_open(&cl, f.path);
	send_str(cl.fd,
		 "PUT /mmds HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 99999\r\n\r\n");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK(strncmp(resp, "HTTP/1.1 400 ", 13) == 0);
	cli_close(&cl);
	/* A client that writes the head, then the body (Python's http.client
	 * does): the 400 comes after the head, and the body it still writes
	 * finds the connection open (lingering), not EPIPE; its close then
	 * ends it. */
	cli_open(&cl, f.path);
	send_str(cl.fd, "PUT /mmds HTTP/1.1\r\nContent-Length: 60000\r\n\r\n");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK(strncmp(resp, "HTTP/1.1 400 ", 13) == 0);
	{
		size_t sent = 0;

		for (int i = 0; i < 1000 && sent < sizeof(body); i++) {
			ssize_t k = send(cl.fd, body + sent, sizeof(body) - sent,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (k > 0)
				sent += (size_t)k;
			else if (k < 0 && errno != EAGAIN)
				break;
			api_server_serve(f.s, 1);
		}
		CHECK_EQ(sent, sizeof(body));
	}
	CHECK_EQ(next_response(&f, &cl, resp, sizeof(resp)), 0); /* EOF, nothing more */
	cli_close(&cl);
	for (int i = 0; i < 10; i++)
		api_server_serve(f.s, 1);
	/* Chunked: 501, closed. */
	cli_open(&cl, f.path);
	send_str(cl.fd,
		 "PUT /mmds HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK(strncmp(resp, "HTTP/1.1 501 ", 13) == 0);
	CHECK_STR_CONTAINS(resp, "Connection: close\r\n");
	CHECK_EQ(next_response(&f, &cl, resp, sizeof(resp)), 0);
	cli_close(&cl);
	teardown(&f);
}

TEST(server_many_bad_requests)
{
	static const char *const bad[] = {
	    "GARBAGE\r\n\r\n",
	    "GET / HTTP/9.9\r\n\r\n",
	    "PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
	    "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
	    "\x01\x02\x03",
	    "GET / HTTP/1.1\n\n",
	    /* Answered, then the garbage after it ends the connection. */
	    "GET /ok HTTP/1.1\r\n\r\nBAD\r\n\r\n",
	};
	struct fixture f;
	int base, bad_answers = 0;

	if (!setup(&f)) {
		CHECK(0);
		return;
	}
	base = count_fds();
	for (int i = 0; i < 2000; i++) {
		const char *b = bad[i % ARRAY_SIZE(bad)];
		int n;

		cli_open(&cl, f.path);
		send_str(cl.fd, b);
		if (strncmp(b, "GET /ok", 7) == 0) {
			n = next_response(&f, &cl, resp, sizeof(resp));
			CHECK(n > 0 && strncmp(resp, "HTTP/1.1 201 ", 13) == 0);
		}
		n = next_response(&f, &cl, resp, sizeof(resp));
		if (n > 0 && strncmp(resp, "HTTP/1.1 400 ", 13) == 0 &&
		    strstr(resp, "Connection: close\r\n") && strstr(resp, "{\"fault_message\":\""))
			bad_answers++;
		/* ... and the server closes. */
		CHECK_EQ(next_response(&f, &cl, resp, sizeof(resp)), 0);
		cli_close(&cl);
	}
	CHECK_EQ(bad_answers, 2000);
	for (int i = 0; i < 5; i++)
		api_server_serve(f.s, 0);
	CHECK_EQ(count_fds(), base);
	/* Still serving. */
	cli_open(&cl, f.path);
	send_str(cl.fd, "GET /still-here HTTP/1.1\r\n\r\n");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK_STR_CONTAINS(resp, " GET /still-here ");
	cli_close(&cl);
	for (int i = 0; i < 5; i++)
		api_server_serve(f.s, 0);
	CHECK_EQ(count_fds(), base);
	teardown(&f);
}

TEST(server_http10_and_close)
{
	struct fixture f;

	if (!setup(&f)) {
		CHECK(0);
		return;
	}
	cli_open(&cl, f.path);
	send_str(cl.fd, "GET /old HTTP/1.0\r\n\r\n");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK(strncmp(resp, "HTTP/1.1 201 ", 13) == 0);
	CHECK_STR_CONTAINS(resp, "Connection: close\r\n");
	CHECK_EQ(next_response(&f, &cl, resp, sizeof(resp)), 0);
	cli_close(&cl);
	cli_open(&cl, f.path);
	send_str(cl.fd, "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK_STR_CONTAINS(resp, "Connection: keep-alive\r\n");
	send_str(cl.fd, "GET /again HTTP/1.1\r\nConnection: close\r\n\r\n");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK_STR_CONTAINS(resp, "Connection: close\r\n");
	CHECK_EQ(next_response(&f, &cl, resp, sizeof(resp)), 0);
	cli_close(&cl);
	teardown(&f);
}

TEST(server_max_connections)
{
	static struct cli many[API_MAX_CONNECTIONS];
	struct fixture f;
	int base;

	if (!setup(&f)) {
		CHECK(0);
		return;
	}
	base = count_fds();
	for (int i = 0; i < API_MAX_CONNECTIONS; i++) {
		cli_open(&many[i], f.path);
		send_str(many[i].fd, "GET / HTTP/1.1\r\n\r\n");
		CHECK(next_response(&f, &many[i], resp, sizeof(resp)) > 0);
	}
	/* One more: accepted, told 503, closed (micro_http's behaviour). */
	cli_open(&cl, f.path);
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK(strcmp(resp, "HTTP/1.1 503 \r\nServer: Firecracker API\r\nConnection: close\r\n"
			   "Content-Type: application/json\r\nContent-Length: 45\r\n\r\n"
			   "{\"fault_message\":\"Too many open connections\"}") == 0);
	CHECK_EQ(next_response(&f, &cl, resp, sizeof(resp)), 0);
	cli_close(&cl);
	/* A slot freed is a slot taken. */
	cli_close(&many[0]);
	for (int i = 0; i < 5; i++)
		api_server_serve(f.s, 0);
	cli_open(&cl, f.path);
	send_str(cl.fd, "GET /in HTTP/1.1\r\n\r\n");
	CHECK(next_response(&f, &cl, resp, sizeof(resp)) > 0);
	CHECK_STR_CONTAINS(resp, " GET /in ");
	cli_close(&cl);
	for (int i = 1; i < API_MAX_CONNECTIONS; i++)
		cli_close(&many[i]);
	for (int i = 0; i < 5; i++)
		api_server_serve(f.s, 0);
	CHECK_EQ(count_fds(), base);
	teardown(&f);
}

TEST(server_slow_reader)
{
	enum { NREQ = 150 };
	struct fixture f;
	unsigned served;
	int got = 0;

	if (!setup(&f)) {
		CHECK(0);
		return;
	}
	cli_open(&cl, f.path);
	for (int i = 0; i < NREQ; i++)
		send_str(cl.fd, "GET /big HTTP/1.1\r\n\r\n");
	/* Not reading: the server stops taking requests once its output backs
	 * up (the socket buffers plus API_OUT_PAUSE), instead of buffering all
	 * 150 x 8 KiB. */
	for (int i = 0; i < 200; i++)
		api_server_serve(f.s, 0);
	served = f.calls;
	CHECK(served > 0 && served < NREQ);
	for (int i = 0; i < 200; i++)
		api_server_serve(f.s, 0);
	CHECK_EQ(f.calls, served);
	/* Reading now: every answer arrives, in order. */
	for (int i = 0; i < NREQ; i++) {
		char want[32];

		if (next_response(&f, &cl, resp, sizeof(resp)) <= 0)
			break;
		sprintf(want, "\r\n\r\n%d b", i);
		if (strstr(resp, want))
			got++;
	}
	CHECK_EQ(got, NREQ);
	CHECK_EQ(f.calls, NREQ);
	cli_close(&cl);
	teardown(&f);
}

static void noop(void *ctx, const struct http_request *req, struct api_response *resp)
{
	(void)ctx;
	(void)req;
	resp->status = 204;
}

TEST(server_socket_path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[] = "/tmp/ember-http-XXXXXX", path[128], file[128];
	struct api_server *s, *s2;
	int fd, base = count_fds();
	struct stat st;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/api.sock", dir);
	snprintf(file, sizeof(file), "%s/file", dir);
	strcpy(sa.sun_path, path);

	/* A stale socket (bound, its owner gone) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);
	s = api_server_open(path, 1024, noop, NULL);
	CHECK(s != NULL);

	/* A live one is not. */
	errno = 0;
	s2 = api_server_open(path, 1024, noop, NULL);
	CHECK(s2 == NULL && errno == EADDRINUSE);
	CHECK_STR_CONTAINS(ember_lasterr(), "in use");
	api_server_serve(s, 0); /* the probe connection comes and goes */

	/* Closing leaves a path that is no longer ours alone. */
	CHECK(unlink(path) == 0);
	CHECK((fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)) >= 0);
	close(fd);
	api_server_close(s);
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode));

	/* A regular file is refused and left alone. */
	errno = 0;
	s = api_server_open(path, 1024, noop, NULL);
	CHECK(s == NULL && errno == EEXIST);
	CHECK_STR_CONTAINS(ember_lasterr(), "not a socket");
	CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode));
	unlink(path);

	/* So is a symlink, even to a stale socket. */
	CHECK(symlink(file, path) == 0);
	s = api_server_open(path, 1024, noop, NULL);
	CHECK(s == NULL && errno == EEXIST);
	unlink(path);

	/* A directory that is not there. */
	snprintf(file, sizeof(file), "%s/no/such/dir.sock", dir);
	errno = 0;
	CHECK(api_server_open(file, 1024, noop, NULL) == NULL && errno == ENOENT);
	CHECK_STR_CONTAINS(ember_lasterr(), "bind");
	api_server_close(NULL);

	/* Bad arguments. */
	memset(file, 'x', sizeof(file) - 1);
	file[sizeof(file) - 1] = '\0';
	CHECK(api_server_open(file, 1024, noop, NULL) == NULL && errno == ENAMETOOLONG);
	CHECK(api_server_open("", 1024, noop, NULL) == NULL && errno == EINVAL);
	CHECK(api_server_open(path, 1024, NULL, NULL) == NULL && errno == EINVAL);
	CHECK(api_server_open(path, (size_t)HTTP_MAX_BODY_LIMIT + 1, noop, NULL) == NULL &&
	      errno == EINVAL);
	CHECK(access(path, F_OK) < 0);
	CHECK(rmdir(dir) == 0);
	CHECK_EQ(count_fds(), base);
}

SUITE(http, T(parse_get_complete), T(parse_put_body), T(parse_split_every_byte), T(parse_pipelined),
      T(parse_garbage), T(parse_truncated), T(parse_oversized_head), T(parse_too_many_headers),
      T(parse_body_limit), T(parse_bad_content_length), T(parse_transfer_encoding),
      T(parse_absolute_uri), T(parse_query_string), T(parse_path_limit), T(parse_http10),
      T(parse_connection_close), T(parse_expect_continue), T(parse_line_endings),
      T(parse_header_syntax), T(parse_methods), T(format_response), T(fault_json),
      T(server_roundtrip), T(server_pipelined), T(server_expect_continue), T(server_byte_at_a_time),
      T(server_disconnects), T(server_payload_too_large), T(server_many_bad_requests),
      T(server_http10_and_close), T(server_max_connections), T(server_slow_reader),
      T(server_socket_path));
