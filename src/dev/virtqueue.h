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

#include "guest_mem.h"

#define VQ_MAX_SIZE	  1024 /* the largest queue size ember offers */
#define VQ_MAX_CHAIN	  VQ_MAX_SIZE
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

struct vq_buf {
	uint8_t *host; /* checked: [host, host+len) is guest RAM */
	uint32_t len;
	bool write;    /* device-writable */
};

struct vq_chain {
	uint16_t head;
	unsigned n;	   /* buffers in bufs[] */
	unsigned nread;	   /* the first nread are device-readable */
	uint64_t read_len, write_len;
	struct vq_buf bufs[VQ_MAX_CHAIN];
};

struct vq {
	const struct guest_mem *mem;
	uint16_t size; /* 0: not configured */
	gpa_t desc, avail, used;
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	uint16_t last_avail; /* next avail ring slot to consume */
	uint16_t used_idx;   /* our copy of used->idx */
	uint16_t signalled;  /* used_idx when we last notified */
	bool signalled_valid;
};

/* Check the ring layout before first use: size a power of two in
 * [1, max_size], rings aligned (16/2/4) and inside guest RAM.
 * Returns 0 or -EINVAL with a message. */
int vq_setup(struct vq *q, const struct guest_mem *mem, uint16_t size, uint16_t max_size,
	     gpa_t desc, gpa_t avail, gpa_t used, bool event_idx);

/* Take the next available chain. Returns 1 with *c filled, 0 if the ring is
 * empty, -EINVAL if the guest's ring or chain is malformed. */
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

#endif
