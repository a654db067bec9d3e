// SPDX-License-Identifier: MIT
/*
 * snapready: start N copies of a VMM command at once and time each one to a
 * guest that is ready: one that answers on its console. For the snapshot
 * benchmark (bench/lab-snapshot.sh), where a restored guest prints nothing
 * by itself: it sits in `read`, exactly where it was snapshotted, so the
 * only way to see it run is to ask. A cold-booted guest is asked the same
 * way, so both are timed to the same point.
 *
 *   snapready [-n N] [-m TEXT] [-p PROBE] [-e MS] [-t SECONDS] [-l PREFIX]
 *             [-H] [-w MS] [-W] [-T] [--] COMMAND [ARG...]
 *
 *   -n N        copies, one fork/exec after the other (default 1)
 *   -m TEXT     what a ready guest prints (default "snap-ready")
 *   -p PROBE    written to each copy's stdin (a pipe) every -e MS until its
 *               TEXT shows (default "\n"; \n, \r, \t and \\ are unescaped),
 *               but only while that pipe is empty: the VMM takes console
 *               input only as its guest takes it, and a backlog of probes
 *               would flood the guest with console interrupts (in the lab,
 *               2000 probe bytes a second kept a booting guest from ever
 *               answering) and delay its answer behind their echo. An
 *               empty PROBE sends nothing: TEXT must come by itself
 *   -e MS       probe interval (default 2)
 *   -W          probe a copy only once it has printed something: for cold
 *               boots, whose guest prints before it reads (in the lab,
 *               probing a booting ember guest from the start doubled its
 *               boot time to user space)
 *   -t SECONDS  give up on copies not ready after SECONDS (default 120)
 *   -l PREFIX   copy I's stdout is also written to PREFIX.I.out and its
 *               stderr to PREFIX.I.err (default: stdout dropped, stderr
 *               /dev/null)
 *   -H          once every copy is ready (or gone), wait -w MS (default
 *               1000) and sample the memory of each (smaps_rollup) and
 *               MemAvailable
 *   -T          end the copies with SIGTERM (SIGKILL after 5 s), for a VMM
 *               that reports at a clean exit (ember --boot-trace needs
 *               --api-sock for SIGTERM to be a clean end)
 * Then every copy still running is killed (SIGKILL, or -T) and reaped.
 *
 * Times are CLOCK_MONOTONIC ms from just before the first fork. Output:
 *   launched MS                  all N forked
 *   ready MS                     the last copy showed TEXT (-1: one never did)
 *   vm I READY_MS FIRST_MS STATUS
 *       READY_MS: TEXT seen (-1: never); FIRST_MS: first stdout byte (-1:
 *       none); STATUS: "killed" (by us, as planned), or the exit status /
 *       128+signal of a copy that ended by itself (a failure)
 *   mem I RSS PSS PSS_ANON PSS_FILE PSS_SHMEM    (-H; KiB)
 *   meminfo AVAIL_DROP_KIB                       (-H; before the first fork
 *                                                 vs the sample)
 * Exit status 0 when every copy was ready, 1 if one was not, 2 on usage or
 * system errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_VMS 64
#define TAIL	256

struct vm {
	pid_t pid;
	int out;   /* read end of its stdout, -1 at EOF */
	int in;    /* write end of its stdin, -1 once closed */
	int log;   /* copy of stdout, or -1 */
	double ready, first;
	int status; /* -1 while running (or killed by us) */
	size_t tail_len;
	char tail[TAIL];
};

static struct vm vms[MAX_VMS];
static double t0;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void usage(void)
{
	fprintf(stderr, "usage: snapready [-n N] [-m TEXT] [-p PROBE] [-e MS] [-t SECONDS] [-l PREFIX]\n"
			"                 [-H] [-w MS] [-W] [-T] [--] COMMAND [ARG...]\n");
	exit(2);
}

static void die(const char *what)
{
	fprintf(stderr, "snapready: %s: %s\n", what, strerror(errno));
	exit(2);
}

