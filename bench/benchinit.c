// SPDX-License-Identifier: MIT
/*
 * benchinit: the guest's first user-space program in the boot benchmarks
 * (bench/boot.sh), run as rdinit=/benchinit from an overlay on guest/'s
 * initramfs. It writes the "init reached" boot marker (byte 123 to I/O port
 * 0x3f0, which ember's --boot-trace records), prints "ember-bench: boot
 * marker" on the console right after it, so that a program outside the VM
 * can timestamp the same moment for any VMM (QEMU has no boot timer), and
 * then execs guest/'s /init, which runs ember.cmd= and reboots.
 *
 * Freestanding (no libc): a few KiB, so the overlay adds next to nothing to
 * the initramfs the kernel unpacks.
 */
#define SYS_write  1
#define SYS_execve 59
#define SYS_exit   60
#define SYS_ioperm 173

#define BOOT_MARKER_PORT  0x3f0
#define BOOT_MARKER_MAGIC 123

static long sys3(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

static void say(const char *s)
{
	unsigned long n = 0;

	while (s[n])
		n++;
	sys3(SYS_write, 1, (long)s, (long)n);
}

/* Called from _start with the initial stack: argc, argv[], NULL, envp[]. */
void bench_main(long *sp);
void bench_main(long *sp)
{
	char **argv = (char **)(sp + 1);
	char **envp = argv + sp[0] + 1;
	unsigned char magic = BOOT_MARKER_MAGIC;
	unsigned short port = BOOT_MARKER_PORT;

	if (sys3(SYS_ioperm, BOOT_MARKER_PORT, 1, 1) == 0) {
		__asm__ volatile("outb %0, %1" : : "a"(magic), "Nd"(port));
		sys3(SYS_ioperm, BOOT_MARKER_PORT, 1, 0);
		say("ember-bench: boot marker\n");
	} else {
		say("ember-bench: ioperm failed, no boot marker\n");
	}
	argv[0] = "/init";
	sys3(SYS_execve, (long)"/init", (long)argv, (long)envp);
	say("ember-bench: exec /init failed\n");
	sys3(SYS_exit, 1, 0, 0);
}

__asm__(".text\n"
	".globl _start\n"
	"_start:\n"
	"	xor %ebp, %ebp\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call bench_main\n"
	"	hlt\n");
