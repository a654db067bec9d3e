/* SPDX-License-Identifier: MIT */
/*
 * A fake virtio driver for the device fuzzers (fuzz_blk, fuzz_net,
 * fuzz_vsock, fuzz_mmio). It drives a device only through its public entry
 * points: the virtio-mmio registers (virtio_mmio_bus_ops) and the device's
 * notify handler, over guest RAM that is a plain buffer, so the fuzzers do
 * not depend on how the device walks its rings.
 *
 * Guest RAM layout (VD_RAM bytes):
 *   [q * 0x2000, +0x2000)  queue q: descriptor table +0, avail ring +0x400,
 *                          used ring +0x600, indirect tables +0x1000
 *   [VD_DATA, VD_RAM)      buffers
 *
 * Chains are built from the input: a readable byte string and a writable
 * length, split into fuzz-chosen segments at fuzz-chosen places, direct or
 * through an indirect table. A "clean" chain is well formed and its buffers
 * overlap nothing in flight; the harness then knows exactly what the device
 * may write (its writable buffers while it is outstanding) and checks every
 * device call against a snapshot of RAM. Inputs may also perturb
 * descriptors and the avail ring (flags, next, lengths, addresses past RAM,
 * bogus heads and indices); the queue is then "lenient": stale descriptors
 * may be re-offered, so the harness only requires writes to land in buffers
 * it ever marked writable (or, after an INDIRECT flag flip that turns
 * payload into descriptors, anywhere in RAM: ASan still guards the host).
 */
#ifndef EMBER_FUZZ_VDRV_H
#define EMBER_FUZZ_VDRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/virtio_mmio.h"

#define VD_RAM	   0x40000
#define VD_QAREA   0x2000
#define VD_DATA	   0x8000
#define VD_QMAX	   64  /* largest queue the harness sets up */
#define VD_IND_ENT 256 /* indirect entries per queue */
#define VD_MAXQ	   3
#define VD_SEGS	   320 /* segments per chain */
#define VD_GRANULE 16

/* Input reader: past the end it reads zeros. */
struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t lo = fz_u8(f);

	return (uint16_t)(lo | fz_u8(f) << 8);
}

static inline uint32_t fz_u32(struct fz *f)
{
	uint32_t lo = fz_u16(f);

	return lo | (uint32_t)fz_u16(f) << 16;
}

static inline uint64_t fz_u64(struct fz *f)
{
	uint64_t lo = fz_u32(f);

	return lo | (uint64_t)fz_u32(f) << 32;
}

struct vd_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* One posted chain, by head. */
struct vd_chain {
	bool live;
	bool clean;
	uint16_t head;
	unsigned nslots;
	uint16_t slots[VD_QMAX];
	unsigned ind_first, ind_n; /* indirect entries taken */
	unsigned nseg;
	struct vd_seg seg[VD_SEGS];
	uint64_t rlen, wlen;
	uint64_t user; /* the device harness's tag */
};

struct vd_queue {
	bool on;
	uint16_t size;
	uint64_t desc, avail, used, ind;
	uint16_t avail_idx, used_seen;
	bool lenient;
	bool slot_busy[VD_QMAX];
	bool ind_busy[VD_IND_ENT];
	unsigned outstanding;
	struct vd_chain ch[VD_QMAX];
};

struct vd {
	uint8_t *ram;
	struct guest_mem gm;
	struct virtio_dev *dev;
	unsigned nq;
	uint64_t features; /* what the driver accepted */
	struct vd_queue q[VD_MAXQ];
	bool wild;	 /* writes anywhere in RAM are the guest's doing */
	uint32_t kicked; /* queues notified through the MMIO register */
	unsigned irqs;
	uint64_t bump;
	uint8_t cnt[VD_RAM];		   /* outstanding clean chains granting the byte */
	uint8_t ever[VD_RAM];		   /* some descriptor ever granted it */
	uint8_t busy[VD_RAM / VD_GRANULE]; /* in a clean chain in flight */
	uint8_t snap[VD_RAM];
};

/* Fail loudly: the message, then abort() for libFuzzer to catch. */
__attribute__((noreturn, format(printf, 1, 2))) void vd_fail(const char *fmt, ...);

/* RAM of VD_RAM bytes, zeroed; the device is wired to it afterwards. */
void vd_init(struct vd *v, uint8_t *ram);
/* Attach a virtio_dev made with virtio_init(..., &v->gm): installs the irq
 * and kick callbacks. */
void vd_attach(struct vd *v, struct virtio_dev *dev);

uint32_t vd_r32(struct vd *v, uint64_t off);
void vd_w32(struct vd *v, uint64_t off, uint32_t val);

/* Negotiate `want` (masked with what the device offers; VERSION_1 as the
 * input says) and set up nq queues of the sizes in sizes[]. Returns true
 * when the device went live (DRIVER_OK, no NEEDS_RESET). */
bool vd_start(struct vd *v, unsigned nq, const uint16_t *sizes, uint64_t want);
/* Write status 0 and check the device forgot everything; every chain in
 * flight is gone (the device must not touch it again). */
void vd_reset(struct vd *v);

/* Post one chain on queue q: `rlen` readable bytes (copied from rdata, or
 * zeros) then `wlen` writable bytes, shaped by the input. Returns the
 * chain, or NULL when there is no room (nothing posted). */
struct vd_chain *vd_post(struct vd *v, unsigned q, struct fz *f, const uint8_t *rdata,
			 uint64_t rlen, uint64_t wlen, uint64_t user);
/* Perturb queue q's avail ring (a bogus head or index), as the input says. */
void vd_mangle_avail(struct vd *v, unsigned q, struct fz *f);

/* Around every call into the device: snapshot RAM, then check that every
 * byte that changed is one the device may write (see above). */
void vd_snap(struct vd *v);
void vd_check(struct vd *v, const char *what);

/* Notify queue q the way the input says (MMIO QueueNotify and the kick
 * callback, or the notify handler directly, as an ioeventfd would), with the
 * write check around it. */
void vd_notify(struct vd *v, unsigned q, bool direct);

/* Take the device's new used entries on queue q. For a clean queue each must
 * name an outstanding chain, once, with a length within its writable bytes;
 * cb sees each entry whose chain is known (c) and the chain is then freed. */
typedef void (*vd_used_cb)(struct vd *v, unsigned q, struct vd_chain *c, uint32_t len, void *ctx);
void vd_collect(struct vd *v, unsigned q, vd_used_cb cb, void *ctx);

/* Copy [off, off+n) of a chain's writable (or readable) bytes out of RAM;
 * returns the bytes copied. */
uint64_t vd_chain_get(struct vd *v, const struct vd_chain *c, bool write, uint64_t off, void *dst,
		      uint64_t n);

bool vd_needs_reset(struct vd *v);

#endif
