// SPDX-License-Identifier: MIT
/* The fuzzers' fake virtio driver: see vdrv.h. */
#include "vdrv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void vd_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vdrv: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static void on_irq(void *ctx)
{
	struct vd *v = ctx;

	/* Called with the device lock held, after the device set the cause. */
	if (!v->dev->isr)
		vd_fail("interrupt raised with InterruptStatus 0");
	v->irqs++;
}

static void on_kick(void *ctx, unsigned q)
{
	struct vd *v = ctx;

	if (q >= v->dev->ops->nqueues || !v->dev->live)
		vd_fail("QueueNotify %u passed on (live %d, %u queues)", q, v->dev->live,
			v->dev->ops->nqueues);
	v->kicked |= 1u << q;
}

void vd_init(struct vd *v, uint8_t *ram)
{
	memset(v, 0, sizeof(*v));
	v->ram = ram;
	memset(ram, 0, VD_RAM);
	guest_mem_init_buf(&v->gm, ram, VD_RAM);
	v->bump = VD_DATA;
}

void vd_attach(struct vd *v, struct virtio_dev *dev)
{
	v->dev = dev;
	dev->irq = on_irq;
	dev->irq_ctx = v;
	dev->kick = on_kick;
	dev->kick_ctx = v;
}

uint32_t vd_r32(struct vd *v, uint64_t off)
{
	uint8_t b[4];

	virtio_mmio_bus_ops.read(v->dev, off, b, 4);
	return get_le32(b);
}

void vd_w32(struct vd *v, uint64_t off, uint32_t val)
{
	uint8_t b[4];

	put_le32(b, val);
	virtio_mmio_bus_ops.write(v->dev, off, b, 4);
}

