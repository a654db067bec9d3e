// SPDX-License-Identifier: MIT
/*
 * `ember firecracker ...`, and ember started as `firecracker`: Firecracker's
 * command line (v1.16) in front of the same instance the CLI drives. The
 * main thread serves the API socket; the VM's threads run on their own.
 * The process ends when the guest resets or powers off, on SIGTERM, SIGINT
 * or SIGHUP (after a clean teardown), or at once on a bad command line.
 */
#include "api/fc_main.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/fc_json.h"
#include "api/logger.h"
#include "api/metrics.h"
#include "api/server.h"
#include "instance.h"
#include "sandbox/sandbox.h"
#include "util.h"

#define FC_DEFAULT_API_SOCK "/run/firecracker.socket"
#define FC_DEFAULT_ID	    "anonymous-instance"
#define FC_MAX_PAYLOAD	    51200

static const char fc_help[] =
    "NAME\n"
    "    ember firecracker - ember behind Firecracker's command line and API (v%s)\n"
    "\n"
    "SYNOPSIS\n"
    "    ember firecracker [--api-sock PATH] [--config-file FILE] [--no-api]\n"
    "                      [--id ID] [--boot-timer] [--level LEVEL] [--log-path PATH]\n"
    "                      [--show-level] [--show-log-origin] [--module M]\n"
    "                      [--metrics-path PATH] [--http-api-max-payload-size BYTES]\n"
    "                      [--start-time-us US] [--start-time-cpu-us US]\n"
    "                      [--parent-cpu-time-us US] [--no-seccomp] [--version]\n"
    "    firecracker ...   (the same, through a program named firecracker)\n"
    "\n"
    "DESCRIPTION\n"
    "    Serves Firecracker's REST API on a Unix socket (default %s), or\n"
    "    boots from a config file alone with --no-api. With --config-file and\n"
    "    the API, the VM boots from the file at once and the API serves it.\n"
    "    docs/firecracker-api.md lists every endpoint and field and its status.\n"
    "\n"
    "OPTIONS\n"
    "    --api-sock PATH        the API socket (created mode 0600; a stale socket\n"
    "                           is replaced, anything else refused)\n"
    "    --config-file FILE     a Firecracker JSON config (boot-source, drives, ...)\n"
    "    --no-api               no API socket; needs --config-file\n"
    "    --id ID                the instance id (1-64 of A-Z a-z 0-9 - _)\n"
    "    --boot-timer           log the guest's boot time when it writes the boot\n"
    "                           marker (123 to port 0x3f0 or MMIO 0xd0000000)\n"
    "    --level LEVEL          Error, Warning, Info (default), Debug, Trace or Off\n"
    "    --log-path PATH        log to this file or FIFO (default: standard error)\n"
    "    --show-level, --show-log-origin, --module M   log line details and filter\n"
    "    --metrics-path PATH    write JSON metrics lines to this file or FIFO\n"
    "    --http-api-max-payload-size BYTES   request body limit (default %d)\n"
    "    --start-time-us, --start-time-cpu-us, --parent-cpu-time-us US\n"
    "                           the jailer's start times, for the startup metrics\n"
    "    --no-seccomp           run without the per-thread seccomp filters (debugging)\n"
    "    --version              print the Firecracker version implemented and\n"
    "                           ember's own\n"
    "\n"
    "EXIT STATUS\n"
    "    0 the guest reset or powered off, or SIGTERM/SIGINT/SIGHUP ended ember\n"
    "    1 ember failed (one line on standard error, and in the log)\n"
    "    2 bad command line\n"
    "    3 the guest failed in a way KVM reports\n";

struct fc_args {
	const char *api_sock;
	const char *config_file;
	bool no_api;
	bool no_seccomp;
	const char *id;
	bool boot_timer;
	struct logger_config log;
	bool log_set;
	const char *metrics_path;
	size_t max_payload;
	uint64_t start_us, start_cpu_us, parent_cpu_us;
	bool has_start_us, has_start_cpu_us;
};

