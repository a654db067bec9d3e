// SPDX-License-Identifier: MIT
/*
 * virtio-vsock: the packet/connection state machine over fake host sockets
 * and hand-made chains (no threads, no KVM), then the whole device over a
 * fake guest memory with real AF_UNIX sockets, driven by hand.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dev/virtio_vsock.h"
#include "dev/vsock_conn.h"
#include "harness.h"
#include "util.h"

#define CID 3

/* --- fake host sockets ---------------------------------------------------- */

#define NFAKE	 4
#define FAKE_FD0 100

static struct fake {
	bool open, watched;
	unsigned shut; /* 1 << SHUT_RD | 1 << SHUT_WR */
	uint8_t in[65536];
	size_t in_len, in_off;
	bool in_eof;
	int in_err;
	uint8_t out[320 * 1024];
	size_t out_len, out_cap;
} fk[NFAKE];
static int connect_result; /* >= 0: index of the fake to hand out; else -errno */
static uint32_t connected_port;

static struct fake *fake_of(int fd)
{
	return fd >= FAKE_FD0 && fd < FAKE_FD0 + NFAKE ? &fk[fd - FAKE_FD0] : NULL;
}

static int fake_open(int i)
{
	memset(&fk[i], 0, sizeof(fk[i]));
	fk[i].open = true;
	fk[i].out_cap = sizeof(fk[i].out);
	return FAKE_FD0 + i;
}

static int f_connect(void *ctx, uint32_t port)
{
	(void)ctx;
	connected_port = port;
	return connect_result < 0 ? connect_result : fake_open(connect_result);
}

static int f_watch(void *ctx, struct vsock_conn *c)
{
	(void)ctx;
	fake_of(c->fd)->watched = true;
	return 0;
}

static void f_unwatch(void *ctx, struct vsock_conn *c)
{
	(void)ctx;
	fake_of(c->fd)->watched = false;
}

static ssize_t f_recv(void *ctx, int fd, const struct iovec *iov, int n, int flags)
{
	struct fake *f = fake_of(fd);
	size_t off = f->in_off, done = 0;

	(void)ctx;
	CHECK(f->open);
	if (f->in_err)
		return f->in_err;
	if (off == f->in_len)
		return f->in_eof ? 0 : -EAGAIN;
	for (int i = 0; i < n && off < f->in_len; i++) {
		size_t k = iov[i].iov_len < f->in_len - off ? iov[i].iov_len : f->in_len - off;

		memcpy(iov[i].iov_base, f->in + off, k);
		off += k;
		done += k;
	}
	if (!(flags & MSG_PEEK))
		f->in_off = off;
	return (ssize_t)done;
}

static ssize_t f_send(void *ctx, int fd, const struct iovec *iov, int n)
{
	struct fake *f = fake_of(fd);
	size_t done = 0;

	(void)ctx;
	CHECK(f->open);
	if (f->shut & (1u << SHUT_WR))
		return -EPIPE;
	for (int i = 0; i < n && f->out_len < f->out_cap; i++) {
		size_t room = f->out_cap - f->out_len;
		size_t k = iov[i].iov_len < room ? iov[i].iov_len : room;

		memcpy(f->out + f->out_len, iov[i].iov_base, k);
		f->out_len += k;
		done += k;
	}
	return done ? (ssize_t)done : -EAGAIN;
}

static void f_shutdown(void *ctx, int fd, int how)
{
	(void)ctx;
	fake_of(fd)->shut |= 1u << how;
}

static void f_close(void *ctx, int fd)
{
	struct fake *f = fake_of(fd);

	(void)ctx;
	CHECK(f->open);
	CHECK(!f->watched);
	f->open = false;
}

static const struct vsock_host_ops fops = {
	.connect = f_connect,
	.watch = f_watch,
	.unwatch = f_unwatch,
	.recv = f_recv,
	.send = f_send,
	.shutdown = f_shutdown,
	.close = f_close,
};

/* --- hand-made chains ----------------------------------------------------- */

static struct vsock vs;
static struct vq_chain ch;
static uint8_t txhdr[VSOCK_HDR_SIZE], txdata[VSOCK_BUF_ALLOC + 4096];
static uint8_t rxhdr[VSOCK_HDR_SIZE], rxdata[4096];

static void setup(void)
{
	memset(fk, 0, sizeof(fk));
	connect_result = 0;
	vsock_init(&vs, CID, &fops, NULL);
}

/* A guest packet from (CID, gport) to (2, hport). */
static struct vsock_hdr gh(uint16_t op, uint32_t gport, uint32_t hport)
{
	return (struct vsock_hdr){ .src_cid = CID,
				   .dst_cid = VSOCK_CID_HOST,
				   .src_port = gport,
				   .dst_port = hport,
				   .type = VSOCK_TYPE_STREAM,
				   .op = op,
				   .buf_alloc = 256 * 1024 };
}

/* Send h (+ payload of h.len bytes from txdata) as a tx chain whose
 * payload buffer holds `cap` bytes. */
static int tx_cap(struct vsock_hdr h, uint32_t cap)
{
	vsock_hdr_put(txhdr, &h);
	ch = (struct vq_chain){ .head = 1 };
	vq_chain_add(&ch, txhdr, VSOCK_HDR_SIZE, false);
	vq_chain_add(&ch, txdata, cap, false);
	return vsock_guest_pkt(&vs, &ch);
}

static int tx(struct vsock_hdr h)
{
	return tx_cap(h, h.len);
}

