// SPDX-License-Identifier: MIT
/*
 * The API socket server (see server.h): one epoll set holding the listening
 * socket and up to API_MAX_CONNECTIONS clients, level-triggered.
 *
 * Each client has an input buffer, parsed from its start after every read
 * (a partial request is re-parsed when more arrives: at most HTTP_HEAD_MAX
 * bytes of head, cheap next to a syscall), and an output queue written with
 * non-blocking send(MSG_NOSIGNAL) whenever there is something in it, then on
 * EPOLLOUT. The input buffer never grows past HTTP_HEAD_MAX + max_payload,
 * the largest request the parser accepts: it refuses a larger one before it
 * is all read.
 *
 * Where micro_http (Firecracker's HTTP server) differs, on purpose:
 * - after a malformed request it answers 400 but keeps the connection, with
 *   its parser left mid-request, so the rest of the bad request is parsed as
 *   more requests; we answer with "Connection: close" and close once the
 *   answer is sent.
 * - it closes a connection on EPOLLRDHUP without answering, so a client that
 *   half-closes after its request (shutdown(SHUT_WR)) gets nothing; we answer
 *   what was received, then close.
 * - it keeps an HTTP/1.0 connection open and ignores "Connection: close";
 *   we close as RFC 9112 9.3 says.
 */
#include "api/server.h"

#include <errno.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "util.h"

/* Read granularity: the input buffer grows by at least this much. */
#define IN_CHUNK 4096
/* How much unread input we swallow before closing a connection we refused,
 * so that the kernel does not turn the close into ECONNRESET for the client
 * (AF_UNIX does when the receive queue is not empty) before it reads our
 * answer. */
#define DRAIN_MAX (64u << 10)
/* A refused connection lingers: our side is shut, and what the client still
 * sends (the body of a request refused for its size, which many clients
 * write after the head) is read and dropped until it closes, up to this
 * much; then we close. Closing at once would make its write fail with
 * EPIPE before it reads our 400 (as HTTP servers' "lingering close"). */
#define LINGER_MAX     (HTTP_MAX_BODY_LIMIT / 8)
#define LISTEN_BACKLOG 64

struct api_conn {
	int fd;
	uint8_t *in; /* received, not yet answered */
	size_t in_len, in_cap;
	struct http_buf out; /* responses; out.data[out_off..out.len) unsent */
	size_t out_off;
	uint32_t events;    /* what epoll watches for this fd */
	bool continue_sent; /* 100 Continue already queued for the request at in[0] */
	bool eof;	    /* the client shut down its side: nothing more to read */
	bool closing;	    /* no more requests: close when out is flushed */
	bool lingering;	    /* answered and shut: dropping input until EOF */
	size_t linger_left; /* bytes we still drop before closing anyway */
};

struct api_server {
	int epfd, lfd;
	char *path;
	dev_t dev; /* of the socket file we bound, for api_server_close() */
	ino_t ino;
	size_t max_payload;
	size_t in_max; /* HTTP_HEAD_MAX + max_payload: one whole request */
	api_handler fn;
	void *ctx;
	struct http_buf full; /* the 503 for a client over API_MAX_CONNECTIONS */
	struct api_conn *conns[API_MAX_CONNECTIONS];
	unsigned nconns;
};

static size_t pending(const struct api_conn *c)
{
	return c->out.len - c->out_off;
}

static void conn_close(struct api_server *s, struct api_conn *c)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	http_buf_free(&c->out);
	for (unsigned i = 0; i < s->nconns; i++) {
		if (s->conns[i] == c) {
			s->conns[i] = s->conns[--s->nconns];
			break;
		}
	}
	free(c);
}

/* Swallow what the client sent after the request we refused (see DRAIN_MAX). */
static void drain(int fd)
{
	uint8_t scratch[4096];
	size_t total = 0;
	ssize_t n;

	while (total < DRAIN_MAX && (n = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT)) > 0)
		total += (size_t)n;
}

/* Queue a server-made error: fault_message body. */
static int queue_fault(struct api_conn *c, int status, const char *msg, unsigned flags)
{
	char *body;
	size_t len;
	int r = http_fault_json(msg, &body, &len);

	if (r < 0)
		return r;
	r = http_format_response(&c->out, status, body, len, flags);
	free(body);
	return r;
}

/* Hand one complete request to the handler and queue its answer. */
static int handle(struct api_server *s, struct api_conn *c, const struct http_request *req)
{
	struct api_response resp = { 0 };
	unsigned flags = req->keep_alive ? 0 : HTTP_RESP_CLOSE;
	int r = -EINVAL;

	s->fn(s->ctx, req, &resp);
	if (resp.deprecation)
		flags |= HTTP_RESP_DEPRECATION;
	if (resp.status >= 200 && resp.status <= 599)
		r = http_format_response(&c->out, resp.status, resp.body, resp.body_len, flags);
	free(resp.body);
	if (r == -EINVAL)
		r = queue_fault(c, 500, "Internal error: the API handler gave an invalid response.",
				flags);
	return r;
}

