// SPDX-License-Identifier: MIT
#include "boot/loader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/acpi.h"
#include "boot/elf.h"
#include "boot/layout.h"
#include "boot/linux64.h"
#include "boot/mptable.h"
#include "boot/pvh.h"
#include "boot/unwrap.h"
#include "config.h"
#include "trace.h"
#include "util.h"

/* Open a regular, non-empty file (never blocking on a FIFO or device: see
 * ember_open_input()); returns the fd and fills *st. */
static int open_input(const char *what, const char *path, struct stat *st)
{
	int fd = ember_open_input(path, O_RDONLY, false, st, NULL);

	if (fd < 0)
		return ember_prefixerr(fd, "%s %s", what, path);
	if (st->st_size == 0) {
		close(fd);
		return ember_seterr(-EINVAL, "%s %s: empty file", what, path);
	}
	return fd;
}

/* A kernel file, open and mapped read-only; release with unmap_input().
 * Copying from the mapping with guest_mem_write_sparse() measured faster
 * than pread() into guest RAM: from tmpfs, where the lab keeps its kernels,
 * 10.1 against 11.5 ms for Debian's (shmem reads go page by page), and from
 * ext4, 6.1 against 7.4 ms. */
struct input {
	int fd;
	const uint8_t *map;
	uint64_t size;
	/* Of fd's file: size, or more (a kernel cache entry's trailer). */
	uint64_t file_size;
	bool sparse; /* fewer blocks allocated than the size: may have holes */
};

static int map_input(const char *what, const char *path, struct input *in)
{
	struct stat st;
	void *p;
	int fd = open_input(what, path, &st);

	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return ember_seterr(-EFBIG, "%s %s: too large", what, path);
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		close(fd);
		return ember_seterr(err, "%s %s: %s", what, path, strerror(-err));
	}
	in->fd = fd;
	in->map = p;
	in->size = (uint64_t)st.st_size;
	in->file_size = in->size;
	/* Only a hint (blocks also hold metadata or preallocated space): it
	 * spares a file without holes the lseek() calls, each of which walks
	 * the page cache to the end of the file on tmpfs. */
	in->sparse = (uint64_t)st.st_blocks < ((uint64_t)st.st_size + 511) / 512;
	return 0;
}

static void unmap_input(struct input *in)
{
	munmap((void *)in->map, (size_t)in->size);
	close(in->fd);
}

/* Where the next data (SEEK_DATA) or hole (SEEK_HOLE) at or after `pos`
 * starts, capped at `end`. ENXIO from SEEK_DATA means only holes follow; a
 * file system that refuses the whence (EINVAL) is read as all data, and one
 * without holes reports a single extent up to EOF. */
static int seek_extent(int fd, uint64_t pos, uint64_t end, int whence, uint64_t *next)
{
	off_t r = lseek(fd, (off_t)pos, whence);

	if (r >= 0)
		*next = (uint64_t)r < end ? (uint64_t)r : end;
	else if (errno == ENXIO && whence == SEEK_DATA)
		*next = end;
	else if (errno == ENXIO || errno == EINVAL)
		*next = whence == SEEK_DATA ? pos : end;
	else
		return ember_seterr(-errno, "lseek at byte %llu: %s", (unsigned long long)pos,
				    strerror(errno));
	return 0;
}

/*
 * Copy bytes [off, off+len) of the file to guest RAM at gpa; the caller has
 * checked both ranges. Into RAM that reads as zero already (gm->zeroed),
 * guest_mem_write_sparse() leaves out the zero pages, and holes in a sparse
 * file are skipped without even reading the file's pages (on ext4 a read
 * fills the page cache with zeros). Such a page of guest RAM is neither
 * faulted in, nor zeroed by the host kernel, nor copied. Zero pages of a
 * vmlinux: alignment gaps, and in Debian's the .bss and .brk that sit in
 * the file because PROGBITS .init.scratch follows them (28 of 58 MiB).
 */
