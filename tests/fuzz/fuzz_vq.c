// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: the split-ring walker on hostile guest memory. The input
 * is guest RAM itself (rings, tables, buffers at fixed places); the first
 * bytes choose the queue size and features. vq_pop() must never touch memory
 * outside the fake RAM (ASan) and every buffer it returns must lie inside it.
 */
#include <stdlib.h>
#include <string.h>

#include "dev/virtqueue.h"
#include "util.h"

#define RAM 0x4000

static uint8_t ram[RAM];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vq_chain c;
	struct guest_mem gm;
	struct vq q;
	uint16_t qsz;

	if (size < 4)
		return 0;
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data, size < RAM ? size : RAM);
	guest_mem_init_buf(&gm, ram, RAM);
	qsz = (uint16_t)(1u << (data[0] % 6)); /* 1..32 */
	if (vq_setup(&q, &gm, qsz, 256, 0x100, 0x800, 0x1000, data[1] & 1) != 0)
		return 0;
	q.last_avail = get_le16(data + 2);
	for (int i = 0; i < 64; i++) {
		int r = vq_pop(&q, &c);

		if (r <= 0)
			break;
		uint64_t total = 0;

		for (unsigned b = 0; b < c.n; b++) {
			const uint8_t *p = c.iov[b].iov_base;

			if (p < ram || c.iov[b].iov_len > (size_t)(ram + RAM - p) ||
			    c.iov[b].iov_len == 0)
				abort();
			total += c.iov[b].iov_len;
		}
		/* Readable first, lengths as summed, no chain past the queue. */
		if (c.nread > c.n || c.n > VQ_MAX_SIZE || total != c.read_len + c.write_len ||
		    total > VQ_CHAIN_MAX_BYTES)
			abort();
		vq_chain_write(&c, 0, "x", 1);
		vq_push(&q, c.head, 1);
		vq_should_notify(&q);
	}
	return 0;
}
