// SPDX-License-Identifier: MIT
/*
 * uffd_handler SOCKET_PATH MEMFILE
 *
 * An example page-fault handler for ember's (and Firecracker's) Uffd
 * memory backend of snapshot restore. It listens on the Unix socket
 * SOCKET_PATH, accepts one VMM, receives the guest memory layout (JSON) and
 * the VMM's userfaultfd, then answers each missing-page fault with the
 * page's bytes from MEMFILE (UFFDIO_COPY), or with a zero page where
 * MEMFILE has a hole (UFFDIO_ZEROPAGE, 4 KiB pages only), until the VMM
 * hangs up. The protocol is described in src/snapshot/uffd.h.
 *
 * It prints one line when it listens and one with the number of pages it
 * served when the VMM has gone; it exits 0 then, 1 on any error. Built
 * from libc, json-c and the kernel's UAPI headers alone, so it can be
 * copied out of ember's tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_REGIONS  16		/* ember sends 1 or 2; Firecracker a few more */
#define MAX_MSG	     (64 << 10) /* the layout: ember's is about 250 bytes */
#define LAYOUT_WAIT  10000	/* ms the VMM gets to send it after connecting */
#define EVENTS	     64		/* uffd_msg read at once */
#define MAX_DEFERRED 4096	/* faults waiting out an EAGAIN */

struct region {
	uint64_t base, size, offset;
};