/* Offer one Linux-style rx buffer (44-byte header + 4 KiB of data). */
static int rx(struct vsock_hdr *h, uint32_t *written)
{
	int r;

	memset(rxhdr, 0, sizeof(rxhdr));
	ch = (struct vq_chain){ .head = 2 };
	vq_chain_add(&ch, rxhdr, VSOCK_HDR_SIZE, true);
	vq_chain_add(&ch, rxdata, sizeof(rxdata), true);
	*written = 0;
	r = vsock_fill_rx(&vs, &ch, written);
	vsock_hdr_get(rxhdr, h);
	return r;
}

/* The next packet must be `op` on (hport, gport); returns its header. */
static struct vsock_hdr expect_rx(uint16_t op, uint32_t hport, uint32_t gport)
{
	struct vsock_hdr h;
	uint32_t w;

	CHECK_EQ(rx(&h, &w), 1);
	CHECK_EQ(h.op, op);
	CHECK_EQ(h.src_cid, VSOCK_CID_HOST);
	CHECK_EQ(h.dst_cid, CID);
	CHECK_EQ(h.src_port, hport);
	CHECK_EQ(h.dst_port, gport);
	CHECK_EQ(h.type, VSOCK_TYPE_STREAM);
	CHECK_EQ(w, VSOCK_HDR_SIZE + h.len);
	return h;
}

static void expect_no_rx(void)
{
	struct vsock_hdr h;
	uint32_t w;

	CHECK(!vsock_rx_pending(&vs) || rx(&h, &w) == 0);
	CHECK_EQ(rx(&h, &w), 0);
}

/* A guest connection from guest port 5000 to host port 52 on fake 0. */
static struct vsock_conn *guest_connected(void)
{
	CHECK_EQ(tx(gh(VSOCK_OP_REQUEST, 5000, 52)), 0);
	CHECK_EQ(connected_port, 52);
	expect_rx(VSOCK_OP_RESPONSE, 52, 5000);
	return vsock_find(&vs, 52, 5000);
}

/* --- pure parsing ---------------------------------------------------------- */

TEST(header_roundtrip)
{
	struct vsock_hdr h = { 0x1122334455667788ULL, 2, 0xdeadbeef, 7, 100, 1, 5, 3, 262144, 9 };
	struct vsock_hdr g;
	uint8_t b[VSOCK_HDR_SIZE];

	vsock_hdr_put(b, &h);
	CHECK_EQ(get_le64(b), 0x1122334455667788ULL);
	CHECK_EQ(get_le32(b + 16), 0xdeadbeef);
	CHECK_EQ(get_le16(b + 30), VSOCK_OP_RW);
	CHECK_EQ(get_le32(b + 40), 9);
	vsock_hdr_get(b, &g);
	CHECK_EQ(g.src_cid, h.src_cid);
	CHECK_EQ(g.dst_cid, h.dst_cid);
	CHECK_EQ(g.src_port, h.src_port);
	CHECK_EQ(g.dst_port, h.dst_port);
	CHECK_EQ(g.len, h.len);
	CHECK_EQ(g.type, h.type);
	CHECK_EQ(g.op, h.op);
	CHECK_EQ(g.flags, h.flags);
	CHECK_EQ(g.buf_alloc, h.buf_alloc);
	CHECK_EQ(g.fwd_cnt, h.fwd_cnt);
}

TEST(connect_line)
{
	uint32_t port = 0;
	size_t used = 0;

	CHECK_EQ(vsock_parse_connect("CONNECT 52\n", 11, &port, &used), 1);
	CHECK_EQ(port, 52);
	CHECK_EQ(used, 11);
	CHECK_EQ(vsock_parse_connect("CONNECT 4294967295\nDATA", 23, &port, &used), 1);
	CHECK_EQ(port, 4294967295u);
	CHECK_EQ(used, 19);
	/* Valid prefixes wait for more. */
	CHECK_EQ(vsock_parse_connect("", 0, &port, &used), 0);
	CHECK_EQ(vsock_parse_connect("CONN", 4, &port, &used), 0);
	CHECK_EQ(vsock_parse_connect("CONNECT ", 8, &port, &used), 0);
	CHECK_EQ(vsock_parse_connect("CONNECT 12", 10, &port, &used), 0);
	/* Garbage is refused as soon as it shows. */
	CHECK_EQ(vsock_parse_connect("GET / HTTP/1.0\r\n", 16, &port, &used), -EINVAL);
	CHECK_EQ(vsock_parse_connect("connect 52\n", 11, &port, &used), -EINVAL);
	CHECK_EQ(vsock_parse_connect("CONNECT\n", 8, &port, &used), -EINVAL);
	CHECK_EQ(vsock_parse_connect("CONNECT \n", 9, &port, &used), -EINVAL);
	CHECK_EQ(vsock_parse_connect("CONNECT 52\r\n", 12, &port, &used), -EINVAL);
	CHECK_EQ(vsock_parse_connect("CONNECT -1\n", 11, &port, &used), -EINVAL);
	CHECK_EQ(vsock_parse_connect("CONNECT  52\n", 12, &port, &used), -EINVAL);
	CHECK_EQ(vsock_parse_connect("CONNECT 4294967296\n", 19, &port, &used), -EINVAL);
	CHECK_EQ(vsock_parse_connect("CONNECT 00000000001", 19, &port, &used), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "above 4294967295");
	CHECK_EQ(vsock_parse_connect("CONNECT 5\0\n", 11, &port, &used), -EINVAL);
	/* Never more than VSOCK_CONNECT_MAX bytes without a verdict. */
	CHECK_EQ(vsock_parse_connect("CONNECT 0000000000", 18, &port, &used), 0);
	CHECK_EQ(vsock_parse_connect("CONNECT 00000000000", 19, &port, &used), -EINVAL);
}

