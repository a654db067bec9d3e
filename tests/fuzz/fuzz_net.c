// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: virtio-net rx and tx, driven through the virtio-mmio
 * registers and the device's notify and rx-ready handlers (vdrv.h), with a
 * datagram socketpair in place of the TAP (virtio_net_setup() takes any fd;
 * one datagram per frame, as a TAP with IFF_VNET_HDR gives). The input is a
 * program: post rx or tx chains of any size and shape, send frames of any
 * size and vnet header from the "TAP", let the device read them, notify,
 * mangle the avail ring, reset and restart.
 *
 * Checked, besides ASan/UBSan and vdrv's write check:
 *  - tx: every chain is used with length 0; each chain of 26 bytes (vnet
 *    header and Ethernet header) up to a full packet reaches the TAP as one
 *    frame, byte for byte, in order, unless the TAP's buffer was full (the
 *    device counts it dropped); nothing else reaches the TAP;
 *  - rx: what the guest gets is the TAP's frames, in order, whole, each
 *    either in one chain or (MRG_RXBUF) in num_buffers chains, with the
 *    header's flags cleared of what the driver did not negotiate; a frame
 *    shorter than an Ethernet header, or with an offload (NEEDS_CSUM, GSO)
 *    the driver did not accept, is never delivered;
 *  - a frame is delivered only into chains the guest posted (vdrv).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "dev/virtio_net.h"
#include "util.h"
#include "vdrv.h"

#define RXQ	  VIRTIO_NET_RXQ
#define TXQ	  VIRTIO_NET_TXQ
#define HDR	  VIRTIO_NET_HDR_SIZE
#define FIFO	  8
#define ETH_MIN	  (HDR + 14)
#define FRAME_MAX VIRTIO_NET_PACKET_MAX

static struct vd v;
static uint8_t ram[VD_RAM];
static struct virtio_net net;
static struct virtio_dev dev;
static int peer = -1;
static uint8_t buf[FRAME_MAX + 16], got[FRAME_MAX + 16];

/* Frames sent from the TAP, not yet delivered or known dropped. */
static struct {
	uint32_t len;
	uint8_t data[FRAME_MAX];
} fifo[FIFO];
static unsigned fifo_head, fifo_n;

/* rx: the frame being put together from used chains. */
static uint8_t asm_buf[FRAME_MAX];
static uint32_t asm_len;
static unsigned asm_left, asm_nb;

/* tx: drops the device may have made since the last check. With a send
 * buffer larger than all the guest RAM it could ever be asked to send, the
 * "TAP" is never full and a good frame is never dropped. */
static uint64_t tx_drops_seen;
static bool may_drop;

static bool strict(void)
{
	return !v.wild && !v.q[RXQ].lenient && !v.q[TXQ].lenient;
}

static bool feat(uint64_t bit)
{
	return (v.features & bit) != 0;
}

/* Would a driver with these features take this frame, and how does its
 * header read then? (virtio 1.2, 5.1.6.4: no offload it did not accept.) */
