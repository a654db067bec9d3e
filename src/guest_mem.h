/* SPDX-License-Identifier: MIT */
/*
 * Guest physical memory: the only place that turns a guest-physical address
 * into a host pointer. RAM is one host mapping split into at most two guest
 * regions around the MMIO window below 4 GiB (see boot/layout.h):
 *
 *   region 0: gpa [0, low)            host [0, low)
 *   region 1: gpa [4 GiB, 4 GiB+high) host [low, low+high)
 *
 * Every accessor takes a (gpa, len) range, treats it as half-open, checks it
 * for overflow and requires it to lie inside one region. A short access is an
 * error, never a truncation. Callers must not keep a pointer from
 * guest_mem_ptr() beyond the request that obtained it.
 */
#ifndef EMBER_GUEST_MEM_H
#define EMBER_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t gpa_t;

#define GUEST_MEM_MAX_REGIONS 2
#define GUEST_MEM_PAGE 4096u	  /* x86 base page */
#define GUEST_MEM_HUGE (2u << 20) /* x86 large page: KVM's 2 MiB mappings */

struct guest_region {
	gpa_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_mem {
	uint8_t *base; /* start of the whole host mapping */
	uint64_t size; /* total RAM in bytes */
	bool mapped;   /* base came from guest_mem_map() and must be unmapped */
	bool huge;     /* the host took MADV_HUGEPAGE for RAM above 2 MiB */
	/* RAM is fresh anonymous memory, so whatever the loader has not
	 * written reads as zero and writing zeros may be skipped. Only
	 * guest_mem_map() sets it; the loader writes each byte at most once
	 * and keeps it; vm_load() clears it before anything else writes RAM
	 * (a reboot that reloads into used RAM must see it false). */
	bool zeroed;
	/* RAM is a private copy-on-write mapping of a snapshot's memory file
	 * (guest_mem_map_file): pages the guest has not written read from
	 * that file, not as zero. */
	bool file_backed;
	/* With dirty tracking (guest_mem_track): one bit per 4 KiB page of the
	 * host mapping that ember itself wrote for the guest (devices, the
	 * loader), which KVM's dirty log does not see. */
	_Atomic uint64_t *dirty;
	unsigned nregions;
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
};

/* Split `size` bytes of RAM around the MMIO window; fills regions[] with host
 * pointers relative to `base`. Pure: used by both constructors and tests. */
void guest_mem_layout(struct guest_mem *gm, uint8_t *base, uint64_t size);

/* Map `size` bytes of anonymous, lazily-populated RAM (MAP_NORESERVE),
 * 2 MiB-aligned; with `huge`, ask for transparent huge pages above the first
 * 2 MiB (gm->huge says whether the host agreed), without it refuse them
 * (MADV_NOHUGEPAGE, even where the host's THP mode is "always"). Returns 0 or -errno (-ENOMEM
 * when the host cannot map that much). */
int guest_mem_map(struct guest_mem *gm, uint64_t size, bool huge);

/* Map `size` bytes (a multiple of 2 MiB) of hugetlbfs 2 MiB pages
 * (Firecracker's huge_pages "2M"): the host must have them reserved
 * (/proc/sys/vm/nr_hugepages); they are taken when mapped, so a short pool
 * fails here (-ENOMEM) rather than with a SIGBUS in the guest. */
int guest_mem_map_hugetlb(struct guest_mem *gm, uint64_t size);

/* Map `size` bytes of the file `fd` (a snapshot's memory file, exactly
 * `size` bytes) private and copy-on-write, 2 MiB-aligned as guest_mem_map()
 * does: a page is read from the file (its page cache, shared by every VM
 * restored from it) only when touched, and the guest's writes stay in this
 * process. Returns 0 or -errno. */
int guest_mem_map_file(struct guest_mem *gm, uint64_t size, int fd);

/* Start recording the pages ember writes for the guest (diff snapshots).
 * 0 or -ENOMEM. */
int guest_mem_track(struct guest_mem *gm);
/* Record that [host, host+len) inside the mapping was written (no-op without
 * tracking, or outside RAM). Any thread. */
void guest_mem_mark(const struct guest_mem *gm, const void *host, uint64_t len);
/* Take page `page`'s bit (of the whole mapping) and clear it. */
bool guest_mem_take_dirty(const struct guest_mem *gm, uint64_t page);

/* Use a caller-owned buffer as guest RAM (unit tests, fuzzers). */
void guest_mem_init_buf(struct guest_mem *gm, uint8_t *buf, uint64_t size);

void guest_mem_unmap(struct guest_mem *gm);

/* Host pointer for [gpa, gpa+len) if the whole range is RAM, else NULL.
 * len 0 is valid for any gpa inside or at the end of a region. */
void *guest_mem_ptr(const struct guest_mem *gm, gpa_t gpa, uint64_t len);

/* True if [gpa, gpa+len) is entirely guest RAM. */
bool guest_mem_contains(const struct guest_mem *gm, gpa_t gpa, uint64_t len);

/* Copy in/out and fill. Return 0 or -EFAULT when the range is not all RAM. */
int guest_mem_read(const struct guest_mem *gm, gpa_t gpa, void *dst, uint64_t len);
int guest_mem_write(const struct guest_mem *gm, gpa_t gpa, const void *src, uint64_t len);
int guest_mem_fill(const struct guest_mem *gm, gpa_t gpa, int byte, uint64_t len);

/* guest_mem_write(), except that when gm->zeroed it leaves out each 4 KiB
 * guest page whose bytes in src are all zero: that page reads as zero
 * already, and not writing it saves the page fault, the host kernel's
 * zeroing of the page and the copy. Returns 0 or -EFAULT. */
int guest_mem_write_sparse(const struct guest_mem *gm, gpa_t gpa, const void *src, uint64_t len);

/* End of RAM below 4 GiB (the size of region 0). */
uint64_t guest_mem_low_end(const struct guest_mem *gm);

#endif
