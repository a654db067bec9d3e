/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio 1.2 section 5.2) over a raw image file or block device:
 * read, write, flush (fdatasync), get-id, and discard / write-zeroes where
 * the host file supports hole punching. `ro` disks are opened read-only,
 * advertise VIRTIO_BLK_F_RO and fail writes with VIRTIO_BLK_S_IOERR.
 * Requests are served on the device's own I/O thread with preadv/pwritev
 * straight into the guest's (checked) buffers.
 */
#ifndef EMBER_DEV_VIRTIO_BLK_H
#define EMBER_DEV_VIRTIO_BLK_H

#include <stdint.h>

#include "config.h"
#include "vm_virtio.h"

#define VIRTIO_BLK_F_SEG_MAX	  (1ULL << 2)
#define VIRTIO_BLK_F_RO		  (1ULL << 5)
#define VIRTIO_BLK_F_BLK_SIZE	  (1ULL << 6)
#define VIRTIO_BLK_F_FLUSH	  (1ULL << 9)
#define VIRTIO_BLK_F_DISCARD	  (1ULL << 13)
#define VIRTIO_BLK_F_WRITE_ZEROES (1ULL << 14)

#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_CONFIG_SIZE 60

struct disk_config;

struct virtio_blk {
	int fd;
	uint64_t capacity; /* bytes, a multiple of 512 */
	bool ro;
	bool can_discard;
	char id[VIRTIO_BLK_ID_BYTES + 1];
	char path[CONFIG_PATH_MAX];
	uint64_t features;
	uint8_t config[VIRTIO_BLK_CONFIG_SIZE];
	struct virtio_dev_ops ops;
};

/* arg: const struct disk_config *. */
int virtio_blk_create(struct vm_virtio *s, const struct guest_mem *mem, const void *arg);

/* Open and size the image, fill ops and config (no virtio_dev needed):
 * exposed so tests can drive requests against a temporary file. */
int virtio_blk_open(struct virtio_blk *b, const struct disk_config *cfg);
void virtio_blk_close(struct virtio_blk *b);

/*
 * Replace the backing file while the guest runs (Firecracker's PATCH
 * /drives): open `path` as the disk was opened (read-only or not), wait for
 * the request in flight, switch, update the capacity in config space and
 * raise a config-change interrupt, after which Linux re-reads the capacity
 * ("new size" in its log). The features stay what the driver negotiated.
 * 0, or negative errno with a message and the old file still in use.
 */
int virtio_blk_swap(struct virtio_blk *b, struct virtio_dev *d, const char *path);

/* Serve one request chain; returns the status byte written, or -EINVAL if
 * the chain is malformed (no room for the status byte, header too short). */
int virtio_blk_request(struct virtio_blk *b, const struct vq_chain *c, uint32_t *written);

#endif
