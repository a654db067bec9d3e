// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: virtio-vsock, the whole device (dev/virtio_vsock.c over
 * dev/vsock_conn.c) with real AF_UNIX sockets on the host side, driven
 * through the virtio-mmio registers, the device's notify handler and its
 * worker's fd callbacks (run here by poll(), as the unit tests do). The input
 * is a program: guest tx packets with any header (cids, ports, len, type, op,
 * flags, buf_alloc, fwd_cnt) and payload, rx buffers of any size, host
 * programs connecting to the device's socket with a CONNECT line (or
 * garbage), host services accepting the guest's connections, host sockets
 * sending, reading, shutting down and closing, device resets.
 *
 * Checked, besides ASan/UBSan and vdrv's write check (the device writes only
 * rx buffers in flight, never a tx buffer):
 *  - tx chains are used with length 0; rx chains with a whole header and at
 *    most their room;
 *  - every packet to the guest is addressed to it (dst_cid), from the host
 *    (src_cid 2, stream) unless it is an RST answering a packet sent
 *    elsewhere, with a len that matches the used length, payload only in
 *    OP_RW, our window in buf_alloc;
 *  - data reaches the guest only on a connection announced by OP_REQUEST or
 *    OP_RESPONSE, in order, from one host socket, never beyond the credit
 *    the guest gave (5.10.6.3: tx_cnt - fwd_cnt <= buf_alloc);
 *  - data reaches a host socket in order from one guest stream; a host
 *    program that asked to connect reads "OK <port>\n" before any data.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dev/virtio_vsock.h"
#include "util.h"
#include "vdrv.h"

#define CID   3
#define RXQ   VIRTIO_VSOCK_RXQ
#define TXQ   VIRTIO_VSOCK_TXQ
#define NHOST 16
#define NPAIR 64
#define HDRSZ VSOCK_HDR_SIZE

static struct vd v;
static uint8_t ram[VD_RAM];
static struct virtio_dev dev;
static struct virtio_worker wk;
static struct virtio_vsock vv;
static char dir[64], path[96];
static int service[2] = { -1, -1 }; /* host services on ports 1000, 1001 */
static uint8_t buf[80 * 1024];

static const uint32_t host_ports[] = { 1000, 1001, 1002, 1024, 1025, 1026, 7, 1000 };
static const uint32_t guest_ports[] = { 50, 51, 52, 53 };

/* A host-side socket: a program that connected to the device (client), or
 * a service's end of a guest connection. */
static struct host {
	int fd;
	bool client;
	uint32_t sent;
	bool ok_done; /* client: read the "OK <port>\n" line */
	char ok[24];
	unsigned ok_len;
	bool have_rx;
	uint8_t rx_tag, rx_next;
} hosts[NHOST];

/* A connection as the guest sees it, by (host port, guest port). */
static struct pair {
	bool used;
	uint32_t hport, gport;
	bool started; /* OP_REQUEST or OP_RESPONSE seen */
	uint32_t got; /* data bytes received since */
	bool have_tag;
	uint8_t tag, next;
	bool credit;	 /* the guest sent a valid header: */
	uint32_t ba, fc; /* its buf_alloc and fwd_cnt */
	uint32_t gsent;	 /* data bytes the guest sent */
} pairs[NPAIR];

static bool credit_ok; /* no perturbed tx chain: the headers are as built */

/* A tx packet's effect on its pair's credit, applied when the device has
 * taken it (its chain is used), not when it is posted. */
static struct sent {
	struct pair *p;
	uint32_t ba, fc;
} sent[256];
static unsigned nsent;

static struct pair *pair(uint32_t hport, uint32_t gport)
{
	struct pair *free_ = NULL;

	for (unsigned i = 0; i < NPAIR; i++) {
		if (pairs[i].used && pairs[i].hport == hport && pairs[i].gport == gport)
			return &pairs[i];
		if (!pairs[i].used && !free_)
			free_ = &pairs[i];
	}
	if (!free_)
		return NULL;
	*free_ = (struct pair){ .used = true, .hport = hport, .gport = gport };
	return free_;
}

static void on_tx_used(struct vd *vv_, unsigned q, struct vd_chain *c, uint32_t len, void *ctx)
{
	(void)vv_;
	(void)q;
	(void)ctx;
	if (len && !v.wild)
		vd_fail("vsock: tx chain used with %u bytes written", len);
	if (c->clean && c->user) {
		struct sent *s = &sent[(c->user - 1) % ARRAY_SIZE(sent)];

		s->p->credit = true;
		s->p->ba = s->ba;
		s->p->fc = s->fc;
	}
}

