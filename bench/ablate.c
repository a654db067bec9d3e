// SPDX-License-Identifier: MIT
/*
 * ablate: floor.c plus optional steps a real monitor adds, each timed, to
 * find what start-up costs. Not part of the benchmark table; a probe.
 *
 *   ablate [mem=SIZE_MIB] [slotfirst] [tss] [irqchip|split] [pit] [noreinject] [irqfd]
 *          [ioeventfd [deassign]] [cpuid] [thread] [touch] [close] [quiet]
 *
 *   mem=N    memory slot of N MiB (default 2)
 *   slotfirst  add the memory slot right after KVM_CREATE_VM, before the
 *            TSS, irqchip and PIT (default: after them, as ember does)
 *   tss      KVM_SET_TSS_ADDR
 *   irqchip  KVM_CREATE_IRQCHIP
 *   split    KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP, 24): only the local APIC in
 *            the kernel (instead of irqchip)
 *   pit      KVM_CREATE_PIT2 (needs irqchip)
 *   noreinject  KVM_REINJECT_CONTROL(pit_reinject = 0) right after the PIT
 *   irqfd    an eventfd bound to GSI 5 with KVM_IRQFD (needs irqchip or
 *            split), as ember does for each virtio device's interrupt
 *   ioeventfd  an eventfd bound to an MMIO doorbell with KVM_IOEVENTFD
 *   deassign   deassign that ioeventfd again (timed) before the vCPU runs
 *   cpuid    KVM_GET_SUPPORTED_CPUID + KVM_SET_CPUID2
 *   thread   run the vCPU in a second thread, joined by main
 *   touch    write one byte per 4 KiB page of guest memory before running
 *   close    close vCPU, VM and /dev/kvm fds explicitly (timed) before exit
 *   quiet    print nothing
 *
 * Prints one line per step on stderr: step name and its time in ms.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CODE_ADDR 0x1000
#define EXIT_PORT 0xf4

static int quiet;
static double t_last;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void step(const char *name)
{
	double t = now_ms();

	if (!quiet)
		fprintf(stderr, "%-28s %8.3f ms\n", name, t - t_last);
	t_last = now_ms();
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

struct vcpu_arg {
	int fd;
	struct kvm_run *run;
	int result;
};

static void *run_vcpu(void *p)
{
	struct vcpu_arg *a = p;

	a->result = 1;
	for (;;) {
		if (ioctl(a->fd, KVM_RUN, 0) < 0)
			return NULL;
		if (a->run->exit_reason == KVM_EXIT_IO && a->run->io.port == EXIT_PORT) {
			a->result = 0;
			return NULL;
		}
		if (a->run->exit_reason != KVM_EXIT_INTR)
			return NULL;
	}
}

static uint8_t *add_slot(int vm, size_t mem_size, int touch)
{
	struct kvm_userspace_memory_region region;
	uint8_t *mem = NULL;

	mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap guest memory");
	step("mmap guest memory");
	if (touch) {
		for (size_t off = 0; off < mem_size; off += 4096)
			mem[off] = 0;
		step("touch guest memory");
	}
	mem[CODE_ADDR] = 0xe6;
	mem[CODE_ADDR + 1] = EXIT_PORT;
	memset(&region, 0, sizeof(region));
	region.memory_size = mem_size;
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	step("KVM_SET_USER_MEMORY_REGION");
	return mem;
}

int main(int argc, char **argv)
{
	int slotfirst = 0, tss = 0, irqchip = 0, split = 0, pit = 0, noreinject = 0, cpuid = 0,
	    thread = 0, touch = 0, do_close = 0, irqfd = 0, ioeventfd = 0, deassign = 0;
	unsigned long mem_mib = 2;
	struct vcpu_arg arg;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int kvm, vm, run_size;
	size_t mem_size;
	uint8_t *mem = NULL;

	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "mem=", 4) == 0)
			mem_mib = strtoul(argv[i] + 4, NULL, 10);
		else if (!strcmp(argv[i], "slotfirst"))
			slotfirst = 1;
		else if (!strcmp(argv[i], "tss"))
			tss = 1;
		else if (!strcmp(argv[i], "irqchip"))
			irqchip = 1;
		else if (!strcmp(argv[i], "split"))
			split = 1;
		else if (!strcmp(argv[i], "pit"))
			pit = 1;
		else if (!strcmp(argv[i], "noreinject"))
			noreinject = 1;
		else if (!strcmp(argv[i], "cpuid"))
			cpuid = 1;
		else if (!strcmp(argv[i], "irqfd"))
			irqfd = 1;
		else if (!strcmp(argv[i], "ioeventfd"))
			ioeventfd = 1;
		else if (!strcmp(argv[i], "deassign"))
			deassign = 1;
		else if (!strcmp(argv[i], "thread"))
			thread = 1;
		else if (!strcmp(argv[i], "touch"))
			touch = 1;
		else if (!strcmp(argv[i], "close"))
			do_close = 1;
		else if (!strcmp(argv[i], "quiet"))
			quiet = 1;
		else {
			fprintf(stderr, "ablate: unknown step %s\n", argv[i]);
			return 2;
		}
	}
	mem_size = mem_mib << 20;
	t_last = now_ms();

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	step("open /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	step("KVM_CREATE_VM");
	if (slotfirst)
		mem = add_slot(vm, mem_size, touch);
	if (tss) {
		if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0)
			die("KVM_SET_TSS_ADDR");
		step("KVM_SET_TSS_ADDR");
	}
	if (irqchip) {
		if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
			die("KVM_CREATE_IRQCHIP");
		step("KVM_CREATE_IRQCHIP");
	}
	if (split) {
		struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {24}};

		if (ioctl(vm, KVM_ENABLE_CAP, &cap) < 0)
			die("KVM_CAP_SPLIT_IRQCHIP");
		step("KVM_CAP_SPLIT_IRQCHIP");
	}
	if (pit) {
		struct kvm_pit_config pc = {.flags = KVM_PIT_SPEAKER_DUMMY};

		if (ioctl(vm, KVM_CREATE_PIT2, &pc) < 0)
			die("KVM_CREATE_PIT2");
		step("KVM_CREATE_PIT2");
	}
	if (noreinject) {
		struct kvm_reinject_control rc = {.pit_reinject = 0};

		if (ioctl(vm, KVM_REINJECT_CONTROL, &rc) < 0)
			die("KVM_REINJECT_CONTROL");
		step("KVM_REINJECT_CONTROL");
	}

	if (!slotfirst)
		mem = add_slot(vm, mem_size, touch);
	if (irqfd) {
		struct kvm_irqfd req = {.fd = (__u32)eventfd(0, EFD_CLOEXEC), .gsi = 5};

		if ((int)req.fd < 0 || ioctl(vm, KVM_IRQFD, &req) < 0)
			die("KVM_IRQFD");
		step("KVM_IRQFD");
	}
	if (ioeventfd) {
		struct kvm_ioeventfd req = {.addr = 0xd0000050, .len = 4,
					    .fd = eventfd(0, EFD_CLOEXEC)};

		if (req.fd < 0 || ioctl(vm, KVM_IOEVENTFD, &req) < 0)
			die("KVM_IOEVENTFD");
		step("KVM_IOEVENTFD");
		if (deassign) {
			req.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
			if (ioctl(vm, KVM_IOEVENTFD, &req) < 0)
				die("KVM_IOEVENTFD deassign");
			step("KVM_IOEVENTFD deassign");
		}
	}

	arg.fd = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (arg.fd < 0)
		die("KVM_CREATE_VCPU");
	step("KVM_CREATE_VCPU");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	arg.run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, arg.fd, 0);
	if (arg.run == MAP_FAILED)
		die("mmap kvm_run");
	step("mmap kvm_run");
	if (cpuid) {
		struct kvm_cpuid2 *c;
		unsigned n = 256;

		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			die("calloc");
		c->nent = n;
		if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) < 0)
			die("KVM_GET_SUPPORTED_CPUID");
		step("KVM_GET_SUPPORTED_CPUID");
		if (ioctl(arg.fd, KVM_SET_CPUID2, c) < 0)
			die("KVM_SET_CPUID2");
		step("KVM_SET_CPUID2");
		free(c);
	}

	if (ioctl(arg.fd, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(arg.fd, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_ADDR;
	regs.rflags = 0x2;
	if (ioctl(arg.fd, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");
	step("registers");

	if (thread) {
		pthread_t t;

		if (pthread_create(&t, NULL, run_vcpu, &arg))
			die("pthread_create");
		pthread_join(t, NULL);
		step("thread: create, KVM_RUN, join");
	} else {
		run_vcpu(&arg);
		step("KVM_RUN to first exit");
	}

	if (do_close) {
		munmap(arg.run, run_size);
		close(arg.fd);
		step("close vCPU");
		close(vm);
		step("close VM");
		munmap(mem, mem_size);
		step("munmap guest memory");
		close(kvm);
		step("close /dev/kvm");
	}
	return arg.result;
}
