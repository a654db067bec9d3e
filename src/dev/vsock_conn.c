// SPDX-License-Identifier: MIT
#include "dev/vsock_conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

/* src_cid, dst_cid, src_port, dst_port, len, type, op, flags, buf_alloc, fwd_cnt. */
_Static_assert(8 + 8 + 4 + 4 + 4 + 2 + 2 + 4 + 4 + 4 == VSOCK_HDR_SIZE, "virtio_vsock_hdr");
_Static_assert(VSOCK_CREDIT_LOW <= VSOCK_BUF_ALLOC, "credit threshold inside the window");

/* Buffers per packet we hand to recvmsg/sendmsg; Linux uses one or two. */
#define MAX_IOV 16

void vsock_hdr_get(const uint8_t *b, struct vsock_hdr *h)
{
	h->src_cid = get_le64(b);
	h->dst_cid = get_le64(b + 8);
	h->src_port = get_le32(b + 16);
	h->dst_port = get_le32(b + 20);
	h->len = get_le32(b + 24);
	h->type = get_le16(b + 28);
	h->op = get_le16(b + 30);
	h->flags = get_le32(b + 32);
	h->buf_alloc = get_le32(b + 36);
	h->fwd_cnt = get_le32(b + 40);
}

void vsock_hdr_put(uint8_t *b, const struct vsock_hdr *h)
{
	put_le64(b, h->src_cid);
	put_le64(b + 8, h->dst_cid);
	put_le32(b + 16, h->src_port);
	put_le32(b + 20, h->dst_port);
	put_le32(b + 24, h->len);
	put_le16(b + 28, h->type);
	put_le16(b + 30, h->op);
	put_le32(b + 32, h->flags);
	put_le32(b + 36, h->buf_alloc);
	put_le32(b + 40, h->fwd_cnt);
}

int vsock_parse_connect(const char *buf, size_t len, uint32_t *port, size_t *used)
{
	static const char prefix[] = "CONNECT ";
	const size_t plen = sizeof(prefix) - 1;
	uint64_t val = 0;
	unsigned digits = 0;

	for (size_t i = 0; i < len && i < plen; i++)
		if (buf[i] != prefix[i])
			return ember_seterr(-EINVAL,
					    "host client sent no 'CONNECT <port>\\n' line");
	for (size_t i = plen; i < len; i++) {
		unsigned char ch = (unsigned char)buf[i];

		if (ch == '\n') {
			if (!digits)
				return ember_seterr(-EINVAL, "host client: CONNECT without a port");
			*port = (uint32_t)val;
			*used = i + 1;
			return 1;
		}
		if (ch < '0' || ch > '9')
			return ember_seterr(-EINVAL, "host client: byte 0x%02x in the CONNECT port",
					    ch);
		val = val * 10 + (ch - '0');
		if (++digits > 10 || val > UINT32_MAX)
			return ember_seterr(-EINVAL, "host client: CONNECT port above 4294967295");
	}
	return 0;
}

void vsock_init(struct vsock *v, uint64_t guest_cid, const struct vsock_host_ops *ops, void *ctx)
{
	memset(v, 0, sizeof(*v));
	v->guest_cid = guest_cid;
	v->ops = ops;
	v->ctx = ctx;
	v->next_port = VSOCK_HOST_PORT_MIN;
}

uint32_t vsock_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt; /* wraps, as in the spec */

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

struct vsock_conn *vsock_find(const struct vsock *v, uint32_t host_port, uint32_t guest_port)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = v->conns[i];

		if (c && c->state != VSOCK_LINE && c->host_port == host_port &&
		    c->guest_port == guest_port)
			return c;
	}
	return NULL;
}

static int free_slot(const struct vsock *v)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (!v->conns[i])
			return (int)i;
	return -1;
}

static void close_fd(struct vsock *v, struct vsock_conn *c)
{
	if (c->fd < 0)
		return;
	v->ops->unwatch(v->ctx, c);
	v->ops->close(v->ctx, c->fd);
	c->fd = -1;
}

static void conn_free(struct vsock *v, struct vsock_conn *c)
{
	close_fd(v, c);
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conns[i] == c)
			v->conns[i] = NULL;
	free(c->ring);
	free(c);
}

