/* SPDX-License-Identifier: MIT */
/*
 * hostileguest: what its parts share (hostile.c: reporting, main and the
 * virtio-blk/rng attacks; hostile_legacy.c: IOAPIC, UART, CMOS, i8042).
 */
#ifndef HOSTILE_H
#define HOSTILE_H

#include "tg.h"
#include "boot/layout.h"

#define I8042_CMD_RESET 0xfe

/* ---- reporting (hostile.c) ---- */

/* The first thing that went wrong inside a test, reported by report(). */
struct hg_err {
	const char *what;
	u64 got, want;
};
extern struct hg_err err;
/* Printed before a failure's detail: where in a test it happened. */
extern const char *phase;
extern u32 ram_top; /* end of the RAM block below 4 GiB */

/* Record the failure (returns -1); report() prints it or "ok NAME". */
int bad(const char *what, u64 got, u64 want);
void report(const char *name, int rc);
/* The closing line, then an i8042 reset. */
void finish(void) __attribute__((noreturn));

/* hostile_legacy.c: every check of the legacy devices and the IOAPIC. */
void legacy_tests(void);
/* hostile_virtio.c: virtio-net, virtio-vsock, virtio-console. */
void virtio_more_tests(void);

/* ---- virtio-mmio v2 registers (virtio 1.2, 4.2.2) ---- */

#define R_MAGIC		0x000
#define R_VERSION	0x004
#define R_DEVICE_ID	0x008
#define R_VENDOR_ID	0x00c
#define R_DEV_FEAT	0x010
#define R_DEV_FEAT_SEL	0x014
#define R_DRV_FEAT	0x020
#define R_DRV_FEAT_SEL	0x024
#define R_QUEUE_SEL	0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM	0x038
#define R_QUEUE_READY	0x044
#define R_QUEUE_NOTIFY	0x050
#define R_ISR		0x060
#define R_ISR_ACK	0x064
#define R_STATUS	0x070
#define R_DESC_LO	0x080
#define R_DESC_HI	0x084
#define R_AVAIL_LO	0x090
#define R_AVAIL_HI	0x094
#define R_USED_LO	0x0a0
#define R_USED_HI	0x0a4
#define R_CONFIG_GEN	0x0fc
#define R_CONFIG	0x100
#define REGS_SIZE	0x200 /* what ember claims of each 4 KiB slot */

#define MAGIC_VIRT 0x74726976

#define S_ACK	      1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64
#define S_FAILED      128
#define S_LIVE	      (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK)

#define ISR_USED   1
#define ISR_CONFIG 2

#define F_INDIRECT  (1u << 28) /* low word */
#define F_EVENT_IDX (1u << 29)
#define F_VERSION_1 (1u << 0) /* high word: bit 32 */

#define ID_BLOCK 2
#define ID_RNG	 4

#define D_NEXT	   1
#define D_WRITE	   2
#define D_INDIRECT 4

#define BLK_T_IN     0
#define BLK_T_OUT    1
#define BLK_T_FLUSH  4
#define BLK_T_GET_ID 8
#define BLK_S_OK     0
#define BLK_S_IOERR  1
#define BLK_S_UNSUPP 2

#define ID_NET	   1
#define ID_CONSOLE 3
#define ID_VSOCK   19

/* ---- guest memory used by the tests ---- */

#define QSIZE	  8
#define AREA_BLK  0x200000u
#define AREA_RNG  0x201000u
#define AREA_SIZE 0xa00u
#define CANARY	  0x3f0000u /* one page nobody is ever offered */
/*
 * Offsets in a device's area. Rings for QSIZE 8: desc 128 bytes, avail 22,
 * used 70. The 128 bytes after the descriptor table are where entries 8..15
 * would be: cases with an index past the queue put a valid descriptor there
 * (a trap), so a device that followed the index would complete the chain.
 * Everything from A_DATA2 + 512 to the end of the area is never offered.
 */
#define A_DESC	 0x000
#define A_AVAIL	 0x100
#define A_USED	 0x180
#define A_IND	 0x200
#define A_RINGS	 0x300 /* end of the ring part */
#define A_HDR	 0x300
#define A_STATUS 0x310
#define A_DATA	 0x400
#define A_DATA2	 0x600

#define SPIN_MAX (1u << 21)

struct vdesc {
	u64 addr;
	u32 len;
	u16 flags, next;
};

