// SPDX-License-Identifier: MIT
/*
 * Reaching RAM above 4 GiB from 32-bit code: turn on PAE paging just long
 * enough for one access. The first GiB is identity-mapped with 2 MiB pages
 * (the guest's code, data and stack all live there); the 2 MiB page holding
 * the target is mapped at virtual 1 GiB. Paging goes off again before
 * returning, so the rest of the guest keeps its flat physical view (the
 * local APIC at 0xFEE00000 is not mapped while paging is on).
 */
#include "tg.h"

#define X86_CR0_PG  0x80000000u
#define X86_CR4_PAE 0x00000020u
#define PTE_P	    (1ULL << 0)
#define PTE_RW	    (1ULL << 1)
#define PTE_PS	    (1ULL << 7)
#define LARGE_PAGE  (2 * MiB)
#define WINDOW	    0x40000000u /* virtual address of the mapped 2 MiB page */

static u64 pdpt[4] __attribute__((aligned(32)));
static u64 pd_low[512] __attribute__((aligned(4096)));
static u64 pd_window[512] __attribute__((aligned(4096)));

bool highmem_rw(u64 paddr, u32 pattern, u32 *got)
{
	u64 page = paddr & ~(LARGE_PAGE - 1);
	volatile u32 *p = (volatile u32 *)(WINDOW + (u32)(paddr - page));
	u32 cr0, cr4, old;

	for (u32 i = 0; i < 512; i++)
		pd_low[i] = (u64)i * LARGE_PAGE | PTE_PS | PTE_RW | PTE_P;
	pd_window[0] = page | PTE_PS | PTE_RW | PTE_P;
	/* PAE PDPTEs take only the present bit. */
	pdpt[0] = (u32)pd_low | PTE_P;
	pdpt[1] = (u32)pd_window | PTE_P;

	asm volatile("movl %%cr0, %0; movl %%cr4, %1" : "=r"(cr0), "=r"(cr4));
	asm volatile("movl %0, %%cr3\n\t"
		     "movl %1, %%cr4\n\t"
		     "movl %2, %%cr0"
		     :
		     : "r"((u32)pdpt), "r"(cr4 | X86_CR4_PAE), "r"(cr0 | X86_CR0_PG)
		     : "memory");
	old = *p;
	*p = pattern;
	*got = *p;
	*p = old;
	asm volatile("movl %0, %%cr0\n\t"
		     "movl %1, %%cr4"
		     :
		     : "r"(cr0), "r"(cr4)
		     : "memory");
	return *got == pattern;
}
