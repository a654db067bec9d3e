// SPDX-License-Identifier: MIT
/* The bad-input table for files: each case ends in one clear message. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/elf.h"
#include "boot/layout.h"
#include "boot/loader.h"
#include "boot/pvh.h"
#include "config.h"
#include "elf_builder.h"
#include "harness.h"
#include "util.h"

static uint8_t ram[32 << 20];
static uint8_t file[1 << 16];
static char dir[64];

static const char *write_file(const char *name, const void *data, size_t len)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, data, len) != (ssize_t)len)
			CHECK(0);
		close(fd);
	}
	return path;
}

static size_t pvh_kernel(uint64_t paddr, uint64_t memsz)
{
	uint8_t notes[64], e[4];
	size_t nl;

	put_le32(e, (uint32_t)paddr);
	nl = eb_note(notes, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, e, 4);
	struct eb_seg segs[] = { { 1, paddr, 0x200, memsz, NULL }, { 4, 0, nl, nl, notes } };
	return eb_build(file, sizeof(file), 64, segs, 2);
}

static int load_ram(const char *kernel, const char *initrd, unsigned ncpus, bool zeroed,
		    struct loader_result *r)
{
	static struct ember_config cfg;
	struct guest_mem gm;

	memset(&cfg, 0, sizeof(cfg));
	config_init_run(&cfg);
	strcpy(cfg.kernel, kernel);
	snprintf(cfg.initrd, sizeof(cfg.initrd), "%s", initrd ? initrd : "");
	strcpy(cfg.cmdline, "console=ttyS0");
	cfg.mem_size = sizeof(ram);
	cfg.ncpus = ncpus;
	guest_mem_init_buf(&gm, ram, sizeof(ram));
	gm.zeroed = zeroed;
	return loader_load(&gm, &cfg, cfg.cmdline, NULL, r, NULL);
}

static int load(const char *kernel, const char *initrd, unsigned ncpus, struct loader_result *r)
{
	return load_ram(kernel, initrd, ncpus, false, r);
}

/* Make [off, off+len) of the file a hole if the file system can (the bytes
 * read as zero either way, and `want` gets the same zeros). Returns whether
 * lseek() now reports a hole there. */
static bool punch(const char *path, uint8_t *want, uint64_t off, uint64_t len)
{
	int fd = open(path, O_RDWR);
	bool hole = false;

	CHECK(fd >= 0);
	if (fd < 0)
		return false;
	memset(want + off, 0, len);
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
		CHECK(pwrite(fd, want + off, len, (off_t)off) == (ssize_t)len);
	else
		hole = lseek(fd, (off_t)off, SEEK_HOLE) == (off_t)off;
	close(fd);
	return hole;
}

static void setup(void)
{
	if (!dir[0]) {
		strcpy(dir, "/tmp/ember-unit-XXXXXX");
		CHECK(mkdtemp(dir) != NULL);
	}
}

TEST(good_kernel_and_initrd)
{
	struct loader_result r;
	char initrd[5000];
	char *k;

	setup();
	k = strdup(write_file("vmlinux", file, pvh_kernel(0x1000000, 0x10000)));
	for (unsigned i = 0; i < sizeof(initrd); i++)
		initrd[i] = (char)(i * 13);
	CHECK_EQ(load(k, write_file("initrd", initrd, sizeof(initrd)), 2, &r), 0);
	CHECK_EQ(r.entry, 0x1000000);
	CHECK_EQ(r.initrd_size, sizeof(initrd));
	CHECK_EQ(r.initrd_gpa & 4095, 0);
	CHECK(!ranges_overlap(r.initrd_gpa, r.initrd_size, r.kernel_start,
			      r.kernel_end - r.kernel_start));
	CHECK(memcmp(ram + r.initrd_gpa, initrd, sizeof(initrd)) == 0);
	CHECK(memcmp(ram + LAYOUT_MPTABLE, "_MP_", 4) == 0);
	CHECK_EQ(get_le32(ram + LAYOUT_START_INFO), HVM_START_MAGIC);
	free(k);
}