/* --- guest-initiated connections ------------------------------------------ */

TEST(guest_connect_ok_and_refused)
{
	struct vsock_conn *c;

	setup();
	c = guest_connected();
	CHECK(c != NULL);
	CHECK(fk[0].watched);
	expect_no_rx();
	/* Nobody listening on PATH_53: RST from the address the guest asked. */
	connect_result = -ECONNREFUSED;
	CHECK_EQ(tx(gh(VSOCK_OP_REQUEST, 5001, 53)), 0);
	expect_rx(VSOCK_OP_RST, 53, 5001);
	CHECK(vsock_find(&vs, 53, 5001) == NULL);
	/* The same port pair again while connected: refused, connection reset. */
	CHECK_EQ(tx(gh(VSOCK_OP_REQUEST, 5000, 52)), 0);
	expect_rx(VSOCK_OP_RST, 52, 5000);
	CHECK(!fk[0].open);
	CHECK(vsock_find(&vs, 52, 5000) == NULL);
	vsock_reset(&vs);
}

TEST(guest_rst_closes)
{
	setup();
	guest_connected();
	CHECK_EQ(tx(gh(VSOCK_OP_RST, 5000, 52)), 0);
	CHECK(!fk[0].open);
	CHECK(vsock_find(&vs, 52, 5000) == NULL);
	expect_no_rx(); /* never answer RST */
	/* RST or data for nothing: RST only for the latter. */
	CHECK_EQ(tx(gh(VSOCK_OP_RST, 1, 2)), 0);
	expect_no_rx();
	CHECK_EQ(tx(gh(VSOCK_OP_CREDIT_UPDATE, 1, 2)), 0);
	expect_rx(VSOCK_OP_RST, 2, 1);
}

/* --- host-initiated connections ------------------------------------------- */

static int host_client(const char *sent)
{
	int fd = fake_open(1);

	fk[1].in_len = strlen(sent);
	memcpy(fk[1].in, sent, fk[1].in_len);
	return fd;
}

TEST(host_connect_handshake)
{
	struct vsock_hdr h;

	setup();
	CHECK_EQ(vsock_accepted(&vs, host_client("CONNECT 52\nhello")), 0);
	CHECK(fk[1].watched);
	CHECK_EQ(fk[1].in_off, 11); /* the line only: "hello" stays stream data */
	expect_rx(VSOCK_OP_REQUEST, 1024, 52);
	expect_no_rx(); /* no data before the guest accepts */
	/* A response on a port pair we did not ask: RST. */
	CHECK_EQ(tx(gh(VSOCK_OP_RESPONSE, 52, 1025)), 0);
	expect_rx(VSOCK_OP_RST, 1025, 52);
	CHECK_EQ(tx(gh(VSOCK_OP_RESPONSE, 52, 1024)), 0);
	CHECK_EQ(fk[1].out_len, 8);
	CHECK(memcmp(fk[1].out, "OK 1024\n", 8) == 0);
	h = expect_rx(VSOCK_OP_RW, 1024, 52);
	CHECK_EQ(h.len, 5);
	CHECK(memcmp(rxdata, "hello", 5) == 0);
	CHECK_EQ(h.buf_alloc, VSOCK_BUF_ALLOC);
	/* The next host connection gets the next port. */
	fake_open(2);
	memcpy(fk[2].in, "CONNECT 53\n", 11);
	fk[2].in_len = 11;
	CHECK_EQ(vsock_accepted(&vs, FAKE_FD0 + 2), 0);
	expect_rx(VSOCK_OP_REQUEST, 1025, 53);
	vsock_reset(&vs);
	CHECK(!fk[1].open);
}

TEST(host_connect_refused_by_guest)
{
	setup();
	CHECK_EQ(vsock_accepted(&vs, host_client("CONNECT 99\n")), 0);
	expect_rx(VSOCK_OP_REQUEST, 1024, 99);
	CHECK_EQ(tx(gh(VSOCK_OP_RST, 99, 1024)), 0);
	CHECK(!fk[1].open); /* the host client sees the socket close, no OK */
	CHECK_EQ(fk[1].out_len, 0);
}

TEST(host_connect_line_partial_and_garbage)
{
	setup();
	CHECK_EQ(vsock_accepted(&vs, host_client("CONNECT 5")), 0);
	CHECK(!vsock_rx_pending(&vs));
	CHECK_EQ(fk[1].in_off, 9);
	memcpy(fk[1].in + fk[1].in_len, "2\n", 2);
	fk[1].in_len += 2;
	vsock_sock_event(&vs, vs.conns[0], true, false);
	expect_rx(VSOCK_OP_REQUEST, 1024, 52);
	vsock_reset(&vs);

	setup();
	CHECK_EQ(vsock_accepted(&vs, host_client("HELLO\n")), 0);
	CHECK(!fk[1].open);
	CHECK(vs.conns[0] == NULL);
	setup();
	CHECK_EQ(vsock_accepted(&vs, host_client("CONNECT 123456789012345678901234567890")), 0);
	CHECK(!fk[1].open);
	setup();
	CHECK_EQ(vsock_accepted(&vs, host_client("CONN")), 0);
	fk[1].in_eof = true; /* hangs up mid-line */
	vsock_sock_event(&vs, vs.conns[0], true, false);
	CHECK(!fk[1].open);
	expect_no_rx();
}

