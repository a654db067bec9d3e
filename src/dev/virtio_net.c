// SPDX-License-Identifier: MIT
#include "dev/virtio_net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

/* Frames handled per wake-up before the thread looks at its other fds. */
#define RX_BUDGET 64

/*
 * What we offer. HOST_* need nothing from the TAP: it accepts partial
 * checksums and GSO frames whenever IFF_VNET_HDR is set. With EVENT_IDX,
 * vq_pop() publishes avail_event when it finds the ring empty, so a driver
 * refilling an empty rx ring always kicks us.
 */
#define NET_FEATURES                                                                               \
	(VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_F_RING_EVENT_IDX | VIRTIO_NET_F_MAC |                \
	 VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MRG_RXBUF | VIRTIO_NET_F_CSUM |                        \
	 VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_HOST_TSO6)
#define NET_GUEST_OFFLOADS                                                                         \
	(VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_TSO6)

void virtio_net_make_mac(const char *tap, unsigned long pid, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, 64 bit */

	for (const char *p = tap; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	for (unsigned i = 0; i < sizeof(pid); i++)
		h = (h ^ (uint8_t)(pid >> (8 * i))) * 0x100000001b3ULL;
	mac[0] = 0x02; /* locally administered (bit 1), unicast (bit 0 clear) */
	for (unsigned i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * (i - 1)));
}

int virtio_net_open_tap(const char *name, bool *guest_offloads)
{
	struct ifreq ifr = { 0 };
	unsigned features = 0;
	int hdr = VIRTIO_NET_HDR_SIZE, fd, err;

	*guest_offloads = false;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return ember_seterr(-errno, "--net tap=%s: /dev/net/tun: %s", name,
				    strerror(errno));
	if (ioctl(fd, TUNGETFEATURES, &features) == 0 && !(features & IFF_VNET_HDR)) {
		close(fd);
		return ember_seterr(-ENOTSUP, "--net tap=%s: the TUN driver has no IFF_VNET_HDR",
				    name);
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	/* Attaches to an existing TAP, or creates one that lives as long as
	 * the fd. */
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		close(fd);
		if (err == -EPERM)
			return ember_seterr(err,
					    "--net tap=%s: TUNSETIFF: %s (creating a TAP, or "
					    "using one owned by another user, needs "
					    "CAP_NET_ADMIN)",
					    name, strerror(-err));
		if (err == -EBUSY)
			return ember_seterr(err,
					    "--net tap=%s: TUNSETIFF: %s (another process "
					    "has it open)",
					    name, strerror(-err));
		if (err == -EINVAL)
			return ember_seterr(err,
					    "--net tap=%s: TUNSETIFF: %s (not a valid interface "
					    "name, or a TUN or multiqueue device by that name?)",
					    name, strerror(-err));
		return ember_seterr(err, "--net tap=%s: TUNSETIFF: %s", name, strerror(-err));
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		err = -errno;
		close(fd);
		return ember_seterr(err, "--net tap=%s: TUNSETVNETHDRSZ %d: %s", name, hdr,
				    strerror(-err));
	}
	/* Can the TAP hand us frames with partial checksums and GSO? Switched
	 * on for real only for what the driver accepts (activate). */
	if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) == 0)
		*guest_offloads = true;
	if (ioctl(fd, TUNSETOFFLOAD, 0) < 0 && *guest_offloads) {
		err = -errno;
		close(fd);
		return ember_seterr(err, "--net tap=%s: TUNSETOFFLOAD 0: %s", name, strerror(-err));
	}
	return fd;
}

static void net_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_net *n = d->priv;

	memcpy(data, n->config + off, len);
}

/* Poll the TAP for frames or stop (lock held). */
static void rx_poll(struct virtio_net *n, bool on)
{
	if (n->rx_broken)
		on = false;
	if (n->rx_polling == on)
		return;
	n->rx_polling = on;
	if (n->worker && n->fd_watched) {
		int err = worker_mod_fd(n->worker, n->fd, on ? EPOLLIN : 0);

		if (err < 0)
			fprintf(stderr, "ember: virtio-net %s: epoll: %s\n", n->name,
				strerror(-err));
	}
}

