// SPDX-License-Identifier: MIT
#include "dev/virtio_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config.h"
#include "dev/disk_lock.h"
#include "util.h"

#define SECTOR		 512ULL
#define HDR_SIZE	 16
#define SEG_MAX		 126 /* data segments per request we advertise (queue 256) */
#define QUEUE_SIZE	 256
#define DISCARD_SEG_SIZE 16
#define MAX_DISCARD_SEGS 1 /* ranges per discard or write-zeroes request */

/* Config space offsets (5.2.4). */
#define CFG_CAPACITY	     0
#define CFG_SEG_MAX	     12
#define CFG_BLK_SIZE	     20
#define CFG_NUM_QUEUES	     34
#define CFG_MAX_DISCARD_SECT 36
#define CFG_MAX_DISCARD_SEG  40
#define CFG_DISCARD_ALIGN    44
#define CFG_MAX_WZ_SECT	     48
#define CFG_MAX_WZ_SEG	     52
#define CFG_WZ_MAY_UNMAP     56

static void blk_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_blk *b = d->priv;

	memcpy(data, b->config + off, len);
}

static void blk_notify(struct virtio_dev *d, unsigned q);

/* virtio_blk_open(), with own_fd an fd of this disk whose locks the new
 * file may share (a swap to the same file), or -1. */
static int blk_open(struct virtio_blk *b, const struct disk_config *cfg, int own_fd)
{
	struct stat st;
	uint64_t size;
	char name[sizeof(b->rl.name)];
	int err;

	memset(b, 0, sizeof(*b));
	rate_limiter_io_preinit(&b->rl);
	/* Never blocks: a FIFO, socket or character device is refused. */
	b->fd = ember_open_input(cfg->path, cfg->ro ? O_RDONLY : O_RDWR, true, &st, NULL);
	if (b->fd < 0)
		return ember_prefixerr(b->fd, "--disk %s", cfg->path);
	size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode) && ioctl(b->fd, BLKGETSIZE64, &size) < 0)
		return ember_seterr(-errno, "--disk %s: BLKGETSIZE64: %s", cfg->path,
				    strerror(errno));
	/* Before the guest sees it: no other ember or QEMU writes it, nor
	 * forbids us to (dev/disk_lock.h). */
	err = disk_lock_take(b->fd, cfg->ro, own_fd);
	if (err)
		return ember_prefixerr(err, "--disk %s", cfg->path);
	/* An empty disk (0 sectors) is valid: Kata Containers creates its
	 * placeholder drives empty and swaps real images in later. */
	if (size % SECTOR)
		return ember_seterr(-EINVAL, "--disk %s: size %llu bytes is not a multiple of 512",
				    cfg->path, (unsigned long long)size);
	b->capacity = size;
	b->ro = cfg->ro;
	snprintf(b->path, sizeof(b->path), "%s", cfg->path);
	/* The serial is the id's first 20 bytes (virtio 1.2, 5.2.6). */
	snprintf(b->id, sizeof(b->id), "%.*s", VIRTIO_BLK_ID_BYTES, cfg->id);
	/* Punching a hole past the end changes nothing, and tells whether the
	 * file system supports it: offer discard/write-zeroes only then. */
	b->can_discard = !b->ro && S_ISREG(st.st_mode) &&
			 fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)size,
				   (off_t)SECTOR) == 0;

	b->features = VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_F_RING_EVENT_IDX | VIRTIO_BLK_F_SEG_MAX |
		      VIRTIO_BLK_F_BLK_SIZE;
	/* Firecracker's cache_type: Writeback offers FLUSH and syncs the
	 * image on it; Unsafe does not offer it, so the guest never waits
	 * for the host's disk (and a host crash may lose its writes). */
	if (cfg->cache == DISK_CACHE_WRITEBACK)
		b->features |= VIRTIO_BLK_F_FLUSH;
	if (b->ro)
		b->features |= VIRTIO_BLK_F_RO;
	if (b->can_discard)
		b->features |= VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES;
	put_le64(b->config + CFG_CAPACITY, size / SECTOR);
	put_le32(b->config + CFG_SEG_MAX, SEG_MAX);
	put_le32(b->config + CFG_BLK_SIZE, SECTOR);
	put_le16(b->config + CFG_NUM_QUEUES, 1);
	if (b->can_discard) {
		put_le32(b->config + CFG_MAX_DISCARD_SECT, 0x3fffff);
		put_le32(b->config + CFG_MAX_DISCARD_SEG, MAX_DISCARD_SEGS);
		put_le32(b->config + CFG_DISCARD_ALIGN, 1);
		put_le32(b->config + CFG_MAX_WZ_SECT, 0x3fffff);
		put_le32(b->config + CFG_MAX_WZ_SEG, MAX_DISCARD_SEGS);
		b->config[CFG_WZ_MAY_UNMAP] = 1;
	}
	b->ops = (struct virtio_dev_ops){
		.name = "blk",
		.device_id = VIRTIO_ID_BLOCK,
		.features = b->features,
		.nqueues = 1,
		.queue_max = QUEUE_SIZE,
		.config_size = VIRTIO_BLK_CONFIG_SIZE,
		.config_read = blk_config_read,
		.notify = blk_notify,
	};
	snprintf(name, sizeof(name), "virtio-blk %.28s", cfg->id[0] ? cfg->id : cfg->path);
	return rate_limiter_io_init(&b->rl, &cfg->rl, name);
}