TEST(host_ports_unique)
{
	setup();
	vs.next_port = 0xffffffff;
	CHECK_EQ(vsock_accepted(&vs, host_client("CONNECT 1\n")), 0);
	CHECK_EQ(vs.conns[0]->host_port, 0xffffffff);
	CHECK_EQ(vs.next_port, VSOCK_HOST_PORT_MIN);  /* wraps past 0..1023 */
	vs.conns[0]->host_port = VSOCK_HOST_PORT_MIN; /* pretend it is taken */
	fake_open(2);
	fk[2].in_len = 11;
	memcpy(fk[2].in, "CONNECT 1\n", 11);
	CHECK_EQ(vsock_accepted(&vs, FAKE_FD0 + 2), 0);
	CHECK_EQ(vs.conns[1]->host_port, VSOCK_HOST_PORT_MIN + 1);
	vsock_reset(&vs);
}

/* --- credit and flow control ---------------------------------------------- */

TEST(host_to_guest_respects_credit)
{
	struct vsock_conn *c;
	struct vsock_hdr h, g;
	uint32_t w;

	setup();
	g = gh(VSOCK_OP_REQUEST, 5000, 52);
	g.buf_alloc = 10000;
	CHECK_EQ(tx(g), 0);
	expect_rx(VSOCK_OP_RESPONSE, 52, 5000);
	c = vsock_find(&vs, 52, 5000);
	for (unsigned i = 0; i < 30000; i++)
		fk[0].in[i] = (uint8_t)(i * 7);
	fk[0].in_len = 30000;
	CHECK_EQ(expect_rx(VSOCK_OP_RW, 52, 5000).len, 4096);
	CHECK_EQ(expect_rx(VSOCK_OP_RW, 52, 5000).len, 4096);
	h = expect_rx(VSOCK_OP_RW, 52, 5000);
	CHECK_EQ(h.len, 10000 - 8192);
	CHECK_EQ(rxdata[0], (uint8_t)(8192 * 7));
	CHECK_EQ(vsock_peer_credit(c), 0);
	/* Out of credit: one CREDIT_REQUEST, then silence (no busy loop),
	 * and the rest stays in the socket. */
	expect_rx(VSOCK_OP_CREDIT_REQUEST, 52, 5000);
	CHECK(!vsock_rx_pending(&vs));
	expect_no_rx();
	CHECK_EQ(fk[0].in_off, 10000);
	/* The guest's reply without room changes nothing... */
	g = gh(VSOCK_OP_CREDIT_UPDATE, 5000, 52);
	g.buf_alloc = 10000;
	CHECK_EQ(tx(g), 0);
	expect_no_rx();
	/* ...one with room resumes reading. */
	g.fwd_cnt = 6000;
	CHECK_EQ(tx(g), 0);
	CHECK(vsock_rx_pending(&vs));
	CHECK_EQ(expect_rx(VSOCK_OP_RW, 52, 5000).len, 4096);
	CHECK_EQ(expect_rx(VSOCK_OP_RW, 52, 5000).len, 6000 - 4096);
	/* A window counted from a wrapped tx_cnt works the same. */
	c->tx_cnt = 5;
	c->peer_fwd_cnt = 0xfffffff0;
	CHECK_EQ(vsock_peer_credit(c), 10000 - 21);
	/* A guest claiming more consumed than sent gets no credit. */
	c->peer_fwd_cnt = 6;
	CHECK_EQ(vsock_peer_credit(c), 0);
	c->peer_fwd_cnt = c->tx_cnt;
	/* A guest with no rx buffers: the data waits in the socket. */
	CHECK_EQ(fk[0].in_off, 16000);
	CHECK(vsock_rx_pending(&vs));
	/* The host closes: after the data comes SHUTDOWN(SEND). */
	fk[0].in_eof = true;
	c->peer_buf_alloc = 1 << 20;
	while (rx(&h, &w) == 1 && h.op == VSOCK_OP_RW)
		;
	CHECK_EQ(fk[0].in_off, 30000);
	CHECK_EQ(h.op, VSOCK_OP_SHUTDOWN);
	CHECK_EQ(h.flags, VSOCK_SHUTDOWN_SEND);
	expect_no_rx();
	vsock_reset(&vs);
}

TEST(guest_to_host_buffering_and_credit_update)
{
	struct vsock_conn *c;
	struct vsock_hdr g, h;

	setup();
	c = guest_connected();
	for (unsigned i = 0; i < sizeof(txdata); i++)
		txdata[i] = (uint8_t)(i * 13 + 1);
	/* The socket takes 3000 of 5000 bytes: the rest waits in the ring,
	 * and only the forwarded bytes count in fwd_cnt. */
	fk[0].out_cap = 3000;
	g = gh(VSOCK_OP_RW, 5000, 52);
	g.len = 5000;
	CHECK_EQ(tx(g), 0);
	CHECK_EQ(fk[0].out_len, 3000);
	CHECK_EQ(c->ring_len, 2000);
	CHECK_EQ(c->fwd_cnt, 3000);
	CHECK(!c->writable);
	expect_no_rx(); /* the guest still sees plenty of window */
	/* More data queues behind, in order. */
	memmove(txdata, txdata + 5000, 5000);
	CHECK_EQ(tx(g), 0);
	CHECK_EQ(c->ring_len, 7000);
	fk[0].out_cap = sizeof(fk[0].out);
	vsock_sock_event(&vs, c, false, true);
	CHECK_EQ(fk[0].out_len, 10000);
	CHECK_EQ(c->fwd_cnt, 10000);
	for (unsigned i = 0; i < 10000; i++)
		if (fk[0].out[i] != (uint8_t)(i * 13 + 1)) {
			CHECK_EQ(i, -1);
			break;
		}
	/* Beyond the window we advertised: RST. */
	g.len = VSOCK_BUF_ALLOC;
	fk[0].out_cap = fk[0].out_len; /* socket full */
	c->writable = true;
	CHECK_EQ(tx(g), 0);
	CHECK_EQ(c->ring_len, VSOCK_BUF_ALLOC);
	CHECK(!vsock_rx_pending(&vs) || (c->pending & ~VSOCK_P_CREDIT_UPDATE) == 0);
	g.len = 1;
	CHECK_EQ(tx(g), 0);
	CHECK(!fk[0].open);
	h = expect_rx(VSOCK_OP_RST, 52, 5000);
	(void)h;
	CHECK(vsock_find(&vs, 52, 5000) == NULL);
}