/* Answer every complete request in the input buffer, in order, until the
 * output backs up (API_OUT_PAUSE). Returns 0 or -ENOMEM. */
static int process(struct api_server *s, struct api_conn *c)
{
	size_t off = 0;
	int r = 0;

	while (!c->closing && off < c->in_len && pending(c) < API_OUT_PAUSE) {
		struct http_request req;
		char err[256];
		int n = http_parse_request(c->in + off, c->in_len - off, s->max_payload, &req, err,
					   sizeof(err));

		if (n < 0) {
			c->closing = true;
			r = queue_fault(c, -n, err, HTTP_RESP_CLOSE);
			break;
		}
		if (n == 0) {
			/* The client waits for this before it sends the body
			 * (curl does, for up to a second). micro_http queues it
			 * even when the body came with the head; a client that
			 * did not wait has no use for it (RFC 9110 10.1.1 lets
			 * us leave it out), so only a missing body gets one. */
			if (req.expect_continue && !c->continue_sent) {
				c->continue_sent = true;
				r = http_format_response(&c->out, 100, NULL, 0, 0);
			}
			break;
		}
		r = handle(s, c, &req);
		off += (size_t)n;
		c->continue_sent = false;
		if (r < 0)
			break;
		if (!req.keep_alive)
			c->closing = true;
	}
	if (c->closing)
		off = c->in_len; /* whatever follows is not answered */
	if (off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	return r;
}

/* One recv() into the input buffer. Returns 0 (EOF sets c->eof) or a
 * negative errno when the connection is broken. */
static int conn_read(struct api_server *s, struct api_conn *c)
{
	ssize_t n;

	if (c->in_cap - c->in_len < IN_CHUNK && c->in_cap < s->in_max) {
		size_t cap =
		    c->in_cap * 2 > c->in_len + IN_CHUNK ? c->in_cap * 2 : c->in_len + IN_CHUNK;
		uint8_t *p;

		if (cap > s->in_max)
			cap = s->in_max;
		p = realloc(c->in, cap);
		if (!p)
			return -ENOMEM;
		c->in = p;
		c->in_cap = cap;
	}
	if (c->in_len == c->in_cap) {
		/* Cannot happen: the parser refuses a request larger than
		 * in_max before the buffer fills. Refuse rather than spin. */
		c->closing = true;
		return queue_fault(c, 400, "Invalid request: request too large.", HTTP_RESP_CLOSE);
	}
	n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	if (n > 0)
		c->in_len += (size_t)n;
	else if (n == 0)
		c->eof = true;
	else if (errno != EAGAIN && errno != EINTR)
		return -errno;
	return 0;
}

/* Send what is queued until the socket is full. Returns 0 or a negative
 * errno (EPIPE, ECONNRESET: the client is gone). */
static int conn_flush(struct api_conn *c)
{
	while (pending(c)) {
		ssize_t n =
		    send(c->fd, c->out.data + c->out_off, pending(c), MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		c->out_off += (size_t)n;
	}
	if (!pending(c)) {
		c->out.len = 0;
		c->out_off = 0;
	} else if (c->out_off > c->out.len / 2) {
		memmove(c->out.data, c->out.data + c->out_off, pending(c));
		c->out.len -= c->out_off;
		c->out_off = 0;
	}
	return 0;
}

static bool wants_input(const struct api_conn *c)
{
	return !c->closing && !c->eof && pending(c) < API_OUT_PAUSE;
}

/* React to epoll events on a client: read, answer, write, then either close
 * the connection or tell epoll what to wait for next. */
/* Shut our side of a refused connection and read it dry (see LINGER_MAX).
 * 0 when it lingers, -1 when it should close now. */
static int conn_linger(struct api_server *s, struct api_conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	if (shutdown(c->fd, SHUT_WR) < 0 || epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		return -1;
	c->events = EPOLLIN;
	c->lingering = true;
	c->linger_left = s->max_payload + HTTP_HEAD_MAX;
	if (c->linger_left > LINGER_MAX)
		c->linger_left = LINGER_MAX;
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
	return 0;
}

/* A lingering connection has input: drop it; close at EOF, on an error or
 * past the limit. */
static void conn_drop_input(struct api_server *s, struct api_conn *c)
{
	uint8_t scratch[4096];

	for (;;) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0 || (size_t)n >= c->linger_left) {
			conn_close(s, c);
			return;
		}
		c->linger_left -= (size_t)n;
	}
}

static void conn_event(struct api_server *s, struct api_conn *c, uint32_t events)
{
	uint32_t want;

	if (c->lingering) {
		conn_drop_input(s, c);
		return;
	}
	/* EPOLLHUP and EPOLLERR come whatever we asked for; a read then sees
	 * the EOF or the error. While paused we do not read: the flush below
	 * meets the error instead. */
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && wants_input(c) && conn_read(s, c) < 0)
		goto close;
	for (;;) {
		size_t before = c->in_len;
		bool paused = pending(c) >= API_OUT_PAUSE;

		if (process(s, c) < 0 || conn_flush(c) < 0)
			goto close;
		/* Requests may wait in the buffer behind a pause that this
		 * flush lifted, with no more input to wake us: go on while
		 * that may be so. */
		if (c->closing || !c->in_len || pending(c) >= API_OUT_PAUSE ||
		    (c->in_len == before && !paused))
			break;
	}
	if (!pending(c) && (c->closing || c->eof))
		goto close;

	want = (wants_input(c) ? EPOLLIN : 0) | (pending(c) ? EPOLLOUT : 0);
	if (want != c->events) {
		struct epoll_event ev = { .events = want, .data.ptr = c };

		if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			goto close;
		c->events = want;
	}
	return;
close:
	if (c->closing && !c->eof && !pending(c) && conn_linger(s, c) == 0)
		return;
	if (c->closing && !c->eof)
		drain(c->fd);
	conn_close(s, c);
}

