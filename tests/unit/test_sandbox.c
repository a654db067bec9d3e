// SPDX-License-Identifier: MIT
/*
 * The generated seccomp programs (src/sandbox/policy.c through gen.c), run
 * on a small classic-BPF interpreter over synthetic seccomp_data: what each
 * kind of thread may and may not do, without /dev/kvm or a filter in this
 * process. The sandbox tier shows the same programs killing real calls.
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "harness.h"
#include "sandbox/filters.h"
#include "sandbox/sandbox.h"

/* Classic BPF as seccomp runs it: A, X, 16 scratch words, 32-bit loads
 * from the seccomp_data. Returns the action, or 0xdead on a malformed
 * program (out-of-range load or jump, no return). */
static uint32_t bpf_run(const struct sandbox_prog *p, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };

	for (unsigned pc = 0; pc < p->len; pc++) {
		const struct sock_filter *f = &p->insns[pc];
		uint32_t k = f->k, src = BPF_SRC(f->code) == BPF_X ? x : k;

		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
			if (BPF_MODE(f->code) == BPF_ABS) {
				if (k > sizeof(*d) - 4 || k % 4)
					return 0xdead;
				memcpy(&a, (const uint8_t *)d + k, 4);
			} else if (BPF_MODE(f->code) == BPF_IMM) {
				a = k;
			} else if (BPF_MODE(f->code) == BPF_MEM && k < BPF_MEMWORDS) {
				a = mem[k];
			} else {
				return 0xdead;
			}
			break;
		case BPF_LDX:
			if (BPF_MODE(f->code) == BPF_IMM)
				x = k;
			else if (BPF_MODE(f->code) == BPF_MEM && k < BPF_MEMWORDS)
				x = mem[k];
			else
				return 0xdead;
			break;
		case BPF_ST:
		case BPF_STX:
			if (k >= BPF_MEMWORDS)
				return 0xdead;
			mem[k] = BPF_CLASS(f->code) == BPF_ST ? a : x;
			break;
		case BPF_ALU:
			switch (BPF_OP(f->code)) {
			case BPF_ADD:
				a += src;
				break;
			case BPF_SUB:
				a -= src;
				break;
			case BPF_MUL:
				a *= src;
				break;
			case BPF_DIV:
				if (!src)
					return 0xdead;
				a /= src;
				break;
			case BPF_MOD:
				if (!src)
					return 0xdead;
				a %= src;
				break;
			case BPF_OR:
				a |= src;
				break;
			case BPF_AND:
				a &= src;
				break;
			case BPF_XOR:
				a ^= src;
				break;
			case BPF_LSH:
				a = src < 32 ? a << src : 0;
				break;
			case BPF_RSH:
				a = src < 32 ? a >> src : 0;
				break;
			case BPF_NEG:
				a = -a;
				break;
			default:
				return 0xdead;
			}
			break;
		case BPF_JMP: {
			bool t;

			if (BPF_OP(f->code) == BPF_JA) {
				pc += k;
				continue;
			}
			switch (BPF_OP(f->code)) {
			case BPF_JEQ:
				t = a == src;
				break;
			case BPF_JGT:
				t = a > src;
				break;
			case BPF_JGE:
				t = a >= src;
				break;
			case BPF_JSET:
				t = a & src;
				break;
			default:
				return 0xdead;
			}
			pc += t ? f->jt : f->jf;
			break;
		}
		case BPF_RET:
			return BPF_RVAL(f->code) == BPF_A ? a : k;
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		}
	}
	return 0xdead;
}

static uint32_t verdict(enum sandbox_kind kind, int nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct seccomp_data d = {
		.nr = nr,
		.arch = AUDIT_ARCH_X86_64,
		.args = { a0, a1, a2 },
	};

	return bpf_run(&sandbox_progs[kind], &d) & SECCOMP_RET_ACTION_FULL;
}

#define ALLOWED(kind, nr, a0, a1, a2) CHECK_EQ(verdict(kind, nr, a0, a1, a2), SECCOMP_RET_ALLOW)
#define TRAPPED(kind, nr, a0, a1, a2) CHECK_EQ(verdict(kind, nr, a0, a1, a2), SECCOMP_RET_TRAP)

