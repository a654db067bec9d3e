/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of a running VM and VMs restored from them (Firecracker's
 * snapshot API; ember snapshot / ember restore).
 *
 * A snapshot is two files:
 *  - the state file (snapfile.h's container): the configuration the VM was
 *    built from, every vCPU (vcpu_state.h), the VM clock, and every device;
 *  - the memory file: guest RAM byte for byte as the host maps it (region 0,
 *    then region 1 above 4 GiB), exactly the RAM size, with holes where the
 *    guest never wrote or wrote zeros. A diff snapshot writes only the pages
 *    written since the last snapshot, into the file given (the base's, or a
 *    new one to merge with `ember snapshot-merge`).
 *
 * Restore builds the VM from the state file's configuration, maps the memory
 * file private and copy-on-write (or hands the memory to a page-fault handler
 * over userfaultfd), loads the state, and starts it as vm_start() does.
 */
#ifndef EMBER_SNAPSHOT_SNAPSHOT_H
#define EMBER_SNAPSHOT_SNAPSHOT_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "snapshot/snapfile.h"

struct vm;

struct snapshot_create_params {
	char state_path[CONFIG_PATH_MAX];
	char mem_path[CONFIG_PATH_MAX];
	bool diff;
};

/* Write a snapshot of `vm`, which must be paused. The memory file first,
 * then the state file (written beside it and renamed into place): a state
 * file that exists is complete and names memory that is. On error, returns
 * negative errno with a message; the VM is untouched either way. */
int vm_snapshot(struct vm *vm, const struct snapshot_create_params *p);

struct snapshot_net_override {
	char id[CONFIG_ID_MAX];
	char tap[16];
};

struct snapshot_load_params {
	char state_path[CONFIG_PATH_MAX];
	bool uffd; /* memory from a page-fault handler (mem_path its socket) */
	char mem_path[CONFIG_PATH_MAX];
	bool track_dirty_pages;
	bool clock_realtime; /* advance kvmclock by the time since the snapshot */
	bool resume;	     /* Firecracker's resume_vm */
	unsigned nnet;
	struct snapshot_net_override net[CONFIG_MAX_NETS];
	char vsock_uds[108]; /* "" : the snapshot's */
};

/* A state file read and checked, waiting to become a VM (vm_options.restore). */
struct snapshot_image {
	uint8_t *buf;
	size_t len;
	struct snap_file file;
	struct snapshot_load_params p;
	int mem_fd; /* the File backend's memory file, or -1 */
	uint64_t mem_size;
	bool diff; /* the snapshot was a diff */
	struct kvm_clock_data clock;
};

/* Read the state file p->state_path, check it whole, and fill cfg with the
 * configuration it was taken with, the overrides applied (cfg's process
 * settings, the logger, metrics and serial output, are left as they are).
 * Opens and checks the memory file. 0, or negative errno with a message. */
int snapshot_read(struct snapshot_image *img, const struct snapshot_load_params *p,
		  struct ember_config *cfg);
void snapshot_image_free(struct snapshot_image *img);

/* The pure part of snapshot_read(), for tests and the fuzzer: parse and
 * check a state file's configuration and VM sections. */
int snapshot_parse_config(const struct snap_file *f, struct ember_config *cfg,
			  struct snapshot_image *img);

/* The META, VMEM and CONF sections (snapconf.c). */
void snapshot_save_meta(struct snap_w *w, const struct ember_config *cfg, bool diff);

/* For vm.c: map guest RAM from the image (vm_create), and load the state
 * into the created VM (vm_load): vCPUs, clock, devices. */
int snapshot_map_memory(struct vm *vm);
int snapshot_apply(struct vm *vm);

#endif
