// SPDX-License-Identifier: MIT
/*
 * hostileguest, part 3: virtio-console, virtio-vsock and virtio-net
 * (src/dev/virtio_console.c, virtio_vsock.c, vsock_conn.c, virtio_net.c),
 * checked by what lands in guest memory: each used entry's id and length,
 * the bytes the device wrote, and nothing else. Every queue has its own
 * test area (hostile.h), filled with a pattern that must come back
 * unchanged outside the writable bytes the device reported: a read-only
 * descriptor is never written, nor the bytes past a buffer's used length.
 *
 * What run.sh sets up around the guest:
 *   - stdin is a file holding CON_INPUT: with --console virtio it arrives
 *     on the console's receive queue, followed by one Ctrl-D (end of input);
 *   - a host program listens on the vsock socket's _5000 path (VS_PORT):
 *     it reads VS_PING and answers VS_PONG. When the guest prints
 *     "hostileguest: vsock waits for the host", it connects to the guest's
 *     port VS_HOST_PORT through ember's socket and sends VS_HOST_DATA;
 *   - a host program on the TAP's far side sends NET_RX_FRAMES frames of
 *     NET_RX_LEN bytes with ethertype NET_ETHERTYPE and a known pattern,
 *     and counts the guest's frames of that type (NET_TX_GOOD are valid).
 */
#include "hostile.h"
#include "uart.h"

#define CON_INPUT "hostile-console-input:0123456789abcdef\n"
#define CON_TX	  "hostileguest: virtio-console output arrived whole\n"

#define VS_CID		  3
#define VS_PORT		  5000 /* the run.sh peer listens on PATH_5000 */
#define VS_NOBODY	  7777 /* nobody listens on PATH_7777 */
#define VS_PING		  "ping from guest!"
#define VS_PONG		  "pong from host!!"
#define VS_HDR		  44
#define VS_REQUEST	  1
#define VS_RESPONSE	  2
#define VS_RST		  3
#define VS_SHUTDOWN	  4
#define VS_RW		  5
#define VS_CREDIT_UPDATE  6
#define VS_CREDIT_REQUEST 7
#define VS_HOST_PORT	  5001 /* the port the host program asks for */
#define VS_HOST_DATA	  "data from host!!"

#define NET_HDR		12
#define NET_ETHERTYPE	0x88b5 /* IEEE local experimental */
#define NET_RX_LEN	200    /* frame bytes, Ethernet header included */
#define NET_F_MRG_RXBUF (1u << 15)

/* The queue areas (hostile.h's layout in each). */
#define AREA_CON_RX 0x230000u
#define AREA_CON_TX 0x231000u
#define AREA_VS_RX  0x232000u
#define AREA_VS_TX  0x233000u
#define AREA_VS_EV  0x234000u
#define AREA_NET_RX 0x235000u
#define AREA_NET_TX 0x236000u

static struct dev con_rx = { .area = AREA_CON_RX, .id = ID_CONSOLE, .q = 0 };
static struct dev con_tx = { .area = AREA_CON_TX, .id = ID_CONSOLE, .q = 1 };
static struct dev vs_rx = { .area = AREA_VS_RX, .id = ID_VSOCK, .q = 0 };
static struct dev vs_tx = { .area = AREA_VS_TX, .id = ID_VSOCK, .q = 1 };
static struct dev vs_ev = { .area = AREA_VS_EV, .id = ID_VSOCK, .q = 2 };
static struct dev net_rx = { .area = AREA_NET_RX, .id = ID_NET, .q = 0 };
static struct dev net_tx = { .area = AREA_NET_TX, .id = ID_NET, .q = 1 };

/* The marks of several areas at once: area_check() refills and checks one
 * area with the global marks, so each queue keeps its own list here. */
struct qmarks {
	u32 n;
	struct {
		u32 a, len;
	} m[24];
};

static struct qmarks qm[7];

static struct qmarks *marks_of(const struct dev *d)
{
	return &qm[(d->area - AREA_CON_RX) / 0x1000];
}

static void qmark(const struct dev *d, u32 a, u32 len)
{
	struct qmarks *m = marks_of(d);

	if (m->n < ARRAY_SIZE(m->m)) {
		m->m[m->n].a = a;
		m->m[m->n].len = len;
		m->n++;
	}
}

static void qbegin(struct dev *d)
{
	area_begin(d);
	marks_of(d)->n = 0;
}

static int qcheck(const struct dev *d)
{
	const struct qmarks *m = marks_of(d);

	marks_clear();
	for (u32 i = 0; i < m->n; i++)
		mark(m->m[i].a, m->m[i].len);
	return 0;
}

static void put(u32 a, const char *s, u32 len)
{
	for (u32 i = 0; i < len; i++)
		*(volatile u8 *)(a + i) = (u8)s[i];
}

