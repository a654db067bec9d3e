/* SPDX-License-Identifier: MIT */
/*
 * Firecracker's logger, for Firecracker mode: human-readable lines
 *
 *   2026-12-03T05:27:05.123456789 [ID:THREAD(:LEVEL)(:FILE:LINE)] message
 *
 * to a file or named pipe (PUT /logger, --log-path), filtered by level. The
 * target is opened non-blocking and read-write, so a FIFO nobody reads never
 * blocks ember (as Firecracker does); a line that cannot be written is
 * dropped and counted (logger.missed_log_count). Without a target, lines go
 * to standard error: standard output is the guest's console.
 */
#ifndef EMBER_API_LOGGER_H
#define EMBER_API_LOGGER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "config.h"

struct logger {
	pthread_mutex_t lock;
	int fd; /* -1: standard error */
	struct logger_config cfg;
	char id[CONFIG_ID_MAX];
	atomic_uint_fast64_t missed;
};

/* Level Info, standard error, instance `id`. */
void logger_init(struct logger *l, const char *id);
/* Apply a logger configuration (opens its path). 0 or negative errno
 * with a message; the old configuration stays on failure. */
int logger_configure(struct logger *l, const struct logger_config *c);
void logger_close(struct logger *l);

void logger_log(struct logger *l, enum log_level level, const char *file, int line, const char *fmt,
		...) __attribute__((format(printf, 5, 6)));

#define LOG_AT(l, level, ...) logger_log((l), (level), __FILE__, __LINE__, __VA_ARGS__)
#define log_error(l, ...)     LOG_AT(l, LOG_ERROR, __VA_ARGS__)
#define log_warn(l, ...)      LOG_AT(l, LOG_WARN, __VA_ARGS__)
#define log_info(l, ...)      LOG_AT(l, LOG_INFO, __VA_ARGS__)
#define log_debug(l, ...)     LOG_AT(l, LOG_DEBUG, __VA_ARGS__)

/* "Error", "Warn", ...: Firecracker's level names as it prints them. */
const char *logger_level_name(enum log_level level);

/* Open a log or metrics target as Firecracker does: created if missing,
 * read-write and non-blocking (a FIFO without a reader must not block).
 * Also O_NOCTTY: a terminal given as the target must not become the
 * controlling terminal of an ember that has none (its hangup would then
 * stop the VM). Returns the fd or negative errno. */
int logger_open_target(const char *path);

#endif
