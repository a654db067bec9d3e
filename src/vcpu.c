// SPDX-License-Identifier: MIT
#include "vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/linux64.h"
#include "boot/pvh.h"
#include "bus.h"
#include "cpuid.h"
#include "sandbox/sandbox.h"
#include "trace.h"
#include "util.h"

#define MSR_MTRR_DEF_TYPE 0x2ff
#define MTRR_DEF_TYPE_WB  0x806 /* MTRRs enabled, default type write-back */

struct kvm_cpuid2 *vcpu_cpuid_table(struct vcpu *v)
{
	const struct vcpu_host *h = v->group->host;
	unsigned cap = h->host_cpuid->nent + CPUID_EXTRA_ENTRIES;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + cap * sizeof(c->entries[0]));
	struct cpuid_policy pol = {
		.apic_id = v->id,
		.ncpus = v->group->n,
		.threads = h->smt ? 2 : 1,
		.tsc_deadline = h->tsc_deadline,
	};
	int n;

	if (!c) {
		ember_seterr(-ENOMEM, "vCPU %u: CPUID table: out of memory", v->id);
		return NULL;
	}
	n = cpuid_build(h->host_cpuid->entries, h->host_cpuid->nent, c->entries, cap, &pol);
	if (n < 0) {
		free(c);
		ember_seterr(n, "vCPU %u: CPUID table", v->id);
		return NULL;
	}
	c->nent = (uint32_t)n;
	return c;
}

static int set_cpuid(struct vcpu *v)
{
	struct kvm_cpuid2 *c = vcpu_cpuid_table(v);
	int err = 0;

	if (!c)
		return -ENOMEM;
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		err = ember_seterr(-errno, "vCPU %u: KVM_SET_CPUID2: %s", v->id, strerror(errno));
	free(c);
	return err;
}

bool vcpu_msr(struct vcpu *v, bool set, uint32_t index, uint64_t *val)
{
	/* struct kvm_msrs ends in a flexible array: give it room for one
	 * entry in a buffer aligned for it. */
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} m;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.hdr.entries[0].index = index;
	m.hdr.entries[0].data = *val;
	if (ioctl(v->fd, set ? KVM_SET_MSRS : KVM_GET_MSRS, &m.hdr) != 1)
		return false;
	*val = m.hdr.entries[0].data;
	return true;
}

static int set_msrs(struct vcpu *v)
{
	uint64_t def = MTRR_DEF_TYPE_WB;

	if (!vcpu_msr(v, true, MSR_MTRR_DEF_TYPE, &def))
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
	if (v->group->host->linux64)
		linux64_boot_regs(v->group->host->entry, &regs, &sregs);
	else
		pvh_boot_regs((uint32_t)v->group->host->entry, &regs, &sregs);
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return ember_seterr(-errno, "KVM_SET_SREGS: %s", strerror(errno));
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return ember_seterr(-errno, "KVM_SET_REGS: %s", strerror(errno));
	return 0;
}

