// SPDX-License-Identifier: MIT
#include "dev/virtio_rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util.h"

/* Cap per request so one huge buffer cannot monopolise the thread. */
#define RNG_MAX_PER_REQUEST (64 * 1024)

void virtio_rng_notify(struct virtio_dev *d, unsigned q)
{
	static _Thread_local uint8_t buf[RNG_MAX_PER_REQUEST];
	struct virtio_rng *rng = d->priv;
	struct vq_chain *c = malloc(sizeof(*c));
	struct vq *vq;
	bool pushed = false;
	int r = 0;

	if (!c)
		return;
	virtio_lock(d);
	while ((vq = virtio_queue(d, q)) && (r = vq_pop(vq, c)) > 0) {
		uint64_t want = c->write_len < sizeof(buf) ? c->write_len : sizeof(buf);
		ssize_t got;

		/* Charged for what it will get, not its buffer's size: a
		 * larger buffer is only ever given the cap. Throttled, it
		 * goes back to the ring and the limiter's timer resumes us. */
		if (!rate_limiter_io_allow(&rng->rl, want, 1)) {
			counter_add(&rng->m.entropy_rate_limiter_throttled, 1);
			vq_unpop(vq, 1);
			break;
		}
		got = want ? getrandom(buf, want, 0) : 0;
		if (got < 0) {
			counter_add(&rng->m.host_rng_fails, 1);
			got = 0;
		}
		got = (ssize_t)vq_chain_write(c, 0, buf, (uint64_t)got);
		vq_push(vq, c->head, (uint32_t)got);
		counter_add(&rng->m.entropy_event_count, 1);
		counter_add(&rng->m.entropy_bytes, got);
		pushed = true;
	}
	if (vq && r < 0)
		virtio_needs_reset(d, ember_lasterr());
	if (pushed)
		virtio_signal_used(d, q);
	virtio_unlock(d);
	free(c);
}

const struct virtio_dev_ops virtio_rng_ops = {
    .name = "rng",
    .device_id = VIRTIO_ID_RNG,
    .features = VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_F_RING_EVENT_IDX,
    .nqueues = 1,
    .queue_max = 256,
    .notify = virtio_rng_notify,
};

void virtio_rng_timer_ready(void *ctx, int fd, uint32_t events)
{
	struct virtio_rng *r = ctx;

	(void)fd;
	(void)events;
	virtio_lock(r->dev);
	rate_limiter_io_timer_fired(&r->rl);
	counter_add(&r->m.rate_limiter_event_count, 1);
	virtio_unlock(r->dev);
	virtio_rng_notify(r->dev, 0);
}

int virtio_rng_set_rate_limiter(struct virtio_rng *r, const struct rate_limiter_config *cfg)
{
	int err;

	virtio_lock(r->dev);
	err = rate_limiter_io_update(&r->rl, cfg);
	virtio_unlock(r->dev);
	return err;
}

int virtio_rng_setup(struct virtio_rng *r, const struct rng_config *cfg)
{
	memset(r, 0, sizeof(*r));
	return rate_limiter_io_init(&r->rl, cfg ? &cfg->rl : NULL, "virtio-rng");
}

void virtio_rng_close(struct virtio_rng *r)
{
	rate_limiter_io_close(&r->rl);
}

static void rng_destroy(void *model)
{
	struct virtio_rng *r = model;

	virtio_rng_close(r);
	free(r);
}

int virtio_rng_create(struct vm_virtio *s, const struct guest_mem *mem, const void *arg)
{
	struct virtio_rng *r = malloc(sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	err = virtio_rng_setup(r, arg);
	if (err) {
		virtio_rng_close(r);
		free(r);
		return err;
	}
	r->dev = &s->dev;
	rate_limiter_io_attach(&r->rl, &s->worker, virtio_rng_timer_ready, r);
	s->model = r;
	s->model_destroy = rng_destroy;
	virtio_init(&s->dev, &virtio_rng_ops, r, mem);
	return 0;
}
