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
