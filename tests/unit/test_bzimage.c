// SPDX-License-Identifier: MIT
/* bzImage unwrap: the setup-header parser, every payload format's decoder on
 * good, corrupt, truncated and oversized streams, and the kernel cache. The
 * bzImages are built here (bz_builder.c) around a small ELF. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/bzimage.h"
#include "boot/decompress.h"
#include "boot/kcache.h"
#include "boot/unwrap.h"
#include "bz_builder.h"
#include "elf_builder.h"
#include "harness.h"
#include "util.h"

static uint8_t elf[128 << 10], pay[256 << 10], bz[300 << 10], out[256 << 10];
static size_t elf_len;

static const enum bz_comp formats[] = { BZ_COMP_GZIP,  BZ_COMP_XZ,  BZ_COMP_LZMA,
					BZ_COMP_BZIP2, BZ_COMP_LZ4, BZ_COMP_ZSTD };

/* A 64-bit ELF with a 64 KiB segment: data, 12 zero pages, data. */
static void make_elf(void)
{
	static uint8_t seg[64 << 10];

	for (size_t i = 0; i < sizeof(seg); i++)
		seg[i] = i < 4096 || i >= 52 << 10 ? (uint8_t)(i * 7 + 1) : 0;
	struct eb_seg s[] = { { 1, 0x100000, sizeof(seg), sizeof(seg), seg } };
	elf_len = eb_build(elf, sizeof(elf), 64, s, 1);
}

/* A bzImage of format c around the ELF; returns its length. */
static size_t make_bz(enum bz_comp c)
{
	size_t plen;

	if (!elf_len)
		make_elf();
	plen = bzb_compress(c, elf, elf_len, pay, sizeof(pay));
	CHECK(plen > 0);
	return bzb_wrap(pay, plen, bz, sizeof(bz));
}

TEST(parses_header_fields)
{
	struct bzimage_info bi;
	size_t len = make_bz(BZ_COMP_XZ);

	CHECK_EQ(bzimage_parse(bz, len, &bi), 0);
	CHECK_EQ(bi.version, 0x020f);
	CHECK_EQ(bi.setup_sects, 1);
	CHECK_EQ(bi.loadflags, 1);
	CHECK_EQ(bi.kernel_alignment, 0x200000);
	CHECK_EQ(bi.relocatable_kernel, 1);
	CHECK_EQ(bi.xloadflags, 0x7f);
	CHECK_EQ(bi.cmdline_size, 2047);
	CHECK_EQ(bi.pref_address, 0x1000000);
	CHECK_EQ(bi.init_size, 0x2000000);
	CHECK_EQ(bi.payload_offset, 0x40);
	CHECK_EQ(bi.payload_start, 1024 + 0x40);
	CHECK_EQ(bi.payload_start + bi.payload_length + 16, len);
	CHECK_EQ(bi.comp, BZ_COMP_XZ);
	CHECK_EQ(bi.size_hint, elf_len);
	CHECK(strcmp(bzimage_comp_name(bi.comp), "xz") == 0);
	/* setup_sects 0 means 4 (boot.rst); the payload moves with it. */
	bz[BZ_OFF_SETUP_SECTS] = 0;
	put_le32(bz + BZ_OFF_PAYLOAD_OFFSET, 0x10);
	put_le32(bz + BZ_OFF_PAYLOAD_LENGTH, 8);
	CHECK_EQ(bzimage_parse(bz, 8192, &bi), 0);
	CHECK_EQ(bi.setup_sects, 4);
	CHECK_EQ(bi.payload_start, 5 * 512 + bi.payload_offset);
}

TEST(detects_every_format)
{
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		struct bzimage_info bi;
		size_t len = make_bz(formats[i]);

		CHECK_EQ(bzimage_parse(bz, len, &bi), 0);
		CHECK_EQ(bi.comp, formats[i]);
		CHECK_EQ(bi.size_hint, elf_len);
	}
	CHECK_EQ(bzimage_comp_detect((const uint8_t *)"\x89LZO", 4), BZ_COMP_LZO);
	CHECK_EQ(bzimage_comp_detect((const uint8_t *)"\x1f", 1), BZ_COMP_UNKNOWN);
	CHECK_EQ(bzimage_comp_detect((const uint8_t *)"PK\3\4", 4), BZ_COMP_UNKNOWN);
}

