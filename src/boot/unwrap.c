// SPDX-License-Identifier: MIT
#include "boot/unwrap.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot/decompress.h"
#include "boot/kcache.h"
#include "util.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

struct parse_job {
	const uint8_t *file;
	size_t len;
	struct bzimage_info *bz;
	struct kcache_key *key; /* NULL: parse only */
};

/* Under ember_guard_sigbus(): reads the (mapped) bzImage only. */
static int parse_job_run(void *arg)
{
	struct parse_job *j = arg;

	if (j->key) {
		kcache_key(j->file, j->len, j->key);
		return 0;
	}
	return bzimage_parse(j->file, j->len, j->bz);
}

struct decomp_job {
	const uint8_t *in;
	size_t inlen;
	enum bz_comp comp;
	struct decomp_out *o;
};

/* Under ember_guard_sigbus(). A SIGBUS inside a library's decode loop
 * leaks its decoder state (a few MiB at most): ember then exits with the
 * error anyway. */
static int decomp_job_run(void *arg)
{
	struct decomp_job *j = arg;

	return decompress(j->comp, j->in, j->inlen, j->o);
}

static bool is_elf(const uint8_t *p, size_t n)
{
	return n >= 4 && p[0] == 0x7f && memcmp(p + 1, "ELF", 3) == 0;
}

int kernel_unwrap(const uint8_t *file, size_t len, int fd, const char *path,
		  struct unwrap_result *r)
{
	struct kcache_ident ident;
	struct stat st;
	bool have_ident = false;
	struct kcache_key key;
	struct kcache_entry e;
	struct decomp_out o;
	struct parse_job pj = { file, len, &r->bz, NULL };
	struct decomp_job dj;
	char dir[PATH_MAX];
	uint64_t t0;
	int err, dfd;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	/* Not a bzImage: let the caller try ELF, quietly, before any look at
	 * the cache (an ELF vmlinux costs nothing here). */
	err = ember_guard_sigbus(parse_job_run, &pj);
	if (err == -ENOEXEC)
		return err;
	if (err)
		return ember_prefixerr(err, "kernel %s", path);
	dfd = kcache_open_dir(dir, sizeof(dir));
	if (dfd < 0)
		fprintf(stderr, "ember: kernel cache not used: %s; unwrapping to memory\n",
			ember_lasterr());
	if (dfd >= 0 && fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_size == len) {
		kcache_ident(&st, &ident);
		have_ident = true;
	}
	if (dfd >= 0 && have_ident && kcache_key_memo_get(dfd, &ident, &key) == 0) {
		r->key_memo = true;
	} else if (dfd >= 0) {
		pj.key = &key;
		t0 = now_us();
		err = ember_guard_sigbus(parse_job_run, &pj);
		r->hash_us = now_us() - t0;
		if (err)
			goto fail;
		if (have_ident)
			kcache_key_memo_put(dfd, &ident, &key);
	}
	r->comp = bzimage_comp_name(r->bz.comp);
	if (dfd >= 0) {
		err = kcache_lookup(dfd, &key, len, &e);
		if (!err) {
			close(dfd);
			r->fd = e.fd;
			r->map = e.map;
			r->size = e.size;
			r->file_size = e.file_size;
			r->sparse = e.sparse;
			r->cached = true;
			r->verify_memo = e.verified_by_memo;
			return 0;
		}
		if (err != -ENOENT)
			fprintf(stderr, "ember: kernel cache %s: %s; rebuilding it\n", dir,
				ember_lasterr());
	}

	err = decomp_out_memfd(&o, r->bz.size_hint, DECOMP_MAX_OUT);
	if (err)
		goto fail;
	dj =
	    (struct decomp_job){ file + r->bz.payload_start, r->bz.payload_length, r->bz.comp, &o };
	t0 = now_us();
	err = ember_guard_sigbus(decomp_job_run, &dj);
	r->decomp_us = now_us() - t0;
	if (!err)
		err = decomp_out_finish(&o);
	if (err) {
		decomp_out_free(&o);
		goto fail;
	}
	r->fd = o.memfd;
	r->map = o.buf;
	r->size = o.len;
	r->file_size = o.len;
	/* Only an ELF is worth keeping: anything else fails in the loader. */
	if (dfd >= 0 && is_elf(o.buf, o.len)) {
		err = kcache_store(dfd, &key, len, o.buf, o.len);
		if (err)
			fprintf(stderr, "ember: kernel cache %s: %s; unwrapped to memory\n", dir,
				ember_lasterr());
	}
	if (dfd >= 0)
		close(dfd);
	return 0;
fail:
	if (dfd >= 0)
		close(dfd);
	return ember_prefixerr(err, "kernel %s", path);
}

void kernel_unwrap_release(struct unwrap_result *r)
{
	if (r->map)
		munmap((void *)r->map, (size_t)r->size);
	if (r->fd >= 0)
		close(r->fd);
	r->map = NULL;
	r->fd = -1;
}
