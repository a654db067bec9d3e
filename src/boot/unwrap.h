/* SPDX-License-Identifier: MIT */
/*
 * From a bzImage to the ELF vmlinux inside it, through the per-user cache
 * (kcache.h): the loader's one entry point for compressed kernels.
 */
#ifndef EMBER_BOOT_UNWRAP_H
#define EMBER_BOOT_UNWRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/bzimage.h"

struct unwrap_result {
	struct bzimage_info bz; /* the setup header and payload */
	int fd;			/* the vmlinux's file: a cache entry or a memfd */
	const uint8_t *map;	/* vmlinux bytes [0, size), read-only */
	uint64_t size;		/* of the vmlinux */
	uint64_t file_size;	/* of fd's file: size, or more (a cache entry's trailer) */
	bool sparse;		/* fd may have holes (seek them with SEEK_DATA/SEEK_HOLE) */
	bool cached;		/* served by the cache */
	bool key_memo;		/* the cache key came from a memo: no hashing */
	bool verify_memo;	/* the entry was trusted by its memo: no hashing */
	const char *comp;	/* "xz", "gzip", ... */
	uint64_t decomp_us;	/* decompression time; 0 on a cache hit */
	uint64_t hash_us;	/* hashing the bzImage for the cache key (0: memo) */
};

/*
 * Unwrap file[0..len) (read from path: for messages) when it is a bzImage.
 * fd, when >= 0, is the open file the bytes were mapped from: its identity
 * (fstat) lets a later boot of the unchanged file find its cache key
 * without hashing it again.
 * Returns 0 and fills *r: map/size are the ELF vmlinux (not checked to be
 * one: the ELF parser does that), fd a file holding it at offset 0
 * (munmap(map, size) and close(fd), or kernel_unwrap_release(), free
 * them). Returns -ENOEXEC without a message when the file is not a
 * bzImage (try ELF), and another negative errno with a message "kernel
 * PATH: ..." for a bzImage that cannot be unwrapped. Cache trouble is never
 * an error: a note on stderr and the vmlinux comes from memory.
 * file may be a file mapping: a SIGBUS reading it (the file shrank) is -EIO.
 */
int kernel_unwrap(const uint8_t *file, size_t len, int fd, const char *path,
		  struct unwrap_result *r);

void kernel_unwrap_release(struct unwrap_result *r);

#endif
