// SPDX-License-Identifier: MIT
#include "dev/virtqueue.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "util.h"

#define DESC_SIZE 16

/* Ring fields live in guest memory the guest writes concurrently: read and
 * write them through volatile pointers, ordered by C11 fences. */
static uint16_t rd16(const uint8_t *p)
{
	return *(const volatile uint16_t *)p; /* x86 hosts: little-endian */
}

static void wr16(uint8_t *p, uint16_t v)
{
	*(volatile uint16_t *)p = v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	*(volatile uint32_t *)p = v;
}

int vq_setup(struct vq *q, const struct guest_mem *mem, uint16_t size, uint16_t max_size,
	     gpa_t desc, gpa_t avail, gpa_t used, bool event_idx)
{
	/* avail: flags, idx, ring[size], used_event; used: flags, idx,
	 * ring[size] of (id, len), avail_event. */
	uint64_t desc_len = (uint64_t)size * DESC_SIZE;
	uint64_t avail_len = 6 + 2ULL * size, used_len = 6 + 8ULL * size;

	memset(q, 0, sizeof(*q));
	if (max_size > VQ_MAX_SIZE)
		max_size = VQ_MAX_SIZE; /* a chain must fit struct vq_chain */
	if (size == 0 || size > max_size || (size & (size - 1)))
		return ember_seterr(-EINVAL, "queue size %u is not a power of two up to %u", size,
				    max_size);
	if ((desc & 15) || (avail & 1) || (used & 3))
		return ember_seterr(-EINVAL,
				    "misaligned rings (desc 0x%llx avail 0x%llx used "
				    "0x%llx)",
				    (unsigned long long)desc, (unsigned long long)avail,
				    (unsigned long long)used);
	q->desc_p = guest_mem_ptr(mem, desc, desc_len);
	q->avail_p = guest_mem_ptr(mem, avail, avail_len);
	q->used_p = guest_mem_ptr(mem, used, used_len);
	if (!q->desc_p || !q->avail_p || !q->used_p) {
		memset(q, 0, sizeof(*q));
		return ember_seterr(-EINVAL,
				    "rings outside guest RAM (desc 0x%llx avail 0x%llx "
				    "used 0x%llx, size %u)",
				    (unsigned long long)desc, (unsigned long long)avail,
				    (unsigned long long)used, size);
	}
	q->mem = mem;
	q->size = size;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	q->event_idx = event_idx;
	return 0;
}

struct raw_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static void read_desc(const uint8_t *table, uint16_t i, struct raw_desc *d)
{
	const uint8_t *p = table + (size_t)i * DESC_SIZE;

	d->addr = get_le64(p);
	d->len = get_le32(p + 8);
	d->flags = get_le16(p + 12);
	d->next = get_le16(p + 14);
}

/*
 * One descriptor into the chain. No bound on the count here: the walks
 * visit at most VQ_MAX_SIZE descriptors, the room in iov[] (a direct chain
 * q->size <= VQ_MAX_SIZE by its ttl, an indirect table, the chain's only
 * descriptor, by its checked size). The 4 GiB total is checked once, at the
 * end of the walk (no overflow before: at most 256 terms, each below 2^32).
 */
static int add_buf(struct vq_chain *c, const struct vq *q, const struct raw_desc *d)
{
	bool write = d->flags & VIRTQ_DESC_F_WRITE;
	void *host;

	/* An empty writable buffer is no buffer: nothing to order. */
	if (!write && c->n > c->nread)
		return ember_seterr(-EINVAL, "chain %u: readable buffer after a writable one",
				    c->head);
	host = guest_mem_ptr(q->mem, d->addr, d->len);
	if (!host)
		return ember_seterr(-EINVAL, "chain %u: buffer 0x%llx+%u outside guest RAM",
				    c->head, (unsigned long long)d->addr, d->len);
	if (write)
		c->write_len += d->len;
	else
		c->read_len += d->len;
	/* A buffer the device may write: a diff snapshot must carry it
	 * (KVM's dirty log sees only the guest's own writes). */
	if (write)
		guest_mem_mark(q->mem, host, d->len);
	if (d->len) {
		c->iov[c->n].iov_base = host;
		c->iov[c->n].iov_len = d->len;
		c->n++;
		c->nread += !write;
	}
	return 0;
}

