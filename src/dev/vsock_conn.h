/* SPDX-License-Identifier: MIT */
/*
 * The virtio-vsock packet and connection state machine (virtio 1.2 section
 * 5.10), with the host side reached through an ops table: no threads, no
 * KVM, no epoll here. dev/virtio_vsock.c plugs in AF_UNIX sockets with
 * Firecracker's hybrid-vsock convention; the unit tests plug in fakes.
 *
 * Connections are stream only. Each side advertises its receive window
 * (buf_alloc) and how much of it it has consumed (fwd_cnt) in every header;
 * a sender may have at most buf_alloc - (tx_cnt - fwd_cnt) bytes in flight
 * (5.10.6.3). All counters are u32 and wrap.
 *
 *   host -> guest: data is read from the host socket straight into the
 *     guest's rx buffer, only when the guest has both credit and a buffer, so
 *     nothing is buffered here and a stalled guest simply leaves the bytes in
 *     the socket.
 *   guest -> host: data goes straight to the socket; what the socket does not
 *     take waits in a per-connection ring of VSOCK_BUF_ALLOC bytes, which is
 *     exactly the window we advertise, so a guest that respects credit never
 *     overflows it (one that does not gets RST).
 *
 * The guest is hostile: every header field is checked. A tx chain too short
 * for a header is a broken driver (the caller sets DEVICE_NEEDS_RESET); any
 * other bad packet is answered with RST, except one claiming somebody else's
 * source CID, which is dropped.
 *
 * Call everything from one thread (the device's worker) with the device lock
 * held around the virtqueue calls.
 */
#ifndef EMBER_DEV_VSOCK_CONN_H
#define EMBER_DEV_VSOCK_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "dev/virtqueue.h"

#define VSOCK_HDR_SIZE	  44
#define VSOCK_CID_HOST	  2
#define VSOCK_TYPE_STREAM 1

#define VSOCK_OP_INVALID	0
#define VSOCK_OP_REQUEST	1
#define VSOCK_OP_RESPONSE	2
#define VSOCK_OP_RST		3
#define VSOCK_OP_SHUTDOWN	4
#define VSOCK_OP_RW		5
#define VSOCK_OP_CREDIT_UPDATE	6
#define VSOCK_OP_CREDIT_REQUEST 7

#define VSOCK_SHUTDOWN_RCV  1 /* the sender will receive no more data */
#define VSOCK_SHUTDOWN_SEND 2 /* the sender will send no more data */

/* Our receive window per connection (Linux's default buf_alloc too). */
#define VSOCK_BUF_ALLOC (256 * 1024)
/* Largest payload we put in one rx buffer (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
#define VSOCK_MAX_PKT (64 * 1024)
/* Tell the guest about freed window once it sees less than this. */
#define VSOCK_CREDIT_LOW (VSOCK_BUF_ALLOC / 2)
/* Connections at once (each holds a socket in the worker's epoll set). */
#define VSOCK_MAX_CONNS 48
/* RSTs for packets that match no connection, waiting for rx buffers. */
#define VSOCK_MAX_ORPHAN_RST 32
/* Host ports we hand out for host-initiated connections start here. */
#define VSOCK_HOST_PORT_MIN 1024
/* "CONNECT 4294967295\n" is 19 bytes; anything longer is garbage. */
#define VSOCK_CONNECT_MAX 32

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

/* Decode/encode the 44-byte little-endian header. */
void vsock_hdr_get(const uint8_t *b, struct vsock_hdr *h);
void vsock_hdr_put(uint8_t *b, const struct vsock_hdr *h);

/*
 * Parse the hybrid-vsock request line "CONNECT <port>\n" (port: 1-10 decimal
 * digits, at most 2^32-1) from the first `len` bytes a host client sent.
 * Returns 1 with *port and *used (bytes up to and including the newline),
 * 0 if what is there is a valid prefix that needs more bytes, or -EINVAL
 * (with a message) as soon as it cannot become a valid line.
 */
int vsock_parse_connect(const char *buf, size_t len, uint32_t *port, size_t *used);

enum vsock_state {
	VSOCK_LINE,	 /* host client accepted, its CONNECT line not read yet */
	VSOCK_REQUEST,	 /* OP_REQUEST to the guest pending or sent */
	VSOCK_CONNECTED, /* data flows */
	VSOCK_CLOSING,	 /* guest shut both ways: flush to the host, then RST */
	VSOCK_DEAD,	 /* socket closed; an RST to the guest is pending */
};

