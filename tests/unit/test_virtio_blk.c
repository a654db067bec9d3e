// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "dev/virtio_blk.h"
#include "harness.h"
#include "util.h"

static struct virtio_blk blk;
static struct vq_chain chain;
static uint8_t hdr[16], data[4096], status;
static char path[64];

static void mkimg(uint64_t size, bool ro, const char *id)
{
	struct disk_config cfg = { .ro = ro };
	int fd;

	strcpy(path, "/tmp/ember-blk-XXXXXX");
	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, (off_t)size), 0);
	for (unsigned i = 0; i < 8; i++) {
		uint8_t sec[512];

		memset(sec, 'A' + i, sizeof(sec));
		CHECK_EQ(pwrite(fd, sec, 512, i * 512), 512);
	}
	close(fd);
	strcpy(cfg.path, path);
	if (id)
		strcpy(cfg.id, id);
	CHECK_EQ(virtio_blk_open(&blk, &cfg), 0);
}

static void done(void)
{
	virtio_blk_close(&blk);
	unlink(path);
}

/* header | data (readable for OUT, writable for IN) | status */
static void req(uint32_t type, uint64_t sector, uint32_t len, bool data_writable)
{
	put_le32(hdr, type);
	put_le32(hdr + 4, 0);
	put_le64(hdr + 8, sector);
	chain = (struct vq_chain){ .head = 3 };
	chain.bufs[chain.n++] = (struct vq_buf){ hdr, 16, false };
	chain.read_len = 16;
	chain.nread = 1;
	if (len) {
		chain.bufs[chain.n++] = (struct vq_buf){ data, len, data_writable };
		if (data_writable) {
			chain.write_len += len;
		} else {
			chain.read_len += len;
			chain.nread++;
		}
	}
	chain.bufs[chain.n++] = (struct vq_buf){ &status, 1, true };
	chain.write_len += 1;
	status = 0xee;
}

TEST(config_and_features)
{
	mkimg(1 << 20, false, "disk-one");
	CHECK_EQ(get_le64(blk.config), (1 << 20) / 512);
	CHECK_EQ(get_le32(blk.config + 20), 512);
	CHECK(blk.features & VIRTIO_BLK_F_FLUSH);
	CHECK(!(blk.features & VIRTIO_BLK_F_RO));
	CHECK_EQ(blk.ops.device_id, VIRTIO_ID_BLOCK);
	done();
	mkimg(1 << 20, true, NULL);
	CHECK(blk.features & VIRTIO_BLK_F_RO);
	CHECK(!(blk.features & VIRTIO_BLK_F_DISCARD));
	done();
}

TEST(bad_images)
{
	struct disk_config cfg = { 0 };
	int fd;

	strcpy(cfg.path, "/nonexistent/disk.img");
	CHECK_EQ(virtio_blk_open(&blk, &cfg), -ENOENT);
	CHECK_STR_CONTAINS(ember_lasterr(), "--disk /nonexistent/disk.img");
	virtio_blk_close(&blk);
	strcpy(cfg.path, "/tmp/ember-blk-XXXXXX");
	fd = mkstemp(cfg.path);
	CHECK_EQ(ftruncate(fd, 1000), 0);
	close(fd);
	CHECK_EQ(virtio_blk_open(&blk, &cfg), -EINVAL);
	CHECK_STR_CONTAINS(ember_lasterr(), "not a non-zero multiple of 512");
	virtio_blk_close(&blk);
	unlink(cfg.path);
	strcpy(cfg.path, "/tmp");
	CHECK_EQ(virtio_blk_open(&blk, &cfg), -EISDIR);
	virtio_blk_close(&blk);
}

TEST(read_write_flush)
{
	uint32_t w;

	mkimg(1 << 20, false, NULL);
	req(VIRTIO_BLK_T_IN, 2, 1024, true);
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_OK);
	CHECK_EQ(w, 1025);
	CHECK_EQ(status, VIRTIO_BLK_S_OK);
	CHECK_EQ(data[0], 'C');
	CHECK_EQ(data[1023], 'D');
	memset(data, 'z', 512);
	req(VIRTIO_BLK_T_OUT, 7, 512, false);
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_OK);
	CHECK_EQ(w, 1);
	req(VIRTIO_BLK_T_IN, 7, 512, true);
	memset(data, 0, 512);
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_OK);
	CHECK_EQ(data[100], 'z');
	req(VIRTIO_BLK_T_FLUSH, 0, 0, false);
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_OK);
	done();
}

TEST(out_of_range_and_odd_lengths)
{
	uint32_t w;

	mkimg(1 << 20, false, NULL);
	req(VIRTIO_BLK_T_IN, 2047, 1024, true); /* last sector + 1 */
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(status, VIRTIO_BLK_S_IOERR);
	req(VIRTIO_BLK_T_IN, 2047, 512, true); /* exactly the last sector */
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_OK);
	req(VIRTIO_BLK_T_OUT, UINT64_MAX / 256, 512, false); /* sector*512 overflows */
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_IOERR);
	req(VIRTIO_BLK_T_OUT, 0, 100, false); /* not a multiple of 512 */
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_IOERR);
	req(77, 0, 0, false);
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_UNSUPP);
	done();
}

