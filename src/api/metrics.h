/* SPDX-License-Identifier: MIT */
/*
 * Firecracker's metrics, for Firecracker mode: one JSON object per line,
 * written to a file or named pipe (PUT /metrics, --metrics-path) every
 * METRICS_PERIOD_S seconds, on FlushMetrics and when ember exits. Names
 * follow Firecracker's (api_server, get_api_requests, put_api_requests,
 * patch_api_requests, block / block_<id>, net / net_<id>, entropy, vcpu,
 * vmm, uart, logger, latencies_us); counters are deltas since the last
 * line, as Firecracker's "incremental" metrics are. ember reports the
 * counters it keeps; docs/firecracker-api.md lists them.
 *
 * The values are pulled from their owners (the API's request counts, the
 * devices' and vCPUs' counters) when a line is written: no global state.
 */
#ifndef EMBER_API_METRICS_H
#define EMBER_API_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#define METRICS_PERIOD_S 60
#define METRICS_MAX_KEYS 512

struct api;
struct instance;
struct logger;

struct metrics {
	int fd; /* -1: not configured */
	struct instance *in;
	struct api *api;
	struct logger *log;
	uint64_t startup_us, startup_cpu_us; /* api_server.process_startup_time_* */
	uint64_t fails, missed;
	/* Previous values of the incremental counters, for the deltas. */
	unsigned nkeys;
	struct metrics_prev {
		char key[64];
		uint64_t value;
	} prev[METRICS_MAX_KEYS];
};

void metrics_init(struct metrics *m, struct instance *in, struct api *api, struct logger *log);
/* Open the metrics target. 0 or negative errno with a message; a second
 * configuration is refused, as Firecracker refuses it. */
int metrics_configure(struct metrics *m, const char *path);
bool metrics_configured(const struct metrics *m);
/* Write one line now (nothing if not configured). 0 or negative errno. */
int metrics_flush(struct metrics *m);
void metrics_close(struct metrics *m);

#endif
