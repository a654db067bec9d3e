/* SPDX-License-Identifier: MIT */
/*
 * vCPUs: one thread each, running KVM_RUN and dispatching exits to the buses,
 * and the run control of the whole group: stop (the VM ends) and pause (every
 * vCPU parks at a safe point, between two exits, until resumed).
 *
 * A vCPU sees the machine only through struct vcpu_host: the two buses, the
 * IOAPIC's EOI hook, the CPUID inputs and the boot entry. It never sees the
 * VM, the board or the devices, so the exit dispatch is testable without KVM
 * (tests/unit/test_vcpu.c feeds it a fake kvm_run).
 */
#ifndef EMBER_VCPU_H
#define EMBER_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct bus;
struct kvm_run;
struct kvm_cpuid2;
struct trace;
struct vcpus;

/* What a vCPU needs from the machine, and nothing more. */
struct vcpu_host {
	int vm_fd;
	int run_size; /* KVM_GET_VCPU_MMAP_SIZE */
	const struct kvm_cpuid2 *host_cpuid;
	bool tsc_deadline;
	bool smt;	/* two threads per core (machine-config smt) */
	uint64_t entry; /* vCPU 0's entry: the PVH one, or the kernel's 64-bit one */
	bool linux64;	/* enter by the Linux 64-bit boot protocol, not PVH */
	struct bus *pio, *mmio;
	void (*eoi)(void *ctx, unsigned vector); /* KVM_EXIT_IOAPIC_EOI */
	void *eoi_ctx;
	struct trace *trace;	 /* "first KVM_RUN"; NULL without --boot-trace */
	const char *thread_name; /* printf format with the vCPU id: "fc_vcpu %u" */
};

/* Exits counted for the metrics (Firecracker's vcpu.exit_*). */
enum vcpu_exit_kind {
	VCPU_EXIT_IO_IN,
	VCPU_EXIT_IO_OUT,
	VCPU_EXIT_MMIO_READ,
	VCPU_EXIT_MMIO_WRITE,
	VCPU_NEXITS
};

struct vcpu {
	struct vcpus *group;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread; /* valid while `running`: the thread in the run loop */
	bool running;	  /* guarded by the group's lock; kickable when set */
	bool joinable;	  /* has a thread of its own */
	/* Exit counts for the metrics, written by this vCPU's thread, read
	 * by the metrics writer. */
	atomic_uint_fast64_t exits[VCPU_NEXITS];
};

/* Group flags, read with one atomic load after every exit. */
#define VCPUS_STOP  1u
#define VCPUS_PAUSE 2u

struct vcpus {
	const struct vcpu_host *host;
	unsigned n;
	struct vcpu *v;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a vCPU parked or left; pause lifted; stop */
	atomic_uint flags;
	unsigned inside; /* vCPUs in their run loop (under lock) */
	unsigned parked; /* of those, parked by a pause (under lock) */
	int exit_status;
	char stop_reason[160];
	int stop_fd; /* eventfd: readable once the group is stopping */
};

/* Set up an empty group for n vCPUs (no KVM calls). 0 or -errno. */
int vcpus_init(struct vcpus *g, const struct vcpu_host *host, unsigned n);
/* Create every vCPU with its CPUID and MSRs; vCPU 0 also gets the PVH entry
 * state. The others wait in the in-kernel local APIC for INIT/SIPI. */
int vcpus_create(struct vcpus *g);
/* Start vCPUs first..n-1 on threads of their own. */
int vcpus_start(struct vcpus *g, unsigned first);
/* Run vCPU `id` on the calling thread until the VM stops (`ember run` runs
 * vCPU 0 on the main thread: no thread start and no hand-off on the boot
 * path). */
void vcpus_run_here(struct vcpus *g, unsigned id);
/* Join every vCPU thread (after a stop). */
void vcpus_join(struct vcpus *g);
/* Close the vCPUs and free the group. */
void vcpus_destroy(struct vcpus *g);

/* Ask every vCPU to stop; the first caller's status and reason win.
 * Callable from any thread, vCPU threads included. */
void vcpus_stop(struct vcpus *g, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool vcpus_stopping(struct vcpus *g);
/* Park every vCPU between two exits and return once all that run are
 * parked (or the VM stops). Not from a vCPU thread. */
void vcpus_pause(struct vcpus *g);
void vcpus_resume(struct vcpus *g);

/* One exit count summed over the group's vCPUs. */
uint64_t vcpus_exits(struct vcpus *g, enum vcpu_exit_kind k);

/* The CPUID table vCPU v gets (the host's, with ember's policy applied);
 * malloc'd, or NULL with a message. */
struct kvm_cpuid2 *vcpu_cpuid_table(struct vcpu *v);

/* Read (set false) or write one MSR of vCPU v: false if KVM refused it. */
bool vcpu_msr(struct vcpu *v, bool set, uint32_t index, uint64_t *val);

/* Handle the exit in v->run; false when the vCPU should stop running.
 * Exposed for tests. */
bool vcpu_handle_exit(struct vcpu *v);
/* Register dump for post-mortems of guest failures. */
void vcpu_dump(struct vcpu *v, FILE *f);

#endif