TEST(read_only_refuses_writes)
{
	uint32_t w;

	mkimg(1 << 20, true, NULL);
	memset(data, 'q', 512);
	req(VIRTIO_BLK_T_OUT, 0, 512, false);
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_IOERR);
	req(VIRTIO_BLK_T_IN, 0, 512, true);
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_OK);
	CHECK_EQ(data[0], 'A'); /* unchanged */
	req(VIRTIO_BLK_T_DISCARD, 0, 16, false);
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_IOERR);
	done();
}

TEST(get_id_and_discard)
{
	uint32_t w;

	mkimg(1 << 20, false, "serial-20-bytes-long");
	req(VIRTIO_BLK_T_GET_ID, 0, 20, true);
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_OK);
	CHECK(memcmp(data, "serial-20-bytes-long", 20) == 0);
	req(VIRTIO_BLK_T_GET_ID, 0, 8, true); /* too small */
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_IOERR);
	if (blk.can_discard) {
		put_le64(data, 1);
		put_le32(data + 8, 2);
		put_le32(data + 12, 0);
		req(VIRTIO_BLK_T_DISCARD, 0, 16, false);
		CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_OK);
		req(VIRTIO_BLK_T_IN, 1, 1024, true);
		CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_OK);
		CHECK_EQ(data[0], 0);
		CHECK_EQ(data[1023], 0);
		put_le64(data, 2047);
		put_le32(data + 8, 2); /* past the end */
		req(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
		CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_IOERR);
	}
	done();
}

TEST(malformed_chains)
{
	uint32_t w;

	mkimg(1 << 20, false, NULL);
	req(VIRTIO_BLK_T_IN, 0, 512, true);
	chain.bufs[0].len = 8; /* short header */
	chain.read_len = 8;
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), -EINVAL);
	req(VIRTIO_BLK_T_OUT, 0, 512, false);
	chain.n--; /* no status byte */
	chain.write_len = 0;
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), -EINVAL);
	done();
}

/* Virtio 1.2, 5.2.6.2: unknown flags, and "unmap" on a discard, answer
 * UNSUPP; more ranges than max_*_seg (1) are refused before any applies;
 * both write-zeroes forms zero the range. */
TEST(discard_and_write_zeroes_flags)
{
	uint32_t w;
	uint8_t two[32];

	mkimg(1 << 20, false, NULL);
	if (!blk.can_discard) { /* /tmp without hole punching */
		done();
		return;
	}
	CHECK_EQ(get_le32(blk.config + 40), 1); /* max_discard_seg */
	CHECK_EQ(get_le32(blk.config + 52), 1); /* max_write_zeroes_seg */
	put_le64(data, 0);
	put_le32(data + 8, 1);
	put_le32(data + 12, 1); /* unmap */
	req(VIRTIO_BLK_T_DISCARD, 0, 16, false);
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_UNSUPP);
	put_le32(data + 12, 2); /* unknown */
	req(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(status, VIRTIO_BLK_S_UNSUPP);
	req(VIRTIO_BLK_T_IN, 0, 512, true);
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_OK);
	CHECK_EQ(data[0], 'A'); /* nothing was zeroed */
	/* Two ranges: sector 0, then sector 1; neither may be applied. */
	memset(two, 0, sizeof(two));
	put_le32(two + 8, 1);
	put_le64(two + 16, 1);
	put_le32(two + 24, 1);
	memcpy(data, two, sizeof(two));
	req(VIRTIO_BLK_T_WRITE_ZEROES, 0, 32, false);
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_UNSUPP);
	req(VIRTIO_BLK_T_IN, 0, 1024, true);
	CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_OK);
	CHECK_EQ(data[0], 'A');
	CHECK_EQ(data[512], 'B');
	for (uint32_t fl = 0; fl < 2; fl++) { /* keep blocks, then may unmap */
		put_le64(data, 2 + fl);
		put_le32(data + 8, 1);
		put_le32(data + 12, fl);
		req(VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false);
		CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_OK);
		req(VIRTIO_BLK_T_IN, 2 + fl, 512, true);
		CHECK_EQ(virtio_blk_request(&blk, &chain, &w), VIRTIO_BLK_S_OK);
		CHECK_EQ(data[0], 0);
		CHECK_EQ(data[511], 0);
	}
	done();
}

SUITE(virtio_blk, T(discard_and_write_zeroes_flags), T(config_and_features), T(bad_images), T(read_write_flush),
      T(out_of_range_and_odd_lengths), T(read_only_refuses_writes), T(get_id_and_discard),
      T(malformed_chains));