static int create_one(struct vcpus *g, struct vcpu *v, unsigned id)
{
	void *run;
	int err;

	v->group = g;
	v->id = id;
	v->fd = ioctl(g->host->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		return ember_seterr(-errno, "vCPU %u: KVM_CREATE_VCPU: %s", id, strerror(errno));
	run = mmap(NULL, (size_t)g->host->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
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

	uint64_t run_size = (uint64_t)v->group->host->run_size;

	/* The kernel fills these; check them anyway before touching memory. */
	if (r->io.size == 0 || r->io.size > 4 || r->io.data_offset > run_size ||
	    total > run_size - r->io.data_offset) {
		vcpus_stop(v->group, EMBER_EXIT_ERROR,
			   "vCPU %u: malformed I/O exit (port 0x%x size %u)", v->id, r->io.port,
			   r->io.size);
		return;
	}
	atomic_fetch_add_explicit(
	    &v->exits[r->io.direction == KVM_EXIT_IO_OUT ? VCPU_EXIT_IO_OUT : VCPU_EXIT_IO_IN], 1,
	    memory_order_relaxed);
	for (uint32_t i = 0; i < r->io.count; i++, p += r->io.size)
		bus_access(v->group->host->pio, r->io.port, p, r->io.size,
			   r->io.direction == KVM_EXIT_IO_OUT);
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	if (r->mmio.len == 0 || r->mmio.len > sizeof(r->mmio.data)) {
		vcpus_stop(v->group, EMBER_EXIT_ERROR, "vCPU %u: malformed MMIO exit (len %u)",
			   v->id, r->mmio.len);
		return;
	}
	atomic_fetch_add_explicit(
	    &v->exits[r->mmio.is_write ? VCPU_EXIT_MMIO_WRITE : VCPU_EXIT_MMIO_READ], 1,
	    memory_order_relaxed);
	bus_access(v->group->host->mmio, r->mmio.phys_addr, r->mmio.data, r->mmio.len,
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
	vcpus_stop(v->group, EMBER_EXIT_GUEST_ERR, "vCPU %u: %s", v->id, what);
}

bool vcpu_handle_exit(struct vcpu *v)
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
		if (v->group->host->eoi)
			v->group->host->eoi(v->group->host->eoi_ctx, r->eoi.vector);
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* Triple fault: Linux's reboot=t, or a guest that crashed very
		 * early. Either way the machine resets, which ends ember. */
		vcpus_stop(v->group, EMBER_EXIT_OK, "guest reset (triple fault)");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (r->system_event.type == KVM_SYSTEM_EVENT_CRASH) {
			guest_failure(v, "guest crashed (system event)");
			return false;
		}
		vcpus_stop(v->group, EMBER_EXIT_OK, "guest %s",
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

/* The vCPU enters its run loop: record it for kicks. False if the VM is
 * already stopping. */
static bool enter(struct vcpus *g, struct vcpu *v)
{
	bool ok;

	pthread_mutex_lock(&g->lock);
	ok = !(atomic_load(&g->flags) & VCPUS_STOP);
	if (ok) {
		v->thread = pthread_self();
		v->running = true;
		g->inside++;
	}
	pthread_mutex_unlock(&g->lock);
	return ok;
}

static void leave(struct vcpus *g, struct vcpu *v)
{
	pthread_mutex_lock(&g->lock);
	v->running = false;
	g->inside--;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/*
 * Park until the pause is lifted or the VM stops. The vCPU is between two
 * exits: every exit it took has been handled, so no device request is half
 * done. The kick that made it leave KVM_RUN left immediate_exit set; clear
 * it before the flags are read again (see vcpu_kick for why that order
 * cannot lose a later kick).
 */
static void park(struct vcpus *g, struct vcpu *v)
{
	/* Finish the exit handled last: KVM puts an IN's or MMIO read's data
	 * into the registers only on the next KVM_RUN. With immediate_exit
	 * set, KVM_RUN does just that and returns EINTR, so a snapshot taken
	 * while parked reads completed state. */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (ioctl(v->fd, KVM_RUN, 0) == 0)
		vcpu_handle_exit(v); /* not expected; but an exit is never dropped */
	else if (errno != EINTR && errno != EAGAIN)
		vcpus_stop(g, EMBER_EXIT_ERROR, "vCPU %u: KVM_RUN to complete an exit: %s", v->id,
			   strerror(errno));
	pthread_mutex_lock(&g->lock);
	g->parked++;
	pthread_cond_broadcast(&g->cond);
	while ((atomic_load(&g->flags) & (VCPUS_PAUSE | VCPUS_STOP)) == VCPUS_PAUSE)
		pthread_cond_wait(&g->cond, &g->lock);
	g->parked--;
	pthread_mutex_unlock(&g->lock);
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

void vcpus_run_here(struct vcpus *g, unsigned id)
{
	struct vcpu *v = &g->v[id];

	if (!enter(g, v))
		return;
	if (id == 0 && g->host->trace)
		trace_mark(g->host->trace, "first KVM_RUN", true);
	for (;;) {
		unsigned f = atomic_load(&g->flags);

		if (f & VCPUS_STOP)
			break;
		if (f & VCPUS_PAUSE) {
			park(g, v);
			continue;
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vcpus_stop(g, EMBER_EXIT_ERROR, "vCPU %u: KVM_RUN: %s", v->id,
				   strerror(errno));
			break;
		}
		if (!vcpu_handle_exit(v))
			break;
	}
	leave(g, v);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;

	sandbox_enter(SB_VCPU);
	vcpus_run_here(v->group, v->id);
	return NULL;
}

/*
 * Make a running vCPU leave KVM_RUN (it then reads the group's flags). Call
 * with the group's lock held, on vCPUs whose `running` is set.
 * immediate_exit covers the window before the thread enters KVM_RUN; the
 * signal interrupts it once inside. The flags are stored before this, and
 * park() clears immediate_exit before reading them, so either the vCPU
 * sees the new flags or KVM_RUN sees immediate_exit. The field is a plain
 * __u8 shared with the kernel, so C11 atomics cannot name it: use the
 * GCC/clang __atomic builtin for a sequentially consistent store.
 */
static void kick(struct vcpu *v)
{
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (!pthread_equal(v->thread, pthread_self()))
		pthread_kill(v->thread, EMBER_SIG_KICK);
}

static void kick_all(struct vcpus *g)
{
	for (unsigned i = 0; i < g->n; i++)
		if (g->v[i].running)
			kick(&g->v[i]);
}

int vcpus_init(struct vcpus *g, const struct vcpu_host *host, unsigned n)
{
	memset(g, 0, sizeof(*g));
	g->host = host;
	g->stop_fd = -1;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	atomic_init(&g->flags, 0);
	g->v = calloc(n, sizeof(*g->v));
	if (!g->v)
		return ember_seterr(-ENOMEM, "out of memory for %u vCPUs", n);
	g->n = n;
	for (unsigned i = 0; i < n; i++) {
		g->v[i].fd = -1;
		g->v[i].group = g;
		g->v[i].id = i;
	}
	g->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g->stop_fd < 0)
		return ember_seterr(-errno, "eventfd: %s", strerror(errno));
	return 0;
}

int vcpus_create(struct vcpus *g)
{
	for (unsigned i = 0; i < g->n; i++) {
		int err = create_one(g, &g->v[i], i);

		if (err)
			return err;
	}
	return 0;
}

int vcpus_start(struct vcpus *g, unsigned first)
{
	for (unsigned i = first; i < g->n; i++) {
		int err = ember_thread_start(&g->v[i].thread, vcpu_thread, &g->v[i]);
		char name[16];

		if (err)
			return ember_seterr(-err, "vCPU %u: thread: %s", i, strerror(err));
		g->v[i].joinable = true;
		/* Kata Containers finds Firecracker's vCPU threads by this name
		 * right after InstanceStart returns, to place them in cgroups:
		 * named here, before the start returns, not by the thread
		 * itself (a race the API test lost). 15 bytes is the limit. */
		snprintf(name, sizeof(name), g->host->thread_name, i);
		pthread_setname_np(g->v[i].thread, name);
	}
	return 0;
}

void vcpus_join(struct vcpus *g)
{
	for (unsigned i = 0; i < g->n; i++) {
		if (g->v[i].joinable)
			pthread_join(g->v[i].thread, NULL);
		g->v[i].joinable = false;
	}
}

void vcpus_destroy(struct vcpus *g)
{
	for (unsigned i = 0; g->v && i < g->n; i++) {
		struct vcpu *v = &g->v[i];

		if (v->run)
			munmap(v->run, (size_t)g->host->run_size);
		if (v->fd >= 0)
			close(v->fd);
	}
	free(g->v);
	g->v = NULL;
	g->n = 0;
	if (g->stop_fd >= 0)
		close(g->stop_fd);
	g->stop_fd = -1;
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

void vcpus_stop(struct vcpus *g, int status, const char *fmt, ...)
{
	uint64_t one = 1;
	va_list ap;

	pthread_mutex_lock(&g->lock);
	if (!(atomic_load(&g->flags) & VCPUS_STOP)) {
		g->exit_status = status;
		va_start(ap, fmt);
		vsnprintf(g->stop_reason, sizeof(g->stop_reason), fmt, ap);
		va_end(ap);
		/* Under the lock: a vCPU either entered before (and is kicked
		 * here) or sees the flag when it enters. */
		atomic_fetch_or(&g->flags, VCPUS_STOP);
		kick_all(g);
		pthread_cond_broadcast(&g->cond);
		if (g->stop_fd >= 0 && write(g->stop_fd, &one, sizeof(one)) < 0)
			perror("ember: stop eventfd");
	}
	pthread_mutex_unlock(&g->lock);
}

uint64_t vcpus_exits(struct vcpus *g, enum vcpu_exit_kind k)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < g->n; i++)
		sum += atomic_load_explicit(&g->v[i].exits[k], memory_order_relaxed);
	return sum;
}

bool vcpus_stopping(struct vcpus *g)
{
	return atomic_load(&g->flags) & VCPUS_STOP;
}

void vcpus_pause(struct vcpus *g)
{
	pthread_mutex_lock(&g->lock);
	atomic_fetch_or(&g->flags, VCPUS_PAUSE);
	kick_all(g);
	while (g->parked < g->inside && !(atomic_load(&g->flags) & VCPUS_STOP))
		pthread_cond_wait(&g->cond, &g->lock);
	pthread_mutex_unlock(&g->lock);
}

void vcpus_resume(struct vcpus *g)
{
	pthread_mutex_lock(&g->lock);
	atomic_fetch_and(&g->flags, ~VCPUS_PAUSE);
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static void dump_seg(FILE *f, const char *name, const struct kvm_segment *s)
{
	fprintf(f,
		"  %-3s sel=0x%04x base=0x%016llx limit=0x%08x type=0x%x p=%u dpl=%u db=%u "
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