/* Give up on c: close the host socket now, tell the guest with RST. */
static void conn_rst(struct vsock *v, struct vsock_conn *c)
{
	close_fd(v, c);
	free(c->ring);
	c->ring = NULL;
	c->ring_len = 0;
	c->state = VSOCK_DEAD;
	c->pending = VSOCK_P_RST;
}

void vsock_reset(struct vsock *v)
{
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conns[i])
			conn_free(v, v->conns[i]);
	v->norphan = 0;
}

/* Answer a packet that has no connection (or a broken one) with RST, from
 * the address it was sent to so the guest can match it to its socket. */
static void orphan_rst(struct vsock *v, const struct vsock_hdr *h)
{
	if (h->op == VSOCK_OP_RST || v->norphan == VSOCK_MAX_ORPHAN_RST)
		return; /* never answer RST with RST; when full the guest times out */
	v->orphan_rst[v->norphan++] = (struct vsock_hdr){
		.src_cid = h->dst_cid,
		.dst_cid = h->src_cid,
		.src_port = h->dst_port,
		.dst_port = h->src_port,
		.type = h->type,
		.op = VSOCK_OP_RST,
	};
}

static void maybe_credit_update(struct vsock_conn *c)
{
	uint32_t seen_free = VSOCK_BUF_ALLOC - (c->rx_cnt - c->last_fwd_sent);

	/* The guest only learns about the window we freed from a header we
	 * send; tell it once its view drops below the threshold (Linux's
	 * sender stalls at zero credit and never asks). */
	if (c->state == VSOCK_CONNECTED && !c->guest_no_send && c->fwd_cnt != c->last_fwd_sent &&
	    seen_free < VSOCK_CREDIT_LOW)
		c->pending |= VSOCK_P_CREDIT_UPDATE;
}

/* The ring is empty: finish what the guest's SHUTDOWN asked for. */
static void drained(struct vsock *v, struct vsock_conn *c)
{
	if (c->state == VSOCK_CLOSING) {
		/* Clean close (5.10.6.5): SHUTDOWN both ways, answered by RST. */
		conn_rst(v, c);
	} else if (c->guest_no_send && !c->host_wr_shut && c->fd >= 0) {
		v->ops->shutdown(v->ctx, c->fd, SHUT_WR);
		c->host_wr_shut = true;
	}
}

/* Write the ring to the host socket while it takes bytes. */
static void flush(struct vsock *v, struct vsock_conn *c)
{
	while (c->ring_len && c->writable && c->fd >= 0) {
		uint32_t first = VSOCK_BUF_ALLOC - c->ring_head;
		struct iovec iov[2] = { { c->ring + c->ring_head, c->ring_len } };
		int n = 1;
		ssize_t r;

		if (c->ring_len > first) {
			iov[0].iov_len = first;
			iov[1] = (struct iovec){ c->ring, c->ring_len - first };
			n = 2;
		}
		r = v->ops->send(v->ctx, c->fd, iov, n);
		if (r == -EAGAIN || r == -EWOULDBLOCK || r == -EINTR) {
			c->writable = r == -EINTR;
			continue;
		}
		if (r <= 0) { /* the host side is gone */
			conn_rst(v, c);
			return;
		}
		c->ring_head = (uint32_t)((c->ring_head + (uint64_t)r) % VSOCK_BUF_ALLOC);
		c->ring_len -= (uint32_t)r;
		c->fwd_cnt += (uint32_t)r;
	}
	if (!c->ring_len)
		drained(v, c);
	maybe_credit_update(c);
}

/* Copy [off, off+len) of the chain's readable part to the ring's tail. */
static int ring_put(struct vsock_conn *c, const struct vq_chain *ch, uint64_t off, uint32_t len)
{
	uint32_t tail = (c->ring_head + c->ring_len) % VSOCK_BUF_ALLOC;
	uint32_t first = VSOCK_BUF_ALLOC - tail;

	if (!c->ring && !(c->ring = malloc(VSOCK_BUF_ALLOC)))
		return -ENOMEM;
	if (first > len)
		first = len;
	vq_chain_read(ch, off, c->ring + tail, first);
	vq_chain_read(ch, off + first, c->ring, len - first);
	c->ring_len += len;
	return 0;
}