struct dev {
	u32 base, area;
	u16 q; /* the queue (QueueSel, QueueNotify) */
	u32 id;
	u32 desc, avail, used; /* ring addresses of the current set-up */
	u16 qsize;
	u16 avail_idx, used_idx;
};

enum { W_TIMEOUT, W_USED, W_RESET };

/* hostile.c: the driver's side of a queue (struct dev is one queue). */
u32 find_dev(u32 id);
u32 rd(const struct dev *d, u32 off);
void wr(const struct dev *d, u32 off, u32 v);
volatile struct vdesc *desc_at(u32 table, u16 i);
void set_desc(u32 table, u16 i, u64 addr, u32 len, u16 flags, u16 next);
u16 used_idx(const struct dev *d);
u32 used_id(const struct dev *d, u16 slot);
u32 used_len(const struct dev *d, u16 slot);
/* Rings of d's area zeroed, the rest filled with the pattern; the check
 * wants the pattern back everywhere but in mark()ed ranges. */
void area_begin(struct dev *d);
int area_check(const struct dev *d);
void mark(u32 a, u32 len);
void marks_clear(void);
/* Reset, then the start-up up to FEATURES_OK / with d's queue live. */
int dev_features(struct dev *d, u32 lo, u32 hi);
int dev_start_feat(struct dev *d, u32 feat, u32 num, u64 desc, u64 avail, u64 used, u32 *status);
int dev_start(struct dev *d, u32 num, u64 desc, u64 avail, u64 used, u32 *status);
int dev_up(struct dev *d);
void publish(struct dev *d, u16 head);
void notify(struct dev *d);
int wait_dev(const struct dev *d, u16 from);
int wait_used(struct dev *d, u16 head, u32 len);
int check_id(const struct dev *d);

/* ---- MMIO of every width ---- */

static inline void barrier(void)
{
	asm volatile("" ::: "memory");
}

static inline u8 rd8(u32 a)
{
	return *(volatile u8 *)a;
}

static inline u16 rd16(u32 a)
{
	return *(volatile u16 *)a;
}

static inline void wr8(u32 a, u8 v)
{
	*(volatile u8 *)a = v;
}

static inline void wr16(u32 a, u16 v)
{
	*(volatile u16 *)a = v;
}

/* 8-byte accesses in 32-bit mode: one MMX movq each (CR0.EM and TS are clear
 * at the PVH entry). No emms: nothing here uses the x87, and an emulating
 * /dev/kvm may not know the instruction (KVM's emulator does not). */
static inline u64 rd64(u32 a)
{
	u32 v[2];

	asm volatile("movq (%1), %%mm0\n\tmovq %%mm0, (%0)" : : "r"(v), "r"(a) : "memory");
	return v[0] | (u64)v[1] << 32;
}

static inline void wr64(u32 a, u64 x)
{
	u32 v[2] = { (u32)x, (u32)(x >> 32) };

	asm volatile("movq (%0), %%mm0\n\tmovq %%mm0, (%1)" : : "r"(v), "r"(a) : "memory");
}

static inline u16 inw(u16 port)
{
	u16 v;

	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u32 inl(u16 port)
{
	u32 v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outw(u16 port, u16 v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(u16 port, u32 v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

/* ---- guest RAM patterns ---- */

/* Cheap (the guest runs on an emulator) and different at every address. */
static inline u32 pat(u32 a)
{
	return a ^ (a << 15) ^ 0x5ca1ab1eu;
}

static inline u8 pat_byte(u32 a)
{
	return (u8)(pat(a & ~3u) >> (8 * (a & 3)));
}

static inline void fill(u32 a, u32 len)
{
	for (u32 x = a; x < a + len; x += 4)
		*(volatile u32 *)x = pat(x);
}

static inline void refill(u32 a, u32 len)
{
	u32 x = a, end = a + len;

	for (; x < end && (x & 3); x++)
		*(volatile u8 *)x = pat_byte(x);
	for (; x + 4 <= end; x += 4)
		*(volatile u32 *)x = pat(x);
	for (; x < end; x++)
		*(volatile u8 *)x = pat_byte(x);
}

/* Address of the first word that is not the pattern, or 0. */
static inline u32 changed(u32 a, u32 len)
{
	for (u32 x = a; x < a + len; x += 4) {
		if (*(volatile u32 *)x != pat(x))
			return x;
	}
	return 0;
}

#endif
