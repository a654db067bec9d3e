// SPDX-License-Identifier: MIT
#include "boot/loader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/elf.h"
#include "boot/layout.h"
#include "boot/mptable.h"
#include "boot/pvh.h"
#include "config.h"
#include "util.h"

/* Open a regular, non-empty file; returns the fd and its size. */
static int open_input(const char *what, const char *path, uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return ember_seterr(-errno, "%s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		int err = -errno;

		close(fd);
		return ember_seterr(err, "%s %s: %s", what, path, strerror(-err));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return ember_seterr(-EINVAL, "%s %s: not a regular file", what, path);
	}
	if (st.st_size == 0) {
		close(fd);
		return ember_seterr(-EINVAL, "%s %s: empty file", what, path);
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/* Map a kernel file read-only: the loader copies each segment once, straight
 * from the page cache into guest RAM. */
static int map_input(const char *what, const char *path, const uint8_t **buf, size_t *len)
{
	uint64_t size;
	void *p;
	int fd = open_input(what, path, &size);

	if (fd < 0)
		return fd;
	if (size > SIZE_MAX) {
		close(fd);
		return ember_seterr(-EFBIG, "%s %s: too large", what, path);
	}
	p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return ember_seterr(-errno, "%s %s: %s", what, path, strerror(errno));
	*buf = p;
	*len = (size_t)size;
	return 0;
}

/* A mapped and parsed kernel file; release with close_kernel(). */
struct kernel_file {
	const uint8_t *buf;
	size_t len;
	struct elf_image *img;
};

static int open_kernel(const char *path, struct kernel_file *k)
{
	int err = map_input("kernel", path, &k->buf, &k->len);

	if (err)
		return err;
	k->img = malloc(sizeof(*k->img));
	if (!k->img) {
		munmap((void *)k->buf, k->len);
		return ember_seterr(-ENOMEM, "kernel %s: out of memory", path);
	}
	err = elf_parse(k->buf, k->len, k->img);
	if (err) {
		free(k->img);
		munmap((void *)k->buf, k->len);
		return ember_prefixerr(err, "kernel %s", path);
	}
	return 0;
}

static void close_kernel(struct kernel_file *k)
{
	free(k->img);
	munmap((void *)k->buf, k->len);
}

static int load_kernel(const struct guest_mem *gm, const char *path, struct loader_result *res)
{
	struct kernel_file k;
	const struct elf_image *img;
	int err = open_kernel(path, &k);

	if (err)
		return err;
	img = k.img;
	if (!img->has_pvh) {
		err = ember_seterr(-ENOEXEC,
				   "kernel %s: no PVH entry note (Xen ELF note type 18); ember boots "
				   "uncompressed kernels built with CONFIG_PVH",
				   path);
	} else if (img->pvh_entry < img->load_start || img->pvh_entry >= img->load_end) {
		err = ember_seterr(-EINVAL,
				   "kernel %s: PVH entry 0x%x is outside the loaded segments "
				   "(0x%llx-0x%llx)",
				   path, img->pvh_entry, (unsigned long long)img->load_start,
				   (unsigned long long)img->load_end);
	} else {
		err = elf_load(img, k.buf, k.len, gm, LAYOUT_LOW_RESERVED_END);
		if (err)
			ember_prefixerr(err, "kernel %s", path);
	}
	if (!err) {
		res->entry = img->pvh_entry;
		res->kernel_start = img->load_start;
		res->kernel_end = img->load_end;
	}
	close_kernel(&k);
	return err;
}

static int load_initrd(const struct guest_mem *gm, const char *path, struct loader_result *res)
{
	uint64_t size, gpa, done = 0;
	uint8_t *dst;
	int err, fd = open_input("initrd", path, &size);

	if (fd < 0)
		return fd;
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

int loader_load(const struct guest_mem *gm, const struct ember_config *cfg, const char *cmdline,
		struct loader_result *res)
{
	struct pvh_boot boot = { .cmdline = cmdline };
	size_t mpsize = mptable_size(cfg->ncpus);
	uint8_t *mp;
	int err;

	memset(res, 0, sizeof(*res));
	err = load_kernel(gm, cfg->kernel, res);
	if (!err && cfg->initrd)
		err = load_initrd(gm, cfg->initrd, res);
	if (err)
		return err;
	boot.has_initrd = res->initrd_size != 0;
	boot.initrd_gpa = res->initrd_gpa;
	boot.initrd_size = res->initrd_size;
	err = pvh_write_boot_data(gm, &boot);
	if (err)
		return err;
	mp = mpsize <= LAYOUT_MPTABLE_MAX ? guest_mem_ptr(gm, LAYOUT_MPTABLE, mpsize) : NULL;
	if (!mp)
		return ember_seterr(-ENOSPC, "MP table for %u CPUs does not fit", cfg->ncpus);
	err = mptable_build(mp, mpsize, (uint32_t)LAYOUT_MPTABLE, cfg->ncpus);
	if (err < 0)
		return ember_seterr(err, "cannot build the MP table for %u CPUs", cfg->ncpus);
	return 0;
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
	int err = open_kernel(path, &k);

	if (err)
		return err;
	img = k.img;
	fprintf(out, "file:       %s (%zu bytes)\n", path, k.len);
	fprintf(out, "format:     ELF%u %s executable\n", img->bits,
		img->machine == 62 ? "x86-64" : "i386");
	fprintf(out, "e_entry:    0x%llx (native entry; not used for PVH)\n",
		(unsigned long long)img->entry);
	if (img->has_pvh)
		fprintf(out, "pvh entry:  0x%x (XEN_ELFNOTE_PHYS32_ENTRY)\n", img->pvh_entry);
	else
		fprintf(out, "pvh entry:  none (ember cannot boot this kernel)\n");
	if (img->has_reloc)
		fprintf(out, "relocatable: align 0x%x min 0x%x max 0x%x (ember loads at p_paddr)\n",
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
