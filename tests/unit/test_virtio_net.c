// SPDX-License-Identifier: MIT
/*
 * virtio-net over a fake guest memory, with a datagram socketpair standing in
 * for the TAP (one read or write per frame, like a TAP with IFF_VNET_HDR).
 */
#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "dev/virtio_net.h"
#include "harness.h"
#include "util.h"

#define QSZ   8
#define DATA  0x10000
#define RAMSZ 0x40000

static uint8_t ram[RAMSZ];
static struct guest_mem gm;
static struct virtio_dev dev;
static struct virtio_net net;
static int peer = -1;

static uint64_t qbase(unsigned q)
{
	return 0x1000 + 0x1000 * (uint64_t)q;
}

static void desc(unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = ram + qbase(q) + 16 * i;

	put_le64(p, addr);
	put_le32(p + 8, len);
	put_le16(p + 12, flags);
	put_le16(p + 14, next);
}

static void offer(unsigned q, uint16_t head)
{
	uint8_t *avail = ram + qbase(q) + 0x200;
	uint16_t idx = get_le16(avail + 2);

	put_le16(avail + 4 + 2 * (idx % QSZ), head);
	put_le16(avail + 2, (uint16_t)(idx + 1));
}

static uint16_t used_idx(unsigned q)
{
	return get_le16(ram + qbase(q) + 0x400 + 2);
}

static uint32_t used_id(unsigned q, unsigned k)
{
	return get_le32(ram + qbase(q) + 0x400 + 4 + 8 * (k % QSZ));
}

static uint32_t used_len(unsigned q, unsigned k)
{
	return get_le32(ram + qbase(q) + 0x400 + 8 + 8 * (k % QSZ));
}

static const struct net_config test_cfg = {
	.tap = "test0",
	.mac = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 },
	.has_mac = true,
};

/* A live device for cfg with both queues set up and these driver features. */
static void start_cfg(uint64_t features, const struct net_config *cfg)
{
	int sv[2];

	memset(ram, 0, sizeof(ram));
	guest_mem_init_buf(&gm, ram, sizeof(ram));
	CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	CHECK_EQ(virtio_net_setup(&net, sv[0], false, cfg, true), 0);
	peer = sv[1];
	virtio_init(&dev, &net.ops, &net, &gm);
	net.dev = &dev;
	dev.driver_features = features | VIRTIO_F_VERSION_1;
	for (unsigned q = 0; q < 2; q++) {
		dev.queues[q].ready = true;
		CHECK_EQ(vq_setup(&dev.queues[q].vq, &gm, QSZ, VIRTIO_NET_QUEUE_SIZE, qbase(q),
				  qbase(q) + 0x200, qbase(q) + 0x400,
				  (features & VIRTIO_F_RING_EVENT_IDX) != 0),
			 0);
	}
	dev.live = true;
	CHECK_EQ(net.ops.activate(&dev), 0);
	CHECK(net.rx_polling);
}

static void start(uint64_t features)
{
	start_cfg(features, &test_cfg);
}

static void stop(void)
{
	virtio_net_close(&net);
	close(peer);
	virtio_destroy(&dev);
}

/* Send a frame from the "TAP": header (flags, gso) + len bytes of pattern. */
static void tap_send(uint8_t flags, uint8_t gso, unsigned len, uint8_t seed)
{
	uint8_t pkt[2048] = { flags, gso };

	for (unsigned i = 0; i < len; i++)
		pkt[VIRTIO_NET_HDR_SIZE + i] = (uint8_t)(seed + i);
	put_le16(pkt + VIRTIO_NET_HDR_NUM_BUFFERS, 0xbeef); /* garbage, as a TAP leaves it */
	CHECK_EQ(send(peer, pkt, VIRTIO_NET_HDR_SIZE + len, 0), VIRTIO_NET_HDR_SIZE + len);
}

static bool frame_is(const uint8_t *p, unsigned len, uint8_t seed)
{
	for (unsigned i = 0; i < len; i++)
		if (p[i] != (uint8_t)(seed + i))
			return false;
	return true;
}

