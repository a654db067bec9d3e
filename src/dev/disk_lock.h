/* SPDX-License-Identifier: MIT */
/*
 * Disk image locks that QEMU understands, so that ember, other embers and
 * QEMU never write one image at once.
 *
 * The protocol is QEMU's (block/file-posix.c, raw_apply_lock_bytes and
 * raw_check_lock_bytes; the bits are include/block/block-common.h's
 * BLK_PERM_*): a user of an image holds a shared open-file-description lock
 * (F_OFD_SETLK, F_RDLCK) on byte 100 + N for each permission N it uses and
 * on byte 200 + N for each permission it does not let others have. Before
 * using the image it checks (F_OFD_GETLK with F_WRLCK) that nobody else
 * holds 200 + N for a permission N it uses, nor 100 + N for a permission it
 * does not share. Locks are taken before the check, so two openers racing
 * both see each other and both give up; none can slip past the other.
 * OFD locks belong to the open file, not to the process: the same image
 * opened twice by one ember conflicts with itself as with anyone else, and
 * closing the fd drops them (a killed ember leaves none behind).
 *
 * ember's permissions are QEMU's defaults for a virtio-blk disk (measured
 * from QEMU 7.2's /proc/locks): read-write uses consistent-read and write
 * and does not share write; read-only uses consistent-read and does not
 * share write either (a reader wants a consistent image). So one writer and
 * nobody else, or any number of readers.
 */
#ifndef EMBER_DEV_DISK_LOCK_H
#define EMBER_DEV_DISK_LOCK_H

#include <stdbool.h>

/* QEMU's BLK_PERM_* bits. */
#define DISK_PERM_CONSISTENT_READ 0x01u
#define DISK_PERM_WRITE		  0x02u
#define DISK_PERM_WRITE_UNCHANGED 0x04u
#define DISK_PERM_RESIZE	  0x08u
#define DISK_PERM_ALL		  0x0fu
#define DISK_PERM_COUNT		  4

/* Offsets of the lock bytes: 100 + N "uses N", 200 + N "does not share N"
 * (N the bit number). */
#define DISK_LOCK_PERM_BASE   100
#define DISK_LOCK_SHARED_BASE 200

struct disk_perms {
	unsigned use;	   /* DISK_PERM_* this user needs */
	unsigned unshared; /* DISK_PERM_* this user forbids to others */
};

/* What ember takes for a read-write or a read-only disk. */
struct disk_perms disk_lock_perms(bool ro);

/* A conflict between me and the others' lock bytes. */
struct disk_lock_conflict {
	unsigned perm; /* one DISK_PERM_* bit */
	bool they_use; /* they use perm, which I do not share; else they do not
			* share perm, which I use */
};

/*
 * Pure: do the others' locks (`others.use`: the permissions whose 100 + N
 * byte someone else holds; `others.unshared`: the 200 + N bytes) forbid my
 * permissions? Looks at what they use first (a writer is the likelier
 * news), lowest bit first. true and *c filled on a conflict.
 */
bool disk_lock_conflicts(struct disk_perms me, struct disk_perms others,
			 struct disk_lock_conflict *c);

/* The one-line reason for a conflict ("locked: another ember or QEMU ...
 * has it open read-write"), into buf. */
void disk_lock_describe(const struct disk_lock_conflict *c, char *buf, unsigned cap);

/*
 * Lock the image open at fd for a disk (ro or read-write) and check that no
 * other opener forbids it. own_fd, when not -1, is an fd of this disk that
 * already holds the locks (a PATCH /drives swap): when fd is the same file,
 * its locks are taken without the check, since they would only find
 * own_fd's. 0, or negative errno with a message: -EBUSY when another open
 * of the image conflicts, another errno when the file system cannot lock.
 * The locks go when fd is closed.
 */
int disk_lock_take(int fd, bool ro, int own_fd);

#endif
