// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: virtio-blk requests, driven through the virtio-mmio
 * registers and the device's notify handler (vdrv.h), over a small disk in a
 * memfd. The input is a program: post a request (any type, sector, data
 * length, segmentation, direct or indirect, sometimes perturbed), notify,
 * mangle the avail ring, reset and restart, read config space, swap the
 * backing file.
 *
 * Checked, besides ASan/UBSan:
 *  - the device writes guest RAM only inside the writable buffers of chains
 *    in flight, and the used ring (vdrv);
 *  - each used entry names a chain in flight, once, with at most its
 *    writable length;
 *  - for a clean queue, every well-formed request is completed at the next
 *    notify, with the status byte (the chain's last writable byte) and the
 *    used length a model of the disk predicts: IN returns the disk's bytes,
 *    OUT changes exactly its sectors, DISCARD/WRITE_ZEROES zero exactly
 *    theirs, GET_ID returns the id, ranges past the end, partial sectors and
 *    read-only writes are IOERR, unknown types UNSUPP;
 *  - the host swapping the disk file (PATCH /drives) between requests
 *    updates the capacity in config space with a config interrupt, and
 *    later requests see the new disk;
 *  - a request without header or status byte is never completed: the device
 *    sets DEVICE_NEEDS_RESET;
 *  - the disk file equals the model after every notify;
 *  - config space reads give the capacity, zeros past the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "dev/virtio_blk.h"
#include "util.h"
#include "vdrv.h"

#define SECTOR	 512
#define DISK_MAX (128 * SECTOR)
#define SEG_OK	 126 /* the device promises seg_max segments */

static struct vd v;
static uint8_t ram[VD_RAM];
static uint8_t model[DISK_MAX], disk[DISK_MAX];
static uint8_t req[DISK_MAX + 4096];
static struct virtio_blk blk;
static struct virtio_dev dev;
static int memfds[2] = { -1, -1 }, memfd = -1, cur;
static uint64_t cap;
static char id[32];
static unsigned malformed_out; /* clean requests without header/status in flight */

static void disk_read(uint8_t *dst)
{
	if (cap && pread(memfd, dst, cap, 0) != (ssize_t)cap)
		vd_fail("pread memfd");
}

/* The number of non-empty iovec segments the data part takes. */
static unsigned data_segs(const struct vd_chain *c, bool write, uint64_t skip, uint64_t len)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->nseg && len; i++) {
		uint64_t l = c->seg[i].len;

		if (c->seg[i].write != write)
			continue;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		skip = 0;
		if (l > len)
			l = len;
		len -= l;
		n++;
	}
	return n;
}

static bool range_ok(uint64_t sector, uint64_t len, uint64_t *off)
{
	uint64_t end;

	return !ckd_mul(off, sector, (uint64_t)SECTOR) && !ckd_add(&end, *off, len) && end <= cap;
}

static uint8_t expect_discard(const struct vd_chain *c, uint32_t type, bool apply)
{
	uint64_t data = c->rlen - 16, sector, off;
	uint8_t seg[16];
	uint32_t count, flags;

	if (blk.ro)
		return VIRTIO_BLK_S_IOERR;
	if (!blk.can_discard)
		return VIRTIO_BLK_S_UNSUPP;
	if (data == 0 || data % 16)
		return VIRTIO_BLK_S_IOERR;
	if (data / 16 > 1)
		return VIRTIO_BLK_S_UNSUPP;
	vd_chain_get(&v, c, false, 16, seg, 16);
	sector = get_le64(seg);
	count = get_le32(seg + 8);
	flags = get_le32(seg + 12);
	if ((flags & ~1u) || (type == VIRTIO_BLK_T_DISCARD && flags))
		return VIRTIO_BLK_S_UNSUPP;
	if (!range_ok(sector, (uint64_t)count * SECTOR, &off))
		return VIRTIO_BLK_S_IOERR;
	if (apply)
		memset(model + off, 0, (uint64_t)count * SECTOR);
	return VIRTIO_BLK_S_OK;
}

