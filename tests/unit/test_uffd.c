// SPDX-License-Identifier: MIT
/*
 * snapshot/uffd: the Uffd memory backend without KVM. This process plays
 * the VMM: it maps guest RAM with guest_mem_map(), hands it to a page-fault
 * handler with uffd_attach_sock() and reads the RAM, from user space and from the
 * kernel (as KVM would), checking every byte comes from the memory file.
 * The handler is either a thread of this process (to see the exact bytes on
 * the wire) or tests/snapshot/uffd_handler, the example handler, run as its
 * own process next to this binary (build/tests/snapshot/uffd_handler).
 *
 * Guest RAM of 3 GiB + 8 MiB has two regions (below the MMIO window at
 * 3 GiB and above 4 GiB); it is mapped MAP_NORESERVE, so only the pages the
 * tests touch cost memory. Where this host gives no userfaultfd to this
 * user, the tests that need one say so and pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <dirent.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "boot/layout.h"
#include "guest_mem.h"
#include "harness.h"
#include "snapshot/uffd.h"
#include "util.h"

#define TWO_REGIONS (LAYOUT_MMIO_START + (8u << 20))
#define MAGIC	    0x5eedf00dcafe0000ull

/* The memory file's contents: each 8-byte word holds its own file offset,
 * mixed with a constant so that zeros never match. */
static uint64_t word_at(uint64_t off)
{
	return off ^ MAGIC;
}

static void fill_page(uint8_t *p, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = word_at(off + i);

		memcpy(p + i, &w, 8);
	}
}

/* Is the word at file offset off, read through gm, the file's? */
static bool word_ok(const struct guest_mem *gm, uint64_t off)
{
	uint64_t w;

	memcpy(&w, gm->base + off, 8);
	return w == word_at(off);
}

/* Can this process have a userfaultfd that takes kernel faults? */
static bool uffd_usable(void)
{
	static int usable = -1;
	int fd, dev;

	if (usable >= 0)
		return usable;
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC);
		close(dev);
	} else {
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	}
	usable = fd >= 0;
	if (fd >= 0)
		close(fd);
	else
		fprintf(stderr, "  uffd: no userfaultfd for this user (%s): its tests pass unrun\n",
			strerror(errno));
	return usable;
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static char tmpdir[64];

static const char *tmp_path(char *buf, const char *name)
{
	if (!tmpdir[0]) {
		strcpy(tmpdir, "/tmp/ember-uffd-XXXXXX");
		if (!mkdtemp(tmpdir))
			tmpdir[0] = '\0';
	}
	snprintf(buf, PATH_MAX, "%s/%s", tmpdir, name);
	return buf;
}

/* A stuck fault would hang the whole unit run: a watchdog ends it instead,
 * saying where. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool armed;
	const char *what;
	pthread_t thread;
} wd = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, NULL, 0 };

static void *watchdog(void *arg)
{
	struct timespec until;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&wd.lock);
	while (wd.armed)
		if (pthread_cond_timedwait(&wd.cond, &wd.lock, &until) == ETIMEDOUT && wd.armed) {
			fprintf(stderr, "uffd: %s: stuck for 30 s; giving up\n", wd.what);
			_exit(1);
		}
	pthread_mutex_unlock(&wd.lock);
	return NULL;
}

static void wd_arm(const char *what)
{
	wd.armed = true;
	wd.what = what;
	if (pthread_create(&wd.thread, NULL, watchdog, NULL) != 0)
		wd.armed = false;
}

static void wd_disarm(void)
{
	if (!wd.armed)
		return;
	pthread_mutex_lock(&wd.lock);
	wd.armed = false;
	pthread_cond_signal(&wd.cond);
	pthread_mutex_unlock(&wd.lock);
	pthread_join(wd.thread, NULL);
}

/* Join a handler thread, under the watchdog unless it is armed already. */
static void join_watched(pthread_t t, const char *what)
{
	bool arm = !wd.armed;

	if (arm)
		wd_arm(what);
	pthread_join(t, NULL);
	if (arm)
		wd_disarm();
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	unlink(path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 1) < 0) {
		if (s >= 0)
			close(s);
		return -1;
	}
	return s;
}

/* The handler as a thread of this process. */
struct fake {
	int lsock;
	bool close_at_once;
	const struct guest_mem *gm;
	unsigned page_size;
	char msg[UFFD_LAYOUT_MAX + 1];
	ssize_t msg_len;
	int nfds, uffd, sock; /* the handler's: received, accepted */
	bool is_uffd;
	unsigned served;
	int err; /* first unexpected errno */
};