static void on_rx_used(struct vd *vv_, unsigned q, struct vd_chain *c, uint32_t len, void *ctx)
{
	uint8_t raw[HDRSZ];
	struct vsock_hdr h;
	struct pair *p;

	(void)q;
	(void)ctx;
	if (!c->clean || v.wild || v.q[RXQ].lenient)
		return;
	if (len < HDRSZ || c->wlen < HDRSZ)
		vd_fail("vsock: rx chain of %llu bytes used with %u", (unsigned long long)c->wlen,
			len);
	vd_chain_get(vv_, c, true, 0, raw, HDRSZ);
	vsock_hdr_get(raw, &h);
	if (h.dst_cid != CID || h.len != len - HDRSZ || h.op < VSOCK_OP_REQUEST ||
	    h.op > VSOCK_OP_CREDIT_REQUEST || (h.op != VSOCK_OP_RW && h.len) ||
	    (h.op == VSOCK_OP_RW && !h.len))
		vd_fail("vsock: bad packet to the guest: dst %llu op %u len %u used %u",
			(unsigned long long)h.dst_cid, h.op, h.len, len);
	if (h.op != VSOCK_OP_RST && (h.src_cid != VSOCK_CID_HOST || h.type != VSOCK_TYPE_STREAM ||
				     h.buf_alloc != VSOCK_BUF_ALLOC))
		vd_fail("vsock: op %u from cid %llu type %u buf_alloc %u", h.op,
			(unsigned long long)h.src_cid, h.type, h.buf_alloc);
#ifdef TRACE
	fprintf(stderr, "rx op %u %u:%u len %u\n", h.op, h.src_port, h.dst_port, h.len);
#endif
	p = pair(h.src_port, h.dst_port);
	if (!p)
		return;
	if (h.op == VSOCK_OP_REQUEST || h.op == VSOCK_OP_RESPONSE) {
		p->started = true;
		p->got = 0;
		p->have_tag = false;
		p->next = 0;
		if (h.op == VSOCK_OP_REQUEST)
			p->credit = false; /* the guest's answer will bring it */
		return;
	}
	if (h.op != VSOCK_OP_RW)
		return;
	if (!p->started)
		vd_fail("vsock: data on %u:%u before any REQUEST/RESPONSE", h.src_port, h.dst_port);
	if (credit_ok && p->credit && (uint32_t)(p->got + h.len - p->fc) > p->ba)
		vd_fail("vsock: %u bytes on %u:%u beyond the guest's credit (got %u, buf_alloc "
			"%u, fwd_cnt %u)",
			h.len, h.src_port, h.dst_port, p->got, p->ba, p->fc);
	vd_chain_get(vv_, c, true, HDRSZ, buf, h.len);
	for (uint32_t i = 0; i < h.len; i++) {
		uint8_t b = buf[i];

		if (!p->have_tag) {
			p->have_tag = true;
			p->tag = b >> 4;
		}
		if (b >> 4 != p->tag || (b & 15) != p->next)
			vd_fail("vsock: byte %u of the stream on %u:%u is 0x%02x, expected 0x%x%x",
				p->got + i, h.src_port, h.dst_port, b, p->tag, p->next);
		p->next = (p->next + 1) & 15;
	}
	p->got += h.len;
}

static void collect(void)
{
	vd_collect(&v, TXQ, on_tx_used, NULL);
	vd_collect(&v, RXQ, on_rx_used, NULL);
}

/* What the worker thread would do: every ready fd, a few rounds. */
static void run_worker(void)
{
	vd_snap(&v);
	for (unsigned round = 0; round < 3; round++)
		for (unsigned i = 0; i < WORKER_MAX_FDS; i++) {
			struct worker_fd w = wk.fds[i];
			struct pollfd p = { .fd = w.fd, .events = POLLIN | POLLOUT | POLLRDHUP };

			if (w.fd >= 0 && poll(&p, 1, 0) == 1)
				w.cb(w.ctx, w.fd, (uint32_t)p.revents);
		}
	vd_check(&v, "socket events");
	collect();
}

static struct host *new_host(int fd, bool client)
{
	for (unsigned i = 0; i < NHOST; i++)
		if (hosts[i].fd < 0) {
			hosts[i] = (struct host){ .fd = fd, .client = client };
			return &hosts[i];
		}
	close(fd);
	return NULL;
}

