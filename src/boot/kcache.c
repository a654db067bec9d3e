// SPDX-License-Identifier: MIT
#include "boot/kcache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "util.h"

#define PAGE 4096u
static const char trailer_magic[8] = "EMBERVMX";

/* Trailer layout (little-endian), KCACHE_TRAILER_SIZE bytes. */
enum {
	T_MAGIC = 0,	/* 8 bytes */
	T_VERSION = 8,	/* u32 */
	T_SIZE = 12,	/* u32: KCACHE_TRAILER_SIZE */
	T_KEY = 16,	/* 16 bytes */
	T_BZSIZE = 32,	/* u64 */
	T_VSIZE = 40,	/* u64 */
	T_CONTENT = 48, /* u64: XXH3-64 of the non-zero pages, see content_* */
	T_CHECK = 56,	/* u64: XXH3-64 of bytes [0, 56) */
};
_Static_assert(T_CHECK + 8 == KCACHE_TRAILER_SIZE, "trailer layout");

void kcache_key(const uint8_t *file, size_t len, struct kcache_key *k)
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(file, len));
	memcpy(k->b, c.digest, sizeof(k->b));
}

static void entry_name(const struct kcache_key *k, char name[48])
{
	for (unsigned i = 0; i < sizeof(k->b); i++)
		snprintf(name + 2 * i, 3, "%02x", k->b[i]);
	strcpy(name + 2 * sizeof(k->b), ".vmlinux");
}

