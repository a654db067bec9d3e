/* SPDX-License-Identifier: MIT */
/*
 * testguest PVH entry: 32-bit protected mode, paging off, EBX = start_info.
 * The first instructions save the vCPU state exactly as the monitor set it;
 * only moves (which leave EFLAGS alone) run before pushfl. Then the guest
 * switches to its own stack and calls tg_main().
 */
#include "boot_state.h"
#include "pvh_note.h"

#define MSR_EFER	0xc0000080
#define MSR_MTRR_DEF	0x2ff
#define STACK_SIZE	16384

	PVH_NOTE(_start)

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	movl %ebx, boot_state + BS_EBX
	movl %esp, boot_state + BS_ESP
	movl $stack_top, %esp
	pushfl
	popl boot_state + BS_EFLAGS
	movl %cr0, %eax
	movl %eax, boot_state + BS_CR0
	movl %cr4, %eax
	movl %eax, boot_state + BS_CR4
	movl $MSR_EFER, %ecx
	rdmsr
	movl %eax, boot_state + BS_EFER_LO
	movl %edx, boot_state + BS_EFER_HI
	movl $MSR_MTRR_DEF, %ecx
	rdmsr
	movl %eax, boot_state + BS_MTRR_DEF
	movl %edx, boot_state + BS_MTRR_DEF_H
	xorl %eax, %eax
	movw %cs, %ax
	movl %eax, boot_state + BS_CS
	movw %ds, %ax
	movl %eax, boot_state + BS_DS
	movw %es, %ax
	movl %eax, boot_state + BS_ES
	movw %ss, %ax
	movl %eax, boot_state + BS_SS
	movw %fs, %ax
	movl %eax, boot_state + BS_FS
	movw %gs, %ax
	movl %eax, boot_state + BS_GS
	str %ax
	movl %eax, boot_state + BS_TR
	sgdt boot_state + BS_GDT_LIMIT
	sidt boot_state + BS_IDT_LIMIT

	cld
	call tg_main
1:	cli
	hlt
	jmp 1b

/*
 * Exception stubs for vectors 0-31: push a zero error code where the CPU
 * does not, then the vector, so every frame looks alike for tg_exception().
 */
#define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
			   (v) == 21 || (v) == 29 || (v) == 30)

	.text
	.p2align 4
	.globl exc_stubs
exc_stubs:
	.set vec, 0
	.rept 32
	.p2align 4
	.if (HAS_ERROR_CODE(vec)) == 0
	pushl $0
	.endif
	pushl $vec
	jmp exc_common
	.set vec, vec + 1
	.endr

exc_common:
	pushl %esp			/* struct exc_frame * */
	call tg_exception
2:	cli
	hlt
	jmp 2b

	.data
	.p2align 3
	.globl boot_state
boot_state:
	.fill BS_SIZE, 1, 0

	.bss
	.p2align 4
stack:
	.skip STACK_SIZE
stack_top:

	.section .note.GNU-stack, "", @progbits