static bool same(u32 a, const char *s, u32 len)
{
	for (u32 i = 0; i < len; i++) {
		if (*(volatile u8 *)(a + i) != (u8)s[i])
			return false;
	}
	return true;
}

/* Reset the device and bring it up with the queues in qs[], each in its
 * area; qbegin() them first. */
static int multi_up(struct dev **qs, u32 n, u32 feat_lo)
{
	struct dev *d = qs[0];
	u32 s;

	if (dev_features(d, feat_lo, F_VERSION_1))
		return -1;
	s = rd(d, R_STATUS);
	if (s != (S_ACK | S_DRIVER | S_FEATURES_OK))
		return bad("FEATURES_OK not accepted: status", s, S_ACK | S_DRIVER | S_FEATURES_OK);
	for (u32 i = 0; i < n; i++) {
		struct dev *q = qs[i];

		wr(q, R_QUEUE_SEL, q->q);
		if (rd(q, R_QUEUE_NUM_MAX) < QSIZE)
			return bad("QueueNumMax (queue in want bits 15:8)", rd(q, R_QUEUE_NUM_MAX),
				   QSIZE | q->q << 8);
		wr(q, R_QUEUE_NUM, QSIZE);
		wr(q, R_DESC_LO, q->area + A_DESC);
		wr(q, R_DESC_HI, 0);
		wr(q, R_AVAIL_LO, q->area + A_AVAIL);
		wr(q, R_AVAIL_HI, 0);
		wr(q, R_USED_LO, q->area + A_USED);
		wr(q, R_USED_HI, 0);
		wr(q, R_QUEUE_READY, 1);
		q->qsize = QSIZE;
		q->desc = q->area + A_DESC;
		q->avail = q->area + A_AVAIL;
		q->used = q->area + A_USED;
		q->avail_idx = q->used_idx = 0;
	}
	wr(d, R_STATUS, S_LIVE);
	s = rd(d, R_STATUS);
	if (s != S_LIVE)
		return bad("status after DRIVER_OK", s, S_LIVE);
	return 0;
}

/* Every queue's area as it must be: the pattern outside its marks. */
static int areas_check(struct dev **qs, u32 n)
{
	for (u32 i = 0; i < n; i++) {
		qcheck(qs[i]);
		if (area_check(qs[i]))
			return -1;
	}
	return 0;
}

/* Nothing may happen on d for a while (16k polls, about half a second on
 * the emulating /dev/kvm; the device answers in microseconds): W_TIMEOUT. */
static int quiet(const struct dev *d, u16 from)
{
	for (u32 i = 0; i < (1u << 14); i++) {
		if (used_idx(d) != from)
			return W_USED;
		if ((i & 63) == 63 && (rd(d, R_STATUS) & S_NEEDS_RESET))
			return W_RESET;
		barrier();
	}
	return W_TIMEOUT;
}

/* A malformed chain: the device must need a reset, and take nothing. */
static int expect_needs_reset(struct dev *d, u16 used_before)
{
	int w = wait_dev(d, used_before);
	u32 s;

	if (w == W_USED)
		return bad("the device completed a malformed chain: used idx", used_idx(d),
			   used_before);
	if (w == W_TIMEOUT)
		return bad("no DEVICE_NEEDS_RESET (timed out): status", rd(d, R_STATUS),
			   S_LIVE | S_NEEDS_RESET);
	s = rd(d, R_STATUS);
	if (s != (S_LIVE | S_NEEDS_RESET))
		return bad("status", s, S_LIVE | S_NEEDS_RESET);
	wr(d, R_ISR_ACK, rd(d, R_ISR));
	return 0;
}

/* ---- virtio-console ---- */

static struct dev *con_qs[] = { &con_rx, &con_tx };

/* Reset first: the rings are rewritten next, and a live device reads them. */
static int up_feat(struct dev **qs, u32 n, u32 feat_lo)
{
	wr(qs[0], R_STATUS, 0);
	for (u32 i = 0; i < n; i++)
		qbegin(qs[i]);
	return multi_up(qs, n, feat_lo);
}

static int up(struct dev **qs, u32 n)
{
	return up_feat(qs, n, 0);
}

static int con_up(void)
{
	return up(con_qs, 2);
}

/* Output split over three readable buffers, then a writable one the device
 * has no business writing; the used length is 0. */
