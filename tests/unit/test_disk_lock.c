// SPDX-License-Identifier: MIT
/* dev/disk_lock: QEMU's permission rules as a pure function, the bytes
 * ember locks, and real OFD locks between two opens of one file (OFD locks
 * conflict between open files, even in one process). Also
 * ember_open_input(), which every input goes through. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "dev/disk_lock.h"
#include "dev/virtio_blk.h"
#include "harness.h"
#include "util.h"

#define R  DISK_PERM_CONSISTENT_READ
#define W  DISK_PERM_WRITE
#define WU DISK_PERM_WRITE_UNCHANGED
#define RS DISK_PERM_RESIZE

TEST(disk_lock_perms_are_qemus_virtio_blk)
{
	struct disk_perms rw = disk_lock_perms(false), ro = disk_lock_perms(true);

	/* QEMU 7.2's /proc/locks for -device virtio-blk: read-write holds
	 * 100, 101 and 201; readonly=on holds 100 and 201. */
	CHECK_EQ(rw.use, R | W);
	CHECK_EQ(rw.unshared, W);
	CHECK_EQ(ro.use, R);
	CHECK_EQ(ro.unshared, W);
	/* QEMU's block-common.h values. */
	CHECK_EQ(R, 0x01);
	CHECK_EQ(W, 0x02);
	CHECK_EQ(WU, 0x04);
	CHECK_EQ(RS, 0x08);
}

TEST(disk_lock_conflict_table)
{
	static const struct {
		bool ro;
		unsigned o_use, o_unshared;
		bool conflict, they_use;
		unsigned perm;
	} t[] = {
		{ false, 0, 0, false, false, 0 },	      /* nobody */
		{ true, 0, 0, false, false, 0 },	      /* nobody */
		{ false, R | W, W, true, true, W },	      /* rw vs a writer */
		{ true, R | W, W, true, true, W },	      /* ro vs a writer */
		{ false, R, W, true, false, W },	      /* rw vs a reader */
		{ true, R, W, false, false, 0 },	      /* readers share */
		{ false, R, 0, false, false, 0 },	      /* QEMU -drive if=none alone */
		{ true, 0, R, true, false, R },		      /* someone forbids reads */
		{ false, RS | WU, RS | WU, false, false, 0 }, /* bits we neither use nor forbid */
		{ false, 0x10, 0x10, false, false, 0 },	      /* past BLK_PERM_ALL: ignored */
		{ false, 0, W, true, false, W },	      /* only forbids writers */
		{ false, W, 0, true, true, W },		      /* writes, shares writing */
	};

	for (unsigned i = 0; i < ARRAY_SIZE(t); i++) {
		struct disk_lock_conflict c = { 0, false };
		struct disk_perms o = { t[i].o_use, t[i].o_unshared };
		bool got = disk_lock_conflicts(disk_lock_perms(t[i].ro), o, &c);

		if (got != t[i].conflict ||
		    (got && (c.perm != t[i].perm || c.they_use != t[i].they_use))) {
			fprintf(stderr, "  row %u: conflict %d perm %#x they_use %d\n", i, got,
				c.perm, c.they_use);
			CHECK(0);
		}
	}
}

TEST(disk_lock_describe_names_the_holder)
{
	struct disk_lock_conflict c = { W, true };
	char buf[200];

	disk_lock_describe(&c, buf, sizeof(buf));
	CHECK_STR_CONTAINS(buf, "has it open read-write");
	CHECK_STR_CONTAINS(buf, "QEMU");
	c.they_use = false;
	disk_lock_describe(&c, buf, sizeof(buf));
	CHECK_STR_CONTAINS(buf, "read-only and forbids writers");
	c.perm = RS;
	disk_lock_describe(&c, buf, sizeof(buf));
	CHECK_STR_CONTAINS(buf, "does not share the \"resize\" permission");
}

static char img[64];

static void mkimg(void)
{
	int fd;

	strcpy(img, "/tmp/ember-lock-XXXXXX");
	fd = mkstemp(img);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 4096), 0);
	close(fd);
}

static int open_img(int flags)
{
	int fd = open(img, flags | O_CLOEXEC);

	CHECK(fd >= 0);
	return fd;
}

/* Does an open file other than probe's hold byte off? */
static bool held(int probe, int off)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = off, .l_len = 1 };

	CHECK_EQ(fcntl(probe, F_OFD_GETLK, &fl), 0);
	return fl.l_type != F_UNLCK;
}

TEST(disk_lock_takes_qemus_bytes)
{
	int a, probe;

	mkimg();
	a = open_img(O_RDWR);
	probe = open_img(O_RDONLY);
	CHECK_EQ(disk_lock_take(a, false, -1), 0);
	CHECK(held(probe, 100));
	CHECK(held(probe, 101));
	CHECK(!held(probe, 102));
	CHECK(!held(probe, 103));
	CHECK(!held(probe, 200));
	CHECK(held(probe, 201));
	CHECK(!held(probe, 202));
	CHECK(!held(probe, 203));
	CHECK(!held(probe, 0)); /* libvirt's byte, left alone */
	close(a);
	CHECK(!held(probe, 100));
	CHECK(!held(probe, 201));
	a = open_img(O_RDONLY);
	CHECK_EQ(disk_lock_take(a, true, -1), 0);
	CHECK(held(probe, 100));
	CHECK(!held(probe, 101));
	CHECK(held(probe, 201));
	close(a);
	close(probe);
	unlink(img);
}