TEST(credit_update_when_guest_window_low)
{
	struct vsock_conn *c;
	struct vsock_hdr g, h;
	uint32_t total = 0;

	setup();
	c = guest_connected();
	g = gh(VSOCK_OP_RW, 5000, 52);
	g.len = 60000;
	/* The socket takes everything; once the guest's view of our window
	 * falls below VSOCK_CREDIT_LOW, we tell it fwd_cnt. */
	while (total + g.len <= VSOCK_BUF_ALLOC - VSOCK_CREDIT_LOW) {
		CHECK_EQ(tx(g), 0);
		total += g.len;
	}
	expect_no_rx();
	CHECK_EQ(tx(g), 0);
	total += g.len;
	h = expect_rx(VSOCK_OP_CREDIT_UPDATE, 52, 5000);
	CHECK_EQ(h.fwd_cnt, total);
	CHECK_EQ(h.buf_alloc, VSOCK_BUF_ALLOC);
	CHECK_EQ(c->last_fwd_sent, total);
	expect_no_rx();
	/* CREDIT_REQUEST is always answered. */
	CHECK_EQ(tx(gh(VSOCK_OP_CREDIT_REQUEST, 5000, 52)), 0);
	CHECK_EQ(expect_rx(VSOCK_OP_CREDIT_UPDATE, 52, 5000).fwd_cnt, total);
	expect_no_rx();
	vsock_reset(&vs);
}

/* --- shutdown -------------------------------------------------------------- */

TEST(shutdown_half_and_full)
{
	struct vsock_conn *c;
	struct vsock_hdr g;

	setup();
	c = guest_connected();
	/* SEND with data still queued: SHUT_WR only after it is flushed. */
	fk[0].out_cap = 10;
	g = gh(VSOCK_OP_RW, 5000, 52);
	g.len = 100;
	CHECK_EQ(tx(g), 0);
	g = gh(VSOCK_OP_SHUTDOWN, 5000, 52);
	g.flags = VSOCK_SHUTDOWN_SEND;
	CHECK_EQ(tx(g), 0);
	CHECK_EQ(fk[0].shut, 0);
	fk[0].out_cap = sizeof(fk[0].out);
	vsock_sock_event(&vs, c, false, true);
	CHECK_EQ(fk[0].out_len, 100);
	CHECK_EQ(fk[0].shut, 1u << SHUT_WR);
	/* Data after SHUTDOWN(SEND) is a protocol error. */
	g = gh(VSOCK_OP_RW, 5000, 52);
	g.len = 1;
	CHECK_EQ(tx(g), 0);
	expect_rx(VSOCK_OP_RST, 52, 5000);
	CHECK(!fk[0].open);

	/* Both ways (Linux's close()): answered with RST, socket closed. */
	setup();
	guest_connected();
	g = gh(VSOCK_OP_SHUTDOWN, 5000, 52);
	g.flags = VSOCK_SHUTDOWN_SEND | VSOCK_SHUTDOWN_RCV;
	CHECK_EQ(tx(g), 0);
	CHECK(!fk[0].open);
	expect_rx(VSOCK_OP_RST, 52, 5000);
	CHECK(vsock_find(&vs, 52, 5000) == NULL);
	expect_no_rx();

	/* RCV: the host socket is shut for reading and no longer read. */
	setup();
	c = guest_connected();
	g.flags = VSOCK_SHUTDOWN_RCV;
	CHECK_EQ(tx(g), 0);
	CHECK_EQ(fk[0].shut, 1u << SHUT_RD);
	fk[0].in_len = 10;
	expect_no_rx();
	CHECK_EQ(fk[0].in_off, 0);
	vsock_reset(&vs);
	CHECK(!fk[0].open);
}

TEST(host_peer_gone)
{
	struct vsock_conn *c;
	struct vsock_hdr g;

	setup();
	c = guest_connected();
	(void)c;
	fk[0].shut = 1u << SHUT_WR; /* sends now fail with EPIPE */
	g = gh(VSOCK_OP_RW, 5000, 52);
	g.len = 10;
	CHECK_EQ(tx(g), 0);
	expect_rx(VSOCK_OP_RST, 52, 5000);
	CHECK(!fk[0].open);

	setup();
	guest_connected();
	fk[0].in_err = -ECONNRESET;
	expect_rx(VSOCK_OP_RST, 52, 5000);
	CHECK(!fk[0].open);
}

/* --- hostile headers ------------------------------------------------------- */