static int test_con_tx(void)
{
	static const char msg[] = CON_TX;
	u32 a = con_tx.area, n1 = 14, n2 = 9, n3 = sizeof(msg) - 1 - n1 - n2;

	if (con_up())
		return -1;
	put(a + A_DATA, msg, n1);
	put(a + A_DATA + 0x40, msg + n1, n2);
	put(a + A_DATA + 0x80, msg + n1 + n2, n3);
	qmark(&con_tx, a + A_DATA, n1);
	qmark(&con_tx, a + A_DATA + 0x40, n2);
	qmark(&con_tx, a + A_DATA + 0x80, n3);
	set_desc(con_tx.desc, 0, a + A_DATA, n1, D_NEXT, 5);
	set_desc(con_tx.desc, 5, a + A_DATA + 0x40, n2, D_NEXT, 2);
	set_desc(con_tx.desc, 2, a + A_DATA + 0x80, n3, D_NEXT, 7);
	set_desc(con_tx.desc, 7, a + A_DATA2, 64, D_WRITE, 0);
	publish(&con_tx, 0);
	notify(&con_tx);
	if (wait_used(&con_tx, 0, 0))
		return -1;
	return areas_check(con_qs, 2);
}

/*
 * Input (CON_INPUT and the Ctrl-D run.sh's end of input sends). First a
 * chain with only a readable buffer: used with length 0, nothing written,
 * no input lost. Then a readable buffer (untouched), a 10-byte writable one
 * and a 200-byte one: the input fills them in order, and the bytes after it
 * keep their pattern.
 */
static int test_con_rx(void)
{
	static const char in[] = CON_INPUT "\x04";
	const u32 len = sizeof(in) - 1;
	u32 a = con_rx.area, w1 = a + A_DATA + 0x20, w2 = a + A_DATA2;

	if (con_up())
		return -1;
	set_desc(con_rx.desc, 0, a + A_DATA, 16, 0, 0);
	publish(&con_rx, 0);
	notify(&con_rx);
	if (wait_used(&con_rx, 0, 0))
		return -1;
	set_desc(con_rx.desc, 3, a + A_DATA + 0x100, 8, D_NEXT, 4);
	set_desc(con_rx.desc, 4, w1, 10, D_WRITE | D_NEXT, 6);
	set_desc(con_rx.desc, 6, w2, 200, D_WRITE, 0);
	publish(&con_rx, 3);
	notify(&con_rx);
	if (wait_used(&con_rx, 3, len))
		return -1;
	if (!same(w1, in, 10) || !same(w2, in + 10, len - 10))
		return bad("input bytes: first bytes of the two buffers", rd64(w1), rd64(w2));
	qmark(&con_rx, w1, 10);
	qmark(&con_rx, w2, len - 10);
	return areas_check(con_qs, 2);
}

/* Malformed output chains: DEVICE_NEEDS_RESET; a reset brings it back. */
static int test_con_tx_malformed(void)
{
	static const char msg[] = "x";
	u32 a = con_tx.area;

	if (con_up())
		return -1;
	set_desc(con_tx.desc, 0, 0xf0000000, 16, 0, 0);
	publish(&con_tx, 0);
	notify(&con_tx);
	if (expect_needs_reset(&con_tx, 0))
		return -1;
	phase = "readable after writable: ";
	if (con_up())
		return -1;
	put(a + A_DATA, msg, 1);
	qmark(&con_tx, a + A_DATA, 1);
	set_desc(con_tx.desc, 0, a + A_DATA2, 8, D_WRITE | D_NEXT, 1);
	set_desc(con_tx.desc, 1, a + A_DATA, 1, 0, 0);
	publish(&con_tx, 0);
	notify(&con_tx);
	if (expect_needs_reset(&con_tx, 0))
		return -1;
	if (areas_check(con_qs, 2))
		return -1;
	wr(&con_tx, R_STATUS, 0);
	phase = NULL;
	return 0;
}

/* ---- virtio-vsock ---- */

static struct dev *vs_qs[] = { &vs_rx, &vs_tx, &vs_ev };