static void on_used(struct vd *vv, unsigned q, struct vd_chain *c, uint32_t len, void *ctx)
{
	uint8_t hdr[16], status, data_ok = 1;
	uint32_t type, want_len = 1;
	uint64_t sector, off, dlen;
	int want;

	(void)q;
	(void)ctx;
	if (!c->clean || vv->q[0].lenient || vv->wild)
		return;
	if (c->rlen < 16 || c->wlen < 1)
		vd_fail("blk: a request without header or status byte was completed");
	vd_chain_get(vv, c, false, 0, hdr, 16);
	vd_chain_get(vv, c, true, c->wlen - 1, &status, 1);
	type = get_le32(hdr);
	sector = get_le64(hdr + 8);
	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool out = type == VIRTIO_BLK_T_OUT;
		unsigned segs;

		dlen = out ? c->rlen - 16 : c->wlen - 1;
		segs = out ? data_segs(c, false, 16, dlen) : data_segs(c, true, 0, dlen);
		if (dlen % SECTOR || !range_ok(sector, dlen, &off) || (out && blk.ro)) {
			want = VIRTIO_BLK_S_IOERR;
		} else if (segs > SEG_OK && status == VIRTIO_BLK_S_IOERR) {
			want = VIRTIO_BLK_S_IOERR; /* beyond seg_max: may refuse */
		} else {
			want = VIRTIO_BLK_S_OK;
			if (out) {
				vd_chain_get(vv, c, false, 16, model + off, dlen);
			} else {
				vd_chain_get(vv, c, true, 0, req, dlen);
				data_ok = !memcmp(req, model + off, dlen);
				want_len = (uint32_t)dlen + 1;
			}
		}
		break;
	}
	case VIRTIO_BLK_T_FLUSH:
		want = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		char got[VIRTIO_BLK_ID_BYTES], exp[VIRTIO_BLK_ID_BYTES] = { 0 };

		if (c->wlen - 1 < VIRTIO_BLK_ID_BYTES) {
			want = VIRTIO_BLK_S_IOERR;
			break;
		}
		want = VIRTIO_BLK_S_OK;
		want_len = VIRTIO_BLK_ID_BYTES + 1;
		memcpy(exp, id, strnlen(id, VIRTIO_BLK_ID_BYTES));
		vd_chain_get(vv, c, true, 0, got, sizeof(got));
		data_ok = !memcmp(got, exp, sizeof(got));
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		want = expect_discard(c, type, status == VIRTIO_BLK_S_OK);
		break;
	default:
		want = VIRTIO_BLK_S_UNSUPP;
	}
	if (status != want)
		vd_fail("blk: type %u sector %llu (r %llu w %llu): status %u, expected %d", type,
			(unsigned long long)sector, (unsigned long long)c->rlen,
			(unsigned long long)c->wlen, status, want);
	if (want == VIRTIO_BLK_S_OK && !data_ok)
		vd_fail("blk: type %u sector %llu: the data in the guest is not the disk's", type,
			(unsigned long long)sector);
	if (len != (want == VIRTIO_BLK_S_OK ? want_len : 1))
		vd_fail("blk: type %u: used length %u, expected %u", type, len,
			want == VIRTIO_BLK_S_OK ? want_len : 1);
}

static void settle(bool direct)
{
	bool strict;

	vd_notify(&v, 0, direct);
	vd_collect(&v, 0, on_used, NULL);
	strict = !v.q[0].lenient && !v.wild && v.nq;
	if (strict && !vd_needs_reset(&v)) {
		if (malformed_out)
			vd_fail("blk: a request without header or status byte left the device "
				"running");
		if (v.q[0].outstanding)
			vd_fail("blk: %u well-formed requests not completed after a notify",
				v.q[0].outstanding);
	}
	disk_read(disk);
	if (strict) {
		if (memcmp(disk, model, cap))
			vd_fail("blk: the disk differs from the model");
	} else {
		memcpy(model, disk, cap); /* the guest broke the rules: follow the disk */
	}
}