/* Walk an indirect table: no nesting, bounded by its own length, at most
 * VQ_MAX_SIZE entries. Not by the queue's size: Linux builds tables longer
 * than a small queue (a block request of seg_max segments on a queue of 8),
 * and QEMU and rust-vmm take them. */
static int walk_indirect(struct vq_chain *c, const struct vq *q, const struct raw_desc *d)
{
	unsigned count = d->len / DESC_SIZE;
	const uint8_t *table;
	struct raw_desc x;
	uint16_t i = 0;
	int err;

	if (d->len == 0 || d->len % DESC_SIZE || count > VQ_MAX_SIZE)
		return ember_seterr(-EINVAL,
				    "chain %u: indirect table of %u bytes (at most %u "
				    "entries)",
				    c->head, d->len, VQ_MAX_SIZE);
	table = guest_mem_ptr(q->mem, d->addr, d->len);
	if (!table)
		return ember_seterr(-EINVAL, "chain %u: indirect table 0x%llx+%u outside RAM",
				    c->head, (unsigned long long)d->addr, d->len);
	for (unsigned ttl = count; ttl; ttl--) {
		read_desc(table, i, &x);
		if (x.flags & VIRTQ_DESC_F_INDIRECT)
			return ember_seterr(-EINVAL, "chain %u: nested indirect table", c->head);
		err = add_buf(c, q, &x);
		if (err)
			return err;
		if (!(x.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (x.next >= count)
			return ember_seterr(-EINVAL, "chain %u: indirect next %u past %u entries",
					    c->head, x.next, count);
		i = x.next;
	}
	return ember_seterr(-EINVAL, "chain %u: indirect table loops", c->head);
}

static int too_far_ahead(const struct vq *q, uint16_t avail_idx)
{
	return ember_seterr(-EINVAL, "avail index %u is %u ahead of %u (queue size %u)", avail_idx,
			    (uint16_t)(avail_idx - q->last_avail), q->last_avail, q->size);
}

int vq_pop(struct vq *q, struct vq_chain *c)
{
	const uint8_t *avail = q->avail_p, *table = q->desc_p;
	uint16_t avail_idx, i;
	struct raw_desc d;
	int err;

	if (!q->size)
		return ember_seterr(-EINVAL, "queue not set up");
	avail_idx = rd16(avail + 2);
	/* More than a ring's worth outstanding is a guest bug (or attack). */
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return too_far_ahead(q, avail_idx);
	if (avail_idx == q->last_avail) {
		if (!q->event_idx)
			return 0;
		/* Ring drained: ask the driver to notify us when it adds the
		 * next chain (avail_event, 2.7.10), then look once more in case
		 * it added one before it could see our request. Without this
		 * the driver never kicks again after the first notification. */
		wr16(q->used_p + 4 + 8 * q->size, q->last_avail);
		guest_mem_mark(q->mem, q->used_p + 4 + 8 * q->size, 2);
		atomic_thread_fence(memory_order_seq_cst);
		avail_idx = rd16(avail + 2);
		if (avail_idx == q->last_avail)
			return 0;
		if ((uint16_t)(avail_idx - q->last_avail) > q->size)
			return too_far_ahead(q, avail_idx);
	}
	/* Read the ring entry only after seeing the index that covers it. */
	atomic_thread_fence(memory_order_acquire);
	c->head = rd16(avail + 4 + 2 * (q->last_avail & (q->size - 1)));
	c->n = c->nread = 0;
	c->read_len = c->write_len = 0;
	if (c->head >= q->size)
		return ember_seterr(-EINVAL, "avail ring names descriptor %u of %u", c->head,
				    q->size);
	i = c->head;
	for (unsigned ttl = q->size; ttl; ttl--) {
		read_desc(table, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if ((d.flags & VIRTQ_DESC_F_NEXT) || ttl != q->size)
				return ember_seterr(-EINVAL,
						    "chain %u: indirect descriptor "
						    "inside a chain",
						    c->head);
			err = walk_indirect(c, q, &d);
			if (err)
				return err;
			goto done;
		}
		err = add_buf(c, q, &d);
		if (err)
			return err;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			goto done;
		if (d.next >= q->size)
			return ember_seterr(-EINVAL, "chain %u: next %u past queue size %u",
					    c->head, d.next, q->size);
		i = d.next;
	}
	return ember_seterr(-EINVAL, "chain %u loops or exceeds the queue size %u", c->head,
			    q->size);
done:
	if (c->read_len + c->write_len > VQ_CHAIN_MAX_BYTES)
		return ember_seterr(-EINVAL, "chain %u: %llu bytes in all, more than %llu", c->head,
				    (unsigned long long)(c->read_len + c->write_len),
				    (unsigned long long)VQ_CHAIN_MAX_BYTES);
	q->last_avail++;
	return 1;
}

int vq_push(struct vq *q, uint16_t head, uint32_t written)
{
	uint8_t *e;

	if (!q->size)
		return -EINVAL;
	e = q->used_p + 4 + 8 * (q->used_idx & (q->size - 1));
	wr32(e, head);
	wr32(e + 4, written);
	/* The entry must be visible before the index that publishes it. */
	atomic_thread_fence(memory_order_release);
	q->used_idx++;
	wr16(q->used_p + 2, q->used_idx);
	guest_mem_mark(q->mem, q->used_p, 4 + 8ULL * q->size);
	return 0;
}

bool vq_should_notify(struct vq *q)
{
	uint16_t old = q->signalled, new = q->used_idx, event;
	bool valid = q->signalled_valid;

	if (!q->size)
		return false;
	/* Order our used-index store before reading the guest's flags. */
	atomic_thread_fence(memory_order_seq_cst);
	q->signalled = new;
	q->signalled_valid = true;
	if (!q->event_idx)
		return !(rd16(q->avail_p) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	event = rd16(q->avail_p + 4 + 2 * q->size); /* used_event */
	/* vring_need_event(): did new pass event since old? */
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

static uint64_t iov_copy(const struct iovec *iov, unsigned n, uint64_t off, uint8_t *flat,
			 uint64_t len, bool to_iov)
{
	uint64_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		uint64_t k;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		k = iov[i].iov_len - off;
		if (k > len - done)
			k = len - done;
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + off, flat + done, k);
		else
			memcpy(flat + done, (const uint8_t *)iov[i].iov_base + off, k);
		done += k;
		off = 0;
	}
	return done;
}

uint64_t vq_iov_read(const struct iovec *iov, unsigned n, uint64_t off, void *dst, uint64_t len)
{
	return iov_copy(iov, n, off, dst, len, false);
}

uint64_t vq_iov_write(const struct iovec *iov, unsigned n, uint64_t off, const void *src,
		      uint64_t len)
{
	return iov_copy(iov, n, off, (uint8_t *)src, len, true);
}

uint64_t vq_chain_read(const struct vq_chain *c, uint64_t off, void *dst, uint64_t len)
{
	return iov_copy(c->iov, c->nread, off, dst, len, false);
}

uint64_t vq_chain_write(const struct vq_chain *c, uint64_t off, const void *src, uint64_t len)
{
	return iov_copy(c->iov + c->nread, c->n - c->nread, off, (uint8_t *)src, len, true);
}

unsigned vq_chain_iov(const struct vq_chain *c, bool write, uint64_t off, uint64_t len,
		      struct iovec *out, unsigned max, uint64_t *covered)
{
	unsigned i = write ? c->nread : 0, end = write ? c->n : c->nread, k = 0;

	*covered = 0;
	for (; i < end && *covered < len && k < max; i++) {
		uint64_t take;

		if (off >= c->iov[i].iov_len) {
			off -= c->iov[i].iov_len;
			continue;
		}
		take = c->iov[i].iov_len - off;
		if (take > len - *covered)
			take = len - *covered;
		out[k].iov_base = (uint8_t *)c->iov[i].iov_base + off;
		out[k].iov_len = (size_t)take;
		k++;
		*covered += take;
		off = 0;
	}
	return k;
}
