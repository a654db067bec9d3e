// SPDX-License-Identifier: MIT
/* The Uffd memory backend: see uffd.h for the protocol and its source. */
#include "snapshot/uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

#define UFFD_DEV "/dev/userfaultfd"

/* What every way of getting a userfaultfd needs from the host, said once. */
#define UFFD_ACCESS_HINT                                                                           \
	"KVM touches guest RAM from the kernel, so ember needs read-write access to " UFFD_DEV     \
	" (e.g. setfacl -m u:$USER:rw " UFFD_DEV "), or CAP_SYS_PTRACE, or the sysctl "            \
	"vm.unprivileged_userfaultfd=1"

/* The checks uffd_layout_json() and uffd_attach() share: regions inside
 * the mapping, in host order, whole pages of page_size. */
static int check_layout(const struct guest_mem *gm, unsigned page_size)
{
	uint64_t prev_end = 0;

	if (page_size != GUEST_MEM_PAGE && page_size != GUEST_MEM_HUGE)
		return ember_seterr(-EINVAL, "uffd: page size %u is neither %u nor %u", page_size,
				    GUEST_MEM_PAGE, GUEST_MEM_HUGE);
	if (!gm->base || gm->nregions == 0 || gm->nregions > GUEST_MEM_MAX_REGIONS)
		return ember_seterr(-EINVAL, "uffd: guest memory has %u regions (1 to %u)",
				    gm->nregions, GUEST_MEM_MAX_REGIONS);
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct guest_region *r = &gm->regions[i];
		uint64_t off = (uint64_t)((uintptr_t)r->host - (uintptr_t)gm->base);

		if ((uintptr_t)r->host < (uintptr_t)gm->base || r->size == 0 || off > gm->size ||
		    r->size > gm->size - off || off < prev_end)
			return ember_seterr(-EINVAL,
					    "uffd: region %u (offset %#" PRIx64 ", %#" PRIx64
					    " bytes) is not inside the %#" PRIx64
					    "-byte mapping after the region before it",
					    i, off, r->size, gm->size);
		if ((uintptr_t)r->host % page_size || r->size % page_size)
			return ember_seterr(-EINVAL,
					    "uffd: region %u (host %p, %#" PRIx64
					    " bytes) is not made of whole %u-byte pages",
					    i, (void *)r->host, r->size, page_size);
		prev_end = off + r->size;
	}
	return 0;
}

int uffd_layout_json(const struct guest_mem *gm, unsigned page_size, char *buf, size_t len)
{
	size_t pos = 0;
	int err = check_layout(gm, page_size);

	if (err)
		return err;
	if (len == 0)
		return ember_seterr(-ENOSPC, "uffd: no room for the layout message");
	/* serde_json's compact form of Firecracker's Vec<GuestRegionUffdMapping>:
	 * the fields in declaration order, numbers in decimal, no spaces. */
	for (unsigned i = 0; i <= gm->nregions; i++) {
		const struct guest_region *r = &gm->regions[i];
		int n;

		if (i == gm->nregions)
			n = snprintf(buf + pos, len - pos, "]");
		else
			n = snprintf(buf + pos, len - pos,
				     "%s{\"base_host_virt_addr\":%" PRIu64 ",\"size\":%" PRIu64
				     ",\"offset\":%" PRIu64
				     ",\"page_size\":%u,\"page_size_kib\":%u}",
				     i ? "," : "[", (uint64_t)(uintptr_t)r->host, r->size,
				     (uint64_t)((uintptr_t)r->host - (uintptr_t)gm->base),
				     page_size, page_size);
		if (n < 0 || (size_t)n >= len - pos)
			return ember_seterr(
			    -ENOSPC, "uffd: the layout message needs more than %zu bytes", len);
		pos += (size_t)n;
	}
	return (int)pos;
}

