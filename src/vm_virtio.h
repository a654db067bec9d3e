/* SPDX-License-Identifier: MIT */
/*
 * The VM side of a virtio-mmio device: its MMIO window and IOAPIC pin, the
 * KVM ioeventfds that turn QueueNotify writes into eventfd wake-ups for the
 * device's I/O thread (installed when the driver starts the device), and the irqfd that turns the device's interrupt into
 * an MSI through the pin's GSI route. Device models (dev/virtio_*.c) fill
 * the slot's virtio_dev and may add fds to its worker.
 */
#ifndef EMBER_VM_VIRTIO_H
#define EMBER_VM_VIRTIO_H

#include <stdint.h>

#include "dev/virtio_mmio.h"
#include "dev/virtio_worker.h"

#define VM_VIRTIO_MAX	 16
#define VM_VIRTIO_STRIDE 0x1000

/* The IOAPIC pin of virtio device `index` (< VM_VIRTIO_MAX): 5 upwards,
 * skipping the pins of ember's legacy devices, which Linux claims
 * exclusively (rtc-cmos takes IRQ 8, the i8042 IRQs 1 and 12, the UART 4):
 * a virtio device sharing one would fail to get its interrupt. */
static inline unsigned vm_virtio_pin(unsigned index)
{
	static const uint8_t pins[VM_VIRTIO_MAX] = { 5,	 6,  7,	 9,  10, 11, 13, 14,
						     15, 16, 17, 18, 19, 20, 21, 22 };

	return pins[index];
}

struct board;

struct vm_virtio {
	struct virtio_dev dev;
	struct virtio_worker worker;
	unsigned index;	     /* MMIO slot */
	unsigned kind_index; /* among devices of its kind: disks[kind_index] */
	uint64_t base;
	unsigned pin;
	int irq_fd;
	void *model;
	void (*model_destroy)(void *model);
	int vm_fd;
	bool ioeventfds; /* queue-notify ioeventfds installed (at first DRIVER_OK) */
};

/* A device model constructor: set s->model/s->model_destroy and call
 * virtio_init(&s->dev, ...). `arg` is the model's configuration. Returns 0 or
 * negative errno with a message. */
typedef int (*virtio_model_create)(struct vm_virtio *s, const struct guest_mem *mem,
				   const void *arg);

/* Create and wire one device in the board's next MMIO slot; appends its
 * virtio_mmio.device= parameter to the board's command line. */
int vm_virtio_add(struct board *b, virtio_model_create create, const void *arg,
		  unsigned kind_index);

/* Stop the threads and free the devices. */
void vm_virtio_destroy(struct board *b);

#endif