/* OP_RW from the guest: straight to the socket, the rest into the ring. */
static void guest_data(struct vsock *v, struct vsock_conn *c, const struct vq_chain *ch,
		       uint32_t len)
{
	uint64_t sent = 0;

	if (c->state != VSOCK_CONNECTED || c->guest_no_send ||
	    (uint64_t)c->ring_len + len > VSOCK_BUF_ALLOC) {
		conn_rst(v, c); /* data where none may come, or beyond our credit */
		return;
	}
	c->rx_cnt += len;
	if (!c->ring_len && c->writable) {
		struct iovec iov[MAX_IOV];
		uint64_t covered;
		unsigned n = vq_chain_iov(ch, false, VSOCK_HDR_SIZE, len, iov, MAX_IOV, &covered);
		ssize_t r = v->ops->send(v->ctx, c->fd, iov, (int)n);

		if (r == -EAGAIN || r == -EWOULDBLOCK) {
			c->writable = false;
		} else if (r < 0 && r != -EINTR) {
			conn_rst(v, c);
			return;
		} else if (r > 0) {
			sent = (uint64_t)r;
			c->fwd_cnt += (uint32_t)r;
		}
	}
	if (sent < len && ring_put(c, ch, VSOCK_HDR_SIZE + sent, len - (uint32_t)sent) < 0) {
		conn_rst(v, c);
		return;
	}
	/* A short write left bytes in the ring: try once more now, so that
	 * either they go or the socket is marked full and EPOLLOUT resumes. */
	flush(v, c);
}

static void guest_shutdown(struct vsock *v, struct vsock_conn *c, uint32_t flags)
{
	if (c->state == VSOCK_CLOSING)
		return;
	if (c->state != VSOCK_CONNECTED) {
		conn_rst(v, c);
		return;
	}
	if ((flags & VSOCK_SHUTDOWN_RCV) && !c->guest_no_rcv) {
		/* Host writes to this connection now fail with EPIPE. */
		c->guest_no_rcv = true;
		v->ops->shutdown(v->ctx, c->fd, SHUT_RD);
	}
	if (flags & VSOCK_SHUTDOWN_SEND)
		c->guest_no_send = true;
	if (c->guest_no_rcv && c->guest_no_send)
		c->state = VSOCK_CLOSING;
	c->pending &= ~VSOCK_P_CREDIT_UPDATE;
	if (!c->ring_len)
		drained(v, c);
}

/* The guest answered our OP_REQUEST: tell the host client, as Firecracker
 * does, "OK <host port>\n". */
static void guest_response(struct vsock *v, struct vsock_conn *c)
{
	char line[24];
	struct iovec iov = { line, 0 };

	if (c->state != VSOCK_REQUEST || (c->pending & VSOCK_P_REQUEST)) {
		conn_rst(v, c); /* a response to nothing we asked */
		return;
	}
	iov.iov_len = (size_t)snprintf(line, sizeof(line), "OK %u\n", c->host_port);
	/* A fresh socket's buffer is empty: a short write means it is broken. */
	if (v->ops->send(v->ctx, c->fd, &iov, 1) != (ssize_t)iov.iov_len) {
		conn_rst(v, c);
		return;
	}
	c->state = VSOCK_CONNECTED;
}

/* OP_REQUEST from the guest to host port P: connect to the host service. */
static void guest_connect(struct vsock *v, const struct vsock_hdr *h)
{
	int slot = free_slot(v), fd;
	struct vsock_conn *c;

	if (slot < 0 || (fd = v->ops->connect(v->ctx, h->dst_port)) < 0) {
		orphan_rst(v, h);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		v->ops->close(v->ctx, fd);
		orphan_rst(v, h);
		return;
	}
	*c = (struct vsock_conn){
		.owner = v,
		.fd = fd,
		.state = VSOCK_CONNECTED,
		.host_port = h->dst_port,
		.guest_port = h->src_port,
		.pending = VSOCK_P_RESPONSE,
		.readable = true,
		.writable = true,
		.peer_buf_alloc = h->buf_alloc,
		.peer_fwd_cnt = h->fwd_cnt,
	};
	v->conns[slot] = c;
	if (v->ops->watch(v->ctx, c) < 0) {
		c->fd = -1;
		v->ops->close(v->ctx, fd);
		conn_free(v, c);
		orphan_rst(v, h);
	}
}