static void *fake_handler(void *arg)
{
	struct fake *f = arg;
	union {
		struct cmsghdr c;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	struct iovec iov = { f->msg, UFFD_LAYOUT_MAX };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	uint8_t *page;
	int s = accept4(f->lsock, NULL, NULL, SOCK_CLOEXEC);

	f->uffd = -1;
	f->sock = s;
	if (s < 0) {
		f->err = errno;
		return NULL;
	}
	if (f->close_at_once) {
		close(s);
		return NULL;
	}
	m.msg_control = ctl.b;
	m.msg_controllen = sizeof(ctl.b);
	f->msg_len = recvmsg(s, &m, MSG_CMSG_CLOEXEC);
	if (f->msg_len < 0) {
		f->err = errno;
		close(s);
		return NULL;
	}
	f->msg[f->msg_len] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			f->nfds += (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(&f->uffd, CMSG_DATA(c), sizeof(int));
		}
	if (f->uffd >= 0) {
		char path[64], target[64] = "";

		snprintf(path, sizeof(path), "/proc/self/fd/%d", f->uffd);
		if (readlink(path, target, sizeof(target) - 1) > 0)
			f->is_uffd = strcmp(target, "anon_inode:[userfaultfd]") == 0;
	}
	page = malloc(f->page_size);
	/* Serve faults from the pattern until the "VMM" hangs up. */
	while (f->is_uffd && page) {
		struct pollfd p[2] = { { .fd = f->uffd, .events = POLLIN },
				       { .fd = s, .events = POLLIN | POLLRDHUP } };
		struct uffd_msg msg;

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[0].revents & POLLIN && read(f->uffd, &msg, sizeof(msg)) == sizeof(msg) &&
		    msg.event == UFFD_EVENT_PAGEFAULT) {
			uint64_t at = msg.arg.pagefault.address & ~(uint64_t)(f->page_size - 1);
			uint64_t off = at - (uint64_t)(uintptr_t)f->gm->base;
			struct uffdio_copy cp = { .dst = at,
						  .src = (uintptr_t)page,
						  .len = f->page_size };

			fill_page(page, off, f->page_size);
			if (ioctl(f->uffd, UFFDIO_COPY, &cp) == 0)
				f->served++;
			else if (!f->err)
				f->err = errno;
		}
		if (p[1].revents)
			break;
	}
	free(page);
	close(f->uffd);
	close(s);
	return NULL;
}

TEST(uffd_layout_is_firecrackers_json)
{
	struct guest_mem gm;
	char buf[UFFD_LAYOUT_MAX];

	/* Byte for byte what serde_json writes for Firecracker v1.16's
	 * Vec<GuestRegionUffdMapping>: offsets in the file follow the host
	 * order, page_size_kib repeats page_size in bytes. */
	guest_mem_layout(&gm, (uint8_t *)(uintptr_t)0x7f0000000000ull, TWO_REGIONS);
	CHECK_EQ(gm.nregions, 2);
	CHECK(uffd_layout_json(&gm, GUEST_MEM_PAGE, buf, sizeof(buf)) > 0);
	CHECK(strcmp(buf,
		     "[{\"base_host_virt_addr\":139637976727552,\"size\":3221225472,"
		     "\"offset\":0,\"page_size\":4096,\"page_size_kib\":4096},"
		     "{\"base_host_virt_addr\":139641197953024,\"size\":8388608,"
		     "\"offset\":3221225472,\"page_size\":4096,\"page_size_kib\":4096}]") == 0);
	CHECK_EQ(uffd_layout_json(&gm, GUEST_MEM_PAGE, buf, sizeof(buf)), strlen(buf));

	guest_mem_layout(&gm, (uint8_t *)(uintptr_t)0x7f0000000000ull, 256u << 20);
	CHECK(uffd_layout_json(&gm, GUEST_MEM_HUGE, buf, sizeof(buf)) > 0);
	CHECK(strcmp(buf, "[{\"base_host_virt_addr\":139637976727552,\"size\":268435456,"
			  "\"offset\":0,\"page_size\":2097152,\"page_size_kib\":2097152}]") == 0);

	/* The highest user addresses x86-64 has (5-level paging: below
	 * 2^56) still fit Firecracker's handlers' 1024-byte read. */
	guest_mem_layout(&gm, (uint8_t *)(uintptr_t)0x00fffffe00000000ull, TWO_REGIONS);
	CHECK(uffd_layout_json(&gm, GUEST_MEM_PAGE, buf, sizeof(buf)) < 1024);
}

