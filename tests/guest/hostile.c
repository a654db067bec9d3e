// SPDX-License-Identifier: MIT
/*
 * hostileguest: a PVH guest that drives ember's virtio-mmio devices by hand,
 * as a careless or malicious driver would, and checks that ember survives
 * and answers as its code says (src/dev/virtio_mmio.c, virtqueue.c,
 * virtio_blk.c, virtio_rng.c):
 *
 *   - register-level abuse: writes to read-only and reserved registers,
 *     1/2/8-byte and misaligned accesses, QueueSel out of range, features
 *     that were not offered, accesses past the register and config areas
 *     and to the MMIO window where no device lives;
 *   - malformed rings: descriptors outside RAM, loops, bad next indices,
 *     bad indirect tables, writable-before-readable, avail index far
 *     ahead, bad queue sizes and ring addresses. Each must end in
 *     DEVICE_NEEDS_RESET (with a config interrupt) or, for a well-formed
 *     chain with a bad block request, in an error status; then a reset and
 *     a correct request must work again;
 *   - guest RAM the driver did not offer stays as it was (every test runs
 *     in a 2.5 KiB area filled with a pattern, checked afterwards), and so
 *     do a canary page and the last page of RAM;
 *   - a reset while a block request is in flight, followed at once by a
 *     new start-up: nothing from before the reset may reach the new rings.
 *
 * hostile_virtio.c does the same to virtio-console, vsock and net, and
 * hostile_legacy.c to the IOAPIC (interrupts no CPU accepts among them),
 * 16550, CMOS and i8042.
 *
 * Run as tests/guest/run.sh does: `ember run --debug --memory 64M --disk
 * IMG,id=ember-hostile --net tap=TAP --vsock cid=3,uds=PATH --console
 * virtio <INPUT`, with the host programs of hostile_peer.py. The devices
 * are found by scanning the virtio-mmio slots. run.sh writes a known
 * pattern into IMG and checks afterwards that only sector 7 (written here)
 * changed. 32-bit protected mode, no paging, interrupts only in the short
 * windows of hostile_legacy.c: the guest polls the used ring and the
 * status register.
 *
 * Output as testguest: "ok NAME" / "FAIL NAME: detail (got X want Y)", then
 * "hostileguest: N passed, M failed", then an i8042 reset.
 */
#include "hostile.h"
#include "start_info.h"
#include "tg.h"
#include "uart.h"
#include "boot/layout.h"

/* ---- what the runner set up ---- */

#define DISK_SECTORS 2048 /* 1 MiB image */
#define DISK_ID	     "ember-hostile"
#define WRITE_SECTOR 7 /* the only sector the guest changes */

/* Disk patterns, as run.sh writes them: sector 0 byte j is j*13+7, the
 * last sector is its complement, sector 7 gets j*3+0x11 from the guest. */
static u8 sector0_byte(u32 j)
{
	return (u8)(j * 13 + 7);
}

static u8 written_byte(u32 j)
{
	return (u8)(j * 3 + 0x11);
}

/* ---- guest memory used by the tests ---- */

/* test_blk_reset_in_flight(): one page of 0xa5 bytes written 126 times
 * (SEG_MAX) over sectors that hold 0xa5 already, through an indirect table. */
#define BIG_PAGE   0x220000u
#define BIG_TABLE  0x221000u
#define BIG_SEGS   126
#define BIG_SECTOR 8

u32 ram_top; /* end of the RAM block below 4 GiB */

static u32 passed, failed;
/* Printed before a failure's detail: where in a test it happened. */
const char *phase;

/* ---- reporting ---- */

int pass(const char *name)
{
	passed++;
	uart_puts("ok ");
	uart_puts(name);
	uart_putc('\n');
	return 0;
}

int fail(const char *name, const char *detail, u64 got, u64 want)
{
	failed++;
	uart_puts("FAIL ");
	uart_puts(name);
	uart_puts(": ");
	if (phase)
		uart_puts(phase);
	uart_puts(detail);
	uart_puts(" (got ");
	uart_put_hex(got);
	uart_puts(" want ");
	uart_put_hex(want);
	uart_puts(")\n");
	return -1;
}

/* The first thing that went wrong inside a test, reported by report(). */
struct hg_err err;

int bad(const char *what, u64 got, u64 want)
{
	err.what = what;
	err.got = got;
	err.want = want;
	return -1;
}

void report(const char *name, int rc)
{
	if (rc)
		fail(name, err.what, err.got, err.want);
	else
		pass(name);
	phase = NULL;
}

void finish(void)
{
	uart_puts("hostileguest: ");
	uart_put_dec(passed);
	uart_puts(" passed, ");
	uart_put_dec(failed);
	uart_puts(" failed\n");
	outb(PORT_I8042_CMD, I8042_CMD_RESET);
	for (;;)
		asm volatile("cli; hlt");
}

/* entry.S's exception stubs land here. */
void tg_exception(struct exc_frame *f)
{
	failed++;
	uart_puts("FAIL exception: vector ");
	uart_put_dec(f->vector);
	uart_puts(" error ");
	uart_put_hex(f->error);
	uart_puts(" at eip ");
	uart_put_hex(f->eip);
	uart_puts(" (got exception want none)\n");
	finish();
}

/*
 * The bytes past the rings of a test area that may legitimately differ from
 * the pattern: what the guest itself wrote (headers, data to write) and the
 * writable buffers of requests the device completed.
 */
static struct {
	u32 a, len;
} marks[32];
static u32 nmarks;

void marks_clear(void)
{
	nmarks = 0;
}

void mark(u32 a, u32 len)
{
	if (nmarks < ARRAY_SIZE(marks))
		marks[nmarks++] = (typeof(marks[0])){ a, len };
}

/* ---- devices ---- */

static struct dev blk = { .area = AREA_BLK, .id = ID_BLOCK };
static struct dev rng = { .area = AREA_RNG, .id = ID_RNG };
static u32 nodev_base; /* the first slot after the devices */

u32 rd(const struct dev *d, u32 off)
{
	return mmio_read32(d->base + off);
}

void wr(const struct dev *d, u32 off, u32 v)
{
	mmio_write32(d->base + off, v);
}

volatile struct vdesc *desc_at(u32 table, u16 i)
{
	return (volatile struct vdesc *)table + i;
}

void set_desc(u32 table, u16 i, u64 addr, u32 len, u16 flags, u16 next)
{
	volatile struct vdesc *x = desc_at(table, i);

	x->addr = addr;
	x->len = len;
	x->flags = flags;
	x->next = next;
}

u16 used_idx(const struct dev *d)
{
	return *(volatile u16 *)(d->used + 2);
}

u32 used_id(const struct dev *d, u16 slot)
{
	return *(volatile u32 *)(d->used + 4 + 8 * (slot % d->qsize));
}

u32 used_len(const struct dev *d, u16 slot)
{
	return *(volatile u32 *)(d->used + 8 + 8 * (slot % d->qsize));
}

/* Zero the rings of the test area, fill the rest with the pattern. */
void area_begin(struct dev *d)
{
	for (u32 x = d->area; x < d->area + A_RINGS; x += 4)
		*(volatile u32 *)x = 0;
	fill(d->area + A_RINGS, AREA_SIZE - A_RINGS);
	nmarks = 0;
}

/* Between and after the rings nobody writes: those bytes stay zero. */
static const struct {
	u32 off, len;
} ring_gaps[] = {
	{ A_AVAIL + 6 + 2 * QSIZE, A_USED - (A_AVAIL + 6 + 2 * QSIZE) },
	{ A_USED + 6 + 8 * QSIZE, A_IND - (A_USED + 6 + 8 * QSIZE) },
};

/* Everything not marked must still hold the pattern. */
int area_check(const struct dev *d)
{
	u32 at;

	for (u32 i = 0; i < ARRAY_SIZE(ring_gaps); i++) {
		for (u32 x = d->area + ring_gaps[i].off;
		     x < d->area + ring_gaps[i].off + ring_gaps[i].len; x++) {
			if (*(volatile u8 *)x)
				return bad("bytes past a ring changed at", x, 0);
		}
	}
	for (u32 i = 0; i < nmarks; i++)
		refill(marks[i].a, marks[i].len);
	at = changed(d->area + A_RINGS, AREA_SIZE - A_RINGS);
	if (at)
		return bad("guest RAM the driver did not offer changed at", at, 0);
	return 0;
}

