// SPDX-License-Identifier: MIT
#include "dev/boot_marker.h"

#include <string.h>

#include "boot/layout.h"

static void marker_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	(void)opaque;
	(void)off;
	memset(data, 0, len);
}

static void marker_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct boot_marker *m = opaque;

	(void)len;
	if (off == 0 && data[0] == BOOT_MARKER_MAGIC && m->marked)
		m->marked(m->ctx);
}

const struct bus_ops boot_marker_bus_ops = {
	.name = "boot-marker",
	.read = marker_read,
	.write = marker_write,
};