TEST(uffd_layout_refuses_what_attach_refuses)
{
	static uint8_t ram[3 * 4096] __attribute__((aligned(4096)));
	struct guest_mem gm;
	char buf[UFFD_LAYOUT_MAX];

	guest_mem_init_buf(&gm, ram, 2 * 4096);
	CHECK(uffd_layout_json(&gm, GUEST_MEM_PAGE, buf, sizeof(buf)) > 0);
	CHECK_EQ(uffd_layout_json(&gm, GUEST_MEM_PAGE, buf, 40), -ENOSPC);
	CHECK_EQ(uffd_layout_json(&gm, GUEST_MEM_PAGE, NULL, 0), -ENOSPC);
	CHECK_EQ(uffd_layout_json(&gm, 8192, buf, sizeof(buf)), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "page size 8192");
	/* 8 KiB of RAM is not whole 2 MiB pages. */
	CHECK_EQ(uffd_layout_json(&gm, GUEST_MEM_HUGE, buf, sizeof(buf)), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "whole 2097152-byte pages");
	/* Nor is RAM that starts inside a page. */
	guest_mem_init_buf(&gm, ram + 8, 4096);
	CHECK_EQ(uffd_layout_json(&gm, GUEST_MEM_PAGE, buf, sizeof(buf)), -EINVAL);
	/* A region outside the mapping. */
	guest_mem_init_buf(&gm, ram, 2 * 4096);
	gm.regions[0].size = 3 * 4096;
	CHECK_EQ(uffd_layout_json(&gm, GUEST_MEM_PAGE, buf, sizeof(buf)), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "region 0");
	gm.nregions = 0;
	CHECK_EQ(uffd_layout_json(&gm, GUEST_MEM_PAGE, buf, sizeof(buf)), -EINVAL);
}

TEST(uffd_attach_checks_path_before_the_host)
{
	static uint8_t ram[4096] __attribute__((aligned(4096)));
	struct guest_mem gm;
	char path[200];
	int sock = -1;

	guest_mem_init_buf(&gm, ram, sizeof(ram));
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	CHECK_EQ(uffd_attach_sock(&gm, path, GUEST_MEM_PAGE, &sock), -ENAMETOOLONG);
	CHECK_STR_CONTAINS(ember_lasterr(), "199 bytes");
	CHECK_STR_CONTAINS(ember_lasterr(), "at most 107");
	/* 108 bytes with the NUL does not fit either; 107 would. */
	path[108] = '\0';
	CHECK_EQ(uffd_attach_sock(&gm, path, GUEST_MEM_PAGE, &sock), -ENAMETOOLONG);
	CHECK_EQ(uffd_attach_sock(&gm, "", GUEST_MEM_PAGE, &sock), -EINVAL);
	CHECK_EQ(uffd_attach_sock(&gm, "/x", 65536, &sock), -EINVAL);
	CHECK_EQ(sock, -1);
}

/* A failed attach leaves nothing open and RAM an ordinary mapping again:
 * touching it must not wait for a handler. */
static void check_clean_failure(struct guest_mem *gm, unsigned fds_before)
{
	const struct guest_region *last = &gm->regions[gm->nregions - 1];

	CHECK_EQ(count_fds(), fds_before);
	wd_arm("RAM after a failed attach");
	gm->base[0] = 1;
	last->host[last->size - 1] = 2;
	CHECK_EQ(gm->base[0], 1);
	CHECK_EQ(last->host[last->size - 1], 2);
	wd_disarm();
}

