// SPDX-License-Identifier: MIT
/*
 * diskbench: the guest side of bench/lab-io.sh. O_DIRECT I/O on a block
 * device, timed with CLOCK_MONOTONIC inside the guest, so ember and QEMU
 * are measured by the same code.
 *   diskbench seqread DEV MIB      1 MiB reads from offset 0
 *   diskbench seqwrite DEV MIB     1 MiB writes from offset 0, then fdatasync
 *   diskbench randread DEV SECONDS 4 KiB reads at random aligned offsets
 *   diskbench tcpsend IPV4:PORT MIB  send MIB MiB over TCP, timed to close
 * Prints one line: "diskbench: <mode> <value> <unit>".
 */
#define _GNU_SOURCE /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BIG   (1 << 20)
#define SMALL 4096

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int die(const char *what)
{
	fprintf(stderr, "diskbench: %s: %s\n", what, strerror(errno));
	return 1;
}

static int tcpsend(const char *target, long mib)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64], *colon;
	static char buf[BIG];
	double t0, t;
	int s;

	snprintf(host, sizeof(host), "%s", target);
	colon = strchr(host, ':');
	if (!colon)
		return die("tcpsend: want IPV4:PORT");
	*colon = '\0';
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return die("tcpsend: bad address");
	s = socket(AF_INET, SOCK_STREAM, 0);
	for (int tries = 0; connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0; tries++) {
		if (tries > 100)
			return die("connect");
		usleep(100000);
	}
	memset(buf, 0x5a, sizeof(buf));
	t0 = now();
	for (long i = 0; i < mib; i++)
		for (size_t off = 0; off < sizeof(buf);) {
			ssize_t n = write(s, buf + off, sizeof(buf) - off);

			if (n <= 0)
				return die("send");
			off += (size_t)n;
		}
	shutdown(s, SHUT_WR);
	while (read(s, buf, sizeof(buf)) > 0) /* until the receiver closes */
		;
	t = now() - t0;
	printf("diskbench: tcpsend %.1f MB/s\n", (double)mib * BIG / 1e6 / t);
	return 0;
}

int main(int argc, char **argv)
{
	void *buf;
	uint64_t size = 0, x = 0x9e3779b97f4a7c15ULL;
	long n;
	double t0, t;
	int fd;

	if (argc != 4 || (n = strtol(argv[3], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: diskbench seqread|seqwrite|randread DEV N\n");
		return 2;
	}
	if (!strcmp(argv[1], "tcpsend"))
		return tcpsend(argv[2], n);
	fd = open(argv[2], (strcmp(argv[1], "seqwrite") ? O_RDONLY : O_WRONLY) | O_DIRECT);
	if (fd < 0)
		return die(argv[2]);
	if (posix_memalign(&buf, 4096, BIG))
		return die("memory");
	memset(buf, 0x5a, BIG);
	if (ioctl(fd, BLKGETSIZE64, &size) < 0 || size < SMALL)
		return die("BLKGETSIZE64");
	t0 = now();
	if (!strcmp(argv[1], "seqread") || !strcmp(argv[1], "seqwrite")) {
		int wr = argv[1][3] == 'w';

		if ((uint64_t)n * BIG > size)
			n = (long)(size / BIG);
		for (long i = 0; i < n; i++)
			if ((wr ? pwrite(fd, buf, BIG, (off_t)i * BIG)
				: pread(fd, buf, BIG, (off_t)i * BIG)) != BIG)
				return die(argv[1]);
		if (wr && fdatasync(fd) < 0)
			return die("fdatasync");
		t = now() - t0;
		printf("diskbench: %s %.1f MB/s\n", argv[1], (double)n * BIG / 1e6 / t);
	} else if (!strcmp(argv[1], "randread")) {
		long ops = 0;
		uint64_t blocks = size / SMALL;

		do {
			for (int k = 0; k < 64; k++, ops++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				if (pread(fd, buf, SMALL, (off_t)((x % blocks) * SMALL)) != SMALL)
					return die("randread");
			}
			t = now() - t0;
		} while (t < (double)n);
		printf("diskbench: randread %.0f IOPS\n", (double)ops / t);
	} else {
		fprintf(stderr, "diskbench: unknown mode %s\n", argv[1]);
		return 2;
	}
	return 0;
}
