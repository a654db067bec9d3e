// SPDX-License-Identifier: MIT
/*
 * measure: run one command, print its exit status, wall time and peak RSS.
 *
 *   measure [-l LOG] [-t SECONDS] COMMAND [ARG...]
 *
 * Prints one line on stdout: "STATUS WALL_MS MAXRSS_KIB", where STATUS is
 * the exit status (128+N when killed by signal N), WALL_MS the time from
 * just before fork to the end of wait4 (CLOCK_MONOTONIC, microsecond
 * precision) and MAXRSS_KIB the child's ru_maxrss from wait4. The child's
 * stdout and stderr go to LOG (appended) or /dev/null; stdin is inherited.
 * With -t, a child still running after SECONDS is killed (SIGKILL: status
 * 137), so a guest that never exits cannot hang a benchmark.
 *
 * ru_maxrss includes the forked child's copy of this program before exec
 * (the kernel folds the old address space's high-water mark into it), so
 * measure stays small: no stdio before the fork, nothing allocated.
 * Exit status: 0 when it measured the command (whatever its status), 2 on
 * usage or fork/exec errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t child;

static void usage(void)
{
	fprintf(stderr, "usage: measure [-l LOG] [-t SECONDS] COMMAND [ARG...]\n");
	exit(2);
}

static void on_alarm(int sig)
{
	(void)sig;
	if (child > 0)
		kill(child, SIGKILL);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	const char *log = "/dev/null";
	unsigned timeout = 0;
	struct rusage ru;
	double t0, t1;
	int argi = 1, status, code, out;
	pid_t pid;

	while (argi + 1 < argc && argv[argi][0] == '-' && argv[argi][1] != '-' && argv[argi][1] &&
	       !argv[argi][2]) {
		if (argv[argi][1] == 'l')
			log = argv[argi + 1];
		else if (argv[argi][1] == 't')
			timeout = (unsigned)strtoul(argv[argi + 1], NULL, 10);
		else
			usage();
		argi += 2;
	}
	if (argi < argc && strcmp(argv[argi], "--") == 0)
		argi++;
	if (argi >= argc)
		usage();

	out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (out < 0) {
		fprintf(stderr, "measure: %s: %s\n", log, strerror(errno));
		return 2;
	}

	if (timeout) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_alarm;
		sigaction(SIGALRM, &sa, NULL);
	}

	t0 = now_ms();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "measure: fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		if (dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
			_exit(127);
		execvp(argv[argi], &argv[argi]);
		/* stderr is the log now: the error lands there. */
		fprintf(stderr, "measure: %s: %s\n", argv[argi], strerror(errno));
		_exit(127);
	}
	child = pid;
	if (timeout)
		alarm(timeout);
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "measure: wait4: %s\n", strerror(errno));
			return 2;
		}
	}
	t1 = now_ms();
	alarm(0);
	child = 0;

	if (WIFEXITED(status))
		code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		code = 128 + WTERMSIG(status);
	else
		code = 255;
	printf("%d %.3f %ld\n", code, t1 - t0, ru.ru_maxrss);
	return 0;
}