static int copy_to_guest(const struct guest_mem *gm, gpa_t gpa, const struct input *in,
			 uint64_t off, uint64_t len)
{
	uint64_t pos = off, end = off + len, data = off, hole = end;
	int err = 0;

	while (pos < end) {
		if (in->sparse)
			err = seek_extent(in->fd, pos, end, SEEK_DATA, &data);
		if (!err && data > pos && !gm->zeroed)
			err = guest_mem_fill(gm, gpa + (pos - off), 0, data - pos);
		if (err || data >= end)
			break;
		if (in->sparse)
			err = seek_extent(in->fd, data, end, SEEK_HOLE, &hole);
		if (err)
			break;
		if (hole <= data)
			hole = end; /* the file changed under us */
		err = guest_mem_write_sparse(gm, gpa + (data - off), in->map + data, hole - data);
		pos = hole;
	}
	if (err == -EFAULT) /* the caller's checks make this a bug */
		ember_seterr(err, "copy to 0x%llx-0x%llx: outside RAM", (unsigned long long)gpa,
			     (unsigned long long)(gpa + len));
	return err;
}

/* A hole past a shrunken end of file reads as zeros: refuse a file whose
 * size changed while it was copied. */
static int check_size(const struct input *in)
{
	struct stat st;

	if (fstat(in->fd, &st) < 0)
		return ember_seterr(-errno, "%s", strerror(errno));
	if ((uint64_t)st.st_size != in->file_size)
		return ember_seterr(-EIO, "file changed size while loading (%llu -> %llu bytes)",
				    (unsigned long long)in->file_size,
				    (unsigned long long)st.st_size);
	return 0;
}

/* A mapped and parsed kernel file; release with close_kernel(). */
struct kernel_file {
	struct input in;
	struct elf_image *img;
	/* A bzImage: in is the vmlinux unwrapped from it, described by uw;
	 * file_size is the bzImage's. */
	bool bzimage;
	uint64_t file_size;
	struct unwrap_result uw;
};

/* The --boot-trace mark of an unwrap; a trace keeps the pointer, and a
 * process loads one kernel. */
static void mark_unwrap(struct trace *t, const struct unwrap_result *uw)
{
	char note[TRACE_WHAT_MAX];

	if (!t)
		return;
	if (uw->cached)
		snprintf(note, sizeof(note), "kernel unwrapped (cache)");
	else
		snprintf(note, sizeof(note), "kernel unwrapped (%s, %llu ms)", uw->comp,
			 (unsigned long long)((uw->decomp_us + 500) / 1000));
	trace_mark(t, note, false);
}

/* A bzImage: swap the mapped file for the vmlinux inside it (kernel_unwrap(),
 * which caches it). Anything else stays as it is, for elf_parse(). */
static int unwrap_input(const char *path, struct kernel_file *k)
{
	int err = kernel_unwrap(k->in.map, (size_t)k->in.size, k->in.fd, path, &k->uw);

	k->bzimage = !err;
	k->file_size = k->in.size;
	if (err)
		return err == -ENOEXEC ? 0 : err;
	unmap_input(&k->in);
	k->in.fd = k->uw.fd;
	k->in.map = k->uw.map;
	k->in.size = k->uw.size;
	k->in.file_size = k->uw.file_size;
	k->in.sparse = k->uw.sparse;
	return 0;
}

/* Under ember_guard_sigbus(): elf_parse() reads the file's mapping. */
static int parse_mapped(void *arg)
{
	struct kernel_file *k = arg;

	return elf_parse(k->in.map, (size_t)k->in.size, k->img);
}

static int open_kernel(const char *path, struct kernel_file *k)
{
	int err = map_input("kernel", path, &k->in);

	if (err)
		return err;
	err = unwrap_input(path, k);
	if (err) {
		unmap_input(&k->in);
		return err;
	}
	k->img = malloc(sizeof(*k->img));
	if (!k->img) {
		unmap_input(&k->in);
		return ember_seterr(-ENOMEM, "kernel %s: out of memory", path);
	}
	/* elf_parse() touches only the pages with the headers and notes (and
	 * the section table if there is no PT_NOTE): on a cold page cache, let
	 * each of those faults read one page rather than wait for a read-around
	 * window (0.6 and 2 ms less for the two kernels measured). The copy that
	 * follows reads in the usual way. Advisory. */
	madvise((void *)k->in.map, (size_t)k->in.size, MADV_RANDOM);
	err = ember_guard_sigbus(parse_mapped, k);
	madvise((void *)k->in.map, (size_t)k->in.size, MADV_NORMAL);
	if (err) {
		free(k->img);
		unmap_input(&k->in);
		return ember_prefixerr(err, "kernel %s", path);
	}
	return 0;
}

