// SPDX-License-Identifier: MIT
#include "api/logger.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void logger_init(struct logger *l, const char *id)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	l->fd = -1;
	l->cfg.level = LOG_INFO;
	snprintf(l->id, sizeof(l->id), "%s", id);
	atomic_init(&l->missed, 0);
}

int logger_open_target(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | O_APPEND, 0600);

	return fd < 0 ? -errno : fd;
}

int logger_configure(struct logger *l, const struct logger_config *c)
{
	int fd = -1;

	if (c->path[0]) {
		fd = logger_open_target(c->path);
		if (fd < 0)
			return ember_seterr(fd, "cannot open the log file %s: %s", c->path,
					    strerror(-fd));
	}
	pthread_mutex_lock(&l->lock);
	if (l->fd >= 0)
		close(l->fd);
	l->fd = fd;
	l->cfg = *c;
	l->cfg.set = true;
	pthread_mutex_unlock(&l->lock);
	return 0;
}

void logger_close(struct logger *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	pthread_mutex_destroy(&l->lock);
}

const char *logger_level_name(enum log_level level)
{
	static const char *const names[] = { "Off", "Error", "Warn", "Info", "Debug", "Trace" };

	return (unsigned)level < ARRAY_SIZE(names) ? names[level] : "?";
}

void logger_log(struct logger *l, enum log_level level, const char *file, int line, const char *fmt,
		...)
{
	char buf[2048], thread[16] = "-";
	struct timespec ts;
	struct tm tm;
	size_t n = 0;
	int k;
	va_list ap;

	if (level == LOG_OFF || level > l->cfg.level)
		return;
	/* --module: Firecracker filters on its Rust module path; ember's
	 * closest is the source file. */
	if (l->cfg.module[0] && !strstr(file, l->cfg.module))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	prctl(PR_GET_NAME, thread, 0, 0, 0);
	k = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09ld [%s:%s",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts.tv_nsec, l->id, thread);
	n = k > 0 ? (size_t)k : 0;
	if (l->cfg.show_level && n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, ":%s", logger_level_name(level));
	if (l->cfg.show_log_origin && n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, ":%s:%d", file, line);
	if (n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "] ");
	if (n < sizeof(buf)) {
		va_start(ap, fmt);
		k = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
		va_end(ap);
		n += k > 0 ? (size_t)k : 0;
	}
	if (n > sizeof(buf) - 2)
		n = sizeof(buf) - 2; /* a long message is cut, its line kept */
	buf[n++] = '\n';
	pthread_mutex_lock(&l->lock);
	if (write(l->fd >= 0 ? l->fd : STDERR_FILENO, buf, n) != (ssize_t)n)
		atomic_fetch_add(&l->missed, 1);
	pthread_mutex_unlock(&l->lock);
}
