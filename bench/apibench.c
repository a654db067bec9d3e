// SPDX-License-Identifier: MIT
/*
 * apibench: one timed run of ember's Firecracker front end, as a platform
 * drives it.
 *
 *   apibench EMBER GUEST SOCK LOG
 *
 * Starts `EMBER firecracker --api-sock SOCK --boot-timer --log-path LOG`
 * (stdout and stderr to /dev/null) and measures:
 *   sock_ms      fork to the first successful connect() on SOCK (wall)
 *   sock_cpu_ms  the process's CPU time by then (/proc/PID/schedstat: only
 *                the main thread exists before InstanceStart)
 *   start_ms     PUT /actions InstanceStart sent to its 204 read back
 *   guest_ms     ember's own "Guest-boot-time" (InstanceStart's arrival to
 *                the guest's first instruction, GUEST being markguest.elf)
 *   exit_ms      InstanceStart sent to the process's exit (the guest resets
 *                at once; teardown included)
 * and prints one line "sock_ms sock_cpu_ms start_ms guest_ms exit_ms".
 * Before InstanceStart it configures the boot source and 1 vCPU, 128 MiB.
 * Exit status 0 when ember exited 0 and every number was measured.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int connect_sock(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* One request; returns the status code, or -1. */
static int request(int fd, const char *method, const char *path, const char *body)
{
	char buf[4096];
	int n = snprintf(buf, sizeof(buf),
			 "%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 method, path, strlen(body), body);
	ssize_t got = 0, r;
	int status;

	if (write(fd, buf, (size_t)n) != n)
		return -1;
	/* Every answer here is short: read until the head and any body end. */
	while ((r = read(fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0) {
		char *head_end, *cl;

		got += r;
		buf[got] = '\0';
		head_end = strstr(buf, "\r\n\r\n");
		if (!head_end)
			continue;
		cl = strstr(buf, "Content-Length: ");
		if (!cl || cl > head_end ||
		    (size_t)(buf + got - (head_end + 4)) >= strtoul(cl + 16, NULL, 10))
			break;
	}
	return sscanf(buf, "HTTP/1.1 %d", &status) == 1 ? status : -1;
}

static double cpu_ms_of(pid_t pid)
{
	char path[64];
	unsigned long long ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%llu", &ns) != 1)
		ns = 0;
	fclose(f);
	return (double)ns / 1e6;
}

/* The "Guest-boot-time = N us" number from LOG, in ms, or -1. */
static double guest_ms_from(const char *log)
{
	char line[512];
	double v = -1;
	FILE *f = fopen(log, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "Guest-boot-time = ");
		unsigned long long us;

		if (p && sscanf(p + 18, "%llu us", &us) == 1)
			v = (double)us / 1e3;
	}
	fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	char body[1024];
	double t0, t_sock, cpu, t_start, t_204, t_exit, guest;
	int fd = -1, status, st;
	pid_t pid;

	if (argc != 5) {
		fprintf(stderr, "usage: apibench EMBER GUEST SOCK LOG\n");
		return 2;
	}
	unlink(argv[3]);
	unlink(argv[4]);
	t0 = now_ms();
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execl(argv[1], argv[1], "firecracker", "--api-sock", argv[3], "--boot-timer",
		      "--log-path", argv[4], (char *)NULL);
		_exit(127);
	}
	if (pid < 0)
		return 2;
	while ((fd = connect_sock(argv[3])) < 0) {
		if (now_ms() - t0 > 10000 || waitpid(pid, &st, WNOHANG) == pid) {
			fprintf(stderr, "apibench: no API socket\n");
			kill(pid, SIGKILL);
			return 1;
		}
	}
	t_sock = now_ms();
	cpu = cpu_ms_of(pid);
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\"}", argv[2]);
	if (request(fd, "PUT", "/boot-source", body) != 204 ||
	    request(fd, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}") !=
		204) {
		fprintf(stderr, "apibench: configuration refused\n");
		kill(pid, SIGKILL);
		return 1;
	}
	t_start = now_ms();
	status = request(fd, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}");
	t_204 = now_ms();
	close(fd);
	if (waitpid(pid, &st, 0) != pid)
		return 1;
	t_exit = now_ms();
	guest = guest_ms_from(argv[4]);
	printf("%.3f %.3f %.3f %.3f %.3f\n", t_sock - t0, cpu, t_204 - t_start, guest,
	       t_exit - t_start);
	return status == 204 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && guest >= 0 && cpu >= 0 ? 0
												: 1;
}
