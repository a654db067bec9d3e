/* SPDX-License-Identifier: MIT */
/*
 * The API socket: an HTTP/1.1 server on a Unix socket, driven by whoever calls
 * api_server_serve() (single-threaded; one epoll fd to wait on). Requests are
 * parsed by http.c and handed, complete and in order, to one handler; its
 * responses go back in the same order. Errors the server answers itself
 * (malformed requests, a payload over the limit, too many connections) carry
 * Firecracker's {"fault_message": "..."} body.
 */
#ifndef EMBER_API_SERVER_H
#define EMBER_API_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "api/http.h"

/* micro_http's MAX_CONNECTIONS: one more client is accepted, answered 503
 * "Too many open connections" and closed. */
#define API_MAX_CONNECTIONS 10
/* Backpressure: while this much of a client's output is unsent (it is not
 * reading), its further requests stay unread in the socket, so a client
 * that never reads costs at most this plus one response. */
#define API_OUT_PAUSE (64u << 10)

/* What the handler fills in. status is the final status (200..599); body is
 * malloc'd by the handler, or NULL, and the server frees it. body is sent as
 * application/json, except for 204, which has no body. */
struct api_response {
	int status;
	char *body;
	size_t body_len;
	bool deprecation; /* send "Deprecation: true", as Firecracker does for
			   * deprecated fields and endpoints */
};

/* Called once per complete request, synchronously, from api_server_serve().
 * req and its body are valid only during the call. resp arrives zeroed; a
 * status outside 200..599 is answered 500. The handler must not call
 * api_server_serve() or api_server_close(). */
typedef void (*api_handler)(void *ctx, const struct http_request *req, struct api_response *resp);

struct api_server;

/*
 * Bind and listen on path (owner-only: mode 0600, created under a umask of
 * 0177). An existing path is replaced only if it is a stale socket nobody
 * listens on (connect() gives ECONNREFUSED); anything else is refused with a
 * message. max_payload is the largest request body (HTTP_DEFAULT_MAX_PAYLOAD
 * is Firecracker's default), up to HTTP_MAX_BODY_LIMIT. Every fd is
 * non-blocking and close-on-exec. Returns NULL with errno set and a message
 * (ember_lasterr()) on failure.
 *
 * The umask is process-wide: call this before starting other threads that
 * create files.
 */
struct api_server *api_server_open(const char *path, size_t max_payload, api_handler fn, void *ctx);

/* An epoll fd, readable when api_server_serve() has work: poll it, or add it
 * to another epoll set. */
int api_server_fd(const struct api_server *s);

/* Wait up to timeout_ms (0: do not wait; -1: forever) and handle the ready
 * events once: accept, read, call the handler, write. Returns the number of
 * events handled (0 on timeout or EINTR), or a negative errno on a fatal
 * error (the epoll fd failed). A client's own errors never end the server. */
int api_server_serve(struct api_server *s, int timeout_ms);

/* Close every connection (unsent responses are dropped), the listening socket
 * and the epoll fd; unlink the path only if it is still our socket (same
 * device and inode); free s. NULL is ignored. */
void api_server_close(struct api_server *s);

/* Serve srv on a thread of its own until api_thread_stop() (ember run
 * --api-sock: the main thread runs vCPU 0). With a signalfd (sig_fd >= 0)
 * the thread also calls on_signal for each signal read from it; with srv
 * NULL it only does that (plain ember run). */
struct api_thread {
	pthread_t thread;
	struct api_server *srv;
	int quit_fd;
	int sig_fd;
	void (*on_signal)(void *ctx, int sig);
	void *ctx;
	bool running;
};
int api_thread_start(struct api_thread *t, struct api_server *srv, int sig_fd,
		     void (*on_signal)(void *ctx, int sig), void *ctx);
void api_thread_stop(struct api_thread *t);

#endif
