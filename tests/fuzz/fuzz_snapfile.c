// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: a snapshot state file from outside. Every input is
 * parsed as given (header, checksums), then again with its length and
 * checksums made right, so that mutations reach the section framing, the
 * configuration, the vCPU sections and every device's state loader.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dev/cmos.h"
#include "dev/i8042.h"
#include "dev/ioapic.h"
#include "dev/uart.h"
#include "dev/virtio_mmio.h"
#include "snapshot/snapfile.h"
#include "snapshot/snapshot.h"
#include "snapshot/vcpu_state.h"

static uint8_t ram[1 << 20];

static void nop_irq(void *ctx, int level)
{
	(void)ctx;
	(void)level;
}

static void nop_tx(void *ctx, uint8_t b)
{
	(void)ctx;
	(void)b;
}

/* Every device kind's transport: the loader checks the id against it. */
static const struct virtio_dev_ops ops[] = {
	{ .name = "net",
	  .device_id = VIRTIO_ID_NET,
	  .nqueues = 2,
	  .queue_max = 256,
	  .features = VIRTIO_F_RING_EVENT_IDX },
	{ .name = "blk", .device_id = VIRTIO_ID_BLOCK, .nqueues = 1, .queue_max = 256 },
	{ .name = "vsock",
	  .device_id = VIRTIO_ID_VSOCK,
	  .nqueues = 3,
	  .queue_max = 256,
	  .features = VIRTIO_F_RING_EVENT_IDX | VIRTIO_F_RING_INDIRECT_DESC },
	{ .name = "rng", .device_id = VIRTIO_ID_RNG, .nqueues = 1, .queue_max = 256 },
};

static void load_all(const struct snap_file *f)
{
	static struct ember_config cfg;
	static struct snapshot_image img;
	static const struct uart_callbacks ucb = { .tx = nop_tx, .irq = nop_irq };
	struct guest_mem gm;

	memset(&img, 0, sizeof(img));
	config_init_run(&cfg);
	snapshot_parse_config(f, &cfg, &img);
	guest_mem_init_buf(&gm, ram, sizeof(ram));
	for (unsigned i = 0; i < f->nsections; i++) {
		const struct snap_section *s = &f->sec[i];
		struct snap_r r;

		snap_r_init(&r, s->data, s->len);
		switch (s->tag) {
		case SNAP_TAG('V', 'C', 'P', 'U'): {
			struct vcpu_state st;

			if (vcpu_state_parse(s, &st) == 0 && (st.nmsrs > VCPU_STATE_MAX_MSRS + 1 ||
							      st.ncpuid > VCPU_STATE_MAX_CPUID))
				abort();
			vcpu_state_free(&st);
			break;
		}
		case SNAP_TAG('U', 'A', 'R', 'T'): {
			struct uart u;

			uart_init(&u, &ucb);
			if (uart_load(&u, &r) == 0 && u.rx_count > UART_RX_SIZE)
				abort();
			uart_destroy(&u);
			break;
		}
		case SNAP_TAG('I', 'O', 'A', 'P'): {
			struct ioapic io;

			ioapic_init(&io, &(struct ioapic_callbacks){ 0 });
			ioapic_load(&io, &r);
			ioapic_destroy(&io);
			break;
		}
		case SNAP_TAG('K', 'B', 'C', ' '): {
			struct i8042 k;

			i8042_init(&k, &(struct i8042_callbacks){ 0 });
			if (i8042_load(&k, &r) == 0 && k.kbd_len > I8042_KBD_QUEUE)
				abort();
			i8042_destroy(&k);
			break;
		}
		case SNAP_TAG('C', 'M', 'O', 'S'): {
			struct cmos c;

			cmos_init(&c, NULL, NULL);
			cmos_load(&c, &r);
			cmos_destroy(&c);
			break;
		}
		case SNAP_TAG('V', 'I', 'R', 'T'): {
			struct virtio_dev d;

			virtio_init(&d, &ops[s->instance % 4], NULL, &gm);
			if (virtio_load(&d, &r) == 0 && d.live)
				for (unsigned q = 0; q < d.ops->nqueues; q++)
					if (d.queues[q].ready &&
					    !guest_mem_contains(&gm, d.queues[q].vq.desc, 16))
						abort();
			virtio_destroy(&d);
			break;
		}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct snap_file f;
	uint8_t *copy;

	if (snap_parse(data, size, &f) == 0)
		load_all(&f);
	if (size < SNAP_HEADER_SIZE || size > SNAP_FILE_MAX)
		return 0;
	/* The same bytes with a header that matches them. */
	copy = malloc(size);
	memcpy(copy, data, size);
	memcpy(copy, SNAP_MAGIC, 8);
	copy[8] = SNAP_VERSION;
	memset(copy + 9, 0, 7);
	for (unsigned i = 0; i < 8; i++)
		copy[16 + i] = (uint8_t)((uint64_t)(size - SNAP_HEADER_SIZE) >> (8 * i));
	snap_seal_body(copy, size);
	if (snap_parse(copy, size, &f) == 0)
		load_all(&f);
	free(copy);
	return 0;
}