static int usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "ember: firecracker: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see ember firecracker --help)\n");
	return EMBER_EXIT_USAGE;
}

/* Firecracker's instance ids: 1-64 bytes of alphanumerics, '-' and '_'. */
static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 64)
		return false;
	for (const char *p = id; *p; p++)
		if (!(*p == '-' || *p == '_' || (*p >= '0' && *p <= '9') ||
		      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return false;
	return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return !errno && !*end;
}

static int parse_args(int argc, char **argv, struct fc_args *o)
{
	memset(o, 0, sizeof(*o));
	o->api_sock = FC_DEFAULT_API_SOCK;
	o->id = FC_DEFAULT_ID;
	o->max_payload = FC_MAX_PAYLOAD;
	o->log.level = LOG_INFO;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		static const char *const valued[] = {
			"--api-sock",
			"--config-file",
			"--id",
			"--level",
			"--log-path",
			"--module",
			"--metrics-path",
			"--http-api-max-payload-size",
			"--start-time-us",
			"--start-time-cpu-us",
			"--parent-cpu-time-us",
			"--mmds-size-limit",
			"--seccomp-filter",
			"--describe-snapshot",
		};
		int k = 0;
		unsigned w;

		for (w = 0; w < ARRAY_SIZE(valued) && !k; w++)
			k = config_take_value(argc, argv, &i, valued[w], &v);
		if (k < 0)
			return usage("%s needs a value", a);
		if (k) {
			const char *name = valued[w - 1];
			uint64_t n;

			if (!strcmp(name, "--api-sock"))
				o->api_sock = v;
			else if (!strcmp(name, "--config-file"))
				o->config_file = v;
			else if (!strcmp(name, "--id")) {
				if (!valid_id(v))
					return usage("--id '%s': Invalid instance ID (1-64 of A-Z "
						     "a-z 0-9 - _)",
						     v);
				o->id = v;
			} else if (!strcmp(name, "--level")) {
				if (fcj_parse_level(v, &o->log.level))
					return usage(
					    "--level '%s': not Error, Warning, Info, Debug, "
					    "Trace or Off",
					    v);
				o->log_set = true;
			} else if (!strcmp(name, "--log-path")) {
				if (config_copy(o->log.path, sizeof(o->log.path), v))
					return usage("--log-path: path too long: %s", v);
				o->log_set = true;
			} else if (!strcmp(name, "--module")) {
				if (config_copy(o->log.module, sizeof(o->log.module), v))
					return usage("--module: too long: %s", v);
				o->log_set = true;
			} else if (!strcmp(name, "--metrics-path"))
				o->metrics_path = v;
			else if (!strcmp(name, "--http-api-max-payload-size")) {
				if (!parse_u64(v, &n) || n == 0 || n > (64u << 20))
					return usage("--http-api-max-payload-size '%s': not a size "
						     "from 1 to 67108864 bytes",
						     v);
				o->max_payload = (size_t)n;
			} else if (!strcmp(name, "--start-time-us")) {
				if (!parse_u64(v, &o->start_us))
					return usage("--start-time-us '%s': not a number", v);
				o->has_start_us = true;
			} else if (!strcmp(name, "--start-time-cpu-us")) {
				if (!parse_u64(v, &o->start_cpu_us))
					return usage("--start-time-cpu-us '%s': not a number", v);
				o->has_start_cpu_us = true;
			} else if (!strcmp(name, "--parent-cpu-time-us")) {
				if (!parse_u64(v, &o->parent_cpu_us))
					return usage("--parent-cpu-time-us '%s': not a number", v);
			} else if (!strcmp(name, "--mmds-size-limit")) {
				/* Sizes MMDS's store, which ember does not have. */
				if (!parse_u64(v, &n))
					return usage("--mmds-size-limit '%s': not a number", v);
			} else {
				return usage("%s: not supported by ember yet", name);
			}
			continue;
		}
		if (!strcmp(a, "--no-api"))
			o->no_api = true;
		else if (!strcmp(a, "--boot-timer"))
			o->boot_timer = true;
		else if (!strcmp(a, "--show-level"))
			o->log.show_level = o->log_set = true;
		else if (!strcmp(a, "--show-log-origin"))
			o->log.show_log_origin = o->log_set = true;
		else if (!strcmp(a, "--no-seccomp"))
			o->no_seccomp = true;
		else if (!strcmp(a, "--enable-pci") || !strcmp(a, "--snapshot-version"))
			return usage("%s: not supported by ember yet", a);
		else
			return usage("unknown option '%s'", a);
	}
	if (o->no_api && !o->config_file)
		return usage("%s needs --config-file", "--no-api");
	return 0;
}