int virtio_blk_open(struct virtio_blk *b, const struct disk_config *cfg)
{
	return blk_open(b, cfg, -1);
}

void virtio_blk_close(struct virtio_blk *b)
{
	/* Whatever the cache mode and however ember ends (guest power-off,
	 * a stop signal, the API), what the guest wrote reaches the storage
	 * before ember says it is done. An error here has no one left to
	 * tell but the operator. */
	if (b->fd >= 0 && !b->ro && fdatasync(b->fd) < 0 && errno != EINVAL)
		fprintf(stderr, "ember: virtio-blk: flushing %s at close: %s\n",
			b->path[0] ? b->path : "a disk", strerror(errno));
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	rate_limiter_io_close(&b->rl);
}

/*
 * The data part of a request as an iovec: for writes, the readable bytes
 * after the 16-byte header; for reads, the writable bytes before the final
 * status byte. Returns the iovec count; *total is the data's length, and
 * the iovec covers all of it (a chain is no longer than the queue, so
 * VQ_MAX_SIZE entries always suffice).
 */
static unsigned data_iov(const struct vq_chain *c, bool write_part, struct iovec *iov,
			 uint64_t *total)
{
	uint64_t covered;

	*total = write_part ? c->write_len - 1 : c->read_len - HDR_SIZE;
	return vq_chain_iov(c, write_part, write_part ? 0 : HDR_SIZE, *total, iov, VQ_MAX_SIZE,
			    &covered);
}

/* Whole-range check: [sector*512, +len) inside the disk, no overflow. */
static bool in_range(const struct virtio_blk *b, uint64_t sector, uint64_t len, uint64_t *off)
{
	uint64_t end;

	return !ckd_mul(off, sector, SECTOR) && !ckd_add(&end, *off, len) && end <= b->capacity;
}

