// SPDX-License-Identifier: MIT
#include "dev/virtio_rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "util.h"

/* Cap per request so one huge buffer cannot monopolise the thread. */
#define RNG_MAX_PER_REQUEST (64 * 1024)

void virtio_rng_notify(struct virtio_dev *d, unsigned q)
{
	static _Thread_local uint8_t buf[RNG_MAX_PER_REQUEST];
	struct vq_chain *c = malloc(sizeof(*c));
	struct vq *vq;
	bool pushed = false;
	int r;

	if (!c)
		return;
	virtio_lock(d);
	while ((vq = virtio_queue(d, q)) && (r = vq_pop(vq, c)) > 0) {
		uint64_t want = c->write_len < sizeof(buf) ? c->write_len : sizeof(buf);
		ssize_t got = want ? getrandom(buf, want, 0) : 0;

		if (got < 0)
			got = 0;
		vq_push(vq, c->head, (uint32_t)vq_chain_write(c, 0, buf, (uint64_t)got));
		pushed = true;
	}
	if (vq && r < 0)
		virtio_needs_reset(d, ember_lasterr());
	if (pushed)
		virtio_signal_used(d, q);
	virtio_unlock(d);
	free(c);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "rng",
	.device_id = VIRTIO_ID_RNG,
	.features = VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_F_RING_EVENT_IDX,
	.nqueues = 1,
	.queue_max = 256,
	.notify = virtio_rng_notify,
};

int virtio_rng_create(struct vm_virtio *s, const struct guest_mem *mem, const void *arg)
{
	(void)arg;
	virtio_init(&s->dev, &rng_ops, NULL, mem);
	return 0;
}
