/* SPDX-License-Identifier: MIT */
/*
 * The virtual machine: /dev/kvm, the VM fd, guest RAM and its memory slots,
 * the split irqchip (local APICs in KVM, IOAPIC in ember), the buses and legacy devices, the vCPUs, and
 * the stop protocol. Init runs in a fixed order (vm_create) and tears down in
 * reverse (vm_destroy).
 */
#ifndef EMBER_VM_H
#define EMBER_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "boot/loader.h"
#include "bus.h"
#include "config.h"
#include "dev/boot_marker.h"
#include "dev/cmos.h"
#include "dev/i8042.h"
#include "dev/ioapic.h"
#include "dev/uart.h"
#include "guest_mem.h"
#include "trace.h"
#include "util.h"
#include "boot/layout.h"

struct vm_virtio;
struct virtio_console;

struct vcpu;
struct kvm_cpuid2;

/* Process exit statuses (documented in ember --help). */
#define EMBER_EXIT_OK	     0 /* guest reset or shut down */
#define EMBER_EXIT_ERROR     1 /* ember failed: bad input, host problem */
#define EMBER_EXIT_USAGE     2 /* bad command line */
#define EMBER_EXIT_GUEST_ERR 3 /* guest crashed the vCPU: internal error, bad exit */

struct vm {
	const struct ember_config *cfg;
	int kvm_fd, vm_fd;
	int run_size; /* KVM_GET_VCPU_MMAP_SIZE */
	unsigned max_vcpus;
	bool tsc_deadline;
	struct kvm_cpuid2 *host_cpuid; /* KVM_GET_SUPPORTED_CPUID */
	struct guest_mem mem;
	struct bus pio, mmio;
	struct uart uart;
	struct ioapic ioapic;
	bool devices_ready;
	struct i8042 i8042;
	struct cmos cmos;
	struct boot_marker marker;
	struct loader_result boot;
	/* The kernel and initrd copy, on a thread of its own while the main
	 * thread creates the VM (see start_image_load() in vm.c). */
	struct image_load {
		pthread_t thread;
		bool threaded; /* on the thread (else vm_load() copies) */
		bool running;  /* started and not yet joined */
		int err;
		char msg[EMBER_ERRMSG_MAX]; /* the thread's error message */
	} load;
	struct trace trace;
	int out_fd; /* guest console output */

	struct virtio_console *vcon; /* --console virtio, else NULL */
	unsigned nvirtio;
	struct vm_virtio *virtio[16];
	char cmdline[LAYOUT_CMDLINE_MAX]; /* the user's plus device parameters */

	unsigned nvcpus;
	struct vcpu *vcpus;

	pthread_mutex_t stop_lock;
	atomic_bool stopping; /* written under stop_lock; read anywhere */
	int exit_status;
	char stop_reason[160];
};

/* Open KVM, create the VM, memory, irqchip, devices. On error returns
 * negative errno with a message; vm_destroy() is safe afterwards. */
int vm_create(struct vm *vm, const struct ember_config *cfg);

/* Load the kernel, initrd and boot data into guest RAM and set up vCPUs. */
int vm_load(struct vm *vm);

/* Run until the guest resets, shuts down or fails, or the user quits.
 * Returns the process exit status (EMBER_EXIT_*). */
int vm_run(struct vm *vm);

void vm_destroy(struct vm *vm);

/* Ask every vCPU to stop; the first caller's status and reason win.
 * Callable from any thread. */
void vm_stop(struct vm *vm, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool vm_stopping(struct vm *vm);
/* A vCPU is about to run on the calling thread: record it for kicks.
 * Returns false if the VM is already stopping. */
bool vm_vcpu_enter(struct vm *vm, struct vcpu *v);

#endif