/* Why a header from the guest is unacceptable, or NULL. */
static const char *bad_header(const struct vsock_hdr *h, uint64_t payload)
{
	if (h->dst_cid != VSOCK_CID_HOST)
		return "destination is not the host";
	if (h->type != VSOCK_TYPE_STREAM)
		return "not a stream packet";
	if (h->op == VSOCK_OP_INVALID || h->op > VSOCK_OP_CREDIT_REQUEST)
		return "unknown op";
	if (h->len > payload)
		return "len beyond the buffer";
	if (h->op == VSOCK_OP_RW && h->len > VSOCK_BUF_ALLOC)
		return "len beyond any window";
	return NULL;
}

int vsock_guest_pkt(struct vsock *v, const struct vq_chain *ch)
{
	uint8_t raw[VSOCK_HDR_SIZE];
	struct vsock_hdr h;
	struct vsock_conn *c;

	if (ch->read_len < VSOCK_HDR_SIZE)
		return ember_seterr(-EINVAL, "tx chain %u of %llu bytes cannot hold a header",
				    ch->head, (unsigned long long)ch->read_len);
	vq_chain_read(ch, 0, raw, sizeof(raw));
	vsock_hdr_get(raw, &h);
	if (h.src_cid != v->guest_cid) {
		v->dropped++; /* spoofed: nobody to answer */
		return 0;
	}
	c = vsock_find(v, h.dst_port, h.src_port);
	if (bad_header(&h, ch->read_len - VSOCK_HDR_SIZE)) {
		if (c && c->state != VSOCK_DEAD)
			conn_rst(v, c);
		else if (!c)
			orphan_rst(v, &h);
		return 0;
	}
	if (!c) {
		if (h.op == VSOCK_OP_REQUEST)
			guest_connect(v, &h);
		else
			orphan_rst(v, &h);
		return 0;
	}
	if (c->state == VSOCK_DEAD)
		return 0; /* our RST is on its way */
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;
	switch (h.op) {
	case VSOCK_OP_REQUEST:
		conn_rst(v, c); /* the port pair is in use */
		break;
	case VSOCK_OP_RESPONSE:
		guest_response(v, c);
		break;
	case VSOCK_OP_RST:
		conn_free(v, c);
		break;
	case VSOCK_OP_SHUTDOWN:
		guest_shutdown(v, c, h.flags);
		break;
	case VSOCK_OP_RW:
		if (h.len)
			guest_data(v, c, ch, h.len);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break; /* the window was taken from the header above */
	case VSOCK_OP_CREDIT_REQUEST:
		c->pending |= VSOCK_P_CREDIT_UPDATE;
		break;
	}
	return 0;
}

static uint32_t alloc_port(struct vsock *v)
{
	/* At most VSOCK_MAX_CONNS ports are taken: this ends. */
	for (;;) {
		uint32_t p = v->next_port++;
		bool taken = false;

		if (v->next_port < VSOCK_HOST_PORT_MIN)
			v->next_port = VSOCK_HOST_PORT_MIN;
		for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
			taken |= v->conns[i] && v->conns[i]->host_port == p;
		if (!taken)
			return p;
	}
}

/* Read the host client's CONNECT line, a byte at a time: the line is short,
 * and bytes the client sends right after it must stay in the socket as
 * stream data for the guest. */
static void read_line(struct vsock *v, struct vsock_conn *c)
{
	size_t used;
	uint32_t port;
	int r = 0;

	while (r == 0) {
		struct iovec iov = { c->line + c->line_len, 1 };
		ssize_t n;

		if (c->line_len == sizeof(c->line))
			r = ember_seterr(-EINVAL, "host client: CONNECT line over %zu bytes",
					 sizeof(c->line));
		else if ((n = v->ops->recv(v->ctx, c->fd, &iov, 1, 0)) == -EAGAIN ||
			 n == -EWOULDBLOCK || n == -EINTR) {
			c->readable = false;
			return;
		} else if (n <= 0) {
			r = -EIO; /* gone before saying where to */
		} else {
			c->line_len++;
			r = vsock_parse_connect(c->line, c->line_len, &port, &used);
		}
	}
	if (r < 0) {
		if (r == -EINVAL)
			fprintf(stderr, "ember: virtio-vsock: %s; closing it\n", ember_lasterr());
		conn_free(v, c);
		return;
	}
	c->guest_port = port;
	c->host_port = alloc_port(v);
	c->state = VSOCK_REQUEST;
	c->pending |= VSOCK_P_REQUEST;
}