TEST(uffd_attach_without_handler)
{
	struct guest_mem gm;
	char path[PATH_MAX];
	unsigned fds;
	int sock = -1, s;

	CHECK_EQ(guest_mem_map(&gm, TWO_REGIONS, false), 0);
	fds = count_fds();
	if (!uffd_usable()) {
		/* Then the error says what would allow it. */
		s = uffd_attach_sock(&gm, tmp_path(path, "none.sock"), GUEST_MEM_PAGE, &sock);
		CHECK(s == -EPERM || s == -EACCES || s == -ENOSYS);
		if (s != -ENOSYS)
			CHECK_STR_CONTAINS(ember_lasterr(), "vm.unprivileged_userfaultfd=1");
		check_clean_failure(&gm, fds);
		guest_mem_unmap(&gm);
		return;
	}

	/* Nobody made the socket. */
	CHECK_EQ(uffd_attach_sock(&gm, tmp_path(path, "none.sock"), GUEST_MEM_PAGE, &sock),
		 -ENOENT);
	CHECK_STR_CONTAINS(ember_lasterr(), path);
	CHECK_STR_CONTAINS(ember_lasterr(), "no page-fault handler has bound it");
	check_clean_failure(&gm, fds);

	/* A socket file left behind by a handler that has gone. */
	s = listen_at(tmp_path(path, "stale.sock"));
	CHECK(s >= 0);
	close(s);
	guest_mem_unmap(&gm);
	CHECK_EQ(guest_mem_map(&gm, TWO_REGIONS, false), 0);
	CHECK_EQ(uffd_attach_sock(&gm, path, GUEST_MEM_PAGE, &sock), -ECONNREFUSED);
	CHECK_STR_CONTAINS(ember_lasterr(), "no page-fault handler listens there");
	check_clean_failure(&gm, fds);
	unlink(path);
	CHECK_EQ(sock, -1);
	guest_mem_unmap(&gm);
}

TEST(uffd_send_to_a_closed_handler_is_epipe)
{
	static uint8_t ram[4096] __attribute__((aligned(4096)));
	struct guest_mem gm;
	int sv[2];

	guest_mem_init_buf(&gm, ram, sizeof(ram));
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[1]);
	/* MSG_NOSIGNAL: a SIGPIPE here would end the unit run. */
	CHECK_EQ(uffd_send_layout(sv[0], &gm, GUEST_MEM_PAGE, sv[0]), -EPIPE);
	CHECK_STR_CONTAINS(ember_lasterr(), "the handler closed the connection");
	close(sv[0]);
}

TEST(uffd_attach_handler_closes_at_once)
{
	struct fake f = { .close_at_once = true };
	struct guest_mem gm;
	char path[PATH_MAX];
	pthread_t t;
	unsigned fds;
	int uffd, sock = -1;

	if (!uffd_usable())
		return;
	CHECK_EQ(guest_mem_map(&gm, 1u << 20, false), 0);
	fds = count_fds();
	f.lsock = listen_at(tmp_path(path, "quit.sock"));
	CHECK(f.lsock >= 0);
	CHECK_EQ(pthread_create(&t, NULL, fake_handler, &f), 0);
	/* Firecracker's protocol has no answer: a handler that closes after
	 * ember sent is seen only later, as the socket's hang-up; one that
	 * closed before is a clean EPIPE or ECONNRESET now. */
	uffd = uffd_attach_sock(&gm, path, GUEST_MEM_PAGE, &sock);
	join_watched(t, "the handler thread that closes at once");
	close(f.lsock);
	if (uffd >= 0) {
		struct pollfd p = { .fd = sock, .events = POLLRDHUP };

		CHECK_EQ(poll(&p, 1, 5000), 1);
		CHECK(p.revents & (POLLHUP | POLLRDHUP));
		close(sock);
		close(uffd);
	} else {
		CHECK(uffd == -EPIPE || uffd == -ECONNRESET);
		CHECK_STR_CONTAINS(ember_lasterr(), "closed the connection");
		CHECK_EQ(sock, -1);
	}
	check_clean_failure(&gm, fds);
	unlink(path);
	guest_mem_unmap(&gm);
}

