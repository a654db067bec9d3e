/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio 1.2 section 5.1) over a host TAP device: queue 0 rx,
 * queue 1 tx, no control queue, no multiqueue.
 *
 * The TAP is opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and a 12-byte
 * vnet header (struct virtio_net_hdr_v1 with num_buffers, the VERSION_1
 * layout), so the guest's header goes to the TAP as it is and the TAP's
 * header comes back in the same format. Offloads are offered only where the
 * TAP carries them: CSUM/HOST_TSO4/HOST_TSO6 (the TAP accepts partial
 * checksums and GSO frames from us), and GUEST_CSUM/GUEST_TSO4/GUEST_TSO6
 * only if TUNSETOFFLOAD works; activate() then enables on the TAP exactly the
 * GUEST_* offloads the driver accepted, and every received header is checked
 * against them.
 *
 * TX: each chain's readable buffers (header + frame) go to the TAP with one
 * writev, straight from guest memory. RX: a frame is read from the TAP with
 * one readv straight into the guest's chains (one chain, or with MRG_RXBUF as
 * many as it needs; num_buffers says how many) whenever the chains popped so
 * far can hold the largest frame; otherwise into a bounce buffer, then copied
 * as the guest's buffers allow. When the guest has posted too little room,
 * the frame is kept, the TAP is no longer polled, and delivery resumes when
 * the driver notifies queue 0: no busy loop, and the TAP's own queue holds
 * what arrives meanwhile.
 *
 * Optional rate limiters (Firecracker's, dev/rate_limiter.h), one per
 * direction, charge each frame 1 op and its bytes, vnet header included (as
 * Firecracker counts them). A tx chain that does not fit goes back to the
 * ring; an rx frame that does not fit is held and the TAP is no longer
 * polled. Either way the direction waits for its limiter's timer, which
 * resumes it: nothing polls, and the TAP queues what arrives meanwhile.
 */
#ifndef EMBER_DEV_VIRTIO_NET_H
#define EMBER_DEV_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "dev/rate_limiter.h"
#include "vm_virtio.h"

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM	(1ULL << 0)
#define VIRTIO_NET_F_GUEST_CSUM (1ULL << 1)
#define VIRTIO_NET_F_MTU	(1ULL << 3)
#define VIRTIO_NET_F_MAC	(1ULL << 5)
#define VIRTIO_NET_F_GUEST_TSO4 (1ULL << 7)
#define VIRTIO_NET_F_GUEST_TSO6 (1ULL << 8)
#define VIRTIO_NET_F_GUEST_ECN	(1ULL << 9)
#define VIRTIO_NET_F_HOST_TSO4	(1ULL << 11)
#define VIRTIO_NET_F_HOST_TSO6	(1ULL << 12)
#define VIRTIO_NET_F_MRG_RXBUF	(1ULL << 15)
#define VIRTIO_NET_F_STATUS	(1ULL << 16)

#define VIRTIO_NET_S_LINK_UP 1

/* struct virtio_net_hdr_v1 (5.1.6): flags, gso_type, hdr_len, gso_size,
 * csum_start, csum_offset, num_buffers. */
#define VIRTIO_NET_HDR_SIZE	    12
#define VIRTIO_NET_HDR_NUM_BUFFERS  10
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE	    0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define VIRTIO_NET_HDR_GSO_ECN	    0x80

/* Config space (5.1.4): mac[6], status (le16), max_virtqueue_pairs (le16,
 * meaningful only with MQ, which is not offered), mtu (le16, with MTU,
 * offered when the configuration sets one). */
#define VIRTIO_NET_CFG_MAC	   0
#define VIRTIO_NET_CFG_STATUS	   6
#define VIRTIO_NET_CFG_MTU	   10
#define VIRTIO_NET_CONFIG_SIZE	   12
#define VIRTIO_NET_CONFIG_SIZE_MIN 8 /* without MTU */

#define VIRTIO_NET_RXQ	      0
#define VIRTIO_NET_TXQ	      1
#define VIRTIO_NET_QUEUE_SIZE 256
/* The largest frame either side may carry: a 64 KiB GSO frame (IP length
 * is 16 bits) plus an Ethernet and a VLAN header, after the vnet header. */
#define VIRTIO_NET_FRAME_MAX  (65535 + 14 + 4)
#define VIRTIO_NET_PACKET_MAX (VIRTIO_NET_HDR_SIZE + VIRTIO_NET_FRAME_MAX)

struct net_config;

/* The rx window's storage: twice what it may hold at once (a queue's worth
 * of chains, VQ_MAX_SIZE buffers), so it compacts only now and then. */
#define NET_RX_WIN_SLOTS (2 * VIRTIO_NET_QUEUE_SIZE)
#define NET_RX_IOV_SLOTS (2 * VQ_MAX_SIZE)

/* Firecracker's net metrics (its names, net/metrics.rs) for the metrics
 * writer; bumped with counter_add(). Bytes include the vnet header. */
struct virtio_net_metrics {
	_Atomic uint64_t rx_bytes_count, rx_packets_count; /* delivered to the guest */
	_Atomic uint64_t tx_bytes_count, tx_packets_count; /* written to the TAP */
	_Atomic uint64_t rx_rate_limiter_throttled, tx_rate_limiter_throttled;
	_Atomic uint64_t rx_event_rate_limiter_count, tx_rate_limiter_event_count; /* timers */
};

struct virtio_net {
	int fd;	     /* the TAP; in tests, a datagram socket */
	bool is_tap; /* TUNSETOFFLOAD applies to fd */
	char name[16];
	uint64_t features; /* offered */
	uint8_t config[VIRTIO_NET_CONFIG_SIZE];
	struct virtio_dev_ops ops;
	struct virtio_dev *dev;
	struct virtio_worker *worker; /* NULL: nobody polls fd (tests) */
	/* The state below is guarded by dev's lock. */
	bool fd_watched; /* fd is in the worker's epoll set */
	bool rx_polling; /* ... with EPOLLIN */
	bool rx_broken;	 /* reading the TAP failed for good; reported once */
	uint32_t rx_len; /* bytes of the frame held (0: none) */
	bool rx_inplace; /* ... in the window's chains, not in rx_buf */
	bool rx_charged; /* ... and the rx limiter has let it through */
	uint64_t rx_dropped, tx_dropped;
	struct rate_limiter_io rx_rl, tx_rl;
	struct virtio_net_metrics m;
	/* Worker-thread state. The rx window (virtio_net.c): chains popped
	 * from the rx ring, not used yet, in order: rx_win[rx_w0, +rx_nwin),
	 * their writable buffers in rx_iov[rx_i0, +rx_niov), rx_room bytes. */
	struct {
		uint16_t head, niov;
		uint32_t len;
	} rx_win[NET_RX_WIN_SLOTS];
	unsigned rx_w0, rx_nwin, rx_i0, rx_niov;
	uint64_t rx_room;
	struct iovec rx_iov[NET_RX_IOV_SLOTS];
	struct vq_chain rx_chain, tx;	       /* vq_pop()'s scratch */
	uint8_t rx_buf[VIRTIO_NET_PACKET_MAX]; /* a frame the window cannot hold yet */
};

/* arg: const struct net_config *. Opens the TAP; errors read
 * "--net tap=NAME: <why>". */
int virtio_net_create(struct vm_virtio *s, const struct guest_mem *mem, const void *arg);

/*
 * The MAC used when --net gives none: locally administered, unicast,
 * 02:xx:xx:xx:xx:xx with the 40 low bits of an FNV-1a hash of the TAP name
 * and the process id, so two ember processes (or two TAPs) differ while one
 * run is reproducible.
 */
void virtio_net_make_mac(const char *tap, unsigned long pid, uint8_t mac[6]);

/* Open the TAP `name` for virtio-net (see above), non-blocking. Sets
 * *guest_offloads when TUNSETOFFLOAD works. Returns the fd or negative
 * errno with a message. */
int virtio_net_open_tap(const char *name, bool *guest_offloads);

/*
 * Fill `n` for an already open fd (the TAP, or a datagram socket in tests):
 * config space, offered features (the GUEST_* offloads only if
 * guest_offloads), ops and the rate limiters of cfg. `n` takes over fd. The
 * caller sets n->dev (and n->worker) once the virtio_dev exists. Returns 0,
 * or negative errno with a message (a limiter's timerfd); close() then.
 */
int virtio_net_setup(struct virtio_net *n, int fd, bool is_tap, const struct net_config *cfg,
		     bool guest_offloads);
void virtio_net_close(struct virtio_net *n);

/* The TAP has frames (worker callback; exposed for tests). */
void virtio_net_rx_ready(void *ctx, int fd, uint32_t events);

/*
 * Replace the rx and/or tx limiter's buckets at run time (Firecracker's
 * PATCH /network-interfaces: rate_limiter_update() semantics; NULL leaves a
 * direction alone), from any thread: under the device lock, effective at
 * once; a throttled direction re-evaluates on the device thread. 0, or
 * negative errno (no timerfd) with neither limiter changed.
 */
int virtio_net_set_rate_limiter(struct virtio_net *n, const struct rate_limiter_config *rx,
				const struct rate_limiter_config *tx);

/* A limiter's timer fired: resume rx, or tx (worker callbacks; exposed for
 * tests). */
void virtio_net_rx_timer_ready(void *ctx, int fd, uint32_t events);
void virtio_net_tx_timer_ready(void *ctx, int fd, uint32_t events);

/* Check and fix a received vnet header against the negotiated GUEST_*
 * features: false if the frame must be dropped. */
bool virtio_net_rx_header_ok(uint8_t *hdr, uint64_t driver_features);

#endif