static int rw_all(int fd, struct iovec *iov, unsigned n, uint64_t off, bool write)
{
	while (n > 0) {
		ssize_t r = write ? pwritev(fd, iov, (int)n, (off_t)off)
				  : preadv(fd, iov, (int)n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		off += (uint64_t)r;
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static uint8_t do_discard(struct virtio_blk *b, const struct vq_chain *c, uint32_t type)
{
	uint8_t seg[DISCARD_SEG_SIZE];
	uint64_t data = c->read_len - HDR_SIZE;

	if (b->ro)
		return VIRTIO_BLK_S_IOERR;
	if (!b->can_discard)
		return VIRTIO_BLK_S_UNSUPP;
	if (data == 0 || data % DISCARD_SEG_SIZE)
		return VIRTIO_BLK_S_IOERR;
	/* One segment, as max_discard_seg and max_write_zeroes_seg say: more
	 * is refused before any is applied. */
	if (data / DISCARD_SEG_SIZE > MAX_DISCARD_SEGS)
		return VIRTIO_BLK_S_UNSUPP;
	for (uint64_t o = 0; o < data; o += DISCARD_SEG_SIZE) {
		uint64_t sector, count, off;
		uint32_t flags;
		int mode = FALLOC_FL_KEEP_SIZE;

		vq_chain_read(c, HDR_SIZE + o, seg, sizeof(seg));
		sector = get_le64(seg);
		count = get_le32(seg + 8);
		flags = get_le32(seg + 12);
		/* Virtio 1.2, 5.2.6.2: unknown flags, and "unmap" on a
		 * discard, are VIRTIO_BLK_S_UNSUPP. */
		if ((flags & ~1u) || (type == VIRTIO_BLK_T_DISCARD && flags))
			return VIRTIO_BLK_S_UNSUPP;
		if (!in_range(b, sector, count * SECTOR, &off))
			return VIRTIO_BLK_S_IOERR;
		/* Discard and unmapping write-zeroes punch holes (which read as
		 * zeroes); a plain write-zeroes keeps the blocks allocated. */
		mode |= (type == VIRTIO_BLK_T_DISCARD || (flags & 1)) ? FALLOC_FL_PUNCH_HOLE
								      : FALLOC_FL_ZERO_RANGE;
		if (count && fallocate(b->fd, mode, (off_t)off, (off_t)(count * SECTOR)) < 0) {
			if (!(mode & FALLOC_FL_ZERO_RANGE) || errno != EOPNOTSUPP ||
			    fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
				      (off_t)(count * SECTOR)) < 0)
				return VIRTIO_BLK_S_IOERR;
		}
	}
	return VIRTIO_BLK_S_OK;
}

/* The request's type and sector, read once: the limiter's charge and the
 * service must agree while the guest may rewrite the header meanwhile. */
static int blk_header(const struct vq_chain *c, uint32_t *type, uint64_t *sector)
{
	uint8_t hdr[HDR_SIZE];

	/* The header and the status byte are mandatory (5.2.6). */
	if (c->read_len < HDR_SIZE || c->write_len < 1)
		return ember_seterr(-EINVAL, "request %u without header or status byte", c->head);
	vq_chain_read(c, 0, hdr, HDR_SIZE);
	*type = get_le32(hdr);
	*sector = get_le64(hdr + 8);
	return 0;
}

/* The bytes a request moves, as the limiter charges them (Firecracker's
 * data_len of In and Out; the rest move none). The chain's lengths are our
 * snapshot of its descriptors: the guest cannot change them under us. */
static uint64_t blk_data_bytes(const struct vq_chain *c, uint32_t type)
{
	if (type == VIRTIO_BLK_T_IN)
		return c->write_len - 1;
	if (type == VIRTIO_BLK_T_OUT)
		return c->read_len - HDR_SIZE;
	return 0;
}

static void blk_count(struct virtio_blk *b, uint32_t type, uint8_t status, uint64_t bytes)
{
	if (status != VIRTIO_BLK_S_OK) {
		counter_add(&b->m.invalid_reqs_count, 1);
	} else if (type == VIRTIO_BLK_T_IN) {
		counter_add(&b->m.read_bytes, bytes);
		counter_add(&b->m.read_count, 1);
	} else if (type == VIRTIO_BLK_T_OUT) {
		counter_add(&b->m.write_bytes, bytes);
		counter_add(&b->m.write_count, 1);
	} else if (type == VIRTIO_BLK_T_FLUSH) {
		counter_add(&b->m.flush_count, 1);
	}
}

static int blk_serve(struct virtio_blk *b, const struct vq_chain *c, uint32_t type, uint64_t sector,
		     uint32_t *written)
{
	struct iovec iov[VQ_MAX_SIZE];
	/* The last writable byte (blk_header() checked there is one). */
	const struct iovec *last = &c->iov[c->n - 1];
	uint8_t status = VIRTIO_BLK_S_OK, *status_p = (uint8_t *)last->iov_base + last->iov_len - 1;
	uint64_t total = 0, off;
	unsigned n;

	*written = 0;
	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool is_write = type == VIRTIO_BLK_T_OUT;

		n = data_iov(c, !is_write, iov, &total);
		if (total % SECTOR || !in_range(b, sector, total, &off))
			status = VIRTIO_BLK_S_IOERR;
		else if (is_write && b->ro)
			status = VIRTIO_BLK_S_IOERR;
		else if (rw_all(b->fd, iov, n, off, is_write) < 0)
			status = VIRTIO_BLK_S_IOERR;
		else if (!is_write)
			*written = (uint32_t)total;
		break;
	}
	case VIRTIO_BLK_T_FLUSH:
		if (!b->ro && fdatasync(b->fd) < 0)
			status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		char id[VIRTIO_BLK_ID_BYTES] = { 0 };

		/* Not NUL-terminated when all 20 bytes are used (5.2.6). */
		memcpy(id, b->id, strnlen(b->id, VIRTIO_BLK_ID_BYTES));
		if (c->write_len - 1 < VIRTIO_BLK_ID_BYTES)
			status = VIRTIO_BLK_S_IOERR;
		else
			*written = (uint32_t)vq_chain_write(c, 0, id, VIRTIO_BLK_ID_BYTES);
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		status = do_discard(b, c, type);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
	}
	*status_p = status;
	*written += 1;
	blk_count(b, type, status, total);
	return status;
}