static void print_version(void)
{
	/* Kata Containers reads the version from the first line's second
	 * word ("Firecracker v1.16.1"). */
	printf("Firecracker v%s\n\nember %s (implements the Firecracker API v%s)\n",
	       FCJ_FIRECRACKER_VERSION, EMBER_VERSION, FCJ_FIRECRACKER_VERSION);
}

/* The VM's boot marker with --boot-timer (a vCPU thread): Firecracker's
 * line, time since InstanceStart. */
static void on_boot_marker(void *ctx)
{
	struct api *a = ctx;
	struct instance *in = a->in;
	struct timespec ts;
	uint64_t us, cpu_us;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	us = (uint64_t)((ember_ms() - in->start_ms) * 1e3);
	cpu_us =
	    (uint64_t)(((double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6 - in->start_cpu_ms) *
		       1e3);
	log_info(a->log,
		 "Guest-boot-time = %6" PRIu64 " us %" PRIu64 " ms, %6" PRIu64 " CPU us %" PRIu64
		 " CPU ms",
		 us, us / 1000, cpu_us, cpu_us / 1000);
}

/*
 * api_server.process_startup_time_us and _cpu_us, once the API listens: as
 * Firecracker, from the jailer's --start-time-us (CLOCK_MONOTONIC) and
 * --start-time-cpu-us (plus --parent-cpu-time-us) when given; without
 * them, from ember's own start.
 */
static void startup_times(struct metrics *m, const struct fc_args *o)
{
	struct timespec ts;
	uint64_t now_us, cpu_us;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now_us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	cpu_us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	m->startup_us = o->has_start_us ? (now_us > o->start_us ? now_us - o->start_us : 0)
					: (uint64_t)(ember_ms() * 1000);
	m->startup_cpu_us =
	    (o->has_start_cpu_us && cpu_us > o->start_cpu_us ? cpu_us - o->start_cpu_us : cpu_us) +
	    o->parent_cpu_us;
}

static int metrics_timer(void)
{
	struct itimerspec it = { .it_interval = { METRICS_PERIOD_S, 0 },
				 .it_value = { METRICS_PERIOD_S, 0 } };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd >= 0)
		timerfd_settime(fd, 0, &it, NULL);
	return fd;
}

/*
 * The main loop: serve the API (if any) until the VM stops or a signal
 * asks for the end. Returns the exit status.
 */
static int serve(struct api *a, struct api_server *srv, int sig_fd, int timer_fd)
{
	struct instance *in = a->in;
	bool ending = false;
	int status = EMBER_EXIT_OK;

	for (;;) {
		int stop_fd = instance_stop_fd(in);
		struct pollfd p[4] = {
			{ .fd = sig_fd, .events = POLLIN },
			{ .fd = stop_fd, .events = POLLIN },
			{ .fd = timer_fd, .events = POLLIN },
			{ .fd = srv ? api_server_fd(srv) : -1, .events = POLLIN },
		};

		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error(a->log, "poll: %s", strerror(errno));
			status = EMBER_EXIT_ERROR;
			break;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				log_info(a->log, "Shutting down on %s",
					 strsignal((int)si.ssi_signo));
				if (instance_stop_fd(in) < 0)
					break; /* nothing runs */
				instance_stop(in, EMBER_EXIT_OK, "stopped by a signal");
				ending = true;
			}
		}
		if (p[2].revents & POLLIN) {
			uint64_t n;

			if (read(timer_fd, &n, sizeof(n)) > 0)
				metrics_flush(a->metrics);
		}
		if (stop_fd >= 0 && (p[1].revents & POLLIN))
			break;
		if (!ending && srv && (p[3].revents & POLLIN) && api_server_serve(srv, 0) < 0) {
			log_error(a->log, "API server: %s", ember_lasterr());
			instance_stop(in, EMBER_EXIT_ERROR, "the API server failed");
			if (instance_stop_fd(in) < 0) {
				status = EMBER_EXIT_ERROR;
				break;
			}
		}
	}
	if (a->in->state != INSTANCE_NOT_STARTED || a->in->vm_live)
		status = instance_finish(in);
	log_info(a->log, "Firecracker exiting with status %d", status);
	return status;
}