/* A userfaultfd the way Firecracker's UffdBuilder makes one: close-on-exec,
 * non-blocking (the handler gets the same open file and must not block in
 * read()), and able to take faults from the kernel (no UFFD_USER_MODE_ONLY).
 * /dev/userfaultfd (Linux 6.1) is governed by its file permissions; the
 * system call, when user_mode_only is not asked for, by CAP_SYS_PTRACE or
 * vm.unprivileged_userfaultfd. Unlike Firecracker, a device ember may not
 * open is not the end: the system call may still be allowed. */
static int uffd_create(void)
{
	const int flags = O_CLOEXEC | O_NONBLOCK;
	int dev, fd, dev_err, e;

	dev = open(UFFD_DEV, O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
		e = errno;
		close(dev);
		if (fd < 0)
			return ember_seterr(-e, "uffd: USERFAULTFD_IOC_NEW on " UFFD_DEV ": %s",
					    strerror(e));
		return fd;
	}
	dev_err = errno;
	fd = (int)syscall(SYS_userfaultfd, flags);
	if (fd >= 0)
		return fd;
	e = errno;
	if (e == ENOSYS)
		return ember_seterr(
		    -ENOSYS, "uffd: the host kernel has no userfaultfd (CONFIG_USERFAULTFD)");
	if (dev_err != ENOENT)
		return ember_seterr(-e, "uffd: open " UFFD_DEV ": %s; userfaultfd(2): %s: %s",
				    strerror(dev_err), strerror(e), UFFD_ACCESS_HINT);
	return ember_seterr(-e, "uffd: userfaultfd(2): %s: %s", strerror(e), UFFD_ACCESS_HINT);
}

/* UFFDIO_API with Firecracker's one required feature, EVENT_REMOVE: the
 * kernel only looks at it when RAM is dropped with MADV_DONTNEED, so it
 * costs nothing, and handlers written for Firecracker expect it. */
static int uffd_api(int uffd)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_EVENT_REMOVE };

	if (ioctl(uffd, UFFDIO_API, &api) < 0) {
		int e = errno;

		if (e == EINVAL)
			return ember_seterr(-EINVAL, "uffd: UFFDIO_API: the host kernel lacks "
						     "UFFD_FEATURE_EVENT_REMOVE (Linux 4.11)");
		return ember_seterr(-e, "uffd: UFFDIO_API: %s", strerror(e));
	}
	if (!(api.ioctls & (1ull << _UFFDIO_REGISTER)))
		return ember_seterr(-EOPNOTSUPP,
				    "uffd: UFFDIO_API: no UFFDIO_REGISTER (ioctls %#llx)",
				    (unsigned long long)api.ioctls);
	return 0;
}

/* Missing-page faults only, as Firecracker registers. A range the handler
 * cannot fill with UFFDIO_COPY would be useless, so that is checked here
 * rather than found by the handler at the first fault. */
static int uffd_register(int uffd, const struct guest_mem *gm)
{
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct guest_region *r = &gm->regions[i];
		struct uffdio_register reg = {
			.range = { .start = (uintptr_t)r->host, .len = r->size },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) {
			int e = errno;

			return ember_seterr(-e,
					    "uffd: UFFDIO_REGISTER of region %u (host %p, %#" PRIx64
					    " bytes): %s",
					    i, (void *)r->host, r->size, strerror(e));
		}
		if (!(reg.ioctls & (1ull << _UFFDIO_COPY)))
			return ember_seterr(-EOPNOTSUPP,
					    "uffd: region %u: the kernel offers no UFFDIO_COPY for "
					    "this memory (ioctls %#llx)",
					    i, (unsigned long long)reg.ioctls);
	}
	return 0;
}

