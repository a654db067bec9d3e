// SPDX-License-Identifier: MIT
#include "dev/disk_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

struct disk_perms disk_lock_perms(bool ro)
{
	if (ro)
		return (struct disk_perms){ .use = DISK_PERM_CONSISTENT_READ,
					    .unshared = DISK_PERM_WRITE };
	return (struct disk_perms){ .use = DISK_PERM_CONSISTENT_READ | DISK_PERM_WRITE,
				    .unshared = DISK_PERM_WRITE };
}

bool disk_lock_conflicts(struct disk_perms me, struct disk_perms others,
			 struct disk_lock_conflict *c)
{
	unsigned bad = others.use & me.unshared & DISK_PERM_ALL;

	if (bad) {
		*c = (struct disk_lock_conflict){ .perm = bad & -bad, .they_use = true };
		return true;
	}
	bad = others.unshared & me.use & DISK_PERM_ALL;
	if (bad) {
		*c = (struct disk_lock_conflict){ .perm = bad & -bad, .they_use = false };
		return true;
	}
	return false;
}

static const char *perm_name(unsigned perm)
{
	switch (perm) {
	case DISK_PERM_CONSISTENT_READ:
		return "consistent read";
	case DISK_PERM_WRITE:
		return "write";
	case DISK_PERM_WRITE_UNCHANGED:
		return "write unchanged";
	case DISK_PERM_RESIZE:
		return "resize";
	}
	return "?";
}

void disk_lock_describe(const struct disk_lock_conflict *c, char *buf, unsigned cap)
{
	/* OFD locks carry no owner (l_pid is -1): name the usual suspects. */
	static const char who[] = "another ember or QEMU (or another disk of this VM)";

	if (c->they_use && c->perm == DISK_PERM_WRITE)
		snprintf(buf, cap, "locked: %s has it open read-write", who);
	else if (!c->they_use && c->perm == DISK_PERM_WRITE)
		snprintf(buf, cap, "locked: %s has it open read-only and forbids writers", who);
	else
		snprintf(buf, cap, "locked: %s %s the \"%s\" permission", who,
			 c->they_use ? "holds" : "does not share", perm_name(c->perm));
}

static int lock_byte(int fd, int off)
{
	struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = off, .l_len = 1 };

	return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* Does an open file other than fd's hold a lock on byte off? */
static int byte_held(int fd, int off, bool *held)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = off, .l_len = 1 };

	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	*held = fl.l_type != F_UNLCK;
	return 0;
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

static int lock_err(int err)
{
	return ember_seterr(err,
			    "cannot lock it as QEMU does (fcntl: %s; does the file system "
			    "support open file description locks?)",
			    strerror(-err));
}

int disk_lock_take(int fd, bool ro, int own_fd)
{
	struct disk_perms me = disk_lock_perms(ro), others = { 0, 0 };
	struct disk_lock_conflict c;
	char why[160];
	bool held = false;
	int err;

	for (unsigned n = 0; n < DISK_PERM_COUNT; n++) {
		unsigned bit = 1u << n;

		if ((me.use & bit) && (err = lock_byte(fd, DISK_LOCK_PERM_BASE + (int)n)))
			return lock_err(err);
		if ((me.unshared & bit) && (err = lock_byte(fd, DISK_LOCK_SHARED_BASE + (int)n)))
			return lock_err(err);
	}
	if (own_fd >= 0 && same_file(fd, own_fd))
		return 0;
	for (unsigned n = 0; n < DISK_PERM_COUNT; n++) {
		unsigned bit = 1u << n;

		if ((err = byte_held(fd, DISK_LOCK_PERM_BASE + (int)n, &held)))
			return lock_err(err);
		if (held)
			others.use |= bit;
		if ((err = byte_held(fd, DISK_LOCK_SHARED_BASE + (int)n, &held)))
			return lock_err(err);
		if (held)
			others.unshared |= bit;
	}
	if (!disk_lock_conflicts(me, others, &c))
		return 0;
	disk_lock_describe(&c, why, sizeof(why));
	return ember_seterr(-EBUSY, "%s", why);
}