static void post(struct fz *f)
{
	static const uint32_t types[] = { VIRTIO_BLK_T_IN,	VIRTIO_BLK_T_OUT,
					  VIRTIO_BLK_T_FLUSH,	VIRTIO_BLK_T_GET_ID,
					  VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES,
					  VIRTIO_BLK_T_IN,	VIRTIO_BLK_T_OUT };
	uint8_t k = fz_u8(f), n = fz_u8(f);
	uint32_t type = (k & 8) ? fz_u32(f) : types[k & 7];
	uint64_t sector = (k & 0x10) ? fz_u64(f) : fz_u8(f) % (cap / SECTOR + 4);
	uint64_t rdata = 0, wdata = 0, rlen, wlen;
	struct vd_chain *c;

	switch (type) {
	case VIRTIO_BLK_T_IN:
		wdata = (uint64_t)(n & 7) * SECTOR;
		break;
	case VIRTIO_BLK_T_OUT:
		rdata = (uint64_t)(n & 7) * SECTOR;
		break;
	case VIRTIO_BLK_T_GET_ID:
		wdata = (n & 1) ? VIRTIO_BLK_ID_BYTES : (n >> 1) & 31;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		rdata = 16 * (uint64_t)(1 + ((n >> 6) & 1));
		break;
	}
	rlen = 16 + rdata;
	wlen = wdata + 1;
	if (k & 0x20) /* lengths off by anything */
		rlen = fz_u16(f) % 4200, wlen = fz_u16(f) % 4200;
	if (rlen > sizeof(req))
		rlen = sizeof(req);
	memset(req, 0, rlen > 16 ? rlen : 16);
	put_le32(req, type);
	put_le32(req + 4, fz_u32(f) & -(uint32_t)(k >> 7)); /* reserved ioprio */
	put_le64(req + 8, sector);
	if (type == VIRTIO_BLK_T_DISCARD || type == VIRTIO_BLK_T_WRITE_ZEROES) {
		for (uint64_t o = 16; o + 16 <= rlen; o += 16) {
			uint8_t s = fz_u8(f);

			put_le64(req + o, (s & 0x80) ? fz_u64(f) : fz_u8(f) % (cap / SECTOR + 2));
			put_le32(req + o + 8, (s & 0x40) ? fz_u32(f) : fz_u8(f) % 9);
			put_le32(req + o + 12, (s & 0x20) ? fz_u32(f) : s & 1);
		}
	} else {
		for (uint64_t i = 16; i < rlen; i++)
			req[i] = (uint8_t)(i * 13 + n);
	}
	c = vd_post(&v, 0, f, req, rlen, wlen, 0);
	if (c && c->clean && (rlen < 16 || wlen < 1))
		malformed_out++;
}

static void check_config(struct fz *f)
{
	uint32_t off = fz_u8(f) % 72, len = 1u << (fz_u8(f) % 4);
	uint8_t got[8], exp[8] = { 0 };

	virtio_mmio_bus_ops.read(&dev, VIRTIO_MMIO_CONFIG + off, got, len);
	if (off < VIRTIO_BLK_CONFIG_SIZE && len <= VIRTIO_BLK_CONFIG_SIZE - off)
		memcpy(exp, blk.config + off, len);
	if (memcmp(got, exp, len))
		vd_fail("blk: config read at %u len %u is wrong", off, len);
	if (get_le64(blk.config) != cap / SECTOR)
		vd_fail("blk: config capacity %llu sectors, disk %llu bytes",
			(unsigned long long)get_le64(blk.config), (unsigned long long)cap);
}