/* A whole page (or the short last one) of zeros? */
static bool is_zero(const uint8_t *p, size_t n)
{
	uint64_t acc = 0, w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		acc |= w;
		if ((i & 511) == 504 && acc) /* stop early on data */
			return false;
	}
	for (; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* The content hash: each non-zero page as its LE64 index followed by its
 * bytes. Zero pages do not count, so the hash is the same whether a file
 * system kept them as holes or as data. */
static void content_page(XXH3_state_t *st, uint64_t idx, const uint8_t *p, size_t n)
{
	uint8_t le[8];

	put_le64(le, idx);
	XXH3_64bits_update(st, le, sizeof(le));
	XXH3_64bits_update(st, p, n);
}

/* A directory that only this user can write, or -EPERM with a message. */
static int check_dir(int dfd, const char *path)
{
	struct stat st;

	if (fstat(dfd, &st) < 0)
		return ember_seterr(-errno, "%s: %s", path, strerror(errno));
	if (st.st_uid != geteuid())
		return ember_seterr(-EPERM, "%s is owned by uid %u, not by you", path,
				    (unsigned)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return ember_seterr(-EPERM, "%s is writable by group or others (mode %03o)", path,
				    (unsigned)(st.st_mode & 0777));
	return 0;
}

/* mkdir path (0700) unless it exists; then open and check it. */
static int open_own_dir(const char *path)
{
	int fd, err;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return ember_seterr(-errno, "%s: %s", path, strerror(errno));
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ember_seterr(-errno, "%s: %s", path, strerror(errno));
	err = check_dir(fd, path);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int kcache_open_dir(char *path, size_t pathsz)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	size_t n;
	int fd;

	/* The XDG base directory spec: a relative XDG_CACHE_HOME is invalid
	 * and ignored. */
	if (xdg && xdg[0] == '/')
		n = (size_t)snprintf(path, pathsz, "%s", xdg);
	else if (home && home[0] == '/')
		n = (size_t)snprintf(path, pathsz, "%s/.cache", home);
	else
		return ember_seterr(-ENOENT, "no cache directory (neither XDG_CACHE_HOME nor HOME "
					     "is set)");
	if (n >= pathsz || n + sizeof("/ember/vmlinux") > pathsz)
		return ember_seterr(-ENAMETOOLONG, "cache directory path too long");
	/* The base may be missing in a fresh HOME; its parent must exist. */
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return ember_seterr(-errno, "%s: %s", path, strerror(errno));
	strcat(path, "/ember");
	fd = open_own_dir(path);
	if (fd < 0)
		return fd;
	close(fd);
	strcat(path, "/vmlinux");
	return open_own_dir(path);
}

void kcache_ident(const struct stat *st, struct kcache_ident *id)
{
	*id = (struct kcache_ident){
		.dev = (uint64_t)st->st_dev,
		.ino = (uint64_t)st->st_ino,
		.size = (uint64_t)st->st_size,
		.mtime_ns =
		    (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec,
		.ctime_ns =
		    (uint64_t)st->st_ctim.tv_sec * 1000000000u + (uint64_t)st->st_ctim.tv_nsec,
	};
}

/*
 * Memos: small files beside the entries that spare a hash while a file is
 * unchanged. A memo holds a file's identity (device, inode, size, mtime and
 * ctime: no write to the file leaves all five as they were, since the
 * kernel sets ctime on every change and nobody can set it back) and what
 * was learnt from that file's bytes: a bzImage's key, or "this entry's
 * content matched its hash". Layout: magic, the identity (5 x LE64), the
 * payload (16 bytes), XXH3-64 of what precedes it.
 */
#define MEMO_SIZE 80
static const char memo_magic[8] = "EMBERMEM";

static void memo_name(char *name, size_t cap, const char *prefix, const uint8_t *what, size_t n)
{
	size_t o = (size_t)snprintf(name, cap, "%s", prefix);

	for (size_t i = 0; i < n && o + 3 <= cap; i++, o += 2)
		snprintf(name + o, 3, "%02x", what[i]);
	snprintf(name + o, cap - o, ".memo");
}

static void memo_encode(uint8_t m[MEMO_SIZE], const struct kcache_ident *id, const uint8_t pay[16])
{
	memcpy(m, memo_magic, 8);
	put_le64(m + 8, id->dev);
	put_le64(m + 16, id->ino);
	put_le64(m + 24, id->size);
	put_le64(m + 32, id->mtime_ns);
	put_le64(m + 40, id->ctime_ns);
	memcpy(m + 48, pay, 16);
	put_le64(m + 64, XXH3_64bits(m, 64));
	memset(m + 72, 0, 8);
}

/* 0 and the payload when the memo `name` holds exactly identity `id`. */
static int memo_get(int dfd, const char *name, const struct kcache_ident *id, uint8_t pay[16])
{
	uint8_t have[MEMO_SIZE], want[MEMO_SIZE];
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -ENOENT;
	n = pread(fd, have, sizeof(have), 0);
	close(fd);
	if (n != (ssize_t)sizeof(have))
		return -ENOENT;
	memo_encode(want, id, have + 48);
	if (memcmp(have, want, sizeof(want)) != 0)
		return -ENOENT;
	memcpy(pay, have + 48, 16);
	return 0;
}

/*
 * Best effort: a memo that cannot be written costs a hash next time. File
 * systems stamp times from a coarse clock (a jiffy or so): a write within
 * the same tick as the stat could leave the identity as it was. So only an
 * identity whose times are a second old is remembered; a file that changes
 * later gets a later ctime.
 */
static void memo_put(int dfd, const char *name, const struct kcache_ident *id,
		     const uint8_t pay[16])
{
	struct timespec now;
	uint8_t m[MEMO_SIZE];
	char tmp[128];
	uint64_t limit;
	int fd;

	clock_gettime(CLOCK_REALTIME, &now);
	limit = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec - 1000000000u;
	if (id->ctime_ns > limit || id->mtime_ns > limit)
		return;

	snprintf(tmp, sizeof(tmp), ".%s.%d.tmp", name, (int)getpid());
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	memo_encode(m, id, pay);
	if (ember_pwrite_all(fd, m, sizeof(m), 0) || close(fd) < 0 ||
	    renameat(dfd, tmp, dfd, name) < 0)
		unlinkat(dfd, tmp, 0);
}

/* "bz-<XXH3-64 of the identity>.memo": one memo per bzImage file. */
static void bz_memo_name(const struct kcache_ident *bz, char name[64])
{
	uint8_t idb[40], h[8];

	put_le64(idb, bz->dev);
	put_le64(idb + 8, bz->ino);
	put_le64(idb + 16, bz->size);
	put_le64(idb + 24, bz->mtime_ns);
	put_le64(idb + 32, bz->ctime_ns);
	put_le64(h, XXH3_64bits(idb, sizeof(idb)));
	memo_name(name, 64, "bz-", h, sizeof(h));
}

int kcache_key_memo_get(int dfd, const struct kcache_ident *bz, struct kcache_key *key)
{
	char name[64];

	bz_memo_name(bz, name);
	return memo_get(dfd, name, bz, key->b);
}

void kcache_key_memo_put(int dfd, const struct kcache_ident *bz, const struct kcache_key *key)
{
	char name[64];

	bz_memo_name(bz, name);
	memo_put(dfd, name, bz, key->b);
}

/* The memo saying that the entry for `key`, with identity `id`, was
 * verified (or written) whole. */
static void verified_name(const struct kcache_key *key, char name[64])
{
	memo_name(name, 64, "ok-", key->b, sizeof(key->b));
}

void kcache_entry_close(struct kcache_entry *e)
{
	if (e->map)
		munmap((void *)e->map, (size_t)e->size);
	if (e->fd >= 0)
		close(e->fd);
	e->map = NULL;
	e->fd = -1;
}

struct verify_job {
	const struct kcache_entry *e;
	uint64_t hash;
};

/* Under ember_guard_sigbus(): hashes the non-zero pages of the entry's
 * mapping, reading only its data extents (holes are zero pages). */
static int verify_mapped(void *arg)
{
	struct verify_job *job = arg;
	const struct kcache_entry *e = job->e;
	XXH3_state_t st;
	uint64_t pos = 0, end = e->size;

	XXH3_64bits_reset(&st);
	while (pos < end) {
		off_t data = e->sparse ? lseek(e->fd, (off_t)pos, SEEK_DATA) : (off_t)pos;
		off_t hole = end;

		if (data < 0 && errno == ENXIO)
			break;
		if (data < 0)
			data = (off_t)pos; /* no SEEK_DATA here: read it all */
		if ((uint64_t)data >= end)
			break;
		if (e->sparse) {
			hole = lseek(e->fd, data, SEEK_HOLE);
			if (hole < 0 || (uint64_t)hole > end)
				hole = (off_t)end;
		}
		/* Extents are block-aligned; start at the page holding data. */
		for (uint64_t p = (uint64_t)data & ~(uint64_t)(PAGE - 1); p < (uint64_t)hole;
		     p += PAGE) {
			size_t n = end - p < PAGE ? (size_t)(end - p) : PAGE;

			if (!is_zero(e->map + p, n))
				content_page(&st, p / PAGE, e->map + p, n);
		}
		pos = ((uint64_t)hole + PAGE - 1) & ~(uint64_t)(PAGE - 1);
		if (pos <= (uint64_t)data)
			pos = (uint64_t)data + PAGE;
	}
	job->hash = XXH3_64bits_digest(&st);
	return 0;
}

static int bad_entry(int dfd, const char *name, struct kcache_entry *e, const char *why)
{
	kcache_entry_close(e);
	unlinkat(dfd, name, 0);
	return ember_seterr(-EINVAL, "cache entry %s: %s", name, why);
}

int kcache_lookup(int dfd, const struct kcache_key *key, uint64_t bzsize, struct kcache_entry *e)
{
	uint8_t t[KCACHE_TRAILER_SIZE], pay[16];
	struct verify_job job = { e, 0 };
	struct kcache_ident id;
	char name[48], memo[64];
	struct stat st;
	uint64_t vsize;
	ssize_t n;
	void *p;
	int err;

	*e = (struct kcache_entry){ .fd = -1 };
	entry_name(key, name);
	e->fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (e->fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return ember_seterr(-errno, "cache entry %s: %s", name, strerror(errno));
	}
	if (fstat(e->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
		return bad_entry(dfd, name, e, "not a regular file of yours");
	if ((uint64_t)st.st_size <= KCACHE_TRAILER_SIZE)
		return bad_entry(dfd, name, e, "too short");
	n = pread(e->fd, t, sizeof(t), st.st_size - KCACHE_TRAILER_SIZE);
	if (n != (ssize_t)sizeof(t))
		return bad_entry(dfd, name, e, "cannot read its trailer");
	if (memcmp(t + T_MAGIC, trailer_magic, 8) != 0 ||
	    get_le32(t + T_VERSION) != KCACHE_VERSION ||
	    get_le32(t + T_SIZE) != KCACHE_TRAILER_SIZE ||
	    get_le64(t + T_CHECK) != XXH3_64bits(t, T_CHECK))
		return bad_entry(dfd, name, e, "no valid trailer (torn or foreign file)");
	vsize = get_le64(t + T_VSIZE);
	if (memcmp(t + T_KEY, key->b, sizeof(key->b)) != 0 || get_le64(t + T_BZSIZE) != bzsize ||
	    vsize != (uint64_t)st.st_size - KCACHE_TRAILER_SIZE || vsize > SIZE_MAX)
		return bad_entry(dfd, name, e,
				 "trailer does not match the kernel or the file size");
	p = mmap(NULL, (size_t)vsize, PROT_READ, MAP_PRIVATE, e->fd, 0);
	if (p == MAP_FAILED) {
		err = -errno;
		kcache_entry_close(e);
		return ember_seterr(err, "cache entry %s: mmap: %s", name, strerror(-err));
	}
	e->map = p;
	e->size = vsize;
	e->file_size = (uint64_t)st.st_size;
	e->sparse = (uint64_t)st.st_blocks < ((uint64_t)st.st_size + 511) / 512;
	/* Hashing a 63 MiB entry on every boot cost Debian's kernel 4.6% of
	 * its boot in the lab: once verified, the entry is trusted while its
	 * identity (inode, size, mtime, ctime) stays what it was then. */
	kcache_ident(&st, &id);
	verified_name(key, memo);
	if (memo_get(dfd, memo, &id, pay) == 0 && memcmp(pay, t + T_KEY, 16) == 0) {
		e->verified_by_memo = true;
		return 0;
	}
	err = ember_guard_sigbus(verify_mapped, &job);
	if (err) {
		kcache_entry_close(e);
		return ember_prefixerr(err, "cache entry %s", name);
	}
	if (job.hash != get_le64(t + T_CONTENT))
		return bad_entry(dfd, name, e, "content does not match its hash (torn or altered)");
	memo_put(dfd, memo, &id, t + T_KEY);
	return 0;
}

int kcache_store(int dfd, const struct kcache_key *key, uint64_t bzsize, const uint8_t *vmlinux,
		 size_t len)
{
	uint8_t t[KCACHE_TRAILER_SIZE] = { 0 };
	char name[48], tmp[96];
	XXH3_state_t st;
	uint64_t run = 0, p;
	bool in_run = false;
	int fd, err = 0;

	entry_name(key, name);
	snprintf(tmp, sizeof(tmp), ".%s.%d.tmp", name, (int)getpid());
	unlinkat(dfd, tmp, 0); /* a leftover of a crashed ember with our pid */
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return ember_seterr(-errno, "%s", strerror(errno));
	/* One pwrite() per run of non-zero pages; zero pages stay holes. */
	XXH3_64bits_reset(&st);
	for (p = 0; p <= len && !err; p += PAGE) {
		size_t n = len - p < PAGE ? len - p : PAGE;
		bool data = n && !is_zero(vmlinux + p, n);

		if (data) {
			content_page(&st, p / PAGE, vmlinux + p, n);
			if (!in_run)
				run = p;
			in_run = true;
		}
		if (in_run && (!data || n < PAGE)) {
			uint64_t stop = data ? p + n : p;

			err = ember_pwrite_all(fd, vmlinux + run, (size_t)(stop - run), run);
			in_run = false;
		}
		if (n < PAGE)
			break;
	}
	if (!err && ftruncate(fd, (off_t)len) < 0)
		err = -errno;
	memcpy(t + T_MAGIC, trailer_magic, 8);
	put_le32(t + T_VERSION, KCACHE_VERSION);
	put_le32(t + T_SIZE, KCACHE_TRAILER_SIZE);
	memcpy(t + T_KEY, key->b, sizeof(key->b));
	put_le64(t + T_BZSIZE, bzsize);
	put_le64(t + T_VSIZE, len);
	put_le64(t + T_CONTENT, XXH3_64bits_digest(&st));
	put_le64(t + T_CHECK, XXH3_64bits(t, T_CHECK));
	/* The trailer last: an entry cut short has none. No fsync: a file torn
	 * by a crash fails the checks on use and is rebuilt. */
	if (!err)
		err = ember_pwrite_all(fd, t, sizeof(t), len);
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && renameat(dfd, tmp, dfd, name) < 0)
		err = -errno;
	if (err) {
		unlinkat(dfd, tmp, 0);
		return ember_seterr(err, "%s", strerror(-err));
	}
	/* No memo yet: the entry's ctime is the rename's, too recent for one
	 * (memo_put()). The next use hashes it and leaves the memo. */
	return 0;
}