int virtio_blk_request(struct virtio_blk *b, const struct vq_chain *c, uint32_t *written)
{
	uint32_t type = 0;
	uint64_t sector = 0;
	int err;

	*written = 0;
	err = blk_header(c, &type, &sector);
	return err ? err : blk_serve(b, c, type, sector, written);
}

static int blk_request_fn(struct virtio_dev *d, struct vq_chain *c, void *ctx, uint32_t *written)
{
	struct virtio_blk *b = ctx;
	uint32_t type = 0;
	uint64_t sector = 0;
	int err = blk_header(c, &type, &sector);

	if (err < 0)
		return err;
	/* Throttled: the request goes back to the ring, and the limiter's
	 * timer brings us back to it first. */
	if (!rate_limiter_io_allow(&b->rl, blk_data_bytes(c, type), 1)) {
		counter_add(&b->m.rate_limiter_throttled_events, 1);
		return VIRTIO_REQ_AGAIN;
	}
	/* The lock guards the rings; disk I/O happens with it dropped so the
	 * guest's MMIO accesses to the device never wait for the disk. */
	virtio_begin_io(d);
	blk_serve(b, c, type, sector, written); /* the status is in the chain */
	virtio_end_io(d);
	return VIRTIO_REQ_DONE;
}

static void blk_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_blk *b = d->priv;

	virtio_lock(d);
	virtio_serve_queue(d, q, &b->chain, blk_request_fn, b);
	virtio_unlock(d);
}

int virtio_blk_swap(struct virtio_blk *b, const char *path)
{
	struct virtio_dev *d = b->dev;
	struct disk_config cfg = { .ro = b->ro };
	struct virtio_blk nb;
	int err, old;

	if (config_copy(cfg.path, sizeof(cfg.path), path))
		return ember_seterr(-ENAMETOOLONG, "path is too long");
	/* The new file is locked before the switch and the old one's locks
	 * go with its fd below; the same file again (a PATCH after the image
	 * grew) shares the old fd's locks rather than conflicting with them. */
	err = blk_open(&nb, &cfg, b->fd);
	if (err) {
		virtio_blk_close(&nb);
		return err;
	}
	virtio_lock(d);
	/* A request with the lock dropped for its I/O uses b->fd: let it
	 * finish on the old file. */
	while (d->busy)
		pthread_cond_wait(&d->idle, &d->lock);
	old = b->fd;
	b->fd = nb.fd;
	b->capacity = nb.capacity;
	/* A negotiated DISCARD the new file cannot do answers UNSUPP. */
	b->can_discard = nb.can_discard;
	memcpy(b->path, nb.path, sizeof(b->path));
	put_le64(b->config + CFG_CAPACITY, nb.capacity / SECTOR);
	d->config_gen++;
	d->isr |= VIRTIO_INT_CONFIG;
	if (d->irq)
		d->irq(d->irq_ctx);
	virtio_unlock(d);
	close(old);
	nb.fd = -1;
	virtio_blk_close(&nb);
	return 0;
}

void virtio_blk_timer_ready(void *ctx, int fd, uint32_t events)
{
	struct virtio_blk *b = ctx;

	(void)fd;
	(void)events;
	virtio_lock(b->dev);
	rate_limiter_io_timer_fired(&b->rl);
	counter_add(&b->m.rate_limiter_event_count, 1);
	virtio_unlock(b->dev);
	blk_notify(b->dev, 0);
}

int virtio_blk_set_rate_limiter(struct virtio_blk *b, const struct rate_limiter_config *cfg)
{
	int err;

	virtio_lock(b->dev);
	err = rate_limiter_io_update(&b->rl, cfg);
	virtio_unlock(b->dev);
	return err;
}

static void blk_destroy(void *model)
{
	struct virtio_blk *b = model;

	virtio_blk_close(b);
	free(b);
}

int virtio_blk_create(struct vm_virtio *s, const struct guest_mem *mem, const void *arg)
{
	struct virtio_blk *b = malloc(sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	err = virtio_blk_open(b, arg);
	if (err) {
		virtio_blk_close(b);
		free(b);
		return err;
	}
	b->dev = &s->dev;
	rate_limiter_io_attach(&b->rl, &s->worker, virtio_blk_timer_ready, b);
	s->model = b;
	s->model_destroy = blk_destroy;
	virtio_init(&s->dev, &b->ops, b, mem);
	return 0;
}