TEST(malformed_headers)
{
	struct vsock_hdr g, h;

	setup();
	/* No room for a header: the driver is broken (needs reset). */
	ch = (struct vq_chain){ .head = 4 };
	vq_chain_add(&ch, txhdr, 43, false);
	CHECK_EQ(vsock_guest_pkt(&vs, &ch), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "cannot hold a header");
	/* An rx buffer too small for a header, likewise. */
	connect_result = -ECONNREFUSED;
	CHECK_EQ(tx(gh(VSOCK_OP_REQUEST, 1, 2)), 0);
	ch = (struct vq_chain){ .head = 4 };
	vq_chain_add(&ch, rxhdr, 40, true);
	uint32_t w;
	CHECK_EQ(vsock_fill_rx(&vs, &ch, &w), -EINVAL);
	expect_rx(VSOCK_OP_RST, 2, 1);

	/* Another CID as source: dropped without a word. */
	g = gh(VSOCK_OP_REQUEST, 1, 2);
	g.src_cid = 4;
	CHECK_EQ(tx(g), 0);
	CHECK_EQ(vs.dropped, 1);
	expect_no_rx();
	/* Not for the host: RST from the CID it was sent to. */
	g = gh(VSOCK_OP_REQUEST, 1, 2);
	g.dst_cid = 7;
	connect_result = 0;
	CHECK_EQ(tx(g), 0);
	CHECK(!fk[0].open);
	CHECK_EQ(rx(&h, &w), 1);
	CHECK_EQ(h.op, VSOCK_OP_RST);
	CHECK_EQ(h.src_cid, 7);
	CHECK_EQ(h.dst_port, 1);
	/* Seqpacket, unknown op, op 0: RST. */
	g = gh(VSOCK_OP_REQUEST, 1, 2);
	g.type = 2;
	CHECK_EQ(tx(g), 0);
	CHECK_EQ(rx(&h, &w), 1);
	CHECK_EQ(h.op, VSOCK_OP_RST);
	CHECK_EQ(h.type, 2);
	CHECK_EQ(tx(gh(8, 1, 2)), 0);
	expect_rx(VSOCK_OP_RST, 2, 1);
	CHECK_EQ(tx(gh(VSOCK_OP_INVALID, 1, 2)), 0);
	expect_rx(VSOCK_OP_RST, 2, 1);
	CHECK(!fk[0].open);

	/* len larger than the buffer that carries it: the connection is reset. */
	guest_connected();
	g = gh(VSOCK_OP_RW, 5000, 52);
	g.len = 100;
	CHECK_EQ(tx_cap(g, 99), 0);
	CHECK_EQ(fk[0].out_len, 0);
	expect_rx(VSOCK_OP_RST, 52, 5000);
	CHECK(!fk[0].open);
	/* len over any window, even with the bytes present. */
	guest_connected();
	g.len = VSOCK_BUF_ALLOC + 1;
	CHECK_EQ(tx(g), 0);
	expect_rx(VSOCK_OP_RST, 52, 5000);
	/* A flood of RSTs owed with no rx buffers is bounded. */
	connect_result = -ECONNREFUSED;
	for (unsigned i = 0; i < 2 * VSOCK_MAX_ORPHAN_RST; i++)
		CHECK_EQ(tx(gh(VSOCK_OP_REQUEST, 10 + i, 2)), 0);
	CHECK_EQ(vs.norphan, VSOCK_MAX_ORPHAN_RST);
	for (unsigned i = 0; i < VSOCK_MAX_ORPHAN_RST; i++)
		expect_rx(VSOCK_OP_RST, 2, 10 + i);
	expect_no_rx();
	vsock_reset(&vs);
}

TEST(connection_table_full)
{
	setup();
	for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
		vs.conns[i] = calloc(1, sizeof(struct vsock_conn));
		vs.conns[i]->fd = -1;
		vs.conns[i]->state = VSOCK_CONNECTED;
		vs.conns[i]->host_port = i;
	}
	CHECK_EQ(vsock_accepted(&vs, fake_open(1)), -ENOSPC);
	CHECK(!fk[1].open);
	CHECK_EQ(tx(gh(VSOCK_OP_REQUEST, 1, 2)), 0);
	expect_rx(VSOCK_OP_RST, 2, 1);
	vsock_reset(&vs);
}

/* --- the whole device: fake guest memory, real AF_UNIX sockets ------------ */

#define QSZ	 16
#define RAM	 (1 << 20)
#define QBASE(q) (0x10000 + (q)*0x1000)
#define RXB(i)	 (0x40000 + (i)*0x2000)
#define TXH	 0x80000
#define TXD	 0x80100
#define RX_SLOTS 8

static uint8_t *ram;
static struct guest_mem gm;
static struct virtio_dev dev;
static struct virtio_worker wk;
static struct virtio_vsock vv;
static char upath[96];
static uint16_t rx_avail, rx_seen, tx_avail;

static void mw(uint64_t off, uint32_t v)
{
	uint8_t b[4];

	put_le32(b, v);
	virtio_mmio_bus_ops.write(&dev, off, b, 4);
}

static uint32_t mr(uint64_t off)
{
	uint8_t b[4];

	virtio_mmio_bus_ops.read(&dev, off, b, 4);
	return get_le32(b);
}

static void wdesc(unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		  uint16_t next)
{
	uint8_t *p = ram + QBASE(q) + 16 * i;

	put_le64(p, addr);
	put_le32(p + 8, len);
	put_le16(p + 12, flags);
	put_le16(p + 14, next);
}

static void offer(unsigned q, uint16_t *idx, uint16_t head)
{
	uint8_t *avail = ram + QBASE(q) + 0x400;

	put_le16(avail + 4 + 2 * (*idx % QSZ), head);
	put_le16(avail + 2, ++*idx);
}

