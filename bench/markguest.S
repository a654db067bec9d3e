/* SPDX-License-Identifier: MIT */
/*
 * markguest: a PVH guest whose first instruction writes the boot marker
 * (123 to port 0x3f0), for bench/api.sh: with --boot-timer, ember's
 * "Guest-boot-time" line then measures InstanceStart to the guest's first
 * instruction (plus that one exit). The next write, 0xfe to port 0x64
 * (i8042 reset), makes ember exit 0.
 */
#include "pvh_note.h"

	PVH_NOTE(_start)

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	movb $123, %al
	movw $0x3f0, %dx
	outb %al, %dx
	movb $0xfe, %al
	outb %al, $0x64
1:	hlt
	jmp 1b

	.section .note.GNU-stack, "", @progbits