static void close_kernel(struct kernel_file *k)
{
	free(k->img);
	unmap_input(&k->in);
}

struct copy_job {
	const struct kernel_file *k;
	const struct guest_mem *gm;
};

/* Under ember_guard_sigbus(): reads the file's mapping; no locks, no
 * allocations, errors recorded with ember_seterr() only. */
static int copy_segments_mapped(void *arg)
{
	const struct copy_job *job = arg;
	const struct elf_image *img = job->k->img;
	int err = 0;

	for (unsigned i = 0; i < img->nsegs && !err; i++) {
		const struct elf_segment *s = &img->segs[i];

		err = copy_to_guest(job->gm, s->paddr, &job->k->in, s->offset, s->filesz);
		/* .bss: fresh anonymous RAM reads as zero already. In RAM by
		 * elf_place(), so this cannot fail. */
		if (!err && !job->gm->zeroed)
			err = guest_mem_fill(job->gm, s->paddr + s->filesz, 0,
					     s->memsz - s->filesz);
	}
	return err;
}

static int copy_segments(const struct kernel_file *k, const struct guest_mem *gm)
{
	struct copy_job job = { k, gm };
	int err = elf_place(k->img, gm, LAYOUT_LOW_RESERVED_END);

	if (!err) {
		int size_err;

		err = ember_guard_sigbus(copy_segments_mapped, &job);
		/* A file that changed size explains any failure (a SIGBUS past
		 * its new end) and spoils a success (a hole read as zeros). */
		size_err = check_size(&k->in);
		if (size_err)
			err = size_err;
	}
	return err;
}

/* A --boot-trace event, when tracing. */
static void mark(struct trace *t, const char *what)
{
	if (t)
		trace_mark(t, what, false);
}

/* A random multiple of `align` in [first, last]; the caller checked both. */
static uint64_t random_slot(uint64_t first, uint64_t last, uint64_t align)
{
	uint64_t slots = (last - first) / align + 1, r = 0;

	/* getrandom() without flags blocks only before the host's pool is
	 * initialised, long before anyone boots a VM. */
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = 0;
	return first + (r % slots) * align;
}

/*
 * Where the kernel goes. A relocatable PVH kernel (PHYS32_RELOC) goes at a
 * random aligned address in its range by default (physical KASLR, which a
 * PVH boot otherwise loses: Linux randomises its physical placement only in
 * its own decompressor), at --kernel-addr, or where its ELF headers say.
 * Low RAM below the MMIO window is offered, less room for the initrd at its
 * top, so that the initrd keeps its usual place.
 */
static int place_kernel(struct elf_image *img, const struct guest_mem *gm,
			const struct ember_config *cfg)
{
	uint64_t lo = LAYOUT_LOW_RESERVED_END, hi = guest_mem_low_end(gm), first, last, align;
	uint64_t want = cfg->kernel_addr, initrd = 0;
	struct stat st;
	int err;

	if (want == KERNEL_ADDR_ELF || (!img->has_reloc && want == KERNEL_ADDR_RANDOM))
		return 0;
	if (!img->has_reloc) {
		if (want == img->load_start)
			return 0;
		return ember_seterr(-EINVAL,
				    "--kernel-addr 0x%llx: the kernel is not relocatable (no "
				    "PHYS32_RELOC note); it loads at 0x%llx",
				    (unsigned long long)want, (unsigned long long)img->load_start);
	}
	if (cfg->initrd[0] && stat(cfg->initrd, &st) == 0 && st.st_size > 0 &&
	    align_up_u64((uint64_t)st.st_size, 4096, &initrd) && initrd < hi - lo)
		hi -= initrd;
	err = elf_reloc_range(img, lo, hi, &first, &last, &align);
	if (err == -ENOSPC && want == KERNEL_ADDR_RANDOM)
		return 0; /* RAM too small for a choice: its own address, if any */
	if (err)
		return ember_seterr(err,
				    "relocatable kernel: %s (note: align 0x%x min 0x%x max 0x%x, "
				    "RAM 0x%llx-0x%llx, image 0x%llx bytes)",
				    err == -EINVAL ? "malformed PHYS32_RELOC note"
						   : "no place for it in guest RAM",
				    img->reloc_align, img->reloc_min, img->reloc_max,
				    (unsigned long long)lo, (unsigned long long)hi,
				    (unsigned long long)(img->load_end - img->load_start));
	if (want == KERNEL_ADDR_RANDOM) {
		elf_relocate(img, random_slot(first, last, align));
		return 0;
	}
	if (want < first || want > last || want % align)
		return ember_seterr(-ERANGE,
				    "--kernel-addr 0x%llx: this kernel loads at a multiple of 0x%llx "
				    "from 0x%llx to 0x%llx with this --memory and initrd",
				    (unsigned long long)want, (unsigned long long)align,
				    (unsigned long long)first, (unsigned long long)last);
	elf_relocate(img, want);
	return 0;
}