TEST(config_space_and_features)
{
	uint8_t b[8];

	start(0);
	virtio_mmio_bus_ops.read(&dev, VIRTIO_MMIO_CONFIG, b, 6);
	CHECK(memcmp(b, test_cfg.mac, 6) == 0);
	virtio_mmio_bus_ops.read(&dev, VIRTIO_MMIO_CONFIG + VIRTIO_NET_CFG_STATUS, b, 2);
	CHECK_EQ(get_le16(b), VIRTIO_NET_S_LINK_UP);
	/* No max_virtqueue_pairs or mtu: reads past the status are 0. */
	memset(b, 0xff, sizeof(b));
	virtio_mmio_bus_ops.read(&dev, VIRTIO_MMIO_CONFIG + 8, b, 2);
	CHECK_EQ(get_le16(b), 0);
	CHECK_EQ(net.ops.device_id, VIRTIO_ID_NET);
	CHECK_EQ(net.ops.nqueues, 2);
	uint64_t want = VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MRG_RXBUF |
			VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_HOST_TSO6 |
			VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_TSO6;
	CHECK_EQ(net.features & want, want);
	CHECK(!(net.features & VIRTIO_NET_F_GUEST_ECN));
	CHECK(net.features & VIRTIO_F_RING_EVENT_IDX);
	CHECK(net.features & VIRTIO_F_RING_INDIRECT_DESC);
	CHECK(!(net.features & (1ULL << 17))); /* CTRL_VQ */
	CHECK(!(net.features & (1ULL << 22))); /* MQ */
	stop();
	/* An MTU is offered with VIRTIO_NET_F_MTU at config offset 10. */
	{
		struct net_config c = test_cfg;

		c.mtu = 1400;
		virtio_net_setup(&net, -1, false, &c, false);
		CHECK(net.features & VIRTIO_NET_F_MTU);
		CHECK_EQ(net.ops.config_size, 12);
		CHECK_EQ(get_le16(net.config + VIRTIO_NET_CFG_MTU), 1400);
		virtio_net_setup(&net, -1, false, &test_cfg, false);
		CHECK(!(net.features & VIRTIO_NET_F_MTU));
		CHECK_EQ(net.ops.config_size, 8);
	}
	/* Without TUNSETOFFLOAD, no GUEST_* offloads are offered. */
	virtio_net_setup(&net, -1, false, &test_cfg, false);
	CHECK(!(net.features &
		(VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_TSO6)));
	CHECK(net.features & VIRTIO_NET_F_HOST_TSO4);
}

TEST(mac_generation)
{
	uint8_t a[6], b[6], c[6];
	struct net_config cfg = { .tap = "tap7" };

	virtio_net_make_mac("tap0", 1234, a);
	virtio_net_make_mac("tap0", 1234, b);
	CHECK(memcmp(a, b, 6) == 0);
	CHECK_EQ(a[0], 0x02); /* locally administered, unicast */
	virtio_net_make_mac("tap0", 1235, b);
	virtio_net_make_mac("tap1", 1234, c);
	CHECK(memcmp(a + 1, b + 1, 5) != 0);
	CHECK(memcmp(a + 1, c + 1, 5) != 0);
	virtio_net_setup(&net, -1, false, &cfg, false);
	virtio_net_make_mac("tap7", (unsigned long)getpid(), a);
	CHECK(memcmp(net.config + VIRTIO_NET_CFG_MAC, a, 6) == 0);
}

