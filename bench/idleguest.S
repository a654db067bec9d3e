/* SPDX-License-Identifier: MIT */
/*
 * idleguest: a PVH guest that stays resident doing nothing, for the density
 * benchmark (bench/density.sh). It prints "idleguest: ready" on the 16550 at
 * 0x3f8, then sleeps in hlt. A periodic local APIC timer (vector 0x40, about
 * every 50 ms) wakes it to look at the UART's line status: once a byte has
 * arrived on the console it exits, first through QEMU's isa-debug-exit
 * (port 0xf4, QEMU's status (1<<1)|1 = 3) and then through the i8042 reset
 * (0xfe to port 0x64, ember exits 0), the same pair as exitguest.S.
 *
 * 32-bit protected mode, paging off, as PVH enters it: the local APIC is at
 * its default physical base 0xfee00000. Every IDT vector points at one
 * handler that acknowledges the APIC (EOI) and, instead of returning with
 * iret (the development machines' /dev/kvm emulator cannot run iret), drops
 * the interrupt frame and goes back to the idle loop: the interrupt gate has
 * cleared IF, and the loop sets it again right before hlt.
 */
#include "pvh_note.h"

#define APIC_BASE	0xfee00000
#define APIC_EOI	(APIC_BASE + 0x0b0)
#define APIC_SVR	(APIC_BASE + 0x0f0)
#define APIC_LVT_TIMER	(APIC_BASE + 0x320)
#define APIC_TMICT	(APIC_BASE + 0x380)
#define APIC_TDCR	(APIC_BASE + 0x3e0)
#define TIMER_VECTOR	0x40
/* KVM's APIC timer counts at 1 GHz / divider: 390625 * 128 ns = 50 ms. */
#define TIMER_DIV_128	0xa
#define TIMER_COUNT	390625
#define UART_THR	0x3f8
#define UART_IER	0x3f9
#define UART_MCR	0x3fc
#define UART_LSR	0x3fd

	PVH_NOTE(_start)

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	cli
	movl $stack_top, %esp

	/* 256 interrupt gates (present, DPL 0, 32-bit) to irq_any, in our CS. */
	movw %cs, %bx
	movl $irq_any, %eax
	movl %eax, %edx
	shrl $16, %edx
	movl $idt, %edi
	movl $256, %ecx
1:	movw %ax, (%edi)
	movw %bx, 2(%edi)
	movw $0x8e00, 4(%edi)
	movw %dx, 6(%edi)
	addl $8, %edi
	loop 1b
	lidt idt_desc

	/* Local APIC on (spurious vector 0xff), periodic timer. */
	movl $0x1ff, APIC_SVR
	movl $TIMER_DIV_128, APIC_TDCR
	movl $(0x20000 | TIMER_VECTOR), APIC_LVT_TIMER
	movl $TIMER_COUNT, APIC_TMICT

	/*
	 * Open the UART as Linux's 8250 driver does, receive-data interrupt
	 * on (IER) and DTR|RTS|OUT2 (MCR): ember queues console input only
	 * once the port is open this way. The IOAPIC pin stays masked (its
	 * reset state), so no interrupt is delivered; the timer's wake-ups
	 * poll the line status instead.
	 */
	movb $0x0b, %al
	movw $UART_MCR, %dx
	outb %al, %dx
	movb $1, %al
	movw $UART_IER, %dx
	outb %al, %dx

	movl $ready_msg, %esi
	movw $UART_THR, %dx
2:	lodsb
	testb %al, %al
	jz idle
	outb %al, %dx
	jmp 2b

idle:
	sti
	hlt
	cli
check:
	movw $UART_LSR, %dx
	inb %dx, %al
	testb $1, %al		/* data ready */
	jz idle

	movb $1, %al
	outb %al, $0xf4
	movb $0xfe, %al
	outb %al, $0x64
3:	hlt
	jmp 3b

irq_any:
	movl $0, APIC_EOI
	movl $stack_top, %esp
	jmp check

	.section .rodata
ready_msg:
	.asciz "idleguest: ready\n"

	.section .data
	.p2align 2
idt_desc:
	.word 256 * 8 - 1
	.long idt

	.section .bss
	.p2align 4
idt:
	.skip 256 * 8
	.skip 4096
stack_top:

	.section .note.GNU-stack, "", @progbits