static int load_kernel(const struct guest_mem *gm, const struct ember_config *cfg,
		       struct loader_result *res, struct trace *t)
{
	const char *path = cfg->kernel;
	struct kernel_file k;
	struct elf_image *img;
	uint64_t elf_start, entry = 0;
	int err = open_kernel(path, &k);

	if (err)
		return err;
	if (k.bzimage)
		mark_unwrap(t, &k.uw);
	mark(t, "kernel parsed");
	img = k.img;
	elf_start = img->load_start;
	if (img->has_pvh) {
		if (img->pvh_entry < img->load_start || img->pvh_entry >= img->load_end)
			err = ember_seterr(-EINVAL,
					   "PVH entry 0x%x is outside the loaded segments "
					   "(0x%llx-0x%llx)",
					   img->pvh_entry, (unsigned long long)img->load_start,
					   (unsigned long long)img->load_end);
		else
			err = place_kernel(img, gm, cfg);
		entry = img->pvh_entry;
	} else if (img->bits != 64) {
		/* The 64-bit protocol needs a 64-bit kernel to enter. */
		err = ember_seterr(-ENOEXEC,
				   "no PVH entry note (Xen ELF note type 18), and a 32-bit ELF "
				   "has no 64-bit entry: build the kernel with CONFIG_PVH");
	} else {
		err = elf_entry_paddr(img, &entry);
	}
	if (!err)
		err = copy_segments(&k, gm);
	if (err) {
		ember_prefixerr(err, "kernel %s", path);
	} else {
		res->protocol = img->has_pvh ? BOOT_PVH : BOOT_LINUX64;
		res->entry = entry;
		res->kernel_start = img->load_start;
		res->kernel_end = img->load_end;
		res->elf_start = elf_start;
		if (t && img->load_start != elf_start) {
			char note[TRACE_WHAT_MAX];

			snprintf(note, sizeof(note), "kernel placed at 0x%llx",
				 (unsigned long long)img->load_start);
			trace_mark(t, note, false);
		}
	}
	close_kernel(&k);
	return err;
}

static int load_initrd(const struct guest_mem *gm, const char *path, struct loader_result *res)
{
	uint64_t size, gpa, done = 0;
	struct stat st;
	uint8_t *dst;
	int err, fd = open_input("initrd", path, &st);

	if (fd < 0)
		return fd;
	size = (uint64_t)st.st_size;
	err = pvh_place_initrd(gm->size, res->kernel_start, res->kernel_end, size, &gpa);
	if (err) {
		close(fd);
		return ember_seterr(err,
				    "initrd %s: %llu bytes do not fit in guest RAM below %llu MiB "
				    "beside the kernel (raise --memory)",
				    path, (unsigned long long)size,
				    (unsigned long long)(guest_mem_low_end(gm) >> 20));
	}
	dst = guest_mem_ptr(gm, gpa, size);
	if (!dst) {
		close(fd);
		return ember_seterr(-EFAULT, "initrd %s: placement outside RAM", path);
	}
	/* One copy, from the page cache into guest RAM. */
	while (done < size) {
		ssize_t n = pread(fd, dst + done, size - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			close(fd);
			return ember_seterr(err, "initrd %s: read failed at byte %llu: %s", path,
					    (unsigned long long)done,
					    n < 0 ? strerror(-err) : "file shrank while reading");
		}
		done += (uint64_t)n;
	}
	close(fd);
	res->initrd_gpa = gpa;
	res->initrd_size = size;
	return 0;
}