/* Packets a connection owes the guest. */
#define VSOCK_P_REQUEST	       (1u << 0)
#define VSOCK_P_RESPONSE       (1u << 1)
#define VSOCK_P_CREDIT_UPDATE  (1u << 2)
#define VSOCK_P_CREDIT_REQUEST (1u << 3)
#define VSOCK_P_SHUTDOWN       (1u << 4)
#define VSOCK_P_RST	       (1u << 5)

struct vsock;

struct vsock_conn {
	struct vsock *owner;
	int fd; /* host socket, -1 once closed */
	enum vsock_state state;
	uint32_t host_port, guest_port;
	unsigned pending;	 /* VSOCK_P_* */
	uint32_t shutdown_flags; /* for the pending OP_SHUTDOWN */
	/* Socket readiness as edge-triggered epoll reported it; cleared when
	 * a read or write would block. */
	bool readable, writable;
	bool host_eof;			  /* the host side sent its last byte */
	bool guest_no_send, guest_no_rcv; /* the guest's SHUTDOWN flags */
	bool host_wr_shut;		  /* shutdown(SHUT_WR) done */
	bool credit_requested;		  /* OP_CREDIT_REQUEST sent, no credit since */
	/* guest -> host: received, forwarded to the socket, last fwd_cnt the
	 * guest has seen. */
	uint32_t rx_cnt, fwd_cnt, last_fwd_sent;
	uint8_t *ring; /* VSOCK_BUF_ALLOC bytes, allocated on first need */
	uint32_t ring_head, ring_len;
	/* host -> guest: sent, and the guest's window. */
	uint32_t tx_cnt, peer_buf_alloc, peer_fwd_cnt;
	/* The CONNECT line read so far (VSOCK_LINE). */
	char line[VSOCK_CONNECT_MAX];
	unsigned line_len;
};

/* The host side. Return values are like the syscalls' but -errno. */
struct vsock_host_ops {
	/* Connect to the host service for guest-initiated connections to
	 * `port`: a new non-blocking fd, or -errno. */
	int (*connect)(void *ctx, uint32_t port);
	/* Start/stop watching c->fd; events come back via vsock_sock_event(). */
	int (*watch)(void *ctx, struct vsock_conn *c);
	void (*unwatch)(void *ctx, struct vsock_conn *c);
	ssize_t (*recv)(void *ctx, int fd, const struct iovec *iov, int n, int flags);
	ssize_t (*send)(void *ctx, int fd, const struct iovec *iov, int n);
	void (*shutdown)(void *ctx, int fd, int how);
	void (*close)(void *ctx, int fd);
};

struct vsock {
	uint64_t guest_cid;
	const struct vsock_host_ops *ops;
	void *ctx;
	struct vsock_conn *conns[VSOCK_MAX_CONNS];
	unsigned next; /* round robin over conns[] for rx buffers */
	uint32_t next_port;
	struct vsock_hdr orphan_rst[VSOCK_MAX_ORPHAN_RST];
	unsigned norphan;
	uint64_t dropped; /* packets with a foreign source CID */
};

void vsock_init(struct vsock *v, uint64_t guest_cid, const struct vsock_host_ops *ops, void *ctx);
/* Close every connection and forget pending RSTs (device reset, teardown). */
void vsock_reset(struct vsock *v);

/* A host client connected to the listening socket: takes ownership of fd
 * (closed on failure). Returns 0 or -errno. */
int vsock_accepted(struct vsock *v, int fd);

/* The host socket of c became readable and/or writable (or hung up: pass
 * both). May free c. */
void vsock_sock_event(struct vsock *v, struct vsock_conn *c, bool in, bool out);

/* One chain from the tx queue. Returns 0 (handled, possibly by RST) or
 * -EINVAL if the chain cannot even hold a header. */
int vsock_guest_pkt(struct vsock *v, const struct vq_chain *c);

/* Does anything wait for an rx buffer? (Cheap; may be a false positive
 * when a readable socket turns out to have no data.) */
bool vsock_rx_pending(const struct vsock *v);

/* Fill one rx chain with the next packet for the guest. Returns 1 with
 * *written set, 0 if there was nothing to send after all (keep the chain
 * for later), or -EINVAL if the chain cannot hold a header. */
int vsock_fill_rx(struct vsock *v, const struct vq_chain *c, uint32_t *written);

/* How many bytes the guest can take now on c. */
uint32_t vsock_peer_credit(const struct vsock_conn *c);

struct vsock_conn *vsock_find(const struct vsock *v, uint32_t host_port, uint32_t guest_port);

#endif
