/* SPDX-License-Identifier: MIT */
/*
 * Firecracker's REST API (v1.16) over an instance: the routes, which calls
 * are allowed in which state, the fault messages, and the request counters
 * its metrics report. The HTTP side is api/server.c, the JSON side
 * api/fc_json.c; this file only decides.
 *
 * State semantics, as Firecracker's: configuration calls (boot source,
 * machine config, drives and interfaces by PUT, vsock, entropy, logger,
 * metrics, serial) and InstanceStart are pre-boot only; PATCH of drives,
 * interfaces and the VM state, SendCtrlAltDel and FlushMetrics are
 * post-boot only; either way a call in the wrong state gets a 400 that says
 * so. Endpoints ember does not implement answer 400 and name themselves.
 */
#ifndef EMBER_API_API_H
#define EMBER_API_API_H

#include <stdbool.h>
#include <stdint.h>

#include "api/http.h"
#include "api/server.h"
#include "config.h"

struct instance;
struct logger;
struct metrics;

/* Request counters, Firecracker's metric names (get_api_requests.*,
 * put_api_requests.*, patch_api_requests.*). */
enum api_counter {
	API_GET_INSTANCE_INFO,
	API_GET_MACHINE_CFG,
	API_GET_VMM_VERSION,
	API_GET_VM_CONFIG,
	API_PUT_ACTIONS,
	API_PUT_BOOT_SOURCE,
	API_PUT_DRIVE,
	API_PUT_LOGGER,
	API_PUT_MACHINE_CFG,
	API_PUT_METRICS,
	API_PUT_NETWORK,
	API_PUT_VSOCK,
	API_PUT_ENTROPY,
	API_PUT_SERIAL,
	API_PATCH_DRIVE,
	API_PATCH_NETWORK,
	API_PATCH_MACHINE_CFG,
	API_PATCH_VM,
	API_OTHER,
	API_NCOUNTERS
};

struct api {
	struct instance *in;
	struct logger *log;
	struct metrics *metrics;
	const char *id;	 /* the instance id (GET /) */
	/* A boot resource was configured: a snapshot may no longer be loaded
	 * (Firecracker's boot_path). */
	bool boot_path;
	uint64_t count[API_NCOUNTERS], fails[API_NCOUNTERS];
};

/* The server's handler (ctx is the struct api). */
void api_handle(void *ctx, const struct http_request *req, struct api_response *resp);

/* Apply a Firecracker config file to the instance's configuration, as the
 * equivalent API calls would (logger and metrics included). 0 or negative
 * errno with a message. */
int api_load_config_file(struct api *a, const char *path);

/* Start the instance as InstanceStart does. */
int api_start(struct api *a);

#endif