static void accept_services(void)
{
	for (unsigned s = 0; s < 2; s++) {
		int fd;

		while ((fd = accept4(service[s], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
			new_host(fd, false);
	}
}

static void host_send(struct host *h, uint32_t n)
{
	ssize_t r;

	for (uint32_t i = 0; i < n; i++)
		buf[i] = (uint8_t)((unsigned)(h - hosts) << 4 | ((h->sent + i) & 15));
	r = send(h->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r > 0)
		h->sent += (uint32_t)r;
}

static void host_connect(struct fz *f)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	uint8_t k = fz_u8(f);
	struct host *h;
	char line[64];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), n;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	h = new_host(fd, true);
	if (!h)
		return;
	if (k & 0x80) { /* anything at all */
		n = fz_u8(f) % 40;
		for (int i = 0; i < n; i++)
			line[i] = (char)fz_u8(f);
	} else {
		n = snprintf(line, sizeof(line), "CONNECT %u\n",
			     (k & 0x40) ? fz_u32(f) : guest_ports[k & 3]);
	}
	if (send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n)
		return;
	if (k & 0x20)
		host_send(h, fz_u8(f));
}

static void host_read(struct host *h)
{
	ssize_t r;

	while ((r = recv(h->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		for (ssize_t i = 0; i < r; i++) {
			uint8_t b = buf[i];

			if (h->client && !h->ok_done) {
				unsigned port;
				char end;

				if (h->ok_len == sizeof(h->ok) - 1)
					vd_fail("vsock: host client got no OK line");
				h->ok[h->ok_len++] = (char)b;
				if (b != '\n')
					continue;
				h->ok[h->ok_len] = 0;
				if (sscanf(h->ok, "OK %u%c", &port, &end) != 2 || end != '\n' ||
				    port < VSOCK_HOST_PORT_MIN)
					vd_fail("vsock: host client got '%s'", h->ok);
				h->ok_done = true;
				continue;
			}
			if (!h->have_rx) {
				h->have_rx = true;
				h->rx_tag = b >> 4;
			} else if (b >> 4 != h->rx_tag || (b & 15) != h->rx_next) {
				vd_fail("vsock: host socket got 0x%02x, expected 0x%x%x", b,
					h->rx_tag, h->rx_next);
			}
			h->rx_next = (b + 1) & 15;
		}
	}
}

static void host_op(struct fz *f)
{
	uint8_t k = fz_u8(f);
	struct host *h = &hosts[fz_u8(f) % NHOST];

	if (h->fd < 0)
		return;
	switch (k % 5) {
	case 0:
	case 1:
		host_send(h, (k & 0x80) ? fz_u16(f) % 70000 : fz_u8(f));
		break;
	case 2:
		host_read(h);
		break;
	case 3:
		shutdown(h->fd, (k >> 3) % 3);
		break;
	case 4:
		close(h->fd);
		h->fd = -1;
		break;
	}
}

static void guest_tx(struct fz *f)
{
	static const uint32_t bas[] = { VSOCK_BUF_ALLOC, 0, 100, 1u << 20, 4096, 65536 };
	/* k: ports (bits 0-4), made-up fwd_cnt (0x80); k2: which fields are
	 * raw; then the op (mostly a valid one). */
	uint8_t k = fz_u8(f), k2 = fz_u8(f), opb = fz_u8(f);
	struct vsock_hdr h = {
		.src_cid = (k2 & 1) ? fz_u64(f) : CID,
		.dst_cid = (k2 & 2) ? fz_u64(f) : VSOCK_CID_HOST,
		.src_port = (k2 & 4) ? fz_u32(f) : guest_ports[k & 3],
		.dst_port = host_ports[(k >> 2) & 7],
		.type = (k2 & 8) ? fz_u16(f) : VSOCK_TYPE_STREAM,
		.op = (uint16_t)(opb < 0xf0 ? 1 + opb % 7 : opb % 9),
	};
	uint32_t pay = 0;
	uint64_t user = 0;
	struct pair *p;
	struct vd_chain *c;

	if (k2 & 0x10)
		h.dst_port = fz_u32(f);
	p = pair(h.dst_port, h.src_port);
	if (h.op == VSOCK_OP_RW)
		pay = (k2 & 0x20) ? fz_u32(f) % 70000 : fz_u16(f) % 3000;
	h.len = (k2 & 0x40) ? fz_u32(f) : pay;
	h.flags = fz_u8(f) & ((k2 & 0x80) ? 0xff : 3);
	h.buf_alloc = bas[fz_u8(f) % ARRAY_SIZE(bas)];
	h.fwd_cnt = p && !(k & 0x80) ? p->got : fz_u32(f);
	/* What the device takes from a header it accepts. */
	if (p && h.src_cid == CID && h.dst_cid == VSOCK_CID_HOST && h.type == VSOCK_TYPE_STREAM &&
	    h.op >= VSOCK_OP_REQUEST && h.op <= VSOCK_OP_CREDIT_REQUEST && h.len <= pay) {
		user = 1 + nsent;
		sent[nsent++ % ARRAY_SIZE(sent)] = (struct sent){ p, h.buf_alloc, h.fwd_cnt };
	}
	vsock_hdr_put(buf, &h);
	for (uint32_t i = 0; i < pay; i++) {
		uint8_t tag = (uint8_t)((h.src_port & 3) * 4 + (h.dst_port & 3));

		buf[HDRSZ + i] = (uint8_t)(tag << 4 | ((p ? p->gsent + i : i) & 15));
	}
	c = vd_post(&v, TXQ, f, buf, HDRSZ + (uint64_t)pay, 0, user);
	if (!c)
		return;
	if (!c->clean)
		credit_ok = false;
	if (user && h.op == VSOCK_OP_RW)
		p->gsent += pay;
}

static void post_rx(struct fz *f)
{
	uint8_t k = fz_u8(f);
	unsigned n = 1 + (k & 3);

	for (unsigned i = 0; i < n; i++) {
		uint64_t w;

		if (k & 0x80)
			w = fz_u16(f) % 70000;
		else if (k & 0x40)
			w = fz_u8(f) % 64; /* maybe too small for a header */
		else
			w = HDRSZ + fz_u16(f) % 4096;
		vd_post(&v, RXQ, f, NULL, (k & 0x20) ? fz_u8(f) % 16 : 0, w, 0);
	}
}

static bool start(struct fz *f)
{
	uint16_t sizes[3];

	for (unsigned i = 0; i < 3; i++)
		sizes[i] = (uint16_t)(1u << (fz_u8(f) % 7));
	memset(pairs, 0, sizeof(pairs));
	nsent = 0;
	credit_ok = true;
	return vd_start(&v, 3, sizes, ~0ULL);
}

/* Leave no socket files behind. */
static void cleanup(void)
{
	char p[128];

	for (unsigned s = 0; s < 2; s++) {
		snprintf(p, sizeof(p), "%s_%u", path, 1000 + s);
		unlink(p);
	}
	unlink(path);
	rmdir(dir);
}

static void setup_once(void)
{
	if (dir[0])
		return;
	atexit(cleanup);
	snprintf(dir, sizeof(dir), "/tmp/ember-fuzz-vsock-XXXXXX");
	if (!mkdtemp(dir))
		vd_fail("mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/v", dir);
	for (unsigned s = 0; s < 2; s++) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", path, 1000 + s);
		service[s] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (service[s] < 0 || bind(service[s], (struct sockaddr *)&a, sizeof(a)) ||
		    listen(service[s], 64))
			vd_fail("service socket: %s", strerror(errno));
	}
	for (unsigned i = 0; i < NHOST; i++)
		hosts[i].fd = -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	unsigned ops = 0;

	setup_once();
	vd_init(&v, ram);
	virtio_init(&dev, &virtio_vsock_ops, &vv, &v.gm);
	if (worker_init(&wk, &dev) || virtio_vsock_open(&vv, CID, path, &dev, &wk))
		vd_fail("vsock set-up: %s", ember_lasterr());
	vd_attach(&v, &dev);
	if (!start(&f))
		goto out;
	while (f.n && ops++ < 150) {
		uint8_t op = fz_u8(&f);

		switch (op % 9) {
		case 0:
		case 1:
			guest_tx(&f);
			break;
		case 2:
			post_rx(&f);
			break;
		case 3:
			vd_notify(&v, (op & 0x40) ? RXQ : TXQ, op & 0x80);
			collect();
			break;
		case 4:
			host_connect(&f);
			break;
		case 5:
			host_op(&f);
			break;
		case 6:
			accept_services();
			run_worker();
			break;
		case 7:
			if (op & 0x80) {
				vd_mangle_avail(&v, (op & 0x40) ? RXQ : TXQ, &f);
				break;
			}
			collect();
			vd_reset(&v);
			if (!start(&f))
				goto out;
			break;
		case 8:
			for (unsigned i = 0; i < NHOST; i++)
				if (hosts[i].fd >= 0)
					host_read(&hosts[i]);
			break;
		}
	}
	vd_notify(&v, TXQ, false);
	collect();
	accept_services();
	run_worker();
	for (unsigned i = 0; i < NHOST; i++)
		if (hosts[i].fd >= 0)
			host_read(&hosts[i]);
out:
	virtio_vsock_close(&vv);
	worker_destroy(&wk);
	virtio_destroy(&dev);
	accept_services();
	for (unsigned i = 0; i < NHOST; i++)
		if (hosts[i].fd >= 0) {
			close(hosts[i].fd);
			hosts[i].fd = -1;
		}
	return 0;
}
