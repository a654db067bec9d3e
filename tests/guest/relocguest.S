/* SPDX-License-Identifier: MIT */
/*
 * relocguest: a relocatable PVH guest. Its XEN_ELFNOTE_PHYS32_RELOC note
 * lets a loader place it at any multiple of 2 MiB from 2 MiB up to the end
 * of the first GiB; its code is position-independent. It prints where it
 * runs ("reloc: at 0x00400000") and where start_info's EBX and its own
 * entry agree, then resets through the i8042 (ember exits 0).
 */
#include "pvh_note.h"

#define COM1 0x3f8
#define XEN_ELFNOTE_PHYS32_RELOC 19

	PVH_NOTE(_start)

	.pushsection .note.xen, "a", @note
	.p2align 2
	.long 4
	.long 12
	.long XEN_ELFNOTE_PHYS32_RELOC
	.asciz "Xen"
	.p2align 2
	.long 0x200000			/* align */
	.long 0x200000			/* min */
	.long 0x3fffffff		/* max: last byte */
	.popsection

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	movl %ebx, %esp			/* no stack yet: ESP is undefined, but */
	call 1f				/* the RAM below start_info is free */
1:	popl %ebp
	subl $(1b - _start), %ebp	/* %ebp: where _start runs */
	leal (stack_top - _start)(%ebp), %esp
	leal (m_at - _start)(%ebp), %esi
	call puts
	movl %ebp, %eax
	call puthex
	/* start_info's magic, reached through EBX as the ABI promises. */
	leal (m_si - _start)(%ebp), %esi
	call puts
	movl $'n', %eax
	cmpl $0x336ec578, (%ebx)
	jne 2f
	movl $'y', %eax
2:	call putc
	movb $'\n', %al
	call putc
	movb $0xfe, %al
	outb %al, $0x64
3:	hlt
	jmp 3b

putc:	movw $COM1, %dx
	outb %al, %dx
	ret

puts:	movb (%esi), %al
	testb %al, %al
	jz 1f
	call putc
	incl %esi
	jmp puts
1:	ret

/* puthex: %eax as 0x + 8 hex digits. */
puthex:	movl %eax, %edi
	movb $'0', %al
	call putc
	movb $'x', %al
	call putc
	movl $8, %ecx
1:	roll $4, %edi
	movl %edi, %eax
	andl $0xf, %eax
	addb $'0', %al
	cmpb $'9', %al
	jbe 2f
	addb $('a' - '9' - 1), %al
2:	pushl %ecx
	call putc
	popl %ecx
	loop 1b
	ret

m_at:	.asciz "reloc: at "
m_si:	.asciz " start_info="

	.balign 16
	.skip 256
stack_top:

	.section .note.GNU-stack, "", @progbits