TEST(not_a_bzimage_is_enoexec)
{
	struct bzimage_info bi;
	size_t len = make_bz(BZ_COMP_GZIP);

	if (!elf_len)
		make_elf();
	CHECK_EQ(bzimage_parse(elf, elf_len, &bi), -ENOEXEC);
	CHECK_EQ(bzimage_parse(bz, 0x205, &bi), -ENOEXEC); /* no room for "HdrS" */
	bz[BZ_OFF_BOOT_FLAG] = 0x56;
	CHECK_EQ(bzimage_parse(bz, len, &bi), -ENOEXEC);
	bz[BZ_OFF_BOOT_FLAG] = 0x55;
	bz[BZ_OFF_HEADER + 3] = 's';
	CHECK_EQ(bzimage_parse(bz, len, &bi), -ENOEXEC);
}

TEST(bad_headers_are_einval)
{
	struct bzimage_info bi;
	size_t len = make_bz(BZ_COMP_GZIP);

	ember_clearerr();
	CHECK_EQ(bzimage_parse(bz, 0x240, &bi), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "setup header truncated");
	put_le16(bz + BZ_OFF_VERSION, 0x0207);
	CHECK_EQ(bzimage_parse(bz, len, &bi), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "older than 2.08");
	put_le16(bz + BZ_OFF_VERSION, 0x020f);
	/* Truncated file: the payload runs past its end. */
	CHECK_EQ(bzimage_parse(bz, len - 17, &bi), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "runs past the end");
	/* Offsets and lengths that would wrap 32 bits. */
	put_le32(bz + BZ_OFF_PAYLOAD_OFFSET, 0xffffffff);
	CHECK_EQ(bzimage_parse(bz, len, &bi), -EINVAL);
	put_le32(bz + BZ_OFF_PAYLOAD_OFFSET, 0x40);
	put_le32(bz + BZ_OFF_PAYLOAD_LENGTH, 0xffffffff);
	CHECK_EQ(bzimage_parse(bz, len, &bi), -EINVAL);
	bz[BZ_OFF_SETUP_SECTS] = 0xff;
	put_le32(bz + BZ_OFF_PAYLOAD_OFFSET, 0xfffffff0);
	put_le32(bz + BZ_OFF_PAYLOAD_LENGTH, 0x20);
	CHECK_EQ(bzimage_parse(bz, len, &bi), -EINVAL);
	/* Too short to hold the size trailer. */
	bz[BZ_OFF_SETUP_SECTS] = 1;
	put_le32(bz + BZ_OFF_PAYLOAD_OFFSET, 0x40);
	put_le32(bz + BZ_OFF_PAYLOAD_LENGTH, 7);
	CHECK_EQ(bzimage_parse(bz, len, &bi), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "too short");
}

/* Decode bz's payload into a fixed buffer of cap bytes. */
static int decode_fixed(const struct bzimage_info *bi, size_t cap, size_t *outlen)
{
	struct decomp_out o;
	int err;

	decomp_out_fixed(&o, out, cap);
	err = decompress(bi->comp, bz + bi->payload_start, bi->payload_length, &o);
	*outlen = o.len;
	return err;
}

TEST(every_format_round_trips)
{
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		struct bzimage_info bi;
		struct decomp_out o;
		size_t n = 0, len = make_bz(formats[i]);

		CHECK_EQ(bzimage_parse(bz, len, &bi), 0);
		CHECK_EQ(decode_fixed(&bi, sizeof(out), &n), 0);
		CHECK_EQ(n, elf_len);
		CHECK(memcmp(out, elf, elf_len) == 0);
		/* Exactly enough room is enough. */
		CHECK_EQ(decode_fixed(&bi, elf_len, &n), 0);
		/* A memfd from a lying size hint grows in place. */
		CHECK_EQ(decomp_out_memfd(&o, 4096, DECOMP_MAX_OUT), 0);
		CHECK_EQ(decompress(bi.comp, bz + bi.payload_start, bi.payload_length, &o), 0);
		CHECK_EQ(decomp_out_finish(&o), 0);
		CHECK_EQ(o.len, elf_len);
		CHECK(o.buf && memcmp(o.buf, elf, elf_len) == 0);
		decomp_out_free(&o);
	}
}

