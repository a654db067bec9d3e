// SPDX-License-Identifier: MIT
#include "guest_mem.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <linux/mman.h> /* MAP_HUGE_2MB */
#include <sys/mman.h>

#include "boot/layout.h"
#include "util.h"

void guest_mem_layout(struct guest_mem *gm, uint8_t *base, uint64_t size)
{
	uint64_t low = size < LAYOUT_MMIO_START ? size : LAYOUT_MMIO_START;

	memset(gm, 0, sizeof(*gm));
	gm->base = base;
	gm->size = size;
	gm->regions[0] = (struct guest_region){ .gpa = 0, .size = low, .host = base };
	gm->nregions = 1;
	if (size > low) {
		gm->regions[1] = (struct guest_region){
			.gpa = LAYOUT_HIGH_RAM, .size = size - low, .host = base + low
		};
		gm->nregions = 2;
	}
}

/* `size` bytes of anonymous, lazily-populated memory at a 2 MiB-aligned
 * address, or MAP_FAILED with errno set. */
static uint8_t *map_aligned(uint64_t size)
{
	size_t len;
	uintptr_t raw, start;
	uint8_t *p;

	if (size == 0 || size > SIZE_MAX - GUEST_MEM_HUGE) {
		errno = EINVAL;
		return MAP_FAILED;
	}

	/* Lazy: pages are populated only when the guest or ember touches them,
	 * so start-up cost and RSS do not grow with --memory. The mapping is
	 * over-allocated by 2 MiB and trimmed so that host and guest addresses
	 * agree modulo 2 MiB: KVM maps guest RAM with large pages only where a
	 * 2 MiB guest frame is backed by a 2 MiB-aligned host range. */
	len = (size_t)size + GUEST_MEM_HUGE;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED)
		return MAP_FAILED;
	raw = (uintptr_t)p;
	start = (raw + GUEST_MEM_HUGE - 1) & ~(uintptr_t)(GUEST_MEM_HUGE - 1);
	if (start > raw)
		munmap(p, start - raw);
	if (raw + len > start + size)
		munmap((void *)(start + size), raw + len - (start + size));
	return (uint8_t *)start;
}

/*
 * Guest RAM holds what the guest owns, not ember: it stays out of ember's
 * core dumps (MADV_DONTDUMP: a crash must not write the guest's secrets,
 * or gigabytes, to disk) and out of any child process (MADV_DONTFORK).
 * Returns 0 or -errno; both exist since Linux 3.4.
 */
static int confine(uint8_t *p, uint64_t size)
{
	if (madvise(p, (size_t)size, MADV_DONTDUMP) < 0 ||
	    madvise(p, (size_t)size, MADV_DONTFORK) < 0) {
		int err = -errno;

		munmap(p, (size_t)size);
		return err;
	}
	return 0;
}

int guest_mem_map(struct guest_mem *gm, uint64_t size, bool huge)
{
	uint8_t *p;
	int err;

	p = map_aligned(size);
	if (p == MAP_FAILED)
		return -errno;
	err = confine(p, size);
	if (err)
		return err;
	guest_mem_layout(gm, p, size);
	gm->mapped = true;
	gm->zeroed = true;
	/* Transparent huge pages above the first 2 MiB (where the kernel and
	 * everything it allocates live); the first 2 MiB holds boot tables and
	 * a small guest's code and is touched sparsely, so it stays in 4 KiB
	 * pages and a tiny VM does not fault in (and zero) 2 MiB to start. The
	 * result is advisory: a host without THP keeps 4 KiB pages. */
	gm->huge = false;
	if (huge && size > GUEST_MEM_HUGE &&
	    madvise(p + GUEST_MEM_HUGE, (size_t)size - GUEST_MEM_HUGE, MADV_HUGEPAGE) == 0)
		gm->huge = true;
	/* Without `huge`, say so: a host whose THP mode is "always" would
	 * otherwise still back the RAM with huge pages. */
	if (!huge)
		madvise(p, (size_t)size, MADV_NOHUGEPAGE);
	return 0;
}

int guest_mem_map_hugetlb(struct guest_mem *gm, uint64_t size)
{
	uint8_t *p;
	int err;

	if (size == 0 || size % GUEST_MEM_HUGE || size > SIZE_MAX)
		return -EINVAL;
	/* No MAP_NORESERVE: hugetlbfs then reserves the pages now. The
	 * mapping is 2 MiB-aligned by construction. */
	p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	err = confine(p, size);
	if (err)
		return err;
	guest_mem_layout(gm, p, size);
	gm->mapped = true;
	gm->zeroed = true;
	gm->huge = true;
	return 0;
}

