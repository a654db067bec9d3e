// SPDX-License-Identifier: MIT
#include "vm_virtio.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "boot/layout.h"
#include "util.h"
#include "board.h"

static void raise_irq(void *ctx)
{
	struct vm_virtio *s = ctx;
	uint64_t one = 1;

	if (write(s->irq_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("ember: virtio: irqfd");
}

/*
 * Queue notifications: one KVM ioeventfd per queue on QueueNotify, matched on
 * the queue index, so a notify never leaves the kernel. Installed when the
 * driver first sets DRIVER_OK: each ioeventfd costs an SRCU grace period when
 * the VM is destroyed (bench/README.md), which a VM whose guest never drives
 * the device (a test or benchmark guest) need not pay. Until then, and if
 * this fails, notifies reach the device through the MMIO exit (kick).
 */
static void install_ioeventfds(void *ctx)
{
	struct vm_virtio *s = ctx;

	if (s->ioeventfds)
		return;
	for (unsigned q = 0; q < s->dev.ops->nqueues; q++) {
		struct kvm_ioeventfd ioe = {
			.datamatch = q,
			.addr = s->base + VIRTIO_MMIO_QUEUE_NOTIFY,
			.len = 4,
			.fd = s->worker.notify_fd[q],
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		if (ioctl(s->vm_fd, KVM_IOEVENTFD, &ioe) < 0) {
			fprintf(stderr,
				"ember: virtio-%s: KVM_IOEVENTFD: %s (notifications "
				"take the slower MMIO exit path)\n",
				s->dev.ops->name, strerror(errno));
			return;
		}
	}
	s->ioeventfds = true;
}

static int wire(struct board *b, struct vm_virtio *s)
{
	struct kvm_irqfd irqfd = { .gsi = s->pin };

	s->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->irq_fd < 0)
		return ember_seterr(-errno, "virtio-%s: eventfd: %s", s->dev.ops->name,
				    strerror(errno));
	irqfd.fd = (uint32_t)s->irq_fd;
	if (ioctl(b->env.vm_fd, KVM_IRQFD, &irqfd) < 0)
		return ember_seterr(-errno, "virtio-%s: KVM_IRQFD: %s", s->dev.ops->name,
				    strerror(errno));
	s->vm_fd = b->env.vm_fd;
	s->dev.irq = raise_irq;
	s->dev.irq_ctx = s;
	s->dev.kick = worker_kick;
	s->dev.kick_ctx = &s->worker;
	s->dev.on_live = install_ioeventfds;
	s->dev.on_live_ctx = s;
	return 0;
}

int vm_virtio_add(struct board *b, virtio_model_create create, const void *arg, unsigned kind_index)
{
	struct vm_virtio *s;
	size_t len = strlen(b->devwords), cap = sizeof(b->devwords);
	int err, n;

	if (b->nvirtio >= VM_VIRTIO_MAX)
		return ember_seterr(-ENOSPC, "more than %d virtio devices", VM_VIRTIO_MAX);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->index = b->nvirtio;
	s->kind_index = kind_index;
	s->base = LAYOUT_VIRTIO_MMIO + (uint64_t)s->index * VM_VIRTIO_STRIDE;
	s->pin = vm_virtio_pin(s->index);
	s->irq_fd = -1;
	s->worker.epfd = s->worker.stop_fd = -1;
	b->virtio[b->nvirtio++] = s;
	err = create(s, b->env.mem, arg);
	if (err)
		return err;
	err = worker_init(&s->worker, &s->dev);
	if (!err)
		err = wire(b, s);
	if (err)
		return err;
	err = bus_register(&b->mmio, s->base, VIRTIO_MMIO_SIZE, &virtio_mmio_bus_ops, &s->dev);
	if (err)
		return ember_seterr(err, "virtio-%s: cannot register MMIO at 0x%llx",
				    s->dev.ops->name, (unsigned long long)s->base);
	/* Linux's virtio_mmio.device=<size>@<base>:<irq> (needs
	 * CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES). */
	n = snprintf(b->devwords + len, cap - len, " virtio_mmio.device=4K@0x%llx:%u",
		     (unsigned long long)s->base, s->pin);
	if (n < 0 || (size_t)n >= cap - len) {
		b->devwords[len] = '\0';
		return ember_seterr(-E2BIG,
				    "kernel command line: no room for virtio-%s's "
				    "parameter (limit %zu bytes)",
				    s->dev.ops->name, cap - 1);
	}
	return 0;
}

void vm_virtio_destroy(struct board *b)
{
	for (unsigned i = 0; i < b->nvirtio; i++) {
		struct vm_virtio *s = b->virtio[i];

		if (s->worker.epfd >= 0)
			worker_destroy(&s->worker);
		if (s->model_destroy)
			s->model_destroy(s->model);
		if (s->dev.ops)
			virtio_destroy(&s->dev);
		if (s->irq_fd >= 0)
			close(s->irq_fd);
		free(s);
	}
	b->nvirtio = 0;
}
