/* SPDX-License-Identifier: MIT */
/*
 * The vCPU state at the PVH entry, saved by entry.S before any instruction
 * that could change it. The offsets are shared with the assembly, and
 * checked against the struct below.
 */
#ifndef TG_BOOT_STATE_H
#define TG_BOOT_STATE_H

#define BS_EBX	      0
#define BS_ESP	      4
#define BS_EFLAGS     8
#define BS_CR0	      12
#define BS_CR4	      16
#define BS_EFER_LO    20
#define BS_EFER_HI    24
#define BS_MTRR_DEF   28 /* low 32 bits of MSR 0x2FF */
#define BS_CS	      32
#define BS_DS	      36
#define BS_ES	      40
#define BS_SS	      44
#define BS_FS	      48
#define BS_GS	      52
#define BS_TR	      56
#define BS_GDT_LIMIT  62 /* sgdt stores limit (2 bytes) then base (4 bytes) */
#define BS_GDT_BASE   64
#define BS_IDT_LIMIT  70
#define BS_IDT_BASE   72
#define BS_MTRR_DEF_H 76
#define BS_SIZE	      80

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

struct boot_state {
	uint32_t ebx, esp, eflags, cr0, cr4, efer_lo, efer_hi, mtrr_def;
	uint32_t cs, ds, es, ss, fs, gs, tr;
	uint16_t pad0, gdt_limit;
	uint32_t gdt_base;
	uint16_t pad1, idt_limit;
	uint32_t idt_base;
	uint32_t mtrr_def_hi;
};

_Static_assert(offsetof(struct boot_state, ebx) == BS_EBX, "BS_EBX");
_Static_assert(offsetof(struct boot_state, eflags) == BS_EFLAGS, "BS_EFLAGS");
_Static_assert(offsetof(struct boot_state, mtrr_def) == BS_MTRR_DEF, "BS_MTRR_DEF");
_Static_assert(offsetof(struct boot_state, cs) == BS_CS, "BS_CS");
_Static_assert(offsetof(struct boot_state, tr) == BS_TR, "BS_TR");
_Static_assert(offsetof(struct boot_state, gdt_limit) == BS_GDT_LIMIT, "BS_GDT_LIMIT");
_Static_assert(offsetof(struct boot_state, gdt_base) == BS_GDT_BASE, "BS_GDT_BASE");
_Static_assert(offsetof(struct boot_state, idt_limit) == BS_IDT_LIMIT, "BS_IDT_LIMIT");
_Static_assert(offsetof(struct boot_state, idt_base) == BS_IDT_BASE, "BS_IDT_BASE");
_Static_assert(offsetof(struct boot_state, mtrr_def_hi) == BS_MTRR_DEF_H, "BS_MTRR_DEF_H");
_Static_assert(sizeof(struct boot_state) == BS_SIZE, "BS_SIZE");
#endif

#endif