static struct {
	struct region r[MAX_REGIONS];
	unsigned n;
	uint64_t page;	     /* one page size for all regions */
	const uint8_t *file; /* MEMFILE, mapped read-only */
	uint64_t file_size;
	int file_fd, uffd;
	uint64_t copied, zeroed;
	uint64_t deferred[MAX_DEFERRED];
	unsigned ndeferred;
} h = { .file_fd = -1, .uffd = -1 };

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("uffd_handler: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* A JSON field that must be a non-negative integer. */
static uint64_t get_u64(json_object *o, const char *key, unsigned i, bool *found)
{
	json_object *v;
	int64_t s;

	*found = json_object_object_get_ex(o, key, &v);
	if (!*found)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		die("layout: region %u: %s is not an integer", i, key);
	/* json-c keeps integers above INT64_MAX as unsigned; below zero,
	 * get_int64 tells. */
	s = json_object_get_int64(v);
	if (s < 0)
		die("layout: region %u: %s is negative", i, key);
	return json_object_get_uint64(v);
}

/* Every number from the VMM is checked before it is used: sizes and
 * addresses page-aligned, no sum overflows, every region inside MEMFILE
 * and apart from the others. */
static void parse_layout(const char *text, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object *arr;
	size_t n;

	if (!tok)
		die("out of memory");
	arr = json_tokener_parse_ex(tok, text, (int)len);
	if (!arr || json_tokener_get_parse_end(tok) != len)
		die("layout: not one JSON value (%zu bytes)", len);
	json_tokener_free(tok);
	if (!json_object_is_type(arr, json_type_array))
		die("layout: not a JSON array");
	n = json_object_array_length(arr);
	if (n == 0 || n > MAX_REGIONS)
		die("layout: %zu regions (1 to %d)", n, MAX_REGIONS);
	for (unsigned i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		struct region *r = &h.r[i];
		bool f_base, f_size, f_off, f_ps, f_kib;
		uint64_t ps, kib, end, fend;

		if (!json_object_is_type(o, json_type_object))
			die("layout: region %u is not an object", i);
		r->base = get_u64(o, "base_host_virt_addr", i, &f_base);
		r->size = get_u64(o, "size", i, &f_size);
		r->offset = get_u64(o, "offset", i, &f_off);
		ps = get_u64(o, "page_size", i, &f_ps);
		/* Firecracker v1.7 to v1.11 sent only page_size_kib (in bytes
		 * despite its name), v1.12 on send both, equal; before v1.7
		 * neither, and pages were 4 KiB. */
		kib = get_u64(o, "page_size_kib", i, &f_kib);
		if (!f_base || !f_size || !f_off)
			die("layout: region %u lacks base_host_virt_addr, size or offset", i);
		if (!f_ps)
			ps = f_kib ? kib : 4096;
		if (f_ps && f_kib && ps != kib)
			die("layout: region %u: page_size %" PRIu64 " but page_size_kib %" PRIu64,
			    i, ps, kib);
		if (ps < 4096 || ps > (1u << 30) || (ps & (ps - 1)))
			die("layout: region %u: page size %" PRIu64 " is not a power of two from "
			    "4096 to 1 GiB",
			    i, ps);
		if (i && ps != h.page)
			die("layout: region %u: page size %" PRIu64 " differs from region 0's", i,
			    ps);
		h.page = ps;
		if (r->size == 0 || r->base % ps || r->size % ps)
			die("layout: region %u (%#" PRIx64 ", %#" PRIx64
			    " bytes) is not whole pages of %" PRIu64,
			    i, r->base, r->size, ps);
		if (__builtin_add_overflow(r->base, r->size, &end) ||
		    __builtin_add_overflow(r->offset, r->size, &fend))
			die("layout: region %u wraps around", i);
		if (fend > h.file_size)
			die("layout: region %u needs bytes %#" PRIx64 "-%#" PRIx64
			    " of the memory file, which has %#" PRIx64,
			    i, r->offset, fend, h.file_size);
		for (unsigned j = 0; j < i; j++)
			if (r->base < h.r[j].base + h.r[j].size && h.r[j].base < end)
				die("layout: regions %u and %u overlap", j, i);
	}
	h.n = (unsigned)n;
	json_object_put(arr);
}

/* Take the layout and the userfaultfd from a connected VMM. The descriptor
 * comes with the first bytes; the JSON may arrive in more than one piece
 * on a stream socket, so read until it parses. */
static void receive_layout(int sock)
{
	static char buf[MAX_MSG];
	size_t len = 0;
	json_tokener *tok = json_tokener_new();
	json_object *done = NULL;

	if (!tok)
		die("out of memory");
	while (!done) {
		union {
			struct cmsghdr c;
			char b[CMSG_SPACE(sizeof(int) * 4)];
		} ctl;
		struct iovec iov = { buf + len, sizeof(buf) - len };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
		struct pollfd p = { .fd = sock, .events = POLLIN };
		enum json_tokener_error jerr;
		ssize_t r;
		int pr;

		if (len == sizeof(buf))
			die("layout: more than %d bytes", MAX_MSG);
		pr = poll(&p, 1, LAYOUT_WAIT);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			die("poll: %s", strerror(errno));
		if (pr == 0)
			die("the VMM sent no layout within %d ms", LAYOUT_WAIT);
		m.msg_control = ctl.b;
		m.msg_controllen = sizeof(ctl.b);
		r = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("recvmsg: %s", strerror(errno));
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			size_t nfd;

			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
			    c->cmsg_len < CMSG_LEN(0))
				continue;
			nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t k = 0; k < nfd; k++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
				if (h.uffd < 0)
					h.uffd = fd;
				else
					close(fd); /* only one is expected */
			}
		}
		if (m.msg_flags & MSG_CTRUNC)
			die("recvmsg: descriptors cut off (MSG_CTRUNC)");
		if (r == 0)
			die("the VMM hung up before sending its whole layout (%zu bytes came)",
			    len);
		done = json_tokener_parse_ex(tok, buf + len, (int)r);
		jerr = json_tokener_get_error(tok);
		len += (size_t)r;
		if (!done && jerr != json_tokener_continue)
			die("layout: %s", json_tokener_error_desc(jerr));
	}
	json_object_put(done);
	json_tokener_free(tok);
	if (h.uffd < 0)
		die("the layout came without a userfaultfd");
	/* A descriptor of any other kind would take our ioctls as something
	 * else. */
	{
		char path[64], target[64];
		ssize_t t;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", h.uffd);
		t = readlink(path, target, sizeof(target) - 1);
		if (t < 0 || (target[t] = 0, strcmp(target, "anon_inode:[userfaultfd]") != 0))
			die("the descriptor that came is not a userfaultfd");
	}
	parse_layout(buf, len);
}

