// SPDX-License-Identifier: MIT
#include "snapshot/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "boot/layout.h"
#include "boot/mptable.h"
#include "dev/virtio_net.h"
#include "snapshot/uffd.h"
#include "snapshot/vcpu_state.h"
#include "util.h"
#include "vm.h"

#define TAG_CLOK SNAP_TAG('C', 'L', 'O', 'K')
#define TAG_VCPU SNAP_TAG('V', 'C', 'P', 'U')

static int read_whole(const char *path, uint8_t **buf, size_t *len)
{
	struct stat st;
	int fd = ember_open_input(path, O_RDONLY, false, &st, NULL);
	size_t off = 0;

	if (fd < 0)
		return ember_prefixerr(fd, "snapshot %s", path);
	if ((uint64_t)st.st_size > SNAP_FILE_MAX) {
		close(fd);
		return ember_seterr(-EFBIG, "snapshot %s: %lld bytes, larger than any ember writes",
				    path, (long long)st.st_size);
	}
	*len = (size_t)st.st_size;
	*buf = malloc(*len ? *len : 1);
	if (!*buf) {
		close(fd);
		return -ENOMEM;
	}
	while (off < *len) {
		ssize_t n = read(fd, *buf + off, *len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;

			close(fd);
			return ember_seterr(err, "snapshot %s: read: %s", path,
					    n < 0 ? strerror(-err) : "file shrank while read");
		}
		off += (size_t)n;
	}
	close(fd);
	return 0;
}

static int apply_overrides(const struct snapshot_load_params *p, struct ember_config *cfg)
{
	for (unsigned i = 0; i < p->nnet; i++) {
		unsigned k;

		for (k = 0; k < cfg->nnets; k++)
			if (!strcmp(cfg->nets[k].id, p->net[i].id))
				break;
		if (k == cfg->nnets)
			return ember_seterr(-EINVAL,
					    "network override: the snapshot has no interface "
					    "'%s'",
					    p->net[i].id);
		snprintf(cfg->nets[k].tap, sizeof(cfg->nets[k].tap), "%s", p->net[i].tap);
	}
	if (p->vsock_uds[0]) {
		if (!cfg->vsock.enabled)
			return ember_seterr(-EINVAL, "vsock override: the snapshot has no vsock "
						     "device");
		snprintf(cfg->vsock.uds, sizeof(cfg->vsock.uds), "%s", p->vsock_uds);
	}
	cfg->track_dirty_pages = p->track_dirty_pages;
	return 0;
}

int snapshot_read(struct snapshot_image *img, const struct snapshot_load_params *p,
		  struct ember_config *cfg)
{
	struct stat st;
	int err;

	memset(img, 0, sizeof(*img));
	img->mem_fd = -1;
	img->p = *p;
	err = read_whole(p->state_path, &img->buf, &img->len);
	if (err)
		return err;
	err = snap_parse(img->buf, img->len, &img->file);
	if (!err)
		err = snapshot_parse_config(&img->file, cfg, img);
	if (err)
		return ember_prefixerr(err, "snapshot %s", p->state_path);
	err = apply_overrides(p, cfg);
	if (err || p->uffd)
		return err;
	img->mem_fd = ember_open_input(p->mem_path, O_RDONLY, false, &st, NULL);
	if (img->mem_fd < 0)
		return ember_prefixerr(img->mem_fd, "memory file %s", p->mem_path);
	if ((uint64_t)st.st_size != img->mem_size)
		return ember_seterr(-EINVAL,
				    "memory file %s: %lld bytes, the snapshot's guest has %llu "
				    "bytes of RAM (another snapshot's memory file?)",
				    p->mem_path, (long long)st.st_size,
				    (unsigned long long)img->mem_size);
	return 0;
}

void snapshot_image_free(struct snapshot_image *img)
{
	free(img->buf);
	img->buf = NULL;
	if (img->mem_fd >= 0)
		close(img->mem_fd);
	img->mem_fd = -1;
}

/* --- restore ---------------------------------------------------------------- */

