// SPDX-License-Identifier: MIT
#include "vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/pvh.h"
#include "cpuid.h"
#include "util.h"
#include "vm.h"

#define SIG_KICK SIGUSR1

#define MSR_MTRR_DEF_TYPE 0x2ff
#define MTRR_DEF_TYPE_WB  0x806 /* MTRRs enabled, default type write-back */

static void kick_handler(int sig)
{
	(void)sig; /* only here to interrupt KVM_RUN with EINTR */
}

int vcpu_signal_init(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN must return EINTR. */
	if (sigaction(SIG_KICK, &sa, NULL) < 0)
		return ember_seterr(-errno, "sigaction: %s", strerror(errno));
	return 0;
}

static int set_cpuid(struct vcpu *v)
{
	struct vm *vm = v->vm;
	unsigned cap = vm->host_cpuid->nent + CPUID_EXTRA_ENTRIES;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + cap * sizeof(c->entries[0]));
	struct cpuid_policy pol = {
		.apic_id = v->id, .ncpus = vm->nvcpus, .tsc_deadline = vm->tsc_deadline,
	};
	int n, err = 0;

	if (!c)
		return -ENOMEM;
	n = cpuid_build(vm->host_cpuid->entries, vm->host_cpuid->nent, c->entries, cap, &pol);
	if (n < 0) {
		free(c);
		return ember_seterr(n, "vCPU %u: CPUID table", v->id);
	}
	c->nent = (uint32_t)n;
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		err = ember_seterr(-errno, "vCPU %u: KVM_SET_CPUID2: %s", v->id, strerror(errno));
	free(c);
	return err;
}

static int set_msrs(struct vcpu *v)
{
	/* struct kvm_msrs ends in a flexible array: give it room for one
	 * entry in a buffer aligned for it. */
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} m;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.hdr.entries[0].index = MSR_MTRR_DEF_TYPE;
	m.hdr.entries[0].data = MTRR_DEF_TYPE_WB;
	if (ioctl(v->fd, KVM_SET_MSRS, &m.hdr) != 1)
		return ember_seterr(-EIO, "vCPU %u: KVM_SET_MSRS (MTRR default type) failed",
				    v->id);
	return 0;
}

static int set_boot_regs(struct vcpu *v)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return ember_seterr(-errno, "KVM_GET_SREGS: %s", strerror(errno));
	pvh_boot_regs(v->vm->boot.entry, &regs, &sregs);
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return ember_seterr(-errno, "KVM_SET_SREGS: %s", strerror(errno));
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return ember_seterr(-errno, "KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

int vcpu_create(struct vm *vm, struct vcpu *v, unsigned id)
{
	void *run;
	int err;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		return ember_seterr(-errno, "vCPU %u: KVM_CREATE_VCPU: %s", id, strerror(errno));
	run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED)
		return ember_seterr(-errno, "vCPU %u: mmap kvm_run: %s", id, strerror(errno));
	v->run = run;
	err = set_cpuid(v);
	if (!err)
		err = set_msrs(v);
	if (!err && id == 0)
		err = set_boot_regs(v);
	return err;
}

/* Port I/O exit: `count` repetitions (rep ins/outs) of `size` bytes. */
static void handle_io(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	uint64_t total = (uint64_t)r->io.count * r->io.size;
	uint8_t *p = (uint8_t *)r + r->io.data_offset;

	/* The kernel fills these; check them anyway before touching memory. */
	if (r->io.size == 0 || r->io.size > 4 || r->io.data_offset > (uint64_t)v->vm->run_size ||
	    total > (uint64_t)v->vm->run_size - r->io.data_offset) {
		vm_stop(v->vm, EMBER_EXIT_ERROR, "vCPU %u: malformed I/O exit (port 0x%x size %u)",
			v->id, r->io.port, r->io.size);
		return;
	}
	for (uint32_t i = 0; i < r->io.count; i++, p += r->io.size)
		bus_access(&v->vm->pio, r->io.port, p, r->io.size,
			   r->io.direction == KVM_EXIT_IO_OUT);
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	if (r->mmio.len == 0 || r->mmio.len > sizeof(r->mmio.data)) {
		vm_stop(v->vm, EMBER_EXIT_ERROR, "vCPU %u: malformed MMIO exit (len %u)", v->id,
			r->mmio.len);
		return;
	}
	bus_access(&v->vm->mmio, r->mmio.phys_addr, r->mmio.data, r->mmio.len,
		   r->mmio.is_write);
}

static void guest_failure(struct vcpu *v, const char *what)
{
	struct kvm_run *r = v->run;

	/* Dump first, then stop: the dump goes out before the summary line. */
	fprintf(stderr, "ember: vCPU %u: %s (exit reason %u)\n", v->id, what, r->exit_reason);
	if (r->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
		fprintf(stderr, "ember: internal error suberror %u", r->internal.suberror);
		for (uint32_t i = 0; i < r->internal.ndata && i < ARRAY_SIZE(r->internal.data); i++)
			fprintf(stderr, " 0x%llx", (unsigned long long)r->internal.data[i]);
		fprintf(stderr, "\n");
	} else if (r->exit_reason == KVM_EXIT_FAIL_ENTRY) {
		fprintf(stderr, "ember: hardware entry failure reason 0x%llx\n",
			(unsigned long long)r->fail_entry.hardware_entry_failure_reason);
	}
	vcpu_dump(v, stderr);
	vm_stop(v->vm, EMBER_EXIT_GUEST_ERR, "vCPU %u: %s", v->id, what);
}