TEST(over_the_cap_is_efbig)
{
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		struct bzimage_info bi;
		struct decomp_out o;
		size_t n, len = make_bz(formats[i]);

		CHECK_EQ(bzimage_parse(bz, len, &bi), 0);
		ember_clearerr();
		CHECK_EQ(decode_fixed(&bi, elf_len - 1, &n), -EFBIG);
		CHECK_STR_CONTAINS(ember_lasterr(), "decodes to more than");
		CHECK_STR_CONTAINS(ember_lasterr(), bzimage_comp_name(formats[i]));
		/* A memfd may not grow past its max either. */
		CHECK_EQ(decomp_out_memfd(&o, 0, 8192), 0);
		CHECK_EQ(decompress(bi.comp, bz + bi.payload_start, bi.payload_length, &o), -EFBIG);
		decomp_out_free(&o);
	}
}

TEST(corrupt_and_truncated_streams_are_errors)
{
	for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
		struct bzimage_info bi;
		struct decomp_out o;
		size_t n, len = make_bz(formats[i]);
		int err;

		CHECK_EQ(bzimage_parse(bz, len, &bi), 0);
		/* Cut in half. */
		decomp_out_fixed(&o, out, sizeof(out));
		ember_clearerr();
		err = decompress(bi.comp, bz + bi.payload_start, bi.payload_length / 2, &o);
		CHECK_EQ(err, -EINVAL);
		CHECK_STR_CONTAINS(ember_lasterr(), bzimage_comp_name(formats[i]));
		/* Everything after the magic's first 8 bytes replaced by 0xff. */
		memset(bz + bi.payload_start + 8, 0xff, bi.payload_length - 8);
		err = decode_fixed(&bi, sizeof(out), &n);
		CHECK(err == -EINVAL || err == -ENOMEM);
		CHECK(err != 0);
	}
}

TEST(lzo_and_unknown_are_refused)
{
	static const uint8_t lzo[] = { 0x89, 0x4c, 0x5a, 0x4f, 0, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0 };
	struct bzimage_info bi;
	size_t n, len = bzb_wrap(lzo, sizeof(lzo), bz, sizeof(bz));

	CHECK_EQ(bzimage_parse(bz, len, &bi), 0);
	CHECK_EQ(bi.comp, BZ_COMP_LZO);
	CHECK_EQ(decode_fixed(&bi, sizeof(out), &n), -ENOTSUP);
	CHECK_STR_CONTAINS(ember_lasterr(), "LZO");
	bz[bi.payload_start] = 0;
	CHECK_EQ(bzimage_parse(bz, len, &bi), 0);
	CHECK_EQ(bi.comp, BZ_COMP_UNKNOWN);
	CHECK_EQ(decode_fixed(&bi, sizeof(out), &n), -ENOTSUP);
	CHECK_STR_CONTAINS(ember_lasterr(), "unknown payload compression");
}

/* A fresh XDG_CACHE_HOME for the cache tests. */
static char cache_home[64];

static void fresh_cache(void)
{
	strcpy(cache_home, "/tmp/ember-kcache.XXXXXX");
	CHECK(mkdtemp(cache_home) != NULL);
	setenv("XDG_CACHE_HOME", cache_home, 1);
}

static void drop_cache(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", cache_home);
	CHECK(system(cmd) == 0);
	unsetenv("XDG_CACHE_HOME");
}

/* The cache directory. */
static const char *entry_path(void)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/ember/vmlinux", cache_home);
	return path;
}

static int unwrap(size_t len, struct unwrap_result *r)
{
	int err = kernel_unwrap(bz, len, -1, "test.bz", r);

	if (!err) {
		CHECK_EQ(r->size, elf_len);
		CHECK(memcmp(r->map, elf, elf_len) == 0);
	}
	return err;
}

/* Path of the cache entry for the bzImage bz[0..len). */
static void entry_for(size_t len, char *path, size_t sz)
{
	struct kcache_key k;
	char hex[33];

	kcache_key(bz, len, &k);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", k.b[i]);
	snprintf(path, sz, "%s/%s.vmlinux", entry_path(), hex);
}