int snapshot_map_memory(struct vm *vm)
{
	struct snapshot_image *img = vm->opt.restore;
	uint64_t size = vm->cfg->mem_size;
	int err;

	if (!img->p.uffd) {
		err = guest_mem_map_file(&vm->mem, size, img->mem_fd);
		if (err)
			return ember_seterr(err, "memory file %s: cannot map %llu MiB: %s",
					    img->p.mem_path, (unsigned long long)(size >> 20),
					    strerror(-err));
		return 0;
	}
	/* Anonymous RAM the handler fills on first touch. */
	err = vm->cfg->huge_pages == HUGE_PAGES_2M ? guest_mem_map_hugetlb(&vm->mem, size)
						   : guest_mem_map(&vm->mem, size, false);
	if (err)
		return ember_seterr(err, "cannot map %llu MiB of guest RAM: %s",
				    (unsigned long long)(size >> 20), strerror(-err));
	vm->uffd =
	    uffd_attach(&vm->mem, img->p.mem_path,
			vm->cfg->huge_pages == HUGE_PAGES_2M ? GUEST_MEM_HUGE : GUEST_MEM_PAGE);
	return vm->uffd < 0 ? vm->uffd : 0;
}

static int set_clock(struct vm *vm, const struct snapshot_image *img)
{
	struct kvm_clock_data c = { .clock = img->clock.clock };

	if (img->p.clock_realtime) {
		int caps = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ADJUST_CLOCK);

		if (caps <= 0 || !(caps & KVM_CLOCK_REALTIME) ||
		    !(img->clock.flags & KVM_CLOCK_REALTIME))
			return ember_seterr(-ENOTSUP, "clock_realtime: this host's KVM or the "
						      "snapshot has no KVM_CLOCK_REALTIME");
		c.flags = KVM_CLOCK_REALTIME;
		c.realtime = img->clock.realtime;
	}
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &c) < 0)
		return ember_seterr(-errno, "KVM_SET_CLOCK: %s", strerror(errno));
	return 0;
}

int snapshot_apply(struct vm *vm)
{
	struct snapshot_image *img = vm->opt.restore;
	struct vcpu_caps caps;
	int err = vcpu_caps_get(&caps, vm->kvm_fd);

	for (unsigned i = 0; i < vm->vcpus.n && !err; i++) {
		struct vcpu_state st;

		err = vcpu_state_parse(snap_find(&img->file, TAG_VCPU, i), &st);
		if (!err)
			err = vcpu_state_check_cpuid(&st, vm->host_cpuid);
		if (!err)
			err = vcpu_state_apply(&vm->vcpus.v[i], &caps, &st);
		vcpu_state_free(&st);
	}
	vcpu_caps_free(&caps);
	if (!err)
		err = set_clock(vm, img);
	if (!err)
		err = board_load(&vm->board, &img->file);
	if (err)
		return ember_prefixerr(err, "snapshot %s", img->p.state_path);
	/* Diff snapshots from here on are relative to this one. */
	vm->dirty_base = vm->cfg->track_dirty_pages;
	return 0;
}

/* --- create ------------------------------------------------------------------ */

/* Is the page at host offset `off` all zero? */
static bool page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[GUEST_MEM_PAGE];

	return memcmp(p, zero, GUEST_MEM_PAGE) == 0;
}

/* Pages of anonymous RAM the process never touched (pagemap: neither
 * present nor swapped) read as zero and need no look. */
struct pagemap {
	int fd;
	uint64_t first, n; /* the cached window, in pages of the mapping */
	uint64_t ent[512];
};

static bool page_touched(struct pagemap *pm, const uint8_t *base, uint64_t pg)
{
	if (pm->fd < 0)
		return true;
	if (pg < pm->first || pg >= pm->first + pm->n) {
		uint64_t vpage = (uintptr_t)base / GUEST_MEM_PAGE + pg;
		ssize_t k = pread(pm->fd, pm->ent, sizeof(pm->ent), (off_t)(vpage * 8));

		if (k < 8)
			return true; /* cannot tell: look at it */
		pm->first = pg;
		pm->n = (uint64_t)k / 8;
	}
	return (pm->ent[pg - pm->first] >> 62) != 0; /* bit 63 present, 62 swapped */
}

/* The dirty log of KVM memory slot i (clears it), as a bitmap of its pages;
 * NULL with a message on error. */
static uint64_t *kvm_dirty_log(struct vm *vm, unsigned slot, uint64_t pages)
{
	uint64_t *bm = calloc((pages + 63) / 64, sizeof(uint64_t));
	struct kvm_dirty_log log = { .slot = slot };

	if (!bm) {
		ember_seterr(-ENOMEM, "out of memory for the dirty log");
		return NULL;
	}
	log.dirty_bitmap = bm;
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
		ember_seterr(-errno, "KVM_GET_DIRTY_LOG: %s", strerror(errno));
		free(bm);
		return NULL;
	}
	return bm;
}

