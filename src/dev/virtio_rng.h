/* SPDX-License-Identifier: MIT */
/* virtio-rng (virtio 1.2 section 5.4): entropy from the host's getrandom(). */
#ifndef EMBER_DEV_VIRTIO_RNG_H
#define EMBER_DEV_VIRTIO_RNG_H

#include "vm_virtio.h"

int virtio_rng_create(struct vm_virtio *s, const struct guest_mem *mem, const void *arg);

/* Serve queue 0 of a live device (exposed for tests). */
void virtio_rng_notify(struct virtio_dev *d, unsigned q);

#endif
