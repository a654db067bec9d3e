// SPDX-License-Identifier: MIT
/*
 * A stand-in for src/instance.c without a VM, for the API's unit tests and
 * its fuzz target: the same states and the same refusals, and a record of
 * what the API asked for. Test code: its globals are the test's knobs.
 */
#include "fake_instance.h"

#include <errno.h>
#include <string.h>

#include "board.h"
#include "util.h"

struct fake_calls fake;

void instance_init(struct instance *in, const struct vm_options *opt)
{
	in->opt = *opt;
	in->state = INSTANCE_NOT_STARTED;
	in->vm_live = false;
}

int instance_start(struct instance *in)
{
	fake.starts++;
	if (in->state != INSTANCE_NOT_STARTED)
		return ember_seterr(-EBUSY, "the microVM is already started");
	if (!in->cfg.kernel[0])
		return ember_seterr(-EINVAL, "no kernel: configure the boot source first");
	if (fake.start_fails)
		return ember_seterr(-EIO, "fake start failure");
	in->state = INSTANCE_RUNNING;
	return 0;
}

int instance_restore(struct instance *in, const struct snapshot_load_params *p)
{
	fake.restores++;
	if (in->state != INSTANCE_NOT_STARTED)
		return ember_seterr(-EBUSY, "the microVM is already started");
	fake.last_load = *p;
	in->state = p->resume ? INSTANCE_RUNNING : INSTANCE_PAUSED;
	return 0;
}

int instance_snapshot(struct instance *in, const struct snapshot_create_params *p)
{
	fake.snapshots++;
	if (in->state == INSTANCE_NOT_STARTED)
		return ember_seterr(-EINVAL, "the microVM is not started");
	if (in->state != INSTANCE_PAUSED)
		return ember_seterr(-EBUSY, "the microVM must be paused");
	fake.last_create = *p;
	return 0;
}

int instance_pause(struct instance *in)
{
	if (in->state == INSTANCE_NOT_STARTED)
		return ember_seterr(-EINVAL, "the microVM is not started");
	fake.pauses++;
	in->state = INSTANCE_PAUSED;
	return 0;
}

int instance_resume(struct instance *in)
{
	if (in->state == INSTANCE_NOT_STARTED)
		return ember_seterr(-EINVAL, "the microVM is not started");
	fake.resumes++;
	in->state = INSTANCE_RUNNING;
	return 0;
}

int instance_ctrl_alt_del(struct instance *in)
{
	(void)in;
	fake.ctrl_alt_dels++;
	return 0;
}

int instance_patch_drive(struct instance *in, unsigned index, const char *path,
			 const struct rate_limiter_config *rl)
{
	if (in->state == INSTANCE_NOT_STARTED || index >= in->cfg.ndisks)
		return ember_seterr(-EINVAL, "no such running drive");
	fake.drive_patches++;
	fake.last_index = index;
	if (path)
		snprintf(in->cfg.disks[index].path, sizeof(in->cfg.disks[index].path), "%s", path);
	fake.last_rl_set = rl != NULL;
	if (rl)
		fake.last_rl = *rl;
	return 0;
}

int instance_patch_net(struct instance *in, unsigned index, const struct rate_limiter_config *rx,
		       const struct rate_limiter_config *tx)
{
	if (in->state == INSTANCE_NOT_STARTED || index >= in->cfg.nnets)
		return ember_seterr(-EINVAL, "no such running network interface");
	fake.net_patches++;
	fake.last_index = index;
	fake.last_rl_set = rx != NULL;
	if (rx)
		fake.last_rl = *rx;
	(void)tx;
	return 0;
}

/* The metrics writer looks for devices: a fake instance has none. */
struct vm_virtio *board_find(struct board *b, const char *kind, unsigned index)
{
	(void)b;
	(void)kind;
	(void)index;
	return NULL;
}