int fc_main(int argc, char **argv)
{
	static struct instance in; /* the configuration alone is ~100 KiB */
	static struct logger log;
	static struct metrics metrics;
	struct api a;
	struct fc_args o;
	struct api_server *srv = NULL;
	int status, sig_fd, timer_fd = -1;
	const struct vm_options vopt = {
		.vcpu_name = "fc_vcpu %u",
		.vcpu0_here = false,
		.plain_console = true,
		.out_fd = -1,
	};

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf(fc_help, FCJ_FIRECRACKER_VERSION, FC_DEFAULT_API_SOCK,
			       FC_MAX_PAYLOAD);
			return 0;
		}
		if (!strcmp(argv[i], "--version")) {
			print_version();
			return 0;
		}
	}
	status = parse_args(argc, argv, &o);
	if (status)
		return status;

	fcj_init(&in.cfg);
	instance_init(&in, &vopt);
	logger_init(&log, o.id);
	memset(&a, 0, sizeof(a));
	a.in = &in;
	a.log = &log;
	a.metrics = &metrics;
	a.id = o.id;
	metrics_init(&metrics, &in, &a, &log);
	if (o.boot_timer) {
		in.opt.marker = on_boot_marker;
		in.opt.ctx = &a;
	}
	status = EMBER_EXIT_ERROR;
	if (sandbox_configure(!o.no_seccomp, NULL)) {
		fprintf(stderr, "ember: %s\n", ember_lasterr());
		return status;
	}
	sig_fd = ember_stop_signalfd();
	if (sig_fd < 0)
		goto fail;
	if (o.log_set && logger_configure(&log, &o.log))
		goto fail;
	in.cfg.logger = o.log;
	in.cfg.logger.set = o.log_set;
	log_info(&log, "Running Firecracker v%s (ember %s)", FCJ_FIRECRACKER_VERSION,
		 EMBER_VERSION);
	if (o.metrics_path) {
		if (metrics_configure(&metrics, o.metrics_path))
			goto fail;
		in.cfg.metrics.set = true;
		config_copy(in.cfg.metrics.path, sizeof(in.cfg.metrics.path), o.metrics_path);
	}
	timer_fd = metrics_timer();
	if (!o.no_api) {
		srv = api_server_open(o.api_sock, o.max_payload, api_handle, &a);
		if (!srv) {
			ember_prefixerr(-EINVAL, "Failed to open the API socket at %s", o.api_sock);
			goto fail;
		}
	}
	startup_times(&metrics, &o);
	if (o.config_file && (api_load_config_file(&a, o.config_file) || api_start(&a)))
		goto fail;
	status = serve(&a, srv, sig_fd, timer_fd);
	metrics_flush(&metrics);
	goto out;
fail:
	/* One "ember:" line on standard error; the log gets it too when it is
	 * a file (without --log-path it is standard error already). */
	if (log.fd >= 0)
		log_error(&log, "%s", ember_lasterr());
	fprintf(stderr, "ember: %s\n", ember_lasterr());
	instance_finish(&in);
out:
	if (srv)
		api_server_close(srv);
	metrics_close(&metrics);
	logger_close(&log);
	if (timer_fd >= 0)
		close(timer_fd);
	if (sig_fd >= 0)
		close(sig_fd);
	return status;
}
