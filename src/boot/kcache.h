/* SPDX-License-Identifier: MIT */
/*
 * The per-user cache of unwrapped kernels: $XDG_CACHE_HOME/ember/vmlinux
 * (or ~/.cache/ember/vmlinux), one file per bzImage, named by an XXH3-128
 * hash of the bzImage's whole content.
 *
 * An entry is the vmlinux itself, sparse (its zero pages are holes), then
 * a 64-byte trailer: magic, version, key, bzImage size, vmlinux size, a
 * hash of the vmlinux's non-zero pages and a hash of the trailer. Data first
 * so that file offsets are vmlinux offsets: the loader maps the entry and
 * skips its holes with SEEK_DATA/SEEK_HOLE as for any vmlinux. Written to
 * a temporary name and renamed; a torn or altered entry fails the checks
 * on use and is rebuilt.
 */
#ifndef EMBER_BOOT_KCACHE_H
#define EMBER_BOOT_KCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KCACHE_TRAILER_SIZE 64
#define KCACHE_VERSION	    1

struct kcache_key {
	uint8_t b[16];
};

/* The cache key of a bzImage: XXH3-128 of all of file[0..len). */
void kcache_key(const uint8_t *file, size_t len, struct kcache_key *k);

/*
 * Open (creating with mode 0700 as needed) the cache directory. Returns a
 * directory fd and fills path (PATH_MAX bytes) for messages; negative
 * errno with a message when there is no usable directory: no HOME, a
 * read-only file system, or a directory not owned by this user or
 * writable by group or others (refused: someone else could plant a
 * kernel in it).
 */
int kcache_open_dir(char *path, size_t pathsz);

/* A file's identity: device, inode, size, mtime and ctime (st_*). */
struct kcache_ident {
	uint64_t dev, ino, size, mtime_ns, ctime_ns;
};
struct stat;
void kcache_ident(const struct stat *st, struct kcache_ident *id);

/*
 * The key of the bzImage with identity `bz`, remembered from an earlier
 * boot ("bz-*.memo" in dfd): 0 and *key, or -ENOENT (hash it, then
 * kcache_key_memo_put()). Spares hashing the whole bzImage on every boot
 * while the file is unchanged.
 */
int kcache_key_memo_get(int dfd, const struct kcache_ident *bz, struct kcache_key *key);
void kcache_key_memo_put(int dfd, const struct kcache_ident *bz, const struct kcache_key *key);

/* A cache entry opened for use: the vmlinux mapped read-only. */
struct kcache_entry {
	int fd;
	const uint8_t *map; /* vmlinux bytes [0, size) */
	uint64_t size;	    /* of the vmlinux */
	uint64_t file_size; /* of the entry: size + the trailer */
	bool sparse;	    /* fewer blocks allocated than the size */
	bool verified_by_memo; /* content trusted: unchanged since last hashed */
};

/*
 * Look up the entry for key (a bzImage of bzsize bytes) in directory dfd.
 * The trailer is checked on every use; the content hash only when the
 * entry's identity differs from the one recorded ("ok-*.memo") when it was
 * last hashed (written, or verified). Returns 0 and fills *e on a verified
 * hit; -ENOENT on a miss; another
 * negative errno with a message when an entry exists but fails the checks
 * (it was removed: the caller notes it and rebuilds).
 */
int kcache_lookup(int dfd, const struct kcache_key *key, uint64_t bzsize, struct kcache_entry *e);

/* Release an entry from kcache_lookup(). */
void kcache_entry_close(struct kcache_entry *e);

/*
 * Store vmlinux[0..len) as the entry for key: written sparse (4 KiB pages
 * of zeros become holes) under a temporary name, mode 0600, then renamed
 * over the entry's name. Returns 0 or negative errno with a message (cache
 * full, read-only): the caller boots from memory anyway.
 */
int kcache_store(int dfd, const struct kcache_key *key, uint64_t bzsize, const uint8_t *vmlinux,
		 size_t len);

#endif