int loader_load_images(const struct guest_mem *gm, const struct ember_config *cfg,
		       struct loader_result *res, struct trace *t)
{
	int err;

	memset(res, 0, sizeof(*res));
	err = load_kernel(gm, cfg, res, t);
	if (!err && cfg->initrd[0]) {
		mark(t, "kernel copied");
		err = load_initrd(gm, cfg->initrd, res);
	}
	return err;
}

/* The ACPI tables at LAYOUT_ACPI; their RSDP's address in *rsdp. */
static int write_acpi(const struct guest_mem *gm, const struct acpi_desc *acpi, uint64_t *rsdp)
{
	uint8_t *buf = guest_mem_ptr(gm, LAYOUT_ACPI, LAYOUT_ACPI_MAX);
	int n;

	if (!buf)
		return ember_seterr(-ENOSPC, "no room for the ACPI tables");
	n = acpi_build(buf, LAYOUT_ACPI_MAX, LAYOUT_ACPI, acpi, rsdp);
	return n < 0 ? ember_prefixerr(n, "ACPI tables") : 0;
}

int loader_write_boot_data(const struct guest_mem *gm, const struct ember_config *cfg,
			   const char *cmdline, const struct acpi_desc *acpi,
			   const struct loader_result *res)
{
	size_t mpsize = mptable_size(cfg->ncpus);
	uint64_t rsdp = 0;
	uint8_t *mp;
	int err = acpi ? write_acpi(gm, acpi, &rsdp) : 0;

	if (err)
		return err;
	if (res->protocol == BOOT_LINUX64) {
		struct linux64_boot boot = {
			.cmdline = cmdline,
			.initrd_gpa = res->initrd_gpa,
			.initrd_size = res->initrd_size,
			.rsdp_paddr = rsdp,
		};

		err = linux64_write_boot_data(gm, &boot);
	} else {
		struct pvh_boot boot = {
			.cmdline = cmdline,
			.has_initrd = res->initrd_size != 0,
			.initrd_gpa = res->initrd_gpa,
			.initrd_size = res->initrd_size,
			.rsdp_paddr = rsdp,
		};

		err = pvh_write_boot_data(gm, &boot);
	}
	if (err)
		return err;
	/* The MP table, for kernels without ACPI and for acpi=off. */
	mp = mpsize <= LAYOUT_MPTABLE_MAX ? guest_mem_ptr(gm, LAYOUT_MPTABLE, mpsize) : NULL;
	if (!mp)
		return ember_seterr(-ENOSPC, "MP table for %u CPUs does not fit", cfg->ncpus);
	err = mptable_build(mp, mpsize, (uint32_t)LAYOUT_MPTABLE, cfg->ncpus);
	if (err < 0)
		return ember_seterr(err, "cannot build the MP table for %u CPUs", cfg->ncpus);
	return 0;
}

int loader_load(const struct guest_mem *gm, const struct ember_config *cfg, const char *cmdline,
		const struct acpi_desc *acpi, struct loader_result *res, struct trace *t)
{
	int err = loader_load_images(gm, cfg, res, t);

	return err ? err : loader_write_boot_data(gm, cfg, cmdline, acpi, res);
}

static const char *note_type_name(const struct elf_note *n)
{
	static const char *const xen[] = {
		[1] = "INFO",	     [2] = "ENTRY",	     [3] = "HYPERCALL_PAGE",
		[4] = "VIRT_BASE",   [5] = "PADDR_OFFSET",   [6] = "XEN_VERSION",
		[7] = "GUEST_OS",    [8] = "GUEST_VERSION",  [9] = "LOADER",
		[10] = "PAE_MODE",   [11] = "FEATURES",	     [12] = "BSD_SYMTAB",
		[13] = "HV_START_LOW", [14] = "L1_MFN_VALID", [15] = "SUSPEND_CANCEL",
		[16] = "INIT_P2M",   [17] = "MOD_START_PFN", [18] = "PHYS32_ENTRY",
		[19] = "PHYS32_RELOC",
	};

	if (strcmp(n->name, "Xen") == 0 && n->type < ARRAY_SIZE(xen) && xen[n->type])
		return xen[n->type];
	if (strcmp(n->name, "GNU") == 0 && n->type == 3)
		return "BUILD_ID";
	return "";
}

