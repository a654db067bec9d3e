// SPDX-License-Identifier: MIT
#include "dev/virtio_vsock.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

/* Pending host connections the kernel queues for us. */
#define LISTEN_BACKLOG 64
/* Accepts per wake-up of the (level-triggered) listening socket. */
#define ACCEPT_BATCH 16

static struct virtio_vsock *of(struct vsock *vs)
{
	return (struct virtio_vsock *)((char *)vs - offsetof(struct virtio_vsock, vs));
}

/* --- the host side: AF_UNIX sockets on the worker's epoll set ------------ */

static void on_conn(void *ctx, int fd, uint32_t events);

static int host_connect(void *ctx, uint32_t port)
{
	struct virtio_vsock *v = ctx;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int n = snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", v->path, port);
	int fd;

	if (n < 0 || (size_t)n >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Non-blocking: a listener with a full backlog gives EAGAIN, which
	 * the guest sees as a refused connection rather than a stuck device. */
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/*
 * Edge-triggered, with the readiness kept in the connection: a socket the
 * guest has no credit or buffers for is simply not read (the effect of
 * turning EPOLLIN off), and a hung-up socket, whose EPOLLHUP epoll reports
 * whatever the mask, cannot make the worker spin.
 */
static int host_watch(void *ctx, struct vsock_conn *c)
{
	struct virtio_vsock *v = ctx;

	return worker_add_fd(v->worker, c->fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, on_conn,
			     c);
}

static void host_unwatch(void *ctx, struct vsock_conn *c)
{
	struct virtio_vsock *v = ctx;

	if (v->worker) /* NULL during teardown: the epoll set is gone */
		worker_del_fd(v->worker, c->fd);
}

static ssize_t host_recv(void *ctx, int fd, const struct iovec *iov, int n, int flags)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
	ssize_t r = recvmsg(fd, &m, flags | MSG_DONTWAIT);

	(void)ctx;
	return r < 0 ? -errno : r;
}

static ssize_t host_send(void *ctx, int fd, const struct iovec *iov, int n)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
	/* MSG_NOSIGNAL: a host peer that went away is EPIPE, not SIGPIPE. */
	ssize_t r = sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);

	(void)ctx;
	return r < 0 ? -errno : r;
}

static void host_shutdown(void *ctx, int fd, int how)
{
	(void)ctx;
	shutdown(fd, how);
}

static void host_close(void *ctx, int fd)
{
	(void)ctx;
	close(fd);
}

static const struct vsock_host_ops host_ops = {
	.connect = host_connect,
	.watch = host_watch,
	.unwatch = host_unwatch,
	.recv = host_recv,
	.send = host_send,
	.shutdown = host_shutdown,
	.close = host_close,
};

/* --- the virtqueues (worker thread, device lock held) -------------------- */

/* A reset from the driver drops every connection; done here, on the worker
 * thread that owns them. Returns true if it happened. */
static bool sync_reset(struct virtio_vsock *v)
{
	if (v->seen_gen == v->gen)
		return false;
	vsock_reset(&v->vs);
	v->seen_gen = v->gen;
	return true;
}

/* One rx buffer: the next packet a connection owes the guest. */
static int rx_request(struct virtio_dev *d, struct vq_chain *c, void *ctx, uint32_t *written)
{
	struct virtio_vsock *v = ctx;
	int r;

	(void)d;
	if (!vsock_rx_pending(&v->vs))
		return VIRTIO_REQ_AGAIN;
	r = vsock_fill_rx(&v->vs, c, written);
	if (r <= 0)
		return r < 0 ? r : VIRTIO_REQ_AGAIN; /* nothing after all: it goes back */
	return vsock_rx_pending(&v->vs) ? VIRTIO_REQ_DONE : VIRTIO_REQ_LAST;
}

/* Hand the guest whatever packets are waiting, while it has rx buffers.
 * With none left, stop: the guest kicks the rx queue when it adds some. */
static void pump(struct virtio_vsock *v)
{
	if (vsock_rx_pending(&v->vs))
		virtio_serve_queue(v->dev, VIRTIO_VSOCK_RXQ, v->rxc, rx_request, v);
}

static int tx_request(struct virtio_dev *d, struct vq_chain *c, void *ctx, uint32_t *written)
{
	struct virtio_vsock *v = ctx;

	(void)d;
	*written = 0;
	return vsock_guest_pkt(&v->vs, c);
}