TEST(tx_gathers_header_and_frame)
{
	uint8_t got[256];

	start(VIRTIO_NET_F_CSUM);
	memset(ram + DATA, 0, VIRTIO_NET_HDR_SIZE);
	ram[DATA] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	for (unsigned i = 0; i < 100; i++)
		ram[DATA + 0x100 + i] = (uint8_t)(7 + i);
	/* header | 60 bytes | 40 bytes, in three descriptors */
	desc(1, 0, DATA, VIRTIO_NET_HDR_SIZE, VIRTQ_DESC_F_NEXT, 1);
	desc(1, 1, DATA + 0x100, 60, VIRTQ_DESC_F_NEXT, 2);
	desc(1, 2, DATA + 0x100 + 60, 40, 0, 0);
	offer(1, 0);
	net.ops.notify(&dev, VIRTIO_NET_TXQ);
	CHECK_EQ(recv(peer, got, sizeof(got), 0), VIRTIO_NET_HDR_SIZE + 100);
	CHECK_EQ(got[0], VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK(frame_is(got + VIRTIO_NET_HDR_SIZE, 100, 7));
	CHECK_EQ(used_idx(1), 1);
	CHECK_EQ(used_id(1, 0), 0);
	CHECK_EQ(used_len(1, 0), 0);
	CHECK_EQ(net.tx_dropped, 0);
	stop();
}

TEST(tx_drops_bad_frames)
{
	uint8_t got[64];

	start(0);
	desc(1, 0, DATA, VIRTIO_NET_HDR_SIZE, 0, 0);	   /* a header, no frame */
	desc(1, 1, DATA, 200, VIRTQ_DESC_F_WRITE, 0);	   /* nothing readable */
	desc(1, 2, DATA, VIRTIO_NET_PACKET_MAX + 1, 0, 0); /* larger than any frame */
	offer(1, 0);
	offer(1, 1);
	offer(1, 2);
	net.ops.notify(&dev, VIRTIO_NET_TXQ);
	CHECK_EQ(recv(peer, got, sizeof(got), 0), -1);
	CHECK_EQ(errno, EAGAIN);
	CHECK_EQ(used_idx(1), 3); /* every chain is returned */
	CHECK_EQ(net.tx_dropped, 3);
	CHECK(dev.live);
	stop();
}

TEST(tx_malformed_chain_needs_reset)
{
	start(0);
	desc(1, 0, RAMSZ - 4, 64, 0, 0); /* outside guest RAM */
	offer(1, 0);
	net.ops.notify(&dev, VIRTIO_NET_TXQ);
	CHECK(dev.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK(!dev.live);
	stop();
}

TEST(rx_one_chain_per_frame)
{
	uint8_t *buf = ram + DATA;

	start(0);
	desc(0, 0, DATA, 2048, VIRTQ_DESC_F_WRITE, 0);
	offer(0, 0);
	tap_send(0, 0, 100, 3);
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK_EQ(used_idx(0), 1);
	CHECK_EQ(used_len(0, 0), VIRTIO_NET_HDR_SIZE + 100);
	CHECK_EQ(get_le16(buf + VIRTIO_NET_HDR_NUM_BUFFERS), 1);
	CHECK(frame_is(buf + VIRTIO_NET_HDR_SIZE, 100, 3));
	CHECK(net.rx_polling); /* the TAP is empty again: keep polling */
	stop();
}

TEST(rx_mergeable_buffers)
{
	start(VIRTIO_NET_F_MRG_RXBUF);
	for (unsigned i = 0; i < 4; i++) {
		/* chain i: two descriptors of 64 bytes */
		desc(0, 2 * i, DATA + 0x400 * i, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
		     2 * i + 1);
		desc(0, 2 * i + 1, DATA + 0x400 * i + 64, 64, VIRTQ_DESC_F_WRITE, 0);
		offer(0, (uint16_t)(2 * i));
	}
	tap_send(0, 0, 300, 9); /* 312 bytes: 128 + 128 + 56 */
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK_EQ(used_idx(0), 3);
	CHECK_EQ(used_id(0, 0), 0);
	CHECK_EQ(used_len(0, 0), 128);
	CHECK_EQ(used_id(0, 1), 2);
	CHECK_EQ(used_len(0, 1), 128);
	CHECK_EQ(used_len(0, 2), 56);
	CHECK_EQ(get_le16(ram + DATA + VIRTIO_NET_HDR_NUM_BUFFERS), 3);
	CHECK(frame_is(ram + DATA + VIRTIO_NET_HDR_SIZE, 116, 9));
	CHECK(frame_is(ram + DATA + 0x400, 128, (uint8_t)(9 + 116)));
	CHECK(frame_is(ram + DATA + 0x800, 56, (uint8_t)(9 + 244)));
	/* The fourth chain takes the next small frame on its own. */
	tap_send(0, 0, 20, 1);
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK_EQ(used_idx(0), 4);
	CHECK_EQ(used_id(0, 3), 6);
	CHECK_EQ(get_le16(ram + DATA + 0xc00 + VIRTIO_NET_HDR_NUM_BUFFERS), 1);
	stop();
}

TEST(rx_waits_for_buffers_then_resumes)
{
	uint8_t *avail_event = ram + qbase(0) + 0x400 + 4 + 8 * QSZ;

	start(VIRTIO_NET_F_MRG_RXBUF | VIRTIO_F_RING_EVENT_IDX);
	tap_send(0, 0, 200, 5);
	tap_send(0, 0, 50, 6);
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK(!net.rx_polling); /* no buffers: stop polling the TAP */
	CHECK_EQ(net.rx_len, VIRTIO_NET_HDR_SIZE + 200);
	CHECK_EQ(used_idx(0), 0);
	/* One buffer is not enough for 212 bytes: it waits, unused, in the
	 * rx window for more. */
	desc(0, 0, DATA, 128, VIRTQ_DESC_F_WRITE, 0);
	offer(0, 0);
	net.ops.notify(&dev, VIRTIO_NET_RXQ);
	CHECK_EQ(used_idx(0), 0);
	CHECK_EQ(net.rx_nwin, 1);
	/* With EVENT_IDX the driver is asked to kick when it adds the chain
	 * after the one we gave back. */
	CHECK_EQ(get_le16(avail_event), 1);
	CHECK(!net.rx_polling);
	desc(0, 1, DATA + 0x400, 128, VIRTQ_DESC_F_WRITE, 0);
	offer(0, 1);
	net.ops.notify(&dev, VIRTIO_NET_RXQ);
	CHECK_EQ(used_idx(0), 2);
	CHECK_EQ(get_le16(ram + DATA + VIRTIO_NET_HDR_NUM_BUFFERS), 2);
	CHECK(!net.rx_polling); /* the second frame waits */
	CHECK_EQ(net.rx_len, VIRTIO_NET_HDR_SIZE + 50);
	desc(0, 2, DATA + 0x800, 128, VIRTQ_DESC_F_WRITE, 0);
	offer(0, 2);
	net.ops.notify(&dev, VIRTIO_NET_RXQ);
	CHECK_EQ(used_idx(0), 3);
	CHECK_EQ(used_len(0, 2), VIRTIO_NET_HDR_SIZE + 50);
	CHECK(frame_is(ram + DATA + 0x800 + VIRTIO_NET_HDR_SIZE, 50, 6));
	CHECK(net.rx_polling);
	CHECK_EQ(net.rx_dropped, 0);
	stop();
}

TEST(rx_frame_larger_than_a_chain_is_dropped)
{
	start(0); /* no MRG_RXBUF: one chain per frame */
	desc(0, 0, DATA, 64, VIRTQ_DESC_F_WRITE, 0);
	offer(0, 0);
	tap_send(0, 0, 100, 1); /* 112 bytes > 64 */
	tap_send(0, 0, 30, 2);
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK_EQ(net.rx_dropped, 1);
	CHECK_EQ(used_idx(0), 1); /* the chain went to the second frame */
	CHECK_EQ(used_len(0, 0), VIRTIO_NET_HDR_SIZE + 30);
	CHECK(frame_is(ram + DATA + VIRTIO_NET_HDR_SIZE, 30, 2));
	stop();
}

TEST(rx_hostile_chains)
{
	/* A chain with no writable buffer. */
	start(VIRTIO_NET_F_MRG_RXBUF);
	desc(0, 0, DATA, 2048, 0, 0);
	offer(0, 0);
	tap_send(0, 0, 60, 1);
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK(dev.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK(!net.rx_polling);
	CHECK_EQ(used_idx(0), 0);
	stop();
	/* Writable, but smaller than the header. */
	start(0);
	desc(0, 0, DATA, VIRTIO_NET_HDR_SIZE - 1, VIRTQ_DESC_F_WRITE, 0);
	offer(0, 0);
	tap_send(0, 0, 60, 1);
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK(dev.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_STR_CONTAINS(ember_lasterr(), "less than the 12-byte header");
	stop();
	/* A loop in the rx ring. */
	start(0);
	desc(0, 0, DATA, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	offer(0, 0);
	tap_send(0, 0, 60, 1);
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK(dev.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	stop();
	/* A whole ring of header-sized buffers never holds a frame: drop it
	 * rather than wait forever. */
	start(VIRTIO_NET_F_MRG_RXBUF);
	for (unsigned i = 0; i < QSZ; i++) {
		desc(0, i, DATA + 0x100 * i, VIRTIO_NET_HDR_SIZE, VIRTQ_DESC_F_WRITE, 0);
		offer(0, (uint16_t)i);
	}
	tap_send(0, 0, 1000, 1);
	tap_send(0, 0, 14, 1); /* 26 bytes: three chains */
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK_EQ(net.rx_dropped, 1);
	CHECK_EQ(used_idx(0), 3);
	CHECK_EQ(get_le16(ram + DATA + VIRTIO_NET_HDR_NUM_BUFFERS), 3);
	CHECK(dev.live);
	stop();
}

TEST(rx_offloads_follow_negotiation)
{
	uint8_t h[VIRTIO_NET_HDR_SIZE] = { 0 };
	uint64_t all = VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_TSO6;

	h[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	CHECK(!virtio_net_rx_header_ok(h, 0));
	CHECK(virtio_net_rx_header_ok(h, VIRTIO_NET_F_GUEST_CSUM));
	h[0] = VIRTIO_NET_HDR_F_DATA_VALID | 4; /* RSC_INFO: never negotiated */
	CHECK(virtio_net_rx_header_ok(h, 0));
	CHECK_EQ(h[0], 0);
	h[0] = VIRTIO_NET_HDR_F_DATA_VALID | 4;
	CHECK(virtio_net_rx_header_ok(h, VIRTIO_NET_F_GUEST_CSUM));
	CHECK_EQ(h[0], VIRTIO_NET_HDR_F_DATA_VALID);
	h[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h[1] = VIRTIO_NET_HDR_GSO_TCPV4;
	CHECK(virtio_net_rx_header_ok(h, all));
	CHECK(!virtio_net_rx_header_ok(h, VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO6));
	CHECK(!virtio_net_rx_header_ok(h, VIRTIO_NET_F_GUEST_TSO4)); /* TSO needs CSUM */
	h[1] = VIRTIO_NET_HDR_GSO_TCPV6;
	CHECK(virtio_net_rx_header_ok(h, all));
	h[1] = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	CHECK(!virtio_net_rx_header_ok(h, all));
	h[1] = 3; /* UDP */
	CHECK(!virtio_net_rx_header_ok(h, all));

	/* Through the device: a GSO frame for a driver without TSO is dropped. */
	start(VIRTIO_NET_F_GUEST_CSUM);
	desc(0, 0, DATA, 2048, VIRTQ_DESC_F_WRITE, 0);
	offer(0, 0);
	tap_send(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 100, 1);
	tap_send(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 100, 2);
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK_EQ(net.rx_dropped, 1);
	CHECK_EQ(used_idx(0), 1);
	CHECK_EQ(ram[DATA], VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK(frame_is(ram + DATA + VIRTIO_NET_HDR_SIZE, 100, 2));
	stop();
}

TEST(rx_short_frames_and_reset)
{
	start(0);
	desc(0, 0, DATA, 2048, VIRTQ_DESC_F_WRITE, 0);
	offer(0, 0);
	tap_send(0, 0, 5, 1); /* shorter than an Ethernet header */
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK_EQ(net.rx_dropped, 1);
	CHECK_EQ(used_idx(0), 0);
	/* A frame held for lack of buffers is dropped by a reset, and the
	 * TAP is not polled until the device is live again. */
	tap_send(0, 0, 60, 1);
	tap_send(0, 0, 60, 2);
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK_EQ(used_idx(0), 1);
	CHECK(net.rx_len != 0);
	virtio_lock(&dev);
	net.ops.reset(&dev);
	virtio_unlock(&dev);
	CHECK_EQ(net.rx_len, 0);
	CHECK(!net.rx_polling);
	dev.live = false;
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK_EQ(used_idx(0), 1);
	stop();
}

TEST(open_tap_errors_name_the_option)
{
	bool off;
	/* An invalid interface name: refused before any TAP is created. */
	int fd = virtio_net_open_tap("bad/name", &off);

	CHECK(fd < 0);
	if (fd >= 0)
		close(fd);
	CHECK_STR_CONTAINS(ember_lasterr(), "--net tap=bad/name: ");
}

/* Rate limiters: the real clock, the timerfd polled by the test. */
static struct token_bucket_config tb(uint64_t size, uint64_t burst, uint64_t refill_ms)
{
	return (struct token_bucket_config){ true, size, burst, refill_ms };
}

static bool timer_fires(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* tx chain k: one descriptor, header + len bytes of frame from seed k. */
static void tx_frame(unsigned k, unsigned len)
{
	uint64_t a = DATA + 0x800 * (uint64_t)k;

	memset(ram + a, 0, VIRTIO_NET_HDR_SIZE);
	for (unsigned i = 0; i < len; i++)
		ram[a + VIRTIO_NET_HDR_SIZE + i] = (uint8_t)(k + i);
	desc(1, k, a, VIRTIO_NET_HDR_SIZE + len, 0, 0);
	offer(1, (uint16_t)k);
}

/* One frame per 100 ms on tx: the others wait in the ring and go in order
 * when the timer fires; a bad frame is dropped and costs nothing. */
TEST(tx_throttled_frames_wait_in_order)
{
	struct net_config cfg = test_cfg;
	uint8_t got[256];

	cfg.tx_rl.ops = tb(1, 0, 100);
	start_cfg(0, &cfg);
	tx_frame(0, 60);
	desc(1, 1, DATA + 0x800, VIRTIO_NET_HDR_SIZE, 0, 0); /* no frame: dropped */
	offer(1, 1);
	tx_frame(2, 70);
	tx_frame(3, 80);
	net.ops.notify(&dev, VIRTIO_NET_TXQ);
	CHECK_EQ(used_idx(1), 2);
	CHECK_EQ(net.tx_dropped, 1);
	CHECK(net.tx_rl.armed);
	CHECK_EQ(recv(peer, got, sizeof(got), 0), VIRTIO_NET_HDR_SIZE + 60);
	CHECK(frame_is(got + VIRTIO_NET_HDR_SIZE, 60, 0));
	CHECK_EQ(recv(peer, got, sizeof(got), 0), -1);
	net.ops.notify(&dev, VIRTIO_NET_TXQ); /* a kick while throttled */
	CHECK_EQ(used_idx(1), 2);
	for (unsigned k = 2; k <= 3; k++) {
		CHECK(timer_fires(net.tx_rl.timer_fd, 2000));
		virtio_net_tx_timer_ready(&net, net.tx_rl.timer_fd, EPOLLIN);
		CHECK_EQ(used_idx(1), k + 1);
		CHECK_EQ(used_id(1, k), k);
		CHECK_EQ(recv(peer, got, sizeof(got), 0), VIRTIO_NET_HDR_SIZE + 60 + 10 * (k - 1));
		CHECK(frame_is(got + VIRTIO_NET_HDR_SIZE, 60 + 10 * (k - 1), (uint8_t)k));
	}
	CHECK_EQ(net.m.tx_packets_count, 3);
	CHECK_EQ(net.m.tx_bytes_count, 3 * VIRTIO_NET_HDR_SIZE + 60 + 70 + 80);
	CHECK_EQ(net.m.tx_rate_limiter_throttled, 3);
	CHECK_EQ(net.m.tx_rate_limiter_event_count, 2);
	stop();
}

/* rx bandwidth for two 112-byte frames (header included) per 100 ms: the
 * third is held, the TAP is no longer polled (the socket keeps the fourth),
 * and each timer delivers the next in order. */
TEST(rx_throttled_stops_reading_the_tap)
{
	struct net_config cfg = test_cfg;

	cfg.rx_rl.bandwidth = tb(2 * (VIRTIO_NET_HDR_SIZE + 100), 0, 100);
	start_cfg(0, &cfg);
	for (unsigned i = 0; i < 4; i++) {
		desc(0, i, DATA + 0x800 * i, 2048, VIRTQ_DESC_F_WRITE, 0);
		offer(0, (uint16_t)i);
		tap_send(0, 0, 100, (uint8_t)(10 * i));
	}
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK_EQ(used_idx(0), 2);
	CHECK(!net.rx_polling);
	CHECK_EQ(net.rx_len, VIRTIO_NET_HDR_SIZE + 100); /* the third, held */
	CHECK(net.rx_rl.armed);
	net.ops.notify(&dev, VIRTIO_NET_RXQ); /* buffers posted while throttled */
	CHECK_EQ(used_idx(0), 2);
	CHECK(!net.rx_polling);
	for (unsigned k = 3; k <= 4; k++) {
		CHECK(timer_fires(net.rx_rl.timer_fd, 2000));
		virtio_net_rx_timer_ready(&net, net.rx_rl.timer_fd, EPOLLIN);
		CHECK_EQ(used_idx(0), k);
	}
	CHECK(net.rx_polling); /* the TAP is empty: polled again */
	for (unsigned i = 0; i < 4; i++) {
		CHECK_EQ(used_id(0, i), i);
		CHECK_EQ(used_len(0, i), VIRTIO_NET_HDR_SIZE + 100);
		CHECK(
		    frame_is(ram + DATA + 0x800 * i + VIRTIO_NET_HDR_SIZE, 100, (uint8_t)(10 * i)));
	}
	CHECK_EQ(net.m.rx_packets_count, 4);
	CHECK_EQ(net.m.rx_bytes_count, 4 * (VIRTIO_NET_HDR_SIZE + 100));
	CHECK_EQ(net.m.rx_rate_limiter_throttled, 3);
	CHECK_EQ(net.m.rx_event_rate_limiter_count, 2);
	CHECK_EQ(net.rx_dropped, 0);
	stop();
}

/* A frame the limiter let through but the guest had no buffers for is not
 * charged again when the buffers come (one op per hour here). */
TEST(rx_frame_charged_once)
{
	struct net_config cfg = test_cfg;

	cfg.rx_rl.ops = tb(1, 0, 3600 * 1000);
	start_cfg(0, &cfg);
	tap_send(0, 0, 60, 1);
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK_EQ(used_idx(0), 0);
	CHECK(net.rx_charged);
	CHECK(!net.rx_rl.armed); /* waiting for buffers, not for the limiter */
	desc(0, 0, DATA, 2048, VIRTQ_DESC_F_WRITE, 0);
	offer(0, 0);
	net.ops.notify(&dev, VIRTIO_NET_RXQ);
	CHECK_EQ(used_idx(0), 1);
	CHECK(frame_is(ram + DATA + VIRTIO_NET_HDR_SIZE, 60, 1));
	desc(0, 1, DATA + 0x800, 2048, VIRTQ_DESC_F_WRITE, 0);
	offer(0, 1);
	tap_send(0, 0, 60, 2);
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK_EQ(used_idx(0), 1);
	CHECK(net.rx_rl.armed);
	CHECK_EQ(net.m.rx_rate_limiter_throttled, 1);
	stop();
}

/* Runtime updates: tx's hour-long wait ends at once when its bucket goes;
 * rx, without a limiter so far, gets one (and its timerfd); NULL leaves a
 * direction alone. */
TEST(runtime_update_of_either_direction)
{
	struct net_config cfg = test_cfg;
	struct rate_limiter_config off = { .ops = tb(0, 0, 0) };
	struct rate_limiter_config rx = { .bandwidth = tb(VIRTIO_NET_HDR_SIZE + 100, 0, 3600000) };
	uint8_t got[256];

	cfg.tx_rl.ops = tb(1, 0, 3600 * 1000);
	start_cfg(0, &cfg);
	CHECK_EQ(net.rx_rl.timer_fd, -1);
	tx_frame(0, 60);
	tx_frame(1, 60);
	net.ops.notify(&dev, VIRTIO_NET_TXQ);
	CHECK_EQ(used_idx(1), 1);
	CHECK_EQ(virtio_net_set_rate_limiter(&net, &rx, NULL), 0);
	CHECK(net.tx_rl.armed); /* tx untouched */
	CHECK(!timer_fires(net.tx_rl.timer_fd, 20));
	CHECK(net.rx_rl.timer_fd >= 0);
	CHECK_EQ(virtio_net_set_rate_limiter(&net, NULL, &off), 0);
	CHECK(timer_fires(net.tx_rl.timer_fd, 1000));
	virtio_net_tx_timer_ready(&net, net.tx_rl.timer_fd, EPOLLIN);
	CHECK_EQ(used_idx(1), 2);
	CHECK_EQ(recv(peer, got, sizeof(got), 0), VIRTIO_NET_HDR_SIZE + 60);
	CHECK_EQ(recv(peer, got, sizeof(got), 0), VIRTIO_NET_HDR_SIZE + 60);
	CHECK(frame_is(got + VIRTIO_NET_HDR_SIZE, 60, 1));
	/* rx now lets one 112-byte frame through per hour. */
	for (unsigned i = 0; i < 2; i++) {
		desc(0, i, DATA + 0x800 * i, 2048, VIRTQ_DESC_F_WRITE, 0);
		offer(0, (uint16_t)i);
		tap_send(0, 0, 100, (uint8_t)i);
	}
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK_EQ(used_idx(0), 1);
	CHECK(net.rx_rl.armed);
	CHECK(!net.rx_polling);
	stop();
}

/* A frame larger than tap_send() makes: `len` bytes of pattern from seed. */
static void tap_send_big(unsigned len, uint8_t seed)
{
	static uint8_t pkt[VIRTIO_NET_PACKET_MAX];

	memset(pkt, 0, VIRTIO_NET_HDR_SIZE);
	for (unsigned i = 0; i < len; i++)
		pkt[VIRTIO_NET_HDR_SIZE + i] = (uint8_t)(seed + i);
	CHECK_EQ(send(peer, pkt, VIRTIO_NET_HDR_SIZE + len, 0), VIRTIO_NET_HDR_SIZE + len);
}

/* Issue 12: chains that can hold any frame take it with one readv, no
 * bounce buffer (rx_buf stays as it was). Without MRG_RXBUF: one big
 * chain, as Linux posts them with GUEST_TSO ("big packets"). */
TEST(rx_reads_straight_into_a_big_chain)
{
	start(0);
	desc(0, 0, DATA, VIRTIO_NET_PACKET_MAX + 100, VIRTQ_DESC_F_WRITE, 0);
	offer(0, 0);
	memset(net.rx_buf, 0xa5, sizeof(net.rx_buf));
	tap_send_big(40000, 7);
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK_EQ(used_idx(0), 1);
	CHECK_EQ(used_len(0, 0), VIRTIO_NET_HDR_SIZE + 40000);
	CHECK_EQ(get_le16(ram + DATA + VIRTIO_NET_HDR_NUM_BUFFERS), 1);
	CHECK(frame_is(ram + DATA + VIRTIO_NET_HDR_SIZE, 40000, 7));
	CHECK_EQ(net.rx_buf[0], 0xa5);
	CHECK_EQ(net.rx_buf[VIRTIO_NET_HDR_SIZE + 100], 0xa5);
	CHECK(net.rx_polling);
	stop();
}

/* With MRG_RXBUF: a window of eight 12000-byte chains (more than any
 * frame) takes the first two frames in place, each from the front of the
 * window; the third, once the window is smaller than the largest frame,
 * goes through rx_buf into the next chain. */
TEST(rx_mergeable_window_in_place)
{
	const uint32_t L = 12000, S = 0x3000;

	start(VIRTIO_NET_F_MRG_RXBUF);
	for (unsigned i = 0; i < QSZ; i++) {
		desc(0, i, DATA + S * i, L, VIRTQ_DESC_F_WRITE, 0);
		offer(0, (uint16_t)i);
	}
	memset(net.rx_buf, 0xa5, sizeof(net.rx_buf));
	tap_send(0, 0, 1000, 1);
	tap_send_big(20000, 2); /* 20012 bytes: chains 1 and 2 */
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK_EQ(used_idx(0), 3);
	CHECK_EQ(used_id(0, 0), 0);
	CHECK_EQ(used_len(0, 0), VIRTIO_NET_HDR_SIZE + 1000);
	CHECK_EQ(used_id(0, 1), 1);
	CHECK_EQ(used_len(0, 1), L);
	CHECK_EQ(used_id(0, 2), 2);
	CHECK_EQ(used_len(0, 2), VIRTIO_NET_HDR_SIZE + 20000 - L);
	CHECK_EQ(get_le16(ram + DATA + VIRTIO_NET_HDR_NUM_BUFFERS), 1);
	CHECK_EQ(get_le16(ram + DATA + S + VIRTIO_NET_HDR_NUM_BUFFERS), 2);
	CHECK(frame_is(ram + DATA + VIRTIO_NET_HDR_SIZE, 1000, 1));
	CHECK(frame_is(ram + DATA + S + VIRTIO_NET_HDR_SIZE, L - VIRTIO_NET_HDR_SIZE, 2));
	CHECK(frame_is(ram + DATA + 2 * S, 20000 - (L - VIRTIO_NET_HDR_SIZE),
		       (uint8_t)(2 + L - VIRTIO_NET_HDR_SIZE)));
	CHECK_EQ(net.rx_buf[VIRTIO_NET_HDR_SIZE], 0xa5); /* not through rx_buf */
	CHECK_EQ(net.rx_nwin, QSZ - 3);
	/* 5 * 12000 < the largest frame: this one is copied, into chain 3. */
	tap_send(0, 0, 300, 3);
	virtio_net_rx_ready(&net, net.fd, EPOLLIN);
	CHECK_EQ(used_idx(0), 4);
	CHECK_EQ(used_id(0, 3), 3);
	CHECK_EQ(used_len(0, 3), VIRTIO_NET_HDR_SIZE + 300);
	CHECK(frame_is(ram + DATA + 3 * S + VIRTIO_NET_HDR_SIZE, 300, 3));
	CHECK(frame_is(net.rx_buf + VIRTIO_NET_HDR_SIZE, 300, 3));
	CHECK_EQ(net.rx_dropped, 0);
	/* A reset forgets the window. */
	net.ops.reset(&dev);
	CHECK_EQ(net.rx_nwin, 0);
	CHECK_EQ(net.rx_room, 0);
	stop();
}

SUITE(virtio_net, T(rx_reads_straight_into_a_big_chain), T(rx_mergeable_window_in_place),
      T(config_space_and_features), T(mac_generation), T(tx_gathers_header_and_frame),
      T(tx_drops_bad_frames), T(tx_malformed_chain_needs_reset), T(rx_one_chain_per_frame),
      T(rx_mergeable_buffers), T(rx_waits_for_buffers_then_resumes),
      T(rx_frame_larger_than_a_chain_is_dropped), T(rx_hostile_chains),
      T(rx_offloads_follow_negotiation), T(rx_short_frames_and_reset),
      T(open_tap_errors_name_the_option), T(tx_throttled_frames_wait_in_order),
      T(rx_throttled_stops_reading_the_tap), T(rx_frame_charged_once),
      T(runtime_update_of_either_direction));