static int net_activate(struct virtio_dev *d)
{
	struct virtio_net *n = d->priv;
	unsigned off = 0;

	/* Only what the driver accepted, with the spec's dependencies
	 * (5.1.3.1): TSO needs checksum offload. */
	if (virtio_has_feature(d, VIRTIO_NET_F_GUEST_CSUM)) {
		off |= TUN_F_CSUM;
		if (virtio_has_feature(d, VIRTIO_NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (virtio_has_feature(d, VIRTIO_NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
	}
	if (n->is_tap && ioctl(n->fd, TUNSETOFFLOAD, off) < 0) {
		int err = -errno;

		fprintf(stderr, "ember: virtio-net %s: TUNSETOFFLOAD 0x%x: %s\n", n->name, off,
			strerror(-err));
		return err;
	}
	if (n->worker && !n->fd_watched) {
		int err = worker_add_fd(n->worker, n->fd, EPOLLIN, virtio_net_rx_ready, n);

		if (err < 0) {
			fprintf(stderr, "ember: virtio-net %s: cannot watch the TAP: %s\n", n->name,
				strerror(-err));
			return err;
		}
		n->fd_watched = true;
		n->rx_polling = true;
	}
	rx_poll(n, true);
	return 0;
}

/* Drop the rx window and any frame held (lock held). */
static void rx_forget(struct virtio_net *n)
{
	n->rx_w0 = n->rx_nwin = 0;
	n->rx_i0 = n->rx_niov = 0;
	n->rx_room = 0;
	n->rx_len = 0;
	n->rx_inplace = false;
}

static void net_reset(struct virtio_dev *d)
{
	struct virtio_net *n = d->priv;

	rx_poll(n, false);
	rx_forget(n);
	if (n->is_tap)
		ioctl(n->fd, TUNSETOFFLOAD, 0);
}

bool virtio_net_rx_header_ok(uint8_t *hdr, uint64_t f)
{
	uint8_t flags = hdr[0], gso = hdr[1];

	/* Partial checksums only to a driver that takes them; "data valid"
	 * is a hint we may drop (5.1.6.4). */
	if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !(f & VIRTIO_NET_F_GUEST_CSUM))
		return false;
	flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	if (!(f & VIRTIO_NET_F_GUEST_CSUM))
		flags = 0;
	hdr[0] = flags;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return (f & VIRTIO_NET_F_GUEST_TSO4) && (f & VIRTIO_NET_F_GUEST_CSUM);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return (f & VIRTIO_NET_F_GUEST_TSO6) && (f & VIRTIO_NET_F_GUEST_CSUM);
	}
	return false; /* ECN, UDP: not negotiated */
}

/* --- rx: a window of the guest's receive chains --------------------------
 *
 * Chains popped from the rx ring and not used yet wait in a window, in ring
 * order, their writable buffers back to back in rx_iov[]: a frame is read
 * with one readv() straight into them when they hold the largest frame the
 * TAP can give (VIRTIO_NET_PACKET_MAX, so nothing is ever cut short), and
 * otherwise into rx_buf and copied, as the guest's buffers allow. A frame
 * then takes the chains it fills from the front of the window; the rest
 * stay for the next frame. A reset or a broken device forgets the window
 * (the rings it came from are gone).
 */

static struct iovec *rx_iov(struct virtio_net *n)
{
	return &n->rx_iov[n->rx_i0];
}

/* Make room for `niov` more iovecs at the end of the pool. */
static void rx_compact(struct virtio_net *n, unsigned niov)
{
	if (n->rx_i0 + n->rx_niov + niov > NET_RX_IOV_SLOTS) {
		memmove(n->rx_iov, rx_iov(n), n->rx_niov * sizeof(struct iovec));
		n->rx_i0 = 0;
	}
	if (n->rx_w0 + n->rx_nwin >= NET_RX_WIN_SLOTS) {
		memmove(n->rx_win, &n->rx_win[n->rx_w0], n->rx_nwin * sizeof(n->rx_win[0]));
		n->rx_w0 = 0;
	}
}

/*
 * Pop chains into the window until it has `need` bytes (without MRG_RXBUF a
 * frame must fit one chain, 5.1.6.3.1: one chain then), or it cannot grow:
 * the whole ring is in it, or its buffers fill the pool. Returns 1 if it
 * stopped because the ring ran dry (the driver's next kick brings more), 0
 * otherwise, -EINVAL (message set) for a malformed chain.
 */
static int rx_fill(struct virtio_net *n, struct vq *vq, uint64_t need, bool mrg)
{
	struct vq_chain *c = &n->rx_chain;

	while (n->rx_room < need && (mrg || !n->rx_nwin) && n->rx_nwin < vq->size) {
		unsigned niov;
		int r = vq_pop(vq, c);

		if (r <= 0)
			return r < 0 ? r : 1;
		/* Any chain may start a frame: each must hold the header. */
		if (c->write_len < VIRTIO_NET_HDR_SIZE)
			return ember_seterr(-EINVAL,
					    "rx chain %u has %llu writable bytes, less "
					    "than the %d-byte header",
					    c->head, (unsigned long long)c->write_len,
					    VIRTIO_NET_HDR_SIZE);
		niov = c->n - c->nread;
		if (n->rx_niov && n->rx_niov + niov > VQ_MAX_SIZE) {
			vq_unpop(vq, 1); /* served once the window drains */
			return 0;
		}
		rx_compact(n, niov);
		for (unsigned i = 0; i < niov; i++)
			n->rx_iov[n->rx_i0 + n->rx_niov + i] = c->iov[c->nread + i];
		n->rx_win[n->rx_w0 + n->rx_nwin].head = c->head;
		n->rx_win[n->rx_w0 + n->rx_nwin].niov = (uint16_t)niov;
		n->rx_win[n->rx_w0 + n->rx_nwin].len = (uint32_t)c->write_len;
		n->rx_nwin++;
		n->rx_niov += niov;
		n->rx_room += c->write_len;
	}
	return 0;
}

/* The room a frame may use now: the window, or its first chain alone. */
static uint64_t rx_usable(const struct virtio_net *n, bool mrg)
{
	if (mrg || !n->rx_nwin)
		return n->rx_room;
	return n->rx_win[n->rx_w0].len;
}

/* The frame of `len` bytes is in the window's first chains (header first):
 * set num_buffers, give those chains to the guest, drop them from the
 * window. */
static void rx_complete(struct virtio_net *n, struct vq *vq, uint32_t len)
{
	unsigned used = 0, iovs = 0;
	uint8_t nb[2];

	for (uint32_t left = len; left && used < n->rx_nwin; used++) {
		uint32_t l = n->rx_win[n->rx_w0 + used].len;

		left -= l < left ? l : left;
	}
	/* 5.1.6.4: num_buffers, 1 without MRG_RXBUF; before the guest can
	 * see the chains. */
	put_le16(nb, (uint16_t)used);
	if (rx_iov(n)->iov_len >= VIRTIO_NET_HDR_SIZE)
		memcpy((uint8_t *)rx_iov(n)->iov_base + VIRTIO_NET_HDR_NUM_BUFFERS, nb, 2);
	else
		vq_iov_write(rx_iov(n), n->rx_win[n->rx_w0].niov, VIRTIO_NET_HDR_NUM_BUFFERS, nb,
			     2);
	for (unsigned i = 0; i < used; i++) {
		uint32_t l = n->rx_win[n->rx_w0 + i].len;

		vq_push(vq, n->rx_win[n->rx_w0 + i].head, l < len ? l : len);
		len -= l < len ? l : len;
		iovs += n->rx_win[n->rx_w0 + i].niov;
		n->rx_room -= l;
	}
	n->rx_w0 += used;
	n->rx_nwin -= used;
	n->rx_i0 += iovs;
	n->rx_niov -= iovs;
	if (!n->rx_nwin)
		n->rx_w0 = n->rx_i0 = 0;
}

/*
 * Deliver the frame held in rx_buf: copied into the window's chains.
 * Returns RX_COPIED, RX_DROPPED (no ring could ever hold it: the whole ring,
 * or without MRG_RXBUF its chain, is too small), RX_WAIT (the guest must
 * post more buffers first), or -EINVAL on a malformed chain.
 */
enum { RX_WAIT, RX_COPIED, RX_DROPPED };

static int rx_deliver(struct virtio_net *n, struct vq *vq, bool mrg)
{
	int r = rx_fill(n, vq, n->rx_len, mrg);

	if (r < 0)
		return r;
	if (rx_usable(n, mrg) < n->rx_len)
		return r == 1 ? RX_WAIT : RX_DROPPED;
	vq_iov_write(rx_iov(n), n->rx_niov, 0, n->rx_buf, n->rx_len);
	return RX_COPIED;
}

/* One frame from the TAP: straight into the window when it can hold any
 * frame, else into rx_buf. Returns the bytes read, or -errno. */
static ssize_t rx_read(struct virtio_net *n, bool mrg, bool *inplace)
{
	ssize_t got;

	*inplace = rx_usable(n, mrg) >= VIRTIO_NET_PACKET_MAX;
	if (*inplace)
		got = readv(n->fd, rx_iov(n), (int)(mrg ? n->rx_niov : n->rx_win[n->rx_w0].niov));
	else
		got = read(n->fd, n->rx_buf, sizeof(n->rx_buf));
	return got < 0 ? -errno : got;
}

/* Check and fix the header of the frame just read: in rx_buf, or in place
 * (read once into a copy: the guest may write its buffers meanwhile). */
static bool rx_header(struct virtio_net *n, bool inplace)
{
	uint8_t hdr[VIRTIO_NET_HDR_SIZE];

	if (!inplace)
		return virtio_net_rx_header_ok(n->rx_buf, n->dev->driver_features);
	struct iovec *first = rx_iov(n);

	/* Linux puts the header in one buffer: read it there. */
	if (first->iov_len >= sizeof(hdr))
		memcpy(hdr, first->iov_base, sizeof(hdr));
	else
		vq_iov_read(first, n->rx_win[n->rx_w0].niov, 0, hdr, sizeof(hdr));
	if (!virtio_net_rx_header_ok(hdr, n->dev->driver_features))
		return false;
	*(uint8_t *)first->iov_base = hdr[0]; /* the fixed flags (no empty iovecs) */
	return true;
}

/* Read frames from the TAP into the rx queue until one of them runs dry
 * (lock held, worker thread). */
static void net_rx(struct virtio_net *n)
{
	struct virtio_dev *d = n->dev;
	struct vq *vq = virtio_queue(d, VIRTIO_NET_RXQ);
	bool mrg = virtio_has_feature(d, VIRTIO_NET_F_MRG_RXBUF);
	bool pushed = false, parked = false;
	unsigned budget = RX_BUDGET;
	int r;

	if (!vq) {
		rx_forget(n);
		rx_poll(n, false); /* activate() resumes */
		return;
	}
	while (budget) {
		if (!n->rx_len) {
			bool inplace;
			ssize_t got;

			r = rx_fill(n, vq, VIRTIO_NET_PACKET_MAX, mrg);
			if (r < 0)
				goto broken;
			got = rx_read(n, mrg, &inplace);
			if (got == -EINTR)
				continue;
			if (got == -EAGAIN) {
				rx_poll(n, true);
				break;
			}
			if (got < 0 && got != -EFAULT && got != -EINVAL && got != -EMSGSIZE) {
				fprintf(stderr, "ember: virtio-net %s: read: %s; receiving stops\n",
					n->name, strerror((int)-got));
				n->rx_broken = true;
				rx_poll(n, false);
				break;
			}
			budget--;
			/* A frame we cannot take (oversized, or shorter than an
			 * Ethernet header) or with offloads the driver refused:
			 * dropped, and chains it was read into stay for the
			 * next one. */
			if (got < VIRTIO_NET_HDR_SIZE + 14 || !rx_header(n, inplace)) {
				n->rx_dropped++;
				continue;
			}
			n->rx_len = (uint32_t)got;
			n->rx_inplace = inplace;
			n->rx_charged = false;
		}
		/* Charged once, though it may then wait for guest buffers. */
		if (!n->rx_charged) {
			if (!rate_limiter_io_allow(&n->rx_rl, n->rx_len, 1)) {
				counter_add(&n->m.rx_rate_limiter_throttled, 1);
				rx_poll(n, false); /* the limiter's timer resumes */
				parked = true;
				break;
			}
			n->rx_charged = true;
		}
		if (!n->rx_inplace) {
			r = rx_deliver(n, vq, mrg);
			if (r < 0)
				goto broken;
			if (r == RX_WAIT) {
				rx_poll(n, false); /* the driver's next kick on queue 0 resumes */
				parked = true;
				break;
			}
			if (r == RX_DROPPED) {
				n->rx_dropped++;
				n->rx_len = 0;
				continue;
			}
		}
		rx_complete(n, vq, n->rx_len);
		counter_add(&n->m.rx_bytes_count, n->rx_len);
		counter_add(&n->m.rx_packets_count, 1);
		n->rx_len = 0;
		n->rx_inplace = false;
		pushed = true;
	}
	if (!budget && !parked)
		rx_poll(n, true); /* more may be waiting: epoll calls again */
	if (pushed)
		virtio_signal_used(d, VIRTIO_NET_RXQ);
	return;
broken:
	rx_forget(n);
	virtio_needs_reset(d, ember_lasterr());
	rx_poll(n, false);
}

void virtio_net_rx_ready(void *ctx, int fd, uint32_t events)
{
	struct virtio_net *n = ctx;

	(void)fd;
	virtio_lock(n->dev);
	if ((events & (EPOLLERR | EPOLLHUP)) && !n->rx_broken) {
		fprintf(stderr, "ember: virtio-net %s: the TAP reports an error; receiving stops\n",
			n->name);
		n->rx_broken = true;
		rx_poll(n, false);
	}
	if (!n->rx_broken)
		net_rx(n);
	virtio_unlock(n->dev);
}

static int tx_request(struct virtio_dev *d, struct vq_chain *c, void *ctx, uint32_t *written)
{
	struct virtio_net *n = ctx;
	/* Header plus at least an Ethernet header, at most one frame;
	 * anything else is dropped like a bad frame on a wire. */
	bool ok = c->read_len >= VIRTIO_NET_HDR_SIZE + 14 && c->read_len <= VIRTIO_NET_PACKET_MAX;

	*written = 0;
	/* Throttled: the chain goes back to the ring, and the limiter's timer
	 * brings us back to it first. Frames dropped as bad cost nothing. */
	if (ok && !rate_limiter_io_allow(&n->tx_rl, c->read_len, 1)) {
		counter_add(&n->m.tx_rate_limiter_throttled, 1);
		return VIRTIO_REQ_AGAIN;
	}
	/* The TAP may run the host's network stack in this call: keep the
	 * vCPUs' register accesses out of its way. A driver reset meanwhile
	 * waits for us (virtio_begin_io). Straight from the guest's buffers:
	 * the chain's readable part is the iovec. */
	virtio_begin_io(d);
	while (ok && writev(n->fd, c->iov, (int)c->nread) < 0) {
		if (errno != EINTR) {
			ok = false;
			break;
		}
	}
	virtio_end_io(d);
	if (!ok) {
		n->tx_dropped++;
	} else {
		counter_add(&n->m.tx_bytes_count, c->read_len);
		counter_add(&n->m.tx_packets_count, 1);
	}
	return VIRTIO_REQ_DONE;
}

static void net_tx(struct virtio_net *n)
{
	virtio_lock(n->dev);
	virtio_serve_queue(n->dev, VIRTIO_NET_TXQ, &n->tx, tx_request, n);
	virtio_unlock(n->dev);
}

static void net_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_net *n = d->priv;

	if (q == VIRTIO_NET_TXQ) {
		net_tx(n);
		return;
	}
	/* rx: the driver posted buffers; deliver what waits and poll again. */
	virtio_lock(d);
	if (!n->rx_broken)
		net_rx(n);
	virtio_unlock(d);
}

void virtio_net_rx_timer_ready(void *ctx, int fd, uint32_t events)
{
	struct virtio_net *n = ctx;

	(void)fd;
	(void)events;
	virtio_lock(n->dev);
	rate_limiter_io_timer_fired(&n->rx_rl);
	counter_add(&n->m.rx_event_rate_limiter_count, 1);
	if (!n->rx_broken)
		net_rx(n);
	virtio_unlock(n->dev);
}

void virtio_net_tx_timer_ready(void *ctx, int fd, uint32_t events)
{
	struct virtio_net *n = ctx;

	(void)fd;
	(void)events;
	virtio_lock(n->dev);
	rate_limiter_io_timer_fired(&n->tx_rl);
	counter_add(&n->m.tx_rate_limiter_event_count, 1);
	virtio_unlock(n->dev);
	net_tx(n);
}

int virtio_net_set_rate_limiter(struct virtio_net *n, const struct rate_limiter_config *rx,
				const struct rate_limiter_config *tx)
{
	int err = 0;

	virtio_lock(n->dev);
	/* Both timerfds first: then neither update can fail half-way. */
	if (rx)
		err = rate_limiter_io_prepare(&n->rx_rl, rx);
	if (!err && tx)
		err = rate_limiter_io_prepare(&n->tx_rl, tx);
	if (!err && rx)
		err = rate_limiter_io_update(&n->rx_rl, rx);
	if (!err && tx)
		err = rate_limiter_io_update(&n->tx_rl, tx);
	virtio_unlock(n->dev);
	return err;
}

int virtio_net_setup(struct virtio_net *n, int fd, bool is_tap, const struct net_config *cfg,
		     bool guest_offloads)
{
	char name[sizeof(n->rx_rl.name)];
	int err;

	memset(n, 0, sizeof(*n));
	rate_limiter_io_preinit(&n->rx_rl);
	rate_limiter_io_preinit(&n->tx_rl);
	n->fd = fd;
	n->is_tap = is_tap;
	snprintf(n->name, sizeof(n->name), "%s", cfg->tap);
	n->features = NET_FEATURES | (guest_offloads ? NET_GUEST_OFFLOADS : 0);
	if (cfg->has_mac)
		memcpy(n->config + VIRTIO_NET_CFG_MAC, cfg->mac, 6);
	else
		virtio_net_make_mac(cfg->tap, (unsigned long)getpid(),
				    n->config + VIRTIO_NET_CFG_MAC);
	put_le16(n->config + VIRTIO_NET_CFG_STATUS, VIRTIO_NET_S_LINK_UP);
	/* Firecracker's mtu: advertised with VIRTIO_NET_F_MTU, and the driver
	 * sets the interface's MTU from it (5.1.4.2). */
	if (cfg->mtu) {
		n->features |= VIRTIO_NET_F_MTU;
		put_le16(n->config + VIRTIO_NET_CFG_MTU, cfg->mtu);
	}
	n->ops = (struct virtio_dev_ops){
		.name = "net",
		.device_id = VIRTIO_ID_NET,
		.features = n->features,
		.nqueues = 2,
		.queue_max = VIRTIO_NET_QUEUE_SIZE,
		.config_size = cfg->mtu ? VIRTIO_NET_CONFIG_SIZE : VIRTIO_NET_CONFIG_SIZE_MIN,
		.config_read = net_config_read,
		.activate = net_activate,
		.reset = net_reset,
		.notify = net_notify,
	};
	snprintf(name, sizeof(name), "virtio-net %s rx", n->name);
	err = rate_limiter_io_init(&n->rx_rl, &cfg->rx_rl, name);
	snprintf(name, sizeof(name), "virtio-net %s tx", n->name);
	if (!err)
		err = rate_limiter_io_init(&n->tx_rl, &cfg->tx_rl, name);
	/* The worker and the device come later: virtio_net_create(). */
	rate_limiter_io_attach(&n->rx_rl, NULL, virtio_net_rx_timer_ready, n);
	rate_limiter_io_attach(&n->tx_rl, NULL, virtio_net_tx_timer_ready, n);
	return err;
}

void virtio_net_close(struct virtio_net *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
	rate_limiter_io_close(&n->rx_rl);
	rate_limiter_io_close(&n->tx_rl);
}

static void net_destroy(void *model)
{
	struct virtio_net *n = model;

	/* The worker is stopped before models are destroyed. */
	virtio_net_close(n);
	free(n);
}

int virtio_net_create(struct vm_virtio *s, const struct guest_mem *mem, const void *arg)
{
	const struct net_config *cfg = arg;
	struct virtio_net *n;
	bool offloads;
	int err, fd = virtio_net_open_tap(cfg->tap, &offloads);

	if (fd < 0)
		return fd;
	n = malloc(sizeof(*n));
	if (!n) {
		close(fd);
		return -ENOMEM;
	}
	err = virtio_net_setup(n, fd, true, cfg, offloads);
	if (err) {
		virtio_net_close(n);
		free(n);
		return err;
	}
	n->dev = &s->dev;
	n->worker = &s->worker; /* initialised after us; used from activate() */
	rate_limiter_io_attach(&n->rx_rl, n->worker, virtio_net_rx_timer_ready, n);
	rate_limiter_io_attach(&n->tx_rl, n->worker, virtio_net_tx_timer_ready, n);
	s->model = n;
	s->model_destroy = net_destroy;
	virtio_init(&s->dev, &n->ops, n, mem);
	return 0;
}
