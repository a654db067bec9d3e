/* SPDX-License-Identifier: MIT */
/*
 * lx64guest: checks what the Linux 64-bit boot protocol promises at entry
 * (Documentation/arch/x86/boot.rst): long mode with paging, CS = __BOOT_CS
 * (0x10), DS/ES/SS = __BOOT_DS (0x18), interrupts off, RSI = boot_params
 * with boot_flag 0xAA55, "HdrS", an e820 map, the RSDP and the command
 * line. Prints
 * "lx64: ok e820=N cmdline=<first word>" or "lx64: FAIL <check>" on COM1,
 * then resets through the i8042 (ember exits 0).
 */
#define COM1 0x3f8

	.section .text.entry, "ax"
	.code64
	.globl _start
_start:
	movq %rsi, %rbx			/* boot_params */
	leaq stack_top(%rip), %rsp
	leaq m_cs(%rip), %rdi
	movw %cs, %ax
	cmpw $0x10, %ax
	jne fail
	leaq m_ds(%rip), %rdi
	movw %ds, %ax
	cmpw $0x18, %ax
	jne fail
	movw %ss, %ax
	cmpw $0x18, %ax
	jne fail
	leaq m_if(%rip), %rdi
	pushfq
	popq %rax
	testq $0x200, %rax
	jnz fail
	leaq m_pg(%rip), %rdi
	movq %cr0, %rax
	btq $31, %rax
	jnc fail
	leaq m_rsi(%rip), %rdi
	testq %rbx, %rbx
	jz fail
	cmpw $0xaa55, 0x1fe(%rbx)
	jne fail
	cmpl $0x53726448, 0x202(%rbx)
	jne fail
	leaq m_e820(%rip), %rdi
	movzbl 0x1e8(%rbx), %r12d
	cmpl $3, %r12d
	jb fail
	/* The first e820 entry: RAM (type 1) at 0. */
	cmpq $0, 0x2d0(%rbx)
	jne fail
	cmpl $1, 0x2d0+16(%rbx)
	jne fail
	leaq m_rsdp(%rip), %rdi
	cmpq $0xe0000, 0x70(%rbx)	/* acpi_rsdp_addr: ember's RSDP */
	jne fail
	cmpl $0x20445352, 0xe0000	/* "RSD " of "RSD PTR " */
	jne fail
	leaq m_cmd(%rip), %rdi
	movl 0x228(%rbx), %r13d
	testl %r13d, %r13d
	jz fail

	leaq m_ok(%rip), %rdi
	call puts
	movl %r12d, %eax
	call putdec
	leaq m_cmdline(%rip), %rdi
	call puts
	/* The command line's first word. */
	movq %r13, %rsi
1:	movb (%rsi), %al
	testb %al, %al
	jz 2f
	cmpb $' ', %al
	je 2f
	call putc
	incq %rsi
	jmp 1b
2:	movb $'\n', %al
	call putc
	jmp done

fail:	pushq %rdi
	leaq m_fail(%rip), %rdi
	call puts
	popq %rdi
	call puts
	movb $'\n', %al
	call putc
done:	movb $0xfe, %al
	outb %al, $0x64
3:	hlt
	jmp 3b

/* putc: %al to COM1 (ember's UART takes every byte at once). */
putc:	movw $COM1, %dx
	outb %al, %dx
	ret

/* puts: the NUL-terminated string at %rdi. */
puts:	movb (%rdi), %al
	testb %al, %al
	jz 1f
	call putc
	incq %rdi
	jmp puts
1:	ret

/* putdec: %eax (< 1000) in decimal. */
putdec:	movl $10, %ecx
	xorl %edx, %edx
	divl %ecx
	pushq %rdx
	testl %eax, %eax
	jz 1f
	call putdec
1:	popq %rax
	addb $'0', %al
	jmp putc

m_ok:	.asciz "lx64: ok e820="
m_cmdline: .asciz " cmdline="
m_fail:	.asciz "lx64: FAIL "
m_cs:	.asciz "CS is not 0x10"
m_ds:	.asciz "DS/SS is not 0x18"
m_if:	.asciz "interrupts are on"
m_pg:	.asciz "paging is off"
m_rsi:	.asciz "RSI holds no boot_params"
m_e820:	.asciz "e820 map missing or wrong"
m_cmd:	.asciz "no command line"
m_rsdp:	.asciz "acpi_rsdp_addr is not ember's RSDP at 0xe0000"

	.balign 16
	.skip 512
stack_top:

	.section .note.GNU-stack, "", @progbits