int loader_inspect(const char *path, FILE *out)
{
	struct kernel_file k;
	const struct elf_image *img;
	uint64_t entry;
	int err = open_kernel(path, &k);

	if (err)
		return err;
	img = k.img;
	fprintf(out, "file:       %s (%llu bytes)\n", path,
		(unsigned long long)k.file_size);
	if (k.bzimage) {
		const struct bzimage_info *bz = &k.uw.bz;

		fprintf(out,
			"format:     bzImage (protocol %u.%02u, %s payload %.1f MiB at offset %llu)\n",
			bz->version >> 8, bz->version & 0xff, k.uw.comp,
			bz->payload_length / 1048576.0, (unsigned long long)bz->payload_start);
		if (k.uw.cached)
			fprintf(out, "vmlinux:    %llu bytes, from the kernel cache\n",
				(unsigned long long)k.in.size);
		else
			fprintf(out, "vmlinux:    %llu bytes, unwrapped in %llu ms\n",
				(unsigned long long)k.in.size,
				(unsigned long long)((k.uw.decomp_us + 500) / 1000));
	}
	fprintf(out, "%s ELF%u %s executable\n", k.bzimage ? "inner:     " : "format:    ",
		img->bits, img->machine == 62 ? "x86-64" : "i386");
	fprintf(out, "e_entry:    0x%llx (native entry; not used for PVH)\n",
		(unsigned long long)img->entry);
	if (img->has_pvh)
		fprintf(out, "pvh entry:  0x%x (XEN_ELFNOTE_PHYS32_ENTRY)\n", img->pvh_entry);
	else
		fprintf(out, "pvh entry:  none\n");
	if (img->has_pvh)
		fprintf(out, "boot:       PVH (32-bit entry at the note's address, start_info)\n");
	else if (img->bits == 64 && elf_entry_paddr(img, &entry) == 0)
		fprintf(out, "boot:       Linux 64-bit boot protocol (long mode at 0x%llx, "
			     "boot_params)\n",
			(unsigned long long)entry);
	else
		fprintf(out, "boot:       none (no PVH note and no 64-bit entry: ember cannot "
			     "boot this kernel)\n");
	if (img->has_reloc && img->has_pvh)
		fprintf(out, "relocatable: align 0x%x min 0x%x max 0x%x (ember places it at a "
			     "random aligned address in range; --kernel-addr)\n",
			img->reloc_align, img->reloc_min, img->reloc_max);
	fprintf(out, "load:       0x%llx-0x%llx (%llu KiB)\n", (unsigned long long)img->load_start,
		(unsigned long long)img->load_end,
		(unsigned long long)((img->load_end - img->load_start) >> 10));
	fprintf(out, "segments:   %u PT_LOAD\n", img->nsegs);
	fprintf(out, "  %-3s %-18s %-18s %-10s %-10s %s\n", "#", "paddr", "vaddr", "filesz",
		"memsz", "flags");
	for (unsigned i = 0; i < img->nsegs; i++) {
		const struct elf_segment *s = &img->segs[i];

		fprintf(out, "  %-3u 0x%016llx 0x%016llx 0x%08llx 0x%08llx %c%c%c\n", i,
			(unsigned long long)s->paddr, (unsigned long long)s->vaddr,
			(unsigned long long)s->filesz, (unsigned long long)s->memsz,
			s->flags & 4 ? 'r' : '-', s->flags & 2 ? 'w' : '-',
			s->flags & 1 ? 'x' : '-');
	}
	fprintf(out, "notes:      %u\n", img->nnotes);
	for (unsigned i = 0; i < img->nnotes; i++) {
		const struct elf_note *n = &img->notes[i];

		fprintf(out, "  %-8s type %-3u %-16s %u bytes%s\n", n->name, n->type,
			note_type_name(n), n->descsz, n->from_section ? " (section)" : "");
	}
	close_kernel(&k);
	return 0;
}
