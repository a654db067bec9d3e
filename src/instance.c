// SPDX-License-Identifier: MIT
#include "instance.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "dev/virtio_blk.h"
#include "dev/virtio_net.h"
#include "sandbox/sandbox.h"
#include "snapshot/snapshot.h"
#include "util.h"

void instance_init(struct instance *in, const struct vm_options *opt)
{
	/* in->cfg is the caller's: it may already hold the configuration. */
	in->opt = *opt;
	in->state = INSTANCE_NOT_STARTED;
	in->vm_live = false;
	in->start_ms = in->start_cpu_ms = 0;
}

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Create, load and start the VM from in->cfg and in->opt. */
static int bring_up(struct instance *in)
{
	int err;

	in->start_ms = ember_ms();
	in->start_cpu_ms = cpu_ms();
	in->vm_live = true;
	err = vm_create(&in->vm, &in->cfg, &in->opt);
	if (!err)
		err = vm_load(&in->vm);
	if (!err && vm_start(&in->vm)) {
		/* Some threads may have started: end them before the teardown,
		 * keeping the message. */
		char msg[EMBER_ERRMSG_MAX];

		snprintf(msg, sizeof(msg), "%s", ember_lasterr());
		vm_finish(&in->vm);
		err = ember_seterr(-EIO, "%s", msg);
	}
	if (err) {
		char msg[EMBER_ERRMSG_MAX];

		snprintf(msg, sizeof(msg), "%s", ember_lasterr());
		vm_destroy(&in->vm);
		in->vm_live = false;
		return ember_seterr(err, "%s", msg);
	}
	/* Firecracker mode: this thread serves the API for the rest of the
	 * VM's life (ember run confines its main thread as vCPU 0 instead). */
	if (!in->opt.vcpu0_here)
		sandbox_enter(SB_CONTROL);
	return 0;
}

int instance_start(struct instance *in)
{
	int err;

	if (in->state != INSTANCE_NOT_STARTED)
		return ember_seterr(-EBUSY, "the microVM is already started");
	if (!in->cfg.kernel[0])
		return ember_seterr(-EINVAL, "no kernel: configure the boot source first");
	err = bring_up(in);
	if (!err)
		in->state = INSTANCE_RUNNING;
	return err;
}

int instance_restore(struct instance *in, const struct snapshot_load_params *p)
{
	int err;

	if (in->state != INSTANCE_NOT_STARTED)
		return ember_seterr(-EBUSY, "the microVM is already started");
	err = snapshot_read(&in->snap, p, &in->cfg);
	if (!err) {
		in->opt.restore = &in->snap;
		in->opt.start_paused = !p->resume;
		err = bring_up(in);
	}
	if (err) {
		snapshot_image_free(&in->snap);
		in->opt.restore = NULL;
		return err;
	}
	in->state = p->resume ? INSTANCE_RUNNING : INSTANCE_PAUSED;
	return 0;
}

int instance_snapshot(struct instance *in, const struct snapshot_create_params *p)
{
	if (in->state == INSTANCE_NOT_STARTED)
		return ember_seterr(-EINVAL, "the microVM is not started");
	if (in->state != INSTANCE_PAUSED)
		return ember_seterr(-EBUSY, "the microVM must be paused (PATCH /vm "
					    "{\"state\": \"Paused\"})");
	return vm_snapshot(&in->vm, p);
}

void instance_run_vcpu0(struct instance *in)
{
	if (in->state != INSTANCE_NOT_STARTED)
		vm_run_vcpu0(&in->vm);
}

int instance_pause(struct instance *in)
{
	if (in->state == INSTANCE_NOT_STARTED)
		return ember_seterr(-EINVAL, "the microVM is not started");
	vm_pause(&in->vm);
	in->state = INSTANCE_PAUSED;
	return 0;
}

int instance_resume(struct instance *in)
{
	if (in->state == INSTANCE_NOT_STARTED)
		return ember_seterr(-EINVAL, "the microVM is not started");
	vm_resume(&in->vm);
	in->state = INSTANCE_RUNNING;
	return 0;
}

int instance_ctrl_alt_del(struct instance *in)
{
	if (in->state == INSTANCE_NOT_STARTED)
		return ember_seterr(-EINVAL, "the microVM is not started");
	return i8042_send_ctrl_alt_del(&in->vm.board.i8042);
}

int instance_patch_drive(struct instance *in, unsigned index, const char *path,
			 const struct rate_limiter_config *rl)
{
	struct disk_config *d = &in->cfg.disks[index];
	struct vm_virtio *s;
	struct virtio_blk *b;
	int err;

	if (in->state == INSTANCE_NOT_STARTED || index >= in->cfg.ndisks)
		return ember_seterr(-EINVAL, "no such running drive");
	s = board_find(&in->vm.board, "blk", index);
	if (!s)
		return ember_seterr(-ENODEV, "drive %s has no device", d->id);
	b = s->model;
	if (path) {
		err = virtio_blk_swap(b, path);
		if (err)
			return err;
		config_copy(d->path, sizeof(d->path), path); /* checked by the swap */
	}
	if (rl) {
		err = virtio_blk_set_rate_limiter(b, rl);
		if (err)
			return err;
		config_rl_update(&d->rl, rl);
	}
	return 0;
}

int instance_patch_net(struct instance *in, unsigned index, const struct rate_limiter_config *rx,
		       const struct rate_limiter_config *tx)
{
	struct net_config *n = &in->cfg.nets[index];
	struct vm_virtio *s;
	int err;

	if (in->state == INSTANCE_NOT_STARTED || index >= in->cfg.nnets)
		return ember_seterr(-EINVAL, "no such running network interface");
	s = board_find(&in->vm.board, "net", index);
	if (!s)
		return ember_seterr(-ENODEV, "network interface %s has no device", n->id);
	err = virtio_net_set_rate_limiter(s->model, rx, tx);
	if (err)
		return err;
	if (rx)
		config_rl_update(&n->rx_rl, rx);
	if (tx)
		config_rl_update(&n->tx_rl, tx);
	return 0;
}

int instance_stop_fd(struct instance *in)
{
	return in->state == INSTANCE_NOT_STARTED ? -1 : vm_stop_fd(&in->vm);
}

void instance_stop(struct instance *in, int status, const char *reason)
{
	if (in->state != INSTANCE_NOT_STARTED)
		vm_stop(&in->vm, status, "%s", reason);
}

int instance_finish(struct instance *in)
{
	int status = EMBER_EXIT_OK;

	if (in->vm_live) {
		status = vm_finish(&in->vm);
		vm_destroy(&in->vm);
		in->vm_live = false;
	}
	if (in->opt.restore) {
		snapshot_image_free(&in->snap);
		in->opt.restore = NULL;
	}
	in->state = INSTANCE_NOT_STARTED;
	return status;
}
