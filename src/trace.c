// SPDX-License-Identifier: MIT
#include "trace.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

void trace_init(struct trace *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
}

void trace_destroy(struct trace *t)
{
	pthread_mutex_destroy(&t->lock);
}

void trace_mark(struct trace *t, const char *what, bool once)
{
	double ms = ember_ms();

	pthread_mutex_lock(&t->lock);
	if (once)
		for (unsigned i = 0; i < t->n; i++)
			if (strcmp(t->ev[i].what, what) == 0)
				goto out;
	if (t->n < TRACE_MAX_EVENTS) {
		snprintf(t->ev[t->n].what, sizeof(t->ev[0].what), "%s", what);
		t->ev[t->n++].ms = ms;
	}
out:
	pthread_mutex_unlock(&t->lock);
}

void trace_print(struct trace *t, FILE *f)
{
	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < t->n; i++)
		fprintf(f, "ember: boot-trace: %9.3f ms  %s\n", t->ev[i].ms, t->ev[i].what);
	pthread_mutex_unlock(&t->lock);
}