TEST(uffd_serves_both_regions_through_a_handler_thread)
{
	struct fake f = { 0 };
	struct guest_mem gm;
	char path[PATH_MAX], expect[UFFD_LAYOUT_MAX];
	const uint64_t low = LAYOUT_MMIO_START;
	uint64_t kw[8];
	pthread_t t;
	int uffd, sock = -1, pipefd[2];

	if (!uffd_usable())
		return;
	CHECK_EQ(guest_mem_map(&gm, TWO_REGIONS, false), 0);
	CHECK_EQ(gm.nregions, 2);
	f.gm = &gm;
	f.page_size = GUEST_MEM_PAGE;
	f.lsock = listen_at(tmp_path(path, "thread.sock"));
	CHECK(f.lsock >= 0);
	CHECK_EQ(pthread_create(&t, NULL, fake_handler, &f), 0);
	uffd = uffd_attach_sock(&gm, path, GUEST_MEM_PAGE, &sock);
	CHECK(uffd >= 0);
	if (uffd < 0) {
		fprintf(stderr, "  %s\n", ember_lasterr());
		shutdown(f.lsock, SHUT_RDWR);
		join_watched(t, "the handler thread after a failed attach");
		close(f.lsock);
		guest_mem_unmap(&gm);
		return;
	}
	wd_arm("faults served by a thread");
	/* User-space faults at both ends of both regions. */
	CHECK(word_ok(&gm, 0));
	CHECK(word_ok(&gm, low - 8));
	CHECK(word_ok(&gm, low));
	CHECK(word_ok(&gm, TWO_REGIONS - 8));
	/* A fault taken inside the kernel, as KVM takes them: write(2) reads
	 * a page nobody has touched yet. */
	CHECK_EQ(pipe(pipefd), 0);
	CHECK_EQ(write(pipefd[1], gm.base + (1u << 30), sizeof(kw)), sizeof(kw));
	CHECK_EQ(read(pipefd[0], kw, sizeof(kw)), sizeof(kw));
	CHECK_EQ(kw[7], word_at((1u << 30) + 56));
	close(pipefd[0]);
	close(pipefd[1]);
	/* A served page is ordinary memory now. */
	gm.base[8] = 0xab;
	CHECK_EQ(gm.base[8], 0xab);
	close(sock); /* the handler's sign that the VMM has gone */
	pthread_join(t, NULL);
	wd_disarm();
	close(uffd);
	close(f.lsock);

	CHECK_EQ(f.err, 0);
	CHECK_EQ(f.nfds, 1);
	CHECK(f.is_uffd);
	CHECK_EQ(f.served, 5);
	/* The whole layout came in the message that carried the descriptor. */
	CHECK_EQ(uffd_layout_json(&gm, GUEST_MEM_PAGE, expect, sizeof(expect)), f.msg_len);
	CHECK(strcmp(f.msg, expect) == 0);
	unlink(path);
	guest_mem_unmap(&gm);
}

/* Which descriptors below 1024 are open. */
static void open_fds(bool fds[1024])
{
	for (int i = 0; i < 1024; i++)
		fds[i] = fcntl(i, F_GETFD) >= 0;
}

TEST(uffd_attach_keeps_the_socket_like_firecracker)
{
	struct fake f = { 0 };
	struct guest_mem gm;
	char path[PATH_MAX];
	bool before[1024], after[1024];
	int uffd, sock = -1, added = 0;
	pthread_t t;

	if (!uffd_usable())
		return;
	CHECK_EQ(guest_mem_map(&gm, 1u << 20, false), 0);
	open_fds(before);
	CHECK_EQ(uffd_attach(&gm, tmp_path(path, "none.sock"), GUEST_MEM_PAGE), -ENOENT);
	open_fds(after);
	CHECK(memcmp(before, after, sizeof(before)) == 0);

	f.gm = &gm;
	f.page_size = GUEST_MEM_PAGE;
	f.lsock = listen_at(tmp_path(path, "keep.sock"));
	CHECK(f.lsock >= 0);
	open_fds(before);
	CHECK_EQ(pthread_create(&t, NULL, fake_handler, &f), 0);
	uffd = uffd_attach(&gm, path, GUEST_MEM_PAGE);
	CHECK(uffd >= 0);
	if (uffd >= 0) {
		wd_arm("a fault after uffd_attach");
		CHECK(word_ok(&gm, 4096));
		wd_disarm();
	}
	/* The userfaultfd and the socket are new; the socket is ours to
	 * find here, as only the process's exit closes it in ember. */
	open_fds(after);
	for (int i = 0; i < 1024; i++) {
		struct stat st;

		if (before[i] || !after[i] || i == uffd || i == f.uffd || i == f.sock)
			continue;
		added++;
		if (fstat(i, &st) == 0 && S_ISSOCK(st.st_mode) && (fcntl(i, F_GETFD) & FD_CLOEXEC))
			sock = i;
	}
	CHECK_EQ(added, 1); /* besides the userfaultfd */
	CHECK(sock >= 0);
	if (sock >= 0)
		close(sock);
	else
		shutdown(f.lsock, SHUT_RDWR);
	join_watched(t, "the handler thread to see the socket close");
	if (uffd >= 0)
		close(uffd);
	close(f.lsock);
	CHECK_EQ(f.served, 1);
	unlink(path);
	guest_mem_unmap(&gm);
}

/* Where this binary sits, the example handler sits in tests/snapshot/. */
static bool handler_path(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return false;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = '\0';
	if ((size_t)snprintf(buf, len, "%s/tests/snapshot/uffd_handler", self) >= len)
		return false;
	return access(buf, X_OK) == 0;
}