TEST(cache_miss_then_hit)
{
	struct unwrap_result r;
	char path[512];
	struct stat st;
	size_t len = make_bz(BZ_COMP_ZSTD);

	fresh_cache();
	CHECK_EQ(unwrap(len, &r), 0);
	CHECK(!r.cached);
	CHECK(strcmp(r.comp, "zstd") == 0);
	CHECK_EQ(r.file_size, r.size);
	kernel_unwrap_release(&r);
	entry_for(len, path, sizeof(path));
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	CHECK_EQ(st.st_size, elf_len + KCACHE_TRAILER_SIZE);
	/* Sparse: the 12 zero pages are holes (tmpfs and ext4 keep them). */
	CHECK((uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size - 8 * 4096);
	CHECK_EQ(stat(entry_path(), &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0700);

	CHECK_EQ(unwrap(len, &r), 0);
	CHECK(r.cached);
	CHECK_EQ(r.decomp_us, 0);
	CHECK_EQ(r.file_size, r.size + KCACHE_TRAILER_SIZE);
	CHECK(r.sparse);
	kernel_unwrap_release(&r);
	drop_cache();
}

/* Overwrite len bytes at off in the file at path. */
static void poke(const char *path, off_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY);

	CHECK(fd >= 0);
	CHECK(pwrite(fd, data, len, off) == (ssize_t)len);
	close(fd);
}

TEST(cache_bad_entries_are_rebuilt)
{
	struct unwrap_result r;
	char path[512];
	size_t len = make_bz(BZ_COMP_GZIP);

	fresh_cache();
	CHECK_EQ(unwrap(len, &r), 0);
	kernel_unwrap_release(&r);
	entry_for(len, path, sizeof(path));
	/* A byte of the vmlinux altered: the content hash catches it. */
	poke(path, 100, "X", 1);
	CHECK_EQ(unwrap(len, &r), 0);
	CHECK(!r.cached);
	kernel_unwrap_release(&r);
	CHECK_EQ(unwrap(len, &r), 0);
	CHECK(r.cached);
	kernel_unwrap_release(&r);
	/* Data written into a hole. */
	poke(path, 8192, "X", 1);
	CHECK_EQ(unwrap(len, &r), 0);
	CHECK(!r.cached);
	kernel_unwrap_release(&r);
	/* Torn: cut short, so the trailer is gone. */
	CHECK_EQ(truncate(path, 4096), 0);
	CHECK_EQ(unwrap(len, &r), 0);
	CHECK(!r.cached);
	kernel_unwrap_release(&r);
	/* The trailer altered (its own hash). */
	poke(path, (off_t)elf_len + 40, "\1", 1);
	CHECK_EQ(unwrap(len, &r), 0);
	CHECK(!r.cached);
	kernel_unwrap_release(&r);
	CHECK_EQ(unwrap(len, &r), 0);
	CHECK(r.cached);
	kernel_unwrap_release(&r);
	drop_cache();
}

/* Memos: once a bzImage file and its entry are a second old and were
 * hashed once, later boots hash neither; any write to either brings the
 * hashing back (and a changed entry is caught). */
TEST(cache_memos_spare_hashing_until_a_file_changes)
{
	struct unwrap_result r;
	char path[512], bzpath[512];
	size_t len = make_bz(BZ_COMP_GZIP);
	const uint8_t *map;
	int fd;

	fresh_cache();
	snprintf(bzpath, sizeof(bzpath), "%s/vmlinuz", cache_home);
	fd = open(bzpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, bz, len) == (ssize_t)len);
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(map != MAP_FAILED);
	entry_for(len, path, sizeof(path));
	/* Cold: decompressed and stored; nothing is a second old yet. */
	CHECK_EQ(kernel_unwrap(map, len, fd, "vmlinuz", &r), 0);
	CHECK(!r.cached && !r.key_memo);
	kernel_unwrap_release(&r);
	CHECK_EQ(kernel_unwrap(map, len, fd, "vmlinuz", &r), 0);
	CHECK(r.cached && !r.key_memo && !r.verify_memo);
	kernel_unwrap_release(&r);
	usleep(1100 * 1000);
	/* Both hashed once more, now remembered... */
	CHECK_EQ(kernel_unwrap(map, len, fd, "vmlinuz", &r), 0);
	CHECK(r.cached && !r.key_memo && !r.verify_memo);
	kernel_unwrap_release(&r);
	/* ...so neither is hashed again. */
	CHECK_EQ(kernel_unwrap(map, len, fd, "vmlinuz", &r), 0);
	CHECK(r.cached && r.key_memo && r.verify_memo);
	CHECK_EQ(r.hash_us, 0);
	CHECK(r.size == elf_len && memcmp(r.map, elf, elf_len) == 0);
	kernel_unwrap_release(&r);
	/* The entry altered: its ctime moves, its hash is checked, it fails
	 * and is rebuilt. */
	poke(path, 100, "X", 1);
	CHECK_EQ(kernel_unwrap(map, len, fd, "vmlinuz", &r), 0);
	CHECK(!r.cached);
	CHECK(r.size == elf_len && memcmp(r.map, elf, elf_len) == 0);
	kernel_unwrap_release(&r);
	/* The bzImage rewritten (same bytes): its key is hashed again. */
	CHECK(pwrite(fd, bz, 16, 0) == 16);
	CHECK_EQ(kernel_unwrap(map, len, fd, "vmlinuz", &r), 0);
	CHECK(r.cached && !r.key_memo);
	kernel_unwrap_release(&r);
	munmap((void *)map, len);
	close(fd);
	unlink(bzpath);
	drop_cache();
}