static void accept_clients(struct api_server *s)
{
	/* A bounded batch, so one serve() call stays short under a flood. */
	for (int i = 0; i < 2 * API_MAX_CONNECTIONS; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct api_conn *c;
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN, or out of fds: the next serve() retries */
		}
		if (s->nconns == API_MAX_CONNECTIONS) {
			/* As micro_http: accept, say 503, close. The answer is
			 * small and the socket new, so one send() takes it. */
			send(fd, s->full.data, s->full.len, MSG_NOSIGNAL | MSG_DONTWAIT);
			drain(fd);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		s->conns[s->nconns++] = c;
	}
}

int api_server_serve(struct api_server *s, int timeout_ms)
{
	struct epoll_event ev[API_MAX_CONNECTIONS + 1];
	int n = epoll_wait(s->epfd, ev, (int)ARRAY_SIZE(ev), timeout_ms);

	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return ember_seterr(-errno, "api socket %s: epoll_wait: %s", s->path,
				    strerror(errno));
	}
	/* Safe to free a connection inside the loop: each fd is reported at
	 * most once per epoll_wait(), and only its own event closes it. */
	for (int i = 0; i < n; i++) {
		if (ev[i].data.ptr)
			conn_event(s, ev[i].data.ptr, ev[i].events);
		else
			accept_clients(s);
	}
	return n;
}

int api_server_fd(const struct api_server *s)
{
	return s->epfd;
}

/* Make way for our socket at path: nothing there, or a socket left behind by
 * a process that is gone (nobody accepts on it). Anything else stays. */