int guest_mem_map_file(struct guest_mem *gm, uint64_t size, int fd)
{
	uint8_t *p;
	int err;

	p = map_aligned(size);
	if (p == MAP_FAILED)
		return -errno;
	/* Over the aligned reservation; MAP_NORESERVE: the copies the guest
	 * makes are charged as it writes, as anonymous RAM is. */
	if (mmap(p, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE,
		 fd, 0) == MAP_FAILED) {
		err = -errno;
		munmap(p, (size_t)size);
		return err;
	}
	err = confine(p, size);
	if (err)
		return err;
	guest_mem_layout(gm, p, size);
	gm->mapped = true;
	gm->file_backed = true;
	/* Huge pages would read 2 MiB of the file per first touch. */
	madvise(p, (size_t)size, MADV_NOHUGEPAGE);
	return 0;
}

int guest_mem_track(struct guest_mem *gm)
{
	uint64_t pages = (gm->size + GUEST_MEM_PAGE - 1) / GUEST_MEM_PAGE;

	if (gm->dirty)
		return 0;
	gm->dirty = calloc((pages + 63) / 64, sizeof(*gm->dirty));
	return gm->dirty ? 0 : -ENOMEM;
}

void guest_mem_mark(const struct guest_mem *gm, const void *host, uint64_t len)
{
	uintptr_t a = (uintptr_t)host, base = (uintptr_t)gm->base;

	if (!gm->dirty || len == 0 || a < base || a - base >= gm->size ||
	    len > gm->size - (a - base))
		return;
	for (uint64_t pg = (a - base) / GUEST_MEM_PAGE; pg <= (a - base + len - 1) / GUEST_MEM_PAGE;
	     pg++)
		atomic_fetch_or_explicit(&gm->dirty[pg / 64], 1ULL << (pg % 64),
					 memory_order_relaxed);
}

bool guest_mem_take_dirty(const struct guest_mem *gm, uint64_t page)
{
	uint64_t bit = 1ULL << (page % 64);

	if (!gm->dirty || page >= (gm->size + GUEST_MEM_PAGE - 1) / GUEST_MEM_PAGE)
		return false;
	return atomic_fetch_and_explicit(&gm->dirty[page / 64], ~bit, memory_order_relaxed) & bit;
}

void guest_mem_init_buf(struct guest_mem *gm, uint8_t *buf, uint64_t size)
{
	guest_mem_layout(gm, buf, size);
}

void guest_mem_unmap(struct guest_mem *gm)
{
	if (gm->mapped && gm->base)
		munmap(gm->base, (size_t)gm->size);
	free((void *)gm->dirty);
	memset(gm, 0, sizeof(*gm));
}

void *guest_mem_ptr(const struct guest_mem *gm, gpa_t gpa, uint64_t len)
{
	gpa_t end;

	if (ckd_add(&end, gpa, len))
		return NULL;
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct guest_region *r = &gm->regions[i];

		if (gpa >= r->gpa && end <= r->gpa + r->size)
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

bool guest_mem_contains(const struct guest_mem *gm, gpa_t gpa, uint64_t len)
{
	return guest_mem_ptr(gm, gpa, len) != NULL;
}

int guest_mem_read(const struct guest_mem *gm, gpa_t gpa, void *dst, uint64_t len)
{
	const void *p = guest_mem_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, (size_t)len);
	return 0;
}

int guest_mem_write(const struct guest_mem *gm, gpa_t gpa, const void *src, uint64_t len)
{
	void *p = guest_mem_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, (size_t)len);
	guest_mem_mark(gm, p, len);
	return 0;
}

/* Source pages are compared against this: memcmp() is vectorised and stops
 * at the first difference, which in code or data comes within bytes. */
static const uint8_t zero_page[GUEST_MEM_PAGE];

int guest_mem_write_sparse(const struct guest_mem *gm, gpa_t gpa, const void *src, uint64_t len)
{
	uint8_t *dst = guest_mem_ptr(gm, gpa, len);
	const uint8_t *s = src;
	uint64_t pos = 0, run = 0; /* [run, pos) is still to be copied */

	if (!dst)
		return -EFAULT;
	if (!gm->zeroed) {
		memcpy(dst, src, (size_t)len);
		return 0;
	}
	while (pos < len) {
		uint64_t n = GUEST_MEM_PAGE - ((gpa + pos) & (GUEST_MEM_PAGE - 1));

		if (n > len - pos)
			n = len - pos;
		if (memcmp(s + pos, zero_page, (size_t)n) == 0) {
			memcpy(dst + run, s + run, (size_t)(pos - run));
			run = pos + n;
		}
		pos += n;
	}
	memcpy(dst + run, s + run, (size_t)(len - run));
	return 0;
}

int guest_mem_fill(const struct guest_mem *gm, gpa_t gpa, int byte, uint64_t len)
{
	void *p = guest_mem_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memset(p, byte, (size_t)len);
	return 0;
}

uint64_t guest_mem_low_end(const struct guest_mem *gm)
{
	return gm->regions[0].size;
}