/* Does MEMFILE hold data in [off, off + page), or a hole that reads as
 * zero? SEEK_DATA answers without reading a byte. */
static bool is_hole(uint64_t off)
{
	off_t d = lseek(h.file_fd, (off_t)off, SEEK_DATA);

	if (d < 0)
		return errno == ENXIO; /* no data from off to the end */
	return (uint64_t)d >= off + h.page;
}

static bool pending(uint64_t addr)
{
	if (h.ndeferred == MAX_DEFERRED)
		die("more than %d faults waiting out EAGAIN", MAX_DEFERRED);
	h.deferred[h.ndeferred++] = addr;
	return false;
}

/* Serve the page holding addr. Returns false when the kernel said EAGAIN
 * (the VMM's memory map is changing, e.g. a remove event we have not read
 * yet): the fault is kept and tried again after the events that follow. */
static bool serve(uint64_t addr, bool retry)
{
	uint64_t page = addr & ~(h.page - 1), off;
	const struct region *r = NULL;
	const char *op;
	int ret;

	for (unsigned i = 0; i < h.n && !r; i++)
		if (page >= h.r[i].base && page - h.r[i].base < h.r[i].size)
			r = &h.r[i];
	if (!r)
		die("fault at %#" PRIx64 " outside every region", addr);
	off = r->offset + (page - r->base);
	if (h.page == 4096 && is_hole(off)) {
		struct uffdio_zeropage z = { .range = { page, h.page } };

		op = "UFFDIO_ZEROPAGE";
		ret = ioctl(h.uffd, UFFDIO_ZEROPAGE, &z);
		if (ret == 0)
			h.zeroed++;
	} else {
		struct uffdio_copy c = { .dst = page,
					 .src = (uintptr_t)(h.file + off),
					 .len = h.page };

		op = "UFFDIO_COPY";
		ret = ioctl(h.uffd, UFFDIO_COPY, &c);
		if (ret == 0)
			h.copied++;
	}
	if (ret == 0)
		return true;
	switch (errno) {
	case EEXIST:
		/* Someone filled it first (two threads faulted on one page,
		 * or a fault we retried). */
	case ENOENT: {
		/* The range is no longer registered: a remove event we
		 * unregistered raced with a fault in it. The kernel wakes
		 * faults it finds waiting when a range is unregistered, but
		 * a fault still on its way to the queue (under the per-VMA
		 * lock, Linux 6.4 on) misses that wake-up. In both cases
		 * whoever faulted must still be woken: a failed copy wakes
		 * nobody, and the fault then retries against the mapping as
		 * it is now. */
		struct uffdio_range w = { page, h.page };

		ioctl(h.uffd, UFFDIO_WAKE, &w);
		return true;
	}
	case EAGAIN:
		return retry ? false : pending(addr);
	case ESRCH:
		return true; /* the VMM is exiting; its socket will tell us */
	default:
		die("%s at %#" PRIx64 ": %s", op, page, strerror(errno));
	}
}

/* MADV_DONTNEED on guest RAM (a balloon, in Firecracker): those pages now
 * read as zero, not as MEMFILE says. Unregistering the range lets the
 * kernel give zero pages there itself, as Firecracker's example does. */
static void removed(uint64_t start, uint64_t end)
{
	struct uffdio_range r = { start, end - start };

	if (end <= start || start % h.page || end % h.page)
		die("remove event for [%#" PRIx64 ", %#" PRIx64 ") is not whole pages", start, end);
	if (ioctl(h.uffd, UFFDIO_UNREGISTER, &r) < 0 && errno != ESRCH && errno != ENOENT)
		die("UFFDIO_UNREGISTER [%#" PRIx64 ", %#" PRIx64 "): %s", start, end,
		    strerror(errno));
}