/* Start the example handler with its stdout and stderr on *out; returns its
 * pid after its first line, or -1. */
static pid_t start_handler(const char *sock, const char *memfile, FILE **out, char *first,
			   size_t len)
{
	char prog[PATH_MAX];
	int p[2];
	pid_t pid;

	if (!handler_path(prog, sizeof(prog))) {
		fprintf(stderr, "  no %s: make build/tests/snapshot/uffd_handler\n", prog);
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execl(prog, prog, sock, memfile, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	*out = fdopen(p[0], "r");
	wd_arm("waiting for uffd_handler to listen");
	if (pid < 0 || !*out || !fgets(first, (int)len, *out)) {
		wd_disarm();
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -1;
	}
	wd_disarm();
	return pid;
}

static int handler_exit(pid_t pid, FILE *out, char *last, size_t len)
{
	int status = 0;

	last[0] = '\0';
	wd_arm("waiting for uffd_handler to exit");
	while (fgets(last, (int)len, out))
		;
	fclose(out);
	waitpid(pid, &status, 0);
	wd_disarm();
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(uffd_example_handler_serves_the_memory_file)
{
	/* File offsets with data; everything else is a hole. */
	static const uint64_t data[] = { 0, 1u << 20, LAYOUT_MMIO_START - 4096, LAYOUT_MMIO_START,
					 TWO_REGIONS - 4096 };
	static const uint64_t holes[] = { 4096, LAYOUT_MMIO_START + (4u << 20) };
	const uint64_t kpage = 2ull << 30; /* data read only from the kernel */
	struct guest_mem gm;
	char path[PATH_MAX], mem[PATH_MAX], line[256], last[256];
	uint8_t page[4096];
	FILE *out = NULL;
	uint64_t kw[4];
	pid_t pid;
	int fd, uffd, sock = -1, pipefd[2];

	if (!uffd_usable())
		return;
	fd = open(tmp_path(mem, "mem"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, TWO_REGIONS), 0);
	for (unsigned i = 0; i <= ARRAY_SIZE(data); i++) {
		uint64_t off = i < ARRAY_SIZE(data) ? data[i] : kpage;

		fill_page(page, off, sizeof(page));
		CHECK_EQ(pwrite(fd, page, sizeof(page), (off_t)off), sizeof(page));
	}
	close(fd);

	pid = start_handler(tmp_path(path, "example.sock"), mem, &out, line, sizeof(line));
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK_STR_CONTAINS(line, "uffd_handler: listening on");
	CHECK_EQ(guest_mem_map(&gm, TWO_REGIONS, false), 0);
	uffd = uffd_attach_sock(&gm, path, GUEST_MEM_PAGE, &sock);
	CHECK(uffd >= 0);
	if (uffd >= 0) {
		wd_arm("faults served by uffd_handler");
		for (unsigned i = 0; i < ARRAY_SIZE(data); i++) {
			CHECK(word_ok(&gm, data[i]));
			CHECK(word_ok(&gm, data[i] + 4088));
		}
		for (unsigned i = 0; i < ARRAY_SIZE(holes); i++)
			CHECK_EQ(gm.base[holes[i] + 100], 0);
		/* RAM given back (a balloon in Firecracker) reads as zero
		 * afterwards, not as the file says: the handler gets
		 * UFFD_EVENT_REMOVE (madvise waits until it has read it). */
		CHECK_EQ(madvise(gm.base + data[1], 4096, MADV_DONTNEED), 0);
		CHECK_EQ(gm.base[data[1] + 100], 0);
		/* A kernel-mode fault on a data page not read before. */
		CHECK_EQ(pipe(pipefd), 0);
		CHECK_EQ(write(pipefd[1], gm.base + kpage + 64, sizeof(kw)), sizeof(kw));
		CHECK_EQ(read(pipefd[0], kw, sizeof(kw)), sizeof(kw));
		CHECK_EQ(kw[0], word_at(kpage + 64));
		CHECK_EQ(kw[3], word_at(kpage + 88));
		close(pipefd[0]);
		close(pipefd[1]);
		close(sock);
		close(uffd);
		wd_disarm();
	} else {
		fprintf(stderr, "  %s\n", ember_lasterr());
		kill(pid, SIGTERM);
	}
	CHECK_EQ(handler_exit(pid, out, last, sizeof(last)), uffd >= 0 ? 0 : 128 + SIGTERM);
	if (uffd >= 0)
		CHECK_STR_CONTAINS(last, "served 8 pages (6 copied, 2 zero)");
	guest_mem_unmap(&gm);
	unlink(mem);
	unlink(path);
}

TEST(uffd_example_handler_refuses_a_short_memory_file)
{
	struct guest_mem gm;
	char path[PATH_MAX], mem[PATH_MAX], line[256], last[256];
	FILE *out = NULL;
	pid_t pid;
	int fd, uffd, sock = -1;

	if (!uffd_usable())
		return;
	/* 1 MiB of file for 2 MiB of RAM: a memory file from another VM. */
	fd = open(tmp_path(mem, "short"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 1u << 20), 0);
	close(fd);
	pid = start_handler(tmp_path(path, "short.sock"), mem, &out, line, sizeof(line));
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK_EQ(guest_mem_map(&gm, 2u << 20, false), 0);
	uffd = uffd_attach_sock(&gm, path, GUEST_MEM_PAGE, &sock);
	CHECK(uffd >= 0);
	/* The handler refuses the layout at once and exits 1 with the
	 * reason; ember sees its socket hang up. */
	CHECK_EQ(handler_exit(pid, out, last, sizeof(last)), 1);
	CHECK_STR_CONTAINS(last, "of the memory file, which has 0x100000");
	if (uffd >= 0) {
		struct pollfd p = { .fd = sock, .events = POLLRDHUP };

		CHECK_EQ(poll(&p, 1, 5000), 1);
		close(sock);
		close(uffd);
	}
	guest_mem_unmap(&gm);
	unlink(mem);
	unlink(path);
}

/* Play a VMM that sends `msg` (with fd attached if fd >= 0) to the example
 * handler; returns the handler's exit status and its last line. */
static int handler_given(const char *msg, size_t len, int fd, char *last, size_t llen)
{
	union {
		struct cmsghdr c;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct iovec iov = { (void *)msg, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	char path[PATH_MAX], mem[PATH_MAX], line[256];
	FILE *out = NULL;
	pid_t pid;
	int s, mf;

	mf = open(tmp_path(mem, "small"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (mf < 0 || ftruncate(mf, 64 << 10) < 0)
		return -1;
	close(mf);
	pid = start_handler(tmp_path(path, "bad.sock"), mem, &out, line, sizeof(line));
	if (pid <= 0)
		return -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path));
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		if (fd >= 0) {
			struct cmsghdr *c;

			memset(&ctl, 0, sizeof(ctl));
			m.msg_control = ctl.b;
			m.msg_controllen = sizeof(ctl.b);
			c = CMSG_FIRSTHDR(&m);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
		}
		/* The handler may stop reading and close: no SIGPIPE. */
		if (sendmsg(s, &m, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
			fprintf(stderr, "  sendmsg: %s\n", strerror(errno));
		shutdown(s, SHUT_WR); /* as a VMM that sent half and died */
	}
	if (s >= 0)
		close(s);
	unlink(mem);
	unlink(path);
	return handler_exit(pid, out, last, llen);
}

TEST(uffd_example_handler_refuses_bad_layouts)
{
	static const struct {
		const char *msg, *why;
	} bad[] = {
		{ "not json", "layout:" },
		{ "{\"size\":4096}", "not a JSON array" },
		{ "[]", "0 regions" },
		{ "[1]", "region 0 is not an object" },
		{ "[{\"base_host_virt_addr\":4096,\"size\":4096,\"page_size\":4096}]", "lacks" },
		{ "[{\"base_host_virt_addr\":\"4096\",\"size\":4096,\"offset\":0,\"page_size\":"
		  "4096}]",
		  "not an integer" },
		{ "[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":-4096,\"page_size\":"
		  "4096}]",
		  "offset is negative" },
		{ "[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":0,\"page_size\":4097}]",
		  "not a power of two" },
		{ "[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":0,\"page_size\":4096,"
		  "\"page_size_kib\":4}]",
		  "page_size_kib 4" },
		{ "[{\"base_host_virt_addr\":4100,\"size\":4096,\"offset\":0,\"page_size\":4096}]",
		  "not whole pages" },
		{ "[{\"base_host_virt_addr\":18446744073709547520,\"size\":8192,\"offset\":0,"
		  "\"page_size\":4096}]",
		  "wraps around" },
		{ "[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":18446744073709547520,"
		  "\"page_size\":4096}]",
		  "wraps around" },
		{ "[{\"base_host_virt_addr\":4096,\"size\":65536,\"offset\":4096,\"page_size\":"
		  "4096}]",
		  "of the memory file, which has 0x10000" },
		{ "[{\"base_host_virt_addr\":8192,\"size\":8192,\"offset\":0,\"page_size\":4096},"
		  "{\"base_host_virt_addr\":4096,\"size\":8192,\"offset\":8192,\"page_size\":4096}"
		  "]",
		  "regions 0 and 1 overlap" },
		{ "[{\"base_host_virt_addr\":4096,\"size\":4096,\"offset\":0,\"page_size\":4096}] "
		  "x",
		  "not one JSON value" },
		{ "[{\"base_host_virt_addr\":4096,", "hung up before sending its whole layout" },
	};
	char last[256];
	int uffd, p[2];

	if (!uffd_usable())
		return;
	/* The handler checks the layout only after it knows the descriptor
	 * is a userfaultfd, so the bad layouts come with a real one. */
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0) {
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

		uffd = dev < 0 ? -1 : ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		if (dev >= 0)
			close(dev);
	}
	CHECK(uffd >= 0);
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		int st = handler_given(bad[i].msg, strlen(bad[i].msg), uffd, last, sizeof(last));

		if (st != 1 || !strstr(last, bad[i].why)) {
			fprintf(stderr, "  case %u: exit %d, \"%s\"; wanted \"%s\"\n", i, st, last,
				bad[i].why);
			CHECK(0);
		}
	}
	/* A layout without the descriptor, or with another kind of one. */
	CHECK_EQ(handler_given("[]", 2, -1, last, sizeof(last)), 1);
	CHECK_STR_CONTAINS(last, "without a userfaultfd");
	CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
	CHECK_EQ(handler_given("[]", 2, p[0], last, sizeof(last)), 1);
	CHECK_STR_CONTAINS(last, "not a userfaultfd");
	close(p[0]);
	close(p[1]);
	close(uffd);
}

TEST(uffd_hugetlb_pages_when_the_host_has_them)
{
	struct fake f = { 0 };
	struct guest_mem gm;
	char path[PATH_MAX];
	pthread_t t;
	int uffd, sock = -1;

	if (!uffd_usable() || guest_mem_map_hugetlb(&gm, 4u << 20) < 0)
		return; /* no 2 MiB pages reserved (vm.nr_hugepages) */
	f.gm = &gm;
	f.page_size = GUEST_MEM_HUGE;
	f.lsock = listen_at(tmp_path(path, "huge.sock"));
	CHECK_EQ(pthread_create(&t, NULL, fake_handler, &f), 0);
	uffd = uffd_attach_sock(&gm, path, GUEST_MEM_HUGE, &sock);
	CHECK(uffd >= 0);
	if (uffd >= 0) {
		wd_arm("hugetlb faults");
		CHECK(word_ok(&gm, 8));
		CHECK(word_ok(&gm, (4u << 20) - 8));
		close(sock);
		wd_disarm();
	} else {
		shutdown(f.lsock, SHUT_RDWR);
	}
	join_watched(t, "the hugetlb handler thread");
	if (uffd >= 0)
		close(uffd);
	close(f.lsock);
	CHECK_EQ(f.err, 0);
	CHECK_EQ(f.served, uffd >= 0 ? 2 : 0);
	CHECK_STR_CONTAINS(f.msg, uffd >= 0 ? "\"page_size\":2097152" : "");
	unlink(path);
	guest_mem_unmap(&gm);
}

TEST(uffd_cleanup_tmpdir)
{
	if (tmpdir[0] && rmdir(tmpdir) < 0)
		fprintf(stderr, "  uffd: rmdir %s: %s\n", tmpdir, strerror(errno));
}

SUITE(uffd, T(uffd_layout_is_firecrackers_json), T(uffd_layout_refuses_what_attach_refuses),
      T(uffd_attach_checks_path_before_the_host), T(uffd_attach_without_handler),
      T(uffd_send_to_a_closed_handler_is_epipe), T(uffd_attach_handler_closes_at_once),
      T(uffd_serves_both_regions_through_a_handler_thread),
      T(uffd_attach_keeps_the_socket_like_firecracker),
      T(uffd_example_handler_serves_the_memory_file),
      T(uffd_example_handler_refuses_a_short_memory_file),
      T(uffd_example_handler_refuses_bad_layouts), T(uffd_hugetlb_pages_when_the_host_has_them),
      T(uffd_cleanup_tmpdir));
