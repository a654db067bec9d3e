// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"
#include "vm.h"
#include "util.h"

#define PROBE_MEM  0x10000
#define PROBE_CODE 0x1000
#define PROBE_PORT 0xf4

/*
 * Real-mode code at 0x1000 (CS base 0):
 *   mov ecx, PROBE_LOOP_ITERATIONS   66 b9 imm32
 *   1: dec ecx                       66 49
 *   jnz 1b                           75 fc
 *   out 0xf4, al                     e6 f4
 *   hlt                              f4
 * Two instructions per iteration.
 */
static void probe_code(uint8_t *p)
{
	static const uint8_t tail[] = { 0x66, 0x49, 0x75, 0xfc, 0xe6, PROBE_PORT, 0xf4 };

	p[0] = 0x66;
	p[1] = 0xb9;
	put_le32(p + 2, PROBE_LOOP_ITERATIONS);
	memcpy(p + 6, tail, sizeof(tail));
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int probe_kvm(struct probe_result *res)
{
	int kvm = -1, vmfd = -1, cpu = -1, err = 0, run_size;
	uint8_t *mem = MAP_FAILED;
	struct kvm_run *run = MAP_FAILED;
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = PROBE_CODE, .rflags = 2 };
	double t;

	memset(res, 0, sizeof(*res));
	kvm = kvm_open();
	if (kvm < 0)
		return kvm;
	vmfd = ioctl(kvm, KVM_CREATE_VM, 0);
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	mem = mmap(NULL, PROBE_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vmfd < 0 || run_size <= 0 || mem == MAP_FAILED) {
		err = ember_seterr(-errno, "probe: cannot create a VM: %s", strerror(errno));
		goto out;
	}
	probe_code(mem + PROBE_CODE);
	struct kvm_userspace_memory_region slot = {
		.memory_size = PROBE_MEM,
		.userspace_addr = (uintptr_t)mem,
	};
	ioctl(vmfd, KVM_SET_TSS_ADDR, 0xfffbd000UL);
	cpu = ioctl(vmfd, KVM_CREATE_VCPU, 0);
	if (ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &slot) < 0 || cpu < 0) {
		err = ember_seterr(-errno, "probe: cannot create a vCPU: %s", strerror(errno));
		goto out;
	}
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
	if (run == MAP_FAILED || ioctl(cpu, KVM_GET_SREGS, &sregs) < 0) {
		err = ember_seterr(-errno, "probe: vCPU setup: %s", strerror(errno));
		goto out;
	}
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(cpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(cpu, KVM_SET_REGS, &regs) < 0) {
		err = ember_seterr(-errno, "probe: vCPU registers: %s", strerror(errno));
		goto out;
	}
	t = now_ms();
	for (;;) {
		if (ioctl(cpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			err = ember_seterr(-errno, "probe: KVM_RUN: %s", strerror(errno));
			goto out;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == PROBE_PORT)
			break;
		if (run->exit_reason != KVM_EXIT_INTR) {
			err = ember_seterr(-EIO, "probe: unexpected exit %u", run->exit_reason);
			goto out;
		}
	}
	res->ms = now_ms() - t;
	res->mips = res->ms > 0 ? 2.0 * PROBE_LOOP_ITERATIONS / (res->ms * 1e3) : 1e9;
	res->hardware = res->mips >= PROBE_HW_MIPS;
out:
	if (run != MAP_FAILED)
		munmap(run, (size_t)run_size);
	if (mem != MAP_FAILED)
		munmap(mem, PROBE_MEM);
	if (cpu >= 0)
		close(cpu);
	if (vmfd >= 0)
		close(vmfd);
	close(kvm);
	return err;
}
