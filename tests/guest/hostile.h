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
	u32 v[2] = {(u32)x, (u32)(x >> 32)};

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
