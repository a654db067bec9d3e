// SPDX-License-Identifier: MIT
#include "dev/virtio_rng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util.h"

/* Cap per request so one huge buffer cannot monopolise the thread. */
#define RNG_MAX_PER_REQUEST (64 * 1024)

/* getrandom() straight into the chain's writable buffers, up to `want`
 * bytes; returns the bytes given (0 if the host's source failed). */
static uint64_t fill_random(struct virtio_rng *rng, const struct vq_chain *c, uint64_t want)
{
	uint64_t got = 0;

	for (unsigned i = c->nread; i < c->n && got < want; i++) {
		uint8_t *p = c->iov[i].iov_base;
		size_t len = c->iov[i].iov_len, done = 0;

		if (len > want - got)
			len = (size_t)(want - got);
		while (done < len) {
			ssize_t r = getrandom(p + done, len - done, 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				counter_add(&rng->m.host_rng_fails, 1);
				return got + done;
			}
			done += (size_t)r;
		}
		got += done;
	}
	return got;
}

static int rng_request(struct virtio_dev *d, struct vq_chain *c, void *ctx, uint32_t *written)
{
	struct virtio_rng *rng = ctx;
	uint64_t want = c->write_len < RNG_MAX_PER_REQUEST ? c->write_len : RNG_MAX_PER_REQUEST;
	uint64_t got;

	(void)d;
	/* Charged for what it will get, not its buffer's size: a larger
	 * buffer is only ever given the cap. Throttled, it goes back to the
	 * ring and the limiter's timer resumes us. */
	if (!rate_limiter_io_allow(&rng->rl, want, 1)) {
		counter_add(&rng->m.entropy_rate_limiter_throttled, 1);
		return VIRTIO_REQ_AGAIN;
	}
	got = fill_random(rng, c, want);
	*written = (uint32_t)got;
	counter_add(&rng->m.entropy_event_count, 1);
	counter_add(&rng->m.entropy_bytes, got);
	return VIRTIO_REQ_DONE;
}

void virtio_rng_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_rng *rng = d->priv;

	virtio_lock(d);
	virtio_serve_queue(d, q, &rng->chain, rng_request, rng);
	virtio_unlock(d);
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
