/* SPDX-License-Identifier: MIT */
/* vCPUs: one thread each, running KVM_RUN and dispatching exits to the buses. */
#ifndef EMBER_VCPU_H
#define EMBER_VCPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

struct vm;
struct kvm_run;

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread; /* valid while running: the thread in the run loop */
	bool running;	  /* guarded by vm->stop_lock; kickable when set */
	bool joinable;	  /* has a thread of its own (all but vCPU 0) */
};

/* Create vCPU `id` with its CPUID and MSRs; the boot vCPU (id 0) also gets
 * the PVH entry state. The others wait in the in-kernel local APIC for
 * INIT/SIPI. */
int vcpu_create(struct vm *vm, struct vcpu *v, unsigned id);
/* Run the vCPU on a new thread. */
int vcpu_start(struct vcpu *v);
/* Run the vCPU on the calling thread until the VM stops (vCPU 0 runs on the
 * main thread: no thread start and no hand-off on the boot path). */
void vcpu_run_here(struct vcpu *v);
/* Make a running vCPU leave KVM_RUN (it then sees vm_stopping()). Call with
 * vm->stop_lock held, on vCPUs whose `running` is set. */
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);
/* Register dump for post-mortems of guest failures. */
void vcpu_dump(struct vcpu *v, FILE *f);

/* Install the (empty) signal handler used by vcpu_kick. Once per process. */
int vcpu_signal_init(void);

#endif
