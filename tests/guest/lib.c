// SPDX-License-Identifier: MIT
/*
 * The few C library functions the guest needs. gcc may also emit calls to
 * memcpy/memset on its own even with -ffreestanding, so these keep their
 * standard names. (guest.mk passes -fno-tree-loop-distribute-patterns so
 * that the loops below are not turned back into calls to themselves.)
 */
#include "tg.h"

void *memcpy(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	u8 *d = dst;

	while (n--)
		*d++ = (u8)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;

	for (; n; n--, x++, y++) {
		if (*x != *y)
			return *x - *y;
	}
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* ---- IDT: report any exception instead of triple-faulting ---- */

struct idt_gate {
	u16 off_lo, sel;
	u8 zero, type;
	u16 off_hi;
};

static struct idt_gate idt[32] __attribute__((aligned(8)));
extern char exc_stubs[];

void tg_setup_idt(void)
{
	struct {
		u16 pad, limit;
		u32 base;
	} idtr __attribute__((aligned(4)));
	u16 cs;

	asm volatile("movw %%cs, %0" : "=r"(cs));
	for (u32 v = 0; v < ARRAY_SIZE(idt); v++) {
		u32 stub = (u32)exc_stubs + 16 * v; /* entry.S aligns stubs to 16 */

		idt[v].off_lo = stub & 0xffff;
		idt[v].off_hi = stub >> 16;
		idt[v].sel = cs;
		idt[v].zero = 0;
		idt[v].type = 0x8e; /* present, DPL 0, 32-bit interrupt gate */
	}
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (u32)idt;
	asm volatile("lidt %0" : : "m"(idtr.limit));
}