static char *unescape(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		if (*r == '\\' && r[1]) {
			r++;
			*w++ = *r == 'n' ? '\n' : *r == 'r' ? '\r' : *r == 't' ? '\t' : *r;
			r++;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return s;
}

static long num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage();
	return v;
}

/* A "Key:   N kB" field of a /proc file, in KiB, or -1. */
static long field(const char *path, const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* Look for TEXT in what copy v printed, across read boundaries. */
static void got_output(struct vm *v, const char *buf, size_t n, const char *text)
{
	size_t tl = strlen(text);
	char scan[TAIL * 2 + 4096];
	size_t keep;

	if (v->first < 0)
		v->first = now_ms() - t0;
	if (v->ready >= 0)
		return;
	if (n > 4096) {
		buf += n - 4096;
		n = 4096;
	}
	memcpy(scan, v->tail, v->tail_len);
	memcpy(scan + v->tail_len, buf, n);
	scan[v->tail_len + n] = '\0';
	/* memmem: the output may hold NUL bytes. */
	if (memmem(scan, v->tail_len + n, text, tl))
		v->ready = now_ms() - t0;
	keep = v->tail_len + n < tl ? v->tail_len + n : tl;
	memmove(v->tail, scan + v->tail_len + n - keep, keep);
	v->tail_len = keep;
}

int main(int argc, char **argv)
{
	const char *text = "snap-ready", *prefix = NULL;
	char *probe = NULL;
	int n = 1, opt, hold = 0, after_output = 0, term = 0, interval = 2, wait_ms = 1000, timeout_s = 120, bad = 0;
	long avail0 = -1;
	double last_probe = 0, all_ready = -1, launched;

	while ((opt = getopt(argc, argv, "+n:m:p:e:t:l:Hw:WT")) != -1) {
		switch (opt) {
		case 'n': n = (int)num(optarg, 1, MAX_VMS); break;
		case 'm': text = optarg; break;
		case 'p': probe = unescape(optarg); break;
		case 'e': interval = (int)num(optarg, 1, 10000); break;
		case 't': timeout_s = (int)num(optarg, 1, 3600); break;
		case 'l': prefix = optarg; break;
		case 'H': hold = 1; break;
		case 'w': wait_ms = (int)num(optarg, 0, 600000); break;
		case 'W': after_output = 1; break;
		case 'T': term = 1; break;
		default: usage();
		}
	}
	if (optind >= argc || !*text)
		usage();
	if (!probe)
		probe = "\n";
	signal(SIGPIPE, SIG_IGN);
	if (hold)
		avail0 = field("/proc/meminfo", "MemAvailable");

	t0 = now_ms();
	for (int i = 0; i < n; i++) {
		int in[2], out[2], err = -1;
		struct vm *v = &vms[i];
		char path[4096];

		if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
			die("pipe2");
		v->ready = v->first = -1;
		v->status = -1;
		v->log = -1;
		if (prefix) {
			snprintf(path, sizeof(path), "%s.%d.out", prefix, i);
			v->log = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			snprintf(path, sizeof(path), "%s.%d.err", prefix, i);
			err = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		} else {
			err = open("/dev/null", O_WRONLY | O_CLOEXEC);
		}
		if (err < 0 || (prefix && v->log < 0))
			die("open a log");
		v->pid = fork();
		if (v->pid < 0)
			die("fork");
		if (v->pid == 0) {
			dup2(in[0], 0);
			dup2(out[1], 1);
			dup2(err, 2);
			execvp(argv[optind], &argv[optind]);
			fprintf(stderr, "snapready: %s: %s\n", argv[optind], strerror(errno));
			_exit(127);
		}
		close(in[0]);
		close(out[1]);
		close(err);
		v->in = in[1];
		v->out = out[0];
		fcntl(v->in, F_SETFL, O_NONBLOCK);
	}
	launched = now_ms() - t0;

	for (;;) {
		struct pollfd p[MAX_VMS];
		int map[MAX_VMS], np = 0, waiting = 0;
		double t = now_ms() - t0;

		for (int i = 0; i < n; i++) {
			struct vm *v = &vms[i];

			if (v->ready < 0 && v->status < 0 && v->out >= 0)
				waiting++;
			if (v->out >= 0) {
				p[np].fd = v->out;
				p[np].events = POLLIN;
				map[np++] = i;
			}
		}
		if (!waiting)
			break;
		if (t > timeout_s * 1e3) {
			fprintf(stderr, "snapready: %d copies not ready after %d s\n", waiting, timeout_s);
			break;
		}
		if (*probe && t - last_probe >= interval) {
			for (int i = 0; i < n; i++) {
				struct vm *v = &vms[i];
				int queued = 0;

				if (v->ready < 0 && v->in >= 0 && (!after_output || v->first >= 0) &&
				    !ioctl(v->in, FIONREAD, &queued) && !queued &&
				    write(v->in, probe, strlen(probe)) < 0 && errno != EAGAIN) {
					close(v->in);
					v->in = -1;
				}
			}
			last_probe = t;
		}
		if (poll(p, (nfds_t)np, interval) < 0 && errno != EINTR)
			die("poll");
		for (int k = 0; k < np; k++) {
			struct vm *v = &vms[map[k]];
			char buf[4096];
			ssize_t r;

			if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(v->out, buf, sizeof(buf));
			if (r > 0) {
				if (v->log >= 0 && write(v->log, buf, (size_t)r) < 0)
					die("write a log");
				got_output(v, buf, (size_t)r, text);
			} else if (r == 0 || errno != EINTR) {
				int st;

				close(v->out);
				v->out = -1;
				if (waitpid(v->pid, &st, 0) == v->pid)
					v->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			}
		}
	}
	for (int i = 0; i < n; i++) {
		if (vms[i].ready < 0)
			bad = 1;
		else if (vms[i].ready > all_ready)
			all_ready = vms[i].ready;
	}
	printf("launched %.3f\n", launched);
	printf("ready %.3f\n", bad ? -1.0 : all_ready);

	if (hold) {
		/* Keep draining their consoles while they settle. */
		double until = now_ms() + wait_ms;

		while (now_ms() < until) {
			struct pollfd p[MAX_VMS];
			int map[MAX_VMS], np = 0;

			for (int i = 0; i < n; i++)
				if (vms[i].out >= 0) {
					p[np].fd = vms[i].out;
					p[np].events = POLLIN;
					map[np++] = i;
				}
			if (!np) {
				usleep(10000);
				continue;
			}
			if (poll(p, (nfds_t)np, 10) <= 0)
				continue;
			for (int k = 0; k < np; k++) {
				struct vm *v = &vms[map[k]];
				char buf[4096];
				ssize_t r;

				if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				r = read(v->out, buf, sizeof(buf));
				if (r > 0) {
					if (v->log >= 0 && write(v->log, buf, (size_t)r) < 0)
						die("write a log");
				} else {
					int st;

					close(v->out);
					v->out = -1;
					if (waitpid(v->pid, &st, 0) == v->pid)
						v->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				}
			}
		}
		for (int i = 0; i < n; i++) {
			char path[64];

			if (vms[i].status >= 0)
				continue;
			snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", vms[i].pid);
			printf("mem %d %ld %ld %ld %ld %ld\n", i, field(path, "Rss"), field(path, "Pss"),
			       field(path, "Pss_Anon"), field(path, "Pss_File"), field(path, "Pss_Shmem"));
		}
		printf("meminfo %ld\n", avail0 - field("/proc/meminfo", "MemAvailable"));
	}
	for (int i = 0; i < n; i++) {
		struct vm *v = &vms[i];

		if (v->status < 0) {
			int i = 0;

			if (term) {
				kill(v->pid, SIGTERM);
				while (i < 500 && waitpid(v->pid, NULL, WNOHANG) == 0) {
					usleep(10000);
					i++;
				}
			}
			if (!term || i == 500) {
				kill(v->pid, SIGKILL);
				waitpid(v->pid, NULL, 0);
			}
		}
		if (v->status >= 0)
			printf("vm %d %.3f %.3f %d\n", i, v->ready, v->first, v->status);
		else
			printf("vm %d %.3f %.3f killed\n", i, v->ready, v->first);
	}
	return bad;
}