/* Reset, then the driver's start-up sequence (3.1.1) up to FEATURES_OK. */
int dev_features(struct dev *d, u32 lo, u32 hi)
{
	u32 s;

	wr(d, R_STATUS, 0);
	s = rd(d, R_STATUS);
	if (s)
		return bad("status after reset", s, 0);
	wr(d, R_STATUS, S_ACK);
	wr(d, R_STATUS, S_ACK | S_DRIVER);
	wr(d, R_DRV_FEAT_SEL, 0);
	wr(d, R_DRV_FEAT, lo);
	wr(d, R_DRV_FEAT_SEL, 1);
	wr(d, R_DRV_FEAT, hi);
	wr(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	return 0;
}

/* Full set-up of queue 0 with the given layout; returns the status read back
 * after DRIVER_OK in *status. */
int dev_start_feat(struct dev *d, u32 feat, u32 num, u64 desc, u64 avail, u64 used, u32 *status)
{
	u32 s;

	if (dev_features(d, feat, F_VERSION_1))
		return -1;
	s = rd(d, R_STATUS);
	if (s != (S_ACK | S_DRIVER | S_FEATURES_OK))
		return bad("FEATURES_OK not accepted: status", s, S_ACK | S_DRIVER | S_FEATURES_OK);
	wr(d, R_QUEUE_SEL, d->q);
	s = rd(d, R_QUEUE_NUM_MAX);
	if (s < QSIZE)
		return bad("QueueNumMax", s, 256);
	wr(d, R_QUEUE_NUM, num);
	wr(d, R_DESC_LO, (u32)desc);
	wr(d, R_DESC_HI, (u32)(desc >> 32));
	wr(d, R_AVAIL_LO, (u32)avail);
	wr(d, R_AVAIL_HI, (u32)(avail >> 32));
	wr(d, R_USED_LO, (u32)used);
	wr(d, R_USED_HI, (u32)(used >> 32));
	wr(d, R_QUEUE_READY, 1);
	wr(d, R_STATUS, S_LIVE);
	d->qsize = (u16)num;
	d->desc = (u32)desc;
	d->avail = (u32)avail;
	d->used = (u32)used;
	d->avail_idx = d->used_idx = 0;
	*status = rd(d, R_STATUS);
	return 0;
}

int dev_start(struct dev *d, u32 num, u64 desc, u64 avail, u64 used, u32 *status)
{
	return dev_start_feat(d, F_INDIRECT, num, desc, avail, used, status);
}

/* The normal layout in the device's area. */
int dev_up(struct dev *d)
{
	u32 s;

	if (dev_start(d, QSIZE, d->area + A_DESC, d->area + A_AVAIL, d->area + A_USED, &s))
		return -1;
	if (s != S_LIVE)
		return bad("status after DRIVER_OK", s, S_LIVE);
	return 0;
}

void publish(struct dev *d, u16 head)
{
	*(volatile u16 *)(d->avail + 4 + 2 * (d->avail_idx % d->qsize)) = head;
	barrier();
	d->avail_idx++;
	*(volatile u16 *)(d->avail + 2) = d->avail_idx;
	barrier();
}

void notify(struct dev *d)
{
	wr(d, R_QUEUE_NOTIFY, d->q);
}

/* Poll until the used index moves away from `from` or the device needs a
 * reset. */
int wait_dev(const struct dev *d, u16 from)
{
	for (u32 i = 0; i < SPIN_MAX; i++) {
		if (used_idx(d) != from)
			return W_USED;
		if ((i & 63) == 63 && (rd(d, R_STATUS) & S_NEEDS_RESET))
			return W_RESET;
		barrier();
	}
	return W_TIMEOUT;
}

/* Wait for the next used entry: it must be for `head`, written `len`. */
int wait_used(struct dev *d, u16 head, u32 len)
{
	int w = wait_dev(d, d->used_idx);
	u16 slot = d->used_idx, n;

	if (w == W_TIMEOUT)
		return bad("no used entry (timed out), status", rd(d, R_STATUS), S_LIVE);
	if (w == W_RESET)
		return bad("DEVICE_NEEDS_RESET for a valid request: status", rd(d, R_STATUS),
			   S_LIVE);
	n = (u16)(used_idx(d) - d->used_idx);
	d->used_idx++;
	if (used_id(d, slot) != head)
		return bad("used id", used_id(d, slot), head);
	if (used_len(d, slot) != len)
		return bad("used len", used_len(d, slot), len);
	if (n != 1)
		return bad("used entries for one request", n, 1);
	return 0;
}

/* ---- known-good requests ---- */

/* One 64-byte writable buffer at A_DATA: filled with 64 random bytes. */
static int rng_request(struct dev *d)
{
	u32 buf = d->area + A_DATA, same = 0;

	refill(buf, 64);
	set_desc(d->desc, 0, buf, 64, D_WRITE, 0);
	publish(d, 0);
	notify(d);
	if (wait_used(d, 0, 64))
		return -1;
	for (u32 i = 0; i < 64; i++)
		same += *(volatile u8 *)(buf + i) == pat_byte(buf + i);
	if (same > 8)
		return bad("random bytes equal to what was there before", same, 0);
	mark(buf, 64);
	return 0;
}

static void blk_hdr(struct dev *d, u32 type, u64 sector)
{
	volatile u32 *h = (volatile u32 *)(d->area + A_HDR);

	h[0] = type;
	h[1] = 0;
	h[2] = (u32)sector;
	h[3] = (u32)(sector >> 32);
	mark(d->area + A_HDR, 16);
}

static u8 blk_status(const struct dev *d)
{
	return *(volatile u8 *)(d->area + A_STATUS);
}

/* Read `sector` into A_DATA (one 512-byte buffer) and compare with `want`. */
static int blk_read(struct dev *d, u64 sector, u8 (*want)(u32))
{
	u32 data = d->area + A_DATA;

	blk_hdr(d, BLK_T_IN, sector);
	set_desc(d->desc, 0, d->area + A_HDR, 16, D_NEXT, 1);
	set_desc(d->desc, 1, data, 512, D_WRITE | D_NEXT, 2);
	set_desc(d->desc, 2, d->area + A_STATUS, 1, D_WRITE, 0);
	publish(d, 0);
	notify(d);
	if (wait_used(d, 0, 513))
		return -1;
	if (blk_status(d) != BLK_S_OK)
		return bad("status byte", blk_status(d), BLK_S_OK);
	for (u32 j = 0; j < 512; j++) {
		u8 b = *(volatile u8 *)(data + j);

		if (b != want(j))
			return bad("sector data at byte", j, want(j));
	}
	mark(data, 512);
	mark(d->area + A_STATUS, 1);
	return 0;
}

static int good_request(struct dev *d)
{
	return d == &blk ? blk_read(d, 0, sector0_byte) : rng_request(d);
}

/* ---- DEVICE_NEEDS_RESET handling ---- */

/*
 * After a malformed ring: wait for DEVICE_NEEDS_RESET (nothing completed),
 * check the config interrupt and that no offered byte changed, then reset,
 * start again and see a correct request work.
 */
static int expect_reset(struct dev *d, u16 used_before)
{
	int w = wait_dev(d, used_before);
	u32 s, isr;

	if (w == W_TIMEOUT)
		return bad("no DEVICE_NEEDS_RESET (timed out): status", rd(d, R_STATUS),
			   S_LIVE | S_NEEDS_RESET);
	if (w == W_USED)
		return bad("the device completed a malformed chain: used idx", used_idx(d),
			   used_before);
	s = rd(d, R_STATUS);
	if (s != (S_LIVE | S_NEEDS_RESET))
		return bad("status", s, S_LIVE | S_NEEDS_RESET);
	isr = rd(d, R_ISR);
	if (!(isr & ISR_CONFIG))
		return bad("InterruptStatus without the config bit", isr, ISR_CONFIG);
	wr(d, R_ISR_ACK, isr);
	if (used_idx(d) != used_before)
		return bad("used idx moved", used_idx(d), used_before);
	if (area_check(d))
		return -1;
	wr(d, R_STATUS, 0);
	s = rd(d, R_STATUS);
	if (s)
		return bad("status after reset", s, 0);
	if (rd(d, R_ISR))
		return bad("InterruptStatus after reset", rd(d, R_ISR), 0);
	phase = "after the reset: ";
	area_begin(d);
	if (dev_up(d) || good_request(d))
		return -1;
	return area_check(d);
}

/* As expect_reset(), when the reset comes at DRIVER_OK already (status `s`). */
static int expect_reset_now(struct dev *d, u32 s)
{
	if (s != (S_LIVE | S_NEEDS_RESET))
		return bad("status after DRIVER_OK", s, S_LIVE | S_NEEDS_RESET);
	d->qsize = QSIZE; /* the used ring is not touched: wait_dev() reads zeroes */
	d->used = d->area + A_USED;
	return expect_reset(d, 0);
}

/* ---- table-driven ring cases ---- */

#define REL_ABS	 0
#define REL_AREA 1 /* addr is an offset into the test area */
#define REL_TOP	 2 /* addr is added to the end of RAM (may be "negative") */

struct dspec {
	u64 addr;
	u32 len;
	u16 flags, next;
	u8 rel;
};

#define NR (-1) /* qcase.expect: DEVICE_NEEDS_RESET */

struct qcase {
	const char *name;
	u8 nd, ni; /* descriptors in the table, in the indirect table */
	struct dspec d[4], ind[4];
	u16 head; /* the avail ring entry */
	u16 jump; /* publish the avail idx this much further ahead */
	u32 type; /* blk: request header at A_HDR */
	u64 sector;
	int expect; /* -1: DEVICE_NEEDS_RESET; else a blk status / rng used len */
};

static u64 spec_addr(const struct dev *d, const struct dspec *s)
{
	switch (s->rel) {
	case REL_AREA:
		return d->area + s->addr;
	case REL_TOP:
		return ram_top + s->addr;
	}
	return s->addr;
}

/* The index past the queue a case names (head or next), or 0. */
static u16 trap_index(const struct qcase *c)
{
	if (c->head >= QSIZE)
		return c->head;
	for (u32 i = 0; i < c->nd; i++) {
		if ((c->d[i].flags & D_NEXT) && c->d[i].next >= QSIZE)
			return c->d[i].next;
	}
	return 0;
}

/* Build the case in the queue and notify; returns the used idx before. */
static u16 start_case(struct dev *d, const struct qcase *c)
{
	u16 trap = trap_index(c);

	if (trap) /* a valid one-buffer chain where the bad index points */
		set_desc(d->desc, trap, d->area + A_DATA2, 8, D_WRITE, 0);
	for (u32 i = 0; i < c->nd; i++)
		set_desc(d->desc, (u16)i, spec_addr(d, &c->d[i]), c->d[i].len, c->d[i].flags,
			 c->d[i].next);
	for (u32 i = 0; i < c->ni; i++)
		set_desc(d->area + A_IND, (u16)i, spec_addr(d, &c->ind[i]), c->ind[i].len,
			 c->ind[i].flags, c->ind[i].next);
	if (d == &blk)
		blk_hdr(d, c->type, c->sector);
	d->avail_idx = (u16)(d->avail_idx + c->jump);
	publish(d, c->head);
	notify(d);
	return d->used_idx;
}

/* The writable buffers of a (valid) chain the device completed. */
static void mark_chain(struct dev *d, const struct qcase *c)
{
	u16 i = c->head;

	for (u32 n = 0; n < c->nd && i < c->nd; n++) {
		const struct dspec *s = &c->d[i];

		if (s->flags & D_INDIRECT) {
			for (u32 j = 0; j < c->ni; j++) {
				if (c->ind[j].flags & D_WRITE)
					mark((u32)spec_addr(d, &c->ind[j]), c->ind[j].len);
			}
			return;
		}
		if (s->flags & D_WRITE)
			mark((u32)spec_addr(d, s), s->len);
		if (!(s->flags & D_NEXT))
			return;
		i = s->next;
	}
}

static int run_case(struct dev *d, const struct qcase *c)
{
	u16 before;

	area_begin(d);
	if (dev_up(d))
		return -1;
	before = start_case(d, c);
	if (c->expect == NR) {
		int rc = expect_reset(d, before);
		u16 trap = trap_index(c);

		if (trap)
			set_desc(d->area + A_DESC, trap, 0, 0, 0, 0);
		return rc;
	}
	if (d == &blk) {
		/* A well-formed chain with a bad request: status byte only. */
		if (wait_used(d, c->head, 1))
			return -1;
		if (blk_status(d) != c->expect)
			return bad("status byte", blk_status(d), (u32)c->expect);
		mark(d->area + A_STATUS, 1);
	} else {
		if (wait_used(d, c->head, (u32)c->expect))
			return -1;
		mark_chain(d, c);
	}
	return area_check(d);
}

/*
 * The case tables, one case per few lines. AR(): an offset into the test
 * area; TOP(): relative to the end of RAM.
 */
/* clang-format off */
#define AR(off) .addr = (off), .rel = REL_AREA
#define TOP(off) .addr = (u64)(off), .rel = REL_TOP
#define HDR16 {AR(A_HDR), .len = 16, .flags = D_NEXT, .next = 1}
#define STATUS1 {AR(A_STATUS), .len = 1, .flags = D_WRITE}

static const struct qcase rng_cases[] = {
    /* Correct chains first: the validation must not reject them. */
    {"rng-two-buffers", 2, 0,
     {{AR(A_DATA), .len = 32, .flags = D_WRITE | D_NEXT, .next = 1},
      {AR(A_DATA2), .len = 32, .flags = D_WRITE}}, {}, 0, 0, 0, 0, 64},
    {"rng-indirect", 1, 2,
     {{AR(A_IND), .len = 32, .flags = D_INDIRECT}},
     {{AR(A_DATA), .len = 16, .flags = D_WRITE | D_NEXT, .next = 1},
      {AR(A_DATA2), .len = 48, .flags = D_WRITE}}, 0, 0, 0, 0, 64},
    {"rng-readable-only", 1, 0, {{AR(A_DATA), .len = 64}}, {}, 0, 0, 0, 0, 0},
    {"rng-head-not-0", 4, 0,
     {{AR(A_DATA), .len = 8, .flags = D_WRITE}, {AR(A_DATA), .len = 8, .flags = D_WRITE},
      {AR(A_DATA), .len = 8, .flags = D_WRITE}, {AR(A_DATA2), .len = 24, .flags = D_WRITE}},
     {}, 3, 0, 0, 0, 24},
    /* Buffers outside RAM. */
    {"rng-desc-outside-ram", 1, 0, {{.addr = 0xf0000000, .len = 16, .flags = D_WRITE}}, {},
     0, 0, 0, 0, NR},
    {"rng-desc-in-mmio-window", 1, 0,
     {{.addr = LAYOUT_VIRTIO_MMIO, .len = 4, .flags = D_WRITE}}, {}, 0, 0, 0, 0, NR},
    {"rng-desc-crosses-ram-top", 1, 0, {{TOP(-8), .len = 16, .flags = D_WRITE}}, {}, 0, 0,
     0, 0, NR},
    {"rng-desc-at-ram-top", 1, 0, {{TOP(0), .len = 1, .flags = D_WRITE}}, {}, 0, 0, 0, 0,
     NR},
    {"rng-desc-above-4g", 1, 0, {{.addr = 1ULL << 32, .len = 16, .flags = D_WRITE}}, {}, 0,
     0, 0, 0, NR},
    {"rng-desc-addr-wraps", 1, 0,
     {{.addr = 0xfffffffffffffff0ULL, .len = 0x20, .flags = D_WRITE}}, {}, 0, 0, 0, 0, NR},
    {"rng-desc-len-4g", 1, 0, {{AR(A_DATA), .len = 0xffffffff, .flags = D_WRITE}}, {}, 0, 0,
     0, 0, NR},
    {"rng-second-desc-outside-ram", 2, 0,
     {{AR(A_DATA), .len = 64, .flags = D_WRITE | D_NEXT, .next = 1},
      {.addr = 0xf0000000, .len = 16, .flags = D_WRITE}}, {}, 0, 0, 0, 0, NR},
    /* Chains (an index past the queue gets a trap descriptor there). */
    {"rng-chain-self-loop", 1, 0,
     {{AR(A_DATA), .len = 8, .flags = D_WRITE | D_NEXT, .next = 0}}, {}, 0, 0, 0, 0, NR},
    {"rng-chain-cycle", 2, 0,
     {{AR(A_DATA), .len = 8, .flags = D_WRITE | D_NEXT, .next = 1},
      {AR(A_DATA2), .len = 8, .flags = D_WRITE | D_NEXT, .next = 0}}, {}, 0, 0, 0, 0, NR},
    {"rng-next-past-queue", 1, 0,
     {{AR(A_DATA), .len = 8, .flags = D_WRITE | D_NEXT, .next = QSIZE}}, {}, 0, 0, 0, 0,
     NR},
    {"rng-next-0xffff", 1, 0,
     {{AR(A_DATA), .len = 8, .flags = D_WRITE | D_NEXT, .next = 0xffff}}, {}, 0, 0, 0, 0,
     NR},
    {"rng-head-past-queue", 1, 0, {{AR(A_DATA), .len = 8, .flags = D_WRITE}}, {}, QSIZE, 0,
     0, 0, NR},
    {"rng-readable-after-writable", 2, 0,
     {{AR(A_DATA), .len = 8, .flags = D_WRITE | D_NEXT, .next = 1}, {AR(A_DATA2), .len = 8}},
     {}, 0, 0, 0, 0, NR},
    {"rng-avail-idx-far-ahead", 1, 0, {{AR(A_DATA), .len = 8, .flags = D_WRITE}}, {}, 0, 99,
     0, 0, NR},
    {"rng-avail-idx-one-past-size", 1, 0, {{AR(A_DATA), .len = 8, .flags = D_WRITE}}, {}, 0,
     QSIZE, 0, 0, NR},
    /* Indirect tables (ind[] entries past the table's length are traps). */
    {"rng-indirect-len-0", 1, 1, {{AR(A_IND), .len = 0, .flags = D_INDIRECT}},
     {{AR(A_DATA), .len = 8, .flags = D_WRITE}}, 0, 0, 0, 0, NR},
    {"rng-indirect-len-odd", 1, 2, {{AR(A_IND), .len = 24, .flags = D_INDIRECT}},
     {{AR(A_DATA), .len = 8, .flags = D_WRITE}}, 0, 0, 0, 0, NR},
    {"rng-indirect-len-huge", 1, 1, {{AR(A_IND), .len = 0xfffffff0, .flags = D_INDIRECT}},
     {{AR(A_DATA), .len = 8, .flags = D_WRITE}}, 0, 0, 0, 0, NR},
    {"rng-indirect-outside-ram", 1, 0,
     {{.addr = 0xf0000000, .len = 16, .flags = D_INDIRECT}}, {}, 0, 0, 0, 0, NR},
    {"rng-indirect-crosses-ram-top", 1, 0, {{TOP(-16), .len = 32, .flags = D_INDIRECT}}, {},
     0, 0, 0, 0, NR},
    {"rng-indirect-nested", 1, 2, {{AR(A_IND), .len = 32, .flags = D_INDIRECT}},
     {{AR(A_IND + 16), .len = 16, .flags = D_INDIRECT},
      {AR(A_DATA), .len = 8, .flags = D_WRITE}}, 0, 0, 0, 0, NR},
    {"rng-indirect-next-past-table", 1, 3, {{AR(A_IND), .len = 32, .flags = D_INDIRECT}},
     {{AR(A_DATA), .len = 8, .flags = D_WRITE | D_NEXT, .next = 2},
      {AR(A_DATA2), .len = 8, .flags = D_WRITE},
      {AR(A_DATA2), .len = 8, .flags = D_WRITE}}, 0, 0, 0, 0, NR},
    {"rng-indirect-loop", 1, 2, {{AR(A_IND), .len = 32, .flags = D_INDIRECT}},
     {{AR(A_DATA), .len = 8, .flags = D_WRITE | D_NEXT, .next = 1},
      {AR(A_DATA2), .len = 8, .flags = D_WRITE | D_NEXT, .next = 0}}, 0, 0, 0, 0, NR},
    {"rng-indirect-with-next", 2, 1,
     {{AR(A_IND), .len = 16, .flags = D_INDIRECT | D_NEXT, .next = 1},
      {AR(A_DATA2), .len = 8, .flags = D_WRITE}},
     {{AR(A_DATA), .len = 8, .flags = D_WRITE}}, 0, 0, 0, 0, NR},
    {"rng-indirect-inside-chain", 2, 1,
     {{AR(A_DATA2), .len = 8, .flags = D_WRITE | D_NEXT, .next = 1},
      {AR(A_IND), .len = 16, .flags = D_INDIRECT}},
     {{AR(A_DATA), .len = 8, .flags = D_WRITE}}, 0, 0, 0, 0, NR},
    {"rng-indirect-buffer-outside-ram", 1, 2, {{AR(A_IND), .len = 32, .flags = D_INDIRECT}},
     {{AR(A_DATA), .len = 8, .flags = D_WRITE | D_NEXT, .next = 1},
      {.addr = 0xf0000000, .len = 8, .flags = D_WRITE}}, 0, 0, 0, 0, NR},
    {"rng-indirect-readable-after-writable", 1, 2,
     {{AR(A_IND), .len = 32, .flags = D_INDIRECT}},
     {{AR(A_DATA), .len = 8, .flags = D_WRITE | D_NEXT, .next = 1},
      {AR(A_DATA2), .len = 8}}, 0, 0, 0, 0, NR},
};

static const struct qcase blk_cases[] = {
    /* Well-formed chains, bad requests: an error status, nothing else. */
    {"blk-unsupported-type", 2, 0, {HDR16, STATUS1}, {}, 0, 0, 0x55, 0, BLK_S_UNSUPP},
    {"blk-read-past-end", 3, 0,
     {HDR16, {AR(A_DATA), .len = 512, .flags = D_WRITE | D_NEXT, .next = 2}, STATUS1}, {}, 0,
     0, BLK_T_IN, DISK_SECTORS, BLK_S_IOERR},
    {"blk-read-straddles-end", 3, 0,
     {HDR16, {AR(A_DATA), .len = 1024, .flags = D_WRITE | D_NEXT, .next = 2}, STATUS1}, {},
     0, 0, BLK_T_IN, DISK_SECTORS - 1, BLK_S_IOERR},
    {"blk-read-sector-overflow", 3, 0,
     {HDR16, {AR(A_DATA), .len = 512, .flags = D_WRITE | D_NEXT, .next = 2}, STATUS1}, {}, 0,
     0, BLK_T_IN, 1ULL << 55, BLK_S_IOERR},
    {"blk-read-sector-max", 3, 0,
     {HDR16, {AR(A_DATA), .len = 512, .flags = D_WRITE | D_NEXT, .next = 2}, STATUS1}, {}, 0,
     0, BLK_T_IN, ~0ULL, BLK_S_IOERR},
    {"blk-read-odd-length", 3, 0,
     {HDR16, {AR(A_DATA), .len = 100, .flags = D_WRITE | D_NEXT, .next = 2}, STATUS1}, {}, 0,
     0, BLK_T_IN, 0, BLK_S_IOERR},
    {"blk-write-past-end", 3, 0,
     {{AR(A_HDR), .len = 16, .flags = D_NEXT, .next = 1},
      {AR(A_DATA), .len = 512, .flags = D_NEXT, .next = 2}, STATUS1}, {}, 0, 0, BLK_T_OUT,
     DISK_SECTORS, BLK_S_IOERR},
    {"blk-write-straddles-end", 3, 0,
     {{AR(A_HDR), .len = 16, .flags = D_NEXT, .next = 1},
      {AR(A_DATA), .len = 1024, .flags = D_NEXT, .next = 2}, STATUS1}, {}, 0, 0, BLK_T_OUT,
     DISK_SECTORS - 1, BLK_S_IOERR},
    {"blk-write-odd-length", 3, 0,
     {{AR(A_HDR), .len = 16, .flags = D_NEXT, .next = 1},
      {AR(A_DATA), .len = 100, .flags = D_NEXT, .next = 2}, STATUS1}, {}, 0, 0, BLK_T_OUT, 3,
     BLK_S_IOERR},
    {"blk-get-id-short-buffer", 2, 0, {HDR16, STATUS1}, {}, 0, 0, BLK_T_GET_ID, 0,
     BLK_S_IOERR},
    /* Malformed requests: DEVICE_NEEDS_RESET. */
    {"blk-header-writable", 3, 0,
     {{AR(A_HDR), .len = 16, .flags = D_WRITE | D_NEXT, .next = 1},
      {AR(A_DATA), .len = 512, .flags = D_WRITE | D_NEXT, .next = 2}, STATUS1}, {}, 0, 0,
     BLK_T_IN, 0, NR},
    {"blk-header-short", 2, 0, {{AR(A_HDR), .len = 8, .flags = D_NEXT, .next = 1}, STATUS1},
     {}, 0, 0, BLK_T_FLUSH, 0, NR},
    {"blk-no-status-byte", 2, 0,
     {{AR(A_HDR), .len = 16, .flags = D_NEXT, .next = 1}, {AR(A_DATA), .len = 512}}, {}, 0,
     0, BLK_T_OUT, 5, NR},
    {"blk-writable-before-readable", 3, 0,
     {{AR(A_DATA), .len = 512, .flags = D_WRITE | D_NEXT, .next = 1},
      {AR(A_HDR), .len = 16, .flags = D_NEXT, .next = 2}, STATUS1}, {}, 0, 0, BLK_T_IN, 0,
     NR},
    {"blk-data-outside-ram", 3, 0,
     {HDR16, {.addr = 0xf0000000, .len = 512, .flags = D_WRITE | D_NEXT, .next = 2}, STATUS1},
     {}, 0, 0, BLK_T_IN, 0, NR},
    {"blk-data-crosses-ram-top", 3, 0,
     {HDR16, {TOP(-256), .len = 512, .flags = D_WRITE | D_NEXT, .next = 2}, STATUS1}, {}, 0,
     0, BLK_T_IN, 0, NR},
    {"blk-status-outside-ram", 3, 0,
     {HDR16, {AR(A_DATA), .len = 512, .flags = D_WRITE | D_NEXT, .next = 2},
      {.addr = 0xfffffffffULL, .len = 1, .flags = D_WRITE}}, {}, 0, 0, BLK_T_IN, 0, NR},
    {"blk-chain-loop", 2, 0,
     {HDR16, {AR(A_DATA), .len = 512, .flags = D_WRITE | D_NEXT, .next = 1}}, {}, 0, 0,
     BLK_T_IN, 0, NR},
    {"blk-indirect-nested", 1, 1, {{AR(A_IND), .len = 16, .flags = D_INDIRECT}},
     {{AR(A_IND), .len = 16, .flags = D_INDIRECT}}, 0, 0, BLK_T_IN, 0, NR},
};
/* clang-format on */

/* ---- discovery and registers ---- */

int check_id(const struct dev *d)
{
	if (rd(d, R_MAGIC) != MAGIC_VIRT)
		return bad("MagicValue", rd(d, R_MAGIC), MAGIC_VIRT);
	if (rd(d, R_VERSION) != 2)
		return bad("Version", rd(d, R_VERSION), 2);
	if (rd(d, R_DEVICE_ID) != d->id)
		return bad("DeviceID", rd(d, R_DEVICE_ID), d->id);
	if (!rd(d, R_VENDOR_ID))
		return bad("VendorID", 0, 1);
	return 0;
}

/* The slot of the first device with `id`, or 0; sets nodev_base. */
u32 find_dev(u32 id)
{
	for (u32 slot = 0; slot < 32; slot++) {
		u32 base = (u32)LAYOUT_VIRTIO_MMIO + 0x1000 * slot;

		if (mmio_read32(base + R_MAGIC) != MAGIC_VIRT) {
			nodev_base = base;
			return 0;
		}
		if (mmio_read32(base + R_DEVICE_ID) == id)
			return base;
	}
	return 0;
}

static void discovery(void)
{
	const struct dev *nodev = &(const struct dev){ .base = 0 };

	blk.base = find_dev(ID_BLOCK);
	rng.base = find_dev(ID_RNG);
	find_dev(0xffffffff);
	nodev = &(const struct dev){ .base = nodev_base };
	report("discovery-blk", blk.base ? check_id(&blk) : bad("no virtio-blk", 0, ID_BLOCK));
	report("discovery-rng", rng.base ? check_id(&rng) : bad("no virtio-rng", 0, ID_RNG));
	/* The slot after the last device: nothing claims it (bus.c: all-ones). */
	if (!nodev_base || rd(nodev, R_MAGIC) != 0xffffffff)
		fail("discovery-nothing-after-the-last-device", "MagicValue", rd(nodev, R_MAGIC),
		     0xffffffff);
	else
		pass("discovery-nothing-after-the-last-device");
}

static int check_features(struct dev *d)
{
	u32 lo, hi;

	wr(d, R_STATUS, 0);
	wr(d, R_DEV_FEAT_SEL, 0);
	lo = rd(d, R_DEV_FEAT);
	wr(d, R_DEV_FEAT_SEL, 1);
	hi = rd(d, R_DEV_FEAT);
	wr(d, R_DEV_FEAT_SEL, 2);
	if (rd(d, R_DEV_FEAT))
		return bad("DeviceFeatures with DeviceFeaturesSel 2", rd(d, R_DEV_FEAT), 0);
	wr(d, R_DEV_FEAT_SEL, 0xffffffff);
	if (rd(d, R_DEV_FEAT))
		return bad("DeviceFeatures with DeviceFeaturesSel ~0", rd(d, R_DEV_FEAT), 0);
	if (hi != F_VERSION_1)
		return bad("DeviceFeatures[63:32]", hi, F_VERSION_1);
	if ((lo & (F_INDIRECT | F_EVENT_IDX)) != (F_INDIRECT | F_EVENT_IDX))
		return bad("DeviceFeatures[31:0] without INDIRECT_DESC, EVENT_IDX", lo,
			   lo | F_INDIRECT | F_EVENT_IDX);
	return 0;
}

/* FEATURES_OK must stay clear for anything but a subset with VERSION_1. */
static int check_feature_refusal(struct dev *d)
{
	static const struct {
		u32 lo, hi;
		bool ok;
	} t[] = {
		{ 1u << 0, F_VERSION_1, false },     /* a bit not offered */
		{ F_INDIRECT, 0, false },	     /* no VERSION_1 */
		{ 0, F_VERSION_1 | 1u << 2, false }, /* bit 34, not offered */
		{ 0xffffffff, 0xffffffff, false },   /* everything */
		{ 0, F_VERSION_1, true },	     /* the minimum */
		{ F_INDIRECT | F_EVENT_IDX, F_VERSION_1, true },
	};
	u32 s;

	for (u32 i = 0; i < ARRAY_SIZE(t); i++) {
		if (dev_features(d, t[i].lo, t[i].hi))
			return -1;
		s = rd(d, R_STATUS);
		if (!!(s & S_FEATURES_OK) != t[i].ok)
			return bad(t[i].ok ? "FEATURES_OK refused for offered features (lo)"
					   : "FEATURES_OK accepted for features (lo)",
				   t[i].lo, i);
		if (!t[i].ok) {
			/* DRIVER_OK without FEATURES_OK: not live, no reset either */
			wr(d, R_STATUS, s | S_DRIVER_OK);
			if (rd(d, R_STATUS) & (S_FEATURES_OK | S_NEEDS_RESET))
				return bad("status after DRIVER_OK without FEATURES_OK",
					   rd(d, R_STATUS), s | S_DRIVER_OK);
		}
	}
	/* DriverFeaturesSel 2 is ignored: no stray bits reach the features. */
	wr(d, R_STATUS, 0);
	wr(d, R_STATUS, S_ACK);
	wr(d, R_STATUS, S_ACK | S_DRIVER);
	wr(d, R_DRV_FEAT_SEL, 1);
	wr(d, R_DRV_FEAT, F_VERSION_1);
	wr(d, R_DRV_FEAT_SEL, 2);
	wr(d, R_DRV_FEAT, 0xffffffff);
	wr(d, R_DRV_FEAT_SEL, 0);
	wr(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	s = rd(d, R_STATUS);
	if (!(s & S_FEATURES_OK))
		return bad("DriverFeaturesSel 2 changed the features: status", s,
			   S_ACK | S_DRIVER | S_FEATURES_OK);
	/* Features are frozen after FEATURES_OK (this write is ignored), and a
	 * non-zero status write cannot clear bits. */
	wr(d, R_DRV_FEAT, 0xffffffff);
	wr(d, R_STATUS, S_ACK);
	s = rd(d, R_STATUS);
	wr(d, R_STATUS, 0);
	if (s != (S_ACK | S_DRIVER | S_FEATURES_OK))
		return bad("status bits cleared by a non-zero write", s,
			   S_ACK | S_DRIVER | S_FEATURES_OK);
	return 0;
}

/* Writes to read-only registers change nothing. */
static int check_read_only(struct dev *d)
{
	static const u32 regs[] = { R_MAGIC,	R_VERSION,	 R_DEVICE_ID, R_VENDOR_ID,
				    R_DEV_FEAT, R_QUEUE_NUM_MAX, R_ISR,	      R_CONFIG_GEN };
	u32 before[ARRAY_SIZE(regs)], v;

	wr(d, R_STATUS, 0);
	wr(d, R_DEV_FEAT_SEL, 0);
	wr(d, R_QUEUE_SEL, 0);
	for (u32 i = 0; i < ARRAY_SIZE(regs); i++)
		before[i] = rd(d, regs[i]);
	for (u32 i = 0; i < ARRAY_SIZE(regs); i++) {
		wr(d, regs[i], 0xdeadbeef);
		wr(d, regs[i], 0);
	}
	for (u32 i = 0; i < ARRAY_SIZE(regs); i++) {
		v = rd(d, regs[i]);
		if (v != before[i])
			return bad("read-only register changed: value (register offset in want "
				   "bits 47:32)",
				   v, before[i] | (u64)regs[i] << 32);
	}
	if (before[0] != MAGIC_VIRT || before[5] != 256 || before[6] != 0 || before[7] != 0)
		return bad("magic/QueueNumMax/ISR/ConfigGeneration not as expected", before[5],
			   256);
	return check_id(d);
}

/* 1-, 2- and 8-byte and misaligned accesses to registers: read 0, writes
 * ignored (virtio_mmio.c: registers are 32-bit, aligned). */
static int check_odd_width(struct dev *d)
{
	u32 s;
	u64 v;

	wr(d, R_STATUS, 0);
	if (rd8(d->base + R_MAGIC))
		return bad("1-byte read of MagicValue", rd8(d->base + R_MAGIC), 0);
	if (rd8(d->base + R_MAGIC + 3))
		return bad("1-byte read of MagicValue+3", rd8(d->base + R_MAGIC + 3), 0);
	if (rd16(d->base + R_MAGIC))
		return bad("2-byte read of MagicValue", rd16(d->base + R_MAGIC), 0);
	if (rd16(d->base + R_DEVICE_ID + 2))
		return bad("2-byte read of DeviceID+2", rd16(d->base + R_DEVICE_ID + 2), 0);
	v = rd64(d->base + R_MAGIC);
	if (v)
		return bad("8-byte read of MagicValue", v, 0);
	if (mmio_read32(d->base + R_MAGIC + 2))
		return bad("misaligned 4-byte read at MagicValue+2",
			   mmio_read32(d->base + R_MAGIC + 2), 0);
	if (mmio_read32(d->base + R_QUEUE_NUM_MAX + 1))
		return bad("misaligned 4-byte read at QueueNumMax+1",
			   mmio_read32(d->base + R_QUEUE_NUM_MAX + 1), 0);

	wr(d, R_STATUS, S_ACK);
	wr8(d->base + R_STATUS, 0); /* would reset the device */
	wr16(d->base + R_STATUS, 0);
	wr64(d->base + R_STATUS, 0);
	mmio_write32(d->base + R_STATUS + 1, 0);
	mmio_write32(d->base + R_STATUS + 2, 0);
	wr8(d->base + R_STATUS, S_ACK | S_DRIVER); /* would add DRIVER */
	s = rd(d, R_STATUS);
	if (s != S_ACK)
		return bad("Status after 1/2/8-byte and misaligned writes", s, S_ACK);
	wr8(d->base + R_QUEUE_SEL, 5);
	wr16(d->base + R_QUEUE_SEL, 5);
	wr64(d->base + R_QUEUE_SEL, 5);
	mmio_write32(d->base + R_QUEUE_SEL + 2, 5);
	if (rd(d, R_QUEUE_NUM_MAX) != 256)
		return bad("QueueNumMax after odd-width QueueSel writes", rd(d, R_QUEUE_NUM_MAX),
			   256);
	wr(d, R_STATUS, 0);
	return check_id(d);
}

/* Reserved offsets of the register area: harmless to write, read as 0. */
static int check_reserved(struct dev *d)
{
	static const u32 offs[] = { 0x018, 0x01c, 0x028, 0x02c, 0x03c, 0x040, 0x048, 0x04c, 0x054,
				    0x058, 0x05c, 0x068, 0x06c, 0x074, 0x078, 0x07c, 0x088, 0x08c,
				    0x098, 0x09c, 0x0a8, 0x0c0, 0x0c4, 0x0d0, 0x0f0, 0x0f8 };

	wr(d, R_STATUS, 0);
	for (u32 i = 0; i < ARRAY_SIZE(offs); i++)
		wr(d, offs[i], 0xffffffff);
	for (u32 i = 0; i < ARRAY_SIZE(offs); i++) {
		if (rd(d, offs[i]))
			return bad("reserved register reads (offset in want)", rd(d, offs[i]),
				   offs[i]);
	}
	/* Write-only registers read as 0 too. */
	if (rd(d, R_DRV_FEAT) || rd(d, R_QUEUE_NOTIFY) || rd(d, R_ISR_ACK) || rd(d, R_DESC_LO))
		return bad("a write-only register reads non-zero", 1, 0);
	if (rd(d, R_STATUS))
		return bad("Status after reserved writes", rd(d, R_STATUS), 0);
	return check_id(d);
}

/* Past the 0x200 bytes ember claims, in the same 4 KiB slot: nobody there. */
static int check_past_regs(struct dev *d)
{
	static const u32 offs[] = { REGS_SIZE, 0x400, 0x800, 0xffc };

	for (u32 i = 0; i < ARRAY_SIZE(offs); i++) {
		mmio_write32(d->base + offs[i], 0);
		wr8(d->base + offs[i] + 1, 0);
		if (mmio_read32(d->base + offs[i]) != 0xffffffff)
			return bad("read past the registers (offset in want)",
				   mmio_read32(d->base + offs[i]), offs[i]);
	}
	/* An access that crosses the end of the device's range. */
	if (mmio_read32(d->base + REGS_SIZE - 2) != 0xffffffff)
		return bad("4-byte read across the end of the device range",
			   mmio_read32(d->base + REGS_SIZE - 2), 0xffffffff);
	mmio_write32(d->base + REGS_SIZE - 2, 0);
	wr64(d->base + REGS_SIZE - 4, 0);
	return check_id(d);
}

/* virtio-blk config space (5.2.4): capacity, seg_max, blk_size, num_queues,
 * at any width; writes (read-only fields, past the end) change nothing. */
static int check_blk_config(struct dev *d)
{
	static const u8 cap[8] = { DISK_SECTORS & 0xff, DISK_SECTORS >> 8, 0, 0, 0, 0, 0, 0 };
	u32 c = d->base + R_CONFIG, gen = rd(d, R_CONFIG_GEN);
	u64 v;

	for (u32 i = 0; i < 8; i++) {
		if (rd8(c + i) != cap[i])
			return bad("capacity byte (index in want bits 15:8)", rd8(c + i),
				   cap[i] | i << 8);
	}
	if (mmio_read32(c) != DISK_SECTORS || mmio_read32(c + 4) != 0)
		return bad("capacity, 4-byte reads", mmio_read32(c), DISK_SECTORS);
	v = rd64(c);
	if (v != DISK_SECTORS)
		return bad("capacity, one 8-byte read", v, DISK_SECTORS);
	if (rd16(c) != DISK_SECTORS)
		return bad("capacity, 2-byte read", rd16(c), DISK_SECTORS);
	if (mmio_read32(c + 1) != DISK_SECTORS >> 8)
		return bad("capacity, misaligned 4-byte read at +1", mmio_read32(c + 1),
			   DISK_SECTORS >> 8);
	if (mmio_read32(c + 12) != 126)
		return bad("seg_max", mmio_read32(c + 12), 126);
	if (mmio_read32(c + 20) != 512)
		return bad("blk_size", mmio_read32(c + 20), 512);
	if (rd16(c + 34) != 1)
		return bad("num_queues", rd16(c + 34), 1);
	/* Reads that end past the 60-byte config space read 0. */
	if (mmio_read32(c + 58) || rd8(c + 60) || mmio_read32(c + 0xfc))
		return bad("read past the config space", mmio_read32(c + 58), 0);

	mmio_write32(c, 0xffffffff);
	wr64(c, ~0ULL);
	wr8(c + 1, 0xff);
	mmio_write32(c + 20, 1);
	mmio_write32(c + 58, 0xffffffff);
	mmio_write32(c + 60, 0xffffffff);
	wr16(c + 0xfe, 0xffff);
	mmio_write32(c + 0xfc, 0xffffffff);
	if (rd64(c) != DISK_SECTORS)
		return bad("capacity after config writes", rd64(c), DISK_SECTORS);
	if (mmio_read32(c + 20) != 512)
		return bad("blk_size after config writes", mmio_read32(c + 20), 512);
	if (rd(d, R_CONFIG_GEN) != gen)
		return bad("ConfigGeneration changed", rd(d, R_CONFIG_GEN), gen);
	return 0;
}

static int check_rng_config(struct dev *d)
{
	mmio_write32(d->base + R_CONFIG, 0xffffffff);
	wr8(d->base + R_CONFIG + 0x80, 0xff);
	if (mmio_read32(d->base + R_CONFIG) || rd8(d->base + R_CONFIG + 0x80))
		return bad("virtio-rng has no config space: read", mmio_read32(d->base + R_CONFIG),
			   0);
	return check_id(d);
}

/* QueueSel past the device's queues: QueueNumMax 0, writes go nowhere. */
static int check_queue_sel(struct dev *d)
{
	static const u32 sels[] = { 1, 8, 99, 0xffffffff };

	wr(d, R_STATUS, 0);
	wr(d, R_STATUS, S_ACK);
	wr(d, R_STATUS, S_ACK | S_DRIVER);
	for (u32 i = 0; i < ARRAY_SIZE(sels); i++) {
		wr(d, R_QUEUE_SEL, sels[i]);
		if (rd(d, R_QUEUE_NUM_MAX) || rd(d, R_QUEUE_READY))
			return bad("QueueNumMax/QueueReady for QueueSel (in want)",
				   rd(d, R_QUEUE_NUM_MAX), sels[i]);
		wr(d, R_QUEUE_NUM, 8);
		wr(d, R_DESC_LO, 0xf0000000);
		wr(d, R_AVAIL_LO, 0xf0000000);
		wr(d, R_USED_LO, 0xf0000000);
		wr(d, R_QUEUE_READY, 1);
		if (rd(d, R_QUEUE_READY))
			return bad("QueueReady for QueueSel (in want)", 1, sels[i]);
		wr(d, R_QUEUE_NOTIFY, sels[i]);
	}
	wr(d, R_QUEUE_SEL, 0);
	if (rd(d, R_QUEUE_NUM_MAX) != 256 || rd(d, R_QUEUE_READY))
		return bad("queue 0 after writes to other QueueSels: QueueNumMax",
			   rd(d, R_QUEUE_NUM_MAX), 256);
	/* Queue 0 never became ready: DRIVER_OK is fine, with no queue live. */
	wr(d, R_DRV_FEAT_SEL, 1);
	wr(d, R_DRV_FEAT, F_VERSION_1);
	wr(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	wr(d, R_STATUS, S_LIVE);
	if (rd(d, R_STATUS) != S_LIVE)
		return bad("status, DRIVER_OK with no queue ready", rd(d, R_STATUS), S_LIVE);
	wr(d, R_QUEUE_NOTIFY, 0);
	wr(d, R_STATUS, 0);
	return check_id(d);
}

/* The status machine (3.1.1): one bit at a time, in order, or the write is
 * refused and the device never goes live; FAILED is taken at any time. */
static int check_status_order(struct dev *d)
{
	u32 s;

	wr(d, R_STATUS, 0);
	wr(d, R_STATUS, S_DRIVER); /* DRIVER before ACKNOWLEDGE */
	s = rd(d, R_STATUS);
	if (s)
		return bad("status after DRIVER alone", s, 0);
	wr(d, R_STATUS, S_ACK);
	wr(d, R_DRV_FEAT_SEL, 1);
	wr(d, R_DRV_FEAT, F_VERSION_1);
	wr(d, R_STATUS, S_ACK | S_FEATURES_OK); /* DRIVER skipped */
	wr(d, R_STATUS, S_ACK | S_FEATURES_OK | S_DRIVER_OK);
	s = rd(d, R_STATUS);
	if (s != S_ACK)
		return bad("status after skipping DRIVER", s, S_ACK);
	wr(d, R_STATUS, S_ACK | S_FAILED);
	wr(d, R_STATUS, S_ACK | S_DRIVER | S_FAILED);
	s = rd(d, R_STATUS);
	wr(d, R_STATUS, 0);
	if (s != (S_ACK | S_FAILED))
		return bad("status after FAILED", s, S_ACK | S_FAILED);
	return 0;
}

static void registers(void)
{
	report("features-blk", check_features(&blk));
	report("features-rng", check_features(&rng));
	report("features-not-offered-refused", check_feature_refusal(&rng));
	report("read-only-registers-rng", check_read_only(&rng));
	report("read-only-registers-blk", check_read_only(&blk));
	report("odd-width-registers", check_odd_width(&rng));
	report("reserved-registers", check_reserved(&rng));
	report("past-the-registers", check_past_regs(&blk));
	report("config-blk", check_blk_config(&blk));
	report("config-rng-empty", check_rng_config(&rng));
	report("queue-sel-out-of-range", check_queue_sel(&rng));
	report("status-order-and-failed", check_status_order(&rng));
}

/* Reads and writes where no device lives in the MMIO window. */
static void mmio_window(void)
{
	const u32 addrs[] = { 0xc0000000, nodev_base, nodev_base + 0x50,
			      0xd001f000, 0xdf000000, 0xdffffffc };
	u32 v;

	/* The boot-marker page: offset 0 is the marker, the rest reads 0. */
	mmio_write32(LAYOUT_BOOT_MARKER + 0x800, 0x7b7b7b7b);
	wr8(LAYOUT_BOOT_MARKER + 0x801, 123);
	v = mmio_read32(LAYOUT_BOOT_MARKER + 0x800);
	if (v) {
		fail("mmio-window", "read in the boot-marker page", v, 0);
		return;
	}
	for (u32 i = 0; i < ARRAY_SIZE(addrs); i++) {
		mmio_write32(addrs[i], 0);
		wr8(addrs[i] + 1, 0xff);
		wr64(addrs[i] & ~7u, ~0ULL);
		v = mmio_read32(addrs[i]);
		if (v != 0xffffffff) {
			fail("mmio-window", "read where no device lives", v, 0xffffffff);
			return;
		}
	}
	if (check_id(&blk) || check_id(&rng))
		fail("mmio-window", err.what, err.got, err.want);
	else
		pass("mmio-window");
}

/* ---- correct requests ---- */

static int test_rng_ok(struct dev *d)
{
	u32 isr;

	area_begin(d);
	if (dev_up(d) || rng_request(d))
		return -1;
	isr = rd(d, R_ISR);
	if (isr != ISR_USED)
		return bad("InterruptStatus after a used buffer", isr, ISR_USED);
	wr(d, R_ISR_ACK, ISR_USED);
	if (rd(d, R_ISR))
		return bad("InterruptStatus after InterruptACK", rd(d, R_ISR), 0);
	/* A second request on the same queue. */
	if (rng_request(d))
		return -1;
	wr(d, R_ISR_ACK, 0xffffffff);
	return area_check(d);
}

/* VIRTQ_AVAIL_F_NO_INTERRUPT: the buffer is used, no interrupt is raised. */
static int test_rng_no_interrupt(struct dev *d)
{
	area_begin(d);
	if (dev_up(d))
		return -1;
	*(volatile u16 *)d->avail = 1;
	if (rng_request(d))
		return -1;
	if (rd(d, R_ISR))
		return bad("InterruptStatus with VIRTQ_AVAIL_F_NO_INTERRUPT", rd(d, R_ISR), 0);
	return area_check(d);
}

/*
 * VIRTIO_F_EVENT_IDX (2.7.10): after draining the ring the device publishes
 * avail_event (inside the used ring), and interrupts only when the used
 * index passes the driver's used_event.
 */
static int test_rng_event_idx(struct dev *d)
{
	static const struct {
		u16 used_event;
		u32 isr;
	} t[] = { { 0, ISR_USED }, { 5, 0 }, { 2, ISR_USED } };
	u32 a = d->area, s, isr;
	volatile u16 *used_event = (volatile u16 *)(a + A_AVAIL + 4 + 2 * QSIZE);
	volatile u16 *avail_event = (volatile u16 *)(a + A_USED + 4 + 8 * QSIZE);

	area_begin(d);
	if (dev_start_feat(d, F_INDIRECT | F_EVENT_IDX, QSIZE, a + A_DESC, a + A_AVAIL, a + A_USED,
			   &s))
		return -1;
	if (s != S_LIVE)
		return bad("status after DRIVER_OK", s, S_LIVE);
	for (u32 i = 0; i < ARRAY_SIZE(t); i++) {
		*used_event = t[i].used_event;
		if (rng_request(d))
			return -1;
		/* The register read waits for the device lock: the worker is
		 * done with the ring by then. */
		isr = rd(d, R_ISR);
		wr(d, R_ISR_ACK, isr);
		if (isr != t[i].isr)
			return bad("InterruptStatus for used_event (in want bits 31:16)", isr,
				   t[i].isr | (u32)t[i].used_event << 16);
		if (*avail_event != d->avail_idx)
			return bad("avail_event after the ring drained", *avail_event,
				   d->avail_idx);
	}
	return area_check(d);
}

/* Ring registers written while the device is live are ignored. */
static int test_live_ring_regs(struct dev *d)
{
	area_begin(d);
	if (dev_up(d))
		return -1;
	wr(d, R_QUEUE_NUM, 3);
	wr(d, R_DESC_LO, 0xf0000000);
	wr(d, R_AVAIL_LO, 0xf0000000);
	wr(d, R_USED_LO, 0xf0000000);
	wr(d, R_USED_HI, 1);
	wr(d, R_QUEUE_READY, 0);
	wr(d, R_DRV_FEAT_SEL, 0);
	wr(d, R_DRV_FEAT, 0xffffffff);
	wr(d, R_STATUS, S_LIVE); /* DRIVER_OK again: no second go-live */
	if (rd(d, R_QUEUE_READY) != 1)
		return bad("QueueReady after writes while live", rd(d, R_QUEUE_READY), 1);
	/* Odd notifications: the wrong queue, the wrong width. */
	wr(d, R_QUEUE_NOTIFY, 99);
	wr(d, R_QUEUE_NOTIFY, 0xffffffff);
	wr8(d->base + R_QUEUE_NOTIFY, 0);
	wr16(d->base + R_QUEUE_NOTIFY, 0);
	if (rng_request(d))
		return -1;
	return area_check(d);
}

/* A good chain and a bad one in the same batch: the first completes. */
static int test_good_then_bad(struct dev *d)
{
	u32 buf = d->area + A_DATA;
	int w;

	area_begin(d);
	if (dev_up(d))
		return -1;
	set_desc(d->desc, 0, buf, 64, D_WRITE, 0);
	set_desc(d->desc, 1, 0xf0000000, 64, D_WRITE, 0);
	publish(d, 0);
	publish(d, 1);
	notify(d);
	w = wait_dev(d, 0);
	if (w == W_USED)
		w = wait_dev(d, 1);
	if (w == W_USED)
		return bad("the bad chain completed too: used idx", used_idx(d), 1);
	if (w == W_TIMEOUT)
		return bad("no DEVICE_NEEDS_RESET (timed out): status", rd(d, R_STATUS),
			   S_LIVE | S_NEEDS_RESET);
	if (used_idx(d) != 1 || used_id(d, 0) != 0 || used_len(d, 0) != 64)
		return bad("the good chain before the bad one: used idx", used_idx(d), 1);
	mark(buf, 64);
	return expect_reset(d, 1);
}

/* Rings in the very last bytes of RAM: valid. */
static int test_rings_at_top(struct dev *d)
{
	u32 page = ram_top - 0x1000, buf = ram_top - 0x400, s;

	/* Earlier cases offered buffers that cross the end of RAM: none of
	 * them may have written here. */
	if (changed(page, 0x1000))
		return bad("last page of RAM changed at", changed(page, 0x1000), 0);
	fill(page, 0x1000);
	for (u32 x = page; x < page + 0x100; x += 4)
		*(volatile u32 *)x = 0;
	for (u32 x = ram_top - 72; x < ram_top; x += 4)
		*(volatile u32 *)x = 0;
	nmarks = 0;
	mark(page, 0x100);
	mark(ram_top - 72, 72);
	/* desc at the page start, avail at +0x80, used ends at the last byte */
	if (dev_start(d, QSIZE, page, page + 0x80, ram_top - 72, &s))
		return -1;
	if (s != S_LIVE)
		return bad("status after DRIVER_OK", s, S_LIVE);
	set_desc(d->desc, 0, buf, 0x400, D_WRITE, 0);
	publish(d, 0);
	notify(d);
	if (wait_used(d, 0, 0x400))
		return -1;
	mark(buf, 0x400);
	for (u32 i = 0; i < nmarks; i++)
		refill(marks[i].a, marks[i].len);
	if (changed(page, 0x1000))
		return bad("last page of RAM changed at", changed(page, 0x1000), 0);
	wr(d, R_STATUS, 0);
	return 0;
}

/*
 * A writable buffer over the queue's own rings (the descriptor table, the
 * avail ring, the used ring). That memory is the driver's: ember does not
 * check a buffer against the rings (nor do QEMU or Firecracker), so it may
 * write its random bytes there and the rings then hold garbage; or it may
 * refuse the chain. Either way it must stay up and inside guest memory:
 * the request completes or the device needs a reset, nothing past the
 * rings changes, and after a reset a good request works.
 */
static int test_buffer_over_rings(struct dev *d, u32 off, u32 len)
{
	int w;

	area_begin(d);
	if (dev_up(d))
		return -1;
	set_desc(d->desc, 0, d->area + off, len, D_WRITE, 0);
	publish(d, 0);
	notify(d);
	w = wait_dev(d, 0);
	if (w == W_TIMEOUT && !(rd(d, R_STATUS) & S_NEEDS_RESET) && used_idx(d) == 0)
		return bad("neither used nor DEVICE_NEEDS_RESET: status", rd(d, R_STATUS), S_LIVE);
	wr(d, R_STATUS, 0);
	if (rd(d, R_STATUS))
		return bad("status after reset", rd(d, R_STATUS), 0);
	if (changed(d->area + A_RINGS, AREA_SIZE - A_RINGS))
		return bad("guest RAM past the rings changed at",
			   changed(d->area + A_RINGS, AREA_SIZE - A_RINGS), 0);
	phase = "after the reset: ";
	area_begin(d);
	if (dev_up(d) || rng_request(d))
		return -1;
	return area_check(d);
}

/* Queue layouts that DRIVER_OK must refuse with DEVICE_NEEDS_RESET. */
static int test_bad_layout(struct dev *d, u32 num, u64 desc, u64 avail, u64 used)
{
	u32 s;

	area_begin(d);
	if (dev_start(d, num, desc, avail, used, &s))
		return -1;
	return expect_reset_now(d, s);
}

static void rng_tests(void)
{
	struct dev *d = &rng;
	u32 a = d->area;

	report("rng-ok", test_rng_ok(d));
	report("rng-no-interrupt-flag", test_rng_no_interrupt(d));
	report("rng-event-idx", test_rng_event_idx(d));
	report("rng-ring-registers-while-live", test_live_ring_regs(d));
	for (u32 i = 0; i < ARRAY_SIZE(rng_cases); i++)
		report(rng_cases[i].name, run_case(d, &rng_cases[i]));
	report("rng-good-then-bad", test_good_then_bad(d));
	report("rng-rings-at-ram-top", test_rings_at_top(d));
	report("rng-buffer-over-desc-table", test_buffer_over_rings(d, A_DESC, 64));
	report("rng-buffer-over-avail-ring", test_buffer_over_rings(d, A_AVAIL, 16));
	report("rng-buffer-over-used-ring", test_buffer_over_rings(d, A_USED, 32));
	report("rng-queue-size-6", test_bad_layout(d, 6, a + A_DESC, a + A_AVAIL, a + A_USED));
	report("rng-queue-size-0", test_bad_layout(d, 0, a + A_DESC, a + A_AVAIL, a + A_USED));
	report("rng-queue-size-512", test_bad_layout(d, 512, a + A_DESC, a + A_AVAIL, a + A_USED));
	report("rng-queue-size-65536",
	       test_bad_layout(d, 0x10000, a + A_DESC, a + A_AVAIL, a + A_USED));
	report("rng-desc-ring-outside-ram",
	       test_bad_layout(d, QSIZE, 0xf0000000, a + A_AVAIL, a + A_USED));
	report("rng-avail-ring-above-4g",
	       test_bad_layout(d, QSIZE, a + A_DESC, (1ULL << 32) + A_AVAIL, a + A_USED));
	report("rng-used-ring-wraps",
	       test_bad_layout(d, QSIZE, a + A_DESC, a + A_AVAIL, 0xfffffffffffffff0ULL));
	report("rng-used-ring-crosses-ram-top",
	       test_bad_layout(d, QSIZE, a + A_DESC, a + A_AVAIL, ram_top - 68));
	report("rng-desc-ring-misaligned",
	       test_bad_layout(d, QSIZE, a + A_DESC + 8, a + A_AVAIL, a + A_USED));
	report("rng-used-ring-misaligned",
	       test_bad_layout(d, QSIZE, a + A_DESC, a + A_AVAIL, a + A_USED + 2));
}

/* ---- virtio-blk ---- */

static int test_blk_read0(struct dev *d)
{
	u32 isr;

	area_begin(d);
	if (dev_up(d) || blk_read(d, 0, sector0_byte))
		return -1;
	isr = rd(d, R_ISR);
	wr(d, R_ISR_ACK, isr);
	if (isr != ISR_USED)
		return bad("InterruptStatus after a used buffer", isr, ISR_USED);
	return area_check(d);
}

static u8 last_sector_byte(u32 j)
{
	return (u8)~sector0_byte(j);
}

/* The last sector, with the header and the data each split in two. */
static int test_blk_read_split(struct dev *d)
{
	u32 a = d->area;

	area_begin(d);
	if (dev_up(d))
		return -1;
	blk_hdr(d, BLK_T_IN, DISK_SECTORS - 1);
	set_desc(d->desc, 0, a + A_HDR, 8, D_NEXT, 5);
	set_desc(d->desc, 5, a + A_HDR + 8, 8, D_NEXT, 3);
	set_desc(d->desc, 3, a + A_DATA, 200, D_WRITE | D_NEXT, 7);
	set_desc(d->desc, 7, a + A_DATA2, 312, D_WRITE | D_NEXT, 1);
	set_desc(d->desc, 1, a + A_STATUS, 1, D_WRITE, 0);
	publish(d, 0);
	notify(d);
	if (wait_used(d, 0, 513))
		return -1;
	if (blk_status(d) != BLK_S_OK)
		return bad("status byte", blk_status(d), BLK_S_OK);
	for (u32 j = 0; j < 512; j++) {
		u32 at = j < 200 ? a + A_DATA + j : a + A_DATA2 + j - 200;

		if (*(volatile u8 *)at != last_sector_byte(j))
			return bad("sector data at byte", j, last_sector_byte(j));
	}
	mark(a + A_DATA, 200);
	mark(a + A_DATA2, 312);
	mark(a + A_STATUS, 1);
	return area_check(d);
}

static int test_blk_read_indirect(struct dev *d)
{
	u32 a = d->area;

	area_begin(d);
	if (dev_up(d))
		return -1;
	blk_hdr(d, BLK_T_IN, 0);
	set_desc(a + A_IND, 0, a + A_HDR, 16, D_NEXT, 2);
	set_desc(a + A_IND, 2, a + A_DATA, 512, D_WRITE | D_NEXT, 1);
	set_desc(a + A_IND, 1, a + A_STATUS, 1, D_WRITE, 0);
	set_desc(d->desc, 4, a + A_IND, 48, D_INDIRECT, 0);
	publish(d, 4);
	notify(d);
	if (wait_used(d, 4, 513))
		return -1;
	if (blk_status(d) != BLK_S_OK)
		return bad("status byte", blk_status(d), BLK_S_OK);
	for (u32 j = 0; j < 512; j++) {
		if (*(volatile u8 *)(a + A_DATA + j) != sector0_byte(j))
			return bad("sector data at byte", j, sector0_byte(j));
	}
	mark(a + A_DATA, 512);
	mark(a + A_STATUS, 1);
	return area_check(d);
}

static int simple_request(struct dev *d, u32 type, u64 sector, u32 data, u32 len, u16 dflags,
			  u32 used)
{
	u32 a = d->area;

	blk_hdr(d, type, sector);
	set_desc(d->desc, 0, a + A_HDR, 16, D_NEXT, len ? 1 : 2);
	set_desc(d->desc, 1, data, len, dflags | D_NEXT, 2);
	set_desc(d->desc, 2, a + A_STATUS, 1, D_WRITE, 0);
	publish(d, 0);
	notify(d);
	if (wait_used(d, 0, used))
		return -1;
	if (blk_status(d) != BLK_S_OK)
		return bad("status byte", blk_status(d), BLK_S_OK);
	mark(a + A_STATUS, 1);
	return 0;
}

/* Write sector 7, flush, read it back. */
static int test_blk_write(struct dev *d)
{
	u32 src = d->area + A_DATA2;

	area_begin(d);
	if (dev_up(d))
		return -1;
	for (u32 j = 0; j < 512; j++)
		*(volatile u8 *)(src + j) = written_byte(j);
	mark(src, 512);
	if (simple_request(d, BLK_T_OUT, WRITE_SECTOR, src, 512, 0, 1))
		return -1;
	phase = "flush: ";
	if (simple_request(d, BLK_T_FLUSH, 0, 0, 0, 0, 1))
		return -1;
	phase = "read back: ";
	if (blk_read(d, WRITE_SECTOR, written_byte))
		return -1;
	phase = NULL;
	return area_check(d);
}

/*
 * Reset while a request is in flight, then start again at once: the device
 * must not complete the old request into the new rings (after a reset the
 * driver reuses descriptor and ring memory), nor touch the old request's
 * buffers once Status has read back 0 (2.4, 4.2.2.1).
 *
 * Each round: a 504 KiB write of what sectors 8-1015 already hold (0xa5
 * bytes, one 4 KiB page offered 126 times through an indirect table), then
 * a flush. ember runs the flush's fdatasync() of those dirty pages with the
 * device lock dropped; as soon as the write completes the guest resets the
 * device and brings it up again on a second, prepared queue (Q2) with one
 * read of sector 0 already available. The first used entry in Q2 must be
 * that read. A race, so several rounds: a device that gets it wrong is
 * caught most of the time, one that gets it right always passes.
 */
#define Q2		 0x222000u /* desc; avail +0x100, used +0x180, header +0x300 */
#define Q2_STATUS	 (Q2 + 0x310)
#define Q2_DATA		 (Q2 + 0x400)
#define IN_FLIGHT_ROUNDS 4

static void q2_prepare(void)
{
	volatile u32 *h = (volatile u32 *)(Q2 + 0x300);

	for (u32 x = Q2; x < Q2 + 0x300; x += 4)
		*(volatile u32 *)x = 0;
	*(volatile u8 *)Q2_STATUS = 0xee;
	h[0] = BLK_T_IN;
	h[1] = h[2] = h[3] = 0;
	set_desc(Q2, 0, Q2 + 0x300, 16, D_NEXT, 1);
	set_desc(Q2, 1, Q2_DATA, 512, D_WRITE | D_NEXT, 2);
	set_desc(Q2, 2, Q2_STATUS, 1, D_WRITE, 0);
	*(volatile u16 *)(Q2 + 0x100 + 4) = 0; /* avail ring[0]: head 0 */
	*(volatile u16 *)(Q2 + 0x100 + 2) = 1; /* avail idx */
}

/* Reset, then the shortest start-up ember accepts (3.1.1, one status bit
 * at a time), on Q2. */
static void q2_start(struct dev *d)
{
	wr(d, R_STATUS, 0);
	wr(d, R_STATUS, S_ACK);
	wr(d, R_STATUS, S_ACK | S_DRIVER);
	wr(d, R_DRV_FEAT_SEL, 1);
	wr(d, R_DRV_FEAT, F_VERSION_1);
	wr(d, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	wr(d, R_QUEUE_NUM, QSIZE);
	wr(d, R_DESC_LO, Q2);
	wr(d, R_AVAIL_LO, Q2 + 0x100);
	wr(d, R_USED_LO, Q2 + 0x180);
	wr(d, R_QUEUE_READY, 1);
	wr(d, R_STATUS, S_LIVE);
	notify(d);
	d->desc = Q2;
	d->avail = Q2 + 0x100;
	d->used = Q2 + 0x180;
	d->avail_idx = 1;
	d->used_idx = 0;
}

static int in_flight_round(struct dev *d)
{
	u32 a = d->area, fl_hdr = a + A_HDR + 0x20, fl_status = a + A_STATUS + 8, s;
	volatile u32 *h = (volatile u32 *)fl_hdr;

	area_begin(d);
	if (dev_up(d))
		return -1;
	blk_hdr(d, BLK_T_OUT, BIG_SECTOR);
	set_desc(BIG_TABLE, 0, a + A_HDR, 16, D_NEXT, 1);
	for (u16 i = 1; i <= BIG_SEGS; i++)
		set_desc(BIG_TABLE, i, BIG_PAGE, 0x1000, D_NEXT, i + 1);
	set_desc(BIG_TABLE, BIG_SEGS + 1, a + A_STATUS, 1, D_WRITE, 0);
	set_desc(d->desc, 0, BIG_TABLE, 16 * (BIG_SEGS + 2), D_INDIRECT, 0);
	h[0] = BLK_T_FLUSH;
	h[1] = h[2] = h[3] = 0;
	set_desc(d->desc, 3, fl_hdr, 16, D_NEXT, 4);
	set_desc(d->desc, 4, fl_status, 1, D_WRITE, 0);
	mark(fl_hdr, 16);
	mark(fl_status, 1);
	mark(a + A_STATUS, 1);
	publish(d, 0);
	publish(d, 3);
	q2_prepare();
	notify(d);
	/* The write's completion (the flush may follow at once). */
	if (wait_dev(d, 0) != W_USED)
		return bad("the write before the flush did not complete: status", rd(d, R_STATUS),
			   S_LIVE);
	if (used_id(d, 0) != 0 || blk_status(d) != BLK_S_OK)
		return bad("the write before the flush: used id", used_id(d, 0), 0);

	q2_start(d);
	if (wait_dev(d, 0) != W_USED)
		return bad("no used entry after the reset: status", rd(d, R_STATUS), S_LIVE);
	if (used_id(d, 0) != 0 || used_len(d, 0) != 513)
		return bad("the first used entry after the reset is not the new read (id, "
			   "len << 16; the flush from before the reset is id 3 len 1)",
			   used_id(d, 0) | used_len(d, 0) << 16, 513 << 16);
	s = rd(d, R_STATUS);
	if (s != S_LIVE)
		return bad("status after the reset and restart", s, S_LIVE);
	if (used_idx(d) != 1)
		return bad("used entries after the reset", used_idx(d), 1);
	if (*(volatile u8 *)Q2_STATUS != BLK_S_OK)
		return bad("status byte of the read", *(volatile u8 *)Q2_STATUS, BLK_S_OK);
	for (u32 j = 0; j < 512; j++) {
		if (*(volatile u8 *)(Q2_DATA + j) != sector0_byte(j))
			return bad("sector 0 data at byte", j, sector0_byte(j));
	}
	return area_check(d);
}

static int test_blk_reset_in_flight(struct dev *d)
{
	static char round_phase[] = "round N: ";

	for (u32 x = BIG_PAGE; x < BIG_PAGE + 0x1000; x += 4)
		*(volatile u32 *)x = 0xa5a5a5a5;
	for (u32 r = 0; r < IN_FLIGHT_ROUNDS; r++) {
		round_phase[6] = (char)('1' + r);
		phase = round_phase;
		if (in_flight_round(d))
			return -1;
	}
	phase = NULL;
	wr(d, R_STATUS, 0);
	return 0;
}

static int test_blk_get_id(struct dev *d)
{
	static const char id[20] = DISK_ID;
	u32 buf = d->area + A_DATA;

	area_begin(d);
	if (dev_up(d))
		return -1;
	if (simple_request(d, BLK_T_GET_ID, 0, buf, 20, D_WRITE, 21))
		return -1;
	for (u32 i = 0; i < 20; i++) {
		if (*(volatile u8 *)(buf + i) != (u8)id[i])
			return bad("id byte (index in want bits 15:8)", *(volatile u8 *)(buf + i),
				   (u8)id[i] | i << 8);
	}
	mark(buf, 20);
	return area_check(d);
}

static void blk_tests(void)
{
	struct dev *d = &blk;
	u32 a = d->area;

	report("blk-read-sector-0", test_blk_read0(d));
	report("blk-read-split-buffers", test_blk_read_split(d));
	report("blk-read-indirect", test_blk_read_indirect(d));
	report("blk-write-flush-read-back", test_blk_write(d));
	report("blk-get-id", test_blk_get_id(d));
	report("blk-reset-with-request-in-flight", test_blk_reset_in_flight(d));
	for (u32 i = 0; i < ARRAY_SIZE(blk_cases); i++)
		report(blk_cases[i].name, run_case(d, &blk_cases[i]));
	report("blk-rings-outside-ram",
	       test_bad_layout(d, QSIZE, a + A_DESC, a + A_AVAIL, ram_top));
	/* The written sector is still there after all that. */
	area_begin(d);
	report("blk-read-back-at-end",
	       dev_up(d) || blk_read(d, WRITE_SECTOR, written_byte) || area_check(d));
	wr(d, R_STATUS, 0);
}

/* ---- main ---- */

static int find_ram_top(void)
{
	const struct hvm_start_info *si = (const void *)boot_state.ebx;
	const struct hvm_memmap_table_entry *mm;

	if (!si || si->magic != HVM_START_MAGIC)
		return bad("no start_info", boot_state.ebx, LAYOUT_START_INFO);
	mm = (const void *)(u32)si->memmap_paddr;
	for (u32 i = 0; i < si->memmap_entries; i++) {
		u64 end = mm[i].addr + mm[i].size;

		if (mm[i].type == HVM_MEMMAP_RAM && end <= LAYOUT_MMIO_START && end > ram_top)
			ram_top = (u32)end;
	}
	if (ram_top < 16 * MiB)
		return bad("RAM below 4 GiB ends too low (run with --memory 64M)", ram_top,
			   64 * MiB);
	return 0;
}

void tg_main(void);

void tg_main(void)
{
	u32 at;

	tg_setup_idt();
	uart_puts("hostileguest: virtio-mmio hostile-driver checks\n");
	if (find_ram_top()) {
		fail("ram-top", err.what, err.got, err.want);
		finish();
	}
	fill(CANARY, 0x1000);
	fill(ram_top - 0x1000, 0x1000);

	discovery();
	if (failed)
		finish(); /* no devices where expected: nothing else makes sense */
	registers();
	mmio_window();
	rng_tests();
	fill(ram_top - 0x1000, 0x1000); /* rng-rings-at-ram-top used it */
	blk_tests();
	virtio_more_tests();
	legacy_tests();

	at = changed(CANARY, 0x1000);
	if (!at)
		at = changed(ram_top - 0x1000, 0x1000);
	if (at)
		fail("canary-pages", "a page nobody was offered changed at", at, 0);
	else
		pass("canary-pages");
	report("devices-alive", check_id(&blk) || check_id(&rng));
	finish();
}