static int uffd_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s, r, e;

	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		e = errno;
		return ember_seterr(-e, "uffd: socket: %s", strerror(e));
	}
	strcpy(sa.sun_path, path); /* the caller checked the length */
	/* EINTR leaves the socket unconnected (Linux frees the half-made
	 * peer), so connecting again is right. */
	do
		r = connect(s, (const struct sockaddr *)&sa, sizeof(sa));
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return s;
	e = errno;
	close(s);
	if (e == ENOENT)
		return ember_seterr(-e,
				    "uffd: connect to %s: %s (no page-fault handler has bound it)",
				    path, strerror(e));
	if (e == ECONNREFUSED)
		return ember_seterr(-e,
				    "uffd: connect to %s: %s (no page-fault handler listens there "
				    "any more)",
				    path, strerror(e));
	return ember_seterr(-e, "uffd: connect to %s: %s", path, strerror(e));
}

int uffd_send_layout(int sock, const struct guest_mem *gm, unsigned page_size, int uffd)
{
	char json[UFFD_LAYOUT_MAX];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov;
	struct msghdr m = { 0 };
	struct cmsghdr *c;
	size_t sent = 0;
	ssize_t r;
	int n = uffd_layout_json(gm, page_size, json, sizeof(json));

	if (n < 0)
		return n;
	memset(&ctl, 0, sizeof(ctl));
	iov = (struct iovec){ .iov_base = json, .iov_len = (size_t)n };
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = ctl.buf;
	m.msg_controllen = sizeof(ctl.buf);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &uffd, sizeof(int));
	/* One message, the descriptor riding with the first byte, as
	 * vmm-sys-util's send_with_fd() does. A stream socket may take less
	 * than all of it; the rest follows without the descriptor. */
	while (sent < (size_t)n) {
		if (sent == 0)
			r = sendmsg(sock, &m, MSG_NOSIGNAL);
		else
			r = send(sock, json + sent, (size_t)n - sent, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : EIO;

			if (e == EPIPE || e == ECONNRESET)
				return ember_seterr(
				    -e,
				    "uffd: send the memory layout to the page-fault "
				    "handler: %s (the handler closed the connection)",
				    strerror(e));
			return ember_seterr(-e, "uffd: send the memory layout: %s", strerror(e));
		}
		sent += (size_t)r;
	}
	return 0;
}

int uffd_attach_sock(const struct guest_mem *gm, const char *sock_path, unsigned page_size,
		     int *sock_out)
{
	size_t plen = sock_path ? strlen(sock_path) : 0;
	int uffd, sock, err;

	/* Everything that can be refused without touching the host first. */
	if (!sock_out)
		return ember_seterr(-EINVAL, "uffd: no place for the handler's socket");
	if (plen == 0)
		return ember_seterr(-EINVAL, "uffd: the handler's socket path is empty");
	if (plen >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return ember_seterr(
		    -ENAMETOOLONG,
		    "uffd: socket path %.40s... is %zu bytes; a Unix socket address "
		    "holds at most %zu",
		    sock_path, plen, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	err = check_layout(gm, page_size);
	if (err)
		return err;

	uffd = uffd_create();
	if (uffd < 0)
		return uffd;
	err = uffd_api(uffd);
	if (!err)
		err = uffd_register(uffd, gm);
	if (err)
		goto fail; /* closing the userfaultfd unregisters every range */
	sock = uffd_connect(sock_path);
	if (sock < 0) {
		err = sock;
		goto fail;
	}
	err = uffd_send_layout(sock, gm, page_size, uffd);
	if (err) {
		close(sock);
		goto fail;
	}
	*sock_out = sock;
	return uffd;
fail:
	close(uffd);
	return err;
}

int uffd_attach(const struct guest_mem *gm, const char *sock_path, unsigned page_size)
{
	int sock;

	/* The socket is left open on purpose, as Firecracker forgets its
	 * UnixStream: it lives (close-on-exec) until the process exits, and
	 * the handler takes its hang-up for the VMM's end. One VM per
	 * process makes that the VM's lifetime. */
	return uffd_attach_sock(gm, sock_path, page_size, &sock);
}