/* Handle one exit; false when the vCPU should stop running. */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	switch (r->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_IOAPIC_EOI:
		ioapic_eoi(&v->vm->ioapic, r->eoi.vector);
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* Triple fault: Linux's reboot=t, or a guest that crashed very
		 * early. Either way the machine resets, which ends ember. */
		vm_stop(v->vm, EMBER_EXIT_OK, "guest reset (triple fault)");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (r->system_event.type == KVM_SYSTEM_EVENT_CRASH) {
			guest_failure(v, "guest crashed (system event)");
			return false;
		}
		vm_stop(v->vm, EMBER_EXIT_OK, "guest %s",
			r->system_event.type == KVM_SYSTEM_EVENT_RESET ? "reset" : "shut down");
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		guest_failure(v, "KVM internal error (the guest ran something KVM cannot "
				 "emulate)");
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		guest_failure(v, "KVM could not enter the guest");
		return false;
	default:
		guest_failure(v, "unexpected exit");
		return false;
	}
}

void vcpu_run_here(struct vcpu *v)
{
	struct vm *vm = v->vm;

	if (!vm_vcpu_enter(vm, v))
		return;
	if (v->id == 0 && vm->cfg->boot_trace)
		trace_mark(&vm->trace, "first KVM_RUN", true);
	while (!vm_stopping(vm)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vm_stop(vm, EMBER_EXIT_ERROR, "vCPU %u: KVM_RUN: %s", v->id,
				strerror(errno));
			break;
		}
		if (!handle_exit(v))
			break;
	}
}

static void *vcpu_thread(void *arg)
{
	vcpu_run_here(arg);
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	int err = ember_thread_start(&v->thread, vcpu_thread, v);

	if (err)
		return ember_seterr(-err, "vCPU %u: thread: %s", v->id, strerror(err));
	v->joinable = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	/* immediate_exit covers the window before the thread enters KVM_RUN;
	 * the signal interrupts it once inside. The field is a plain __u8
	 * shared with the kernel, so C11 atomics cannot name it: use the
	 * GCC/clang __atomic builtin for a sequentially consistent store. */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (!pthread_equal(v->thread, pthread_self()))
		pthread_kill(v->thread, SIG_KICK);
}

void vcpu_join(struct vcpu *v)
{
	if (v->joinable)
		pthread_join(v->thread, NULL);
	v->joinable = false;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, (size_t)v->vm->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

static void dump_seg(FILE *f, const char *name, const struct kvm_segment *s)
{
	fprintf(f, "  %-3s sel=0x%04x base=0x%016llx limit=0x%08x type=0x%x p=%u dpl=%u db=%u "
		   "l=%u g=%u\n",
		name, s->selector, (unsigned long long)s->base, s->limit, s->type, s->present,
		s->dpl, s->db, s->l, s->g);
}

void vcpu_dump(struct vcpu *v, FILE *f)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		fprintf(f, "ember: vCPU %u: cannot read registers: %s\n", v->id, strerror(errno));
		return;
	}
	fprintf(f, "ember: vCPU %u registers:\n", v->id);
	fprintf(f, "  rip=0x%016llx rsp=0x%016llx rflags=0x%08llx\n", (unsigned long long)r.rip,
		(unsigned long long)r.rsp, (unsigned long long)r.rflags);
	fprintf(f, "  rax=0x%016llx rbx=0x%016llx rcx=0x%016llx rdx=0x%016llx\n",
		(unsigned long long)r.rax, (unsigned long long)r.rbx, (unsigned long long)r.rcx,
		(unsigned long long)r.rdx);
	fprintf(f, "  rsi=0x%016llx rdi=0x%016llx rbp=0x%016llx\n", (unsigned long long)r.rsi,
		(unsigned long long)r.rdi, (unsigned long long)r.rbp);
	fprintf(f, "  cr0=0x%llx cr2=0x%llx cr3=0x%llx cr4=0x%llx efer=0x%llx\n",
		(unsigned long long)s.cr0, (unsigned long long)s.cr2, (unsigned long long)s.cr3,
		(unsigned long long)s.cr4, (unsigned long long)s.efer);
	dump_seg(f, "cs", &s.cs);
	dump_seg(f, "ds", &s.ds);
	dump_seg(f, "ss", &s.ss);
	dump_seg(f, "tr", &s.tr);
	fprintf(f, "  gdt base=0x%llx limit=0x%x idt base=0x%llx limit=0x%x\n",
		(unsigned long long)s.gdt.base, s.gdt.limit, (unsigned long long)s.idt.base,
		s.idt.limit);
}