/* What no kind may do, and what every kind needs. */
TEST(sandbox_every_kind)
{
	for (int k = 0; k < SB_KINDS; k++) {
		struct seccomp_data x32 = { .nr = 0x40000000 | SYS_write,
					    .arch = AUDIT_ARCH_X86_64 };
		struct seccomp_data i386 = { .nr = 4, .arch = AUDIT_ARCH_I386 };

		CHECK(sandbox_progs[k].len > 8);
		TRAPPED(k, SYS_execve, 0, 0, 0);
		TRAPPED(k, SYS_execveat, 0, 0, 0);
		TRAPPED(k, SYS_fork, 0, 0, 0);
		TRAPPED(k, SYS_clone3, 0, 0, 0);
		TRAPPED(k, SYS_ptrace, 0, 0, 0);
		TRAPPED(k, SYS_mount, 0, 0, 0);
		TRAPPED(k, SYS_setuid, 0, 0, 0);
		TRAPPED(k, SYS_bpf, 0, 0, 0);
		if (k != SB_LOADER) /* the bzImage unwrap */
			TRAPPED(k, SYS_memfd_create, 0, 0, 0);
		TRAPPED(k, SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC);
		TRAPPED(k, SYS_mprotect, 0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
		TRAPPED(k, SYS_pkey_mprotect, 0, 4096, PROT_READ);
		TRAPPED(k, SYS_ioctl, 4, KVM_CREATE_VM, 0);
		/* x32 numbers and foreign architectures kill the process. */
		CHECK_EQ(bpf_run(&sandbox_progs[k], &x32) & SECCOMP_RET_ACTION_FULL,
			 SECCOMP_RET_KILL_PROCESS);
		CHECK_EQ(bpf_run(&sandbox_progs[k], &i386) & SECCOMP_RET_ACTION_FULL,
			 SECCOMP_RET_KILL_PROCESS);
		ALLOWED(k, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE);
		ALLOWED(k, SYS_mprotect, 0, 4096, PROT_NONE);
		ALLOWED(k, SYS_futex, 0, 0, 0);
		ALLOWED(k, SYS_write, 2, 0, 0);
		ALLOWED(k, SYS_exit_group, 0, 0, 0);
		ALLOWED(k, SYS_ioctl, 0, TCGETS, 0);
		ALLOWED(k, SYS_prctl, PR_GET_NAME, 0, 0);
		TRAPPED(k, SYS_prctl, PR_SET_SECCOMP, 0, 0);
	}
}

TEST(sandbox_vcpu)
{
	for (int k = SB_VCPU; k <= SB_VCPU0; k++) {
		ALLOWED(k, SYS_ioctl, 5, KVM_RUN, 0);
		ALLOWED(k, SYS_ioctl, 3, KVM_SIGNAL_MSI, 0);
		ALLOWED(k, SYS_ioctl, 3, KVM_IRQFD, 0);
		ALLOWED(k, SYS_ioctl, 9, TUNSETOFFLOAD, 0);
		TRAPPED(k, SYS_ioctl, 3, KVM_SET_USER_MEMORY_REGION, 0);
		TRAPPED(k, SYS_ioctl, 3, KVM_CREATE_VCPU, 0);
		TRAPPED(k, SYS_ioctl, 9, TUNSETIFF, 0);
		/* The upper half of a 64-bit request does not slip through. */
		TRAPPED(k, SYS_ioctl, 5, (uint64_t)KVM_RUN | 1ull << 32, 0);
		TRAPPED(k, SYS_openat, AT_FDCWD, 0, 0);
		TRAPPED(k, SYS_socket, AF_UNIX, SOCK_STREAM, 0);
		TRAPPED(k, SYS_getrandom, 0, 0, 0);
	}
	TRAPPED(SB_VCPU, SYS_unlink, 0, 0, 0);
	ALLOWED(SB_VCPU0, SYS_unlink, 0, 0, 0);
}

TEST(sandbox_devices)
{
	CHECK_EQ(sandbox_device_kind("blk"), SB_BLK);
	CHECK_EQ(sandbox_device_kind("net"), SB_NET);
	CHECK_EQ(sandbox_device_kind("rng"), SB_RNG);
	CHECK_EQ(sandbox_device_kind("console"), SB_VCON);
	CHECK_EQ(sandbox_device_kind("vsock"), SB_VSOCK);
	CHECK_EQ(sandbox_device_kind("gpu"), SB_KINDS);

	ALLOWED(SB_BLK, SYS_pwritev, 7, 0, 0);
	ALLOWED(SB_BLK, SYS_fdatasync, 7, 0, 0);
	TRAPPED(SB_BLK, SYS_openat, AT_FDCWD, 0, 0);
	TRAPPED(SB_BLK, SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	TRAPPED(SB_BLK, SYS_getrandom, 0, 0, 0);
	ALLOWED(SB_RNG, SYS_getrandom, 0, 64, 0);
	TRAPPED(SB_RNG, SYS_pwrite64, 0, 0, 0);
	ALLOWED(SB_NET, SYS_readv, 8, 0, 0);
	TRAPPED(SB_NET, SYS_socket, AF_INET, SOCK_STREAM, 0);
	TRAPPED(SB_NET, SYS_ioctl, 8, TUNSETIFF, 0);
	ALLOWED(SB_VSOCK, SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	TRAPPED(SB_VSOCK, SYS_socket, AF_INET, SOCK_STREAM, 0);
	TRAPPED(SB_VSOCK, SYS_socket, AF_NETLINK, SOCK_RAW, 0);
	ALLOWED(SB_VSOCK, SYS_accept4, 5, 0, 0);
	TRAPPED(SB_VSOCK, SYS_openat, AT_FDCWD, 0, 0);
	for (int k = SB_CONSOLE_IN; k <= SB_VSOCK; k++)
		TRAPPED(k, SYS_ioctl, 5, KVM_RUN, 0);
}

TEST(sandbox_control_and_loader)
{
	ALLOWED(SB_CONTROL, SYS_openat, AT_FDCWD, 0, O_CREAT | O_WRONLY);
	ALLOWED(SB_CONTROL, SYS_ioctl, 5, KVM_GET_REGS, 0);
	ALLOWED(SB_CONTROL, SYS_ioctl, 3, KVM_GET_DIRTY_LOG, 0);
	TRAPPED(SB_CONTROL, SYS_ioctl, 5, KVM_RUN, 0);
	TRAPPED(SB_CONTROL, SYS_ioctl, 3, KVM_SET_USER_MEMORY_REGION, 0);
	ALLOWED(SB_CONTROL, SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	TRAPPED(SB_CONTROL, SYS_socket, AF_INET6, SOCK_STREAM, 0);
	ALLOWED(SB_LOADER, SYS_pread64, 3, 0, 0);
	TRAPPED(SB_LOADER, SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	TRAPPED(SB_LOADER, SYS_ioctl, 5, KVM_RUN, 0);
	TRAPPED(SB_CONSOLE_OUT, SYS_openat, AT_FDCWD, 0, 0);
}

SUITE(sandbox, T(sandbox_every_kind), T(sandbox_vcpu), T(sandbox_devices),
      T(sandbox_control_and_loader));