/* A kernel with a 3 MiB segment whose file has a 1 MiB hole (where the file
 * system can make one) and a zero page stored as data; and an initrd with a
 * hole. Holes and zero pages read as zeros: into RAM that is not known zero
 * they are written, into zeroed RAM the kernel's are left out. */
static void zero_pages(bool sparse)
{
	static uint8_t big[4 << 20], rd[1 << 20];
	const uint64_t paddr = 0x1000000, filesz = 3 << 20, hole = 1 << 20;
	const uint64_t zpage = 0x280000; /* guest page of zeros stored as data */
	struct loader_result r;
	uint8_t notes[64], e[4];
	uint64_t off;
	size_t len, nl;
	bool holes = false;
	char *k, *i;

	setup();
	put_le32(e, (uint32_t)paddr);
	nl = eb_note(notes, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, e, 4);
	struct eb_seg segs[] = { { 1, paddr, filesz, filesz + 0x1000, NULL },
				 { 4, 0, nl, nl, notes } };
	len = eb_build(big, sizeof(big), 64, segs, 2);
	CHECK(len != 0);
	off = eb_phdr_off(64, 2); /* segment data follows the headers */
	memset(big + off + zpage, 0, 4096);
	k = strdup(write_file(sparse ? "sparse" : "dense", big, len));
	for (unsigned j = 0; j < sizeof(rd); j++)
		rd[j] = (uint8_t)(j * 3 + 1);
	i = strdup(write_file("sparserd", rd, sizeof(rd)));
	if (sparse) {
		holes = punch(k, big, (off + hole + 4095) & ~4095ULL, hole);
		punch(i, rd, 64 << 10, 256 << 10);
	}

	memset(ram, 0xaa, sizeof(ram));
	CHECK_EQ(load(k, i, 1, &r), 0);
	CHECK(memcmp(ram + paddr, big + off, filesz) == 0);
	CHECK_EQ(ram[paddr + filesz], 0); /* .bss */
	CHECK_EQ(r.initrd_size, sizeof(rd));
	CHECK(memcmp(ram + r.initrd_gpa, rd, sizeof(rd)) == 0);

	/* Zeroed RAM: the same bytes, and the markers (a broken promise) show
	 * what was left out. */
	memset(ram, 0, sizeof(ram));
	ram[paddr + 2 * hole] = 0x5a;
	ram[paddr + zpage] = 0x5a;
	ram[paddr + zpage + 4096] = 0x5a;
	CHECK_EQ(load_ram(k, i, 1, true, &r), 0);
	CHECK(memcmp(ram + paddr, big + off, 2 * hole) == 0);
	CHECK_EQ(ram[paddr + zpage], 0x5a);
	CHECK_EQ(ram[paddr + zpage + 4096], big[off + zpage + 4096]);
	CHECK_EQ(ram[paddr + 2 * hole], holes ? 0x5a : big[off + 2 * hole]);
	CHECK(memcmp(ram + r.initrd_gpa, rd, sizeof(rd)) == 0);
	free(k);
	free(i);
}

TEST(zero_pages_of_sparse_files)
{
	zero_pages(true);
}

TEST(zero_pages_of_dense_files)
{
	zero_pages(false);
}

/* A kernel big enough to load on several threads (striped by 2 MiB of
 * guest memory): segments at odd addresses, two sharing a 2 MiB block, one
 * with .bss, into RAM that is not known zero. Every byte must land; nothing
 * around the segments may be touched. */