static void fill_disk(int fd, uint64_t size, uint8_t seed)
{
	for (uint64_t i = 0; i < size; i++)
		model[i] = (uint8_t)(i ^ (i >> 9) * 31 ^ seed);
	if (ftruncate(fd, 0) || ftruncate(fd, (off_t)size) ||
	    (size && pwrite(fd, model, size, 0) != (ssize_t)size))
		vd_fail("memfd set-up");
}

/* The host swaps the backing file (PATCH /drives) between two requests. */
static void swap_disk(struct fz *f)
{
	static const uint64_t caps[] = { DISK_MAX, SECTOR, 0, 64 * SECTOR };
	uint64_t ncap = caps[fz_u8(f) & 3];
	uint32_t gen = dev.config_gen;
	int other = memfds[cur ^ 1];
	char p[64];

	settle(false);
	fill_disk(other, ncap, fz_u8(f));
	snprintf(p, sizeof(p), "/proc/self/fd/%d", other);
	vd_snap(&v);
	if (virtio_blk_swap(&blk, p))
		vd_fail("blk: swap: %s", ember_lasterr());
	vd_check(&v, "swap");
	cur ^= 1;
	memfd = other;
	cap = ncap;
	if (get_le64(blk.config) != cap / SECTOR || dev.config_gen != gen + 1 ||
	    !(dev.isr & VIRTIO_INT_CONFIG))
		vd_fail("blk: swap: capacity %llu, generation %u -> %u, isr 0x%x",
			(unsigned long long)get_le64(blk.config), gen, dev.config_gen, dev.isr);
}

static bool start(struct fz *f)
{
	uint16_t size = (uint16_t)(1u << (fz_u8(f) % 7));
	uint8_t w = fz_u8(f);
	uint64_t want = ~0ULL;

	if (w >= 0xf0)
		want = fz_u64(f); /* maybe without VERSION_1: refused */
	malformed_out = 0;
	return vd_start(&v, 1, &size, want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t caps[] = { DISK_MAX, SECTOR, 0, DISK_MAX - SECTOR };
	struct fz f = { data, size };
	struct disk_config cfg = { 0 };
	uint8_t opt = fz_u8(&f);
	unsigned ops = 0;

	for (unsigned i = 0; i < 2; i++)
		if (memfds[i] < 0 && (memfds[i] = memfd_create("fuzz-blk", MFD_CLOEXEC)) < 0)
			vd_fail("memfd_create");
	cur = 0;
	memfd = memfds[0];
	cap = caps[(opt >> 2) & 3];
	fill_disk(memfd, cap, 0);
	snprintf(cfg.path, sizeof(cfg.path), "/proc/self/fd/%d", memfd);
	cfg.ro = opt & 1;
	cfg.cache = (opt & 2) ? DISK_CACHE_WRITEBACK : DISK_CACHE_UNSAFE;
	snprintf(id, sizeof(id), "%s", (opt & 0x10) ? "fuzz-disk-id-0123456789" : "d1");
	snprintf(cfg.id, sizeof(cfg.id), "%s", id);
	if (virtio_blk_open(&blk, &cfg))
		vd_fail("virtio_blk_open: %s", ember_lasterr());
	vd_init(&v, ram);
	virtio_init(&dev, &blk.ops, &blk, &v.gm);
	blk.dev = &dev;
	vd_attach(&v, &dev);
	if (!start(&f))
		goto out;
	while (f.n && ops++ < 200) {
		uint8_t op = fz_u8(&f);

		switch (op % 9) {
		case 0:
		case 1:
		case 2:
		case 3:
			post(&f);
			break;
		case 4:
			settle(op & 0x80);
			break;
		case 5:
			vd_mangle_avail(&v, 0, &f);
			break;
		case 6:
			settle(false);
			vd_reset(&v);
			memcpy(model, disk, cap);
			if (!start(&f))
				goto out;
			break;
		case 7:
			check_config(&f);
			break;
		case 8:
			swap_disk(&f);
			break;
		}
	}
	settle(false);
out:
	virtio_blk_close(&blk);
	virtio_destroy(&dev);
	return 0;
}
