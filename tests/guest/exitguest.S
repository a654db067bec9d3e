/* SPDX-License-Identifier: MIT */
/*
 * exitguest: the smallest PVH guest, for start-up benchmarks (bench/).
 * Its first instruction writes to port 0xf4: QEMU's isa-debug-exit device
 * (-device isa-debug-exit) ends QEMU there. ember has no such device; the
 * next write, 0xfe to port 0x64 (i8042 reset), makes ember exit 0. A
 * monitor with neither halts here forever.
 */
#include "pvh_note.h"

	PVH_NOTE(_start)

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	outb %al, $0xf4
	movb $0xfe, %al
	outb %al, $0x64
1:	hlt
	jmp 1b

	.section .note.GNU-stack, "", @progbits