static void process_tx(struct virtio_vsock *v)
{
	virtio_serve_queue(v->dev, VIRTIO_VSOCK_TXQ, v->txc, tx_request, v);
}

static void vsock_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_vsock *v = d->priv;

	virtio_lock(d);
	sync_reset(v);
	if (q == VIRTIO_VSOCK_TXQ)
		process_tx(v);
	/* tx packets may have opened credit or queued replies; an rx kick
	 * means new buffers. The event queue is never used. */
	pump(v);
	virtio_unlock(d);
}

static void on_conn(void *ctx, int fd, uint32_t events)
{
	struct vsock_conn *c = ctx;
	struct virtio_vsock *v = of(c->owner);

	(void)fd;
	virtio_lock(v->dev);
	/* After a reset, c is gone (freed above): touch nothing of it. */
	if (!sync_reset(v))
		vsock_sock_event(&v->vs, c, events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR),
				 events & (EPOLLOUT | EPOLLHUP | EPOLLERR));
	pump(v);
	virtio_unlock(v->dev);
}

static void on_listen(void *ctx, int fd, uint32_t events)
{
	struct virtio_vsock *v = ctx;

	(void)events;
	for (unsigned i = 0; i < ACCEPT_BATCH; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				fprintf(stderr, "ember: virtio-vsock: accept on %s: %s\n", v->path,
					strerror(errno));
			break;
		}
		virtio_lock(v->dev);
		sync_reset(v);
		if (vsock_accepted(&v->vs, cfd) < 0)
			fprintf(stderr, "ember: %s\n", ember_lasterr());
		pump(v);
		virtio_unlock(v->dev);
	}
}

/* --- device ops ----------------------------------------------------------- */

static void vsock_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_vsock *v = d->priv;

	memcpy(data, v->config + off, len);
}

/* Lock held (vCPU thread). Start accepting host connections once a driver
 * is there to take them; until then they wait in the listen backlog. */
static int vsock_activate(struct virtio_dev *d)
{
	struct virtio_vsock *v = d->priv;
	int err;

	if (v->listening)
		return 0;
	err = worker_add_fd(v->worker, v->listen_fd, EPOLLIN, on_listen, v);
	if (err < 0)
		return err;
	v->listening = true;
	return 0;
}

/* One event buffer: VIRTIO_VSOCK_EVENT_TRANSPORT_RESET (id 0, le32). */
static int reset_event(struct virtio_dev *d, struct vq_chain *c, void *ctx, uint32_t *written)
{
	static const uint8_t ev[4] = { 0 };

	(void)ctx;
	if (vq_chain_write(c, 0, ev, sizeof(ev)) != sizeof(ev))
		return ember_seterr(-EINVAL, "virtio-%s: event buffer shorter than 4 bytes",
				    d->ops->name);
	*written = sizeof(ev);
	return VIRTIO_REQ_LAST;
}

/* Restored from a snapshot (lock held, before the worker starts): the
 * connections the guest had are gone with the process that served them, so
 * tell its driver, as Firecracker does; it drops them and its applications
 * reconnect (and clones never share a stream). */
static void vsock_restored(struct virtio_dev *d)
{
	struct virtio_vsock *v = d->priv;

	virtio_serve_queue(d, VIRTIO_VSOCK_EVENTQ, v->rxc, reset_event, v);
}

/* Lock held (vCPU thread): the worker drops the connections (sync_reset). */
static void vsock_reset_dev(struct virtio_dev *d)
{
	struct virtio_vsock *v = d->priv;

	v->gen++;
}

const struct virtio_dev_ops virtio_vsock_ops = {
	.name = "vsock",
	.device_id = VIRTIO_ID_VSOCK,
	/* EVENT_IDX: vq_pop() asks for a kick whenever it finds a ring
	 * empty, which is exactly when this device waits for the guest (tx
	 * drained, rx starved). */
	.features = VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_F_RING_EVENT_IDX,
	.nqueues = 3,
	.queue_max = VIRTIO_VSOCK_QUEUE_SIZE,
	.config_size = VIRTIO_VSOCK_CONFIG_SIZE,
	.config_read = vsock_config_read,
	.activate = vsock_activate,
	.restored = vsock_restored,
	.reset = vsock_reset_dev,
	.notify = vsock_notify,
};

/* --- set-up and teardown -------------------------------------------------- */

