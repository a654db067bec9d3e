/* SPDX-License-Identifier: MIT */
/*
 * AP start-up code, copied by smp.c to TRAMP_ADDR below 1 MiB. A SIPI with
 * vector TRAMP_ADDR >> 12 starts an AP here in real mode with
 * CS = TRAMP_ADDR >> 4, IP = 0. It stays in real mode: with DS = CS every
 * label below is reached by its offset from tramp_start. Each AP takes a
 * slot with `lock xadd` on tramp_count, stores its APIC ID (CPUID leaf 1
 * EBX[31:24]) in tramp_ids[slot], and halts for good.
 */
#define TRAMP_MAX_IDS 64

	.section .rodata.tramp, "a"
	.p2align 4
	.code16
	.globl tramp_start, tramp_count, tramp_ids, tramp_end
tramp_start:
	cli
	movw %cs, %ax
	movw %ax, %ds
	movl $1, %eax
	cpuid
	shrl $24, %ebx
	movl $1, %eax
	lock xaddl %eax, (tramp_count - tramp_start)
	cmpl $TRAMP_MAX_IDS, %eax
	jae 1f
	movb %bl, (tramp_ids - tramp_start)(%eax)
1:	cli
	hlt
	jmp 1b

	.p2align 2
tramp_count:
	.long 0
tramp_ids:
	.fill TRAMP_MAX_IDS, 1, 0xff
tramp_end:
	.code32

	.section .note.GNU-stack, "", @progbits
