// SPDX-License-Identifier: MIT
/*
 * Host-side microbenchmark of the virtqueue consumer path (issue 12): the
 * device models of ember over a fake guest memory, driven through their
 * notify entry points exactly as the worker thread drives them, with the
 * rings built by hand the way Linux's drivers fill them. No KVM, no guest:
 * what it measures is ember's own work per request (ring walk, chain to
 * iovec, device logic, push, signal), which `perf stat -e instructions:u`
 * or `valgrind --tool=callgrind` count without the noise of a shared host.
 * The syscalls (preadv into a tmpfs file, writev to /dev/null, read from a
 * datagram socket) are the same before and after; their kernel side is not
 * counted by instructions:u.
 *
 *   vqbench ROW ITERATIONS
 * ROW: seqread seqwrite randread tcpsend netrx rng; prints
 * "vqbench ROW requests N ns/request X".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dev/virtio_blk.h"
#include "dev/virtio_net.h"
#include "dev/virtio_rng.h"
#include "util.h"

#define QSZ   256
#define DESC  0x1000
#define AVAIL 0x3000
#define USED  0x4000
#define HDRS  0x6000
#define DATA  0x100000
#define RAMSZ (64 << 20)

static uint8_t *ram;
static struct guest_mem gm;
static struct virtio_dev dev;

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = ram + DESC + 16 * i;

	put_le64(p, addr);
	put_le32(p + 8, len);
	put_le16(p + 12, flags);
	put_le16(p + 14, next);
}

static void offer(uint16_t head)
{
	uint8_t *avail = ram + AVAIL;
	uint16_t idx = get_le16(avail + 2);

	put_le16(avail + 4 + 2 * (idx % QSZ), head);
	put_le16(avail + 2, (uint16_t)(idx + 1));
}

static uint16_t used_idx(void)
{
	return get_le16(ram + USED + 2);
}

static void live(const struct virtio_dev_ops *ops, void *priv, unsigned q)
{
	virtio_init(&dev, ops, priv, &gm);
	dev.driver_features = VIRTIO_F_VERSION_1 | VIRTIO_F_RING_EVENT_IDX;
	dev.queues[q].ready = true;
	if (vq_setup(&dev.queues[q].vq, &gm, QSZ, QSZ, DESC, AVAIL, USED, true)) {
		fprintf(stderr, "vqbench: %s\n", ember_lasterr());
		exit(1);
	}
	dev.live = true;
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* Request k of a blk batch: header, `segs` 4 KiB data segments, status;
 * descriptors (segs + 2) * k onwards. */
static void blk_req(unsigned k, unsigned segs, uint32_t type, uint64_t sector)
{
	unsigned d = (segs + 2) * k;
	uint16_t wflag = type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0;

	put_le32(ram + HDRS + 32 * k, type);
	put_le64(ram + HDRS + 32 * k + 8, sector);
	desc(d, HDRS + 32 * k, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1));
	for (unsigned s = 0; s < segs; s++)
		desc(d + 1 + s, DATA + 4096ULL * (segs * k + s), 4096, wflag | VIRTQ_DESC_F_NEXT,
		     (uint16_t)(d + 2 + s));
	desc(d + 1 + segs, HDRS + 32 * k + 16, 1, VIRTQ_DESC_F_WRITE, 0);
}

static int bench_blk(uint32_t type, unsigned segs, unsigned batch, bool random, unsigned iters)
{
	static struct virtio_blk b;
	struct disk_config cfg = { .cache = DISK_CACHE_WRITEBACK };
	uint64_t sectors = 64ULL << 11, sector = 0, t0, reqs = 0; /* 64 MiB */
	char path[] = "/dev/shm/vqbench-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0 || ftruncate(fd, (off_t)(sectors * 512)) < 0)
		return perror("vqbench: image"), 1;
	close(fd);
	strcpy(cfg.path, path);
	if (virtio_blk_open(&b, &cfg)) {
		fprintf(stderr, "vqbench: %s\n", ember_lasterr());
		return 1;
	}
	unlink(path);
	live(&b.ops, &b, 0);
	b.dev = &dev;
	t0 = now_ns();
	for (unsigned i = 0; i < iters; i++) {
		uint16_t before = used_idx();

		for (unsigned k = 0; k < batch; k++) {
			blk_req(k, segs, type, sector);
			sector = random ? (sector * 2862933555777941757ULL + 3037000493ULL) %
						  (sectors - 8 * segs) &
					      ~7ULL
					: (sector + 8 * segs) % (sectors - 8 * segs);
			offer((uint16_t)((segs + 2) * k));
		}
		b.ops.notify(&dev, 0);
		if ((uint16_t)(used_idx() - before) != batch || ram[HDRS + 16] != 0) {
			fprintf(stderr, "vqbench: blk request failed\n");
			return 1;
		}
		reqs += batch;
	}
	printf("requests %llu ns/request %.0f\n", (unsigned long long)reqs,
	       (double)(now_ns() - t0) / (double)reqs);
	virtio_blk_close(&b);
	return 0;
}

/* tcpsend: Linux's tx chains with a 64 KiB GSO frame: the 12-byte header in
 * the chain's first descriptor with the linear part, then page fragments. */