static int clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r, e;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return ember_seterr(-errno, "api socket %s: %s", path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return ember_seterr(-EEXIST, "api socket %s: exists and is not a socket", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ember_seterr(-errno, "api socket %s: socket: %s", path, strerror(errno));
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	e = errno;
	close(fd);
	/* EAGAIN: a listener whose backlog is full, so a live one. */
	if (r == 0 || e == EAGAIN)
		return ember_seterr(-EADDRINUSE,
				    "api socket %s: in use (a process is listening on it)", path);
	if (e != ECONNREFUSED)
		return ember_seterr(-e, "api socket %s: cannot tell whether it is in use: %s", path,
				    strerror(e));
	if (unlink(path) < 0 && errno != ENOENT)
		return ember_seterr(-errno, "api socket %s: removing the stale socket: %s", path,
				    strerror(errno));
	return 0;
}

struct api_server *api_server_open(const char *path, size_t max_payload, api_handler fn, void *ctx)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	struct api_server *s;
	bool bound = false;
	struct stat st;
	mode_t old;
	char *body;
	size_t len;
	int r;

	if (!path || !fn) {
		errno = EINVAL;
		ember_seterr(-EINVAL, "api socket: no path or handler");
		return NULL;
	}
	if (strlen(path) == 0) {
		errno = EINVAL;
		ember_seterr(-EINVAL, "api socket: empty path");
		return NULL;
	}
	/* sun_path must hold it with its NUL: a longer path would be cut. */
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		ember_seterr(-ENAMETOOLONG, "api socket %s: path is over %zu bytes", path,
			     sizeof(sa.sun_path) - 1);
		return NULL;
	}
	if (max_payload > HTTP_MAX_BODY_LIMIT) {
		errno = EINVAL;
		ember_seterr(-EINVAL, "api socket %s: payload limit %zu is over %d", path,
			     max_payload, HTTP_MAX_BODY_LIMIT);
		return NULL;
	}
	strcpy(sa.sun_path, path);

	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		ember_seterr(-ENOMEM, "api socket %s: out of memory", path);
		return NULL;
	}
	s->epfd = s->lfd = -1;
	s->max_payload = max_payload;
	s->in_max = HTTP_HEAD_MAX + max_payload;
	s->fn = fn;
	s->ctx = ctx;
	s->path = strdup(path);
	r = http_fault_json("Too many open connections", &body, &len);
	if (r == 0) {
		r = http_format_response(&s->full, 503, body, len, HTTP_RESP_CLOSE);
		free(body);
	}
	if (!s->path || r < 0) {
		r = ember_seterr(-ENOMEM, "api socket %s: out of memory", path);
		goto fail;
	}

	r = clear_stale(path, &sa);
	if (r < 0)
		goto fail;
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0) {
		r = ember_seterr(-errno, "api socket %s: socket: %s", path, strerror(errno));
		goto fail;
	}
	/* The socket file gets 0777 & ~umask; whoever can connect controls the
	 * VM, so only the owner may: 0600 (Firecracker leaves this to its
	 * jailer). */
	old = umask(0177);
	r = bind(s->lfd, (const struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0) {
		r = ember_seterr(-errno, "api socket %s: bind: %s", path, strerror(errno));
		goto fail;
	}
	bound = true;
	if (stat(path, &st) < 0) {
		r = ember_seterr(-errno, "api socket %s: %s", path, strerror(errno));
		goto fail;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if (listen(s->lfd, LISTEN_BACKLOG) < 0) {
		r = ember_seterr(-errno, "api socket %s: listen: %s", path, strerror(errno));
		goto fail;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->lfd, &ev) < 0) {
		r = ember_seterr(-errno, "api socket %s: epoll: %s", path, strerror(errno));
		goto fail;
	}
	return s;
fail:
	if (bound)
		unlink(path);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->epfd >= 0)
		close(s->epfd);
	http_buf_free(&s->full);
	free(s->path);
	free(s);
	errno = -r;
	return NULL;
}

void api_server_close(struct api_server *s)
{
	struct stat st;

	if (!s)
		return;
	while (s->nconns)
		conn_close(s, s->conns[s->nconns - 1]);
	close(s->lfd);
	close(s->epfd);
	/* Only our own socket: another process may have replaced the path
	 * (a new ember on the same path after removing ours). A replacement
	 * between this stat() and the unlink() is not guarded against. */
	if (stat(s->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == s->dev &&
	    st.st_ino == s->ino)
		unlink(s->path);
	http_buf_free(&s->full);
	free(s->path);
	free(s);
}

/* Serving on a thread of its own (ember run --api-sock). */
static void *api_thread_main(void *arg)
{
	struct api_thread *t = arg;

	prctl(PR_SET_NAME, t->srv ? "ember_api" : "ember_sig", 0, 0, 0);
	sandbox_enter(SB_CONTROL);
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = t->quit_fd, .events = POLLIN },
			{ .fd = t->srv ? api_server_fd(t->srv) : -1, .events = POLLIN },
			{ .fd = t->sig_fd, .events = POLLIN },
		};
		struct signalfd_siginfo si;

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		if ((p[2].revents & POLLIN) && read(t->sig_fd, &si, sizeof(si)) == sizeof(si))
			t->on_signal(t->ctx, (int)si.ssi_signo);
		if ((p[1].revents & POLLIN) && api_server_serve(t->srv, 0) < 0)
			break;
	}
	return NULL;
}

int api_thread_start(struct api_thread *t, struct api_server *srv, int sig_fd,
		     void (*on_signal)(void *ctx, int sig), void *ctx)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->srv = srv;
	t->sig_fd = sig_fd;
	t->on_signal = on_signal;
	t->ctx = ctx;
	t->quit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->quit_fd < 0)
		return ember_seterr(-errno, "%s thread: eventfd: %s", srv ? "API" : "signal",
				    strerror(errno));
	err = ember_thread_start(&t->thread, api_thread_main, t);
	if (err) {
		close(t->quit_fd);
		t->quit_fd = -1;
		return ember_seterr(-err, "%s thread: %s", srv ? "API" : "signal", strerror(err));
	}
	t->running = true;
	return 0;
}

void api_thread_stop(struct api_thread *t)
{
	uint64_t one = 1;

	if (!t->running)
		return;
	if (write(t->quit_fd, &one, sizeof(one)) < 0)
		perror("ember: API thread: eventfd");
	pthread_join(t->thread, NULL);
	close(t->quit_fd);
	t->running = false;
}
