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
	pthread_t thread;
	bool thread_started;
};

/* Create vCPU `id` with its CPUID and MSRs; the boot vCPU (id 0) also gets
 * the PVH entry state. The others wait in the in-kernel local APIC for
 * INIT/SIPI. */
int vcpu_create(struct vm *vm, struct vcpu *v, unsigned id);
int vcpu_start(struct vcpu *v);
/* Make a running vCPU leave KVM_RUN (it then sees vm_stopping()). */
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);
/* Register dump for post-mortems of guest failures. */
void vcpu_dump(struct vcpu *v, FILE *f);

/* Install the (empty) signal handler used by vcpu_kick. Once per process. */
int vcpu_signal_init(void);

#endif