int vsock_accepted(struct vsock *v, int fd)
{
	int slot = free_slot(v), err;
	struct vsock_conn *c;

	if (slot < 0) {
		v->ops->close(v->ctx, fd);
		return ember_seterr(-ENOSPC, "virtio-vsock: %d connections open; refusing another",
				    VSOCK_MAX_CONNS);
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		v->ops->close(v->ctx, fd);
		return -ENOMEM;
	}
	*c = (struct vsock_conn){
		.owner = v,
		.fd = fd,
		.state = VSOCK_LINE,
		.readable = true,
		.writable = true,
	};
	v->conns[slot] = c;
	err = v->ops->watch(v->ctx, c);
	if (err < 0) {
		c->fd = -1;
		v->ops->close(v->ctx, fd);
		conn_free(v, c);
		return err;
	}
	read_line(v, c);
	return 0;
}

void vsock_sock_event(struct vsock *v, struct vsock_conn *c, bool in, bool out)
{
	c->readable |= in;
	c->writable |= out;
	if (c->state == VSOCK_LINE) {
		if (c->readable)
			read_line(v, c);
	} else if (c->writable && c->ring_len) {
		flush(v, c);
	}
	/* CONNECTED and readable: vsock_fill_rx() reads when the guest has
	 * room. */
}

static bool can_read(const struct vsock_conn *c)
{
	return c->state == VSOCK_CONNECTED && c->fd >= 0 && c->readable && !c->host_eof &&
	       !c->guest_no_rcv;
}

static bool conn_wants_rx(const struct vsock_conn *c)
{
	return c->pending || (can_read(c) && (vsock_peer_credit(c) || !c->credit_requested));
}

bool vsock_rx_pending(const struct vsock *v)
{
	if (v->norphan)
		return true;
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conns[i] && conn_wants_rx(v->conns[i]))
			return true;
	return false;
}

/* Write c's header for `op` into the chain; returns the bytes used. */
static uint32_t put_hdr(struct vsock *v, struct vsock_conn *c, const struct vq_chain *ch,
			uint16_t op, uint32_t flags, uint32_t len)
{
	uint8_t raw[VSOCK_HDR_SIZE];
	struct vsock_hdr h = {
		.src_cid = VSOCK_CID_HOST,
		.dst_cid = v->guest_cid,
		.src_port = c->host_port,
		.dst_port = c->guest_port,
		.len = len,
		.type = VSOCK_TYPE_STREAM,
		.op = op,
		.flags = flags,
		.buf_alloc = VSOCK_BUF_ALLOC,
		.fwd_cnt = c->fwd_cnt,
	};

	vsock_hdr_put(raw, &h);
	vq_chain_write(ch, 0, raw, sizeof(raw));
	/* Every header carries our window: no separate update needed now. */
	c->last_fwd_sent = c->fwd_cnt;
	c->pending &= ~VSOCK_P_CREDIT_UPDATE;
	return VSOCK_HDR_SIZE + len;
}

/* Read host data into the chain, after the header. 1: a packet is in the
 * chain; 0: nothing was read (state updated). */
