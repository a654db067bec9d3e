// SPDX-License-Identifier: MIT
/*
 * vmwatch: start N copies of a VMM command at once and timestamp, from the
 * outside and the same way for every VMM, when each one's console shows a
 * given text and when it exits. Optionally hold them all running and sample
 * their memory.
 *
 *   vmwatch [-n N] [-m TEXT] [-t SECONDS] [-k HOOK] [-l PREFIX] [-H] [-i TEXT]
 *           [-g MIB] [-w MS] [--] COMMAND [ARG...]
 *
 *   -n N       copies to start, one fork/exec after the other (default 1)
 *   -m TEXT    the console text to wait for (first occurrence in stdout)
 *   -t SECONDS kill every copy still running after SECONDS (SIGKILL)
 *   -k HOOK    on that timeout, first run "HOOK PID" (sh -c) for each copy
 *              still running, e.g. to record where it hangs
 *   -l PREFIX  copy I's stdout goes to PREFIX.I.out, stderr to PREFIX.I.err
 *              (default: stdout is read and dropped, stderr is /dev/null)
 *   -H         hold: stdin of each copy is a pipe; once every copy has shown
 *              TEXT (or exited), wait MS (-w), sample memory, then write the
 *              -i text (default "q") to every stdin, close it and wait
 *   -g MIB     guest RAM size: an anonymous mapping at least this big, or
 *              adjacent anonymous mappings adding up to exactly this size, are
 *              the guest's RAM in the memory sample (default 0: none)
 *
 * Time is CLOCK_MONOTONIC in ms from just before the first fork. Output,
 * one record a line:
 *   vm I STATUS MARK_MS EXIT_MS FIRST_MS
 *     MARK_MS: TEXT seen (-1: never), FIRST_MS: first console byte (-1: none),
 *     STATUS: exit status, 128+N when killed by signal N
 * and with -H, before the vm lines:
 *   launched MS                     all N forked
 *   ready MS                        the last copy showed TEXT
 *   mem I RSS PSS GUEST_RSS GUEST_PSS GUEST_SIZE PSS_ANON PSS_FILE GUEST_THP GUEST_OFF
 *     (KiB; GUEST_THP: AnonHugePages of the guest mapping(s), GUEST_OFF:
 *     the first one's start address modulo 2 MiB)
 *   meminfo AVAIL_DROP_KIB FREE_DROP_KIB  (/proc/meminfo, before fork vs sample)
 * Exit status 0 when everything was measured, 2 on usage or system errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_VMS 256
#define TAIL	256

struct vm {
	pid_t pid;
	int out;       /* read end of its stdout, -1 once at EOF */
	int in;        /* write end of its stdin (-H), else -1 */
	int log;       /* stdout copy, or -1 */
	double mark;   /* ms, -1 until TEXT seen */
	double exited; /* ms, -1 while running */
	double first;  /* ms of the first stdout byte, -1 before */
	int status;
	size_t tail_len;
	char tail[TAIL]; /* last bytes of stdout, to find TEXT across reads */
};

static struct vm vms[MAX_VMS];
static int nvms;
static double t0;
static volatile sig_atomic_t timed_out;
static const char *hook;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void usage(void)
{
	fprintf(stderr, "usage: vmwatch [-n N] [-m TEXT] [-t SECONDS] [-k HOOK] [-l PREFIX] [-H] [-i TEXT]\n"
			"               [-g MIB] [-w MS] [--] COMMAND [ARG...]\n");
	exit(2);
}