TEST(large_kernel_loads_every_byte)
{
	static uint8_t big[12 << 20];
	const uint64_t a = 0x1000000 + 0x123, alen = (5 << 20) + 0x321;
	const uint64_t b = a + alen + 0x40, blen = 4 << 20, bss = (1 << 20) + 0x10;
	struct loader_result r;
	uint8_t notes[64], e[4];
	size_t len, nl, off;
	char *k;

	setup();
	put_le32(e, (uint32_t)a);
	nl = eb_note(notes, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, e, 4);
	struct eb_seg segs[] = { { 1, a, alen, alen, NULL },
				 { 1, b, blen, blen + bss, NULL },
				 { 4, 0, nl, nl, notes } };
	len = eb_build(big, sizeof(big), 64, segs, 3);
	CHECK(len != 0);
	off = eb_phdr_off(64, 3);
	for (size_t j = off; j < off + alen + blen; j++)
		big[j] = (uint8_t)(j * 7 + j / 4096);
	k = strdup(write_file("large", big, len));
	memset(ram, 0xaa, sizeof(ram));
	CHECK_EQ(load(k, NULL, 1, &r), 0);
	CHECK(memcmp(ram + a, big + off, alen) == 0);
	CHECK(memcmp(ram + b, big + off + alen, blen) == 0);
	CHECK_EQ(ram[a - 1], 0xaa);
	for (uint64_t j = a + alen; j < b; j++)
		CHECK_EQ(ram[j], 0xaa);
	for (uint64_t j = b + blen; j < b + blen + bss; j++)
		if (ram[j] != 0) {
			CHECK_EQ(ram[j], 0); /* .bss zeroed in used RAM */
			break;
		}
	CHECK_EQ(ram[b + blen + bss], 0xaa);
	free(k);
}

TEST(missing_unreadable_empty_directory)
{
	struct loader_result r;

	setup();
	CHECK_EQ(load("/nonexistent/vmlinux", NULL, 1, &r), -ENOENT);
	CHECK_STR_CONTAINS(ember_lasterr(), "kernel /nonexistent/vmlinux: No such file");
	CHECK_EQ(load(write_file("empty", "", 0), NULL, 1, &r), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "empty file");
	CHECK_EQ(load(dir, NULL, 1, &r), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "not a regular file");
	if (geteuid() != 0) { /* root reads anything */
		const char *p = write_file("noperm", "x", 1);

		chmod(p, 0);
		CHECK_EQ(load(p, NULL, 1, &r), -EACCES);
	}
}

TEST(not_elf_truncated_no_note)
{
	struct loader_result r;
	size_t len;

	setup();
	CHECK_EQ(load(write_file("text", "hello world\n", 12), NULL, 1, &r), -ENOEXEC);
	CHECK_STR_CONTAINS(ember_lasterr(), "not an ELF file");
	len = pvh_kernel(0x1000000, 0x1000);
	CHECK_EQ(load(write_file("trunc", file, len / 2), NULL, 1, &r), -EINVAL);
	struct eb_seg segs[] = { { 1, 0x1000000, 16, 16, NULL } };
	len = eb_build(file, sizeof(file), 32, segs, 1);
	CHECK_EQ(load(write_file("nonote", file, len), NULL, 1, &r), -ENOEXEC);
	CHECK_STR_CONTAINS(ember_lasterr(), "no PVH entry note");
	CHECK_STR_CONTAINS(ember_lasterr(), "32-bit ELF has no 64-bit entry");
}

/* A 64-bit kernel without the PVH note boots by the Linux 64-bit protocol,
 * at its ELF entry, with a zero page describing the command line. */
TEST(no_note_64bit_boots_linux64)
{
	struct loader_result r;
	struct eb_seg segs[] = { { 1, 0x1000000, 16, 16, NULL } };
	size_t len;
	uint8_t *zp;

	setup();
	len = eb_build(file, sizeof(file), 64, segs, 1);
	CHECK_EQ(load(write_file("nonote64", file, len), NULL, 1, &r), 0);
	CHECK_EQ(r.protocol, BOOT_LINUX64);
	CHECK_EQ(r.entry, 0x1000000);
	zp = ram + LAYOUT_ZERO_PAGE;
	CHECK_EQ(get_le16(zp + 0x1fe), 0xAA55);
	CHECK_EQ(get_le32(zp + 0x202), 0x53726448);
	CHECK_EQ(get_le32(zp + 0x228), LAYOUT_CMDLINE);
	CHECK(zp[0x1e8] >= 3);
	/* The identity map: PML4[0] -> PDPT, PD[1] maps 2 MiB at 2 MiB. */
	CHECK_EQ(get_le64(ram + LAYOUT_PML4) & ~0xfffULL, LAYOUT_PDPT);
	CHECK_EQ(get_le64(ram + LAYOUT_PD + 8), 0x200000 | 0x83);
}