struct vs_hdr {
	u64 src_cid, dst_cid;
	u32 src_port, dst_port, len;
	u16 type, op;
	u32 flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

static int vs_up(void)
{
	return up(vs_qs, 3);
}

/* The receive window the guest's packets advertise. */
static u32 vs_buf_alloc = 4096;

/* A packet from the guest, header at A_DATA2 + 64 * slot of the tx area,
 * payload (if any) in a second descriptor; returns the used idx before. */
static u16 vs_send(u16 slot, u64 src_cid, u64 dst_cid, u32 sport, u32 dport, u16 type, u16 op,
		   u32 len, const char *payload, u32 plen)
{
	u32 a = vs_tx.area, h = a + A_DATA2 + 64 * slot, p = a + A_DATA + 32 * slot;
	volatile struct vs_hdr *x = (volatile struct vs_hdr *)h;
	u16 d = (u16)(2 * (slot % 4)), before = vs_tx.used_idx;

	x->src_cid = src_cid;
	x->dst_cid = dst_cid;
	x->src_port = sport;
	x->dst_port = dport;
	x->len = len;
	x->type = type;
	x->op = op;
	x->flags = 0;
	x->buf_alloc = vs_buf_alloc;
	x->fwd_cnt = 0;
	qmark(&vs_tx, h, VS_HDR);
	if (plen) {
		put(p, payload, plen);
		qmark(&vs_tx, p, plen);
		set_desc(vs_tx.desc, d, h, VS_HDR, D_NEXT, (u16)(d + 1));
		set_desc(vs_tx.desc, (u16)(d + 1), p, plen, 0, 0);
	} else {
		set_desc(vs_tx.desc, d, h, VS_HDR, 0, 0);
	}
	publish(&vs_tx, d);
	notify(&vs_tx);
	return before;
}

/* Post one rx buffer of `len` bytes at A_DATA + 0x80 * (slot % 4). */
static u32 vs_post(u16 slot, u32 len)
{
	u32 buf = vs_rx.area + A_DATA + 0x80 * (slot % 4);

	set_desc(vs_rx.desc, slot % QSIZE, buf, len, D_WRITE, 0);
	publish(&vs_rx, slot % QSIZE);
	notify(&vs_rx);
	return buf;
}

/* The next rx packet: in buffer `buf` (head `head`), with these fields. */
static int vs_expect(u16 head, u32 buf, u32 sport, u32 dport, u16 op, u32 len)
{
	volatile struct vs_hdr *x = (volatile struct vs_hdr *)buf;

	if (wait_used(&vs_rx, head, VS_HDR + len))
		return -1;
	if (x->src_cid != 2 || x->dst_cid != VS_CID)
		return bad("rx packet CIDs (src << 32 | dst)", x->src_cid << 32 | x->dst_cid,
			   2ULL << 32 | VS_CID);
	if (x->src_port != sport || x->dst_port != dport)
		return bad("rx packet ports (src << 32 | dst)",
			   (u64)x->src_port << 32 | x->dst_port, (u64)sport << 32 | dport);
	if (x->op != op || x->type != 1 || x->len != len)
		return bad("rx packet op, type, len (op << 48 | type << 32 | len)",
			   (u64)x->op << 48 | (u64)x->type << 32 | x->len,
			   (u64)op << 48 | 1ULL << 32 | len);
	qmark(&vs_rx, buf, VS_HDR + len);
	return 0;
}

static int test_vs_config(void)
{
	u32 c = find_dev(ID_VSOCK) + R_CONFIG;

	if (rd64(c) != VS_CID || mmio_read32(c) != VS_CID || mmio_read32(c + 4))
		return bad("guest_cid", rd64(c), VS_CID);
	mmio_write32(c, 99);
	if (rd64(c) != VS_CID)
		return bad("guest_cid after a write", rd64(c), VS_CID);
	return 0;
}

/* A connection to a port nobody listens on: RST, from that port, and
 * nothing written past the header. */
static int test_vs_rst_no_listener(void)
{
	u32 buf;

	if (vs_up())
		return -1;
	buf = vs_post(0, 0x80);
	vs_send(0, VS_CID, 2, 0x4000, VS_NOBODY, 1, VS_REQUEST, 0, NULL, 0);
	if (wait_used(&vs_tx, 0, 0))
		return -1;
	if (vs_expect(0, buf, VS_NOBODY, 0x4000, VS_RST, 0))
		return -1;
	return areas_check(vs_qs, 3);
}

/*
 * Packets ember must refuse. A claimed source CID that is not the guest's
 * is dropped without an answer, as is an RST for nothing; each of the
 * others (destination not the host, not a stream, op 0 and 99, len past
 * the buffer, a response to nothing, data for no connection) gets one RST.
 * The answers come in order, in the buffers posted.
 */
static int test_vs_bad_packets(void)
{
	static const struct {
		u64 dst_cid;
		u16 type, op;
		u32 len, plen;
		bool rst;
	} t[] = {
		{ 2, 1, VS_REQUEST, 0, 0, false }, /* spoofed source CID (below) */
		{ 2, 1, VS_RST, 0, 0, false },	   { 5, 1, VS_REQUEST, 0, 0, true },
		{ 2, 2, VS_REQUEST, 0, 0, true },  { 2, 1, 0, 0, 0, true },
		{ 2, 1, 99, 0, 0, true },	   { 2, 1, VS_RW, 100, 16, true },
		{ 2, 1, VS_RESPONSE, 0, 0, true }, { 2, 1, VS_RW, 16, 16, true },
	};
	u16 rx = 0;
	u32 buf = 0;
	bool posted = false;

	if (vs_up())
		return -1;
	for (u16 i = 0; i < ARRAY_SIZE(t); i++) {
		volatile struct vs_hdr *x;

		if (!posted) /* one rx buffer waits at a time */
			buf = vs_post(rx, 0x80);
		posted = true;
		x = (volatile struct vs_hdr *)buf;
		vs_send(i % 4, i == 0 ? 42 : VS_CID, t[i].dst_cid, 0x4100 + i, 9000 + i, t[i].type,
			t[i].op, t[i].len, VS_PING, t[i].plen);
		if (wait_used(&vs_tx, (u16)(2 * (i % 4)), 0))
			return -1;
		if (!t[i].rst) {
			if (quiet(&vs_rx, vs_rx.used_idx) != W_TIMEOUT)
				return bad("an answer to a packet that gets none (case in want)",
					   used_idx(&vs_rx), i);
			continue;
		}
		if (wait_used(&vs_rx, rx % QSIZE, VS_HDR))
			return -1;
		if (x->op != VS_RST || x->src_port != 9000u + i || x->dst_port != 0x4100u + i ||
		    x->dst_cid != VS_CID || x->src_cid != t[i].dst_cid)
			return bad("RST fields (op << 32 | case)", (u64)x->op << 32 | i,
				   (u64)VS_RST << 32 | i);
		qmark(&vs_rx, buf, VS_HDR);
		rx++;
		posted = false;
	}
	return areas_check(vs_qs, 3);
}

/* Chains too short for a header: a tx chain at once, an rx chain when
 * ember has a packet for it. Both: DEVICE_NEEDS_RESET, nothing written. */
static int test_vs_short_chains(void)
{
	u32 a = vs_tx.area;

	if (vs_up())
		return -1;
	qmark(&vs_tx, a + A_DATA2, 20);
	set_desc(vs_tx.desc, 0, a + A_DATA2, 20, 0, 0);
	publish(&vs_tx, 0);
	notify(&vs_tx);
	if (expect_needs_reset(&vs_tx, 0))
		return -1;
	phase = "short rx chain: ";
	if (vs_up())
		return -1;
	vs_post(0, 20);
	vs_send(0, VS_CID, 2, 0x4200, VS_NOBODY, 1, VS_REQUEST, 0, NULL, 0);
	if (expect_needs_reset(&vs_rx, 0))
		return -1;
	if (areas_check(vs_qs, 3))
		return -1;
	phase = NULL;
	return 0;
}

/*
 * A whole connection with the host program on VS_PORT: REQUEST, RESPONSE,
 * VS_PING out (header and payload in two descriptors), VS_PONG in. The rx
 * buffer for the pong starts with a readable descriptor, which stays as it
 * was; then the guest resets the connection.
 */
static int test_vs_connection(void)
{
	u32 buf, a = vs_rx.area, hdr = a + A_DATA2, pay = a + A_DATA2 + 0x40;
	volatile struct vs_hdr *x = (volatile struct vs_hdr *)hdr;

	if (vs_up())
		return -1;
	buf = vs_post(0, 0x80);
	vs_send(0, VS_CID, 2, 0x4300, VS_PORT, 1, VS_REQUEST, 0, NULL, 0);
	if (wait_used(&vs_tx, 0, 0) || vs_expect(0, buf, VS_PORT, 0x4300, VS_RESPONSE, 0))
		return bad("no RESPONSE from the host program (is run.sh's peer listening?)",
			   err.got, err.want);
	vs_send(1, VS_CID, 2, 0x4300, VS_PORT, 1, VS_RW, 16, VS_PING, 16);
	if (wait_used(&vs_tx, 2, 0))
		return -1;
	/* readable 8 bytes, then the header, then 64 bytes of payload room */
	set_desc(vs_rx.desc, 1, a + A_DATA + 0x100, 8, D_NEXT, 2);
	set_desc(vs_rx.desc, 2, hdr, VS_HDR, D_WRITE | D_NEXT, 3);
	set_desc(vs_rx.desc, 3, pay, 64, D_WRITE, 0);
	publish(&vs_rx, 1);
	notify(&vs_rx);
	if (wait_used(&vs_rx, 1, VS_HDR + 16))
		return -1;
	if (x->op != VS_RW || x->len != 16 || x->src_port != VS_PORT || x->dst_port != 0x4300)
		return bad("data packet (op << 32 | len)", (u64)x->op << 32 | x->len,
			   (u64)VS_RW << 32 | 16);
	if (!same(pay, VS_PONG, 16))
		return bad("payload from the host: first bytes", rd64(pay), 0);
	qmark(&vs_rx, hdr, VS_HDR);
	qmark(&vs_rx, pay, 16);
	vs_send(2, VS_CID, 2, 0x4300, VS_PORT, 1, VS_RST, 0, NULL, 0);
	if (wait_used(&vs_tx, 4, 0))
		return -1;
	if (areas_check(vs_qs, 3))
		return -1;
	wr(&vs_rx, R_STATUS, 0);
	return 0;
}

/*
 * A connection the host opens (hybrid vsock: "CONNECT 5001" on ember's
 * socket). The guest accepts it with a window of 0 bytes: ember must not
 * send the host's data, but ask for credit (CREDIT_REQUEST) once. A
 * CREDIT_UPDATE opens the window and the data arrives, into a chain with a
 * read-only head. Then the guest sends an RW packet whose len is past its
 * buffer and past any window: ember answers RST and closes the host's
 * socket (run.sh's peer sees end of file).
 */
static int test_vs_host_connect(void)
{
	u32 buf, a = vs_rx.area, hdr = a + A_DATA2, pay = a + A_DATA2 + 0x40, port;
	volatile struct vs_hdr *x;

	if (vs_up())
		return -1;
	buf = vs_post(0, 0x80);
	x = (volatile struct vs_hdr *)buf;
	uart_puts("hostileguest: vsock waits for the host\n");
	if (wait_used(&vs_rx, 0, VS_HDR))
		return bad("no REQUEST from the host program: used len", err.got, err.want);
	port = x->src_port;
	if (x->op != VS_REQUEST || x->dst_port != VS_HOST_PORT || x->src_cid != 2 ||
	    x->dst_cid != VS_CID || port < 1024)
		return bad("REQUEST from the host (op << 32 | dst_port)",
			   (u64)x->op << 32 | x->dst_port, (u64)VS_REQUEST << 32 | VS_HOST_PORT);
	qmark(&vs_rx, buf, VS_HDR);
	vs_buf_alloc = 0;
	vs_send(0, VS_CID, 2, VS_HOST_PORT, port, 1, VS_RESPONSE, 0, NULL, 0);
	vs_buf_alloc = 4096;
	if (wait_used(&vs_tx, 0, 0))
		return -1;
	buf = vs_post(1, 0x80);
	if (vs_expect(1, buf, port, VS_HOST_PORT, VS_CREDIT_REQUEST, 0))
		return -1;
	/* The data chain: read-only 8 bytes, header, 64 bytes of room. */
	set_desc(vs_rx.desc, 5, a + A_DATA + 0x100, 8, D_NEXT, 6);
	set_desc(vs_rx.desc, 6, hdr, VS_HDR, D_WRITE | D_NEXT, 7);
	set_desc(vs_rx.desc, 7, pay, 64, D_WRITE, 0);
	publish(&vs_rx, 5);
	notify(&vs_rx);
	if (quiet(&vs_rx, vs_rx.used_idx) != W_TIMEOUT)
		return bad("a packet while the guest's window is 0: op",
			   *(volatile u16 *)(hdr + 30), 0);
	vs_send(1, VS_CID, 2, VS_HOST_PORT, port, 1, VS_CREDIT_UPDATE, 0, NULL, 0);
	if (wait_used(&vs_tx, 2, 0) || wait_used(&vs_rx, 5, VS_HDR + 16))
		return -1;
	x = (volatile struct vs_hdr *)hdr;
	if (x->op != VS_RW || x->len != 16 || x->src_port != port || !same(pay, VS_HOST_DATA, 16))
		return bad("the host's data (op << 32 | len)", (u64)x->op << 32 | x->len,
			   (u64)VS_RW << 32 | 16);
	qmark(&vs_rx, hdr, VS_HDR);
	qmark(&vs_rx, pay, 16);
	vs_send(2, VS_CID, 2, VS_HOST_PORT, port, 1, VS_RW, 300000, VS_PING, 16);
	if (wait_used(&vs_tx, 4, 0))
		return -1;
	buf = vs_post(3, 0x80);
	if (vs_expect(3, buf, port, VS_HOST_PORT, VS_RST, 0))
		return -1;
	if (areas_check(vs_qs, 3))
		return -1;
	wr(&vs_rx, R_STATUS, 0);
	return 0;
}

/* ---- virtio-net ---- */

static struct dev *net_qs[] = { &net_rx, &net_tx };

static int net_up(void)
{
	return up(net_qs, 2);
}

static u8 rx_byte(u32 frame, u32 j)
{
	return (u8)(frame * 31 + j * 7 + 3);
}

/* Frames out: header (zero), Ethernet header, payload. Valid ones are
 * sent; a chain too short for header and Ethernet header, or one that
 * carries a writable buffer too, is consumed with nothing written. */
static int test_net_tx(void)
{
	u32 a = net_tx.area, f = a + A_DATA, w = a + A_DATA2;
	u16 before;

	if (net_up())
		return -1;
	for (u32 i = 0; i < NET_HDR; i++)
		*(volatile u8 *)(f + i) = 0;
	for (u32 i = 0; i < 6; i++) {
		*(volatile u8 *)(f + NET_HDR + i) = 0xff;     /* broadcast */
		*(volatile u8 *)(f + NET_HDR + 6 + i) = 0x02; /* local */
	}
	*(volatile u8 *)(f + NET_HDR + 12) = NET_ETHERTYPE >> 8;
	*(volatile u8 *)(f + NET_HDR + 13) = NET_ETHERTYPE & 0xff;
	put(f + NET_HDR + 14, "hostileguest tx frame", 21);
	qmark(&net_tx, f, NET_HDR + 14 + 21);
	/* 1: the whole frame in one buffer */
	set_desc(net_tx.desc, 0, f, NET_HDR + 14 + 21, 0, 0);
	/* 2: header, Ethernet header + payload, then a writable buffer */
	set_desc(net_tx.desc, 1, f, NET_HDR, D_NEXT, 2);
	set_desc(net_tx.desc, 2, f + NET_HDR, 14 + 21, D_NEXT, 3);
	set_desc(net_tx.desc, 3, w, 64, D_WRITE, 0);
	/* 3: too short for an Ethernet header */
	set_desc(net_tx.desc, 4, f, NET_HDR + 10, 0, 0);
	before = net_tx.used_idx;
	publish(&net_tx, 0);
	publish(&net_tx, 1);
	publish(&net_tx, 4);
	notify(&net_tx);
	for (u32 i = 0; i < (1u << 21) && (u16)(used_idx(&net_tx) - before) < 3; i++)
		barrier();
	if ((u16)(used_idx(&net_tx) - before) != 3)
		return bad("used entries for three frames", used_idx(&net_tx) - before, 3);
	for (u16 i = 0; i < 3; i++) {
		static const u16 heads[] = { 0, 1, 4 };

		if (used_id(&net_tx, before + i) != heads[i] || used_len(&net_tx, before + i))
			return bad("used entry (id << 32 | len; index in want bits 7:0)",
				   (u64)used_id(&net_tx, before + i) << 32 |
				       used_len(&net_tx, before + i),
				   (u64)heads[i] << 32 | i);
	}
	return areas_check(net_qs, 2);
}

/*
 * Frames in (run.sh's peer sends NET_RX_LEN-byte frames, repeatedly):
 *   - a chain of one readable and one writable buffer large enough: the
 *     header and the frame land in the writable one, the readable one is
 *     untouched, used length is header + frame;
 *   - a frame larger than the chain (no MRG_RXBUF): dropped, the chain
 *     stays available and takes the next frame once made large enough;
 *   - a chain with fewer writable bytes than the header: DEVICE_NEEDS_RESET.
 */
static int test_net_rx(void)
{
	u32 a = net_rx.area, ro = a + A_DATA, buf = a + A_DATA2, hdr_flags;
	const u32 want = NET_HDR + NET_RX_LEN;
	u32 frame;

	if (net_up())
		return -1;
	set_desc(net_rx.desc, 0, ro, 16, D_NEXT, 1);
	set_desc(net_rx.desc, 1, buf, 0x200, D_WRITE, 0);
	publish(&net_rx, 0);
	notify(&net_rx);
	if (wait_used(&net_rx, 0, want))
		return bad("no frame from run.sh's peer (is it sending?): used len", err.got,
			   err.want);
	hdr_flags = mmio_read32(buf);
	frame = *(volatile u8 *)(buf + NET_HDR + 14);
	if (hdr_flags != 0 || *(volatile u16 *)(buf + 10) != 1)
		return bad("vnet header (flags..gso, num_buffers)",
			   hdr_flags | (u64) * (volatile u16 *)(buf + 10) << 32, 1ULL << 32);
	if (*(volatile u8 *)(buf + NET_HDR + 12) != NET_ETHERTYPE >> 8)
		return bad("ethertype high byte", *(volatile u8 *)(buf + NET_HDR + 12),
			   NET_ETHERTYPE >> 8);
	for (u32 j = 1; j < NET_RX_LEN - 14; j++) {
		if (*(volatile u8 *)(buf + NET_HDR + 14 + j) != rx_byte(frame, j))
			return bad("frame byte (offset in want bits 15:8)",
				   *(volatile u8 *)(buf + NET_HDR + 14 + j),
				   rx_byte(frame, j) | j << 8);
	}
	qmark(&net_rx, buf, want);
	if (areas_check(net_qs, 2))
		return -1;
	/* Too small for the frame: 64 writable bytes. Nothing is used; the
	 * same chain made large enough then takes a whole frame. */
	if (net_up())
		return -1;
	set_desc(net_rx.desc, 0, buf, 64, D_WRITE, 0);
	publish(&net_rx, 0);
	notify(&net_rx);
	if (quiet(&net_rx, 0) != W_TIMEOUT)
		return bad("a frame delivered into a buffer too small: used idx", used_idx(&net_rx),
			   0);
	qmark(&net_rx, buf, 64); /* written, then given up: allowed, it was writable */
	if (net_up())
		return -1;
	set_desc(net_rx.desc, 0, buf, 0x200, D_WRITE, 0);
	publish(&net_rx, 0);
	notify(&net_rx);
	if (wait_used(&net_rx, 0, want))
		return -1;
	qmark(&net_rx, buf, want);
	if (areas_check(net_qs, 2))
		return -1;
	/* 8 writable bytes: not even the header. */
	phase = "rx chain shorter than the header: ";
	if (net_up())
		return -1;
	set_desc(net_rx.desc, 0, buf, 8, D_WRITE, 0);
	publish(&net_rx, 0);
	notify(&net_rx);
	if (expect_needs_reset(&net_rx, 0))
		return -1;
	qcheck(&net_rx); /* the 8 bytes included: ember checks before it writes */
	if (area_check(&net_rx))
		return -1;
	wr(&net_rx, R_STATUS, 0);
	phase = NULL;
	return 0;
}

/*
 * With VIRTIO_NET_F_MRG_RXBUF a frame spans chains: three chains of 100,
 * 100 and 100 writable bytes take the 12-byte header and a 200-byte frame
 * as 100 + 100 + 12, num_buffers in the first header says 3, and the bytes
 * after the 12 in the third chain keep their pattern.
 */
static int test_net_rx_mergeable(void)
{
	u32 a = net_rx.area, b[3] = { a + A_DATA, a + A_DATA + 0x100, a + A_DATA2 };
	const u32 total = NET_HDR + NET_RX_LEN;
	u8 frame;

	if (up_feat(net_qs, 2, NET_F_MRG_RXBUF))
		return -1;
	for (u16 i = 0; i < 3; i++) {
		set_desc(net_rx.desc, i, b[i], 100, D_WRITE, 0);
		publish(&net_rx, i);
	}
	notify(&net_rx);
	for (u32 i = 0; i < (1u << 21) && used_idx(&net_rx) < 3; i++)
		barrier();
	if (used_idx(&net_rx) != 3)
		return bad("used entries for one frame over three chains", used_idx(&net_rx), 3);
	for (u16 i = 0; i < 3; i++) {
		u32 want = i < 2 ? 100 : total - 200;

		if (used_id(&net_rx, i) != i || used_len(&net_rx, i) != want)
			return bad("used entry (id << 32 | len)",
				   (u64)used_id(&net_rx, i) << 32 | used_len(&net_rx, i),
				   (u64)i << 32 | want);
	}
	if (*(volatile u16 *)(b[0] + 10) != 3)
		return bad("num_buffers", *(volatile u16 *)(b[0] + 10), 3);
	frame = *(volatile u8 *)(b[0] + NET_HDR + 14);
	for (u32 j = 1; j < NET_RX_LEN - 14; j++) {
		u32 at = NET_HDR + 14 + j; /* offset in the header + frame stream */
		u8 got = *(volatile u8 *)(b[at / 100] + at % 100);

		if (got != rx_byte(frame, j))
			return bad("frame byte across chains (offset in want bits 15:8)", got,
				   rx_byte(frame, j) | j << 8);
	}
	qmark(&net_rx, b[0], 100);
	qmark(&net_rx, b[1], 100);
	qmark(&net_rx, b[2], total - 200);
	if (areas_check(net_qs, 2))
		return -1;
	wr(&net_rx, R_STATUS, 0);
	return 0;
}

void virtio_more_tests(void)
{
	struct {
		struct dev *q[3];
		u32 n;
	} devs[] = { { { &con_rx, &con_tx }, 2 },
		     { { &vs_rx, &vs_tx, &vs_ev }, 3 },
		     { { &net_rx, &net_tx }, 2 } };

	for (u32 i = 0; i < ARRAY_SIZE(devs); i++) {
		u32 base = find_dev(devs[i].q[0]->id);

		for (u32 j = 0; j < devs[i].n; j++)
			devs[i].q[j]->base = base;
	}
	report("discovery-console", con_rx.base ? check_id(&con_rx) : bad("no device", 0, 3));
	report("discovery-vsock", vs_rx.base ? check_id(&vs_rx) : bad("no device", 0, 19));
	report("discovery-net", net_rx.base ? check_id(&net_rx) : bad("no device", 0, 1));
	if (con_rx.base) {
		report("console-tx-split-with-writable-buffer", test_con_tx());
		report("console-rx-input-in-order", test_con_rx());
		report("console-tx-malformed", test_con_tx_malformed());
		wr(&con_rx, R_STATUS, 0);
	}
	if (vs_rx.base) {
		report("vsock-config", test_vs_config());
		report("vsock-rst-for-no-listener", test_vs_rst_no_listener());
		report("vsock-bad-packets", test_vs_bad_packets());
		report("vsock-short-chains", test_vs_short_chains());
		report("vsock-connection-with-host", test_vs_connection());
		report("vsock-connection-from-host", test_vs_host_connect());
		wr(&vs_rx, R_STATUS, 0);
	}
	if (net_rx.base) {
		report("net-tx", test_net_tx());
		report("net-rx", test_net_rx());
		report("net-rx-mergeable-buffers", test_net_rx_mergeable());
		wr(&net_rx, R_STATUS, 0);
	}
}
