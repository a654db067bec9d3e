/* SPDX-License-Identifier: MIT */
/* A VM-less instance for API tests (see fake_instance.c). */
#ifndef EMBER_TEST_FAKE_INSTANCE_H
#define EMBER_TEST_FAKE_INSTANCE_H

#include "instance.h"

struct fake_calls {
	bool start_fails; /* knob: instance_start() fails */
	unsigned starts, pauses, resumes, ctrl_alt_dels, drive_patches, net_patches;
	unsigned last_index;
	bool last_rl_set;
	struct rate_limiter_config last_rl;
	unsigned restores, snapshots;
	struct snapshot_load_params last_load;
	struct snapshot_create_params last_create;
};
extern struct fake_calls fake;

#endif
