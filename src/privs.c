// SPDX-License-Identifier: MIT
/*
 * Least privilege without a jailer (issue 15). See privs.h and
 * docs/design.md "Least privilege".
 *
 * Capabilities through the raw syscalls, not libcap: ember needs three calls
 * (capget, capset, prctl), and libcap would be one more static library to
 * build and link for them, with an allocating API around a fixed-size
 * struct.
 */
#include "privs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

/* ---- inherited file descriptors ---- */

#define KEEP_MAX 64 /* fds named on one command line; more are refused */

/* The fds that argument `s` names as /dev/fd/N or /proc/self/fd/N, anywhere
 * in it (--disk /dev/fd/5,ro, --kernel=/dev/fd/4), added to keep[]. */
static int scan_arg(const char *s, int *keep, unsigned *n)
{
	static const char *const prefixes[] = { "/dev/fd/", "/proc/self/fd/" };

	for (unsigned p = 0; p < ARRAY_SIZE(prefixes); p++) {
		size_t len = strlen(prefixes[p]);

		for (const char *at = strstr(s, prefixes[p]); at;
		     at = strstr(at + 1, prefixes[p])) {
			const char *d = at + len;
			long fd = 0;

			if (*d < '0' || *d > '9')
				continue;
			while (*d >= '0' && *d <= '9' && fd <= 0x7fffffff)
				fd = fd * 10 + (*d++ - '0');
			if (fd < 3 || fd > 0x7fffffff)
				continue; /* 0-2 stay anyway; a huge one is no open fd */
			if (*n == KEEP_MAX)
				return ember_seterr(
				    -E2BIG, "more than %d /dev/fd/N paths on the command line",
				    KEEP_MAX);
			keep[(*n)++] = (int)fd;
		}
	}
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static bool kept(int fd, const int *keep, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (keep[i] == fd)
			return true;
	return false;
}

/* Kernels before 5.9 have no close_range(): the open fds, one by one. */
static int close_listed(const int *keep, unsigned n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return ember_seterr(-errno, "closing inherited fds: /proc/self/fd: %s",
				    strerror(errno));
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);

		if (fd >= 3 && fd != dirfd(d) && !kept(fd, keep, n))
			close(fd);
	}
	closedir(d);
	return 0;
}

int privs_close_inherited_fds(int argc, char **argv)
{
	int keep[KEEP_MAX];
	unsigned n = 0, lo = 3;
	int err;

	for (int i = 1; i < argc; i++) {
		err = scan_arg(argv[i], keep, &n);
		if (err)
			return err;
	}
	qsort(keep, n, sizeof(keep[0]), cmp_int);
	/* The gaps between the kept fds (sorted, maybe repeated), then
	 * everything above the last. */
	for (unsigned i = 0; i <= n; i++) {
		unsigned last = i < n ? (unsigned)keep[i] - 1 : ~0U;

		if (i < n && (unsigned)keep[i] < lo)
			continue; /* a repeat */
		if ((i == n || last >= lo) && close_range(lo, last, 0) < 0)
			return errno == ENOSYS ? close_listed(keep, n)
					       : ember_seterr(-errno, "closing inherited fds: %s",
							      strerror(errno));
		if (i < n)
			lo = (unsigned)keep[i] + 1;
	}
	/* A kept fd is ember's now, and no exec inherits ember's fds. */
	for (unsigned i = 0; i < n; i++)
		fcntl(keep[i], F_SETFD, FD_CLOEXEC); /* EBADF: nothing was there */
	return 0;
}

/* ---- capabilities ---- */

static int cap_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };

	if (syscall(SYS_capget, &h, d) < 0)
		return ember_seterr(-errno, "dropping capabilities: capget: %s", strerror(errno));
	return 0;
}

static bool cap_none(const struct __user_cap_data_struct d[2])
{
	return !(d[0].effective | d[0].permitted | d[0].inheritable | d[1].effective |
		 d[1].permitted | d[1].inheritable);
}

static int cap_set(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };

	if (syscall(SYS_capset, &h, d) < 0)
		return ember_seterr(-errno, "dropping capabilities: capset: %s", strerror(errno));
	return 0;
}

/*
 * The bounding set needs CAP_SETPCAP in the effective set to shrink. Without
 * it in the permitted set (a file-capability ember holding, say, only
 * CAP_NET_ADMIN) it stays: it limits only what an execve() could gain, and
 * ember never executes anything, under PR_SET_NO_NEW_PRIVS besides.
 */
static int drop_bounding(struct __user_cap_data_struct d[2])
{
	const unsigned idx = CAP_TO_INDEX(CAP_SETPCAP);
	const uint32_t bit = CAP_TO_MASK(CAP_SETPCAP);
	int err;

	if (!(d[idx].permitted & bit))
		return 0;
	if (!(d[idx].effective & bit)) {
		d[idx].effective |= bit;
		err = cap_set(d);
		if (err)
			return err;
	}
	/* Up to the kernel's last capability: PR_CAPBSET_READ says EINVAL past it. */
	for (unsigned long cap = 0;; cap++) {
		int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (r < 0)
			break;
		if (r == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return ember_seterr(-errno,
					    "dropping capabilities: PR_CAPBSET_DROP %lu: %s", cap,
					    strerror(errno));
	}
	return 0;
}

static int drop_self(void)
{
	struct __user_cap_data_struct d[2];
	int err = cap_get(d);

	/* The ambient set is within permitted and inheritable: empty too. */
	if (err || cap_none(d))
		return err;
	err = drop_bounding(d);
	if (err)
		return err;
	/* Kernels before 4.3 have no ambient set (EINVAL): nothing to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return ember_seterr(-errno, "dropping capabilities: clearing the ambient set: %s",
				    strerror(errno));
	memset(d, 0, sizeof(d[0]) * 2);
	err = cap_set(d);
	if (!err)
		err = cap_get(d);
	if (!err && !cap_none(d))
		err = ember_seterr(-EPERM, "dropping capabilities: some remain after capset");
	return err;
}

int privs_drop_caps(void)
{
	return drop_self();
}