bool vd_needs_reset(struct vd *v)
{
	return vd_r32(v, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
}

/* --- buffer allocation: granules of 16 bytes, busy while a chain is out -- */

static void mark_busy(struct vd *v, uint64_t gpa, uint64_t len, bool on)
{
	if (!len)
		return;
	for (uint64_t g = gpa / VD_GRANULE; g <= (gpa + len - 1) / VD_GRANULE; g++)
		v->busy[g] = on;
}

static bool range_free(struct vd *v, uint64_t gpa, uint64_t len, uint64_t *next)
{
	for (uint64_t g = gpa / VD_GRANULE; g <= (gpa + len - 1) / VD_GRANULE; g++)
		if (v->busy[g]) {
			*next = (g + 1) * VD_GRANULE;
			return false;
		}
	return true;
}

/* A free range of len bytes at least `gap` bytes past the last one, or 0. */
static uint64_t alloc(struct vd *v, uint64_t len, unsigned gap)
{
	uint64_t at = v->bump + gap, next;

	for (int pass = 0; pass < 2; pass++) {
		while (at + len <= VD_RAM) {
			if (range_free(v, at, len, &next)) {
				mark_busy(v, at, len, true);
				v->bump = at + len;
				return at;
			}
			at = next + (gap & 15);
		}
		at = VD_DATA + (gap & 15);
	}
	return 0;
}

static void grant(struct vd *v, uint64_t gpa, uint64_t len, int delta)
{
	for (uint64_t i = 0; i < len; i++) {
		v->cnt[gpa + i] = (uint8_t)(v->cnt[gpa + i] + delta);
		if (delta > 0)
			v->ever[gpa + i] = 1;
	}
}

/* Whatever a descriptor names as writable, clipped to the buffer area. */
static void mark_ever(struct vd *v, const uint8_t *d)
{
	uint64_t a = get_le64(d), len = get_le32(d + 8), end;

	if (!(get_le16(d + 12) & VIRTQ_DESC_F_WRITE))
		return;
	if (__builtin_add_overflow(a, len, &end) || end > VD_RAM)
		end = VD_RAM;
	if (a < VD_DATA)
		a = VD_DATA;
	for (; a < end; a++)
		v->ever[a] = 1;
}

static void release(struct vd *v, struct vd_queue *q, struct vd_chain *c)
{
	for (unsigned i = 0; i < c->nseg; i++) {
		if (c->clean && c->seg[i].write)
			grant(v, c->seg[i].gpa, c->seg[i].len, -1);
		mark_busy(v, c->seg[i].gpa, c->seg[i].len, false);
	}
	for (unsigned i = 0; i < c->nslots; i++)
		q->slot_busy[c->slots[i]] = false;
	for (unsigned i = 0; i < c->ind_n; i++)
		q->ind_busy[c->ind_first + i] = false;
	c->live = false;
	q->outstanding--;
}

/* --- set-up ---------------------------------------------------------------- */

bool vd_start(struct vd *v, unsigned nq, const uint16_t *sizes, uint64_t want)
{
	uint64_t offered, acc;
	uint32_t st;

	vd_w32(v, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	vd_w32(v, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vd_w32(v, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered = vd_r32(v, VIRTIO_MMIO_DEVICE_FEATURES);
	vd_w32(v, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)vd_r32(v, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	if (!(offered & VIRTIO_F_VERSION_1))
		vd_fail("device does not offer VERSION_1 (0x%llx)", (unsigned long long)offered);
	acc = offered & want;
	vd_w32(v, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vd_w32(v, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)acc);
	vd_w32(v, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vd_w32(v, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(acc >> 32));
	vd_w32(v, VIRTIO_MMIO_STATUS,
	       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	st = vd_r32(v, VIRTIO_MMIO_STATUS);
	if (!(acc & VIRTIO_F_VERSION_1)) {
		if (st & VIRTIO_STATUS_FEATURES_OK)
			vd_fail("FEATURES_OK accepted without VERSION_1");
		return false;
	}
	if (!(st & VIRTIO_STATUS_FEATURES_OK))
		vd_fail("FEATURES_OK refused for a subset of the offer (0x%llx of 0x%llx)",
			(unsigned long long)acc, (unsigned long long)offered);
	v->features = acc;
	v->nq = nq;
	for (unsigned i = 0; i < nq && i < VD_MAXQ; i++) {
		struct vd_queue *q = &v->q[i];
		uint64_t base = (uint64_t)i * VD_QAREA;
		uint32_t max;

		memset(q, 0, sizeof(*q));
		memset(v->ram + base, 0, VD_QAREA);
		vd_w32(v, VIRTIO_MMIO_QUEUE_SEL, i);
		max = vd_r32(v, VIRTIO_MMIO_QUEUE_NUM_MAX);
		if (!max)
			vd_fail("queue %u: QueueNumMax 0", i);
		q->size = sizes[i];
		if (q->size > max)
			q->size = (uint16_t)max;
		if (q->size > VD_QMAX)
			q->size = VD_QMAX;
		q->desc = base;
		q->avail = base + 0x400;
		q->used = base + 0x600;
		q->ind = base + 0x1000;
		vd_w32(v, VIRTIO_MMIO_QUEUE_NUM, q->size);
		vd_w32(v, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
		vd_w32(v, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
		vd_w32(v, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)q->avail);
		vd_w32(v, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
		vd_w32(v, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)q->used);
		vd_w32(v, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
		vd_w32(v, VIRTIO_MMIO_QUEUE_READY, 1);
		if (vd_r32(v, VIRTIO_MMIO_QUEUE_READY) != 1)
			vd_fail("queue %u: QueueReady did not stick", i);
		q->on = true;
	}
	vd_w32(v, VIRTIO_MMIO_STATUS,
	       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		   VIRTIO_STATUS_DRIVER_OK);
	st = vd_r32(v, VIRTIO_MMIO_STATUS);
	if (!(st & VIRTIO_STATUS_DRIVER_OK))
		vd_fail("DRIVER_OK did not stick");
	if ((st & VIRTIO_STATUS_DEVICE_NEEDS_RESET) || !v->dev->live)
		vd_fail("valid queues refused at DRIVER_OK (status 0x%x)", st);
	return true;
}

void vd_reset(struct vd *v)
{
	vd_w32(v, VIRTIO_MMIO_STATUS, 0);
	if (vd_r32(v, VIRTIO_MMIO_STATUS) != 0 || v->dev->live)
		vd_fail("status 0 did not reset the device");
	for (unsigned i = 0; i < v->dev->ops->nqueues; i++) {
		vd_w32(v, VIRTIO_MMIO_QUEUE_SEL, i);
		if (vd_r32(v, VIRTIO_MMIO_QUEUE_READY))
			vd_fail("queue %u still ready after reset", i);
	}
	if (vd_r32(v, VIRTIO_MMIO_INTERRUPT_STATUS))
		vd_fail("InterruptStatus survived reset");
	for (unsigned i = 0; i < v->nq; i++) {
		struct vd_queue *q = &v->q[i];

		for (unsigned h = 0; h < VD_QMAX; h++)
			if (q->ch[h].live)
				release(v, q, &q->ch[h]);
		memset(v->ram + (uint64_t)i * VD_QAREA, 0, VD_QAREA);
		q->on = false;
	}
	/* The old rings are gone: no stale descriptor can be offered again. */
	v->wild = false;
	memset(v->ever, 0, sizeof(v->ever));
	v->nq = 0;
}

/* --- chains ---------------------------------------------------------------- */

static uint64_t odd_addr(struct fz *f)
{
	static const uint64_t odd[] = { VD_RAM - 1, VD_RAM, VD_RAM + 4096, 1ULL << 32,
					~0ULL - 15, ~0ULL,  (1ULL << 63) };
	uint8_t k = fz_u8(f);
	uint64_t a;

	if (k < 2 * ARRAY_SIZE(odd))
		return odd[k % ARRAY_SIZE(odd)];
	/* Anywhere at or above the buffer area: never the rings. */
	a = fz_u64(f);
	return a < VD_DATA ? a + VD_DATA : a;
}

static void perturb(struct vd *v, struct vd_queue *q, struct fz *f, uint8_t **descs, unsigned n)
{
	unsigned k = 1 + (fz_u8(f) & 1);

	for (unsigned m = 0; m < k; m++) {
		uint8_t *d = descs[fz_u8(f) % n];
		uint32_t lens[] = { 0, 1, 0xffffffffu, fz_u32(f) };

		switch (fz_u8(f) % 6) {
		case 0:
			put_le16(d + 12, get_le16(d + 12) ^ VIRTQ_DESC_F_NEXT);
			break;
		case 1:
			put_le16(d + 12, get_le16(d + 12) ^ VIRTQ_DESC_F_WRITE);
			break;
		case 2:
			/* The buffer becomes a table of whatever it holds. */
			put_le16(d + 12, get_le16(d + 12) ^ VIRTQ_DESC_F_INDIRECT);
			v->wild = true;
			break;
		case 3:
			put_le16(d + 14, fz_u16(f));
			break;
		case 4:
			put_le32(d + 8, lens[fz_u8(f) % 4]);
			break;
		case 5:
			put_le64(d, odd_addr(f));
			break;
		}
	}
	for (unsigned i = 0; i < n; i++)
		mark_ever(v, descs[i]);
	q->lenient = true;
}

/* Split len bytes into n non-empty parts as the input says. */
static void split(struct fz *f, uint64_t len, unsigned n, uint32_t *out)
{
	uint64_t rem = len;

	for (unsigned i = 0; i + 1 < n; i++) {
		uint64_t room = rem - (n - 1 - i); /* leave a byte for each after */

		out[i] = (uint32_t)(1 + fz_u16(f) % room);
		rem -= out[i];
	}
	if (n)
		out[n - 1] = (uint32_t)rem;
}

struct vd_chain *vd_post(struct vd *v, unsigned qi, struct fz *f, const uint8_t *rdata,
			 uint64_t rlen, uint64_t wlen, uint64_t user)
{
	struct vd_queue *q = &v->q[qi];
	uint8_t shape = fz_u8(f);
	unsigned mode = shape >> 5, nr, nw, n, head = 0, first = 0;
	bool indirect = shape & 0x10, dirty = mode == 7, over = false;
	uint32_t lens[VD_SEGS];
	uint16_t slots[VD_QMAX];
	uint8_t *descs[VD_SEGS + 1];
	struct vd_chain *c;

	if (qi >= v->nq || !q->on || rlen + wlen > VD_RAM - VD_DATA)
		return NULL;
	nr = rlen ? 1 + (shape & 3) : 0;
	nw = wlen ? 1 + ((shape >> 2) & 3) : 0;
	if (mode == 6) { /* many small segments: the devices' segment limits */
		nr = rlen ? 1 + fz_u8(f) % 150 : 0;
		nw = wlen ? 1 + fz_u8(f) % 150 : 0;
	}
	if (nr > rlen)
		nr = (unsigned)rlen;
	if (nw > wlen)
		nw = (unsigned)wlen;
	n = nr + nw;
	if (n == 0)
		return NULL;
	/* Longer than the queue: only through an indirect table, and a driver
	 * must not build such a chain (virtio 1.2, 2.7.5.3.1), so the device
	 * may refuse it: not a clean chain. */
	if (n > q->size)
		indirect = over = true;
	if (n > VD_SEGS || n > VD_IND_ENT)
		return NULL;
	/* Descriptor slots: one for an indirect chain, else one per segment. */
	for (unsigned s = fz_u8(f), i = 0, got = 0; got < (indirect ? 1 : n); i++) {
		unsigned slot = (s + i) % q->size;

		if (i == q->size)
			return NULL;
		if (!q->slot_busy[slot])
			slots[got++] = (uint16_t)slot;
	}
	if (indirect) {
		unsigned run = 0;

		for (first = 0; first < VD_IND_ENT && run < n; first++)
			run = q->ind_busy[first] ? 0 : run + 1;
		if (run < n)
			return NULL;
		first -= n;
	}
	head = slots[0];
	c = &q->ch[head];
	memset(c, 0, offsetof(struct vd_chain, seg));
	split(f, rlen, nr, lens);
	split(f, wlen, nw, lens + nr);
	for (unsigned i = 0; i < n; i++) {
		uint64_t at = alloc(v, lens[i], fz_u8(f) & 0x3f);

		if (!at) {
			for (unsigned j = 0; j < i; j++)
				mark_busy(v, c->seg[j].gpa, c->seg[j].len, false);
			return NULL;
		}
		c->seg[i] = (struct vd_seg){ at, lens[i], i >= nr };
	}
	c->live = true;
	c->clean = !dirty && !over;
	c->head = (uint16_t)head;
	c->nseg = n;
	c->rlen = rlen;
	c->wlen = wlen;
	c->user = user;
	if (indirect) {
		c->nslots = 1;
		c->slots[0] = (uint16_t)head;
		c->ind_first = first;
		c->ind_n = n;
		for (unsigned i = 0; i < n; i++)
			q->ind_busy[first + i] = true;
	} else {
		c->nslots = n;
		memcpy(c->slots, slots, n * sizeof(slots[0]));
	}
	for (unsigned i = 0; i < c->nslots; i++)
		q->slot_busy[c->slots[i]] = true;
	q->outstanding++;
	/* The buffers: readable ones hold rdata, writable ones a marker. */
	for (unsigned i = 0, off = 0; i < n; i++) {
		const struct vd_seg *s = &c->seg[i];

		if (s->write) {
			memset(v->ram + s->gpa, 0xee, s->len);
			if (c->clean)
				grant(v, s->gpa, s->len, 1);
		} else if (rdata) {
			memcpy(v->ram + s->gpa, rdata + off, s->len);
		} else {
			memset(v->ram + s->gpa, 0, s->len);
		}
		off += s->write ? 0 : s->len;
	}
	/* The descriptors. */
	for (unsigned i = 0; i < n; i++) {
		uint8_t *d = indirect ? v->ram + q->ind + 16ULL * (first + i)
				      : v->ram + q->desc + 16ULL * c->slots[i];
		uint16_t flags = (uint16_t)((c->seg[i].write ? VIRTQ_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));

		put_le64(d, c->seg[i].gpa);
		put_le32(d + 8, c->seg[i].len);
		put_le16(d + 12, flags);
		put_le16(d + 14, (uint16_t)(i + 1 < n ? (indirect ? i + 1 : c->slots[i + 1]) : 0));
		descs[i] = d;
		mark_ever(v, d);
	}
	if (indirect) {
		uint8_t *d = v->ram + q->desc + 16ULL * head;

		put_le64(d, q->ind + 16ULL * first);
		put_le32(d + 8, 16 * n);
		put_le16(d + 12, VIRTQ_DESC_F_INDIRECT);
		put_le16(d + 14, 0);
		descs[n] = d;
	}
	if (dirty)
		perturb(v, q, f, descs, n + indirect);
	else if (over)
		q->lenient = true;
	/* Publish: the entry, then the index. */
	put_le16(v->ram + q->avail + 4 + 2 * (q->avail_idx % q->size), (uint16_t)head);
	q->avail_idx++;
	put_le16(v->ram + q->avail + 2, q->avail_idx);
	return c;
}

void vd_mangle_avail(struct vd *v, unsigned qi, struct fz *f)
{
	struct vd_queue *q = &v->q[qi];
	uint8_t *avail = v->ram + q->avail;

	if (qi >= v->nq || !q->on)
		return;
	switch (fz_u8(f) % 4) {
	case 0: /* a head nobody posted (or one in flight) */
		put_le16(avail + 4 + 2 * (q->avail_idx % q->size), fz_u16(f));
		q->avail_idx++;
		q->lenient = true;
		break;
	case 1: /* an index too far ahead */
		q->avail_idx = (uint16_t)(q->avail_idx + q->size + 1 + fz_u8(f) % 8);
		q->lenient = true;
		break;
	case 2: /* an index that goes back */
		q->avail_idx = (uint16_t)(q->avail_idx - 1 - fz_u8(f) % 4);
		q->lenient = true;
		break;
	case 3: /* legal: flags (NO_INTERRUPT) and used_event */
		put_le16(avail, fz_u16(f) & 1);
		put_le16(avail + 4 + 2 * q->size, fz_u16(f));
		return;
	}
	put_le16(avail + 2, q->avail_idx);
}

uint64_t vd_chain_get(struct vd *v, const struct vd_chain *c, bool write, uint64_t off, void *dst,
		      uint64_t n)
{
	uint64_t done = 0;

	for (unsigned i = 0; i < c->nseg && done < n; i++) {
		const struct vd_seg *s = &c->seg[i];
		uint64_t take;

		if (s->write != write)
			continue;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		take = s->len - off;
		if (take > n - done)
			take = n - done;
		memcpy((uint8_t *)dst + done, v->ram + s->gpa + off, take);
		done += take;
		off = 0;
	}
	return done;
}

/* --- the checks ------------------------------------------------------------ */

void vd_snap(struct vd *v)
{
	memcpy(v->snap, v->ram, VD_RAM);
}

static bool lenient(const struct vd *v)
{
	for (unsigned i = 0; i < v->nq; i++)
		if (v->q[i].lenient)
			return true;
	return false;
}

static bool may_write(const struct vd *v, uint64_t a, bool loose)
{
	if (v->wild)
		return true;
	if (a < VD_DATA) {
		unsigned qi = (unsigned)(a / VD_QAREA);
		const struct vd_queue *q = &v->q[qi];

		/* The used ring's index and entries, and avail_event. */
		return qi < v->nq && q->on && a >= q->used + 2 && a < q->used + 6 + 8ULL * q->size;
	}
	return loose ? v->ever[a] : v->cnt[a] > 0;
}

void vd_check(struct vd *v, const char *what)
{
	bool loose = lenient(v);

	for (uint64_t off = 0; off < VD_RAM; off += 64) {
		if (!memcmp(v->ram + off, v->snap + off, 64))
			continue;
		for (uint64_t a = off; a < off + 64; a++)
			if (v->ram[a] != v->snap[a] && !may_write(v, a, loose))
				vd_fail(
				    "%s: the device wrote guest byte 0x%llx (0x%02x -> 0x%02x), "
				    "which no buffer in flight grants%s",
				    what, (unsigned long long)a, v->snap[a], v->ram[a],
				    loose ? " (nor ever granted)" : "");
	}
}

void vd_notify(struct vd *v, unsigned q, bool direct)
{
	vd_snap(v);
	if (direct) {
		v->dev->ops->notify(v->dev, q);
	} else {
		v->kicked = 0;
		vd_w32(v, VIRTIO_MMIO_QUEUE_NOTIFY, q);
		if (v->kicked & (1u << q))
			v->dev->ops->notify(v->dev, q);
		else if (v->dev->live && q < v->dev->ops->nqueues)
			vd_fail("QueueNotify %u on a live device was not passed on", q);
	}
	vd_check(v, "notify");
}

void vd_collect(struct vd *v, unsigned qi, vd_used_cb cb, void *ctx)
{
	struct vd_queue *q = &v->q[qi];
	const uint8_t *used = v->ram + q->used;
	uint16_t idx, n;

	if (qi >= v->nq || !q->on)
		return;
	idx = get_le16(used + 2);
	n = (uint16_t)(idx - q->used_seen);
	if (!q->lenient && n > q->outstanding)
		vd_fail("queue %u: used index moved by %u with %u chains in flight", qi, n,
			q->outstanding);
	for (unsigned k = 0; k < n; k++) {
		const uint8_t *e = used + 4 + 8 * ((q->used_seen + k) % q->size);
		uint32_t id = get_le32(e), len = get_le32(e + 4);
		struct vd_chain *c = id < q->size ? &q->ch[id] : NULL;

		if (!c || !c->live) {
			if (!q->lenient)
				vd_fail("queue %u: used entry names %u, no chain in flight", qi,
					id);
			continue;
		}
		if (c->clean && !v->wild && len > c->wlen)
			vd_fail("queue %u: chain %u used with %u bytes written, it has %llu", qi,
				id, len, (unsigned long long)c->wlen);
		if (cb)
			cb(v, qi, c, len, ctx);
		release(v, q, c);
	}
	q->used_seen = idx;
}