TEST(cache_unsafe_dir_is_not_used)
{
	struct unwrap_result r;
	char path[512];
	size_t len = make_bz(BZ_COMP_LZ4);

	fresh_cache();
	CHECK_EQ(unwrap(len, &r), 0);
	kernel_unwrap_release(&r);
	CHECK_EQ(chmod(entry_path(), 0777), 0);
	/* Not even a hit from a directory others could write. */
	CHECK_EQ(unwrap(len, &r), 0);
	CHECK(!r.cached);
	kernel_unwrap_release(&r);
	CHECK_EQ(chmod(entry_path(), 0700), 0);
	entry_for(len, path, sizeof(path));
	CHECK_EQ(unlink(path), 0);
	/* Without any cache directory: memory, and no error. */
	unsetenv("XDG_CACHE_HOME");
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	unsetenv("HOME");
	CHECK_EQ(unwrap(len, &r), 0);
	CHECK(!r.cached);
	kernel_unwrap_release(&r);
	if (home) {
		setenv("HOME", home, 1);
		free(home);
	}
	drop_cache();
}

/* A cache that cannot take the entry (here a directory squats its name, as
 * a full or read-only file system would refuse it): boot from memory. */
TEST(cache_store_failure_boots_from_memory)
{
	struct unwrap_result r;
	char path[512];
	size_t len = make_bz(BZ_COMP_XZ);

	fresh_cache();
	CHECK_EQ(unwrap(len, &r), 0); /* creates the directories */
	kernel_unwrap_release(&r);
	entry_for(len, path, sizeof(path));
	CHECK_EQ(unlink(path), 0);
	CHECK_EQ(mkdir(path, 0700), 0);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(unwrap(len, &r), 0);
		CHECK(!r.cached);
		CHECK(r.fd >= 0); /* a memfd */
		CHECK_EQ(r.file_size, r.size);
		kernel_unwrap_release(&r);
	}
	CHECK_EQ(rmdir(path), 0);
	drop_cache();
}

TEST(unwrap_passes_other_files_and_reports_bad_ones)
{
	struct unwrap_result r;
	size_t len = make_bz(BZ_COMP_BZIP2);

	fresh_cache();
	CHECK_EQ(kernel_unwrap(elf, elf_len, -1, "x", &r), -ENOEXEC);
	put_le32(bz + BZ_OFF_PAYLOAD_LENGTH, 0xfffffff0);
	ember_clearerr();
	CHECK_EQ(kernel_unwrap(bz, len, -1, "/k/vmlinuz", &r), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "kernel /k/vmlinuz: bzImage: payload");
	len = make_bz(BZ_COMP_BZIP2);
	memset(bz + 1024 + 0x40 + 10, 0, 64);
	CHECK(kernel_unwrap(bz, len, -1, "/k/vmlinuz", &r) < 0);
	CHECK_STR_CONTAINS(ember_lasterr(), "kernel /k/vmlinuz: bzip2 payload");
	drop_cache();
}

SUITE(bzimage, T(parses_header_fields), T(detects_every_format), T(not_a_bzimage_is_enoexec),
      T(bad_headers_are_einval), T(every_format_round_trips), T(over_the_cap_is_efbig),
      T(corrupt_and_truncated_streams_are_errors), T(lzo_and_unknown_are_refused),
      T(cache_miss_then_hit), T(cache_bad_entries_are_rebuilt),
      T(cache_memos_spare_hashing_until_a_file_changes), T(cache_unsafe_dir_is_not_used),
      T(cache_store_failure_boots_from_memory), T(unwrap_passes_other_files_and_reports_bad_ones));
