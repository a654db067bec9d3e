/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.2, section 2.7), device side. The guest is
 * hostile: every ring and buffer address is checked against guest RAM with
 * overflow checks, chains are bounded by the queue size (no loops),
 * indirect tables are checked the same way and may not nest, readable
 * buffers must precede writable ones, and ring indices wrap modulo 2^16. A
 * malformed chain is reported as -EINVAL (with a message); the transport
 * then sets DEVICE_NEEDS_RESET. Pure over guest_mem: testable with a buffer.
 */
#ifndef EMBER_DEV_VIRTQUEUE_H
#define EMBER_DEV_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "guest_mem.h"

#define VQ_MAX_SIZE		   256 /* the largest queue size ember offers (every device's queue_max) */
#define VIRTQ_DESC_F_NEXT	   1
#define VIRTQ_DESC_F_WRITE	   2
#define VIRTQ_DESC_F_INDIRECT	   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1
/* The most a chain may carry in all, readable and writable together: the
 * used ring's 32-bit length must be able to say how much of it was used. */
#define VQ_CHAIN_MAX_BYTES UINT32_MAX

/*
 * One chain as vq_pop() hands it to the device: its buffers as iovecs into
 * guest RAM (each checked, none of length 0), the device-readable ones first:
 * iov[0, nread) readable, iov[nread, n) writable. A direct chain is no
 * longer than its queue (2.7.5.3.1), an indirect table no longer than the
 * largest queue, so iov[] holds VQ_MAX_SIZE buffers: the device owns its
 * chains (in its model, allocated once) and readv/writev/preadv/pwritev take
 * &iov[0] or &iov[nread] as they are. read_len + write_len <=
 * VQ_CHAIN_MAX_BYTES.
 */
struct vq_chain {
	uint16_t head;
	unsigned n;	/* buffers in iov[] */
	unsigned nread; /* the first nread are device-readable */
	uint64_t read_len, write_len;
	struct iovec iov[VQ_MAX_SIZE];
};

/* Append a buffer to a chain as vq_pop() would (tests and fuzzers build
 * chains by hand with it): readable ones first, empty ones left out. */
static inline void vq_chain_add(struct vq_chain *c, void *host, uint32_t len, bool write)
{
	if (write)
		c->write_len += len;
	else
		c->read_len += len;
	if (len == 0 || c->n >= VQ_MAX_SIZE)
		return;
	c->iov[c->n].iov_base = host;
	c->iov[c->n].iov_len = len;
	c->n++;
	if (!write)
		c->nread++;
}

/* Host pointers of the rings, cached by vq_setup() after the checks: guest
 * RAM is one mapping that stays put while a queue is live (guest_mem.h). */
struct vq {
	const struct guest_mem *mem;
	uint16_t size; /* 0: not configured */
	gpa_t desc, avail, used;
	uint8_t *desc_p, *avail_p, *used_p;
	bool event_idx;	     /* VIRTIO_F_EVENT_IDX negotiated */
	uint16_t last_avail; /* next avail ring slot to consume */
	uint16_t used_idx;   /* our copy of used->idx */
	uint16_t signalled;  /* used_idx when we last notified */
	bool signalled_valid;
};

/* Check the ring layout before first use: size a power of two in
 * [1, max_size] (max_size <= VQ_MAX_SIZE), rings aligned (16/2/4) and inside
 * guest RAM. Caches the rings' host pointers. Returns 0 or -EINVAL with a
 * message. */
int vq_setup(struct vq *q, const struct guest_mem *mem, uint16_t size, uint16_t max_size,
	     gpa_t desc, gpa_t avail, gpa_t used, bool event_idx);

/* Take the next available chain. Returns 1 with *c filled, 0 if the ring is
 * empty, -EINVAL (with a message) if the guest's ring or chain is malformed:
 * a loop, an index out of range, a buffer outside RAM, a readable buffer
 * after a writable one, a nested or misplaced indirect table, a direct chain
 * longer than the queue or a table longer than VQ_MAX_SIZE, more than
 * VQ_CHAIN_MAX_BYTES in all. No
 * allocation: *c is the caller's. */
int vq_pop(struct vq *q, struct vq_chain *c);

/* Give back the last `count` chains vq_pop() returned, unused (a
 * rate-limited device serves them later; net rx, a frame that did not
 * fit): their avail slots still name them (the driver cannot reuse a slot
 * before the chain in it is used), and vq_pop() reads and checks them
 * again. */
static inline void vq_unpop(struct vq *q, unsigned count)
{
	q->last_avail = (uint16_t)(q->last_avail - count);
}

/* Return chain `head` to the guest with `written` bytes written. */
int vq_push(struct vq *q, uint16_t head, uint32_t written);

/* After pushes: should the device interrupt the guest (event index or
 * VIRTQ_AVAIL_F_NO_INTERRUPT)? */
bool vq_should_notify(struct vq *q);

/* Copy between a chain's readable/writable buffers and a flat buffer,
 * starting `off` bytes into that part. Return bytes copied. */
uint64_t vq_chain_read(const struct vq_chain *c, uint64_t off, void *dst, uint64_t len);
uint64_t vq_chain_write(const struct vq_chain *c, uint64_t off, const void *src, uint64_t len);

/* The same over any iovec array (a device's own view of one or more
 * chains). */
uint64_t vq_iov_read(const struct iovec *iov, unsigned n, uint64_t off, void *dst, uint64_t len);
uint64_t vq_iov_write(const struct iovec *iov, unsigned n, uint64_t off, const void *src,
		      uint64_t len);

/*
 * [off, off+len) of a chain's readable (write false) or writable part as at
 * most `max` iovecs in out[] (a block request's data between its header and
 * status byte, a vsock packet's payload after its header): the one place a
 * chain is cut into an iovec for a system call. Returns the count; *covered
 * is the bytes they span, less than len when the part is shorter or `max`
 * ran out.
 */
unsigned vq_chain_iov(const struct vq_chain *c, bool write, uint64_t off, uint64_t len,
		      struct iovec *out, unsigned max, uint64_t *covered);

#endif
