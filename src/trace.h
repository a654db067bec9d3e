/* SPDX-License-Identifier: MIT */
/* Boot timeline (--boot-trace): named events in ms since ember started. */
#ifndef EMBER_TRACE_H
#define EMBER_TRACE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#define TRACE_MAX_EVENTS 16

#define TRACE_WHAT_MAX 48

struct trace_event {
	char what[TRACE_WHAT_MAX]; /* a copy: callers may pass a buffer */
	double ms;
};

struct trace {
	pthread_mutex_t lock;
	unsigned n;
	struct trace_event ev[TRACE_MAX_EVENTS];
};

void trace_init(struct trace *t);
void trace_destroy(struct trace *t);
/* Record `what` now (copied, cut at TRACE_WHAT_MAX - 1 bytes); with `once`,
 * only its first time. */
void trace_mark(struct trace *t, const char *what, bool once);
void trace_print(struct trace *t, FILE *f);

#endif