struct mem_writer {
	int fd;
	const uint8_t *run; /* start of the pages waiting to be written */
	uint64_t run_off, run_len;
	uint64_t written;
};

static int flush_run(struct mem_writer *mw)
{
	int err = 0;

	if (mw->run_len)
		err = ember_pwrite_all(mw->fd, mw->run, (size_t)mw->run_len, mw->run_off);
	mw->written += mw->run_len;
	mw->run_len = 0;
	return err;
}

static int add_page(struct mem_writer *mw, const uint8_t *p, uint64_t off)
{
	if (mw->run_len && mw->run_off + mw->run_len == off) {
		mw->run_len += GUEST_MEM_PAGE;
		return mw->run_len >= (8u << 20) ? flush_run(mw) : 0;
	}
	int err = flush_run(mw);

	mw->run = p;
	mw->run_off = off;
	mw->run_len = GUEST_MEM_PAGE;
	return err;
}

/*
 * Guest RAM into fd. Full: every page with something in it (the file was
 * truncated to the RAM size, so the rest are holes). Diff: the pages KVM
 * saw the guest write plus those ember wrote for it, zero or not, since the
 * last snapshot. With dirty tracking on, a full snapshot also restarts the
 * logs, so the next diff is relative to it.
 */
static int write_memory(struct vm *vm, int fd, bool diff, uint64_t *written)
{
	struct guest_mem *gm = &vm->mem;
	struct mem_writer mw = { .fd = fd };
	struct pagemap pm = { .fd = -1 };
	int err = 0;

	/* Anonymous RAM: untouched pages are holes. File-backed RAM reads them
	 * from the file it maps, and huge pages are always present. */
	if (!diff && !gm->file_backed && vm->uffd < 0)
		pm.fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	for (unsigned i = 0; i < gm->nregions && !err; i++) {
		const struct guest_region *r = &gm->regions[i];
		uint64_t pages = r->size / GUEST_MEM_PAGE, first = (uint64_t)(r->host - gm->base);
		uint64_t *log = NULL;

		if (vm->cfg->track_dirty_pages) {
			log = kvm_dirty_log(vm, i, pages);
			if (!log) {
				err = -EIO;
				break;
			}
		}
		for (uint64_t pg = 0; pg < pages && !err; pg++) {
			uint64_t off = first + pg * GUEST_MEM_PAGE;
			const uint8_t *p = gm->base + off;
			bool host = guest_mem_take_dirty(gm, off / GUEST_MEM_PAGE);
			bool kvm = log && (log[pg / 64] >> (pg % 64)) & 1;

			if (diff) {
				if (host || kvm)
					err = add_page(&mw, p, off);
			} else if (page_touched(&pm, gm->base, off / GUEST_MEM_PAGE) &&
				   !page_is_zero(p)) {
				err = add_page(&mw, p, off);
			}
		}
		free(log);
	}
	if (!err)
		err = flush_run(&mw);
	if (pm.fd >= 0)
		close(pm.fd);
	*written = mw.written;
	return err;
}

static bool same_file(int fd, const struct stat *st)
{
	struct stat o;

	return fd >= 0 && fstat(fd, &o) == 0 && o.st_dev == st->st_dev && o.st_ino == st->st_ino;
}

static int save_state(struct vm *vm, bool diff, struct snap_w *w)
{
	struct vcpu_caps caps;
	struct kvm_clock_data clock;
	int err;

	struct ember_config *cfg = malloc(sizeof(*cfg));

	if (!cfg)
		return ember_seterr(-ENOMEM, "out of memory");
	/* A MAC ember made up (from the TAP's name and its pid) is the guest's
	 * for good: a restore in another process must not make up another. */
	*cfg = *vm->cfg;
	for (unsigned i = 0; i < cfg->nnets; i++) {
		struct vm_virtio *s = board_find(&vm->board, "net", i);

		if (!cfg->nets[i].has_mac && s) {
			memcpy(cfg->nets[i].mac,
			       ((struct virtio_net *)s->model)->config + VIRTIO_NET_CFG_MAC, 6);
			cfg->nets[i].has_mac = true;
		}
	}
	memset(&clock, 0, sizeof(clock));
	snapshot_save_meta(w, cfg, diff);
	free(cfg);
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &clock) < 0)
		return ember_seterr(-errno, "KVM_GET_CLOCK: %s", strerror(errno));
	snap_begin(w, TAG_CLOK, 0);
	snap_put_u64(w, clock.clock);
	snap_put_u32(w, clock.flags);
	snap_put_u64(w, clock.realtime);
	snap_put_u64(w, clock.host_tsc);
	err = vcpu_caps_get(&caps, vm->kvm_fd);
	for (unsigned i = 0; i < vm->vcpus.n && !err; i++)
		err = vcpu_state_save(&vm->vcpus.v[i], &caps, w);
	vcpu_caps_free(&caps);
	if (!err)
		board_save(&vm->board, w);
	return err ? err : snap_finish(w);
}

