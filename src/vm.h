/* SPDX-License-Identifier: MIT */
/*
 * The virtual machine: /dev/kvm, the VM fd, guest RAM and its memory slots,
 * the split irqchip (local APICs in KVM, the IOAPIC on the board), the board
 * with its devices, the vCPUs, the terminal, and the lifecycle that every
 * front end drives:
 *
 *   vm_create -> vm_load -> vm_start -> [vm_pause <-> vm_resume] -> vm_stop
 *   -> vm_finish -> vm_destroy
 *
 * Init runs in a fixed order and tears down in reverse; vm_destroy() is safe
 * after a failure at any step.
 */
#ifndef EMBER_VM_H
#define EMBER_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "board.h"
#include "boot/loader.h"
#include "config.h"
#include "console.h"
#include "console_out.h"
#include "guest_mem.h"
#include "trace.h"
#include "util.h"
#include "vcpu.h"

struct kvm_cpuid2;
struct snapshot_image;

/* How a front end wants the machine run. */
struct vm_options {
	/* Thread names of the vCPUs (a format with the vCPU id): Firecracker
	 * mode uses Firecracker's "fc_vcpu %u". */
	const char *vcpu_name;
	/* Run vCPU 0 on the thread that calls vm_run_vcpu0() (the CLI), else
	 * on a thread of its own (the API's main thread keeps serving). */
	bool vcpu0_here;
	/* Console input passes through untouched: no Ctrl-A escapes, no
	 * Ctrl-D at end of input (Firecracker's serial behaviour). */
	bool plain_console;
	/* Guest console output; -1 for standard output. */
	int out_fd;
	/* The guest wrote the boot marker; or NULL. */
	void (*marker)(void *ctx);
	void *ctx;
	/* Build the VM from this snapshot instead of booting a kernel; or
	 * NULL. The caller keeps it until vm_destroy(). */
	struct snapshot_image *restore;
	/* vm_start() leaves the VM paused (a snapshot loaded without
	 * resume_vm): vm_resume() runs it. */
	bool start_paused;
};

struct vm {
	const struct ember_config *cfg;
	struct vm_options opt;
	int kvm_fd, vm_fd;
	int run_size; /* KVM_GET_VCPU_MMAP_SIZE */
	unsigned max_vcpus;
	bool tsc_deadline;
	struct kvm_cpuid2 *host_cpuid; /* KVM_GET_SUPPORTED_CPUID */
	struct guest_mem mem;
	struct board board;
	bool board_ready;
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
	struct vcpu_host vhost;
	struct vcpus vcpus;
	bool vcpus_ready;
	bool start_failed;
	struct console con;
	struct console_out out; /* guest output, drained by its own thread */
	int serial_fd;		/* cfg->serial.out_path, or -1 */
	bool started;		/* vm_start() ran: console and threads to stop */
	bool paused;
	int uffd;	 /* guest RAM's userfaultfd (snapshot's Uffd backend), or -1 */
	bool dirty_base; /* dirty logs run since a snapshot taken or restored */
	double snap_ms;	 /* the last vm_snapshot(): how long, and memory bytes written */
	uint64_t snap_bytes;
};

/* Open KVM, create the VM, memory, irqchip and the board's legacy devices.
 * On error returns negative errno with a message; vm_destroy() is safe
 * afterwards. */
/* Open /dev/kvm and check that it is KVM with the API ember speaks; the fd,
 * or negative errno with a message that says what to do. */
int kvm_open(void);

int vm_create(struct vm *vm, const struct ember_config *cfg, const struct vm_options *opt);

/* Add the virtio devices, load the kernel, initrd and boot data into guest
 * RAM and create the vCPUs. */
int vm_load(struct vm *vm);

/* Start the console, the device threads and the vCPU threads (vCPU 0 too
 * unless opt.vcpu0_here). On error the VM is stopping; call vm_finish(). */
int vm_start(struct vm *vm);
/* With opt.vcpu0_here: run vCPU 0 on this thread until the VM stops. */
void vm_run_vcpu0(struct vm *vm);

/* Park the vCPUs (between two exits), then the device threads (between two
 * requests) and the console input; resume in reverse. From one control
 * thread, not from a vCPU or device thread. */
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);

/* Ask every vCPU to stop; the first caller's status and reason win.
 * Callable from any thread. */
void vm_stop(struct vm *vm, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An fd that becomes readable once the VM is stopping (for event loops). */
int vm_stop_fd(struct vm *vm);

/* After the stop: join the threads, restore the terminal, print the boot
 * trace and the reason. Returns the process exit status (EMBER_EXIT_*). */
int vm_finish(struct vm *vm);

/* The CLI's whole run: vm_start, vCPU 0 here, vm_finish. */
int vm_run(struct vm *vm);

void vm_destroy(struct vm *vm);

#endif