static void die(const char *what)
{
	fprintf(stderr, "vmwatch: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

/* After a timeout: the hook for each copy still running, then SIGKILL. */
static void kill_all(void)
{
	char cmd[1024];

	timed_out = 0;
	for (int i = 0; i < nvms; i++) {
		if (vms[i].pid <= 0 || vms[i].exited >= 0)
			continue;
		if (hook) {
			snprintf(cmd, sizeof(cmd), "%s %d", hook, vms[i].pid);
			if (system(cmd) < 0)
				fprintf(stderr, "vmwatch: hook failed\n");
		}
		kill(vms[i].pid, SIGKILL);
	}
}

/* Unescape \n, \r, \t and \\ in place. */
static char *unescape(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		if (r[0] == '\\' && r[1]) {
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

/* Append data to v's tail and look for text there. */
static void scan(struct vm *v, const char *data, size_t n, const char *text, double t)
{
	size_t tl = strlen(text);

	while (n) {
		size_t room = TAIL - 1 - v->tail_len, k = n < room ? n : room;

		memcpy(v->tail + v->tail_len, data, k);
		v->tail_len += k;
		v->tail[v->tail_len] = '\0';
		data += k;
		n -= k;
		/* The console may hold NULs: search with memmem. */
		if (v->mark < 0 && tl && memmem(v->tail, v->tail_len, text, tl))
			v->mark = t;
		if (v->tail_len == TAIL - 1) { /* keep the last tl - 1 bytes */
			size_t keep = tl > 1 && tl - 1 < TAIL / 2 ? tl - 1 : 0;

			memmove(v->tail, v->tail + v->tail_len - keep, keep);
			v->tail_len = keep;
		}
	}
}

/* Reap exited children (blocking unless WNOHANG); errno tells why it stopped. */
static void reap(int flags)
{
	int st;
	pid_t pid;

	errno = 0;
	while ((pid = waitpid(-1, &st, flags)) > 0) {
		double t = now_ms() - t0;

		for (int i = 0; i < nvms; i++) {
			if (vms[i].pid != pid)
				continue;
			vms[i].exited = t;
			vms[i].status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
	}
}

/*
 * Read console output until stop() says so or every stdout is at EOF.
 * Returns when done; children are reaped as they exit.
 */
static void pump(const char *text, int (*stop)(void))
{
	struct pollfd pfd[MAX_VMS];
	char buf[4096];

	for (;;) {
		int n = 0, map[MAX_VMS];

		if (timed_out)
			kill_all();
		reap(WNOHANG);
		if (stop && stop())
			return;
		for (int i = 0; i < nvms; i++) {
			if (vms[i].out < 0)
				continue;
			pfd[n] = (struct pollfd){ .fd = vms[i].out, .events = POLLIN };
			map[n++] = i;
		}
		if (!n)
			return;
		if (poll(pfd, n, 50) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (int k = 0; k < n; k++) {
			struct vm *v = &vms[map[k]];
			ssize_t r;

			if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(v->out, buf, sizeof(buf));
			if (r > 0) {
				if (v->first < 0)
					v->first = now_ms() - t0;
				scan(v, buf, (size_t)r, text, now_ms() - t0);
				if (v->log >= 0 && write(v->log, buf, (size_t)r) != r)
					die("write log");
			} else if (r == 0 || errno != EINTR) {
				close(v->out);
				v->out = -1;
			}
		}
	}
}

static int all_marked_or_gone(void)
{
	for (int i = 0; i < nvms; i++)
		if (vms[i].mark < 0 && vms[i].exited < 0 && vms[i].out >= 0)
			return 0;
	return 1;
}

static double deadline;

static int past_deadline(void)
{
	return now_ms() >= deadline;
}

/* /proc/meminfo field in KiB, or -1. */
static long meminfo(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

struct memsample {
	long rss, pss, pss_anon, pss_file, guest_rss, guest_pss, guest_size, guest_thp, guest_off;
};

/*
 * The process's Rss and Pss (smaps_rollup), and those of its anonymous
 * mappings of at least guest_kib (smaps): the guest's RAM.
 */
static int sample(pid_t pid, long guest_kib, struct memsample *m)
{
	char path[64], line[512];
	FILE *f;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "Rss: %ld", &m->rss);
		sscanf(line, "Pss: %ld", &m->pss);
		sscanf(line, "Pss_Anon: %ld", &m->pss_anon);
		sscanf(line, "Pss_File: %ld", &m->pss_file);
	}
	fclose(f);
	if (guest_kib <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	/* Guest RAM may be several adjacent anonymous mappings (ember advises
	 * huge pages for all but its first 2 MiB, which splits the VMA): a run
	 * of contiguous anonymous mappings totalling at least guest_kib is the
	 * guest's RAM. */
	static struct vma { unsigned long lo, hi; int anon; long rss, pss, thp; } v[8192];
	unsigned n = 0;

	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, ino;
		char name[256] = "";
		long x;

		/* A mapping header: "lo-hi perms offset dev inode [name]". */
		if (sscanf(line, "%lx-%lx %*s %*x %*s %lu %255s", &lo, &hi, &ino, name) >= 3) {
			if (n == sizeof(v) / sizeof(v[0]))
				break;
			v[n++] = (struct vma){ lo, hi,
					       ino == 0 && (!name[0] || strncmp(name, "[anon", 5) == 0),
					       0, 0, 0 };
		} else if (n && sscanf(line, "Rss: %ld", &x) == 1) {
			v[n - 1].rss = x;
		} else if (n && sscanf(line, "Pss: %ld", &x) == 1) {
			v[n - 1].pss = x;
		} else if (n && sscanf(line, "AnonHugePages: %ld", &x) == 1) {
			v[n - 1].thp = x;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned j = i;
		long kib = 0;

		/* One mapping at least guest_kib big, or adjacent anonymous
		 * mappings adding up to exactly guest_kib (never more: a thread
		 * stack may sit right next to the guest's RAM). */
		while (j < n && v[j].anon && (j == i || v[j].lo == v[j - 1].hi)) {
			kib += (long)((v[j].hi - v[j].lo) >> 10);
			j++;
			if (kib >= guest_kib)
				break;
		}
		if (j == i || kib < guest_kib || (j - i > 1 && kib != guest_kib))
			continue;
		if (!m->guest_size)
			m->guest_off = (long)((v[i].lo & ((2ul << 20) - 1)) >> 10);
		m->guest_size += kib;
		for (unsigned k = i; k < j; k++) {
			m->guest_rss += v[k].rss;
			m->guest_pss += v[k].pss;
			m->guest_thp += v[k].thp;
		}
		i = j - 1;
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	const char *text = "", *prefix = NULL, *input = "q";
	long guest_kib = 0, avail0, free0;
	unsigned timeout = 0, wait_ms = 0;
	int hold = 0, opt;
	struct sigaction sa;

	while ((opt = getopt(argc, argv, "+n:m:t:k:l:Hi:g:w:")) != -1) {
		switch (opt) {
		case 'n':
			nvms = atoi(optarg);
			break;
		case 'm':
			text = optarg;
			break;
		case 't':
			timeout = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'k':
			hook = optarg;
			break;
		case 'l':
			prefix = optarg;
			break;
		case 'H':
			hold = 1;
			break;
		case 'i':
			input = unescape(optarg);
			break;
		case 'g':
			guest_kib = strtol(optarg, NULL, 10) * 1024;
			break;
		case 'w':
			wait_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (!nvms)
		nvms = 1;
	if (optind >= argc || nvms < 1 || nvms > MAX_VMS || strlen(text) >= TAIL / 2)
		usage();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	avail0 = meminfo("MemAvailable");
	free0 = meminfo("MemFree");

	t0 = now_ms();
	for (int i = 0; i < nvms; i++) {
		struct vm *v = &vms[i];
		int po[2], pi[2] = { -1, -1 }, err = -1;
		char path[512];

		v->mark = v->exited = v->first = -1;
		v->in = v->log = -1;
		if (pipe2(po, O_CLOEXEC) || (hold && pipe2(pi, O_CLOEXEC)))
			die("pipe");
		if (prefix) {
			snprintf(path, sizeof(path), "%s.%d.out", prefix, i);
			v->log = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			snprintf(path, sizeof(path), "%s.%d.err", prefix, i);
			err = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		} else {
			err = open("/dev/null", O_WRONLY | O_CLOEXEC);
		}
		if (err < 0 || (prefix && v->log < 0))
			die(prefix ? prefix : "/dev/null");
		v->pid = fork();
		if (v->pid < 0)
			die("fork");
		if (v->pid == 0) {
			int in = hold ? pi[0] : open("/dev/null", O_RDONLY);

			if (in < 0 || dup2(in, 0) < 0 || dup2(po[1], 1) < 0 || dup2(err, 2) < 0)
				_exit(127);
			execvp(argv[optind], &argv[optind]);
			fprintf(stderr, "vmwatch: %s: %s\n", argv[optind], strerror(errno));
			_exit(127);
		}
		close(po[1]);
		close(err);
		v->out = po[0];
		if (hold) {
			close(pi[0]);
			v->in = pi[1];
		}
	}
	if (timeout)
		alarm(timeout);
	if (hold) {
		double ready = 0;
		struct memsample m;

		printf("launched %.3f\n", now_ms() - t0);
		pump(text, all_marked_or_gone);
		for (int i = 0; i < nvms; i++)
			if (vms[i].mark > ready)
				ready = vms[i].mark;
		printf("ready %.3f\n", ready);
		if (wait_ms) { /* keep draining the consoles while waiting */
			deadline = now_ms() + wait_ms;
			pump(text, past_deadline);
		}
		for (int i = 0; i < nvms; i++) {
			if (vms[i].exited >= 0 || sample(vms[i].pid, guest_kib, &m))
				continue;
			printf("mem %d %ld %ld %ld %ld %ld %ld %ld %ld %ld\n", i, m.rss, m.pss,
			       m.guest_rss, m.guest_pss, m.guest_size, m.pss_anon, m.pss_file,
			       m.guest_thp, m.guest_off);
		}
		printf("meminfo %ld %ld\n", avail0 - meminfo("MemAvailable"),
		       free0 - meminfo("MemFree"));
		fflush(stdout);
		for (int i = 0; i < nvms; i++) {
			ssize_t len = (ssize_t)strlen(input);

			if (write(vms[i].in, input, (size_t)len) != len && errno != EPIPE)
				die("write stdin");
			close(vms[i].in);
		}
	}
	pump(text, NULL);
	for (;;) { /* every stdout is closed: wait for the exits too */
		int left = 0;

		for (int i = 0; i < nvms; i++)
			left += vms[i].exited < 0;
		if (!left)
			break;
		if (timed_out)
			kill_all();
		reap(0);
		if (errno == ECHILD)
			break;
	}
	alarm(0);
	for (int i = 0; i < nvms; i++)
		printf("vm %d %d %.3f %.3f %.3f\n", i, vms[i].status, vms[i].mark, vms[i].exited,
		       vms[i].first);
	return 0;
}
