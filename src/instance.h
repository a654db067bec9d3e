/* SPDX-License-Identifier: MIT */
/*
 * One VM instance, as every front end drives it: a configuration that may
 * still change, then a VM that runs, pauses and resumes, and ends. The
 * states are Firecracker's ("Not started", "Running", "Paused"); the CLI,
 * a config file and the API all go through these calls, so the three
 * behave alike.
 *
 * Not thread-safe: one control thread calls these (the API thread, or the
 * CLI's main thread before it runs vCPU 0). The VM's own threads end it
 * through vm_stop(); instance_stop_fd() tells the control thread.
 */
#ifndef EMBER_INSTANCE_H
#define EMBER_INSTANCE_H

#include <stdbool.h>

#include "config.h"
#include "snapshot/snapshot.h"
#include "vm.h"

enum instance_state { INSTANCE_NOT_STARTED, INSTANCE_RUNNING, INSTANCE_PAUSED };

struct instance {
	struct ember_config cfg;
	struct vm_options opt;
	enum instance_state state;
	struct vm vm;
	struct snapshot_image snap; /* the snapshot restored (opt.restore) */
	bool vm_live;	 /* vm_create() ran: vm_destroy() owed */
	double start_ms; /* when InstanceStart arrived (ember_ms()) */
	double start_cpu_ms;
};

void instance_init(struct instance *in, const struct vm_options *opt);

/* Create, load and start the VM from in->cfg. On failure nothing is left
 * running and the instance stays Not started (the configuration can be
 * fixed and the start retried). 0 or negative errno with a message. */
int instance_start(struct instance *in);
/* Build the VM from a snapshot instead (Firecracker's PUT /snapshot/load):
 * running if p->resume, else paused. */
int instance_restore(struct instance *in, const struct snapshot_load_params *p);
/* Snapshot the paused VM (PUT /snapshot/create). */
int instance_snapshot(struct instance *in, const struct snapshot_create_params *p);
/* With opt.vcpu0_here: run vCPU 0 on the calling thread until the end. */
void instance_run_vcpu0(struct instance *in);

int instance_pause(struct instance *in);
int instance_resume(struct instance *in);

/* Ctrl-Alt-Del on the i8042 keyboard (Firecracker's SendCtrlAltDel). */
int instance_ctrl_alt_del(struct instance *in);

/* Swap drive `index`'s backing file (the guest sees the new capacity
 * through a config-change interrupt) and/or replace its rate limiter;
 * either may be NULL. in->cfg follows. */
int instance_patch_drive(struct instance *in, unsigned index, const char *path,
			 const struct rate_limiter_config *rl);
/* Replace network interface `index`'s rx and/or tx rate limiters. */
int instance_patch_net(struct instance *in, unsigned index, const struct rate_limiter_config *rx,
		       const struct rate_limiter_config *tx);

/* Readable once the running VM is stopping; -1 before the start. */
int instance_stop_fd(struct instance *in);
/* Stop the VM (if it runs) with this status and reason. */
void instance_stop(struct instance *in, int status, const char *reason);
/* After the stop: tear everything down; returns the exit status. Safe in
 * any state. */
int instance_finish(struct instance *in);

#endif