TEST(segments_outside_ram_or_in_boot_data)
{
	struct loader_result r;

	setup();
	CHECK_EQ(load(write_file("big", file, pvh_kernel(0x1000000, 64 << 20)), NULL, 1, &r),
		 -ERANGE);
	CHECK_STR_CONTAINS(ember_lasterr(), "outside guest RAM");
	CHECK_EQ(load(write_file("low", file, pvh_kernel(0x8000, 0x1000)), NULL, 1, &r), -ERANGE);
	CHECK_STR_CONTAINS(ember_lasterr(), "boot data");
	CHECK_EQ(load(write_file("mmio", file, pvh_kernel(0xfee00000, 0x1000)), NULL, 1, &r),
		 -ERANGE);
}

TEST(initrd_does_not_fit_or_is_bad)
{
	struct loader_result r;
	static char big[31 << 20];
	char *k;

	setup();
	k = strdup(write_file("vmlinux", file, pvh_kernel(0x1000000, 0x10000)));
	CHECK_EQ(load(k, write_file("bigrd", big, sizeof(big)), 1, &r), -ENOSPC);
	CHECK_STR_CONTAINS(ember_lasterr(), "do not fit in guest RAM");
	CHECK_EQ(load(k, "/nonexistent/initrd", 1, &r), -ENOENT);
	CHECK_STR_CONTAINS(ember_lasterr(), "initrd /nonexistent/initrd");
	CHECK_EQ(load(k, write_file("emptyrd", "", 0), 1, &r), -EINVAL);
	free(k);
}

TEST(inspect_describes_kernel)
{
	char out[4096] = { 0 };
	FILE *f = fmemopen(out, sizeof(out) - 1, "w");

	setup();
	CHECK_EQ(loader_inspect(write_file("vmlinux", file, pvh_kernel(0x1000000, 0x2000)), f), 0);
	fclose(f);
	CHECK_STR_CONTAINS(out, "ELF64 x86-64");
	CHECK_STR_CONTAINS(out, "pvh entry:  0x1000000");
	CHECK_STR_CONTAINS(out, "PHYS32_ENTRY");
	CHECK_STR_CONTAINS(out, "1 PT_LOAD");
}

/* ember_guard_sigbus(), which the loader copies the kernel under: a read
 * past the end of a file that shrank after it was mapped is an error, not a
 * dead ember; other results pass through; the old handler comes back. */
struct guarded_read {
	const volatile uint8_t *p;
	size_t len;
	unsigned sum;
};

static int read_mapping(void *arg)
{
	struct guarded_read *r = arg;

	for (size_t i = 0; i < r->len; i += 4096)
		r->sum += r->p[i];
	return 7;
}

TEST(copy_from_shrunken_file_is_an_error)
{
	char path[] = "/tmp/ember-sigbus-XXXXXX";
	struct sigaction before, after;
	struct guarded_read r = { 0 };
	int fd = mkstemp(path);
	void *map;

	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 3 * 4096), 0);
	map = mmap(NULL, 3 * 4096, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(map != MAP_FAILED);
	sigaction(SIGBUS, NULL, &before);
	r.p = map;
	r.len = 3 * 4096;
	CHECK_EQ(ember_guard_sigbus(read_mapping, &r), 7);
	CHECK_EQ(ftruncate(fd, 4096), 0); /* pages 1 and 2 are gone */
	ember_clearerr();
	CHECK_EQ(ember_guard_sigbus(read_mapping, &r), -EIO);
	CHECK_STR_CONTAINS(ember_lasterr(), "SIGBUS");
	sigaction(SIGBUS, NULL, &after);
	CHECK(after.sa_handler == before.sa_handler);
	r.len = 4096; /* what is left reads fine */
	CHECK_EQ(ember_guard_sigbus(read_mapping, &r), 7);
	munmap(map, 3 * 4096);
	close(fd);
	unlink(path);
}

SUITE(loader, T(copy_from_shrunken_file_is_an_error), T(good_kernel_and_initrd), T(large_kernel_loads_every_byte), T(zero_pages_of_sparse_files),
      T(zero_pages_of_dense_files), T(missing_unreadable_empty_directory),
      T(not_elf_truncated_no_note), T(segments_outside_ram_or_in_boot_data),
      T(initrd_does_not_fit_or_is_bad), T(inspect_describes_kernel),
      T(no_note_64bit_boots_linux64));