static int fill_data(struct vsock *v, struct vsock_conn *c, const struct vq_chain *ch,
		     uint32_t *written)
{
	uint32_t credit = vsock_peer_credit(c);
	uint64_t room = ch->write_len - VSOCK_HDR_SIZE, covered;
	struct iovec iov[MAX_IOV];
	ssize_t r;
	unsigned n;

	if (!credit) {
		/* Stop reading until the guest's window opens (any header
		 * from it carries fwd_cnt). Ask once per stall. */
		if (!c->credit_requested) {
			c->credit_requested = true;
			c->pending |= VSOCK_P_CREDIT_REQUEST;
		}
		return 0;
	}
	c->credit_requested = false;
	if (room > credit)
		room = credit;
	if (room > VSOCK_MAX_PKT)
		room = VSOCK_MAX_PKT;
	if (!room)
		return 0;
	n = vq_chain_iov(ch, true, VSOCK_HDR_SIZE, room, iov, MAX_IOV, &covered);
	r = v->ops->recv(v->ctx, c->fd, iov, (int)n, 0);
	if (r > 0) {
		c->tx_cnt += (uint32_t)r;
		*written = put_hdr(v, c, ch, VSOCK_OP_RW, 0, (uint32_t)r);
		return 1;
	}
	if (r == 0) {
		/* The host sent its last byte: after the data already
		 * delivered, tell the guest. */
		c->host_eof = true;
		c->pending |= VSOCK_P_SHUTDOWN;
		c->shutdown_flags |= VSOCK_SHUTDOWN_SEND;
	} else if (r == -EAGAIN || r == -EWOULDBLOCK || r == -EINTR) {
		c->readable = r == -EINTR;
	} else {
		conn_rst(v, c);
	}
	return 0;
}

/* The next packet c owes the guest, if any. May free c. */
static int conn_fill(struct vsock *v, struct vsock_conn *c, const struct vq_chain *ch,
		     uint32_t *written)
{
	if (c->state == VSOCK_LINE)
		return 0;
	if (can_read(c) && !(c->pending & (VSOCK_P_REQUEST | VSOCK_P_RESPONSE)) &&
	    fill_data(v, c, ch, written))
		return 1;
	if (c->pending & VSOCK_P_RST) {
		*written = put_hdr(v, c, ch, VSOCK_OP_RST, 0, 0);
		conn_free(v, c);
		return 1;
	}
	if (c->pending & VSOCK_P_REQUEST) {
		c->pending &= ~VSOCK_P_REQUEST;
		*written = put_hdr(v, c, ch, VSOCK_OP_REQUEST, 0, 0);
		return 1;
	}
	if (c->pending & VSOCK_P_RESPONSE) {
		c->pending &= ~VSOCK_P_RESPONSE;
		*written = put_hdr(v, c, ch, VSOCK_OP_RESPONSE, 0, 0);
		return 1;
	}
	if (c->pending & VSOCK_P_CREDIT_UPDATE) {
		*written = put_hdr(v, c, ch, VSOCK_OP_CREDIT_UPDATE, 0, 0);
		return 1;
	}
	if (c->pending & VSOCK_P_CREDIT_REQUEST) {
		c->pending &= ~VSOCK_P_CREDIT_REQUEST;
		*written = put_hdr(v, c, ch, VSOCK_OP_CREDIT_REQUEST, 0, 0);
		return 1;
	}
	if (c->pending & VSOCK_P_SHUTDOWN) {
		c->pending &= ~VSOCK_P_SHUTDOWN;
		*written = put_hdr(v, c, ch, VSOCK_OP_SHUTDOWN, c->shutdown_flags, 0);
		return 1;
	}
	return 0;
}

int vsock_fill_rx(struct vsock *v, const struct vq_chain *ch, uint32_t *written)
{
	if (ch->write_len < VSOCK_HDR_SIZE)
		return ember_seterr(-EINVAL, "rx chain %u of %llu bytes cannot hold a header",
				    ch->head, (unsigned long long)ch->write_len);
	if (v->norphan) {
		uint8_t raw[VSOCK_HDR_SIZE];

		vsock_hdr_put(raw, &v->orphan_rst[0]);
		vq_chain_write(ch, 0, raw, sizeof(raw));
		memmove(v->orphan_rst, v->orphan_rst + 1, --v->norphan * sizeof(v->orphan_rst[0]));
		*written = VSOCK_HDR_SIZE;
		return 1;
	}
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		unsigned idx = (v->next + i) % VSOCK_MAX_CONNS;
		struct vsock_conn *c = v->conns[idx];

		if (c && conn_fill(v, c, ch, written)) {
			/* Round robin: the next buffer goes to the next
			 * connection, so one busy stream cannot starve others. */
			v->next = idx + 1;
			return 1;
		}
	}
	return 0;
}
