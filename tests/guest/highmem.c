// SPDX-License-Identifier: MIT
/*
 * Reaching RAM above 4 GiB from 32-bit code: turn on 4-level (long mode)
 * paging just long enough for one access, staying in 32-bit compatibility
 * mode (CS is still ember's 32-bit segment, so no 64-bit code is needed).
 * The first GiB is identity-mapped with 2 MiB pages (the guest's code, data
 * and stack all live there); the 2 MiB page holding the target is mapped at
 * virtual 1 GiB. Paging and EFER.LME go off again before returning.
 *
 * Not legacy PAE paging: on this project's emulated /dev/kvm, setting
 * CR0.PG with CR4.PAE and EFER.LME clear triple-faults (measured), while
 * long mode paging, which Linux uses, works.
 *
 * No interrupt may arrive meanwhile (IF is clear) and no exception may
 * happen: in IA-32e mode the CPU would read the 32-bit IDT as 64-bit gates.
 */
#include "tg.h"

#define X86_CR0_PG  0x80000000u
#define X86_CR4_PAE 0x00000020u
#define MSR_EFER    0xc0000080u
#define EFER_LME    (1u << 8)
#define PTE_P	    (1ULL << 0)
#define PTE_RW	    (1ULL << 1)
#define PTE_PS	    (1ULL << 7)
#define LARGE_PAGE  (2 * MiB)
#define WINDOW	    0x40000000u /* virtual address of the mapped 2 MiB page */

static u64 pml4[512] __attribute__((aligned(4096)));
static u64 pdpt[512] __attribute__((aligned(4096)));
static u64 pd_low[512] __attribute__((aligned(4096)));
static u64 pd_window[512] __attribute__((aligned(4096)));

static void wrmsr(u32 msr, u64 v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

bool highmem_rw(u64 paddr, u32 pattern, u32 *got)
{
	u64 page = paddr & ~(LARGE_PAGE - 1);
	volatile u32 *p = (volatile u32 *)(WINDOW + (u32)(paddr - page));
	u64 efer = rdmsr(MSR_EFER);
	u32 cr0, cr4, old;

	for (u32 i = 0; i < 512; i++)
		pd_low[i] = (u64)i * LARGE_PAGE | PTE_PS | PTE_RW | PTE_P;
	pd_window[0] = page | PTE_PS | PTE_RW | PTE_P;
	pdpt[0] = (u32)pd_low | PTE_RW | PTE_P;
	pdpt[1] = (u32)pd_window | PTE_RW | PTE_P;
	pml4[0] = (u32)pdpt | PTE_RW | PTE_P;

	asm volatile("movl %%cr0, %0; movl %%cr4, %1" : "=r"(cr0), "=r"(cr4));
	asm volatile("movl %0, %%cr3\n\t"
		     "movl %1, %%cr4"
		     :
		     : "r"((u32)pml4), "r"(cr4 | X86_CR4_PAE)
		     : "memory");
	wrmsr(MSR_EFER, efer | EFER_LME);
	asm volatile("movl %0, %%cr0" : : "r"(cr0 | X86_CR0_PG) : "memory");
	old = *p;
	*p = pattern;
	*got = *p;
	*p = old;
	asm volatile("movl %0, %%cr0" : : "r"(cr0) : "memory");
	wrmsr(MSR_EFER, efer);
	asm volatile("movl %0, %%cr4" : : "r"(cr4) : "memory");
	return *got == pattern;
}