static int bench_tx(unsigned iters)
{
	static struct virtio_net n;
	static const struct net_config cfg = { .tap = "bench0", .has_mac = true };
	unsigned frags = 16, batch = 8;
	uint64_t t0, reqs = 0;
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || virtio_net_setup(&n, fd, false, &cfg, true))
		return perror("vqbench: net"), 1;
	live(&n.ops, &n, VIRTIO_NET_TXQ);
	n.dev = &dev;
	t0 = now_ns();
	for (unsigned i = 0; i < iters; i++) {
		uint16_t before = used_idx();

		for (unsigned k = 0; k < batch; k++) {
			unsigned d = (frags + 1) * k;

			desc(d, DATA + 0x100000ULL * k, VIRTIO_NET_HDR_SIZE + 54 + 1448,
			     VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1));
			for (unsigned f = 0; f < frags; f++)
				desc(d + 1 + f, DATA + 0x100000ULL * k + 4096ULL * (f + 1), 4000,
				     f + 1 < frags ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(d + 2 + f));
			offer((uint16_t)d);
		}
		n.ops.notify(&dev, VIRTIO_NET_TXQ);
		if ((uint16_t)(used_idx() - before) != batch) {
			fprintf(stderr, "vqbench: tx failed\n");
			return 1;
		}
		reqs += batch;
	}
	printf("requests %llu ns/request %.0f\n", (unsigned long long)reqs,
	       (double)(now_ns() - t0) / (double)reqs);
	virtio_net_close(&n);
	return 0;
}

/* netrx: MRG_RXBUF rx buffers of 1536 bytes, as Linux posts them for a
 * 1500-byte MTU, and 1514-byte frames (plus header) from the "TAP". */
static int bench_rx(unsigned iters)
{
	static struct virtio_net n;
	static const struct net_config cfg = { .tap = "bench0", .has_mac = true };
	static uint8_t frame[VIRTIO_NET_HDR_SIZE + 1514];
	unsigned batch = 32;
	uint64_t t0, reqs = 0;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) ||
	    virtio_net_setup(&n, sv[0], false, &cfg, true))
		return perror("vqbench: net"), 1;
	live(&n.ops, &n, VIRTIO_NET_RXQ);
	dev.driver_features |= VIRTIO_NET_F_MRG_RXBUF;
	n.dev = &dev;
	for (unsigned k = 0; k < QSZ; k++)
		desc(k, DATA + 2048ULL * k, 1536, VIRTQ_DESC_F_WRITE, 0);
	for (unsigned k = 0; k < QSZ; k++)
		offer((uint16_t)k);
	memset(frame + VIRTIO_NET_HDR_SIZE, 0x5a, 1514);
	t0 = now_ns();
	for (unsigned i = 0; i < iters; i++) {
		uint16_t before = used_idx();

		for (unsigned k = 0; k < batch; k++)
			if (send(sv[1], frame, sizeof(frame), 0) != (ssize_t)sizeof(frame))
				return perror("vqbench: send"), 1;
		virtio_net_rx_ready(&n, sv[0], 1 /* EPOLLIN */);
		if ((uint16_t)(used_idx() - before) != batch) {
			fprintf(stderr, "vqbench: rx failed (%u)\n",
				(uint16_t)(used_idx() - before));
			return 1;
		}
		/* The driver refills what was used. */
		for (unsigned k = 0; k < batch; k++)
			offer((uint16_t)get_le32(ram + USED + 4 + 8 * ((before + k) % QSZ)));
		reqs += batch;
	}
	printf("requests %llu ns/request %.0f\n", (unsigned long long)reqs,
	       (double)(now_ns() - t0) / (double)reqs);
	virtio_net_close(&n);
	close(sv[1]);
	return 0;
}

/* rng: Linux's hwrng reads of 64 bytes, one buffer, one request a kick. */
static int bench_rng(unsigned iters)
{
	static struct virtio_rng r;
	uint64_t t0;

	if (virtio_rng_setup(&r, NULL))
		return 1;
	live(&virtio_rng_ops, &r, 0);
	r.dev = &dev;
	desc(0, DATA, 64, VIRTQ_DESC_F_WRITE, 0);
	t0 = now_ns();
	for (unsigned i = 0; i < iters; i++) {
		uint16_t before = used_idx();

		offer(0);
		virtio_rng_notify(&dev, 0);
		if ((uint16_t)(used_idx() - before) != 1)
			return fprintf(stderr, "vqbench: rng failed\n"), 1;
	}
	printf("requests %u ns/request %.0f\n", iters, (double)(now_ns() - t0) / iters);
	virtio_rng_close(&r);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned iters;
	const char *row;

	if (argc != 3) {
		fprintf(stderr, "usage: vqbench seqread|seqwrite|randread|tcpsend|netrx|rng N\n");
		return 2;
	}
	row = argv[1];
	iters = (unsigned)strtoul(argv[2], NULL, 0);
	ram = aligned_alloc(4096, RAMSZ);
	if (!ram)
		return 1;
	memset(ram, 0, RAMSZ);
	guest_mem_init_buf(&gm, ram, RAMSZ);
	printf("vqbench %s ", row);
	if (!strcmp(row, "seqread"))
		return bench_blk(VIRTIO_BLK_T_IN, 32, 7, false, iters);
	if (!strcmp(row, "seqwrite"))
		return bench_blk(VIRTIO_BLK_T_OUT, 32, 7, false, iters);
	if (!strcmp(row, "randread"))
		return bench_blk(VIRTIO_BLK_T_IN, 1, 1, true, iters);
	if (!strcmp(row, "tcpsend"))
		return bench_tx(iters);
	if (!strcmp(row, "netrx"))
		return bench_rx(iters);
	if (!strcmp(row, "rng"))
		return bench_rng(iters);
	fprintf(stderr, "vqbench: unknown row %s\n", row);
	return 2;
}