static void dev_setup(void)
{
	ram = calloc(1, RAM);
	guest_mem_init_buf(&gm, ram, RAM);
	snprintf(upath, sizeof(upath), "/tmp/ember-vsock-test-%d", (int)getpid());
	unlink(upath);
	rx_avail = rx_seen = tx_avail = 0;
	virtio_init(&dev, &virtio_vsock_ops, &vv, &gm);
	CHECK_EQ(worker_init(&wk, &dev), 0);
	CHECK_EQ(virtio_vsock_open(&vv, CID, upath, &dev, &wk), 0);
	CHECK_EQ(get_le64(vv.config), CID);
	mw(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	mw(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mw(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mw(VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	mw(VIRTIO_MMIO_STATUS, mr(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < 3; q++) {
		mw(VIRTIO_MMIO_QUEUE_SEL, q);
		mw(VIRTIO_MMIO_QUEUE_NUM, QSZ);
		mw(VIRTIO_MMIO_QUEUE_DESC_LOW, QBASE(q));
		mw(VIRTIO_MMIO_QUEUE_AVAIL_LOW, QBASE(q) + 0x400);
		mw(VIRTIO_MMIO_QUEUE_USED_LOW, QBASE(q) + 0x800);
		mw(VIRTIO_MMIO_QUEUE_READY, 1);
	}
	mw(VIRTIO_MMIO_STATUS, mr(VIRTIO_MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	CHECK(virtio_queue(&dev, VIRTIO_VSOCK_RXQ) != NULL);
	CHECK(vv.listening);
}

static void dev_teardown(void)
{
	struct stat st;

	virtio_vsock_close(&vv);
	CHECK(stat(upath, &st) < 0); /* the socket file is removed */
	worker_destroy(&wk);
	virtio_destroy(&dev);
	free(ram);
}

/* Do what the worker thread would: dispatch every ready fd, a few rounds. */
static void run_worker(void)
{
	for (unsigned round = 0; round < 4; round++)
		for (unsigned i = 0; i < WORKER_MAX_FDS; i++) {
			struct worker_fd f = wk.fds[i];
			struct pollfd p = { .fd = f.fd, .events = POLLIN | POLLOUT };

			if (f.fd >= 0 && poll(&p, 1, 0) == 1)
				f.cb(f.ctx, f.fd, (uint32_t)p.revents);
		}
}

/* Linux 6.1's rx buffers: a 44-byte header descriptor, then 4 KiB. */
static void rx_offer(unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		unsigned i = rx_avail % RX_SLOTS;

		wdesc(0, 2 * i, RXB(i), VSOCK_HDR_SIZE, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE,
		      (uint16_t)(2 * i + 1));
		wdesc(0, 2 * i + 1, RXB(i) + 0x100, 4096, VIRTQ_DESC_F_WRITE, 0);
		offer(0, &rx_avail, (uint16_t)(2 * i));
	}
	virtio_vsock_ops.notify(&dev, VIRTIO_VSOCK_RXQ);
}

/* The next used rx buffer: 1 with its header and data, or 0. */
static int rx_take(struct vsock_hdr *h, uint8_t *data)
{
	uint8_t *used = ram + QBASE(0) + 0x800;
	uint32_t id, len;

	if (get_le16(used + 2) == rx_seen)
		return 0;
	id = get_le32(used + 4 + 8 * (rx_seen % QSZ));
	len = get_le32(used + 8 + 8 * (rx_seen % QSZ));
	rx_seen++;
	vsock_hdr_get(ram + RXB(id / 2), h);
	CHECK_EQ(len, VSOCK_HDR_SIZE + h->len);
	if (data)
		memcpy(data, ram + RXB(id / 2) + 0x100, h->len);
	return 1;
}

static void tx_send(struct vsock_hdr h, const void *data)
{
	vsock_hdr_put(ram + TXH, &h);
	wdesc(1, 0, TXH, VSOCK_HDR_SIZE, h.len ? VIRTQ_DESC_F_NEXT : 0, 1);
	if (h.len) {
		memcpy(ram + TXD, data, h.len);
		wdesc(1, 1, TXD, h.len, 0, 0);
	}
	offer(1, &tx_avail, 0);
	virtio_vsock_ops.notify(&dev, VIRTIO_VSOCK_TXQ);
	CHECK_EQ(get_le16(ram + QBASE(1) + 0x800 + 2), tx_avail); /* consumed */
}

static ssize_t read_all(int fd, char *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < len && poll(&p, 1, 1000) == 1) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int unix_socket(const char *path, bool listening)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (listening) {
		unlink(path);
		CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
		CHECK_EQ(listen(fd, 4), 0);
	} else {
		CHECK_EQ(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	}
	return fd;
}

TEST(device_host_initiated)
{
	struct vsock_hdr h, g;
	uint8_t data[4096];
	char buf[64];
	int cl;

	dev_setup();
	rx_offer(RX_SLOTS);
	cl = unix_socket(upath, false);
	CHECK_EQ(write(cl, "CONNECT 52\nping", 15), 15);
	run_worker();
	CHECK_EQ(rx_take(&h, NULL), 1);
	CHECK_EQ(h.op, VSOCK_OP_REQUEST);
	CHECK_EQ(h.dst_cid, CID);
	CHECK_EQ(h.dst_port, 52);
	CHECK_EQ(h.src_port, 1024);
	g = gh(VSOCK_OP_RESPONSE, 52, 1024);
	tx_send(g, NULL);
	CHECK_EQ(read_all(cl, buf, 8), 8);
	CHECK(memcmp(buf, "OK 1024\n", 8) == 0);
	CHECK_EQ(rx_take(&h, data), 1);
	CHECK_EQ(h.op, VSOCK_OP_RW);
	CHECK_EQ(h.len, 4);
	CHECK(memcmp(data, "ping", 4) == 0);
	g = gh(VSOCK_OP_RW, 52, 1024);
	g.len = 4;
	tx_send(g, "pong");
	CHECK_EQ(read_all(cl, buf, 4), 4);
	CHECK(memcmp(buf, "pong", 4) == 0);
	/* The host client hangs up: SHUTDOWN(SEND) to the guest. */
	close(cl);
	rx_offer(2);
	run_worker();
	CHECK_EQ(rx_take(&h, NULL), 1);
	CHECK_EQ(h.op, VSOCK_OP_SHUTDOWN);
	CHECK_EQ(h.flags, VSOCK_SHUTDOWN_SEND);
	g = gh(VSOCK_OP_SHUTDOWN, 52, 1024);
	g.flags = VSOCK_SHUTDOWN_SEND | VSOCK_SHUTDOWN_RCV;
	tx_send(g, NULL);
	CHECK_EQ(rx_take(&h, NULL), 1);
	CHECK_EQ(h.op, VSOCK_OP_RST);
	CHECK(vsock_find(&vv.vs, 1024, 52) == NULL);
	CHECK_EQ(rx_take(&h, NULL), 0);
	dev_teardown();
}

TEST(device_guest_initiated_and_reset)
{
	char path52[120], buf[16];
	struct vsock_hdr h, g;
	int srv, s, cl;

	dev_setup();
	snprintf(path52, sizeof(path52), "%s_52", upath);
	srv = unix_socket(path52, true);
	rx_offer(4);
	tx_send(gh(VSOCK_OP_REQUEST, 5000, 52), NULL);
	CHECK_EQ(rx_take(&h, NULL), 1);
	CHECK_EQ(h.op, VSOCK_OP_RESPONSE);
	s = accept(srv, NULL, NULL);
	CHECK(s >= 0);
	g = gh(VSOCK_OP_RW, 5000, 52);
	g.len = 5;
	tx_send(g, "hello");
	CHECK_EQ(read_all(s, buf, 5), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);
	/* Port 53 has no listener: RST. */
	tx_send(gh(VSOCK_OP_REQUEST, 5001, 53), NULL);
	CHECK_EQ(rx_take(&h, NULL), 1);
	CHECK_EQ(h.op, VSOCK_OP_RST);
	CHECK_EQ(h.src_port, 53);
	/* A host client waiting in the backlog, then the driver resets the
	 * device: every connection is dropped by the worker. */
	cl = unix_socket(upath, false);
	mw(VIRTIO_MMIO_STATUS, 0);
	CHECK(virtio_queue(&dev, VIRTIO_VSOCK_RXQ) == NULL);
	run_worker();
	CHECK(vsock_find(&vv.vs, 52, 5000) == NULL);
	CHECK_EQ(read_all(s, buf, 1), 0); /* EOF */
	close(s);
	close(cl);
	close(srv);
	unlink(path52);
	dev_teardown();
}

TEST(device_broken_tx_chain_needs_reset)
{
	dev_setup();
	wdesc(1, 0, TXH, 20, 0, 0); /* shorter than a header */
	offer(1, &tx_avail, 0);
	virtio_vsock_ops.notify(&dev, VIRTIO_VSOCK_TXQ);
	CHECK(mr(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK(virtio_queue(&dev, VIRTIO_VSOCK_TXQ) == NULL);
	dev_teardown();
}

TEST(listen_path_checks)
{
	char path[96];
	dev_t d;
	ino_t ino;
	int fd, other;

	snprintf(path, sizeof(path), "/tmp/ember-vsock-path-%d", (int)getpid());
	unlink(path);
	/* A regular file is never replaced. */
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	CHECK_EQ(virtio_vsock_listen(path, &d, &ino), -EEXIST);
	CHECK_STR_CONTAINS(ember_lasterr(), "exists and is not a socket");
	unlink(path);
	/* A live listener is not stolen. */
	other = unix_socket(path, true);
	CHECK_EQ(virtio_vsock_listen(path, &d, &ino), -EADDRINUSE);
	CHECK_STR_CONTAINS(ember_lasterr(), "another process is listening");
	/* Once it is gone the file is stale and gets replaced. */
	close(other);
	fd = virtio_vsock_listen(path, &d, &ino);
	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	CHECK_EQ(virtio_vsock_listen("/nonexistent-dir/v.sock", &d, &ino), -ENOENT);
	char longp[200];

	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	memcpy(longp, "/tmp/", 5);
	CHECK_EQ(virtio_vsock_listen(longp, &d, &ino), -ENAMETOOLONG);
}

SUITE(virtio_vsock, T(header_roundtrip), T(connect_line), T(guest_connect_ok_and_refused),
      T(guest_rst_closes), T(host_connect_handshake), T(host_connect_refused_by_guest),
      T(host_connect_line_partial_and_garbage), T(host_ports_unique),
      T(host_to_guest_respects_credit), T(guest_to_host_buffering_and_credit_update),
      T(credit_update_when_guest_window_low), T(shutdown_half_and_full), T(host_peer_gone),
      T(malformed_headers), T(connection_table_full), T(device_host_initiated),
      T(device_guest_initiated_and_reset), T(device_broken_tx_chain_needs_reset),
      T(listen_path_checks));
