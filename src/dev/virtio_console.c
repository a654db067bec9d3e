// SPDX-License-Identifier: MIT
#include "dev/virtio_console.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "console.h"
#include "util.h"

#define RXQ 0
#define TXQ 1

/* Receive (vc->lock held): buffered input into one receive chain. */
static int rx_request(struct virtio_dev *d, struct vq_chain *c, void *ctx, uint32_t *written)
{
	struct virtio_console *vc = ctx;
	uint64_t n = 0;

	(void)d;
	if (!vc->count)
		return VIRTIO_REQ_AGAIN;
	while (vc->count && n < c->write_len) {
		unsigned run = VCON_INPUT_SIZE - vc->head;
		uint64_t take = vc->count < run ? vc->count : run;

		if (take > c->write_len - n)
			take = c->write_len - n;
		n += vq_chain_write(c, n, vc->in + vc->head, take);
		vc->head = (vc->head + (unsigned)take) % VCON_INPUT_SIZE;
		vc->count -= (unsigned)take;
	}
	*written = (uint32_t)n;
	return vc->count ? VIRTIO_REQ_DONE : VIRTIO_REQ_LAST;
}

/* Transmit: everything the guest wrote goes to the terminal. */
static int tx_request(struct virtio_dev *d, struct vq_chain *c, void *ctx, uint32_t *written)
{
	struct virtio_console *vc = ctx;

	(void)d;
	for (unsigned i = 0; i < c->nread; i++)
		console_out_put(vc->out, c->iov[i].iov_base, c->iov[i].iov_len);
	if (c->read_len && vc->first_output) {
		vc->first_output(vc->ctx);
		vc->first_output = NULL;
	}
	*written = 0;
	return VIRTIO_REQ_DONE;
}

static void con_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_console *vc = d->priv;

	virtio_lock(d);
	if (q == TXQ) {
		virtio_serve_queue(d, TXQ, &vc->chain, tx_request, vc);
	} else {
		pthread_mutex_lock(&vc->lock);
		if (vc->count)
			virtio_serve_queue(d, RXQ, &vc->chain, rx_request, vc);
		pthread_cond_broadcast(&vc->space);
		pthread_mutex_unlock(&vc->lock);
	}
	virtio_unlock(d);
}

static void on_wake(void *ctx, int fd, uint32_t events)
{
	struct virtio_console *vc = ctx;
	uint64_t v;

	(void)events;
	while (read(fd, &v, sizeof(v)) == sizeof(v))
		;
	con_notify(&vc->slot->dev, RXQ);
}

static int con_activate(struct virtio_dev *d)
{
	struct virtio_console *vc = d->priv;
	uint64_t one = 1;

	/* Input typed before the driver was ready is waiting: deliver it. */
	if (write(vc->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static void con_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	(void)d;
	(void)off;
	memset(data, 0, len); /* cols, rows, max_nr_ports: unused features */
}

static const struct virtio_dev_ops console_ops = {
	.name = "console",
	.device_id = VIRTIO_ID_CONSOLE,
	.features = VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_F_RING_EVENT_IDX,
	.nqueues = 2,
	.queue_max = 256,
	.config_size = 12,
	.config_read = con_config_read,
	.activate = con_activate,
	.notify = con_notify,
};

int virtio_console_input(void *con, const uint8_t *buf, size_t len, bool wait)
{
	struct virtio_console *vc = con;
	uint64_t one = 1;
	size_t n = 0;

	pthread_mutex_lock(&vc->lock);
	while (wait && !vc->closed && vc->count == VCON_INPUT_SIZE)
		pthread_cond_wait(&vc->space, &vc->lock);
	if (vc->closed) {
		pthread_mutex_unlock(&vc->lock);
		return -EPIPE;
	}
	while (n < len && vc->count < VCON_INPUT_SIZE) {
		vc->in[(vc->head + vc->count) % VCON_INPUT_SIZE] = buf[n++];
		vc->count++;
	}
	pthread_mutex_unlock(&vc->lock);
	if (write(vc->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return (int)n;
}

void virtio_console_close(struct virtio_console *vc)
{
	pthread_mutex_lock(&vc->lock);
	vc->closed = true;
	pthread_cond_broadcast(&vc->space);
	pthread_mutex_unlock(&vc->lock);
}

static void con_destroy(void *model)
{
	struct virtio_console *vc = model;

	if (vc->wake_fd >= 0)
		close(vc->wake_fd);
	pthread_cond_destroy(&vc->space);
	pthread_mutex_destroy(&vc->lock);
	free(vc);
}

int virtio_console_create(struct vm_virtio *s, const struct guest_mem *mem, const void *arg)
{
	const struct virtio_console_args *a = arg;
	struct virtio_console *vc = calloc(1, sizeof(*vc));

	if (!vc)
		return -ENOMEM;
	vc->slot = s;
	vc->out = a->output;
	vc->first_output = a->first_output;
	vc->ctx = a->ctx;
	pthread_mutex_init(&vc->lock, NULL);
	pthread_cond_init(&vc->space, NULL);
	s->model = vc;
	s->model_destroy = con_destroy;
	virtio_init(&s->dev, &console_ops, vc, mem);
	vc->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vc->wake_fd < 0)
		return ember_seterr(-errno, "virtio-console: eventfd: %s", strerror(errno));
	*a->out = vc;
	return 0;
}

/* The worker exists only after create: vm.c calls this to watch wake_fd. */
int virtio_console_attach(struct virtio_console *vc)
{
	return worker_add_fd(&vc->slot->worker, vc->wake_fd, EPOLLIN, on_wake, vc);
}
