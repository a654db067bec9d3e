/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock (virtio 1.2 section 5.10) in ember's user space, no vhost:
 * the guest's AF_VSOCK stream sockets meet AF_UNIX sockets on the host, with
 * Firecracker's hybrid-vsock convention.
 *
 *   host -> guest: connect to PATH, send "CONNECT <port>\n"; once the guest
 *     accepts, ember answers "OK <host port>\n" and the socket carries the
 *     stream. If the guest refuses, ember closes the socket.
 *   guest -> host: a guest connection to host CID 2, port P, is forwarded to
 *     the AF_UNIX socket PATH_P, which a host program must be listening on.
 *
 * ember creates PATH (refusing to take over anything but a stale socket) and
 * removes it on exit. The packet and connection logic is dev/vsock_conn.c;
 * this file owns the sockets, the virtqueues and the device's worker thread.
 */
#ifndef EMBER_DEV_VIRTIO_VSOCK_H
#define EMBER_DEV_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "dev/vsock_conn.h"
#include "vm_virtio.h"

#define VIRTIO_VSOCK_RXQ	 0
#define VIRTIO_VSOCK_TXQ	 1
#define VIRTIO_VSOCK_EVENTQ	 2
#define VIRTIO_VSOCK_QUEUE_SIZE	 256
#define VIRTIO_VSOCK_CONFIG_SIZE 8 /* le64 guest_cid */

struct virtio_vsock {
	struct vsock vs;
	struct virtio_dev *dev;
	struct virtio_worker *worker;
	int listen_fd;
	bool listening; /* listen_fd is in the worker's epoll set */
	char path[108];
	dev_t path_dev; /* identity of the socket file we created, so */
	ino_t path_ino; /* that we remove only that one */
	uint8_t config[VIRTIO_VSOCK_CONFIG_SIZE];
	/* Bumped by reset (vCPU thread, under the device lock); the worker
	 * drops every connection when it sees a new value. */
	unsigned gen, seen_gen;
	struct vq_chain *txc, *rxc;
};

/* arg: const struct vsock_config *. Binds the listening socket now, so a
 * bad PATH fails before the guest starts. */
int virtio_vsock_create(struct vm_virtio *s, const struct guest_mem *mem, const void *arg);

/* Bind and listen on PATH (non-blocking). If PATH exists it must be a
 * socket nobody listens on any more (it is replaced); anything else is
 * refused. Returns the fd or negative errno with a message. */
int virtio_vsock_listen(const char *path, dev_t *dev, ino_t *ino);

/* Exposed for tests: set up/tear down a model over an existing virtio_dev
 * and worker (no vm_virtio), and the device's entry points. */
int virtio_vsock_open(struct virtio_vsock *v, uint64_t cid, const char *path,
		      struct virtio_dev *dev, struct virtio_worker *worker);
void virtio_vsock_close(struct virtio_vsock *v);
extern const struct virtio_dev_ops virtio_vsock_ops;

#endif
