/* SPDX-License-Identifier: MIT */
/*
 * The kinds of thread ember runs, each with its own seccomp allow-list
 * (src/sandbox/policy.c). Shared by the filter generator, which compiles
 * one BPF program per kind at build time, and the run-time side
 * (src/sandbox/sandbox.c), which installs them.
 */
#ifndef EMBER_SANDBOX_KINDS_H
#define EMBER_SANDBOX_KINDS_H

enum sandbox_kind {
	SB_CONTROL,	/* ember run's API thread; Firecracker mode's main thread */
	SB_VCPU,	/* a vCPU thread */
	SB_VCPU0,	/* ember run's main thread: vCPU 0, then the teardown */
	SB_LOADER,	/* copies the kernel image into guest RAM during boot */
	SB_CONSOLE_IN,	/* reads the host terminal for the guest's console */
	SB_CONSOLE_OUT, /* writes the guest's console to standard output */
	SB_BLK,		/* virtio-blk worker */
	SB_NET,		/* virtio-net worker */
	SB_RNG,		/* virtio-rng worker */
	SB_VCON,	/* virtio-console worker */
	SB_VSOCK,	/* virtio-vsock worker */
	SB_KINDS
};

/* Names, in enum order: thread names in messages and the docs. */
#define SANDBOX_KIND_NAMES                                                                         \
	{                                                                                          \
		"control", "vcpu", "vcpu0", "loader", "console-in", "console-out", "virtio-blk",   \
		    "virtio-net", "virtio-rng", "virtio-console", "virtio-vsock"                   \
	}

#endif