static void handle_events(void)
{
	struct uffd_msg msg[EVENTS];
	ssize_t r = read(h.uffd, msg, sizeof(msg));

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r < 0)
		die("read userfaultfd: %s", strerror(errno));
	if (r % (ssize_t)sizeof(msg[0]))
		die("read userfaultfd: %zd bytes, not whole messages", r);
	for (size_t i = 0; i < (size_t)r / sizeof(msg[0]); i++) {
		switch (msg[i].event) {
		case UFFD_EVENT_PAGEFAULT:
			serve(msg[i].arg.pagefault.address, false);
			break;
		case UFFD_EVENT_REMOVE:
			removed(msg[i].arg.remove.start, msg[i].arg.remove.end);
			break;
		default: /* not asked for by ember or Firecracker */
			fprintf(stderr, "uffd_handler: ignoring event %u\n", msg[i].event);
		}
	}
}

static void retry_deferred(void)
{
	unsigned n = h.ndeferred, kept = 0;

	for (unsigned i = 0; i < n; i++)
		if (!serve(h.deferred[i], true))
			h.deferred[kept++] = h.deferred[i];
	h.ndeferred = kept;
}

/* Serve faults until the VMM closes its end of the socket: ember and
 * Firecracker keep it open as long as the VM lives. */
static void run(int sock)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = h.uffd, .events = POLLIN },
				       { .fd = sock, .events = POLLIN | POLLRDHUP } };
		int n = poll(p, 2, h.ndeferred ? 1 : -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("poll: %s", strerror(errno));
		if (p[0].revents & POLLIN)
			handle_events();
		if (p[0].revents & (POLLERR | POLLNVAL))
			die("the userfaultfd failed (revents %#x)", p[0].revents);
		if (h.ndeferred)
			retry_deferred();
		if (p[1].revents & (POLLHUP | POLLRDHUP | POLLERR))
			return;
		if (p[1].revents & POLLIN) {
			char b[256];
			ssize_t r = recv(sock, b, sizeof(b), MSG_DONTWAIT);

			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
				return;
			if (r > 0)
				fprintf(stderr, "uffd_handler: ignoring %zd bytes from the VMM\n",
					r);
		}
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int lsock, sock;
	void *map;

	if (argc != 3) {
		fprintf(stderr, "usage: uffd_handler SOCKET_PATH MEMFILE\n");
		return 2;
	}
	if (strlen(argv[1]) >= sizeof(sa.sun_path))
		die("socket path %s is longer than %zu bytes", argv[1], sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, argv[1]);

	h.file_fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (h.file_fd < 0)
		die("%s: %s", argv[2], strerror(errno));
	if (fstat(h.file_fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
		die("%s: not a non-empty regular file", argv[2]);
	h.file_size = (uint64_t)st.st_size;
	if (h.file_size > SIZE_MAX)
		die("%s: too large to map", argv[2]);
	/* Private and read-only: the page cache is shared with every other
	 * handler serving the same file, and UFFDIO_COPY copies out of it. */
	map = mmap(NULL, (size_t)h.file_size, PROT_READ, MAP_PRIVATE | MAP_NORESERVE, h.file_fd, 0);
	if (map == MAP_FAILED)
		die("mmap %s: %s", argv[2], strerror(errno));
	h.file = map;

	lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsock < 0)
		die("socket: %s", strerror(errno));
	if (bind(lsock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind %s: %s", argv[1], strerror(errno));
	if (listen(lsock, 1) < 0)
		die("listen: %s", strerror(errno));
	printf("uffd_handler: listening on %s, serving %s (%" PRIu64 " bytes)\n", argv[1], argv[2],
	       h.file_size);
	fflush(stdout);

	do
		sock = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
	while (sock < 0 && errno == EINTR);
	if (sock < 0)
		die("accept: %s", strerror(errno));
	close(lsock);
	unlink(argv[1]); /* one VMM per handler: nobody else may connect */
	receive_layout(sock);
	run(sock);
	printf("uffd_handler: the VMM has gone; served %" PRIu64 " pages (%" PRIu64
	       " copied, %" PRIu64 " zero)\n",
	       h.copied + h.zeroed, h.copied, h.zeroed);
	return 0;
}