static bool acceptable(const uint8_t *f, uint32_t len, uint8_t *flags)
{
	bool csum = feat(VIRTIO_NET_F_GUEST_CSUM);

	if (len < ETH_MIN)
		return false;
	if ((f[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !csum)
		return false;
	*flags = csum ? (f[0] & 3) : 0;
	switch (f[1]) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return csum && feat(VIRTIO_NET_F_GUEST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return csum && feat(VIRTIO_NET_F_GUEST_TSO6);
	}
	return false;
}

static void frame_done(void)
{
	/* The oldest frame that matches; the ones before it were dropped. */
	while (fifo_n) {
		const uint8_t *f = fifo[fifo_head].data;
		uint32_t len = fifo[fifo_head].len;
		uint8_t flags;

		fifo_head = (fifo_head + 1) % FIFO;
		fifo_n--;
		if (!acceptable(f, len, &flags) || len != asm_len)
			continue;
		if (asm_buf[0] != flags || memcmp(asm_buf + 1, f + 1, HDR - 3) ||
		    memcmp(asm_buf + HDR, f + HDR, len - HDR))
			continue;
		if (get_le16(asm_buf + VIRTIO_NET_HDR_NUM_BUFFERS) != asm_nb)
			vd_fail("net rx: num_buffers %u for a frame in %u chains",
				get_le16(asm_buf + VIRTIO_NET_HDR_NUM_BUFFERS), asm_nb);
		return;
	}
	vd_fail("net rx: the guest got a %u-byte frame the TAP did not send (in order)", asm_len);
}

static void on_rx_used(struct vd *vv, unsigned q, struct vd_chain *c, uint32_t len, void *ctx)
{
	(void)q;
	(void)ctx;
	if (!strict() || !c->clean) {
		asm_left = 0;
		return;
	}
	if (c->wlen < HDR)
		vd_fail("net rx: chain of %llu writable bytes used for a frame",
			(unsigned long long)c->wlen);
	if (!asm_left) {
		uint8_t h[HDR];

		vd_chain_get(vv, c, true, 0, h, HDR);
		asm_nb =
		    feat(VIRTIO_NET_F_MRG_RXBUF) ? get_le16(h + VIRTIO_NET_HDR_NUM_BUFFERS) : 1;
		if (!asm_nb || asm_nb > vv->q[RXQ].size)
			vd_fail("net rx: num_buffers %u (queue size %u)", asm_nb, vv->q[RXQ].size);
		asm_left = asm_nb;
		asm_len = 0;
	}
	if (asm_len + (uint64_t)len > sizeof(asm_buf))
		vd_fail("net rx: frame longer than %zu bytes", sizeof(asm_buf));
	vd_chain_get(vv, c, true, 0, asm_buf + asm_len, len);
	asm_len += len;
	if (--asm_left == 0)
		frame_done();
}

static void rx_collect(void)
{
	vd_collect(&v, RXQ, on_rx_used, NULL);
}

static void on_tx_used(struct vd *vv, unsigned q, struct vd_chain *c, uint32_t len, void *ctx)
{
	ssize_t n;

	(void)q;
	(void)ctx;
	if (!strict() || !c->clean)
		return;
	if (len)
		vd_fail("net tx: chain used with %u bytes written", len);
	if (c->rlen < ETH_MIN || c->rlen > FRAME_MAX)
		return; /* dropped as a bad frame */
	vd_chain_get(vv, c, false, 0, buf, c->rlen);
	n = recv(peer, got, sizeof(got), MSG_PEEK);
	if (n == (ssize_t)c->rlen && !memcmp(got, buf, c->rlen)) {
		if (recv(peer, got, sizeof(got), 0) != n)
			vd_fail("net tx: recv");
		return;
	}
	/* Not on the TAP: only when it was full, and counted dropped. */
	if (!may_drop || net.tx_dropped <= tx_drops_seen)
		vd_fail("net tx: a %llu-byte frame never reached the TAP (TAP never full: %d)",
			(unsigned long long)c->rlen, !may_drop);
	tx_drops_seen++;
}

static void drain_tap(void)
{
	while (recv(peer, got, sizeof(got), 0) >= 0)
		;
}

static void tx_collect(void)
{
	vd_collect(&v, TXQ, on_tx_used, NULL);
	if (strict() && recv(peer, got, sizeof(got), MSG_PEEK) >= 0)
		vd_fail("net tx: a frame reached the TAP that no chain holds");
	drain_tap();
	tx_drops_seen = net.tx_dropped;
}

static void post_tx(struct fz *f)
{
	uint8_t k = fz_u8(f);
	uint64_t len, wlen = (k & 0x40) ? fz_u8(f) % 64 : 0;

	if (k < 0x80)
		len = fz_u16(f) % 200;
	else if (k < 0xc0)
		len = fz_u16(f) % 2000;
	else
		len = fz_u32(f) % (FRAME_MAX + 64);
	for (uint64_t i = 0; i < len && i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + k);
	for (unsigned i = 0; i < HDR && i < len; i++)
		buf[i] = fz_u8(f);
	vd_post(&v, TXQ, f, buf, len, wlen, 0);
}

static void post_rx(struct fz *f)
{
	uint8_t k = fz_u8(f);
	uint64_t wlen, rlen = (k & 0x40) ? fz_u8(f) % 32 : 0;

	if (k < 0x80)
		wlen = fz_u8(f) % 80;
	else if (k < 0xc0)
		wlen = fz_u16(f) % 2100;
	else
		wlen = fz_u32(f) % (FRAME_MAX + 64);
	vd_post(&v, RXQ, f, NULL, rlen, wlen, 0);
}

static void tap_send(struct fz *f)
{
	static const uint8_t gsos[] = { 0, 0, 0, 1, 4, 0x81, 3, 5 };
	uint8_t k = fz_u8(f);
	uint32_t len;

	if (k < 0x80)
		len = fz_u8(f) % 120;
	else if (k < 0xc0)
		len = fz_u16(f) % 2000;
	else
		len = fz_u32(f) % (FRAME_MAX + 1);
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 11 + k);
	if (len > 0)
		buf[0] = fz_u8(f);
	if (len > 1)
		buf[1] = (k & 8) ? fz_u8(f) : gsos[k & 7];
	for (uint32_t i = 2; i < HDR && i < len; i++)
		buf[i] = fz_u8(f);
	if (fifo_n == FIFO)
		return;
	if (send(peer, buf, len, MSG_DONTWAIT) != (ssize_t)len)
		return; /* the "TAP" queue is full: never sent */
	memcpy(fifo[(fifo_head + fifo_n) % FIFO].data, buf, len);
	fifo[(fifo_head + fifo_n) % FIFO].len = len;
	fifo_n++;
}

static void rx_ready(uint32_t events)
{
	vd_snap(&v);
	virtio_net_rx_ready(&net, net.fd, events);
	vd_check(&v, "rx ready");
	rx_collect();
}

static bool start(struct fz *f)
{
	uint16_t sizes[2] = { (uint16_t)(1u << (fz_u8(f) % 7)), (uint16_t)(1u << (fz_u8(f) % 7)) };
	uint64_t want = fz_u64(f) | VIRTIO_F_VERSION_1;

	if (fz_u8(f) >= 0xf8)
		want &= ~VIRTIO_F_VERSION_1; /* refused */
	asm_left = 0;
	return vd_start(&v, 2, sizes, want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct net_config cfg = { .tap = "fuzz0", .has_mac = true, .mac = { 2, 0, 0, 0, 0, 1 } };
	uint8_t opt = fz_u8(&f);
	unsigned ops = 0;
	int sv[2], sndbuf = 1 << 20;
	socklen_t sl = sizeof(sndbuf);

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		vd_fail("socketpair: %s", strerror(errno));
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl) < 0)
		vd_fail("SO_SNDBUF: %s", strerror(errno));
	may_drop = sndbuf < 4 * VD_RAM;
	cfg.mtu = (opt & 2) ? 1500 : 0;
	if (virtio_net_setup(&net, sv[0], false, &cfg, opt & 1))
		vd_fail("virtio_net_setup: %s", ember_lasterr());
	peer = sv[1];
	fifo_head = fifo_n = 0;
	tx_drops_seen = 0;
	vd_init(&v, ram);
	virtio_init(&dev, &net.ops, &net, &v.gm);
	net.dev = &dev;
	vd_attach(&v, &dev);
	if (!start(&f))
		goto out;
	while (f.n && ops++ < 200) {
		uint8_t op = fz_u8(&f);

		switch (op % 10) {
		case 0:
		case 1:
			post_rx(&f);
			break;
		case 2:
			post_tx(&f);
			break;
		case 3:
			tap_send(&f);
			break;
		case 4:
			rx_ready(op == 0xfe ? EPOLLERR : EPOLLIN);
			break;
		case 5:
			vd_notify(&v, TXQ, op & 0x80);
			tx_collect();
			break;
		case 6:
			vd_notify(&v, RXQ, op & 0x80);
			rx_collect();
			break;
		case 7:
			vd_mangle_avail(&v, (op >> 7) ? TXQ : RXQ, &f);
			break;
		case 8:
			tx_collect();
			rx_collect();
			vd_reset(&v);
			if (!start(&f))
				goto out;
			break;
		case 9:
			/* The transport's notify for a queue the device has not. */
			vd_notify(&v, 2 + (op >> 7), false);
			break;
		}
	}
	vd_notify(&v, TXQ, false);
	tx_collect();
	rx_ready(EPOLLIN);
out:
	virtio_net_close(&net);
	close(peer);
	virtio_destroy(&dev);
	return 0;
}