/* The state file: beside its final path, synced, renamed into place. */
static int write_state(const char *path, const struct snap_w *w)
{
	char tmp[CONFIG_PATH_MAX + 32];
	int fd, err;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return ember_seterr(-ENAMETOOLONG, "snapshot_path %s: too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return ember_seterr(-errno, "snapshot_path %s: %s", path, strerror(errno));
	err = ember_pwrite_all(fd, w->buf, w->len, 0);
	if (!err && fsync(fd) < 0)
		err = -errno;
	close(fd);
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		return ember_seterr(err, "snapshot_path %s: %s", path, strerror(-err));
	}
	return 0;
}

int vm_snapshot(struct vm *vm, const struct snapshot_create_params *p)
{
	struct snap_w w;
	struct stat st;
	bool diff = p->diff;
	uint64_t written = 0;
	double t0 = ember_ms();
	int fd, err;

	if (!vm->paused)
		return ember_seterr(-EBUSY, "the VM must be paused");
	if (diff && !vm->cfg->track_dirty_pages)
		return ember_seterr(-EINVAL, "Diff snapshots need track_dirty_pages "
					     "(machine-config, or --track-dirty-pages)");
	if (!strcmp(p->state_path, p->mem_path))
		return ember_seterr(-EINVAL, "snapshot_path and mem_file_path are the same file");
	/* A diff of a VM with no snapshot before it holds everything. */
	if (diff && !vm->dirty_base)
		diff = false;
	err = board_flush_disks(&vm->board);
	if (err)
		return err;
	/* The state first, in memory: nothing is written if it fails. */
	snap_w_init(&w);
	err = save_state(vm, diff, &w);
	if (err) {
		snap_w_free(&w);
		return err;
	}
	fd = open(p->mem_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		err = ember_seterr(-errno, "mem_file_path %s: %s", p->mem_path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err = ember_seterr(-EINVAL, "mem_file_path %s: not a regular file", p->mem_path);
		goto out_fd;
	}
	if (vm->opt.restore && same_file(vm->opt.restore->mem_fd, &st) && !diff) {
		err = ember_seterr(-EINVAL,
				   "mem_file_path %s: this VM's memory is mapped from it; "
				   "write the snapshot to another file",
				   p->mem_path);
		goto out_fd;
	}
	if (diff && st.st_size != 0 && (uint64_t)st.st_size != vm->mem.size) {
		err = ember_seterr(-EINVAL,
				   "mem_file_path %s: %lld bytes, not this VM's %llu: not its "
				   "base memory file",
				   p->mem_path, (long long)st.st_size,
				   (unsigned long long)vm->mem.size);
		goto out_fd;
	}
	/* Full: from empty, so what is not written is a hole. */
	if ((!diff && ftruncate(fd, 0) < 0) || ftruncate(fd, (off_t)vm->mem.size) < 0) {
		err = ember_seterr(-errno, "mem_file_path %s: %s", p->mem_path, strerror(errno));
		goto out_fd;
	}
	ember_clearerr();
	err = write_memory(vm, fd, diff, &written);
	if (!err && fdatasync(fd) < 0)
		err = -errno;
	if (err) {
		/* The dirty log's failure says what it was; a write's is errno. */
		if (*ember_lasterr())
			err = ember_prefixerr(err, "mem_file_path %s", p->mem_path);
		else
			err =
			    ember_seterr(err, "mem_file_path %s: %s", p->mem_path, strerror(-err));
		goto out_fd;
	}
	err = write_state(p->state_path, &w);
	if (!err) {
		vm->dirty_base = vm->cfg->track_dirty_pages;
		vm->snap_ms = ember_ms() - t0;
		vm->snap_bytes = written;
	}
out_fd:
	close(fd);
out:
	snap_w_free(&w);
	return err;
}