int virtio_vsock_listen(const char *path, dev_t *dev, ino_t *ino)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return ember_seterr(-ENAMETOOLONG, "--vsock uds=%s: longer than %zu bytes", path,
				    sizeof(a.sun_path) - 1);
	strcpy(a.sun_path, path);
	if (lstat(path, &st) == 0) {
		int probe, err = 0;

		if (!S_ISSOCK(st.st_mode))
			return ember_seterr(-EEXIST, "--vsock uds=%s: exists and is not a socket",
					    path);
		/* A socket file outlives its process: it is stale if nobody
		 * accepts connections on it any more. */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (probe < 0)
			return ember_seterr(-errno, "--vsock uds=%s: socket: %s", path,
					    strerror(errno));
		if (connect(probe, (struct sockaddr *)&a, sizeof(a)) < 0)
			err = errno;
		close(probe);
		if (err == 0 || err == EAGAIN)
			return ember_seterr(-EADDRINUSE,
					    "--vsock uds=%s: another process is listening on it",
					    path);
		if (err != ECONNREFUSED)
			return ember_seterr(-err, "--vsock uds=%s: %s", path, strerror(err));
		if (unlink(path) < 0 && errno != ENOENT)
			return ember_seterr(-errno, "--vsock uds=%s: removing the stale socket: %s",
					    path, strerror(errno));
	} else if (errno != ENOENT) {
		return ember_seterr(-errno, "--vsock uds=%s: %s", path, strerror(errno));
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ember_seterr(-errno, "--vsock uds=%s: socket: %s", path, strerror(errno));
	/* Whoever connects talks to the guest: the socket file is the owner's
	 * alone. Linux creates it with the socket inode's mode less the umask,
	 * so fchmod() before bind() sets it with no process-wide umask change
	 * (threads may run: a restore's vsock, or any in API mode). */
	if (fchmod(fd, 0600) < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, LISTEN_BACKLOG) < 0 ||
	    stat(path, &st) < 0) {
		int err = errno;

		close(fd);
		return ember_seterr(-err, "--vsock uds=%s: %s", path, strerror(err));
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
	return fd;
}

int virtio_vsock_open(struct virtio_vsock *v, uint64_t cid, const char *path,
		      struct virtio_dev *dev, struct virtio_worker *worker)
{
	int fd;

	memset(v, 0, sizeof(*v));
	v->listen_fd = -1;
	if (strlen(path) >= sizeof(v->path))
		return ember_seterr(-ENAMETOOLONG, "--vsock uds=%s: too long", path);
	v->txc = malloc(sizeof(*v->txc));
	v->rxc = malloc(sizeof(*v->rxc));
	if (!v->txc || !v->rxc) {
		virtio_vsock_close(v);
		return ember_seterr(-ENOMEM, "virtio-vsock: out of memory");
	}
	fd = virtio_vsock_listen(path, &v->path_dev, &v->path_ino);
	if (fd < 0) {
		virtio_vsock_close(v);
		return fd;
	}
	v->listen_fd = fd;
	strcpy(v->path, path);
	put_le64(v->config, cid);
	v->dev = dev;
	v->worker = worker;
	vsock_init(&v->vs, cid, &host_ops, v);
	return 0;
}

void virtio_vsock_close(struct virtio_vsock *v)
{
	struct stat st;

	/* The worker is stopped (or never ran) by now and its epoll set may
	 * be closed: only close our sockets. */
	v->worker = NULL;
	vsock_reset(&v->vs);
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		/* Remove PATH only if it is still the socket we made. */
		if (stat(v->path, &st) == 0 && st.st_dev == v->path_dev && st.st_ino == v->path_ino)
			unlink(v->path);
		v->listen_fd = -1;
	}
	free(v->txc);
	free(v->rxc);
	v->txc = v->rxc = NULL;
}

static void vsock_destroy(void *model)
{
	virtio_vsock_close(model);
	free(model);
}

int virtio_vsock_create(struct vm_virtio *s, const struct guest_mem *mem, const void *arg)
{
	const struct vsock_config *cfg = arg;
	struct virtio_vsock *v = malloc(sizeof(*v));
	int err;

	if (!v)
		return -ENOMEM;
	err = virtio_vsock_open(v, cfg->cid, cfg->uds, &s->dev, &s->worker);
	if (err) {
		free(v);
		return err;
	}
	s->model = v;
	s->model_destroy = vsock_destroy;
	virtio_init(&s->dev, &virtio_vsock_ops, v, mem);
	return 0;
}
