/* SPDX-License-Identifier: MIT */
/*
 * snapguest's assembly (snapguest.c has the rest):
 *
 * - The AP start-up trampoline. snapguest.c copies [snap_tramp_start,
 *   snap_tramp_end) to SNAP_TRAMP_ADDR below 1 MiB and sends INIT + SIPI with
 *   vector SNAP_TRAMP_ADDR >> 12, so the AP starts there in real mode with
 *   CS = SNAP_TRAMP_ADDR >> 4, IP = 0. With DS = CS every label of the
 *   trampoline is reached by its offset from snap_tramp_start. It loads
 *   snap_gdt (flat 32-bit code and data), sets CR0.PE and jumps to
 *   snap_ap_entry32 in the image, which takes its own stack and calls
 *   snap_ap_main(). The AP then runs snapguest's second lane until the end,
 *   so a snapshot of a 2-vCPU guest catches an AP in the middle of its work,
 *   not one parked in wait-for-SIPI.
 *
 * - The interrupt stubs: the LAPIC timer (counts a tick and EOIs, in C) and
 *   the spurious vector (no EOI: SDM vol. 3, 11.9). pushal/popal keep every
 *   register of the interrupted loop, whose state the guest checks.
 */
#define SNAP_CODE_SEL 0x08
#define SNAP_DATA_SEL 0x10
#define AP_STACK_SIZE 8192

	.section .rodata.snaptramp, "a"
	.p2align 4
	.code16
	.globl snap_tramp_start, snap_tramp_end
snap_tramp_start:
	cli
	movw %cs, %ax
	movw %ax, %ds
	lgdtl (snap_tramp_gdtr - snap_tramp_start)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $SNAP_CODE_SEL, $snap_ap_entry32

	.p2align 2
snap_tramp_gdtr:
	.word snap_gdt_end - snap_gdt - 1
	.long snap_gdt
snap_tramp_end:
	.code32

	.data
	.p2align 3
snap_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: code, base 0, 4 GiB, 32-bit */
	.quad 0x00cf92000000ffff	/* 0x10: data, base 0, 4 GiB, 32-bit */
snap_gdt_end:

	.text
	.p2align 4
snap_ap_entry32:
	movl $SNAP_DATA_SEL, %eax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movw %ax, %ss
	movl $snap_ap_stack_top, %esp
	cld
	call snap_ap_main
1:	cli
	hlt
	jmp 1b

/*
 * The emulated /dev/kvm of the development machines cannot execute iret
 * (KVM_EXIT_INTERNAL_ERROR, emulation failure), so the stubs return by
 * hand. The CPU pushed EFLAGS, CS, EIP (same privilege level, no stack
 * switch). RETURN_FROM_INTERRUPT moves EIP into the EFLAGS slot and
 * EFLAGS, with IF cleared, into the CS slot, drops the EIP slot, restores
 * every flag with popfl, then sti and ret: the interrupted code had IF set
 * (it took the interrupt), and sti's one-instruction shadow lets ret
 * complete first, so interrupts never nest and ESP ends where it was.
 */
#define X86_EFLAGS_IF 0x200
.macro RETURN_FROM_INTERRUPT
	pushl %eax
	movl 12(%esp), %eax		/* EFLAGS */
	andl $~X86_EFLAGS_IF, %eax
	movl %eax, 8(%esp)		/* into the CS slot */
	movl 4(%esp), %eax		/* EIP */
	movl %eax, 12(%esp)		/* into the EFLAGS slot */
	popl %eax
	addl $4, %esp			/* drop the EIP slot */
	popfl
	sti
	ret
.endm

	.p2align 4
	.globl snap_timer_isr
snap_timer_isr:
	pushal
	cld
	call snap_timer_tick
	popal
	RETURN_FROM_INTERRUPT

	.p2align 4
	.globl snap_spurious_isr
snap_spurious_isr:
	RETURN_FROM_INTERRUPT

	.bss
	.p2align 4
snap_ap_stack:
	.skip AP_STACK_SIZE
snap_ap_stack_top:

	.section .note.GNU-stack, "", @progbits