TEST(disk_lock_writers_and_readers)
{
	int a, b, c;

	mkimg();
	a = open_img(O_RDWR);
	b = open_img(O_RDWR);
	CHECK_EQ(disk_lock_take(a, false, -1), 0);
	CHECK_EQ(disk_lock_take(b, false, -1), -EBUSY);
	CHECK_STR_CONTAINS(ember_lasterr(), "has it open read-write");
	close(b);
	b = open_img(O_RDONLY);
	CHECK_EQ(disk_lock_take(b, true, -1), -EBUSY);
	CHECK_STR_CONTAINS(ember_lasterr(), "has it open read-write");
	close(b);
	close(a); /* the writer's locks go with its fd */
	a = open_img(O_RDONLY);
	b = open_img(O_RDONLY);
	c = open_img(O_RDWR);
	CHECK_EQ(disk_lock_take(a, true, -1), 0);
	CHECK_EQ(disk_lock_take(b, true, -1), 0);
	CHECK_EQ(disk_lock_take(c, false, -1), -EBUSY);
	CHECK_STR_CONTAINS(ember_lasterr(), "read-only and forbids writers");
	close(c);
	close(a);
	close(b);
	unlink(img);
}

TEST(disk_lock_same_file_swap)
{
	int a, b, c, other;
	char other_path[64];

	mkimg();
	a = open_img(O_RDWR);
	CHECK_EQ(disk_lock_take(a, false, -1), 0);
	/* A PATCH /drives to the image the disk already has: shares a's
	 * locks, and holds them once a is closed. */
	b = open_img(O_RDWR);
	CHECK_EQ(disk_lock_take(b, false, a), 0);
	close(a);
	c = open_img(O_RDWR);
	CHECK_EQ(disk_lock_take(c, false, -1), -EBUSY);
	close(c);
	/* own_fd does not excuse another file's locks. */
	strcpy(other_path, "/tmp/ember-lock-XXXXXX");
	other = mkstemp(other_path);
	CHECK(other >= 0);
	c = open_img(O_RDWR);
	CHECK_EQ(disk_lock_take(c, false, other), -EBUSY);
	close(c);
	close(other);
	unlink(other_path);
	close(b);
	unlink(img);
}

TEST(disk_lock_virtio_blk_open_twice)
{
	struct disk_config cfg = { .ro = false, .cache = DISK_CACHE_WRITEBACK };
	struct virtio_blk a, b;

	mkimg();
	strcpy(cfg.path, img);
	CHECK_EQ(virtio_blk_open(&a, &cfg), 0);
	CHECK_EQ(virtio_blk_open(&b, &cfg), -EBUSY);
	CHECK_STR_CONTAINS(ember_lasterr(), "--disk /tmp/ember-lock-");
	CHECK_STR_CONTAINS(ember_lasterr(), ": locked: ");
	virtio_blk_close(&b);
	virtio_blk_close(&a);
	CHECK_EQ(virtio_blk_open(&b, &cfg), 0);
	virtio_blk_close(&b);
	unlink(img);
}

TEST(open_input_refuses_what_is_not_a_file)
{
	char dir[] = "/tmp/ember-input-XXXXXX", fifo[80], sock[80];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, s;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	CHECK_EQ(mkfifo(fifo, 0600), 0);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	CHECK_EQ(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);

	/* A FIFO without a writer: refused at once, not blocked on. */
	CHECK_EQ(ember_open_input(fifo, O_RDONLY, false, &st, NULL), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "not a regular file");
	CHECK_EQ(ember_open_input(fifo, O_RDONLY, true, &st, NULL), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "not a regular file or block device");
	CHECK_EQ(ember_open_input(sock, O_RDONLY, false, &st, NULL), -EINVAL);
	CHECK_EQ(ember_open_input(dir, O_RDONLY, true, &st, NULL), -EINVAL);
	CHECK_EQ(ember_open_input("/dev/null", O_RDONLY, true, &st, NULL), -EINVAL);
	CHECK_EQ(ember_open_input("/nonexistent/x", O_RDONLY, false, &st, NULL), -ENOENT);
	CHECK_STR_CONTAINS(ember_lasterr(), "No such file or directory");

	strcpy(img, "/tmp/ember-lock-XXXXXX");
	close(mkstemp(img));
	fd = ember_open_input(img, O_RDWR, false, &st, NULL);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(S_ISREG(st.st_mode));
		CHECK_EQ(fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ACCMODE), O_RDWR);
		CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		close(fd);
	}
	unlink(img);
	close(s);
	unlink(sock);
	unlink(fifo);
	rmdir(dir);
}

SUITE(disk_lock, T(disk_lock_perms_are_qemus_virtio_blk), T(disk_lock_conflict_table),
      T(disk_lock_describe_names_the_holder), T(disk_lock_takes_qemus_bytes),
      T(disk_lock_writers_and_readers), T(disk_lock_same_file_swap),
      T(disk_lock_virtio_blk_open_twice), T(open_input_refuses_what_is_not_a_file));
