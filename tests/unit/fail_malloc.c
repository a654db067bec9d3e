// SPDX-License-Identifier: MIT
/*
 * Allocation failure on demand: the unit binaries link with
 * -Wl,--wrap=malloc, so every malloc() in ember's sources (not libc's own,
 * nor json-c's) comes here, and fails while a test sets unit_fail_malloc.
 */
#include <stdbool.h>
#include <stddef.h>

bool unit_fail_malloc;

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);

void *__wrap_malloc(size_t n)
{
	return unit_fail_malloc ? NULL : __real_malloc(n);
}
